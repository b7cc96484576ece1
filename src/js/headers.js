// Responses built and headers read in one call from wasm (src/http.rs): each call
// across the wasm boundary costs about as much as the work it does, so a
// response's headers are handed over as one string, and a request's as one string
// back, rather than one call per header, and a response is made in one call.

// Sets on `headers` the names and values `flat` holds, each followed by "\n".
export function setAll(headers, flat) {
  const parts = flat.split("\n");
  for (let i = 0; i + 1 < parts.length; i += 2) headers.set(parts[i], parts[i + 1]);
  return headers;
}

// The values `headers` holds for `names` ("\n"-separated), each as "=" and the
// value, followed by "\n"; a header not there is only the "\n".
export function headerValues(headers, names) {
  let out = "";
  for (const name of names.split("\n")) {
    const value = headers.get(name);
    out += (value === null ? "" : "=" + value) + "\n";
  }
  return out;
}

// The response to send: `status`, `headers` with those `flat` holds set on them,
// and `body`, a stream or null.
export function respond(status, headers, flat, body) {
  setAll(headers, flat);
  return new Response(body, { status, headers });
}

// The same with `bytes` (a view of wasm memory, so copied here) as the body.
export function respondBytes(status, headers, flat, bytes) {
  return respond(status, headers, flat, bytes.slice());
}

// The response to send: `status`, the headers `flat` holds and `bytes` (a view of
// wasm memory, so copied here), set on the response's own headers rather than
// on a `Headers` the response would copy.
export function respondSmall(status, flat, bytes) {
  const response = new Response(bytes.slice(), { status });
  setAll(response.headers, flat);
  return response;
}

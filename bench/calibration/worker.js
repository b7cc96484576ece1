// Calibration worker for bench/run.sh: the ceiling for streaming bytes through a
// worker into and out of R2 under the local runtime, and for answering a small GET.
// No hashing, no database, no auth.
//   PUT /<key>              streams the request body into one R2 object
//                           (Content-Length required)
//   PUT /<key>?parts=<MiB>  the same through an R2 multipart upload cut into parts of
//                           that many MiB (the shape an OCI upload session leaves behind)
//   GET /<key>              streams the object back
//   DELETE /<key>
//   GET /trivial            a fixed manifest-sized JSON body, touching nothing: the
//                           fastest a worker under the same runtime answers a small GET
//                           (bench/trivial-rs sends the same body from Rust)

// The size and shape of the small image manifest bench.py pushes (562 bytes; the file
// has no trailing newline). wrangler imports a .txt module as its text.
import TRIVIAL_BODY from "./trivial-body.txt";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/trivial" && request.method === "GET") {
      return new Response(TRIVIAL_BODY, {
        headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
      });
    }
    const key = decodeURIComponent(url.pathname.slice(1));
    if (!key) return new Response("key required\n", { status: 400 });
    switch (request.method) {
      case "PUT": {
        const length = Number(request.headers.get("content-length"));
        if (!Number.isSafeInteger(length) || length < 0 || !request.body) {
          return new Response("Content-Length required\n", { status: 411 });
        }
        const parts = Number(url.searchParams.get("parts") || 0);
        const size = parts > 0
          ? await putMultipart(env.BUCKET, key, request.body, parts * 1024 * 1024)
          : await putSingle(env.BUCKET, key, request.body, length);
        return Response.json({ key, size }, { status: 201 });
      }
      case "GET": {
        const object = await env.BUCKET.get(key);
        if (!object) return new Response("not found\n", { status: 404 });
        return new Response(object.body, {
          headers: { "content-length": String(object.size), "etag": object.httpEtag },
        });
      }
      case "DELETE":
        await env.BUCKET.delete(key);
        return new Response(null, { status: 204 });
      default:
        return new Response("method not allowed\n", { status: 405 });
    }
  },
};

// R2 wants a stream of known length; a FixedLengthStream makes it one however the
// runtime framed the request body.
async function putSingle(bucket, key, body, length) {
  const fixed = new FixedLengthStream(length);
  const [object] = await Promise.all([bucket.put(key, fixed.readable), body.pipeTo(fixed.writable)]);
  return object.size;
}

// Fills one buffer of `partSize` bytes at a time and uploads it as the next part.
async function putMultipart(bucket, key, body, partSize) {
  const upload = await bucket.createMultipartUpload(key);
  const uploaded = [];
  let buf = new Uint8Array(partSize);
  let fill = 0;
  let total = 0;
  const flush = async () => {
    uploaded.push(await upload.uploadPart(uploaded.length + 1, buf.subarray(0, fill)));
    total += fill;
    buf = new Uint8Array(partSize);
    fill = 0;
  };
  try {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let at = 0;
      while (at < value.byteLength) {
        const take = Math.min(partSize - fill, value.byteLength - at);
        buf.set(value.subarray(at, at + take), fill);
        fill += take;
        at += take;
        if (fill === partSize) await flush();
      }
    }
    if (fill > 0 || uploaded.length === 0) await flush();
    await upload.complete(uploaded);
    return total;
  } catch (e) {
    await upload.abort();
    throw e;
  }
}

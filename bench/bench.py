#!/usr/bin/env python3
"""Benchmark client for bench/run.sh (Python 3 standard library only).

  bench.py registry    --name NAME --url URL --user U --password P [--pgid PGID] --out FILE
  bench.py manifest    --name NAME --url URL --user U --password P --out FILE
  bench.py calibration --url URL --out FILE
  bench.py trivial     --name NAME --url URL [--pgid PGID] --out FILE
  bench.py report      FILE... --out FILE

`registry` measures an OCI Distribution registry (Tollgate or the CNCF distribution
registry): blob push (monolithic and chunked), blob pull (twice), manifest GET load, tag
push and tag listing, and, given the process group wrangler dev runs in (--pgid),
workerd's memory and CPU during a small and a large chunked push, and during the first
pull of a small and a large blob until Tollgate serves it from the Cache API; for Tollgate
(--analytics) also how fast download events travel through the Queue into D1, (--customer)
the manifest GET load and a tag listing as licensed customers, and (--round-trips) the D1
round trips and R2 calls of single reads and of a skopeo pull, cold and warm, read from
its Server-Timing header. `manifest` measures only the manifest GET load (Tollgate served
without its Queue binding, to compare). `calibration` measures the calibration worker
(bench/calibration): one streamed PUT and one GET, and the manifest GET load against its
fixed-body GET /trivial. `trivial` measures only that load, against a worker that answers
every request with that body (bench/trivial-rs, the same in Rust). `report` prints the
tables with ratios and writes the combined JSON.

Blob bodies are generated on the fly from a 1 MiB random block (each MiB stamped with the
blob's seed and its index, so every blob has distinct content), never held in memory
whole. Every byte pulled is hashed and checked against the digest.

Sizes and durations can be reduced for a quick trial with environment variables, see
SETTINGS below.
"""
import argparse
import base64
import fnmatch
import hashlib
import http.client
import http.server
import json
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

MIB = 1 << 20


def env_int(name, default):
    return int(os.environ.get(name, default))


SETTINGS = {
    "blob_mib": env_int("BENCH_BLOB_MIB", 256),          # measurements 1 and 2
    "chunk_mib": env_int("BENCH_CHUNK_MIB", 16),         # PATCH chunk size
    "part_mib": env_int("BENCH_PART_MIB", 8),            # calibration multipart part size
    "rss_small_mib": env_int("BENCH_RSS_SMALL_MIB", 100),  # measurement 5
    "rss_large_mib": env_int("BENCH_RSS_LARGE_MIB", 1024),
    "pull_small_mib": env_int("BENCH_PULL_SMALL_MIB", 64),   # first pull + cache fill
    "pull_large_mib": env_int("BENCH_PULL_LARGE_MIB", 256),  # (at most the 512 MB cache limit)
    "clients": env_int("BENCH_CLIENTS", 16),             # measurement 3
    "duration_s": env_int("BENCH_DURATION", 10),
    "warmup_s": env_int("BENCH_WARMUP", 3),              # unmeasured load before each
    "rounds": env_int("BENCH_ROUNDS", 6),                # `manifest` against a reference
    "tags": env_int("BENCH_TAGS", 1000),                 # measurement 4
    "page": env_int("BENCH_PAGE", 100),
    "list_rounds": env_int("BENCH_LIST_ROUNDS", 5),
    "analytics_events": env_int("BENCH_ANALYTICS_EVENTS", 2000),  # measurement 6
}

MANIFEST_ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


T0 = time.perf_counter()


def log(*args):
    print(f"[bench {time.perf_counter() - T0:6.1f}s]", *args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- HTTP

class Client:
    """A keep-alive HTTP/1.1 connection to one server, with Basic auth."""

    def __init__(self, base_url, user=None, password=None, timeout=60):
        url = urllib.parse.urlsplit(base_url)
        if url.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"refusing to benchmark a non-loopback host: {base_url}")
        self.base = f"{url.scheme}://{url.netloc}"
        self.host, self.port = url.hostname, url.port or 80
        self.timeout = timeout
        self.headers = {}
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self.headers["Authorization"] = "Basic " + token
        self.conn = None

    def _connect(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def path_of(self, location):
        """Path and query of a Location (absolute or relative) on this server."""
        url = urllib.parse.urlsplit(urllib.parse.urljoin(self.base + "/", location))
        if url.netloc and f"{url.scheme}://{url.netloc}" != self.base and url.hostname not in (self.host,):
            raise RuntimeError(f"Location points to another server: {location}")
        return url.path + ("?" + url.query if url.query else "")

    def request(self, *args, **kwargs):
        try:
            return self._request(*args, **kwargs)
        except BaseException:
            self.close()  # never reuse a connection left mid-request
            raise

    def _request(self, method, path, body=b"", headers=None, length=None, sink=None):
        """Send a request; `body` is bytes or an iterable of bytes (then `length` is its
        size). Returns (response, body bytes); with `sink`, the response body is passed
        to sink(memoryview) piece by piece instead and the returned body is b""."""
        hdrs = dict(self.headers)
        hdrs.update(headers or {})
        if isinstance(body, (bytes, bytearray)):
            length = len(body)
        for attempt in (0, 1):
            sent_body = False
            conn = self._connect()
            try:
                conn.putrequest(method, path, skip_accept_encoding=True)
                for k, v in hdrs.items():
                    conn.putheader(k, v)
                if method in ("PUT", "PATCH", "POST") or length:
                    conn.putheader("Content-Length", str(length or 0))
                conn.endheaders()
                if isinstance(body, (bytes, bytearray)):
                    if body:
                        conn.send(body)
                else:
                    sent_body = True
                    try:
                        for piece in body:
                            conn.send(piece)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the server answered early; read what it said
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed; retry once on a new one
                # unless a streamed body was already consumed.
                self.close()
                if attempt or sent_body:
                    raise
                continue
            break
        if sink is None:
            data = resp.read()
        else:
            data = b""
            buf = bytearray(MIB)
            view = memoryview(buf)
            while True:
                n = resp.readinto(buf)
                if not n:
                    break
                sink(view[:n])
        if resp.getheader("Connection", "").lower() == "close" or resp.will_close:
            self.close()
        return resp, data


def _split_unquoted(text, sep):
    """`text` split at each `sep` outside double quotes (backslash escapes inside)."""
    parts, cur, quoted, escaped = [], [], False, False
    for ch in text:
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return parts


def _number(text, kind):
    try:
        return kind(text)
    except (TypeError, ValueError):
        try:
            return kind(float(text))
        except (TypeError, ValueError):
            return None


def server_timing(resp):
    """Tollgate's Server-Timing header, e.g.
    `d1;count=1;dur=3.2, r2;count=0;dur=0, cache;desc="credential=hit row=miss"`, as
    {"d1": {"count": 1, "dur": 3.2}, "r2": {...}, "cache": {"credential": "hit", ...}}.
    None when the response has no such header (builds before it have none); a metric
    missing from the header is missing here, an unreadable number is None."""
    values = resp.headers.get_all("Server-Timing") if resp is not None else None
    if not values:
        return None
    out = {}
    for metric in _split_unquoted(",".join(values), ","):
        name, *params = _split_unquoted(metric, ";")
        name = name.strip().lower()
        fields = {}
        for param in params:
            key, _, value = param.partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            fields[key.strip().lower()] = value
        if name in ("d1", "r2"):
            out[name] = {"count": _number(fields.get("count"), int),
                         "dur": _number(fields.get("dur"), float)}
        elif name == "cache":
            out["cache"] = dict(item.split("=", 1) for item in fields.get("desc", "").split()
                                if "=" in item)
    return out


def sum_timings(timings):
    """Totals over the Server-Timing of several responses (server_timing's results):
    D1 round trips and R2 calls with their milliseconds, None where no response told."""
    known = [t for t in timings if t is not None]

    def total(metric, field, digits):
        values = [get(t, metric, field) for t in known]
        values = [v for v in values if v is not None]
        return round(sum(values), digits) if values else None

    return {"requests": len(timings), "with_timing": len(known),
            "d1_trips": total("d1", "count", 0), "d1_ms": total("d1", "dur", 2),
            "r2_calls": total("r2", "count", 0), "r2_ms": total("r2", "dur", 2),
            "caches": [t.get("cache") for t in known]}


def expect(resp, data, *codes):
    if resp.status not in codes:
        text = data[:500].decode("utf-8", "replace") if data else ""
        if resp.status == 503 and "restarted" in text:
            raise Restarted(f"HTTP 503: {text}")
        raise RuntimeError(f"HTTP {resp.status} (wanted {codes}): {text}")


# --------------------------------------------------------------------------- blobs

class Blob:
    """A generated blob of `size` bytes; MiB i is the base block stamped with (seed, i)."""

    _base = None

    def __init__(self, size, seed):
        if Blob._base is None:
            Blob._base = os.urandom(MIB)
        self.size = size
        self.seed = seed
        self._digest = None

    def _mib(self, i):
        stamp = hashlib.sha256(f"{self.seed}:{i}".encode()).digest()
        return stamp + Blob._base[len(stamp):]

    def pieces(self, start=0, end=None):
        """Bytes [start, end) in pieces of at most 1 MiB."""
        end = self.size if end is None else end
        pos = start
        while pos < end:
            i, off = divmod(pos, MIB)
            take = min(MIB - off, end - pos)
            block = self._mib(i)
            yield block if (off == 0 and take == MIB) else block[off:off + take]
            pos += take

    @property
    def digest(self):
        if self._digest is None:
            h = hashlib.sha256()
            for piece in self.pieces():
                h.update(piece)
            self._digest = "sha256:" + h.hexdigest()
        return self._digest


def blob_upload_start(c, repo):
    resp, data = c.request("POST", f"/v2/{repo}/blobs/uploads/")
    expect(resp, data, 202)
    return c.path_of(resp.getheader("Location"))


def with_digest(location, digest):
    sep = "&" if "?" in location else "?"
    return f"{location}{sep}digest={urllib.parse.quote(digest)}"


def push_monolithic(c, repo, blob):
    location = blob_upload_start(c, repo)
    resp, data = c.request("PUT", with_digest(location, blob.digest), blob.pieces(),
                           {"Content-Type": "application/octet-stream"}, length=blob.size)
    expect(resp, data, 201)


def push_chunked(c, repo, blob, chunk):
    location = blob_upload_start(c, repo)
    pos = 0
    while pos < blob.size:
        end = min(pos + chunk, blob.size)
        resp, data = c.request("PATCH", location, blob.pieces(pos, end), {
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{pos}-{end - 1}",
        }, length=end - pos)
        expect(resp, data, 202)
        location = c.path_of(resp.getheader("Location"))
        pos = end
    resp, data = c.request("PUT", with_digest(location, blob.digest))
    expect(resp, data, 201)


def push_small(c, repo, content):
    """Monolithic push of a small blob; returns its digest."""
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    location = blob_upload_start(c, repo)
    resp, data = c.request("PUT", with_digest(location, digest), content,
                           {"Content-Type": "application/octet-stream"})
    expect(resp, data, 201)
    return digest


def pull(c, path, size, digest=None, timings=None):
    """GET a blob, following redirects, hashing it; returns the byte count. With a list
    `timings`, the Server-Timing of each response (server_timing) is appended to it."""
    h = hashlib.sha256()
    count = [0]

    def sink(view):
        h.update(view)
        count[0] += len(view)

    client = c
    for _ in range(5):
        resp, data = client.request("GET", path, sink=sink)
        if timings is not None:
            timings.append(server_timing(resp))
        if resp.status in (301, 302, 303, 307, 308):
            target = urllib.parse.urljoin(client.base + path, resp.getheader("Location"))
            u = urllib.parse.urlsplit(target)
            client = Client(f"{u.scheme}://{u.netloc}")  # presigned: no credentials
            path = u.path + ("?" + u.query if u.query else "")
            h, count[0] = hashlib.sha256(), 0
            continue
        expect(resp, data, 200)
        break
    if count[0] != size:
        raise RuntimeError(f"pulled {count[0]} bytes, expected {size}")
    if digest and "sha256:" + h.hexdigest() != digest:
        raise RuntimeError("pulled content does not match its digest")
    return count[0]


class Restarted(RuntimeError):
    """wrangler dev reloaded the worker mid-request (it rebuilds when src/ changes)."""


RETRIES = []  # measurements that had to be repeated, reported with the results


def step(label, fn, *args):
    """Run one measurement; if wrangler dev dropped or stalled a request under it (see
    README: both happen now and then under wrangler dev), run it once more."""
    for attempt in (0, 1):
        try:
            return fn(*args)
        except (Restarted, ConnectionError, TimeoutError, http.client.HTTPException) as e:
            if attempt:
                raise
            log(f"{label}: {e!r}; retrying this measurement once")
            RETRIES.append(f"{label}: {e!r}"[:300])
            for client in args:
                if isinstance(client, Client):
                    client.close()
            time.sleep(2)


def timed(fn, *args):
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def mib_s(size, seconds):
    return round(size / MIB / seconds, 2)


# --------------------------------------------------------------------------- image

def small_image(c, repo):
    """Push a config and a layer and return the bytes of an image manifest for them."""
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []}, "config": {},
    }).encode()
    layer = os.urandom(1024)
    cd, ld = push_small(c, repo, config), push_small(c, repo, layer)
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cd, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": ld, "size": len(layer)}],
        "annotations": {"org.opencontainers.image.description": "tollgate bench"},
    }, indent=2).encode()


def put_manifest(c, repo, ref, manifest):
    resp, data = c.request("PUT", f"/v2/{repo}/manifests/{ref}", manifest,
                           {"Content-Type": OCI_MANIFEST})
    expect(resp, data, 201)


# --------------------------------------------------------------------------- round trips

RT_LAYERS = (256 * 1024, MIB, 4 * MIB)  # the layers of the round-trip images
SKOPEO = "/usr/bin/skopeo"


def push_image(c, repo, tag, seed, layer_sizes=RT_LAYERS):
    """Push a config and generated layers of `layer_sizes` (each through
    push_monolithic), then their OCI manifest as `tag`: (manifest bytes, its digest,
    the layer Blobs)."""
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Labels": {"bench": seed}},
        "rootfs": {"type": "layers", "diff_ids": []},
    }).encode()
    cd = push_small(c, repo, config)
    layers = [Blob(size, f"{seed}-layer{i}") for i, size in enumerate(layer_sizes)]
    for layer in layers:
        push_monolithic(c, repo, layer)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cd, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": b.digest, "size": b.size} for b in layers],
    }, indent=2).encode()
    put_manifest(c, repo, tag, manifest)
    return manifest, "sha256:" + hashlib.sha256(manifest).hexdigest(), layers


HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
              "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"}
PROXY_BLOCK = 64 * 1024


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    """One client connection of RecordingProxy, with its own keep-alive connection
    to the upstream server."""

    protocol_version = "HTTP/1.1"
    timeout = 300  # an idle keep-alive connection is dropped after this
    proxy = None   # the RecordingProxy, set on a subclass per proxy

    def log_message(self, *args):
        pass

    def handle(self):
        # Clients that try TLS first (skopeo does, then falls back to plain HTTP for
        # an insecure registry) open with a handshake record, not a method name:
        # closing at once makes that attempt fail fast.
        try:
            first = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if not first.isalpha():
            self.proxy.note_refused()
            return
        self.upstream = None
        try:
            super().handle()
        finally:
            if self.upstream is not None:
                self.upstream.close()

    def _request_body(self):
        """The request body in blocks (Content-Length or chunked), never whole."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline(1 << 16).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1 << 16) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                yield from self._read_exactly(size)
                self.rfile.readline(1 << 16)
        else:
            yield from self._read_exactly(int(self.headers.get("Content-Length") or 0))

    def _read_exactly(self, left):
        while left:
            block = self.rfile.read(min(PROXY_BLOCK, left))
            if not block:
                raise ConnectionError("client closed the connection mid-body")
            left -= len(block)
            yield block

    def forward(self):
        t0 = time.perf_counter()
        chunked_in = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        try:
            if self.upstream is None:
                self.upstream = http.client.HTTPConnection(*self.proxy.upstream, timeout=120)
            up = self.upstream
            # The client's Host goes through unchanged, so that URLs the server builds
            # from it (Location, the token realm) point back at the proxy.
            up.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for key, value in self.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    up.putheader(key, value)
            if chunked_in:
                up.putheader("Transfer-Encoding", "chunked")
            up.endheaders()
            for block in self._request_body():
                up.send(b"%x\r\n%s\r\n" % (len(block), block) if chunked_in else block)
            if chunked_in:
                up.send(b"0\r\n\r\n")
            resp = up.getresponse()
        except (OSError, http.client.HTTPException) as e:
            if self.upstream is not None:
                self.upstream.close()
                self.upstream = None
            self.proxy.record(self.command, self.path, 502, None, 0, t0)
            self.close_connection = True
            try:
                self.send_error(502, f"upstream: {e!r}"[:200])
            except OSError:
                pass
            return
        no_body = self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200
        chunked_out = not no_body and resp.getheader("Content-Length") is None
        sent = 0
        try:
            self.send_response_only(resp.status, resp.reason)
            for key, value in resp.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            if chunked_out:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            buf = bytearray(PROXY_BLOCK)
            view = memoryview(buf)
            while not no_body:
                n = resp.readinto(buf)
                if not n:
                    break
                if chunked_out:
                    self.wfile.write(b"%x\r\n" % n)
                self.wfile.write(view[:n])
                if chunked_out:
                    self.wfile.write(b"\r\n")
                sent += n
            if chunked_out:
                self.wfile.write(b"0\r\n\r\n")
            if no_body:
                resp.read()
        except (OSError, http.client.HTTPException):
            self.close_connection = True
            resp.close()
            self.upstream.close()
            self.upstream = None
        finally:
            self.proxy.record(self.command, self.path, resp.status, server_timing(resp), sent, t0)
        if resp.will_close and self.upstream is not None:
            self.upstream.close()
            self.upstream = None

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = forward


class RecordingProxy:
    """A plain-HTTP reverse proxy on a free loopback port in front of `upstream_url`,
    one thread per client connection, streaming bodies in 64 KiB blocks. It records
    every response it forwards with that response's Server-Timing; take() hands the
    records over and starts afresh."""

    def __init__(self, upstream_url):
        u = urllib.parse.urlsplit(upstream_url)
        self.upstream = (u.hostname, u.port or 80)
        self._lock = threading.Lock()
        self._records, self._refused = [], 0
        handler = type("Handler", (_ProxyHandler,), {"proxy": self})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def record(self, method, path, status, timing, size, t0):
        with self._lock:
            self._records.append({"method": method, "path": path, "status": status,
                                  "bytes": size, "timing": timing,
                                  "ms": round((time.perf_counter() - t0) * 1000, 1)})

    def note_refused(self):
        with self._lock:
            self._refused += 1

    def take(self):
        """(records since the last take, connections closed for not speaking HTTP)."""
        with self._lock:
            taken = self._records, self._refused
            self._records, self._refused = [], 0
        return taken

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def skopeo_pull(proxy, repo, tag, user, password, digest, layers, dest):
    """`skopeo copy` of repo:tag through `proxy` into the directory `dest`, checked:
    the manifest skopeo stored must have `digest` and each layer its size. Returns the
    requests the proxy forwarded for it with their D1 and R2 totals."""
    cmd = [SKOPEO, "--insecure-policy", "copy", "--retry-times", "0",
           "--src-tls-verify=false", "--src-creds", f"{user}:{password}",
           f"docker://127.0.0.1:{proxy.port}/{repo}:{tag}", f"dir:{dest}"]
    t = time.perf_counter()
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=300)
    seconds = time.perf_counter() - t
    records, refused = proxy.take()
    if done.returncode:
        raise RuntimeError(f"skopeo copy exited with {done.returncode}: "
                           f"{(done.stderr or done.stdout).strip()[-400:]}")
    with open(os.path.join(dest, "manifest.json"), "rb") as f:
        got = "sha256:" + hashlib.sha256(f.read()).hexdigest()
    if got != digest:
        raise RuntimeError(f"skopeo stored a manifest with digest {got}, pushed {digest}")
    for layer in layers:
        path = os.path.join(dest, layer.digest.split(":", 1)[1])
        if not os.path.isfile(path) or os.path.getsize(path) != layer.size:
            raise RuntimeError(f"skopeo did not store layer {layer.digest} whole")
    out = sum_timings([r["timing"] for r in records])
    out.update({
        "seconds": round(seconds, 2), "tls_probes_closed": refused,
        "log": [f"{r['method']} {r['path']} {r['status']} {r['bytes']} B {r['ms']} ms"
                + ("" if r["timing"] is None else
                   f" d1={get(r['timing'], 'd1', 'count')} r2={get(r['timing'], 'r2', 'count')}")
                for r in records],
    })
    return out


def request_timing(c, path, headers=None):
    """One GET of `path`, answered 200: its D1 and R2 figures from Server-Timing."""
    resp, data = c.request("GET", path, headers=headers)
    expect(resp, data, 200)
    return sum_timings([server_timing(resp)])


def round_trips(a, c, run):
    """D1 round trips and R2 calls (Tollgate's Server-Timing) of a manifest GET by tag,
    a layer GET and a whole skopeo pull, each cold (the first read after a write: any
    write empties the isolate's caches) and warm (the same again), on a repository of
    its own."""
    repo = f"bench/roundtrips-{run}"
    seed = f"{run}-rt-{time.time()}"
    out = {"repo": repo, "layer_bytes": list(RT_LAYERS)}
    log(a.name, "round trips: manifest GET by tag, cold and warm")
    manifest, _, layers = push_image(c, repo, "a", f"{seed}-a")
    path = f"/v2/{repo}/manifests/a"
    cold = request_timing(c, path, {"Accept": MANIFEST_ACCEPT})
    out["manifest_get"] = {"cold": cold,
                           "warm": request_timing(c, path, {"Accept": MANIFEST_ACCEPT})}

    log(a.name, "round trips: layer GET, cold and warm")
    put_manifest(c, repo, "a", manifest)  # a write: the layer's GET is the first read after it
    layer = layers[1]
    out["blob_get"] = {"layer_bytes": layer.size}
    for phase in ("cold", "warm"):
        timings = []
        pull(c, f"/v2/{repo}/blobs/{layer.digest}", layer.size, layer.digest, timings)
        out["blob_get"][phase] = sum_timings(timings)

    if not os.access(SKOPEO, os.X_OK):
        log(a.name, f"round trips: {SKOPEO} not found, no pull measured")
        out["skopeo_pull"] = None
        out["skopeo_missing"] = SKOPEO
        return out
    log(a.name, "round trips: skopeo pull of a 3-layer image through a recording proxy, cold and warm")
    # Another image, whose layers no GET has read yet.
    _, digest, layers = push_image(c, repo, "c", f"{seed}-c")
    c.close()
    proxy = RecordingProxy(a.url)
    pulls = out["skopeo_pull"] = {"layers": len(layers)}
    try:
        with tempfile.TemporaryDirectory(prefix="tollgate-bench-skopeo.") as tmp:
            for phase in ("cold", "warm"):
                pulls[phase] = skopeo_pull(proxy, repo, "c", a.user, a.password, digest, layers,
                                           os.path.join(tmp, phase))
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        log(a.name, f"round trips: skopeo pull failed: {e}")
        pulls["error"] = str(e)[:600]
    finally:
        proxy.close()
    return out


# --------------------------------------------------------------------------- load

def _load_worker(args):
    base, user, password, path, start_at, stop_at, count = args
    c = Client(base, user, password, timeout=60)
    lat, errors, first_error = [], 0, None
    while time.time() < start_at:
        time.sleep(0.001)
    while True:
        t0 = time.perf_counter()
        if time.time() >= stop_at or (count is not None and len(lat) + errors >= count):
            break
        try:
            resp, data = c.request("GET", path, headers={"Accept": MANIFEST_ACCEPT})
            ok = resp.status == 200 and data
        except Exception as e:  # noqa: BLE001 - counted and reported
            ok, resp = False, None
            c.close()
            first_error = first_error or repr(e)
        if ok:
            lat.append(time.perf_counter() - t0)
        else:
            errors += 1
            if resp is not None and first_error is None:
                first_error = f"HTTP {resp.status}"
    c.close()
    return lat, errors, first_error


def _load(base, user, password, path, clients, duration):
    start_at = time.time() + 1.5
    stop_at = start_at + duration
    jobs = [(base, user, password, path, start_at, stop_at, None)] * clients
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        return pool.map(_load_worker, jobs)


def manifest_load(base, user, password, path, clients, duration, pgid=None):
    """`clients` processes, one keep-alive connection each, GET `path` for `duration` s
    (with Basic credentials, or none when `user` is None), after the same load for
    SETTINGS["warmup_s"] unmeasured: the runtime compiles a worker's hot code (wasm
    first with a baseline compiler) while it runs, and every target gets the same
    head start. With `pgid`, also the CPU the server's workerd processes spent per
    request."""
    if SETTINGS["warmup_s"]:
        _load(base, user, password, path, clients, SETTINGS["warmup_s"])
    cpu_before = worker_cpu_s(pgid) if pgid else None
    results = _load(base, user, password, path, clients, duration)
    cpu = worker_cpu_s(pgid) - cpu_before if pgid else None
    lat = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    first_error = next((r[2] for r in results if r[2]), None)

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000, 2) if lat else None

    return {
        "clients": clients, "duration_s": duration, "requests": len(lat), "errors": errors,
        "first_error": first_error,
        "rps": round(len(lat) / duration, 1),
        "p50_ms": pct(50), "p99_ms": pct(99),
        "cpu_ms_per_request": round(cpu / len(lat) * 1000, 3) if cpu is not None and lat else None,
    }


def manifest_burst(base, user, password, path, clients, count):
    """The same load as manifest_load, but `count` GETs in all, shared among the
    clients: returns (when the first GET started (time.time()), successes, errors,
    first error, when the last one ended)."""
    start_at = time.time() + 1.5
    jobs = [(base, user, password, path, start_at, start_at + 600, count // clients + (i < count % clients))
            for i in range(clients)]
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.map(_load_worker, jobs)
    ok = sum(len(r[0]) for r in results)
    return (start_at, ok, sum(r[1] for r in results),
            next((r[2] for r in results if r[2]), None), time.time())


def pulls_stored(c, repo):
    """Pulls of `repo` the analytics worker has stored (the daily counts, summed)."""
    resp, data = c.request("GET", f"/api/v1/downloads/daily?artifact={urllib.parse.quote(repo)}")
    expect(resp, data, 200)
    return sum(d["pulls"] for d in json.loads(data)["days"])


def analytics_throughput(a, c, repo, clients, count, limit=180):
    """Measurement 6: `count` manifest GETs of `repo:latest` as fast as the manifest GET
    load makes them, then the daily counts polled until every one of those pulls is
    stored; events/s is the pulls stored over the time from the first GET to the poll
    that saw the last one (so it includes the Queue's local delivery)."""
    before = pulls_stored(c, repo)  # not 0 only when this is a repeated measurement
    start, ok, errors, first_error, gets_done = manifest_burst(
        a.url, a.user, a.password, f"/v2/{repo}/manifests/latest", clients, count)
    while True:
        stored = pulls_stored(c, repo) - before
        now = time.time()
        if stored >= ok or now - gets_done > limit:
            break
        time.sleep(0.2)
    seconds = now - start
    return {
        "gets": ok, "get_errors": errors, "first_error": first_error, "clients": clients,
        "gets_s": round(gets_done - start, 2), "stored": stored, "complete": stored >= ok,
        "stored_s": round(seconds, 2), "events_per_s": round(stored / seconds, 1),
    }


# --------------------------------------------------------------------------- tags

LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def list_tags(c, repo, page):
    """Walk the tag list `page` at a time; returns (tags, pages, how the next page was
    found: "link" if every step followed a Link header)."""
    path = f"/v2/{repo}/tags/list?n={page}"
    tags, pages, followed, via_last = [], 0, "link", False
    while path:
        resp, data = c.request("GET", path)
        expect(resp, data, 200)
        pages += 1
        got = json.loads(data).get("tags") or []
        tags.extend(got)
        if via_last and got:
            followed = "last"
        via_last = False
        link = resp.getheader("Link")
        if link and LINK_NEXT.search(link):
            path = c.path_of(LINK_NEXT.search(link).group(1))
        elif len(got) == page and got:
            # No Link although the page is full: continue with last= ourselves (flagged
            # if that finds more, since the server should then have sent a Link).
            path = f"/v2/{repo}/tags/list?n={page}&last={urllib.parse.quote(got[-1])}"
            via_last = True
            continue
        else:
            path = None
        if pages > 10 * (SETTINGS["tags"] // page + 2):
            raise RuntimeError("tag listing does not terminate")
    return tags, pages, followed


def bench_tags(c, repo, manifest, count, page, rounds):
    names = [f"t{i:04d}" for i in range(count)]
    t = time.perf_counter()
    for name in names:
        put_manifest(c, repo, name, manifest)
    push_s = time.perf_counter() - t
    pages_total, t = 0, time.perf_counter()
    for _ in range(rounds):
        tags, pages, followed = list_tags(c, repo, page)
        pages_total += pages
    list_s = time.perf_counter() - t
    if sorted(tags) != names:
        raise RuntimeError(f"tag list returned {len(tags)} tags, {len(set(tags) & set(names))} expected ones")
    return {
        "tags": count, "mode": "sequential, one connection", "push_s": round(push_s, 2),
        "tags_per_s": round(count / push_s, 1),
        "page_size": page, "pages_per_listing": pages, "listings": rounds,
        "next_page_via": followed,
        "pages_per_s": round(pages_total / list_s, 1),
        "list_s": round(list_s, 3),
        "ms_per_page": round(list_s / pages_total * 1000, 2),
        "ms_per_listing": round(list_s / rounds * 1000, 2),
    }


# Half of the tags bench_tags pushes (t0000, t0001, …): those ending in an even digit.
CUSTOMER_TAG_PATTERNS = [f"t???{d}" for d in "02468"]


def customer_tags(c, repo, manifest, count, page, rounds, run):
    """The tag listing of bench_tags's repository as a customer licensed through tag
    patterns for half of its tags. A license covers manifests, and a customer sees
    every tag of a manifest it may read, so the tags the patterns do not match are
    first moved (untimed) to a second manifest; then the customer's listing must be
    exactly the matching tags."""
    names = [f"t{i:04d}" for i in range(count)]
    wanted = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in CUSTOMER_TAG_PATTERNS)]
    other = json.loads(manifest)
    other.setdefault("annotations", {})["org.opencontainers.image.description"] = "tollgate bench, unlicensed"
    other = json.dumps(other, indent=2).encode()
    for name in sorted(set(names) - set(wanted)):
        put_manifest(c, repo, name, other)
    email, token = licensed_customer(c, repo, f"{run}-tags-{os.urandom(3).hex()}",
                                     [{"artifact": repo, "pattern": p} for p in CUSTOMER_TAG_PATTERNS])
    cc = Client(c.base, email, token)
    pages_total, t = 0, time.perf_counter()
    for _ in range(rounds):
        tags, pages, followed = list_tags(cc, repo, page)
        pages_total += pages
    list_s = time.perf_counter() - t
    cc.close()
    return {
        "patterns": CUSTOMER_TAG_PATTERNS, "tags": count, "tags_expected": len(wanted),
        "tags_seen": len(tags), "exact": sorted(tags) == wanted,
        "page_size": page, "pages_per_listing": pages, "listings": rounds,
        "next_page_via": followed, "list_s": round(list_s, 3),
        "ms_per_page": round(list_s / pages_total * 1000, 2),
        "ms_per_listing": round(list_s / rounds * 1000, 2),
    }


# --------------------------------------------------------------------------- /proc

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    comm = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): ppid=4, pgrp=5, utime=14, stime=15
    return {"comm": comm, "ppid": int(fields[1]), "pgrp": int(fields[2]),
            "cpu_s": (int(fields[11]) + int(fields[12])) / CLK_TCK}


def proc_status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def workerd_pids(pgid):
    """workerd processes in process group `pgid`, or descending from process `pgid`."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stats[int(entry)] = proc_stat(entry)
            except (OSError, ValueError):
                pass
    found = {p for p, s in stats.items() if s["pgrp"] == pgid and s["comm"].startswith("workerd")}
    if not found:
        family, grew = {pgid}, True
        while grew:
            more = {p for p, s in stats.items() if s["ppid"] in family} - family
            family |= more
            grew = bool(more)
        found = {p for p in family if stats.get(p, {}).get("comm", "").startswith("workerd")}
    return sorted(found)


def workerd_role(pid):
    """wrangler dev runs two workerd: its proxy and the one running the worker."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
        return " ".join(a.decode(errors="replace") for a in args[1:])[:200]
    except OSError:
        return "?"


def push_resources(c, repo, blob, chunk, pgid):
    return resources_during(lambda: push_chunked(c, repo, blob, chunk), blob.size, pgid)


CACHE_FILL_LIMIT_S = 60  # how long first_pull_until_cached waits for a cache hit


def first_pull_until_cached(c, path, blob, limit=CACHE_FILL_LIMIT_S):
    """The first GET of a blob just pushed, read whole and verified; then, since
    Tollgate copies a blob it has sent whole into the Workers Cache API in the
    background (a second R2 read streamed into cache.put), the same GET again, each
    read whole and verified, until its Server-Timing says the bytes came from that
    cache (`bytes=hit`). Gives up `limit` s after the first GET ended, and at once
    when the server sends no Server-Timing."""
    timings = []
    t0 = time.perf_counter()
    pull(c, path, blob.size, blob.digest, timings)
    first = get(timings[-1], "cache", "bytes")
    out = {"first_get_s": round(time.perf_counter() - t0, 2), "first_get_bytes_cache": first,
           "polls": 0, "cache_hit": first == "hit", "gave_up_after_s": None}
    if timings[-1] is None:
        out["no_server_timing"] = True
        return out
    deadline = time.perf_counter() + limit
    while not out["cache_hit"]:
        if time.perf_counter() >= deadline:
            out["gave_up_after_s"] = limit
            break
        time.sleep(0.2)
        timings = []
        pull(c, path, blob.size, blob.digest, timings)
        out["polls"] += 1
        out["cache_hit"] = get(timings[-1], "cache", "bytes") == "hit"
    out["until_hit_s"] = round(time.perf_counter() - t0, 2) if out["cache_hit"] else None
    return out


def pull_resources(c, repo, blob, pgid, attempts):
    """resources_during the first pull of `blob` (pushed to `repo` already) and its
    cache fill (first_pull_until_cached). `attempts` lists the blobs tried: when step()
    repeats this, the blob may be in the cache already, so a new one is pushed first."""
    if attempts:
        blob = Blob(blob.size, f"{blob.seed}-again{len(attempts)}")
        push_monolithic(c, repo, blob)
        c.close()
    attempts.append(blob)
    found = {}
    path = f"/v2/{repo}/blobs/{blob.digest}"
    res = resources_during(lambda: found.update(first_pull_until_cached(c, path, blob)),
                           blob.size, pgid)
    res.update(found)
    return res


def summarize_resources(res):
    """Adds the worker's own workerd figures and the large/small peak ratios to `res`
    ({"small": …, "large": …} from resources_during)."""
    small, large = res["small"], res["large"]
    # wrangler dev runs two workerd: a proxy on the public port and the one running
    # the worker, which is the one that burnt the CPU.
    worker = max(large["per_process"], key=lambda p: large["per_process"][p]["cpu_s"])
    res["worker_pid"] = int(worker)
    for label in ("small", "large"):
        one = res[label]["per_process"].get(worker, {})
        res[label]["worker_peak_rss_mib"] = one.get("peak_rss_mib")
        res[label]["worker_rss_before_mib"] = one.get("rss_before_mib")
    res["peak_rss_ratio_all"] = round(large["peak_rss_mib"] / small["peak_rss_mib"], 3)
    res["peak_rss_ratio"] = round(large["worker_peak_rss_mib"] / small["worker_peak_rss_mib"], 3)


def resources_during(push, size, pgid):
    """Memory and CPU of the workerd processes in `pgid` while `push()` runs."""
    pids = workerd_pids(pgid)
    if not pids:
        raise RuntimeError(f"no workerd process found under process group {pgid}")
    hwm_reset = True
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")  # reset VmHWM to the current RSS
        except OSError:
            hwm_reset = False
    before = {p: {"rss": proc_status_kib(p, "VmRSS"), "cpu": proc_stat(p)["cpu_s"],
                  "role": workerd_role(p)} for p in pids}
    rss_before = sum(b["rss"] for b in before.values())
    cpu_before = sum(b["cpu"] for b in before.values())
    samples, stop = [rss_before], threading.Event()

    def sampler():
        while not stop.wait(0.05):
            try:
                samples.append(sum(proc_status_kib(p, "VmRSS") for p in pids))
            except OSError:
                pass

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    seconds = timed(push)
    stop.set()
    thread.join()
    per_pid = {str(p): {"rss_before_mib": round(before[p]["rss"] / 1024, 1),
                        "peak_rss_mib": round(proc_status_kib(p, "VmHWM") / 1024, 1),
                        "rss_after_mib": round(proc_status_kib(p, "VmRSS") / 1024, 1),
                        "cpu_s": round(proc_stat(p)["cpu_s"] - before[p]["cpu"], 2),
                        "role": before[p]["role"]}
               for p in pids}
    hwm = sum(proc_status_kib(p, "VmHWM") for p in pids)
    cpu_after = sum(proc_stat(p)["cpu_s"] for p in pids)
    rss_after = sum(proc_status_kib(p, "VmRSS") for p in pids)
    sampled_peak = max(samples)
    peak = max(hwm, sampled_peak) if hwm_reset else sampled_peak
    return {
        "size_mib": size // MIB, "workerd_pids": pids, "seconds": round(seconds, 2),
        "mib_per_s": mib_s(size, seconds),
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_after_mib": round(rss_after / 1024, 1),
        "peak_rss_mib": round(peak / 1024, 1),
        "peak_source": "VmHWM after clear_refs" if hwm_reset and hwm >= sampled_peak else "VmRSS samples every 50 ms",
        "cpu_s": round(cpu_after - cpu_before, 2),
        "per_process": per_pid,
    }


def worker_cpu_s(pgid):
    """CPU seconds so far of the workerd processes in `pgid`."""
    return sum(proc_stat(p)["cpu_s"] for p in workerd_pids(pgid))


def sign_in_cpu(url, user, password, token, pgid, rounds):
    """workerd CPU per password sign-in (POST /api/v1/session), less that of as many
    token-authenticated requests, so what remains is the password check's cost."""
    def run(path, method, body, auth_password):
        c = Client(url, user, auth_password) if auth_password else Client(url)
        start = worker_cpu_s(pgid)
        for _ in range(rounds):
            resp, data = c.request(method, path, body, {"Content-Type": "application/json"})
            expect(resp, data, 200)
        c.close()
        return worker_cpu_s(pgid) - start

    body = json.dumps({"email": user, "password": password}).encode()
    sign_in = run("/api/v1/session", "POST", body, None)
    baseline = run("/api/v1/me", "GET", b"", token)
    return {"rounds": rounds, "sign_in_cpu_s": round(sign_in, 2), "token_cpu_s": round(baseline, 2),
            "cpu_ms_per_sign_in": round((sign_in - baseline) / rounds * 1000, 1)}


# --------------------------------------------------------------------------- commands

def licensed_customer(c, repo, run, items=None):
    """A customer licensed for every version of `repo` (or for the license `items`
    given), and a user of it with a token (made through the management API):
    (email, token)."""
    def post(path, body):
        resp, data = c.request("POST", path, json.dumps(body).encode(),
                               {"Content-Type": "application/json"})
        expect(resp, data, 201)
        return json.loads(data)
    customer = post("/api/v1/customers", {"name": f"bench-{run}"})
    email = f"bench-{run}@customer.test"
    user = post(f"/api/v1/customers/{customer['id']}/users", {"email": email})
    token = post("/api/v1/tokens", {"name": "bench", "user_id": user["id"]})
    post("/api/v1/licenses", {"name": "bench", "customer_id": customer["id"],
                              "items": items or [{"artifact": repo, "all_versions": True}]})
    return email, token["secret"]


def cmd_registry(a):
    s = SETTINGS
    c = Client(a.url, a.user, a.password)
    resp, data = c.request("GET", "/v2/")
    expect(resp, data, 200)
    run = f"{int(time.time())}-{os.getpid()}"
    out = {"target": a.name, "url": a.url, "kind": "registry", "settings": s}
    chunk = s["chunk_mib"] * MIB

    # Warm up: a small image pushed and pulled (also the manifest for 3 and 4).
    log(a.name, "small image")
    manifest = step("small image", small_image, c, "bench/image")
    step("small image", put_manifest, c, "bench/image", "latest", manifest)

    if a.pgid and s["rss_large_mib"]:
        # 5 first, while the runtime is fresh: the earlier big pushes would otherwise
        # leave their memory behind and make the baseline look larger.
        out["resources"] = {}
        # A short chunked push first, so that what the runtime allocates once (the
        # wasm instance growing to its working size) is not charged to the 100 MiB push.
        warm = s["chunk_mib"] * 2
        log(a.name, f"resources: warm-up chunked push of {warm} MiB")
        step("warm-up", push_chunked, c, "bench/rss", Blob(warm * MIB, f"{run}-warm"), chunk)
        for label, mib in (("small", s["rss_small_mib"]), ("large", s["rss_large_mib"])):
            log(a.name, f"resources: chunked push of {mib} MiB")
            out["resources"][label] = step(f"resources {mib} MiB", push_resources,
                c, "bench/rss", Blob(mib * MIB, f"{run}-rss-{mib}"), chunk, a.pgid)
        summarize_resources(out["resources"])

    if a.pgid and s["pull_large_mib"]:
        # After the pushes (so that they start from a fresh runtime as before): workerd's
        # memory while a blob is pulled the first time and Tollgate copies it into the
        # Workers Cache API behind the response, until a GET is served from the cache.
        # Both blobs are pushed first, so both pulls start from the same state; the
        # larger first, since wrangler dev now and then stalls a GET right after a
        # large PUT (see README), and on a new connection.
        res = out.setdefault("resources", {})
        repo = "bench/pull-rss"
        blobs = [(label, Blob(mib * MIB, f"{run}-pull-{mib}"))
                 for label, mib in (("small", s["pull_small_mib"]), ("large", s["pull_large_mib"]))]
        for _, blob in reversed(blobs):
            log(a.name, f"resources: monolithic push of {blob.size // MIB} MiB to pull")
            step(f"push {blob.size // MIB} MiB to pull", push_monolithic, c, repo, blob)
        c.close()
        pulls = {}
        for label, blob in blobs:
            log(a.name, f"resources: first pull of {blob.size // MIB} MiB until served from the cache")
            pulls[label] = step(f"resources: first pull of {blob.size // MIB} MiB", pull_resources,
                                c, repo, blob, a.pgid, [])
        summarize_resources(pulls)
        res["pull_small"], res["pull_large"] = pulls["small"], pulls["large"]
        for key in ("worker_pid", "peak_rss_ratio", "peak_rss_ratio_all"):
            res["pull_" + key] = pulls[key]

    size = s["blob_mib"] * MIB
    mono = Blob(size, f"{run}-mono")
    chunked = Blob(size, f"{run}-chunked")
    mono.digest, chunked.digest  # hash before the clock starts
    log(a.name, f"push {s['blob_mib']} MiB monolithic")
    t_mono = step("monolithic push", timed, push_monolithic, c, "bench/blob", mono)
    log(a.name, f"push {s['blob_mib']} MiB in {s['chunk_mib']} MiB chunks")
    t_chunk = step("chunked push", timed, push_chunked, c, "bench/blob", chunked, chunk)

    def pull_mono():
        timings = []
        seconds = timed(pull, c, f"/v2/bench/blob/blobs/{mono.digest}", size, mono.digest, timings)
        return seconds, sum_timings(timings)

    log(a.name, f"pull {s['blob_mib']} MiB")
    t_pull, st_pull = step("pull", pull_mono)
    # The same blob again: Tollgate serves a blob it has sent whole once from the
    # Workers Cache API, without R2.
    log(a.name, f"pull {s['blob_mib']} MiB again")
    t_pull2, st_pull2 = step("second pull", pull_mono)
    out["blob"] = {
        "size_mib": s["blob_mib"], "chunk_mib": s["chunk_mib"],
        "push_monolithic_s": round(t_mono, 2), "push_monolithic_mib_s": mib_s(size, t_mono),
        "push_chunked_s": round(t_chunk, 2), "push_chunked_mib_s": mib_s(size, t_chunk),
        "pull_s": round(t_pull, 2), "pull_mib_s": mib_s(size, t_pull),
        "second_pull_s": round(t_pull2, 2), "second_pull_mib_s": mib_s(size, t_pull2),
        "pull_r2_calls": st_pull["r2_calls"], "second_pull_r2_calls": st_pull2["r2_calls"],
        "pull_timing": st_pull, "second_pull_timing": st_pull2,
    }

    if a.round_trips:
        out["round_trips"] = step("round trips", round_trips, a, c, run)

    if a.analytics and s["analytics_events"]:
        # Before the manifest GET load, so that load finds no events still queued.
        log(a.name, f"analytics: {s['analytics_events']} manifest GETs, until all are stored")
        analytics_repo = f"bench/analytics-{run}"
        step("analytics image", put_manifest, c, analytics_repo, "latest",
             step("analytics image", small_image, c, analytics_repo))
        c.close()
        out["analytics"] = step("analytics", analytics_throughput, a, c, analytics_repo,
                                s["clients"], s["analytics_events"])

    log(a.name, f"manifest GET, {s['clients']} clients for {s['duration_s']} s")
    c.close()
    out["manifest_get"] = manifest_load(a.url, a.user, a.password,
                                        "/v2/bench/image/manifests/latest",
                                        s["clients"], s["duration_s"], a.pgid)

    if a.customer:
        log(a.name, f"manifest GET as a licensed customer, {s['clients']} clients for {s['duration_s']} s")
        email, token = step("customer", licensed_customer, c, "bench/image", run)
        c.close()
        out["customer_manifest_get"] = manifest_load(a.url, email, token,
                                                     "/v2/bench/image/manifests/latest",
                                                     s["clients"], s["duration_s"], a.pgid)

    log(a.name, f"push {s['tags']} tags, list them {s['page']} a page")
    tags_repo = f"bench/tags-{run}"
    tag_manifest = step("tags", small_image, c, tags_repo)
    out["tags"] = step("tags", bench_tags, c, tags_repo, tag_manifest, s["tags"], s["page"],
                       s["list_rounds"])
    if a.customer:
        log(a.name, f"list the tags {s['page']} a page as a customer licensed for half of them")
        out["customer_tags"] = step("customer tags", customer_tags, c, tags_repo, tag_manifest,
                                    s["tags"], s["page"], s["list_rounds"], run)
    c.close()
    if a.pgid and a.sign_in_password:
        log(a.name, "CPU of password sign-ins")
        out["sign_in"] = step("sign-in", sign_in_cpu, a.url, a.user, a.sign_in_password,
                              a.password, a.pgid, 20)
    out["retries"] = RETRIES
    write_json(a.out, out)


def mean_load(runs):
    """Loads of the same kind, run in turn, as one: rates, latencies and CPU are the
    means of the runs' (each run's rate is kept under `rounds`), counts their sums."""
    def mean(key, digits):
        values = [r[key] for r in runs if r[key] is not None]
        return round(sum(values) / len(values), digits) if values else None

    return {
        "clients": runs[0]["clients"], "duration_s": runs[0]["duration_s"],
        "requests": sum(r["requests"] for r in runs), "errors": sum(r["errors"] for r in runs),
        "first_error": next((r["first_error"] for r in runs if r["first_error"]), None),
        "rps": mean("rps", 1), "p50_ms": mean("p50_ms", 2), "p99_ms": mean("p99_ms", 2),
        "cpu_ms_per_request": mean("cpu_ms_per_request", 3),
        "rounds": [r["rps"] for r in runs],
    }


def interleaved(loads, rounds):
    """Each of `loads` (name -> a function running it once) run `rounds` times, taking
    turns, then averaged (mean_load): a reference measured between the loads it is
    compared with drifts with them, where one measured minutes apart does not (the
    local runtime's rate moves by several percent from one minute to the next)."""
    runs = {name: [] for name in loads}
    for i in range(rounds):
        for name, load in loads.items():
            log("interleaved", f"round {i + 1}/{rounds}: {name}")
            runs[name].append(load())
    return {name: mean_load(r) for name, r in runs.items()}


def cmd_manifest(a):
    """Only the manifest GET load, as `registry` runs it: for Tollgate without its
    Queue, and for the registry worker alone (with --customer, a customer's too).
    With --reference, the trivial worker's GET /trivial there (bench/calibration) in
    turn with them, SETTINGS["rounds"] times (interleaved)."""
    s = SETTINGS
    c = Client(a.url, a.user, a.password)
    resp, data = c.request("GET", "/v2/")
    expect(resp, data, 200)
    out = {"target": a.name, "url": a.url, "kind": "manifest", "settings": s}
    log(a.name, "small image")
    manifest = step("small image", small_image, c, "bench/image")
    step("small image", put_manifest, c, "bench/image", "latest", manifest)
    customer = a.customer and step("customer", licensed_customer, c, "bench/image",
                                   f"{int(time.time())}-{os.getpid()}")
    c.close()
    path = "/v2/bench/image/manifests/latest"
    clients, duration = s["clients"], s["duration_s"]
    loads = {}
    if a.reference:
        loads["reference_trivial_get"] = lambda: manifest_load(
            a.reference, None, None, "/trivial", clients, duration, a.reference_pgid)
    loads["manifest_get"] = lambda: manifest_load(
        a.url, a.user, a.password, path, clients, duration, a.pgid)
    if customer:
        loads["customer_manifest_get"] = lambda: manifest_load(
            a.url, *customer, path, clients, duration, a.pgid)
    log(a.name, f"manifest GET ({', '.join(loads)}), {clients} clients for {duration} s each")
    if a.reference:
        out.update(interleaved(loads, s["rounds"]))
    else:
        out.update({name: load() for name, load in loads.items()})
    out["retries"] = RETRIES
    write_json(a.out, out)


def cmd_calibration(a):
    s = SETTINGS
    c = Client(a.url)
    size = s["blob_mib"] * MIB
    resp, data = c.request("PUT", "/warmup", b"x" * 1024)
    expect(resp, data, 201)
    result = {"target": "calibration", "url": a.url, "kind": "calibration", "settings": s}

    def put_to(path, blob):
        def put():
            resp, data = c.request("PUT", path, blob.pieces(), length=blob.size)
            expect(resp, data, 201)
        return put

    if a.pgid and s["rss_large_mib"]:
        # The runtime's own share of measurement 5, first like Tollgate's: the same
        # sizes, each through one multipart PUT after a warm-up, so the memory growth of
        # V8 and the R2 simulator can be told apart from the worker's.
        res = result["resources"] = {}
        parts = f"?parts={s['part_mib']}"
        warm = Blob(s["chunk_mib"] * 2 * MIB, f"calibration-warm-{time.time()}")
        log("calibration", f"resources: warm-up multipart PUT of {warm.size // MIB} MiB")
        step("calibration warm-up", put_to(f"/rss-warm{parts}", warm))
        for label, mib in (("small", s["rss_small_mib"]), ("large", s["rss_large_mib"])):
            blob = Blob(mib * MIB, f"calibration-rss-{mib}-{time.time()}")
            log("calibration", f"resources: multipart PUT of {mib} MiB")
            res[label] = step(f"calibration resources {mib} MiB", resources_during,
                              put_to(f"/rss-{label}{parts}", blob), blob.size, a.pgid)
        summarize_resources(res)

    out = result["blob"] = {"size_mib": s["blob_mib"], "multipart_part_mib": s["part_mib"]}
    # One streamed PUT into a single object (the ceiling the ratios use), then the same
    # through a multipart upload with Tollgate's part size, for comparison.
    for prefix, query in (("", ""), ("multipart_", f"?parts={s['part_mib']}")):
        blob = Blob(size, f"calibration-{prefix}{time.time()}")
        blob.digest
        log("calibration", f"PUT {s['blob_mib']} MiB{query}")
        t_put = step(f"calibration PUT{query}", timed, put_to(f"/{prefix}blob{query}", blob))
        log("calibration", f"GET {s['blob_mib']} MiB ({'multipart' if prefix else 'single'} object)")
        t_get = step(f"calibration GET{query}", timed, pull, c, f"/{prefix}blob", size, blob.digest)
        out.update({f"{prefix}push_s": round(t_put, 2), f"{prefix}push_mib_s": mib_s(size, t_put),
                    f"{prefix}pull_s": round(t_get, 2), f"{prefix}pull_mib_s": mib_s(size, t_get)})
    c.close()
    # The floor for the manifest GET rows: the same load against a worker that answers
    # a fixed body of the manifest's size, touching neither D1 nor R2; no credentials.
    log("calibration", f"GET /trivial, {s['clients']} clients for {s['duration_s']} s")
    result["trivial_get"] = manifest_load(a.url, None, None, "/trivial", s["clients"],
                                          s["duration_s"], a.pgid)
    result["retries"] = RETRIES
    write_json(a.out, result)


def cmd_trivial(a):
    """The manifest GET load against a worker answering every request with the fixed
    body of the calibration worker's GET /trivial (bench/trivial-rs): the floor of the
    runtime that worker is built for."""
    s = SETTINGS
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "calibration", "trivial-body.txt"), "rb") as f:
        body = f.read()
    c = Client(a.url)
    # A few requests first, checked, so that instantiating the worker is not timed.
    for _ in range(20):
        resp, data = c.request("GET", "/trivial")
        expect(resp, data, 200)
        if data != body or resp.getheader("Content-Type") != OCI_MANIFEST:
            raise RuntimeError(f"{a.name}: GET /trivial did not answer the fixed body "
                               f"({len(data)} bytes, {resp.getheader('Content-Type')})")
    c.close()
    result = {"target": a.name, "url": a.url, "kind": "trivial", "settings": s}
    log(a.name, f"GET /trivial, {s['clients']} clients for {s['duration_s']} s")
    result["trivial_get"] = manifest_load(a.url, None, None, "/trivial", s["clients"],
                                          s["duration_s"], a.pgid)
    result["retries"] = RETRIES
    write_json(a.out, result)


def write_json(path, obj):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def cmd_report(a):
    res = {}
    for path in a.files:
        try:
            with open(path) as f:
                r = json.load(f)
            res[r["target"]] = r
        except (OSError, ValueError, KeyError) as e:
            log(f"skipping {path}: {e}")
    t, d, cal = res.get("tollgate"), res.get("distribution"), res.get("calibration")
    nq = res.get("tollgate-noqueue")
    s = next((r["settings"] for r in res.values() if "settings" in r), SETTINGS)
    rows, checks = [], {}

    def ratio(x, y):
        return round(x / y, 3) if x is not None and y else None

    def row(label, unit, tv, dv, cv, r=None, target=None, ok=None, key=None):
        rows.append((label, unit, tv, dv, cv, r, target, ok))
        if key:
            # Checks on a ratio record the ratio; the others the tollgate value itself.
            value = tv if key in ("tags_per_s", "second_pull_r2_calls", "customer_tags_seen") else r
            checks[key] = {"value": value, "target": target, "pass": ok}

    def ge(v, lim):
        return None if v is None else v >= lim

    blob = f"{s['blob_mib']} MiB"
    cal_push, cal_pull = get(cal, "blob", "push_mib_s"), get(cal, "blob", "pull_mib_s")
    for key, label in (("push_monolithic_mib_s", f"push {blob} monolithic"),
                       ("push_chunked_mib_s", f"push {blob} {s['chunk_mib']} MiB chunks")):
        tv = get(t, "blob", key)
        r = ratio(tv, cal_push)
        row(label, "MiB/s", tv, get(d, "blob", key), cal_push, r, ">= 0.8 x cal", ge(r, 0.8),
            key.replace("_mib_s", "_vs_calibration"))
    tv = get(t, "blob", "pull_mib_s")
    r = ratio(tv, cal_pull)
    row(f"pull {blob}", "MiB/s", tv, get(d, "blob", "pull_mib_s"), cal_pull, r, ">= 0.8 x cal",
        ge(r, 0.8), "pull_vs_calibration")
    row(f"second pull {blob}", "MiB/s", get(t, "blob", "second_pull_mib_s"),
        get(d, "blob", "second_pull_mib_s"), None, None, "(info)")
    tv = get(t, "blob", "second_pull_r2_calls")
    row(f"second pull {blob}: R2 calls", "calls", tv, None, None, None, "0",
        None if tv is None else tv == 0, "second_pull_r2_calls")
    row("  first pull: R2 calls", "calls", get(t, "blob", "pull_r2_calls"), None, None, None, "(info)")
    if get(cal, "blob", "multipart_push_mib_s") is not None:
        part = get(cal, "blob", "multipart_part_mib")
        mp_push, mp_pull = get(cal, "blob", "multipart_push_mib_s"), get(cal, "blob", "multipart_pull_mib_s")
        row(f"  calibration via {part} MiB R2 parts: push", "MiB/s", None, None, mp_push,
            ratio(get(t, "blob", "push_chunked_mib_s"), mp_push), "(info)")
        # Tollgate's pulled blob was pushed whole, so it is one object: no ratio here.
        row(f"  calibration via {part} MiB R2 parts: pull", "MiB/s", None, None, mp_pull, None, "(info)")
    tv, dv = get(t, "manifest_get", "rps"), get(d, "manifest_get", "rps")
    r = ratio(tv, dv)
    row(f"manifest GET, {s['clients']} clients", "req/s", tv, dv, None, r, ">= 0.5 x dist",
        ge(r, 0.5), "manifest_rps_vs_distribution")
    row("  latency p50", "ms", get(t, "manifest_get", "p50_ms"), get(d, "manifest_get", "p50_ms"), None)
    row("  latency p99", "ms", get(t, "manifest_get", "p99_ms"), get(d, "manifest_get", "p99_ms"), None)
    cp, ap = get(t, "customer_manifest_get", "p50_ms"), get(t, "manifest_get", "p50_ms")
    r = ratio(cp, ap)
    row("manifest GET as a licensed customer", "req/s", get(t, "customer_manifest_get", "rps"), None, None)
    row("  latency p50 (ratio: customer / vendor)", "ms", cp, None, None, r, "<= 1.25 x vendor",
        None if r is None else r <= 1.25, "customer_p50_vs_vendor")
    trivial = get(cal, "trivial_get", "rps")
    row("trivial worker, fixed body", "req/s", None, None, trivial)
    # Checked on the registry worker alone (tollgate-alone: no dashboard assets, no
    # analytics worker, no test middleware in the same wrangler dev), served as the
    # trivial workers are, against the trivial worker measured in turn with it (the
    # `manifest` command's rounds); the full local stack (the tollgate target) for
    # information, against the calibration target's figure.
    alone = res.get("tollgate-alone")
    ref, ref_cpu = (get(alone, "reference_trivial_get", k) for k in ("rps", "cpu_ms_per_request"))
    row("  in turn with the registry alone (reference)", "req/s", None, None, ref)
    for who, key, check in (("vendor", "manifest_get", "manifest_rps_vs_trivial"),
                            ("customer", "customer_manifest_get", "customer_manifest_rps_vs_trivial")):
        tv = get(alone, key, "rps")
        r = ratio(tv, ref)
        row(f"manifest GET ({who}), registry alone, vs trivial", "req/s", tv, None, ref, r,
            ">= 0.9 x trivial", ge(r, 0.9), check)
        tc = get(alone, key, "cpu_ms_per_request")
        row("  workerd CPU per request", "ms", tc, None, ref_cpu, ratio(tc, ref_cpu), "(info)")
        full = get(t, key, "rps")
        row("  the whole local stack (tollgate target)", "req/s", full, None, trivial,
            ratio(full, trivial), "(info)")
    # The same load against bench/trivial-rs (its figures in the calibration column):
    # what the wasm runtime and the workers-rs glue cost a request that does nothing.
    trs = res.get("trivial-rs")
    trivial_rs, trs_cpu = get(trs, "trivial_get", "rps"), get(trs, "trivial_get", "cpu_ms_per_request")
    row("trivial Rust worker (workers-rs), fixed body", "req/s", None, None, trivial_rs)
    row("  workerd CPU per request", "ms", None, None, trs_cpu)
    row("trivial Rust vs trivial JS", "req/s", None, None, None, ratio(trivial_rs, trivial), "(info)")
    row("  workerd CPU per request", "ms", None, None, None,
        ratio(trs_cpu, get(cal, "trivial_get", "cpu_ms_per_request")), "(info)")
    for who, key, check in (("vendor", "manifest_get", "manifest_rps_vs_trivial_rs"),
                            ("customer", "customer_manifest_get", "customer_manifest_rps_vs_trivial_rs")):
        tv = get(alone, key, "rps")
        row(f"manifest GET ({who}), registry alone, vs trivial Rust", "req/s", tv, None,
            trivial_rs, ratio(tv, trivial_rs), "(info)", None, check)
        tc = get(alone, key, "cpu_ms_per_request")
        row("  workerd CPU per request", "ms", tc, None, trs_cpu, ratio(tc, trs_cpu), "(info)")
    wp, np_ = get(t, "manifest_get", "p50_ms"), get(nq, "manifest_get", "p50_ms")
    r = ratio(wp, np_)
    row("manifest GET p50 with / without the Queue send", "ms", wp, None, None, r, "(info)")
    row("  without: tollgate-noqueue, no Queue binding", "ms", np_, None, None)
    row("analytics: events stored per second", "events/s", get(t, "analytics", "events_per_s"),
        None, None, None, "(info)")
    tv = get(t, "tags", "tags_per_s")
    row(f"push {s['tags']} tags, sequential", "tags/s", tv, get(d, "tags", "tags_per_s"), None,
        None, ">= 100", ge(tv, 100), "tags_per_s")
    row(f"list tags, {s['page']} a page", "pages/s", get(t, "tags", "pages_per_s"),
        get(d, "tags", "pages_per_s"), None)
    tv, dv = get(t, "tags", "ms_per_page"), get(d, "tags", "ms_per_page")
    r = ratio(tv, dv)
    row("  time per page", "ms", tv, dv, None, r, "<= 2 x dist", None if r is None else r <= 2,
        "tags_page_ms_vs_distribution")
    tv, dv = get(t, "tags", "ms_per_listing"), get(d, "tags", "ms_per_listing")
    row(f"  time per whole listing of {s['tags']} tags", "ms", tv, dv, None, ratio(tv, dv), "(info)")
    ct = get(t, "customer_tags")
    row("  as a customer licensed for half: per page", "ms", get(ct, "ms_per_page"), None, None,
        ratio(get(ct, "ms_per_page"), get(t, "tags", "ms_per_page")), "(info)")
    row("  tags the customer saw", "tags", get(ct, "tags_seen"), None, None, None,
        f"= {get(ct, 'tags_expected')}" if ct else "= matched", get(ct, "exact"),
        "customer_tags_seen")
    row("CPU of one password sign-in", "ms", get(t, "sign_in", "cpu_ms_per_sign_in"), None, None,
        None, "(info)")
    small, large = get(t, "resources", "small"), get(t, "resources", "large")
    if small or large or t or get(cal, "resources"):
        cs, cl = get(cal, "resources", "small"), get(cal, "resources", "large")
        row(f"workerd peak RSS, {s['rss_small_mib']} MiB push", "MiB", get(small, "worker_peak_rss_mib"), None,
            get(cs, "worker_peak_rss_mib"))
        r = get(t, "resources", "peak_rss_ratio")
        row(f"workerd peak RSS, {s['rss_large_mib']} MiB push", "MiB", get(large, "worker_peak_rss_mib"), None,
            get(cl, "worker_peak_rss_mib"), r, "<= 1.2 (ratio)", None if r is None else r <= 1.2, "peak_rss_ratio")
        row("  calibration's own ratio", "", None, None, get(cal, "resources", "peak_rss_ratio"), None, "(info)")
        row(f"  both workerd, {s['rss_small_mib']} MiB push", "MiB", get(small, "peak_rss_mib"), None,
            get(cs, "peak_rss_mib"))
        row(f"  both workerd, {s['rss_large_mib']} MiB push", "MiB", get(large, "peak_rss_mib"), None,
            get(cl, "peak_rss_mib"), get(t, "resources", "peak_rss_ratio_all"))
        row(f"workerd CPU, {s['rss_small_mib']} MiB push", "s", get(small, "cpu_s"), None,
            get(cal, "resources", "small", "cpu_s"))
        row(f"workerd CPU, {s['rss_large_mib']} MiB push", "s", get(large, "cpu_s"), None,
            get(cal, "resources", "large", "cpu_s"))
    ps, pl = get(t, "resources", "pull_small"), get(t, "resources", "pull_large")
    if ps or pl or t:
        row(f"workerd peak RSS, {s['pull_small_mib']} MiB first pull + cache fill", "MiB",
            get(ps, "worker_peak_rss_mib"), None, None)
        r = get(t, "resources", "pull_peak_rss_ratio")
        row(f"workerd peak RSS, {s['pull_large_mib']} MiB first pull + cache fill", "MiB",
            get(pl, "worker_peak_rss_mib"), None, None, r, "<= 1.2 (ratio)",
            None if r is None else r <= 1.2, "pull_peak_rss_ratio")
        row(f"  both workerd, {s['pull_small_mib']} MiB first pull + cache fill", "MiB",
            get(ps, "peak_rss_mib"), None, None)
        row(f"  both workerd, {s['pull_large_mib']} MiB first pull + cache fill", "MiB",
            get(pl, "peak_rss_mib"), None, None, get(t, "resources", "pull_peak_rss_ratio_all"))

    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, bool):
            return "ok" if v else "MISS"
        return f"{v:g}" if isinstance(v, float) else str(v)

    header = ("measurement", "unit", "tollgate", "distribution", "calibration", "ratio", "target", "")
    table = [header] + [tuple(fmt(x) for x in r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for i, r in enumerate(table):
        lines.append("  ".join(x.ljust(w) if j < 2 or j >= 6 else x.rjust(w)
                               for j, (x, w) in enumerate(zip(r, widths))).rstrip())
        if i == 0:
            lines.append("-" * len(lines[0]))
    print("\n".join(lines))
    for name in ("tollgate", "tollgate-alone", "tollgate-noqueue", "distribution", "calibration",
                 "trivial-rs"):
        if name not in res:
            print(f"({name}: not measured)")
    for name, r in res.items():
        for retry in r.get("retries") or []:
            print(f"({name}: repeated {retry})")
        if get(r, "manifest_get", "errors"):
            print(f"({name}: {r['manifest_get']['errors']} manifest GET errors, first: "
                  f"{r['manifest_get']['first_error']})")
    an = get(t, "analytics")
    if an:
        print(f"(tollgate analytics: {an['gets']} GETs in {an['gets_s']} s, "
              f"{an['stored']} pulls stored {an['stored_s']} s after the first"
              f"{'' if an['complete'] else ', NOT ALL: gave up waiting'}"
              f"{', %d GET errors' % an['get_errors'] if an['get_errors'] else ''})")
    listing = get(d, "tags", "pages_per_listing")
    if listing == 1 and s["tags"] > s["page"]:
        print(f"(distribution: returned all {s['tags']} tags in one page, ignoring n; "
              "its pages/s and time per page are whole listings)")
    if get(t, "tags", "ms_per_page") is not None:
        print("(list tags: ratios are tollgate / distribution; the customer row's ratio is "
              "its time per page over the vendor's)")
    if get(t, "resources", "small"):
        sm, lg = t["resources"]["small"], t["resources"]["large"]
        print(f"(tollgate workerd RSS before the pushes: {sm.get('worker_rss_before_mib')} MiB and "
              f"{lg.get('worker_rss_before_mib')} MiB; peaks are VmHWM reset with clear_refs)")
    if trs:
        print("(trivial Rust rows: the calibration column is the trivial-rs target, "
              "bench/trivial-rs; \"trivial Rust vs trivial JS\" is its figure over the "
              "calibration worker's /trivial)")
    for label in ("pull_small", "pull_large"):
        p = get(t, "resources", label)
        if not p:
            continue
        if p.get("no_server_timing"):
            fill = "no Server-Timing, so the cache fill was not waited for"
        elif p["cache_hit"]:
            gets = f"{p['polls']} more GET{'' if p['polls'] == 1 else 's'}"
            fill = f"served from the cache {p['until_hit_s']} s after the first GET began, after {gets}"
        else:
            fill = f"NOT served from the cache within {p['gave_up_after_s']} s ({p['polls']} more GETs)"
        before, peak = p.get("worker_rss_before_mib"), p.get("worker_peak_rss_mib")
        grew = f", peak {round(peak - before, 1):+g} MiB over it" if None not in (before, peak) else ""
        if p.get("first_get_bytes_cache") == "hit":
            fill += ", but its first GET came from the cache already"
        print(f"(tollgate first pull of {p['size_mib']} MiB: {p['first_get_s']} s, {fill}; "
              f"workerd RSS before: {before} MiB{grew})")
    if get(cal, "resources", "small"):
        sm, lg = cal["resources"]["small"], cal["resources"]["large"]
        print(f"(calibration workerd RSS before its multipart PUTs: {sm.get('worker_rss_before_mib')} MiB "
              f"and {lg.get('worker_rss_before_mib')} MiB)")
    for name, r in res.items():
        via = get(r, "tags", "next_page_via")
        if via == "last":
            print(f"({name}: a full tag page came without a Link header but last= found more)")
    if get(t, "round_trips"):
        print()
        print_round_trips(t["round_trips"])
    load_before = os.environ.get("BENCH_LOAD_BEFORE")
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[0]
    print(f"(load average before/after: {load_before or '?'} / {load_after} "
          f"on {os.cpu_count()} cores)")
    write_json(a.out, {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "load_average": {"before": load_before, "after": load_after,
                                        "cores": os.cpu_count()},
                       "settings": s, "checks": checks, "targets": res})


def print_round_trips(rt):
    """The second table: D1 round trips and R2 calls per read, cold and warm."""
    def pair(op, field):
        if not isinstance(op, dict) or "cold" not in op:
            return "-"
        cold, warm = get(op, "cold", field), get(op, "warm", field)
        show = lambda v: "-" if v is None else f"{v:g}"
        return f"{show(cold)} / {show(warm)}"

    size = get(rt, "blob_get", "layer_bytes") or 0
    size = f"{size / MIB:g} MiB" if size >= MIB else f"{size / 1024:g} KiB"
    pull = rt.get("skopeo_pull")
    ops = [("manifest GET by tag", rt.get("manifest_get")),
           (f"layer GET ({size})", rt.get("blob_get")),
           (f"skopeo pull, {get(pull, 'layers') or 3} layers", pull)]
    measures = [("requests cold/warm", "requests"), ("D1 trips cold/warm", "d1_trips"),
                ("D1 ms cold/warm", "d1_ms"), ("R2 calls cold/warm", "r2_calls"),
                ("R2 ms cold/warm", "r2_ms")]
    table = [("tollgate, from Server-Timing",) + tuple(name for name, _ in ops)]
    table += [(label,) + tuple(pair(op, field) for _, op in ops) for label, field in measures]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for i, r in enumerate(table):
        line = "  ".join(x.ljust(w) if j == 0 else x.rjust(w) for j, (x, w) in enumerate(zip(r, widths)))
        print(line.rstrip())
        if i == 0:
            print("-" * len(line))
    timed = [get(op, phase, "with_timing") for _, op in ops for phase in ("cold", "warm")
             if isinstance(op, dict)]
    if timed and not any(timed):
        print("(no response carried a Server-Timing header: this build does not send it, "
              "so D1 and R2 figures are unknown)")
    print("(cold: the first read after a write, which empties the isolate's caches; "
          "warm: the same read again)")
    if rt.get("skopeo_missing"):
        print(f"(skopeo pull: not measured, {rt['skopeo_missing']} is not installed)")
    elif get(pull, "error"):
        print(f"(skopeo pull FAILED: {pull['error']})")
    elif isinstance(pull, dict) and "cold" in pull:
        for phase in ("cold", "warm"):
            p = pull[phase]
            print(f"(skopeo pull {phase}: {p['seconds']} s, {p['requests']} requests through the "
                  f"proxy, {p['with_timing']} of them with Server-Timing; connections closed for "
                  f"opening with TLS: {p['tls_probes_closed']}; manifest digest and layer sizes checked)")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("registry")
    r.add_argument("--name", required=True)
    r.add_argument("--url", required=True)
    r.add_argument("--user")
    r.add_argument("--password")
    r.add_argument("--pgid", type=int, help="process group of wrangler dev (for workerd RSS/CPU)")
    r.add_argument("--sign-in-password", help="the user's password, to measure sign-in CPU")
    r.add_argument("--customer", action="store_true",
                   help="also measure manifest GETs by a licensed customer (Tollgate's API)")
    r.add_argument("--analytics", action="store_true",
                   help="also measure download events stored per second (Tollgate's Queue)")
    r.add_argument("--round-trips", action="store_true",
                   help="also count D1 round trips and R2 calls per read, cold and warm, "
                        "from Tollgate's Server-Timing (with a skopeo pull through a proxy)")
    r.add_argument("--out", required=True)
    m = sub.add_parser("manifest")
    m.add_argument("--name", required=True)
    m.add_argument("--url", required=True)
    m.add_argument("--user")
    m.add_argument("--password")
    m.add_argument("--pgid", type=int, help="process group of wrangler dev (for workerd CPU)")
    m.add_argument("--reference", help="URL of the calibration worker, measured in turn")
    m.add_argument("--reference-pgid", type=int, help="its wrangler dev's process group")
    m.add_argument("--customer", action="store_true",
                   help="also measure manifest GETs by a licensed customer (Tollgate's API)")
    m.add_argument("--out", required=True)
    c = sub.add_parser("calibration")
    c.add_argument("--url", required=True)
    c.add_argument("--pgid", type=int, help="process group of wrangler dev (for workerd RSS/CPU)")
    c.add_argument("--out", required=True)
    tr = sub.add_parser("trivial")
    tr.add_argument("--name", required=True)
    tr.add_argument("--url", required=True)
    tr.add_argument("--pgid", type=int, help="process group of wrangler dev (for workerd CPU)")
    tr.add_argument("--out", required=True)
    rep = sub.add_parser("report")
    rep.add_argument("files", nargs="*")
    rep.add_argument("--out", required=True)
    a = p.parse_args()
    {"registry": cmd_registry, "manifest": cmd_manifest, "calibration": cmd_calibration,
     "trivial": cmd_trivial, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()

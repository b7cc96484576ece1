//! Shared helpers for Tollgate's end-to-end tests.
//!
//! The tests in `tests/tests/*.rs` drive a *running* registry over plain HTTP and with real
//! OCI clients. The registry is given by the environment:
//!
//! * `TOLLGATE_URL`      – base URL, e.g. `http://127.0.0.1:8787` (required)
//! * `TOLLGATE_USER`     – user with push/pull/delete rights (required)
//! * `TOLLGATE_PASSWORD` – its password or personal access token (required)
//!
//! Without them every test fails with a message that says so: an end-to-end suite that
//! silently passes without a server would hide a broken setup.
//!
//! Everything here is written so that tests are independent and may run in parallel: every
//! test pushes into its own randomly named repositories ([`unique_repo`]) and runs clients
//! with their own HOME/config directories ([`Sandbox`]).

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use serde_json::{json, Value};

pub mod accounts;
pub mod licenses;
pub mod memory;
pub mod openapi;
pub mod own_server;
pub mod upstream;
use sha2::{Digest as _, Sha256, Sha512};

// ---------------------------------------------------------------------------------------
// Media types
// ---------------------------------------------------------------------------------------

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The `Accept` header a pulling client sends: every manifest type we push.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// The registry under test, with an HTTP agent that sends its Basic credentials.
pub struct Registry {
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:8787`.
    pub url: String,
    /// `host:port` as clients name the registry in image references.
    pub host: String,
    pub user: String,
    pub password: String,
    agent: ureq::Agent,
}

fn required_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().to_string(),
        _ => panic!(
            "\n\n{name} is not set.\n\
             The Tollgate end-to-end tests drive a running registry and cannot run without one.\n\
             Set TOLLGATE_URL (e.g. http://127.0.0.1:8787), TOLLGATE_USER and TOLLGATE_PASSWORD\n\
             (a user allowed to push, pull and delete), then run\n\
             \x20   cargo test -p tollgate-e2e -- --test-threads=2\n\
             See tests/README.md.\n"
        ),
    }
}

/// The registry under test. Panics (failing the test) when the environment does not name
/// one.
pub fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| {
        Registry::new(
            &required_env("TOLLGATE_URL"),
            &required_env("TOLLGATE_USER"),
            &required_env("TOLLGATE_PASSWORD"),
        )
    })
}

impl Registry {
    /// The registry at `url` (plain `http://host:port`), as `user` with `password`.
    pub fn new(url: &str, user: &str, password: &str) -> Registry {
        let url = url.trim_end_matches('/').to_string();
        let rest = url.strip_prefix("http://").unwrap_or_else(|| {
            panic!("TOLLGATE_URL must be a plain http:// URL (got {url:?}); the suite has no TLS")
        });
        let host = rest.split('/').next().unwrap().to_string();
        assert!(
            url == format!("http://{host}"),
            "TOLLGATE_URL must not have a path (got {url:?})"
        );
        // No pooled connections: wrangler dev closes an idle keep-alive connection after
        // exactly 5 s, and a test that waits that long (the GC grace period plus a
        // second) would send its next request on a socket the server is closing at that
        // instant. ureq retries only idempotent requests on a dead pooled socket, so a
        // POST then failed with "Unexpected EOF". A fresh local connection costs well
        // under a millisecond.
        let agent = ureq::AgentBuilder::new()
            .max_idle_connections(0)
            .redirects(0)
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(300))
            .timeout_write(Duration::from_secs(300))
            .user_agent("tollgate-e2e/0.1")
            .build();
        Registry {
            url,
            host,
            user: user.to_string(),
            password: password.to_string(),
            agent,
        }
    }
}

/// `user:password` for clients that take credentials in that form.
pub fn creds() -> String {
    let r = registry();
    format!("{}:{}", r.user, r.password)
}

// ---------------------------------------------------------------------------------------
// Randomness, names, digests
// ---------------------------------------------------------------------------------------

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fresh random number (not cryptographic; unique across threads and processes).
pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut s = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0xA076_1D64_78BD_642F);
    splitmix64(&mut s)
}

/// `n` lowercase hex characters of randomness.
pub fn random_hex(n: usize) -> String {
    let mut s = String::new();
    while s.len() < n {
        s.push_str(&format!("{:016x}", random_u64()));
    }
    s.truncate(n);
    s
}

/// A repository name no other test (or earlier run) uses: `e2e/<label>-<random>`.
pub fn unique_repo(label: &str) -> String {
    format!("e2e/{}-{}", label, random_hex(10))
}

/// Random bytes in memory (for small blobs).
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    PrngReader::new(random_u64(), len as u64)
        .read_exact(&mut v)
        .unwrap();
    v
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(data))
}

/// `sha512:<hex>` of `data`.
pub fn sha512_digest(data: &[u8]) -> String {
    format!("sha512:{}", hex::encode(Sha512::digest(data)))
}

pub fn sha256_file(path: &Path) -> (String, u64) {
    let f = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    sha256_stream(f).unwrap()
}

/// A deterministic, fast pseudo-random byte stream of a fixed length. The same seed always
/// yields the same bytes, so large blobs never need to be held in memory or on disk:
/// generate once to push, once more to know the expected digest.
///
/// The stream is a sequence of 4 KiB blocks, each copied from a random offset of a 1 MiB
/// pool of xoshiro256** output. That is essentially a `memcpy` per block, fast even in an
/// unoptimised test build, yet no two blocks line up the same way, so the data neither
/// compresses nor repeats at any useful scale.
pub struct PrngReader {
    s: [u64; 4],
    pool: Vec<u8>,
    block_off: usize,
    block_pos: usize,
    remaining: u64,
}

const POOL_LEN: usize = 1 << 20;
const BLOCK_LEN: usize = 4096;

impl PrngReader {
    pub fn new(seed: u64, len: u64) -> Self {
        let mut sm = seed;
        let mut s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        let mut pool = vec![0u8; POOL_LEN + BLOCK_LEN];
        for c in pool.chunks_exact_mut(8) {
            c.copy_from_slice(&xoshiro_next(&mut s).to_le_bytes());
        }
        PrngReader {
            s,
            pool,
            block_off: 0,
            block_pos: BLOCK_LEN,
            remaining: len,
        }
    }

    /// Skips `n` bytes of the stream (to resume it at an offset).
    pub fn skip(&mut self, mut n: u64) {
        let mut buf = vec![0u8; 1 << 20];
        while n > 0 {
            let k = n.min(buf.len() as u64) as usize;
            self.read_exact(&mut buf[..k]).unwrap();
            n -= k as u64;
        }
    }
}

#[inline]
fn xoshiro_next(s: &mut [u64; 4]) -> u64 {
    let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
    result
}

impl Read for PrngReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (buf.len() as u64).min(self.remaining) as usize;
        let mut done = 0;
        while done < want {
            if self.block_pos == BLOCK_LEN {
                self.block_off = (xoshiro_next(&mut self.s) % POOL_LEN as u64) as usize;
                self.block_pos = 0;
            }
            let k = (want - done).min(BLOCK_LEN - self.block_pos);
            let from = self.block_off + self.block_pos;
            buf[done..done + k].copy_from_slice(&self.pool[from..from + k]);
            self.block_pos += k;
            done += k;
        }
        self.remaining -= want as u64;
        Ok(want)
    }
}

/// sha256 of a large stream. An unoptimised (debug) build of the `sha2` crate hashes at
/// ~15 MB/s, far too slow for GiB blobs, so this pipes the data through `openssl dgst`
/// (SHA-NI, GB/s) when it is installed and falls back to in-process hashing otherwise.
pub struct StreamSha256 {
    inner: StreamSha256Inner,
    count: u64,
}

enum StreamSha256Inner {
    Openssl(std::process::Child),
    InProcess(Box<Sha256>),
}

impl StreamSha256 {
    pub fn new() -> Self {
        let child = Command::new("openssl")
            .args(["dgst", "-sha256", "-r"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let inner = match child {
            Ok(c) => StreamSha256Inner::Openssl(c),
            Err(_) => StreamSha256Inner::InProcess(Box::new(Sha256::new())),
        };
        StreamSha256 { inner, count: 0 }
    }

    /// (`sha256:<hex>`, bytes hashed)
    pub fn finish(self) -> (String, u64) {
        let hex = match self.inner {
            StreamSha256Inner::InProcess(h) => hex::encode(h.finalize()),
            StreamSha256Inner::Openssl(mut c) => {
                drop(c.stdin.take());
                let mut out = String::new();
                c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
                assert!(c.wait().unwrap().success(), "openssl dgst failed");
                let hex = out.split_whitespace().next().unwrap_or("").to_string();
                assert_eq!(hex.len(), 64, "unexpected openssl output {out:?}");
                hex
            }
        };
        (format!("sha256:{hex}"), self.count)
    }
}

impl Default for StreamSha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for StreamSha256 {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.inner {
            StreamSha256Inner::InProcess(h) => {
                h.update(buf);
                buf.len()
            }
            StreamSha256Inner::Openssl(c) => c.stdin.as_mut().unwrap().write(buf)?,
        };
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Streams `r` to its end through [`StreamSha256`]; returns (`sha256:<hex>`, byte count).
pub fn sha256_stream(mut r: impl Read) -> io::Result<(String, u64)> {
    let mut h = StreamSha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.write_all(&buf[..n])?;
    }
    Ok(h.finish())
}

/// The sha256 digest of `PrngReader::new(seed, len)`.
pub fn prng_digest(seed: u64, len: u64) -> String {
    let (d, n) = sha256_stream(PrngReader::new(seed, len)).unwrap();
    assert_eq!(n, len);
    d
}

/// Writes `len` pseudo-random bytes to `path`, streamed; returns their sha256 digest.
pub fn write_random_file(path: &Path, seed: u64, len: u64) -> String {
    let f = File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    let mut w = BufWriter::with_capacity(1 << 20, f);
    io::copy(&mut PrngReader::new(seed, len), &mut w).unwrap();
    w.flush().unwrap();
    prng_digest(seed, len)
}

/// A writer that hashes (sha256) and counts what passes through it.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    /// (`sha256:<hex>`, bytes written, inner writer)
    pub fn finish(self) -> (String, u64, W) {
        (
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.count,
            self.inner,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Standard base64 (with padding), for Basic credentials and docker config files.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

/// A complete HTTP response (body read into memory; use [`Req::stream`] for large ones).
pub struct Resp {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl fmt::Debug for Resp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {} -> {}", self.method, self.url, self.status)?;
        for (k, v) in &self.headers {
            writeln!(f, "  {k}: {v}")?;
        }
        let text = String::from_utf8_lossy(&self.body[..self.body.len().min(2000)]);
        write!(f, "  body ({} bytes): {}", self.body.len(), text)
    }
}

/// The first value of header `name` (case-insensitive) among `headers`.
fn find_header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Resp {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// A header that must be present.
    pub fn must_header(&self, name: &str) -> &str {
        self.header(name)
            .unwrap_or_else(|| panic!("response has no {name} header:\n{self:?}"))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}):\n{self:?}"))
    }

    /// Asserts the status code, showing the whole response if it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status:\n{self:?}");
        self
    }

    /// Asserts the status and an OCI error body (`{"errors":[{"code":..,"message":..}]}`)
    /// whose codes include `code`.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Self {
        self.expect_error_any(status, &[code])
    }

    /// Like [`Resp::expect_error`], accepting any of `codes` (empty: any code).
    #[track_caller]
    pub fn expect_error_any(&self, status: u16, codes: &[&str]) -> &Self {
        self.expect(status);
        let found = self.oci_error_codes();
        if !codes.is_empty() {
            assert!(
                found.iter().any(|c| codes.contains(&c.as_str())),
                "expected error code {codes:?}, got {found:?}:\n{self:?}"
            );
        }
        self
    }

    /// The codes of an OCI error body; panics unless the body is one.
    #[track_caller]
    pub fn oci_error_codes(&self) -> Vec<String> {
        let v: Value = serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("error body is not JSON ({e}); expected an OCI error body:\n{self:?}")
        });
        let errors = v
            .get("errors")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("error body has no \"errors\" array:\n{self:?}"));
        assert!(
            !errors.is_empty(),
            "error body has an empty \"errors\" array:\n{self:?}"
        );
        errors
            .iter()
            .map(|e| {
                let code = e.get("code").and_then(Value::as_str);
                let msg = e.get("message");
                assert!(
                    code.is_some(),
                    "OCI error without a string \"code\":\n{self:?}"
                );
                assert!(
                    msg.map(|m| m.is_string()).unwrap_or(false),
                    "OCI error without a string \"message\":\n{self:?}"
                );
                code.unwrap().to_string()
            })
            .collect()
    }

    /// The `Location` header, resolved against the registry URL.
    #[track_caller]
    pub fn location(&self) -> String {
        registry().abs(self.must_header("Location"))
    }

    /// The URL of a `Link: <...>; rel="next"` header, resolved, if any.
    pub fn next_link(&self) -> Option<String> {
        let link = self.header("Link")?;
        for part in link.split(',') {
            let part = part.trim();
            if !part.contains("rel=\"next\"") && !part.contains("rel=next") {
                continue;
            }
            let start = part.find('<')? + 1;
            let end = part.find('>')?;
            return Some(registry().abs(&part[start..end]));
        }
        None
    }
}

/// A streaming response: status, headers and the unread body.
pub struct StreamResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub reader: Box<dyn Read + Send + Sync + 'static>,
}

impl StreamResp {
    fn of(r: ureq::Response) -> StreamResp {
        StreamResp {
            status: r.status(),
            headers: collect_headers(&r),
            reader: Box::new(r.into_reader()),
        }
    }

    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// A request being built. Sends the registry's Basic credentials unless told not to.
pub struct Req<'a> {
    reg: &'a Registry,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    auth: Option<(String, String)>,
    timeout: Option<Duration>,
}

impl Registry {
    /// Resolves a `Location`/`Link` value or a path (`/v2/...`) to an absolute URL.
    pub fn abs(&self, loc: &str) -> String {
        if loc.starts_with("http://") || loc.starts_with("https://") {
            loc.to_string()
        } else if loc.starts_with('/') {
            format!("{}{}", self.url, loc)
        } else {
            panic!("cannot resolve relative URL {loc:?}")
        }
    }

    /// A request to `path_or_url` (`/v2/...` or an absolute URL from a Location header).
    pub fn req(&self, method: &str, path_or_url: &str) -> Req<'_> {
        Req {
            reg: self,
            method: method.to_string(),
            url: self.abs(path_or_url),
            headers: Vec::new(),
            auth: Some((self.user.clone(), self.password.clone())),
            timeout: None,
        }
    }
}

/// Defines `Registry::get`, `head`, …: `reg.get(p)` is `reg.req("GET", p)`.
macro_rules! method_shorthands {
    ($($name:ident => $method:literal),* $(,)?) => {
        impl Registry {
            $(
                #[doc = concat!("A `", $method, "` request; see [`Registry::req`].")]
                pub fn $name(&self, path_or_url: &str) -> Req<'_> {
                    self.req($method, path_or_url)
                }
            )*
        }
    };
}

method_shorthands! {
    get => "GET",
    head => "HEAD",
    put => "PUT",
    post => "POST",
    patch => "PATCH",
    delete => "DELETE",
}

fn collect_headers(r: &ureq::Response) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in r.headers_names() {
        for v in r.all(&name) {
            out.push((name.clone(), v.to_string()));
        }
    }
    out
}

impl<'a> Req<'a> {
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
    /// Gives the whole request, body included, at most `limit`.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }
    /// Sends no credentials.
    pub fn no_auth(mut self) -> Self {
        self.auth = None;
        self
    }
    /// Sends these Basic credentials instead of the configured ones.
    pub fn basic(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_string(), password.to_string()));
        self
    }

    fn build(&self) -> ureq::Request {
        let mut r = self.reg.agent.request(&self.method, &self.url);
        if let Some((u, p)) = &self.auth {
            r = r.set(
                "Authorization",
                &format!("Basic {}", base64(format!("{u}:{p}").as_bytes())),
            );
        }
        for (k, v) in &self.headers {
            r = r.set(k, v);
        }
        if let Some(limit) = self.timeout {
            r = r.timeout(limit);
        }
        r
    }

    fn outcome(&self, res: Result<ureq::Response, ureq::Error>) -> ureq::Response {
        match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                panic!("{} {}: transport error: {t}", self.method, self.url)
            }
        }
    }

    fn into_resp(self, r: ureq::Response) -> Resp {
        let mut resp = Resp {
            method: self.method,
            url: self.url,
            status: r.status(),
            headers: collect_headers(&r),
            body: Vec::new(),
        };
        if resp.method != "HEAD" {
            if let Err(e) = r.into_reader().read_to_end(&mut resp.body) {
                // `resp` holds what arrived before the error.
                panic!("reading the response body failed ({e}); Content-Length wrong?\n{resp:?}");
            }
        }
        resp
    }

    /// Sends without a body (`Content-Length: 0` for POST/PUT/PATCH).
    pub fn call(self) -> Resp {
        self.sent(|r| {
            let res = match r.method.as_str() {
                "POST" | "PUT" | "PATCH" => r.build().send_bytes(&[]),
                _ => r.build().call(),
            };
            r.outcome(res)
        })
    }

    /// Sends `body` with its `Content-Length`.
    pub fn bytes(self, body: &[u8]) -> Resp {
        self.sent(|r| r.outcome(r.build().send_bytes(body)))
    }

    /// The response to `send`, sent once more when wrangler dev's proxy answered
    /// that the local runtime restarted under the request: the proxy retries only
    /// GET and HEAD itself, and Tollgate never sends that answer.
    fn sent(self, send: impl Fn(&Self) -> ureq::Response) -> Resp {
        let first = send(&self);
        let restarted = first.status() == 503
            && first.header("Retry-After") == Some("0")
            && first.content_type() == "text/plain";
        if !restarted {
            return self.into_resp(first);
        }
        let headers = collect_headers(&first);
        let text = first.into_string().unwrap_or_default();
        if text.starts_with("Your worker restarted mid-request") {
            eprintln!(
                "{} {}: wrangler dev's runtime restarted under it; sent once more",
                self.method, self.url
            );
            let again = send(&self);
            return self.into_resp(again);
        }
        Resp {
            method: self.method,
            url: self.url,
            status: 503,
            headers,
            body: text.into_bytes(),
        }
    }

    /// Sends blob bytes, typed `application/octet-stream` as clients send them.
    pub fn octets(self, data: &[u8]) -> Resp {
        self.header("Content-Type", "application/octet-stream")
            .bytes(data)
    }

    /// Streams `body`; with `len` as `Content-Length`, else chunked (no `Content-Length`).
    pub fn reader(self, body: impl Read, len: Option<u64>) -> Resp {
        let mut req = self.build();
        if let Some(n) = len {
            req = req.set("Content-Length", &n.to_string());
        }
        let res = req.send(body);
        let r = self.outcome(res);
        self.into_resp(r)
    }

    /// Sends without a body and returns the body unread.
    pub fn stream(self) -> StreamResp {
        let res = self.build().call();
        let r = self.outcome(res);
        StreamResp::of(r)
    }

    /// Like [`Req::stream`], but a transport failure (a timeout, a dropped
    /// connection) is an error to handle rather than a panic.
    pub fn try_stream(self) -> Result<StreamResp, String> {
        match self.build().call() {
            Ok(r) | Err(ureq::Error::Status(_, r)) => Ok(StreamResp::of(r)),
            Err(ureq::Error::Transport(t)) => Err(format!("{} {}: {t}", self.method, self.url)),
        }
    }
}

/// Appends `k=v` to a URL's query (Location headers may already carry one).
pub fn with_query(url: &str, kv: &str) -> String {
    if url.contains('?') {
        format!("{url}&{kv}")
    } else {
        format!("{url}?{kv}")
    }
}

// ---------------------------------------------------------------------------------------
// Registry-level helpers: blobs, manifests, images
// ---------------------------------------------------------------------------------------

/// `/v2/<repo>/blobs/<digest>`
pub fn blob_path(repo: &str, digest: &str) -> String {
    format!("/v2/{repo}/blobs/{digest}")
}

/// `/v2/<repo>/manifests/<reference>`
pub fn manifest_path(repo: &str, reference: &str) -> String {
    format!("/v2/{repo}/manifests/{reference}")
}

/// `/v2/<repo>/blobs/uploads/`, where upload sessions start.
pub fn uploads_path(repo: &str) -> String {
    format!("/v2/{repo}/blobs/uploads/")
}

/// `/v2/<repo>/referrers/<digest>`
pub fn referrers_path(repo: &str, digest: &str) -> String {
    format!("/v2/{repo}/referrers/{digest}")
}

/// An OCI content descriptor.
#[derive(Clone, Debug)]
pub struct Desc {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

impl Desc {
    pub fn of(media_type: &str, data: &[u8]) -> Desc {
        Desc {
            media_type: media_type.to_string(),
            digest: sha256_digest(data),
            size: data.len() as u64,
        }
    }
    pub fn json(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }
}

/// The canonical empty config blob `{}` and its descriptor.
pub const EMPTY_JSON: &[u8] = b"{}";

/// A manifest pushed by [`Registry::push_image`].
#[derive(Clone, Debug)]
pub struct Image {
    pub repo: String,
    pub manifest: Vec<u8>,
    pub desc: Desc,
    pub config: Desc,
    pub layers: Vec<Desc>,
}

impl Image {
    pub fn digest(&self) -> &str {
        &self.desc.digest
    }
}

impl Registry {
    /// `http://host/v2/<repo>/<rest>` path helper.
    pub fn v2(&self, repo: &str, rest: &str) -> String {
        format!("/v2/{repo}/{rest}")
    }

    /// Opens an upload session in `repo`, asserting `202 Accepted`; returns its absolute
    /// Location.
    #[track_caller]
    pub fn start_upload(&self, repo: &str) -> String {
        let r = self.post(&uploads_path(repo)).call();
        r.expect(202);
        self.abs(r.must_header("Location"))
    }

    /// The `PUT ?digest=` that closes the upload session at `loc`, to send with or
    /// without a last chunk.
    pub fn finish_upload(&self, loc: &str, digest: &str) -> Req<'_> {
        self.put(&with_query(loc, &format!("digest={digest}")))
    }

    /// Uploads `data` with `POST` + `PUT ?digest=<digest>`, the digest as claimed (maybe
    /// wrongly); returns the PUT's answer unjudged.
    pub fn upload_blob(&self, repo: &str, digest: &str, data: &[u8]) -> Resp {
        let loc = self.start_upload(repo);
        self.finish_upload(&loc, digest).octets(data)
    }

    /// Pushes a blob with `POST` + `PUT ?digest=`, asserting success; returns its digest.
    pub fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256_digest(data);
        self.upload_blob(repo, &digest, data).expect(201);
        digest
    }

    /// GETs bytes `range` (`bytes=<start>-<end>`) of a blob.
    pub fn get_blob_range(&self, repo: &str, digest: &str, range: &str) -> Resp {
        self.get(&blob_path(repo, digest))
            .header("Range", range)
            .call()
    }

    /// PUTs a manifest; returns the answer unjudged.
    pub fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, body: &[u8]) -> Resp {
        self.put(&manifest_path(repo, reference))
            .header("Content-Type", media_type)
            .bytes(body)
    }

    /// Pushes a manifest, asserting `201 Created`.
    pub fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Resp {
        let r = self.put_manifest(repo, reference, media_type, body);
        r.expect(201);
        r
    }

    /// GET a manifest with an `Accept` header for every type.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Resp {
        self.get(&manifest_path(repo, reference))
            .header("Accept", MANIFEST_ACCEPT)
            .call()
    }

    /// GETs the manifest at `reference`, asserting `200 OK` and that it is `digest`;
    /// returns the response for further checks.
    #[track_caller]
    pub fn assert_manifest_digest(&self, repo: &str, reference: &str, digest: &str) -> Resp {
        let r = self.get_manifest(repo, reference);
        r.expect(200);
        assert_eq!(r.must_header("Docker-Content-Digest"), digest);
        r
    }

    /// Pushes a single-layer OCI image whose layer is a `tar+gzip` of `files` (path,
    /// content), for `arch`, tagged `tag` (by digest when `tag` is empty).
    pub fn push_image_files(
        &self,
        repo: &str,
        tag: &str,
        arch: &str,
        files: &[(&str, &[u8])],
    ) -> Image {
        let (layer, diff_id) = targz_layer(files);
        self.push_image_layers(repo, tag, arch, &[(OCI_LAYER_GZIP, layer, diff_id)])
    }

    /// Pushes an OCI image with the given layers: (media type, bytes, diff id).
    pub fn push_image_layers(
        &self,
        repo: &str,
        tag: &str,
        arch: &str,
        layers: &[(&str, Vec<u8>, String)],
    ) -> Image {
        let mut descs = Vec::new();
        for (media_type, bytes, _) in layers {
            self.push_blob(repo, bytes);
            descs.push(Desc::of(media_type, bytes));
        }
        let diff_ids: Vec<String> = layers.iter().map(|l| l.2.clone()).collect();
        let config = image_config(arch, &diff_ids);
        self.push_blob(repo, &config);
        let config_desc = Desc::of(OCI_CONFIG, &config);
        let manifest = oci_manifest(&config_desc, &descs, None);
        let desc = Desc::of(OCI_MANIFEST, &manifest);
        let reference = if tag.is_empty() {
            desc.digest.clone()
        } else {
            tag.to_string()
        };
        let r = self.push_manifest(repo, &reference, OCI_MANIFEST, &manifest);
        assert_eq!(
            r.header("Docker-Content-Digest"),
            Some(desc.digest.as_str()),
            "{r:?}"
        );
        Image {
            repo: repo.to_string(),
            manifest,
            desc,
            config: config_desc,
            layers: descs,
        }
    }

    /// Pushes `len` PRNG bytes to `repo` in one streamed PATCH, never held in
    /// memory; returns their digest.
    pub fn push_prng_blob(&self, repo: &str, len: u64) -> String {
        let seed = random_u64();
        let digest = prng_digest(seed, len);
        let r = self
            .patch(&self.start_upload(repo))
            .header("Content-Type", "application/octet-stream")
            .reader(PrngReader::new(seed, len), None);
        r.expect(202);
        self.finish_upload(&r.location(), &digest)
            .call()
            .expect(201);
        digest
    }

    /// Pushes a small random single-layer image.
    pub fn push_random_image(&self, repo: &str, tag: &str) -> Image {
        let data = random_bytes(512);
        self.push_image_files(repo, tag, "amd64", &[("data/random.bin", &data)])
    }

    /// `tags/list` with every page followed.
    pub fn all_tags(&self, repo: &str) -> Vec<String> {
        let mut url = self.abs(&self.v2(repo, "tags/list"));
        let mut tags = Vec::new();
        for _ in 0..10_000 {
            let r = self.get(&url).call();
            r.expect(200);
            let v = r.json();
            for t in v["tags"].as_array().cloned().unwrap_or_default() {
                tags.push(t.as_str().unwrap().to_string());
            }
            match r.next_link() {
                Some(next) => url = next,
                None => return tags,
            }
        }
        panic!("tags/list pagination of {repo} does not end");
    }
}

/// An OCI image config for `arch` with the given layer diff ids.
pub fn image_config(arch: &str, diff_ids: &[String]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "tollgate-e2e"}],
    }))
    .unwrap()
}

/// An OCI image manifest; `extra` fields (artifactType, subject, annotations) are merged in.
pub fn oci_manifest(config: &Desc, layers: &[Desc], extra: Option<Value>) -> Vec<u8> {
    let mut m = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.json(),
        "layers": layers.iter().map(Desc::json).collect::<Vec<_>>(),
    });
    if let Some(Value::Object(extra)) = extra {
        for (k, v) in extra {
            m[k] = v;
        }
    }
    serde_json::to_vec_pretty(&m).unwrap()
}

// ---------------------------------------------------------------------------------------
// Tar (ustar) writer, enough for image layers
// ---------------------------------------------------------------------------------------

/// A minimal ustar writer: directories and regular files, streamed.
pub struct Tar<W: Write> {
    w: W,
    dirs: Vec<String>,
}

impl<W: Write> Tar<W> {
    pub fn new(w: W) -> Self {
        Tar {
            w,
            dirs: Vec::new(),
        }
    }

    fn header(path: &str, size: u64, mode: u32, typeflag: u8) -> [u8; 512] {
        let mut h = [0u8; 512];
        let (prefix, name) = if path.len() <= 100 {
            ("", path)
        } else {
            let split = path[..path.len().min(155)]
                .rfind('/')
                .expect("tar path too long");
            (&path[..split], &path[split + 1..])
        };
        assert!(
            name.len() <= 100 && prefix.len() <= 155,
            "tar path too long: {path}"
        );
        h[..name.len()].copy_from_slice(name.as_bytes());
        let octal = |h: &mut [u8; 512], off: usize, len: usize, v: u64| {
            let s = format!("{:0width$o}", v, width = len - 1);
            h[off..off + len - 1].copy_from_slice(s.as_bytes());
        };
        octal(&mut h, 100, 8, u64::from(mode));
        octal(&mut h, 108, 8, 0);
        octal(&mut h, 116, 8, 0);
        octal(&mut h, 124, 12, size);
        octal(&mut h, 136, 12, 1_700_000_000);
        h[156] = typeflag;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[265..269].copy_from_slice(b"root");
        h[297..301].copy_from_slice(b"root");
        h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        h
    }

    /// Adds a directory entry (`path` without a trailing slash).
    pub fn add_dir(&mut self, path: &str) {
        let p = format!("{}/", path.trim_end_matches('/'));
        if self.dirs.contains(&p) {
            return;
        }
        self.w.write_all(&Self::header(&p, 0, 0o755, b'5')).unwrap();
        self.dirs.push(p);
    }

    /// Adds directory entries for every parent of `path`.
    pub fn add_parents(&mut self, path: &str) {
        let parts: Vec<&str> = path.split('/').collect();
        for i in 1..parts.len() {
            self.add_dir(&parts[..i].join("/"));
        }
    }

    pub fn add_file(&mut self, path: &str, data: &[u8]) {
        self.add_file_reader(path, data.len() as u64, data);
    }

    /// Adds a regular file of `size` bytes read from `r`.
    pub fn add_file_reader(&mut self, path: &str, size: u64, mut r: impl Read) {
        self.w
            .write_all(&Self::header(path, size, 0o644, b'0'))
            .unwrap();
        let n = io::copy(&mut (&mut r).take(size), &mut self.w).unwrap();
        assert_eq!(n, size, "short reader for tar entry {path}");
        let pad = (512 - (size % 512) as usize) % 512;
        self.w.write_all(&vec![0u8; pad]).unwrap();
    }

    /// Writes the end-of-archive marker and returns the writer.
    pub fn finish(mut self) -> W {
        self.w.write_all(&[0u8; 1024]).unwrap();
        self.w.flush().unwrap();
        self.w
    }
}

// ---------------------------------------------------------------------------------------
// gzip (stored blocks): real `tar+gzip` layers without a compression library
// ---------------------------------------------------------------------------------------

fn crc32_table() -> &'static [u32; 256] {
    static T: OnceLock<[u32; 256]> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    })
}

/// A gzip writer that emits deflate "stored" (uncompressed) blocks: a valid gzip stream
/// every client decompresses, without pulling in a compression crate. Layers of random
/// data would not compress anyway.
pub struct GzipStored<W: Write> {
    w: W,
    buf: Vec<u8>,
    crc: u32,
    size: u32,
}

impl<W: Write> GzipStored<W> {
    pub fn new(mut w: W) -> Self {
        w.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])
            .unwrap();
        GzipStored {
            w,
            buf: Vec::with_capacity(65535),
            crc: 0xFFFF_FFFF,
            size: 0,
        }
    }

    fn flush_block(&mut self, last: bool) -> io::Result<()> {
        let len = self.buf.len() as u16;
        self.w.write_all(&[u8::from(last)])?;
        self.w.write_all(&len.to_le_bytes())?;
        self.w.write_all(&(!len).to_le_bytes())?;
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Ends the stream (final block, CRC32, size) and returns the writer.
    pub fn finish(mut self) -> W {
        self.flush_block(true).unwrap();
        self.w.write_all(&(!self.crc).to_le_bytes()).unwrap();
        self.w.write_all(&self.size.to_le_bytes()).unwrap();
        self.w.flush().unwrap();
        self.w
    }
}

impl<W: Write> Write for GzipStored<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(65535 - self.buf.len());
        let t = crc32_table();
        let mut c = self.crc;
        for &b in &data[..n] {
            c = t[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
        }
        self.crc = c;
        self.size = self.size.wrapping_add(n as u32);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == 65535 {
            self.flush_block(false)?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A `tar+gzip` layer in memory holding `files`; returns (layer bytes, diff id).
pub fn targz_layer(files: &[(&str, &[u8])]) -> (Vec<u8>, String) {
    let mut tar = Tar::new(Vec::new());
    for (path, data) in files {
        tar.add_parents(path);
        tar.add_file(path, data);
    }
    let tar = tar.finish();
    let diff_id = sha256_digest(&tar);
    let mut gz = GzipStored::new(Vec::new());
    gz.write_all(&tar).unwrap();
    (gz.finish(), diff_id)
}

// ---------------------------------------------------------------------------------------
// OCI image layout on disk (for skopeo/oras/regctl `oci:` sources)
// ---------------------------------------------------------------------------------------

pub struct OciLayout {
    pub root: PathBuf,
}

impl OciLayout {
    pub fn create(root: &Path) -> OciLayout {
        fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        fs::write(
            root.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        OciLayout {
            root: root.to_path_buf(),
        }
    }

    pub fn open(root: &Path) -> OciLayout {
        assert!(
            root.join("oci-layout").is_file(),
            "{} is not an OCI layout",
            root.display()
        );
        OciLayout {
            root: root.to_path_buf(),
        }
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let (alg, hex) = digest.split_once(':').expect("digest");
        self.root.join("blobs").join(alg).join(hex)
    }

    pub fn add_bytes(&self, media_type: &str, data: &[u8]) -> Desc {
        let d = Desc::of(media_type, data);
        fs::write(self.blob_path(&d.digest), data).unwrap();
        d
    }

    /// Moves `file` into the layout as a blob.
    pub fn add_file(&self, media_type: &str, file: &Path) -> Desc {
        let (digest, size) = sha256_file(file);
        fs::rename(file, self.blob_path(&digest)).unwrap();
        Desc {
            media_type: media_type.to_string(),
            digest,
            size,
        }
    }

    /// Writes `index.json` listing `manifests`, each with an optional ref name (tag).
    pub fn write_index(&self, manifests: &[(Desc, Option<&str>)]) {
        let list: Vec<Value> = manifests
            .iter()
            .map(|(d, tag)| {
                let mut v = d.json();
                if let Some(t) = tag {
                    v["annotations"] = json!({"org.opencontainers.image.ref.name": t});
                }
                v
            })
            .collect();
        let idx = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list});
        fs::write(
            self.root.join("index.json"),
            serde_json::to_vec_pretty(&idx).unwrap(),
        )
        .unwrap();
    }

    pub fn index(&self) -> Value {
        serde_json::from_slice(&fs::read(self.root.join("index.json")).unwrap()).unwrap()
    }

    pub fn read_json(&self, digest: &str) -> Value {
        serde_json::from_slice(&fs::read(self.blob_path(digest)).unwrap()).unwrap()
    }
}

// ---------------------------------------------------------------------------------------
// Temporary directories and sandboxed CLI runs
// ---------------------------------------------------------------------------------------

/// A directory removed on drop (kept when `TOLLGATE_E2E_KEEP` is set, for debugging).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let base = std::env::var_os("TOLLGATE_E2E_TMP")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("tollgate-e2e"));
        let path = base.join(format!("{label}-{}", random_hex(8)));
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        TempDir { path }
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("TOLLGATE_E2E_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Directory holding the client binaries scripts/install-test-tools.sh installs:
/// `$TOLLGATE_TOOLS_DIR/bin`, by default `~/.cache/tollgate/tools/bin`.
pub fn tools_bin() -> PathBuf {
    let dir = match std::env::var_os("TOLLGATE_TOOLS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache")
                });
            cache.join("tollgate/tools")
        }
    };
    dir.join("bin")
}

/// `PATH` with the project's tools directory first.
pub fn tools_path() -> OsString {
    let mut paths = vec![tools_bin()];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(paths).unwrap()
}

/// Finds `program` on the tools PATH or fails the test saying it is missing.
pub fn require_tool(program: &str) -> PathBuf {
    for dir in std::env::split_paths(&tools_path()) {
        let p = dir.join(program);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "client `{program}` is not installed (looked in {} and PATH); run scripts/install-test-tools.sh",
        tools_bin().display()
    );
}

/// Outcome of a CLI run.
pub struct Run {
    pub cmdline: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$ {}\n-> {} after {:.1?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmdline,
            self.status,
            self.elapsed,
            tail(&self.stdout, 6000),
            tail(&self.stderr, 6000)
        )
    }
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self:?}"))
    }
}

fn tail(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut i = s.len() - n;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    // Never print the password in a failure message.
    let pw = &registry().password;
    if !pw.is_empty() {
        s = s.replace(pw.as_str(), "***");
    }
    s
}

/// Runs `cmd` with `stdin` (if any), capturing output, killing it after `timeout`.
pub fn run_command(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> Run {
    let cmdline = describe(cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{cmdline}`: {e}"));
    if let Some(input) = stdin {
        let mut si = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = si.write_all(&input);
        });
    }
    // Both pipes are drained while the command runs, or a full one would block it.
    let t_out = read_to_end_in_thread(child.stdout.take().unwrap());
    let t_err = read_to_end_in_thread(child.stderr.take().unwrap());
    let (status, timed_out) = wait_or_kill(&mut child, start, timeout);
    let run = Run {
        cmdline,
        status,
        stdout: String::from_utf8_lossy(&t_out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap()).into_owned(),
        elapsed: start.elapsed(),
    };
    if timed_out {
        panic!("command timed out after {timeout:?}:\n{run:?}");
    }
    run
}

fn read_to_end_in_thread(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        v
    })
}

/// Waits for `child`, killing it once `timeout` has passed since `start`; returns its
/// exit status and whether it was killed.
fn wait_or_kill(
    child: &mut std::process::Child,
    start: Instant,
    timeout: Duration,
) -> (ExitStatus, bool) {
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return (s, false);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            return (child.wait().unwrap(), true);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A per-test client environment: its own HOME, XDG dirs, docker/containers auth files and
/// temp dir, so clients running in parallel never share state.
pub struct Sandbox {
    pub dir: TempDir,
    envs: Vec<(String, OsString)>,
    pub timeout: Duration,
}

impl Sandbox {
    pub fn new(label: &str) -> Sandbox {
        let dir = TempDir::new(label);
        let p = |s: &str| {
            let d = dir.join(s);
            fs::create_dir_all(&d).unwrap();
            d
        };
        let home = p("home");
        let runtime = p("run");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
        }
        let envs = vec![
            ("HOME".to_string(), home.clone().into_os_string()),
            (
                "DOCKER_CONFIG".to_string(),
                p("home/.docker").into_os_string(),
            ),
            (
                "REGISTRY_AUTH_FILE".to_string(),
                home.join("auth.json").into_os_string(),
            ),
            (
                "XDG_CONFIG_HOME".to_string(),
                p("home/.config").into_os_string(),
            ),
            (
                "XDG_DATA_HOME".to_string(),
                p("home/.local/share").into_os_string(),
            ),
            (
                "XDG_CACHE_HOME".to_string(),
                p("home/.cache").into_os_string(),
            ),
            ("XDG_RUNTIME_DIR".to_string(), runtime.into_os_string()),
            ("TMPDIR".to_string(), p("tmp").into_os_string()),
            ("PATH".to_string(), tools_path()),
            ("NO_COLOR".to_string(), "1".into()),
        ];
        p("work");
        // Empty auth files: clients must not find credentials they were not given
        // (and containers tools refuse a REGISTRY_AUTH_FILE that does not exist).
        fs::write(home.join(".docker/config.json"), b"{\"auths\":{}}").unwrap();
        fs::write(home.join("auth.json"), b"{\"auths\":{}}").unwrap();
        Sandbox {
            dir,
            envs,
            timeout: Duration::from_secs(900),
        }
    }

    /// A path inside the sandbox.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// The working directory commands run in.
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }

    /// Sets an environment variable for every later command.
    pub fn env(&mut self, k: &str, v: impl Into<OsString>) {
        self.envs.retain(|(n, _)| n != k);
        self.envs.push((k.to_string(), v.into()));
    }

    /// A command for `program` (which must be installed) with the sandbox environment.
    pub fn cmd(&self, program: &str) -> Command {
        let exe = require_tool(program);
        let mut c = Command::new(exe);
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c.current_dir(self.work());
        c
    }

    /// [`Sandbox::cmd`] with `args`.
    pub fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut c = self.cmd(program);
        c.args(args);
        c
    }

    /// skopeo copies `src` (every platform, digests kept) to `dest` (`repo:tag`)
    /// in the registry `to`, logged in as its user.
    #[track_caller]
    pub fn skopeo_copy_to(&self, src: &str, to: &Registry, dest: &str) -> Run {
        let creds = format!("{}:{}", to.user, to.password);
        let dest = format!("docker://{}/{dest}", to.host);
        let args = [
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            src,
            &dest,
        ];
        self.run("skopeo", &args)
    }

    /// Runs `program args…`, asserting it exits 0; returns its output.
    #[track_caller]
    pub fn run(&self, program: &str, args: &[&str]) -> Run {
        self.run_cmd(&mut self.command(program, args), None)
    }

    /// Runs `program args…` fed `stdin`, asserting it exits 0. Logins take the password
    /// this way so that it never appears in a command line.
    #[track_caller]
    pub fn run_with_stdin(&self, program: &str, args: &[&str], stdin: &[u8]) -> Run {
        self.run_cmd(&mut self.command(program, args), Some(stdin))
    }

    /// Runs a prepared command (optionally feeding `stdin`), asserting it exits 0.
    #[track_caller]
    pub fn run_cmd(&self, cmd: &mut Command, stdin: Option<&[u8]>) -> Run {
        let r = run_command(cmd, stdin, self.timeout);
        assert!(r.status.success(), "command failed:\n{r:?}");
        r
    }

    /// Runs `program args…` without judging its exit status.
    pub fn try_run(&self, program: &str, args: &[&str]) -> Run {
        run_command(&mut self.command(program, args), None, self.timeout)
    }

    /// Writes the registry's credentials into the sandbox's docker config and containers
    /// auth file (read by crane, oras, regctl, cosign, syft, skopeo, podman, buildah).
    pub fn write_registry_auth(&self) {
        let r = registry();
        self.write_registry_auth_as(&r.user, &r.password);
    }

    /// `podman` or `buildah` with this sandbox's own containers storage (vfs, as root
    /// without a Docker engine) and podman's settings for running without systemd.
    pub fn containers_cmd(&self, program: &str) -> Command {
        let mut c = self.cmd(program);
        c.args(["--root", &self.path("storage").display().to_string()])
            .args(["--runroot", &self.path("runroot").display().to_string()])
            .args(["--storage-driver", "vfs"]);
        if program == "podman" {
            c.args([
                "--events-backend",
                "file",
                "--cgroup-manager",
                "cgroupfs",
                "--tmpdir",
            ])
            .arg(self.path("podman-tmp"));
        }
        c
    }

    /// Like [`Sandbox::write_registry_auth`], for another account.
    pub fn write_registry_auth_as(&self, user: &str, password: &str) {
        let r = registry();
        let creds = format!("{user}:{password}");
        let cfg = json!({"auths": {r.host.as_str(): {"auth": base64(creds.as_bytes())}}});
        let bytes = serde_json::to_vec_pretty(&cfg).unwrap();
        fs::write(self.path("home/.docker/config.json"), &bytes).unwrap();
        fs::write(self.path("home/auth.json"), &bytes).unwrap();
    }

    /// `oras login` as the registry's user, asserting it exits 0 (the oras tests, and the
    /// syft test to attach its SBOM).
    #[track_caller]
    pub fn oras_login(&self) -> Run {
        let r = registry();
        self.run_with_stdin(
            "oras",
            &[
                "login",
                "--plain-http",
                "-u",
                &r.user,
                "--password-stdin",
                &r.host,
            ],
            r.password.as_bytes(),
        )
    }
}

/// A sandbox where crane is logged in to the registry as the admin.
pub fn crane_logged_in(label: &str) -> Sandbox {
    let reg = registry();
    let sb = Sandbox::new(label);
    let args = [
        "auth",
        "login",
        &reg.host,
        "-u",
        &reg.user,
        "--password-stdin",
    ];
    sb.run_with_stdin("crane", &args, reg.password.as_bytes());
    sb
}

/// A sandbox where regctl talks plain HTTP to the registry and is logged in as the
/// admin.
pub fn regctl_logged_in(label: &str) -> Sandbox {
    let reg = registry();
    let sb = Sandbox::new(label);
    regctl_login(&sb, &reg.user, reg.password.as_bytes());
    sb
}

/// Has regctl in `sb` talk plain HTTP to the registry and log in as `user` with
/// `secret`. `registry set` pings the registry and fails on its 401 unless told not
/// to check: credentials only come with the login that follows.
pub fn regctl_login(sb: &Sandbox, user: &str, secret: &[u8]) {
    regctl_login_to(sb, &registry().host, user, secret);
}

/// [`regctl_login`] to the registry at `host` (plain HTTP).
pub fn regctl_login_to(sb: &Sandbox, host: &str, user: &str, secret: &[u8]) {
    let set = ["registry", "set", "--tls", "disabled", "--skip-check", host];
    sb.run("regctl", &set);
    let login = ["registry", "login", host, "-u", user, "--pass-stdin"];
    sb.run_with_stdin("regctl", &login, secret);
}

/// The flags cosign needs against the test registry, which speaks plain HTTP.
pub const COSIGN_REGISTRY_FLAGS: [&str; 2] = ["--allow-http-registry", "--allow-insecure-registry"];

/// Signs `target` with the key pair in `sb`'s work directory (`cosign.key`), offline,
/// with the flags only some cosign versions know chosen from `cosign sign --help`.
pub fn cosign_sign(sb: &Sandbox, target: &str) {
    let help = sb.run("cosign", &["sign", "--help"]).stdout;
    let mut args = vec![
        "sign",
        "--key",
        "cosign.key",
        "--tlog-upload=false",
        "--yes",
    ];
    args.extend(COSIGN_REGISTRY_FLAGS);
    // cosign 3 fetches a signing config from Sigstore's TUF repository by default (no
    // network here); without it, `--tlog-upload=false` keeps Rekor out (deprecated in 3,
    // still honoured).
    if help.contains("--use-signing-config") {
        args.push("--use-signing-config=false");
    }
    args.push(target);
    sb.run("cosign", &args);
}

/// A sandbox logged in to the test registry with a cosign key pair (`cosign.key`,
/// `cosign.pub`) under `password`, for [`cosign_sign`].
pub fn cosign_keys(label: &str, password: &str) -> Sandbox {
    let mut sb = Sandbox::new(label);
    sb.write_registry_auth();
    sb.env("COSIGN_PASSWORD", password);
    sb.env("TUF_ROOT", sb.path("home/.sigstore/root"));
    sb.run("cosign", &["generate-key-pair"]);
    sb
}

/// The digests of `repo:reference`'s manifest and, for an index, of its children,
/// each of which must be there.
pub fn manifest_tree(repo: &str, reference: &str) -> Vec<String> {
    manifest_tree_in(registry(), repo, reference)
}

/// [`manifest_tree`] in the registry `reg`.
pub fn manifest_tree_in(reg: &Registry, repo: &str, reference: &str) -> Vec<String> {
    let r = reg.get_manifest(repo, reference);
    r.expect(200);
    let mut out = vec![r.must_header("Docker-Content-Digest").to_string()];
    if let Some(children) = r.json()["manifests"].as_array() {
        for c in children {
            let d = c["digest"].as_str().unwrap();
            reg.get_manifest(repo, d).expect(200);
            out.push(d.to_string());
        }
    }
    out
}

/// Unpacks the tar `file` into `dir`.
pub fn untar(file: &Path, dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let ok = Command::new("tar")
        .arg("-xf")
        .arg(file)
        .arg("-C")
        .arg(dir)
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Runs the scheduled job `cron` triggers (src/scheduled.rs) once, to its end,
/// the way wrangler dev lets a test: `GET /__scheduled`, served with
/// `--test-scheduled`.
pub fn run_scheduled(cron: &str) {
    let query = cron
        .replace('*', "%2A")
        .replace('/', "%2F")
        .replace(' ', "+");
    let r = registry()
        .get(&format!("/__scheduled?cron={query}"))
        .no_auth()
        .call();
    r.expect(200);
    assert!(
        r.text().contains("Ran scheduled event"),
        "not wrangler's scheduled trigger (is wrangler dev run with --test-scheduled?):\n{r:?}"
    );
}

/// A free loopback port.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts the reference registry (CNCF distribution, htpasswd auth for `user` and
/// `password`, its access log on) on `port` with its data in `data`
/// (scripts/start-reference-registry.sh); returns its PID.
pub fn start_reference_registry(port: u16, user: &str, password: &str, data: &Path) -> String {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/start-reference-registry.sh"
    );
    let out = Command::new(script)
        .args([
            &port.to_string(),
            user,
            password,
            &data.display().to_string(),
        ])
        .env("REGISTRY_ACCESS_LOG", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `host:port/<repo>:<tag>` (or `@digest` when `reference` starts with `sha256:`).
pub fn image_ref(repo: &str, reference: &str) -> String {
    let sep = if reference.contains(':') { '@' } else { ':' };
    format!("{}/{}{}{}", registry().host, repo, sep, reference)
}

#[cfg(test)]
mod tests {
    //! Self-tests of the helpers (no registry needed).
    use super::*;

    #[test]
    fn base64_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pa55"), "dXNlcjpwYTU1");
    }

    #[test]
    fn prng_is_deterministic_whatever_the_read_sizes() {
        let mut a = vec![0u8; 100_003];
        PrngReader::new(7, a.len() as u64)
            .read_exact(&mut a)
            .unwrap();
        let mut b = vec![0u8; a.len()];
        let mut r = PrngReader::new(7, b.len() as u64);
        let (mut off, mut k) = (0, 1);
        while off < b.len() {
            let end = (off + k).min(b.len());
            off += r.read(&mut b[off..end]).unwrap();
            k = k * 7 % 9001 + 1;
        }
        assert_eq!(a, b);
        let mut c = vec![0u8; a.len()];
        PrngReader::new(8, c.len() as u64)
            .read_exact(&mut c)
            .unwrap();
        assert_ne!(a, c);
        // Reads stop at the length.
        let mut all = Vec::new();
        PrngReader::new(1, 10).read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 10);
        // skip() resumes at the same place.
        let mut g = PrngReader::new(7, a.len() as u64);
        g.skip(50_000);
        let mut tail = vec![0u8; 100];
        g.read_exact(&mut tail).unwrap();
        assert_eq!(tail, &a[50_000..50_100]);
    }

    #[test]
    fn stream_hash_matches_in_process_hash() {
        let data = random_bytes(3 * 1024 * 1024 + 1);
        assert_eq!(
            sha256_stream(&data[..]).unwrap(),
            (sha256_digest(&data), data.len() as u64)
        );
        assert_eq!(
            sha256_digest(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn targz_layers_unpack_with_system_tar() {
        let long = format!("{}/file.txt", "d".repeat(120));
        let (layer, diff_id) = targz_layer(&[
            ("a/b/c.txt", b"hello"),
            (&long, b"long path"),
            ("empty", b""),
        ]);
        let dir = TempDir::new("selftest-tar");
        let path = dir.join("layer.tar.gz");
        fs::write(&path, &layer).unwrap();
        let out = Command::new("tar")
            .arg("-xzf")
            .arg(&path)
            .arg("-C")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(fs::read(dir.join("a/b/c.txt")).unwrap(), b"hello");
        assert_eq!(fs::read(dir.join(&long)).unwrap(), b"long path");
        assert_eq!(fs::read(dir.join("empty")).unwrap(), b"");
        let out = Command::new("gzip").arg("-dc").arg(&path).output().unwrap();
        assert!(out.status.success());
        assert_eq!(sha256_digest(&out.stdout), diff_id);
    }
}

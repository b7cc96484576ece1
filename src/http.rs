//! Small helpers for building responses and reading request headers (HTTP Basic
//! credentials among them) and queries.

use crate::request::Request;
use serde::Serialize;
use tollgate_core::oci::route;
use tollgate_core::{Error, Result};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::{web_sys, Headers, Method, Response, ResponseBody};

/// What a request is answered with, on its way to [`finish`].
pub enum Reply {
    /// A response the worker crate built.
    Built(Response),
    /// A small answer still in wasm memory, made into the runtime's response in
    /// one call, headers and all: a `worker::Response` makes a `Headers` object of
    /// its own, which the runtime's response then copies. The manifest GET, a
    /// pull's hot path, answers this way.
    Small {
        status: u16,
        /// Its headers as [`flat`] writes them.
        flat: String,
        body: Option<Vec<u8>>,
    },
}

impl Reply {
    /// `status` with the headers `pairs` and `body` (none for `None`).
    pub fn small(status: u16, pairs: &[(&str, &str)], body: Option<Vec<u8>>) -> Result<Reply> {
        match flat(pairs) {
            Some(flat) => Ok(Reply::Small { status, flat, body }),
            None => {
                let Some(bytes) = body else {
                    return empty(status, pairs).map(Reply::from);
                };
                let response = Response::from_bytes(bytes).map_err(crate::error::internal)?;
                Ok(response
                    .with_status(status)
                    .with_headers(headers(pairs))
                    .into())
            }
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Reply::Built(response) => response.status_code(),
            Reply::Small { status, .. } => *status,
        }
    }
}

impl From<Response> for Reply {
    fn from(response: Response) -> Self {
        Reply::Built(response)
    }
}

/// The header naming the registry API version. The spec asks it of the version
/// check (`GET /v2/`), answered or challenged, which is where clients look for it;
/// every OCI error carries it too (src/error.rs). Other answers leave it out: each
/// header costs every pull its share of CPU, at the edge and in the client.
pub const API_VERSION: (&str, &str) = ("Docker-Distribution-API-Version", "registry/2.0");

/// `value` as a strong entity tag: quoted, as RFC 9110 writes one.
pub fn entity_tag(value: &str) -> String {
    format!("\"{value}\"")
}

/// The response the runtime sends for `reply`, a registry one saying what it
/// cost (`server_timing`). Made in one call into the runtime, where building it
/// field by field took a tenth of a warm pull's CPU.
pub fn finish(reply: Reply, server_timing: Option<&str>) -> web_sys::Response {
    let pairs: Vec<_> = server_timing
        .map(|value| ("Server-Timing", value))
        .into_iter()
        .collect();
    let mut response = match reply {
        Reply::Built(response) => response,
        Reply::Small {
            status,
            flat: mut all,
            body,
        } => {
            // These values are this worker's own, with no line break.
            all.push_str(&flat(&pairs).unwrap_or_default());
            return match body {
                Some(bytes) => respond_small(status, &all, &bytes),
                None => respond(status, &Headers::new().0, &all, &JsValue::NULL),
            };
        }
    };
    let flat = flat_or_set(response.headers_mut(), &pairs);
    let (status, headers) = (response.status_code(), response.headers());
    match response.body() {
        ResponseBody::Body(bytes) => respond_bytes(status, &headers.0, &flat, bytes),
        ResponseBody::Stream(stream) => respond(status, &headers.0, &flat, stream),
        ResponseBody::Empty => respond(status, &headers.0, &flat, &JsValue::NULL),
    }
}

#[wasm_bindgen(module = "/src/js/headers.js")]
extern "C" {
    fn respond(
        status: u16,
        headers: &web_sys::Headers,
        flat: &str,
        body: &JsValue,
    ) -> web_sys::Response;

    #[wasm_bindgen(js_name = respondBytes)]
    fn respond_bytes(
        status: u16,
        headers: &web_sys::Headers,
        flat: &str,
        bytes: &[u8],
    ) -> web_sys::Response;

    #[wasm_bindgen(js_name = respondSmall)]
    fn respond_small(status: u16, flat: &str, bytes: &[u8]) -> web_sys::Response;

    #[wasm_bindgen(js_name = setAll)]
    fn set_all_of(headers: &web_sys::Headers, flat: &str);

    #[wasm_bindgen(js_name = headerValues)]
    fn header_values(headers: &web_sys::Headers, names: &str) -> String;
}

/// Headers from `(name, value)` pairs; the names are static.
pub fn headers(pairs: &[(&str, &str)]) -> Headers {
    let mut headers = Headers::new();
    set_all(&mut headers, pairs);
    headers
}

/// Sets `pairs` on `headers` in one call into the runtime: a call per header was
/// a twentieth of a warm pull's CPU.
fn set_all(headers: &mut Headers, pairs: &[(&str, &str)]) {
    let flat = flat_or_set(headers, pairs);
    if !flat.is_empty() {
        set_all_of(&headers.0, &flat);
    }
}

/// `pairs` as the one string the runtime's side reads (src/js/headers.js), or,
/// when a value holds a line break and so cannot be one, set one by one (the
/// runtime refuses such a value anyway) and nothing left to set.
fn flat_or_set(headers: &mut Headers, pairs: &[(&str, &str)]) -> String {
    flat(pairs).unwrap_or_else(|| {
        for (name, value) in pairs {
            let _ = headers.set(name, value);
        }
        String::new()
    })
}

/// `pairs` as one string, each name and value followed by a line break; `None`
/// when a value holds one.
fn flat(pairs: &[(&str, &str)]) -> Option<String> {
    if pairs.iter().any(|(_, value)| value.contains('\n')) {
        return None;
    }
    let mut flat = String::with_capacity(pairs.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
    for (name, value) in pairs {
        for part in [name, value] {
            flat.push_str(part);
            flat.push('\n');
        }
    }
    Some(flat)
}

/// The values of the request headers `names` (static names), read in one call
/// into the runtime, as [`header`] reads one.
pub fn header_list<const N: usize>(req: &Request, names: [&str; N]) -> [Option<String>; N] {
    let values = header_values(&req.headers().0, &names.join("\n"));
    let mut values = values.split('\n');
    names.map(|_| Some(values.next()?.strip_prefix('=')?.to_owned()))
}

/// A bodiless response.
pub fn empty(status: u16, pairs: &[(&str, &str)]) -> Result<Response> {
    Ok(Response::empty()
        .expect("empty body")
        .with_status(status)
        .with_headers(headers(pairs)))
}

pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response> {
    let body = serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))?;
    let response = Response::from_bytes(body).expect("byte body");
    Ok(response
        .with_status(status)
        .with_headers(headers(&[("Content-Type", "application/json")])))
}

/// The request's method as the core's `/v2/` rules tell methods apart.
pub fn method(method: &Method) -> route::Method {
    match method {
        Method::Get => route::Method::Get,
        Method::Head => route::Method::Head,
        Method::Post => route::Method::Post,
        Method::Put => route::Method::Put,
        Method::Patch => route::Method::Patch,
        Method::Delete => route::Method::Delete,
        _ => route::Method::Other,
    }
}

/// The `Range` of an upload that holds `offset` bytes: the inclusive range received.
pub fn received(offset: u64) -> String {
    format!("0-{}", offset.saturating_sub(1))
}

pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The client's country from the `CF-IPCountry` header Cloudflare's edge adds (ISO
/// 3166-1 alpha-2, or `T1` for Tor): `None` when the zone adds no location headers,
/// as under `wrangler dev`, or the country is unknown (`XX`).
pub fn country_of(value: &str) -> Option<String> {
    let valid = value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphanumeric());
    (valid && value != "XX").then(|| value.to_ascii_uppercase())
}

/// The data center that answered, the IATA code ending the `CF-Ray` id Cloudflare's
/// edge gives every request (`8d1c2b3a4f5e6d7c-FRA`); `None` without one.
pub fn colo_of(ray: &str) -> Option<String> {
    let (_, code) = ray.rsplit_once('-')?;
    let valid = code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic());
    valid.then(|| code.to_ascii_uppercase())
}

/// `Content-Length` when the client sent a valid one.
pub fn content_length(req: &Request) -> Option<u64> {
    header(req, "Content-Length").and_then(|v| v.trim().parse().ok())
}

/// The first value of query parameter `name`.
pub fn query(req: &Request, name: &str) -> Option<String> {
    let url = req.url().ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    header(req, "Cookie")?.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

/// The user and password an `Authorization: Basic` header carries.
#[derive(Debug, PartialEq, Eq)]
pub struct BasicCredentials {
    pub user: String,
    pub password: String,
}

/// The credentials in an `Authorization: Basic …` header value.
pub fn basic_credentials(authorization: &str) -> Option<BasicCredentials> {
    let (scheme, encoded) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some(BasicCredentials {
        user: user.to_owned(),
        password: password.to_owned(),
    })
}

/// Standard base64 with optional padding.
fn base64_decode(input: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a' + 26) as u32),
            b'0'..=b'9' => Some((c - b'0' + 52) as u32),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let trimmed = input.trim_end_matches('=');
    if input.len() - trimmed.len() > 2 || trimmed.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_pairs_that_hold_no_line_break() {
        let pairs = [("Content-Type", "a/b"), ("ETag", "sha256:1")];
        assert_eq!(
            flat(&pairs).as_deref(),
            Some("Content-Type\na/b\nETag\nsha256:1\n")
        );
        assert_eq!(flat(&[("X", "a\nb")]), None);
        assert_eq!(flat(&[]).as_deref(), Some(""));
    }

    #[test]
    fn reads_the_edge_location_headers() {
        assert_eq!(country_of("DE"), Some("DE".into()));
        assert_eq!(country_of("T1"), Some("T1".into()));
        assert_eq!(country_of("XX"), None, "unknown");
        assert_eq!(country_of("DEU"), None);
        assert_eq!(country_of(""), None);
        assert_eq!(colo_of("8d1c2b3a4f5e6d7c-FRA"), Some("FRA".into()));
        assert_eq!(colo_of("8d1c2b3a4f5e6d7c-sjc"), Some("SJC".into()));
        assert_eq!(colo_of("8d1c2b3a4f5e6d7c"), None, "no data center");
        assert_eq!(colo_of("8d1c2b3a4f5e6d7c-F1A"), None);
    }

    #[test]
    fn parses_basic_headers() {
        let pair = |user: &str, password: &str| BasicCredentials {
            user: user.into(),
            password: password.into(),
        };
        assert_eq!(
            basic_credentials("Basic YWRtaW46czNjcjN0"),
            Some(pair("admin", "s3cr3t"))
        );
        assert_eq!(basic_credentials("basic dTpwOmM="), Some(pair("u", "p:c")));
        assert_eq!(basic_credentials("Basic YQ=="), None, "no colon");
        assert_eq!(basic_credentials("Bearer YWRtaW46czNjcjN0"), None);
        assert_eq!(basic_credentials("Basic !!!!"), None);
        assert_eq!(basic_credentials("Basic Y"), None);
    }

    #[test]
    fn decodes_every_padding_length() {
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
        assert_eq!(base64_decode("YWJjZA").unwrap(), b"abcd");
        assert_eq!(base64_decode("").unwrap(), b"");
    }
}

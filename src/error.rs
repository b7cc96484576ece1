//! The one place where core errors become HTTP: on `/v2/` and `/token` the spec's
//! status for each code and its JSON error body (with the bearer challenge that
//! tells clients where to get a token); on `/api` RFC 9457 problem details.
//! No answer carries a Basic challenge: a browser would prompt for credentials on
//! one and then send them along with any request, a cross-site one too.

use serde_json::json;
use tollgate_core::Error;
use worker::{Headers, Response};

use crate::http::received;

/// The status the distribution spec gives each error.
fn status(error: &Error) -> u16 {
    match error {
        Error::BlobUnknown
        | Error::BlobUploadUnknown
        | Error::ManifestUnknown
        | Error::NameUnknown
        | Error::UnknownEndpoint => 404,
        Error::Unauthorized => 401,
        Error::Denied => 403,
        Error::ManifestTooLarge(_) => 413,
        Error::ChunkOutOfOrder { .. } | Error::RangeNotSatisfiable { .. } => 416,
        Error::TooManyRequests(_) => 429,
        Error::Invalid(_) => 400,
        Error::UnsupportedMediaType(_) => 415,
        Error::NotFound(_) => 404,
        Error::Conflict(_) => 409,
        Error::Refused(refusal) => refusal.status(),
        Error::MethodNotAllowed => 405,
        Error::Internal(_) => 500,
        Error::BlobUploadInvalid(_)
        | Error::DigestInvalid(_)
        | Error::ManifestBlobUnknown(_)
        | Error::ManifestInvalid(_)
        | Error::NameInvalid(_)
        | Error::SizeInvalid(_)
        | Error::Unsupported(_) => 400,
    }
}

/// What a client is told: internal failures are logged, not shown.
fn message(error: &Error) -> String {
    match error {
        Error::Internal(detail) => {
            worker::console_error!("internal error: {detail}");
            "internal error".to_string()
        }
        other => other.to_string(),
    }
}

/// The OCI error response for `error`, with the headers that belong to it.
pub fn response(error: &Error) -> Response {
    let message = message(error);
    let detail = match error {
        Error::ManifestBlobUnknown(digest) => json!({ "digest": digest }),
        _ => serde_json::Value::Null,
    };
    let body =
        json!({ "errors": [{ "code": error.code(), "message": message, "detail": detail }] });
    let headers = Headers::new();
    let _ = headers.set("Content-Type", "application/json");
    let _ = headers.set("Docker-Distribution-API-Version", "registry/2.0");
    match error {
        Error::ChunkOutOfOrder { offset } => {
            let _ = headers.set("Range", &received(*offset));
        }
        Error::RangeNotSatisfiable { size } => {
            let _ = headers.set("Content-Range", &format!("bytes */{size}"));
        }
        Error::TooManyRequests(seconds) => {
            let _ = headers.set("Retry-After", &seconds.to_string());
        }
        _ => {}
    }
    Response::from_bytes(body.to_string().into_bytes())
        .expect("a byte body is always accepted")
        .with_status(status(error))
        .with_headers(headers)
}

/// 401 on `/v2/`: where to get a bearer token (`realm`), for which `service`, and
/// the `scope` the request needs; `insufficient` when the token sent lacked it.
pub fn challenge(realm: &str, service: &str, scope: Option<&str>, insufficient: bool) -> Response {
    let mut value = format!(r#"Bearer realm="{realm}",service="{service}""#);
    if let Some(scope) = scope {
        value.push_str(&format!(r#",scope="{scope}""#));
    }
    if insufficient {
        value.push_str(r#",error="insufficient_scope""#);
    }
    let mut response = response(&Error::Unauthorized);
    let _ = response.headers_mut().set("WWW-Authenticate", &value);
    response
}

/// The problem-details response (RFC 9457) for `error` on the management API.
pub fn problem(error: &Error) -> Response {
    let status = status(error);
    let title = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        _ => "Internal Server Error",
    };
    let body = json!({ "type": "about:blank", "title": title, "status": status, "detail": message(error) });
    let headers = Headers::new();
    let _ = headers.set("Content-Type", "application/problem+json");
    if let Error::TooManyRequests(seconds) = error {
        let _ = headers.set("Retry-After", &seconds.to_string());
    }
    Response::from_bytes(body.to_string().into_bytes())
        .expect("a byte body is always accepted")
        .with_status(status)
        .with_headers(headers)
}

/// A failure of a binding, as a core error.
pub fn internal(e: worker::Error) -> Error {
    Error::Internal(e.to_string())
}

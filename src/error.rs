//! The one place where core errors become HTTP: on `/v2/` and `/token` the spec's
//! status for each code and its JSON error body (with the bearer challenge that
//! tells clients where to get a token); on `/api` RFC 9457 problem details.
//! No answer carries a Basic challenge: a browser would prompt for credentials on
//! one and then send them along with any request, a cross-site one too.

use serde_json::json;
use tollgate_core::error::Refusal;
use tollgate_core::Error;
use worker::{Headers, Response};

use crate::http::{received, API_VERSION};

/// The error table: each error's OCI error code and HTTP status (the spec's, on
/// `/v2/`), declared here once. On `/api` the problem type is `about:blank`, whose
/// title is the status's reason phrase ([`title`]).
fn answer(error: &Error) -> (&'static str, u16) {
    match error {
        Error::BlobUnknown => ("BLOB_UNKNOWN", 404),
        Error::BlobUploadInvalid(_) => ("BLOB_UPLOAD_INVALID", 400),
        Error::ChunkOutOfOrder { .. } => ("BLOB_UPLOAD_INVALID", 416),
        Error::BlobUploadUnknown => ("BLOB_UPLOAD_UNKNOWN", 404),
        Error::DigestInvalid(_) => ("DIGEST_INVALID", 400),
        Error::ManifestBlobUnknown(_) => ("MANIFEST_BLOB_UNKNOWN", 400),
        Error::ManifestInvalid(_) => ("MANIFEST_INVALID", 400),
        Error::ManifestUnknown => ("MANIFEST_UNKNOWN", 404),
        Error::NameInvalid(_) => ("NAME_INVALID", 400),
        Error::NameUnknown => ("NAME_UNKNOWN", 404),
        Error::SizeInvalid(_) => ("SIZE_INVALID", 400),
        Error::ManifestTooLarge(_) => ("SIZE_INVALID", 413),
        Error::RangeNotSatisfiable { .. } => ("RANGE_INVALID", 416),
        Error::Unauthorized => ("UNAUTHORIZED", 401),
        Error::Denied => ("DENIED", 403),
        Error::Unsupported(_) => ("UNSUPPORTED", 400),
        Error::MethodNotAllowed => ("UNSUPPORTED", 405),
        Error::UnknownEndpoint => ("UNSUPPORTED", 404),
        Error::TooManyRequests(_) => ("TOO_MANY_REQUESTS", 429),
        // The code the distribution spec gives a registry's rate limits.
        Error::CapReached { .. } => ("TOOMANYREQUESTS", 429),
        Error::Invalid(_) => ("UNSUPPORTED", 400),
        Error::UnsupportedMediaType(_) => ("UNSUPPORTED", 415),
        Error::NotFound(_) => ("UNSUPPORTED", 404),
        Error::Conflict(_) => ("UNSUPPORTED", 409),
        // The conformance suite expects UNSUPPORTED for a refused tag deletion (400).
        Error::Refused(Refusal::LastTag) => ("DENIED", 409),
        Error::Refused(_) => ("UNSUPPORTED", 400),
        // On `/api` too: a tag pushed as immutable is refused, not in conflict.
        Error::ImmutableTag(_) => ("DENIED", 403),
        // Distribution's code for a registry that cannot serve for now; 502: the
        // failure is the upstream's, behind this gateway.
        Error::Upstream(_) => ("UNAVAILABLE", 502),
        Error::Internal(_) => ("UNKNOWN", 500),
    }
}

/// The HTTP status of `error`, as the table gives it.
pub fn status(error: &Error) -> u16 {
    answer(error).1
}

/// The reason phrase of each status the table gives.
fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        _ => "Internal Server Error",
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
    let (code, status) = answer(error);
    let body = json!({ "errors": [{ "code": code, "message": message, "detail": detail }] });
    let headers = Headers::new();
    let _ = headers.set("Content-Type", "application/json");
    let _ = headers.set(API_VERSION.0, API_VERSION.1);
    match error {
        Error::ChunkOutOfOrder { offset } => {
            let _ = headers.set("Range", &received(*offset));
        }
        Error::RangeNotSatisfiable { size } => {
            let _ = headers.set("Content-Range", &format!("bytes */{size}"));
        }
        Error::TooManyRequests(seconds)
        | Error::CapReached {
            retry_after: seconds,
            ..
        } => {
            let _ = headers.set("Retry-After", &seconds.to_string());
        }
        _ => {}
    }
    Response::from_bytes(body.to_string().into_bytes())
        .expect("a byte body is always accepted")
        .with_status(status)
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
    let (_, status) = answer(error);
    let body = json!({ "type": "about:blank", "title": title(status), "status": status, "detail": message(error) });
    let headers = Headers::new();
    let _ = headers.set("Content-Type", "application/problem+json");
    if let Error::TooManyRequests(seconds)
    | Error::CapReached {
        retry_after: seconds,
        ..
    } = error
    {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_answer_400_but_the_last_tag_409() {
        assert_eq!(answer(&Error::Refused(Refusal::LastTag)), ("DENIED", 409));
        for r in [
            Refusal::LastTagOfLicensedDigest,
            Refusal::LicensedManifest,
            Refusal::LicensedBlob,
            Refusal::LicensedArtifact,
        ] {
            assert_eq!(answer(&Error::Refused(r)), ("UNSUPPORTED", 400));
        }
    }

    #[test]
    fn an_immutable_tag_is_denied() {
        assert_eq!(answer(&Error::ImmutableTag("v1".into())), ("DENIED", 403));
    }
}

//! The one place where core errors become HTTP: the spec's status for each code and
//! its JSON error body.

use serde_json::json;
use tollgate_core::Error;
use worker::{Headers, Response};

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
        Error::TooManyRequests => 429,
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

/// The OCI error response for `error`, with the headers that belong to it.
pub fn response(error: &Error) -> Response {
    if let Error::Internal(detail) = error {
        worker::console_error!("internal error: {detail}");
    }
    let message = match error {
        Error::Internal(_) => "internal error".to_string(),
        other => other.to_string(),
    };
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
        Error::Unauthorized => {
            let _ = headers.set("WWW-Authenticate", r#"Basic realm="Tollgate""#);
        }
        Error::ChunkOutOfOrder { offset } => {
            let _ = headers.set("Range", &format!("0-{}", offset.saturating_sub(1)));
        }
        Error::RangeNotSatisfiable { size } => {
            let _ = headers.set("Content-Range", &format!("bytes */{size}"));
        }
        Error::TooManyRequests => {
            let _ = headers.set("Retry-After", "1");
        }
        _ => {}
    }
    Response::from_bytes(body.to_string().into_bytes())
        .expect("a byte body is always accepted")
        .with_status(status(error))
        .with_headers(headers)
}

/// A failure of a binding, as a core error.
pub fn internal(e: worker::Error) -> Error {
    Error::Internal(e.to_string())
}

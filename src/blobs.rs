//! `/v2/<name>/blobs/<digest>`: reading (whole or a byte range) and unlinking blobs.
//! Bodies stream from R2 straight into the response without passing through wasm.

use tollgate_core::oci::range::{self, ByteRange};
use tollgate_core::storage::store::BlobRow;
use tollgate_core::{Digest, Error, RepoName, Result};
use worker::{Range, Request, Response};

use crate::app::App;
use crate::error::internal;
use crate::http::{empty, header, headers};

/// `GET`/`HEAD` of the blob `digest`, `found` linked into the repository.
pub async fn get(
    req: &Request,
    app: &App,
    digest: &Digest,
    found: Option<BlobRow>,
    with_body: bool,
) -> Result<Response> {
    let blob = found.ok_or(Error::BlobUnknown)?;
    let range = range::resolve(header(req, "Range").as_deref(), blob.size)?;
    let (status, length, content_range) = match range {
        Some(r) => (206, r.len(), Some(r.content_range(blob.size))),
        None => (200, blob.size, None),
    };
    let length = length.to_string();
    let mut pairs = vec![
        ("Content-Type", "application/octet-stream"),
        ("Docker-Content-Digest", digest.as_str()),
        ("Accept-Ranges", "bytes"),
        ("Content-Length", length.as_str()),
        ("ETag", blob.digest.as_str()),
    ];
    if let Some(content_range) = content_range.as_deref() {
        pairs.push(("Content-Range", content_range));
    }
    if !with_body {
        return empty(status, &pairs);
    }
    let body = read(app, &blob.object_key, range).await?;
    let response = Response::from_body(body).map_err(internal)?;
    Ok(response.with_status(status).with_headers(headers(&pairs)))
}

async fn read(app: &App, key: &str, range: Option<ByteRange>) -> Result<worker::ResponseBody> {
    let mut get = app.objects.0.get(key);
    if let Some(r) = range {
        get = get.range(Range::OffsetWithLength {
            offset: r.start,
            length: r.len(),
        });
    }
    let object = get.execute().await.map_err(internal)?;
    let object =
        object.ok_or_else(|| Error::Internal(format!("blob object {key} missing from R2")))?;
    let body = object
        .body()
        .ok_or_else(|| Error::Internal(format!("blob object {key} has no body")))?;
    body.response_body().map_err(internal)
}

/// Removes the blob from this repository, under the deletion rules; its bytes go
/// when nothing references them.
pub async fn delete(app: &App, name: &RepoName, digest: &Digest) -> Result<Response> {
    app.deletions().blob(name, digest).await?;
    empty(202, &[("Content-Length", "0")])
}

//! `/v2/<name>/blobs/<digest>`: reading (whole or a byte range) and unlinking blobs.
//! Bodies stream from the colo cache or R2 straight into the response without
//! passing through wasm.

use tollgate_core::oci::range::{self, ByteRange, Wanted};
use tollgate_core::storage::store::BlobRow;
use tollgate_core::{Digest, Error, RepoName, Result};
use worker::{Context, Range, Response, ResponseBody};

use crate::app::App;
use crate::cache::BlobBytes;
use crate::error::internal;
use crate::http::{empty, entity_tag, header, headers};
use crate::request::Request;

/// `GET`/`HEAD` of the blob `digest`, `found` linked into the repository.
pub async fn get(
    req: &Request,
    app: &App,
    ctx: &Context,
    digest: &Digest,
    found: Option<BlobRow>,
    with_body: bool,
) -> Result<Response> {
    let blob = found.ok_or(Error::BlobUnknown)?;
    let range = byte_range(header(req, "Range").as_deref(), blob.size)?;
    let (status, length, content_range) = match range {
        Some(r) => (
            206,
            r.len(),
            Some(format!("bytes {}-{}/{}", r.start, r.end, blob.size)),
        ),
        None => (200, blob.size, None),
    };
    let (length, etag) = (length.to_string(), entity_tag(blob.digest.as_str()));
    let mut pairs = vec![
        ("Content-Type", "application/octet-stream"),
        ("Docker-Content-Digest", digest.as_str()),
        ("Accept-Ranges", "bytes"),
        ("Content-Length", length.as_str()),
        ("ETag", etag.as_str()),
    ];
    if let Some(content_range) = content_range.as_deref() {
        pairs.push(("Content-Range", content_range));
    }
    if !with_body {
        return empty(status, &pairs);
    }
    let body = match range {
        Some(range) => read(app, &blob.object_key, Some(range)).await?,
        None => whole(req, app, ctx, digest, &blob).await?,
    };
    let response = Response::from_body(body).map_err(internal)?;
    Ok(response.with_status(status).with_headers(headers(&pairs)))
}

/// The part of a blob of `size` bytes a `Range` header asks for. `None` means the
/// whole blob: no header, or a form not served partially, such as several ranges,
/// which RFC 9110 lets a server ignore. A malformed `bytes=` range is not
/// satisfiable.
pub(crate) fn byte_range(header: Option<&str>, size: u64) -> Result<Option<ByteRange>> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let number = |s: &str| s.trim().parse::<u64>().ok();
    let wanted = spec
        .split_once('-')
        .and_then(|(start, end)| match start.trim() {
            "" => number(end).map(Wanted::Last),
            start => Some(Wanted::From {
                start: number(start)?,
                end: if end.trim().is_empty() {
                    None
                } else {
                    Some(number(end)?)
                },
            }),
        });
    let wanted = wanted.ok_or(Error::RangeNotSatisfiable { size })?;
    range::resolve(wanted, size).map(Some)
}

/// The whole blob: from the colo cache when it holds it, else from R2, and then
/// copied into the cache for the next pull. Ranges skip the cache: they resume
/// large pulls, which a whole-blob hit would not help.
async fn whole(
    req: &Request,
    app: &App,
    ctx: &Context,
    digest: &Digest,
    blob: &BlobRow,
) -> Result<ResponseBody> {
    let origin = req.url().map_err(internal)?.origin().ascii_serialization();
    let Some(bytes) = BlobBytes::new(&origin, digest, blob.size, app.blob_cache_max) else {
        app.cache.note("bytes", "skip");
        return read(app, &blob.object_key, None).await;
    };
    if let Some(body) = bytes.get().await? {
        app.cache.note("bytes", "hit");
        return Ok(body);
    }
    app.cache.note("bytes", "miss");
    let body = read(app, &blob.object_key, None).await?;
    bytes.fill_later(ctx, app.objects.bucket(), blob.object_key.clone());
    Ok(body)
}

async fn read(app: &App, key: &str, range: Option<ByteRange>) -> Result<ResponseBody> {
    let range = range.map(|r| Range::OffsetWithLength {
        offset: r.start,
        length: r.len(),
    });
    let object = app.objects.read(key, range).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64) -> Option<ByteRange> {
        Some(ByteRange { start, end })
    }

    #[test]
    fn reads_every_form_of_range_header() {
        assert_eq!(byte_range(None, 10), Ok(None));
        assert_eq!(byte_range(Some("bytes=0-3"), 10), Ok(r(0, 3)));
        assert_eq!(byte_range(Some("bytes=5-"), 10), Ok(r(5, 9)));
        assert_eq!(byte_range(Some("bytes=-4"), 10), Ok(r(6, 9)));
        assert_eq!(byte_range(Some("bytes=0-1,4-5"), 10), Ok(None));
        assert_eq!(byte_range(Some("items=0-1"), 10), Ok(None));
        for bad in ["bytes=10-", "bytes=-0", "bytes=x-1", "bytes=1", "bytes=1-y"] {
            assert_eq!(
                byte_range(Some(bad), 10),
                Err(Error::RangeNotSatisfiable { size: 10 }),
                "{bad}"
            );
        }
    }
}

//! `/v2/<name>/blobs/uploads/…`: translates requests into the core's upload life
//! cycle ([`tollgate_core::storage::uploads`]) and its results into responses.

use tollgate_core::auth::policy::Action;
use tollgate_core::oci::range::ByteRange;
use tollgate_core::oci::upload_session::{UploadId, UploadSession};
use tollgate_core::storage::uploads::Chunk;
use tollgate_core::{Digest, Error, RepoName, Result};
use worker::Response;

use crate::app::App;
use crate::http::{content_length, empty, header, query, received};
use crate::r2::RequestBody;
use crate::request::Request;

/// 202 (or the status's 204) with where the upload stands and how large a chunk the
/// platform lets through.
fn accepted(app: &App, name: &RepoName, session: &UploadSession, status: u16) -> Result<Response> {
    let location = format!("/v2/{name}/blobs/uploads/{}", session.id);
    empty(
        status,
        &[
            ("Location", &location),
            ("Range", &received(session.byte_offset)),
            ("Docker-Upload-UUID", &session.id),
            ("OCI-Chunk-Max-Length", &app.upload_chunk_max.to_string()),
            ("Content-Length", "0"),
        ],
    )
}

/// 201 for a blob now present in the repository.
fn created(name: &RepoName, digest: &Digest) -> Result<Response> {
    let location = format!("/v2/{name}/blobs/{digest}");
    empty(
        201,
        &[
            ("Location", &location),
            ("Docker-Content-Digest", digest.as_str()),
            ("Content-Length", "0"),
        ],
    )
}

fn body(req: &Request) -> Option<RequestBody> {
    RequestBody::new(req.inner().body())
}

/// `POST`: a cross-repository mount, a whole blob in one request (`?digest=`), or a
/// new upload session.
pub async fn start(req: Request, app: &App, name: &RepoName) -> Result<Response> {
    if let (Some(mount), Some(from)) = (query(&req, "mount"), query(&req, "from")) {
        let (digest, from): (Digest, RepoName) = (mount.parse()?, from.parse()?);
        // A mount from a repository the caller may not read is an ordinary upload.
        if app.caller()?.may(&from, Action::Pull)
            && app.uploads().mount(&from, name, &digest).await?
        {
            return created(name, &digest);
        }
    }
    if let Some(digest) = query(&req, "digest") {
        let digest: Digest = digest.parse()?;
        let length = content_length(&req);
        app.uploads()
            .put_blob(name, &digest, length, body(&req))
            .await?;
        return created(name, &digest);
    }
    let session = app.uploads().start(name).await?;
    accepted(app, name, &session, 202)
}

pub async fn status(app: &App, name: &RepoName, id: &UploadId) -> Result<Response> {
    let session = app.uploads().status(name, id).await?;
    accepted(app, name, &session, 204)
}

/// What the request says of the chunk it carries.
fn chunk(req: &Request) -> Chunk {
    Chunk {
        span: header(req, "Content-Range")
            .map(|v| chunk_span(&v))
            .transpose(),
        length: content_length(req),
    }
}

/// A chunk's `Content-Range`: `<start>-<end>`, inclusive, tolerating the `bytes=`
/// or `bytes ` prefix and `/<size>` suffix some clients send.
fn chunk_span(value: &str) -> Result<ByteRange> {
    let bad = || Error::ChunkOutOfOrder { offset: 0 };
    let v = value.trim();
    let v = v
        .strip_prefix("bytes=")
        .or_else(|| v.strip_prefix("bytes "))
        .unwrap_or(v);
    let v = v.split('/').next().unwrap_or(v);
    let (start, end) = v.split_once('-').ok_or_else(bad)?;
    let start: u64 = start.trim().parse().map_err(|_| bad())?;
    let end: u64 = end.trim().parse().map_err(|_| bad())?;
    if end < start {
        return Err(bad());
    }
    Ok(ByteRange { start, end })
}

/// `PATCH`: appends a chunk, which must start where the upload stands.
pub async fn patch(req: Request, app: &App, name: &RepoName, id: &UploadId) -> Result<Response> {
    let session = app
        .uploads()
        .append(name, id, chunk(&req), body(&req))
        .await?;
    accepted(app, name, &session, 202)
}

/// `PUT ?digest=`: takes an optional last chunk and turns the upload into a blob.
pub async fn finish(req: Request, app: &App, name: &RepoName, id: &UploadId) -> Result<Response> {
    let digest: Digest = query(&req, "digest")
        .ok_or_else(|| Error::DigestInvalid("the digest query parameter is required".into()))?
        .parse()?;
    app.uploads()
        .finish(name, id, &digest, chunk(&req), body(&req))
        .await?;
    created(name, &digest)
}

/// `DELETE`: abandons the upload and its bytes.
pub async fn cancel(app: &App, name: &RepoName, id: &UploadId) -> Result<Response> {
    app.uploads().cancel(name, id).await?;
    empty(204, &[("Content-Length", "0")])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chunk_spans_as_clients_send_them() {
        let span = |start, end| Ok(ByteRange { start, end });
        assert_eq!(chunk_span("0-9"), span(0, 9));
        assert_eq!(chunk_span("bytes=10-19"), span(10, 19));
        assert_eq!(chunk_span("bytes 10-19/20"), span(10, 19));
        for bad in ["9-0", "garbage", "1-", "-1"] {
            assert_eq!(
                chunk_span(bad),
                Err(Error::ChunkOutOfOrder { offset: 0 }),
                "{bad}"
            );
        }
    }
}

//! `/v2/<name>/blobs/uploads/…`: starting (and mounting), appending chunks,
//! status, finishing and cancelling blob uploads.

use tollgate_core::policy::Action;
use tollgate_core::upload::{UploadId, UploadSession};
use tollgate_core::{Algorithm, Digest, Error, Hasher, RepoName, Result};
use worker::{Request, Response};

use crate::app::{self, App};
use crate::http::{content_length, empty, header, query};
use crate::ingest;

fn new_id() -> Result<UploadId> {
    Ok(UploadId::from_random(app::random()?))
}

/// 202 (or the status's 204) with where the upload stands and how large a chunk the
/// platform lets through.
fn accepted(app: &App, name: &RepoName, session: &UploadSession, status: u16) -> Result<Response> {
    let location = format!("/v2/{name}/blobs/uploads/{}", session.id);
    empty(
        status,
        &[
            ("Location", &location),
            ("Range", &session.range()),
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

/// `POST`: a cross-repository mount, a whole blob in one request (`?digest=`), or a
/// new upload session.
pub async fn start(req: Request, app: &App, name: &RepoName) -> Result<Response> {
    if let (Some(mount), Some(from)) = (query(&req, "mount"), query(&req, "from")) {
        let (digest, from): (Digest, RepoName) = (mount.parse()?, from.parse()?);
        // A mount from a repository the caller may not read is an ordinary upload.
        if app.caller()?.may(&from, Action::Pull)
            && app
                .store()
                .mount(&from, name, &digest, app.now)
                .await?
                .is_some()
        {
            return created(name, &digest);
        }
    }
    let id = new_id()?;
    if let Some(digest) = query(&req, "digest") {
        let digest: Digest = digest.parse()?;
        let mut session = UploadSession::new(&id, name, digest.algorithm(), app.now);
        let promised = content_length(&req);
        return store_blob(req, app, name, &mut session, &digest, promised).await;
    }
    let session = UploadSession::new(&id, name, Algorithm::Sha256, app.now);
    app.store().create_upload(&session).await?;
    accepted(app, name, &session, 202)
}

/// The live session `id` of repository `name`; an expired one is cleaned up and
/// reported unknown, like one that never existed.
async fn load(app: &App, name: &RepoName, id: &UploadId) -> Result<UploadSession> {
    let session = app
        .store()
        .upload(name, id)
        .await?
        .ok_or(Error::BlobUploadUnknown)?;
    if session.expired(app.now, app.upload_ttl) {
        ingest::discard(&app.bucket, &session, session.byte_offset > 0).await;
        app.store().delete_upload(id).await?;
        return Err(Error::BlobUploadUnknown);
    }
    Ok(session)
}

pub async fn status(app: &App, name: &RepoName, id: &UploadId) -> Result<Response> {
    let session = load(app, name, id).await?;
    accepted(app, name, &session, 204)
}

/// `PATCH`: appends a chunk, which must start where the upload stands.
pub async fn patch(req: Request, app: &App, name: &RepoName, id: &UploadId) -> Result<Response> {
    let mut session = load(app, name, id).await?;
    let promised = session.check_chunk(
        header(&req, "Content-Range").as_deref(),
        content_length(&req),
    )?;
    let previous = session.byte_offset;
    let hasher = session.hasher()?;
    let appended = ingest::append(&app.bucket, &mut session, hasher, req.inner().body()).await?;
    if promised.is_some_and(|n| n != appended.received) {
        return Err(Error::BlobUploadInvalid(
            "body length differs from the announced length".into(),
        ));
    }
    ingest::park_tail(&app.bucket, &session, appended.tail).await?;
    // Idle time counts from the end of this chunk, which may have streamed for long.
    session.advance(
        &appended.hasher,
        appended.new_etags,
        appended.received,
        app::now(),
    )?;
    if !app.store().save_upload(&session, previous).await? {
        return Err(Error::ChunkOutOfOrder { offset: previous });
    }
    accepted(app, name, &session, 202)
}

/// `PUT ?digest=`: takes an optional last chunk and turns the upload into a blob.
pub async fn finish(req: Request, app: &App, name: &RepoName, id: &UploadId) -> Result<Response> {
    let digest: Digest = query(&req, "digest")
        .ok_or_else(|| Error::DigestInvalid("the digest query parameter is required".into()))?
        .parse()?;
    let mut session = load(app, name, id).await?;
    let promised = session.check_chunk(
        header(&req, "Content-Range").as_deref(),
        content_length(&req),
    )?;
    store_blob(req, app, name, &mut session, &digest, promised).await
}

/// Streams the last bytes of an upload, verifies the digest and records the blob.
/// Any failure discards the upload: nothing of it is stored.
async fn store_blob(
    req: Request,
    app: &App,
    name: &RepoName,
    session: &mut UploadSession,
    digest: &Digest,
    promised: Option<u64>,
) -> Result<Response> {
    let had_bytes = session.byte_offset > 0;
    let result = commit(&req, app, name, session, digest, promised).await;
    if result.is_err() {
        ingest::discard(&app.bucket, session, had_bytes).await;
        let _ = app.store().delete_upload(&session.upload_id()).await;
    }
    result?;
    created(name, digest)
}

async fn commit(
    req: &Request,
    app: &App,
    name: &RepoName,
    session: &mut UploadSession,
    digest: &Digest,
    promised: Option<u64>,
) -> Result<()> {
    let had_bytes = session.byte_offset > 0;
    let whole_blob_body = (!had_bytes && promised.is_some_and(|n| n > 0))
        .then(|| req.inner().body())
        .flatten();
    if let Some(body) = whole_blob_body {
        return commit_whole(
            body,
            app,
            name,
            session,
            digest,
            promised.unwrap_or_default(),
        )
        .await;
    }
    // A session with no bytes yet can still hash with the algorithm the digest names.
    let hasher = if had_bytes {
        session.hasher()?
    } else {
        Hasher::new(digest.algorithm())
    };
    let appended = ingest::append(&app.bucket, session, hasher, req.inner().body()).await?;
    if promised.is_some_and(|n| n != appended.received) {
        return Err(Error::SizeInvalid(
            "body length differs from the announced length".into(),
        ));
    }
    // Hashed as it arrived with the digest's algorithm: verify before storing.
    let hashed_as_claimed = appended.hasher.algorithm() == digest.algorithm();
    if hashed_as_claimed {
        UploadSession::verify(appended.hasher, digest)?;
    }
    let size = session.byte_offset + appended.received;
    let id = session.upload_id();
    let existing = if hashed_as_claimed {
        app.store().stored_blob(digest).await?
    } else {
        None
    };
    if let Some(existing) = existing {
        ingest::discard(&app.bucket, session, had_bytes).await;
        app.store()
            .commit_blob(name, digest, size, &existing.object_key, &id, app.now)
            .await?;
        return Ok(());
    }
    let mut etags = session.etags()?;
    etags.extend(appended.new_etags);
    ingest::complete(&app.bucket, session, etags, appended.tail).await?;
    ingest::drop_tail(&app.bucket, session, had_bytes).await;
    if !hashed_as_claimed {
        let actual = ingest::hash_object(&app.bucket, &id.object_key(), digest.algorithm()).await?;
        if &actual != digest {
            let _ = app.bucket.delete(id.object_key()).await;
            return Err(Error::DigestInvalid(format!(
                "content digest is {actual}, not {digest}"
            )));
        }
    }
    record_stored_blob(app, name, digest, size, &id).await
}

/// The whole blob in this one request: stored as a single object that R2 verifies.
async fn commit_whole(
    body: worker::web_sys::ReadableStream,
    app: &App,
    name: &RepoName,
    session: &UploadSession,
    digest: &Digest,
    size: u64,
) -> Result<()> {
    let id = session.upload_id();
    ingest::store_verified(&app.bucket, &id.object_key(), body, digest).await?;
    record_stored_blob(app, name, digest, size, &id).await
}

/// Records the upload's object as the blob; if the same content was stored meanwhile
/// by another upload, that one stays and this object is dropped.
async fn record_stored_blob(
    app: &App,
    name: &RepoName,
    digest: &Digest,
    size: u64,
    id: &UploadId,
) -> Result<()> {
    let key = id.object_key();
    if !app
        .store()
        .commit_blob(name, digest, size, &key, id, app.now)
        .await?
    {
        let _ = app.bucket.delete(key).await;
    }
    Ok(())
}

/// `DELETE`: abandons the upload and its bytes.
pub async fn cancel(app: &App, name: &RepoName, id: &UploadId) -> Result<Response> {
    let session = load(app, name, id).await?;
    ingest::discard(&app.bucket, &session, session.byte_offset > 0).await;
    app.store().delete_upload(id).await?;
    empty(204, &[("Content-Length", "0")])
}

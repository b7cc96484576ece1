//! Moving upload bytes into R2. A blob that arrives whole in one request streams into
//! one object that R2 verifies against the digest. Chunked bytes are hashed once in
//! wasm and cut into fixed-size multipart parts; less than one part is held in memory
//! and the short tail is parked in R2 between requests. Finishing completes the
//! multipart upload in place, so the finished object *is* the blob and nothing is
//! copied. Only an upload finished with another digest algorithm than it was hashed
//! with is read back, to hash it again.

use std::time::Duration;

use tollgate_core::upload::{PartCutter, UploadSession, PART_SIZE};
use tollgate_core::{Algorithm, Digest, Error, Hasher, Result};
use worker::{web_sys, Bucket, Data, Delay, MultipartUpload, ResponseBody, UploadedPart};

use crate::body::BlockReader;
use crate::error::internal;

/// What a request body added to an upload, not yet saved in the session.
pub struct Appended {
    pub hasher: Hasher,
    pub new_etags: Vec<String>,
    pub received: u64,
    /// Bytes after the last full part.
    pub tail: Vec<u8>,
}

/// The R2 multipart upload of a session, created when its first part is ready.
fn multipart(bucket: &Bucket, session: &UploadSession) -> Result<Option<MultipartUpload>> {
    session
        .multipart_id
        .as_ref()
        .map(|id| bucket.resume_multipart_upload(session.upload_id().object_key(), id.clone()))
        .transpose()
        .map_err(internal)
}

async fn read_tail(bucket: &Bucket, session: &UploadSession) -> Result<Vec<u8>> {
    if session.tail_len()? == 0 {
        return Ok(Vec::new());
    }
    let object = bucket
        .get(session.upload_id().tail_key())
        .execute()
        .await
        .map_err(internal)?;
    let object = object.ok_or_else(|| Error::Internal("upload tail missing".into()))?;
    let body = object
        .body()
        .ok_or_else(|| Error::Internal("upload tail has no body".into()))?;
    let tail = body.bytes().await.map_err(internal)?;
    if tail.len() as u64 != session.tail_len()? {
        return Err(Error::Internal("upload tail has the wrong length".into()));
    }
    Ok(tail)
}

/// Streams `body` onto the upload. `hasher` continues the session's hash (the
/// caller may pick another algorithm for an upload that has no bytes yet).
/// Updates `session.multipart_id` when it starts the multipart upload.
pub async fn append(
    bucket: &Bucket,
    session: &mut UploadSession,
    hasher: Hasher,
    body: Option<web_sys::ReadableStream>,
) -> Result<Appended> {
    let mut cutter = PartCutter::new(read_tail(bucket, session).await?, PART_SIZE);
    let mut upload = multipart(bucket, session)?;
    let mut part_number = session.etags()?.len() as u16 + 1;
    let mut appended = Appended {
        hasher,
        new_etags: Vec::new(),
        received: 0,
        tail: Vec::new(),
    };
    let Some(body) = body else {
        appended.tail = cutter.into_tail();
        return Ok(appended);
    };
    let unreadable = |e| Error::BlobUploadInvalid(format!("reading the request body failed: {e}"));
    let mut body = BlockReader::new(&body).map_err(unreadable)?;
    while let Some(chunk) = body.next().await.map_err(unreadable)? {
        appended.hasher.update(&chunk);
        appended.received += chunk.len() as u64;
        for part in cutter.push(&chunk) {
            if upload.is_none() {
                let created = bucket
                    .create_multipart_upload(session.upload_id().object_key())
                    .execute()
                    .await
                    .map_err(internal)?;
                session.multipart_id = Some(created.upload_id().await);
                upload = Some(created);
            }
            let target = upload.as_ref().expect("created above");
            let uploaded = target
                .upload_part(part_number, part)
                .await
                .map_err(internal)?;
            appended.new_etags.push(uploaded.etag());
            part_number += 1;
            yield_to_other_requests().await;
        }
    }
    appended.tail = cutter.into_tail();
    Ok(appended)
}

/// Lets the isolate serve other requests. A body that arrives faster than it is hashed
/// resolves every read at once, so without this a long upload would hold the isolate
/// until its last byte (measured: a concurrent `GET /v2/` waited 12 s behind a
/// 300 MiB PATCH).
async fn yield_to_other_requests() {
    Delay::from(Duration::ZERO).await;
}

/// Parks the tail in R2 for the next request of the same upload.
pub async fn park_tail(bucket: &Bucket, session: &UploadSession, tail: Vec<u8>) -> Result<()> {
    if tail.is_empty() {
        return Ok(());
    }
    bucket
        .put(session.upload_id().tail_key(), tail)
        .execute()
        .await
        .map_err(internal)?;
    Ok(())
}

/// Turns the session's bytes into the object at its key: the multipart upload
/// completed with the tail as its last part, or a plain object for small blobs.
pub async fn complete(
    bucket: &Bucket,
    session: &UploadSession,
    etags: Vec<String>,
    tail: Vec<u8>,
) -> Result<()> {
    let key = session.upload_id().object_key();
    let Some(upload) = multipart(bucket, session)? else {
        bucket.put(key, tail).execute().await.map_err(internal)?;
        return Ok(());
    };
    let mut parts: Vec<UploadedPart> = etags
        .into_iter()
        .enumerate()
        .map(|(i, etag)| UploadedPart::new(i as u16 + 1, etag))
        .collect();
    if !tail.is_empty() {
        let number = parts.len() as u16 + 1;
        parts.push(upload.upload_part(number, tail).await.map_err(internal)?);
    }
    upload.complete(parts).await.map_err(internal)?;
    Ok(())
}

/// Deletes the parked tail of a session that received bytes in an earlier request.
pub async fn drop_tail(bucket: &Bucket, session: &UploadSession, had_bytes: bool) {
    if had_bytes {
        let _ = bucket.delete(session.upload_id().tail_key()).await;
    }
}

/// Removes every trace of an upload's bytes in R2 (best effort: leftovers are
/// swept by garbage collection).
pub async fn discard(bucket: &Bucket, session: &UploadSession, had_bytes: bool) {
    if let Ok(Some(upload)) = multipart(bucket, session) {
        let _ = upload.abort().await;
    }
    drop_tail(bucket, session, had_bytes).await;
}

/// Hashes a stored object under `algorithm` by streaming it back from R2. Only for an
/// upload whose final digest names another algorithm than the one it was hashed
/// with while its chunks arrived.
pub async fn hash_object(bucket: &Bucket, key: &str, algorithm: Algorithm) -> Result<Digest> {
    let object = bucket.get(key).execute().await.map_err(internal)?;
    let object = object.ok_or_else(|| Error::Internal(format!("{key} missing from R2")))?;
    let mut hasher = Hasher::new(algorithm);
    if let Some(body) = object.body() {
        if let ResponseBody::Stream(stream) = body.response_body().map_err(internal)? {
            let mut blocks = BlockReader::new(&stream).map_err(internal)?;
            while let Some(block) = blocks.next().await.map_err(internal)? {
                hasher.update(&block);
            }
        }
    }
    Ok(hasher.finish())
}

/// Stores a whole blob that arrives in one request of known length as one object:
/// R2 takes the body as it streams and checks the digest itself, so no byte passes
/// through wasm, and the blob reads back as a single object.
pub async fn store_verified(
    bucket: &Bucket,
    key: &str,
    body: web_sys::ReadableStream,
    digest: &Digest,
) -> Result<()> {
    let put = bucket.put(key, Data::ReadableStream(body));
    let put = match digest.algorithm() {
        Algorithm::Sha256 => put.sha256(digest.to_bytes()),
        Algorithm::Sha512 => put.sha512(digest.to_bytes()),
    };
    put.execute().await.map_err(|e| {
        // R2's documented answer to a checksum that does not match the bytes.
        if e.to_string()
            .contains("checksum you specified did not match")
        {
            Error::DigestInvalid(format!("content does not match {digest}"))
        } else {
            internal(e)
        }
    })?;
    Ok(())
}

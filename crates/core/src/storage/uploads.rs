//! The blob upload life cycle (docs/registry.md, "Uploads"): starting a session,
//! appending chunks, status, finishing into a blob (deduplicated across
//! repositories), cancelling, and expiry. Metadata goes through the [`Store`], bytes
//! through an [`ObjectStore`]; the worker only translates requests into these calls.
//!
//! A blob that arrives whole in one request streams into one object the object store
//! verifies against the digest. Chunked bytes are hashed once as they stream and cut
//! into fixed-size multipart parts; less than one part is held in memory and the
//! short tail is parked in the object store between requests. Finishing completes
//! the multipart upload in place, so the finished object *is* the blob and nothing is
//! copied. Only an upload finished with another digest algorithm than it was hashed
//! with is read back, to hash it again.
//!
//! A blob fetched from an upstream (docs/pull-through.md) is stored the same way
//! as a chunked push in one request, so its memory is as flat as a push's.

use crate::error::{Error, Result};
use crate::oci::digest::{Algorithm, Digest, Hasher};
use crate::oci::name::RepoName;
use crate::oci::range::ByteRange;
use crate::oci::upload_session::{PartCutter, UploadId, UploadSession, PART_SIZE};
use crate::storage::object_store::{Body, ObjectStore};
use crate::storage::sql::Sql;
use crate::storage::store::Store;

/// How long a fetched blob's object waits in the garbage collection queue: far
/// longer than any fetch takes, so collection never races a live one.
const UNLINKED_GRACE_SECONDS: i64 = 60 * 60;

/// What a request says about the chunk it carries.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// The bytes of the blob it holds, inclusive; `Err` for a span that is none,
    /// refused only once the session is known.
    pub span: Result<Option<ByteRange>>,
    pub length: Option<u64>,
}

/// A request that says nothing of its chunk.
impl Default for Chunk {
    fn default() -> Self {
        Chunk {
            span: Ok(None),
            length: None,
        }
    }
}

/// What the life cycle needs of the platform besides storage.
#[derive(Clone, Copy)]
pub struct Platform {
    /// Unix seconds now; a chunk may stream for long, so it is asked again after one.
    pub clock: fn() -> i64,
    /// 16 bytes from a cryptographic random source.
    pub random: fn() -> Result<[u8; 16]>,
}

/// What a request body added to an upload, not yet saved in the session.
struct Appended {
    hasher: Hasher,
    new_etags: Vec<String>,
    received: u64,
    /// Bytes after the last full part.
    tail: Vec<u8>,
}

pub struct Uploads<'a, S, O> {
    store: Store<'a, S>,
    objects: &'a O,
    platform: Platform,
    /// Unix seconds at the start of the request.
    now: i64,
    /// Seconds a session may stay idle.
    ttl: i64,
}

impl<'a, S: Sql, O: ObjectStore> Uploads<'a, S, O> {
    pub fn new(sql: &'a S, objects: &'a O, platform: Platform, ttl: i64) -> Self {
        Uploads {
            store: Store::new(sql),
            objects,
            platform,
            now: (platform.clock)(),
            ttl,
        }
    }

    fn new_id(&self) -> Result<UploadId> {
        Ok(UploadId::from_random((self.platform.random)()?))
    }

    /// A new, empty session in `repo`.
    pub async fn start(&self, repo: &RepoName) -> Result<UploadSession> {
        let session = UploadSession::new(&self.new_id()?, repo, Algorithm::Sha256, self.now);
        self.store.create_upload(&session).await?;
        Ok(session)
    }

    /// Links the blob `digest` of `from` into `to`; false when `from` lacks it.
    pub async fn mount(&self, from: &RepoName, to: &RepoName, digest: &Digest) -> Result<bool> {
        let mounted = self.store.mount(from, to, digest, self.now).await?;
        Ok(mounted.is_some())
    }

    /// A whole blob in one request (`POST ?digest=`).
    pub async fn put_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        length: Option<u64>,
        body: Option<O::Body>,
    ) -> Result<()> {
        let id = self.new_id()?;
        let mut session = UploadSession::new(&id, repo, digest.algorithm(), self.now);
        self.store_blob(repo, &mut session, digest, length, body)
            .await
    }

    /// A blob fetched from `repo`'s upstream (docs/pull-through.md), `size` bytes
    /// as the upstream announced: stored like a chunked push — hashed as it
    /// streams, cut into parts, so memory stays flat whatever its size — and
    /// linked only once its bytes hash to `digest`. Its object is queued for
    /// garbage collection before the first byte, so a fetch that dies before its
    /// link leaves no object behind.
    pub async fn put_fetched(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
        body: O::Body,
    ) -> Result<()> {
        let id = self.new_id()?;
        let due = self.now + UNLINKED_GRACE_SECONDS;
        self.store.queue_unlinked(&id.object_key(), due).await?;
        let mut session = UploadSession::new(&id, repo, digest.algorithm(), self.now);
        let result = self
            .commit_chunked(repo, &mut session, digest, Some(size), Some(body))
            .await;
        if result.is_err() {
            self.discard(&session).await;
        }
        result
    }

    /// The live session `id` of `repo`; an expired one is cleaned up and reported
    /// unknown, like one that never existed.
    pub async fn status(&self, repo: &RepoName, id: &UploadId) -> Result<UploadSession> {
        let session = self
            .store
            .upload(repo, id)
            .await?
            .ok_or(Error::BlobUploadUnknown)?;
        if session.expired(self.now, self.ttl) {
            self.discard(&session).await;
            self.store.delete_upload(id).await?;
            return Err(Error::BlobUploadUnknown);
        }
        Ok(session)
    }

    /// Appends a chunk, which must start where the upload stands (`PATCH`).
    pub async fn append(
        &self,
        repo: &RepoName,
        id: &UploadId,
        chunk: Chunk,
        body: Option<O::Body>,
    ) -> Result<UploadSession> {
        let before = self.status(repo, id).await?;
        let promised = before.check_chunk(chunk.span?, chunk.length)?;
        let mut session = before.clone();
        if let Err(e) = self.take_chunk(&mut session, promised, body).await {
            self.abandon(&session, &before).await;
            return Err(e);
        }
        self.save(&session, &before).await?;
        Ok(session)
    }

    /// Streams a chunk onto `session` and parks its tail: what is left to do is
    /// saving the session.
    async fn take_chunk(
        &self,
        session: &mut UploadSession,
        promised: Option<u64>,
        body: Option<O::Body>,
    ) -> Result<()> {
        let appended = self.stream(session, session.hasher()?, body).await?;
        if promised.is_some_and(|n| n != appended.received) {
            return Err(Error::BlobUploadInvalid(
                "body length differs from the announced length".into(),
            ));
        }
        if appended.received > 0 {
            session.tail_key = self.park_tail(session, appended.tail).await?;
        }
        // Idle time counts from the end of this chunk, which may have streamed for long.
        let now = (self.platform.clock)();
        session.advance(&appended.hasher, appended.new_etags, appended.received, now)
    }

    /// Saves a session advanced from `before` by a compare-and-swap. What the loser
    /// of a race wrote is its own (its tail, a multipart upload it started), so it
    /// cannot have touched the winner's; the loser removes it, the winner the tail
    /// it replaced.
    async fn save(&self, session: &UploadSession, before: &UploadSession) -> Result<()> {
        if !self.store.save_upload(session, before).await? {
            self.abandon(session, before).await;
            return Err(Error::ChunkOutOfOrder {
                offset: before.byte_offset,
            });
        }
        let (new, old) = (session.tail_key.as_deref(), before.tail_key.as_deref());
        self.delete_other_tail(old, new).await;
        Ok(())
    }

    /// Removes what a request that will not be saved wrote beyond `before`.
    async fn abandon(&self, session: &UploadSession, before: &UploadSession) {
        let (new, old) = (session.tail_key.as_deref(), before.tail_key.as_deref());
        self.delete_other_tail(new, old).await;
        if let Some(started) = session.multipart_id.as_deref() {
            if before.multipart_id.as_deref() != Some(started) {
                let key = session.upload_id().object_key();
                let _ = self.objects.abort_multipart(&key, started).await;
            }
        }
    }

    /// Deletes the tail `key` unless it is `kept` (best effort: garbage collection
    /// takes what an expired session records).
    async fn delete_other_tail(&self, key: Option<&str>, kept: Option<&str>) {
        if let Some(key) = key.filter(|&k| Some(k) != kept) {
            let _ = self.objects.delete(key).await;
        }
    }

    /// Takes an optional last chunk and turns the upload into the blob `digest`
    /// (`PUT ?digest=`).
    pub async fn finish(
        &self,
        repo: &RepoName,
        id: &UploadId,
        digest: &Digest,
        chunk: Chunk,
        body: Option<O::Body>,
    ) -> Result<()> {
        let mut session = self.status(repo, id).await?;
        let promised = session.check_chunk(chunk.span?, chunk.length)?;
        // Only the request that claims the session writes the blob's object.
        if !self.store.claim_upload(&session, self.now).await? {
            return Err(Error::ChunkOutOfOrder {
                offset: session.byte_offset,
            });
        }
        self.store_blob(repo, &mut session, digest, promised, body)
            .await
    }

    /// Abandons the upload and its bytes (`DELETE`).
    pub async fn cancel(&self, repo: &RepoName, id: &UploadId) -> Result<()> {
        let session = self.status(repo, id).await?;
        self.discard(&session).await;
        self.store.delete_upload(id).await
    }

    /// Streams the last bytes of an upload, verifies the digest and records the
    /// blob. Any failure discards the upload: nothing of it is stored.
    async fn store_blob(
        &self,
        repo: &RepoName,
        session: &mut UploadSession,
        digest: &Digest,
        promised: Option<u64>,
        body: Option<O::Body>,
    ) -> Result<()> {
        let result = self.commit(repo, session, digest, promised, body).await;
        if result.is_err() {
            self.discard(session).await;
            let _ = self.store.delete_upload(&session.upload_id()).await;
        }
        result
    }

    async fn commit(
        &self,
        repo: &RepoName,
        session: &mut UploadSession,
        digest: &Digest,
        promised: Option<u64>,
        body: Option<O::Body>,
    ) -> Result<()> {
        let had_bytes = session.byte_offset > 0;
        match (body, promised) {
            (Some(body), Some(size)) if !had_bytes && size > 0 => {
                self.commit_whole(repo, session, digest, size, body).await
            }
            (body, _) => {
                self.commit_chunked(repo, session, digest, promised, body)
                    .await
            }
        }
    }

    /// The whole blob in this one request: stored as a single object that the object
    /// store verifies.
    async fn commit_whole(
        &self,
        repo: &RepoName,
        session: &UploadSession,
        digest: &Digest,
        size: u64,
        body: O::Body,
    ) -> Result<()> {
        let id = session.upload_id();
        self.objects
            .put_verified(&id.object_key(), body, digest)
            .await?;
        self.record_stored_blob(repo, digest, size, &id).await
    }

    async fn commit_chunked(
        &self,
        repo: &RepoName,
        session: &mut UploadSession,
        digest: &Digest,
        promised: Option<u64>,
        body: Option<O::Body>,
    ) -> Result<()> {
        let had_bytes = session.byte_offset > 0;
        // A session with no bytes yet can still hash with the algorithm the digest names.
        let hasher = if had_bytes {
            session.hasher()?
        } else {
            Hasher::new(digest.algorithm())
        };
        let appended = self.stream(session, hasher, body).await?;
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
            self.store.stored_blob(digest).await?
        } else {
            None
        };
        if let Some(existing) = existing {
            self.discard(session).await;
            self.store
                .commit_blob(repo, digest, size, &existing.object_key, &id, self.now)
                .await?;
            return Ok(());
        }
        let mut etags = session.etags()?;
        etags.extend(appended.new_etags);
        let checksum = hashed_as_claimed.then_some(digest);
        self.complete(session, etags, appended.tail, checksum, size)
            .await?;
        self.drop_tail(session).await;
        if !hashed_as_claimed {
            self.verify_stored(&id.object_key(), digest).await?;
        }
        self.record_stored_blob(repo, digest, size, &id).await
    }

    /// Hashes a stored object again, for an upload hashed with another algorithm
    /// than its digest names; deletes it when it does not match.
    async fn verify_stored(&self, key: &str, digest: &Digest) -> Result<()> {
        let actual = self.objects.hash(key, digest.algorithm()).await?;
        let actual = actual.ok_or_else(|| Error::Internal(format!("{key} missing")))?;
        if &actual != digest {
            let _ = self.objects.delete(key).await;
            return Err(Error::DigestInvalid(format!(
                "content digest is {actual}, not {digest}"
            )));
        }
        Ok(())
    }

    /// Records the upload's object as the blob; if the same content was stored
    /// meanwhile by another upload, that one stays and this object is dropped.
    async fn record_stored_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
        id: &UploadId,
    ) -> Result<()> {
        let key = id.object_key();
        let recorded = self
            .store
            .commit_blob(repo, digest, size, &key, id, self.now)
            .await?;
        if !recorded {
            let _ = self.objects.delete(&key).await;
        }
        Ok(())
    }

    async fn read_tail(&self, session: &UploadSession) -> Result<Vec<u8>> {
        if session.tail_len()? == 0 {
            return Ok(Vec::new());
        }
        let missing = || Error::Internal("upload tail missing".into());
        let key = session.tail_key.as_deref().ok_or_else(missing)?;
        let tail = self.objects.get(key).await?.ok_or_else(missing)?;
        if tail.len() as u64 != session.tail_len()? {
            return Err(Error::Internal("upload tail has the wrong length".into()));
        }
        Ok(tail)
    }

    /// Streams `body` onto the upload. `hasher` continues the session's hash (the
    /// caller may pick another algorithm for an upload that has no bytes yet).
    /// Updates `session.multipart_id` when it starts the multipart upload.
    async fn stream(
        &self,
        session: &mut UploadSession,
        hasher: Hasher,
        body: Option<O::Body>,
    ) -> Result<Appended> {
        let mut cutter = PartCutter::new(self.read_tail(session).await?, PART_SIZE);
        let mut part_number = session.etags()?.len() as u16 + 1;
        let mut appended = Appended {
            hasher,
            new_etags: Vec::new(),
            received: 0,
            tail: Vec::new(),
        };
        if let Some(mut body) = body {
            while let Some(block) = body.next().await? {
                appended.hasher.update(&block);
                appended.received += block.len() as u64;
                for part in cutter.push(&block) {
                    let etag = self.upload_part(session, part_number, part).await?;
                    appended.new_etags.push(etag);
                    part_number += 1;
                }
            }
        }
        appended.tail = cutter.into_tail();
        Ok(appended)
    }

    /// Uploads one part, starting the session's multipart upload at its first.
    async fn upload_part(
        &self,
        session: &mut UploadSession,
        number: u16,
        part: Vec<u8>,
    ) -> Result<String> {
        let key = session.upload_id().object_key();
        let multipart_id = match &session.multipart_id {
            Some(id) => id.clone(),
            None => self.objects.create_multipart(&key).await?,
        };
        session.multipart_id = Some(multipart_id.clone());
        self.objects
            .upload_part(&key, &multipart_id, number, part)
            .await
    }

    /// Parks the tail for the next request of the same upload, under a key of this
    /// request's own; returns the key.
    async fn park_tail(&self, session: &UploadSession, tail: Vec<u8>) -> Result<Option<String>> {
        if tail.is_empty() {
            return Ok(None);
        }
        let key = session.upload_id().tail_key((self.platform.random)()?);
        self.objects.put(&key, tail, None).await?;
        Ok(Some(key))
    }

    /// Turns the session's bytes into the object at its key: the multipart upload
    /// completed with the tail as its last part, or a plain object for small blobs,
    /// which the object store verifies against `checksum`. A multipart object is
    /// made of exactly the parts whose etags the session recorded (the store refuses
    /// others); its size is checked once it is stored.
    async fn complete(
        &self,
        session: &UploadSession,
        mut etags: Vec<String>,
        tail: Vec<u8>,
        checksum: Option<&Digest>,
        size: u64,
    ) -> Result<()> {
        let key = session.upload_id().object_key();
        let Some(multipart_id) = &session.multipart_id else {
            return self.objects.put(&key, tail, checksum).await;
        };
        if !tail.is_empty() {
            let number = etags.len() as u16 + 1;
            let etag = self
                .objects
                .upload_part(&key, multipart_id, number, tail)
                .await?;
            etags.push(etag);
        }
        self.objects
            .complete_multipart(&key, multipart_id, &etags)
            .await?;
        self.check_size(&key, size).await
    }

    async fn check_size(&self, key: &str, size: u64) -> Result<()> {
        let stored = self.objects.head(key).await?;
        if stored != Some(size) {
            return Err(Error::Internal(format!(
                "{key} holds {stored:?} bytes, not {size}"
            )));
        }
        Ok(())
    }

    /// Deletes the session's parked tail.
    async fn drop_tail(&self, session: &UploadSession) {
        self.delete_other_tail(session.tail_key.as_deref(), None)
            .await;
    }

    /// Removes every trace of an upload's bytes (best effort: leftovers are swept
    /// by garbage collection).
    async fn discard(&self, session: &UploadSession) {
        if let Some(multipart_id) = &session.multipart_id {
            let key = session.upload_id().object_key();
            let _ = self.objects.abort_multipart(&key, multipart_id).await;
        }
        self.drop_tail(session).await;
    }
}

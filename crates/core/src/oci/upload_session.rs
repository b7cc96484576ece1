//! Blob upload sessions: their ids, where they stand, how incoming chunks are
//! checked (`Content-Range` must continue at the current offset) and how the byte
//! stream is re-cut into the fixed-size parts R2 multipart uploads require.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::oci::digest::{Algorithm, Digest, Hasher};
use crate::oci::name::RepoName;
use crate::oci::range::ByteRange;

/// R2 multipart parts must be equal-sized (but the last) and at least 5 MiB.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// 128 random bits as 32 lowercase hex characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UploadId(String);

impl UploadId {
    pub fn from_random(bytes: [u8; 16]) -> Self {
        UploadId(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the upload's bytes go in R2; on success this object *is* the blob.
    pub fn object_key(&self) -> String {
        format!("blobs/{}", self.0)
    }

    /// Where one request parks the bytes received after the last full part, until
    /// the next request. Each request writes a key of its own (`attempt` is random),
    /// so a request that loses the race to save the session cannot overwrite the
    /// tail of the one that won.
    pub fn tail_key(&self, attempt: [u8; 16]) -> String {
        format!("tails/{}/{}", self.0, hex::encode(attempt))
    }
}

impl FromStr for UploadId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let ok = s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(UploadId(s.to_owned()))
        } else {
            Err(Error::BlobUploadUnknown)
        }
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A session as stored between requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadSession {
    pub id: String,
    pub repo: String,
    /// Bytes received so far.
    pub byte_offset: u64,
    /// [`Hasher::save`] of everything received so far.
    pub hash_state: String,
    /// The R2 multipart upload, once the first full part was written.
    pub multipart_id: Option<String>,
    /// JSON array of the etags of the parts written, in order.
    pub parts: String,
    /// The object holding the bytes after the last full part, if there are any.
    pub tail_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl UploadSession {
    pub fn new(id: &UploadId, repo: &RepoName, algorithm: Algorithm, now: i64) -> Self {
        UploadSession {
            id: id.to_string(),
            repo: repo.to_string(),
            byte_offset: 0,
            hash_state: Hasher::new(algorithm).save(),
            multipart_id: None,
            parts: "[]".into(),
            tail_key: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn upload_id(&self) -> UploadId {
        UploadId(self.id.clone())
    }

    pub fn hasher(&self) -> Result<Hasher> {
        Hasher::restore(&self.hash_state)
            .ok_or_else(|| Error::Internal(format!("corrupt hash state in upload {}", self.id)))
    }

    pub fn etags(&self) -> Result<Vec<String>> {
        serde_json::from_str(&self.parts)
            .map_err(|_| Error::Internal(format!("corrupt part list in upload {}", self.id)))
    }

    /// Bytes held in the tail object: everything after the last full part.
    pub fn tail_len(&self) -> Result<u64> {
        let in_parts = self.etags()?.len() as u64 * PART_SIZE as u64;
        Ok(self.byte_offset - in_parts)
    }

    /// Whether a session last touched at `updated_at` has outlived `ttl` seconds.
    pub fn expired(&self, now: i64, ttl: i64) -> bool {
        now - self.updated_at > ttl
    }

    /// Checks the span a chunk says it holds (inclusive) and its length against
    /// where the upload stands. Returns the chunk length the request promises, if it
    /// promises one.
    pub fn check_chunk(&self, span: Option<ByteRange>, length: Option<u64>) -> Result<Option<u64>> {
        let Some(span) = span else {
            return Ok(length);
        };
        if span.start != self.byte_offset {
            return Err(Error::ChunkOutOfOrder {
                offset: self.byte_offset,
            });
        }
        if length.is_some_and(|l| l != span.len()) {
            return Err(Error::BlobUploadInvalid(format!(
                "the chunk's range {}-{} does not match its length {}",
                span.start,
                span.end,
                length.unwrap_or_default()
            )));
        }
        Ok(Some(span.len()))
    }

    /// Records a successfully stored chunk.
    pub fn advance(
        &mut self,
        hasher: &Hasher,
        new_etags: Vec<String>,
        received: u64,
        now: i64,
    ) -> Result<()> {
        let mut etags = self.etags()?;
        etags.extend(new_etags);
        self.parts = serde_json::to_string(&etags).expect("strings serialize");
        self.byte_offset += received;
        self.hash_state = hasher.save();
        self.updated_at = now;
        Ok(())
    }

    /// Compares the finished hash with the digest the client claims.
    pub fn verify(hasher: Hasher, claimed: &Digest) -> Result<()> {
        if claimed.algorithm() != hasher.algorithm() {
            return Err(Error::DigestInvalid(format!(
                "upload was hashed with {} but the digest is {claimed}",
                hasher.algorithm().name()
            )));
        }
        let actual = hasher.finish();
        if &actual != claimed {
            return Err(Error::DigestInvalid(format!(
                "content digest is {actual}, not {claimed}"
            )));
        }
        Ok(())
    }
}

/// Re-cuts a stream of arbitrarily sized chunks into parts of exactly
/// [`PART_SIZE`] bytes. Each part is filled in a buffer allocated once at its final
/// size, so memory stays at one part being filled plus the parts handed out, whatever
/// the chunk sizes (growing a buffer by doubling would reserve twice that).
pub struct PartCutter {
    buf: Vec<u8>,
    part_size: usize,
}

impl PartCutter {
    /// Starts with the tail left by the previous request.
    pub fn new(tail: Vec<u8>, part_size: usize) -> Self {
        let mut buf = Vec::with_capacity(part_size);
        buf.extend_from_slice(&tail);
        PartCutter { buf, part_size }
    }

    /// Adds a chunk; returns the parts it completed.
    pub fn push(&mut self, mut chunk: &[u8]) -> Vec<Vec<u8>> {
        let mut parts = Vec::new();
        while !chunk.is_empty() {
            let take = (self.part_size - self.buf.len()).min(chunk.len());
            self.buf.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.buf.len() == self.part_size {
                parts.push(std::mem::replace(
                    &mut self.buf,
                    Vec::with_capacity(self.part_size),
                ));
            }
        }
        parts
    }

    /// What is left: less than one part.
    pub fn into_tail(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> UploadSession {
        let id = UploadId::from_random([7; 16]);
        UploadSession::new(&id, &"a/b".parse().unwrap(), Algorithm::Sha256, 100)
    }

    #[test]
    fn ids_round_trip_and_reject_foreign_strings() {
        let id = UploadId::from_random([0xab; 16]);
        assert_eq!(id.as_str().parse::<UploadId>().unwrap(), id);
        for bad in ["", "x", "../../etc", &"A".repeat(32), &"a".repeat(33)] {
            assert_eq!(bad.parse::<UploadId>(), Err(Error::BlobUploadUnknown));
        }
    }

    #[test]
    fn chunks_must_continue_at_the_offset() {
        let span = |start, end| Some(ByteRange { start, end });
        let mut s = session();
        assert_eq!(s.check_chunk(span(0, 9), Some(10)), Ok(Some(10)));
        assert_eq!(s.check_chunk(None, Some(5)), Ok(Some(5)));
        assert_eq!(s.check_chunk(None, None), Ok(None));
        assert_eq!(
            s.check_chunk(span(1, 9), None),
            Err(Error::ChunkOutOfOrder { offset: 0 })
        );
        assert!(matches!(
            s.check_chunk(span(0, 9), Some(3)),
            Err(Error::BlobUploadInvalid(_))
        ));
        let hasher = s.hasher().unwrap();
        s.advance(&hasher, vec![], 10, 101).unwrap();
        assert_eq!(s.check_chunk(span(10, 19), None), Ok(Some(10)));
        assert_eq!(
            s.check_chunk(span(0, 9), None),
            Err(Error::ChunkOutOfOrder { offset: 10 })
        );
    }

    #[test]
    fn tail_length_follows_parts() {
        let mut s = session();
        let hasher = s.hasher().unwrap();
        s.advance(
            &hasher,
            vec!["e1".into(), "e2".into()],
            2 * PART_SIZE as u64 + 5,
            101,
        )
        .unwrap();
        assert_eq!(s.tail_len().unwrap(), 5);
        assert_eq!(s.etags().unwrap(), vec!["e1", "e2"]);
    }

    #[test]
    fn sessions_expire_after_the_ttl() {
        let s = session();
        assert!(!s.expired(160, 60));
        assert!(s.expired(161, 60));
    }

    #[test]
    fn verify_compares_digests() {
        let mut h = Hasher::new(Algorithm::Sha256);
        h.update(b"hello");
        let right = Digest::of(Algorithm::Sha256, b"hello");
        assert_eq!(UploadSession::verify(h.clone(), &right), Ok(()));
        let wrong = Digest::of(Algorithm::Sha256, b"other");
        assert!(matches!(
            UploadSession::verify(h.clone(), &wrong),
            Err(Error::DigestInvalid(_))
        ));
        let other_algo = Digest::of(Algorithm::Sha512, b"hello");
        assert!(matches!(
            UploadSession::verify(h, &other_algo),
            Err(Error::DigestInvalid(_))
        ));
    }

    #[test]
    fn cutter_emits_exact_parts_and_keeps_the_tail() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for chunk in [1, 7, 10, 99, 100, 1000] {
            let mut cutter = PartCutter::new(data[..3].to_vec(), 10);
            let mut out = data[..0].to_vec();
            for c in data[3..].chunks(chunk) {
                for part in cutter.push(c) {
                    assert_eq!(part.len(), 10);
                    assert_eq!(part.capacity(), 10, "parts are never over-allocated");
                    out.extend(part);
                }
            }
            let tail = cutter.into_tail();
            assert!(tail.len() < 10);
            out.extend(tail);
            assert_eq!(out, data, "chunk size {chunk}");
        }
    }
}

//! The object storage the registry keeps bytes in, as the core sees it: what R2
//! offers (put, multipart parts, get, head, delete). The worker implements it over
//! the R2 binding, the native tests in memory, so the upload life cycle
//! ([`crate::storage::uploads`]) runs unchanged in both places.

use crate::error::Result;
use crate::oci::digest::{Algorithm, Digest};

/// A request body as it streams in, block by block.
#[allow(async_fn_in_trait)]
pub trait Body {
    /// The next block; `None` at the end of the body.
    async fn next(&mut self) -> Result<Option<Vec<u8>>>;
}

#[allow(async_fn_in_trait)]
pub trait ObjectStore {
    /// The bodies [`ObjectStore::put_verified`] can take without reading them.
    type Body: Body;

    /// Stores `bytes` under `key`. With `checksum` the store itself verifies the
    /// bytes hash to it and stores nothing when they do not (`DigestInvalid`).
    async fn put(&self, key: &str, bytes: Vec<u8>, checksum: Option<&Digest>) -> Result<()>;

    /// Streams a whole body into `key`, verified by the store against `digest`
    /// (`DigestInvalid` on a mismatch, nothing stored).
    async fn put_verified(&self, key: &str, body: Self::Body, digest: &Digest) -> Result<()>;

    /// A small object's bytes (a parked tail, a large manifest).
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// An object's size, if it exists.
    async fn head(&self, key: &str) -> Result<Option<u64>>;

    /// Hashes an object under `algorithm` as it streams back.
    async fn hash(&self, key: &str, algorithm: Algorithm) -> Result<Option<Digest>>;

    /// Deletes `key`; a key that does not exist is no error.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Starts a multipart upload that, once completed, becomes the object `key`.
    async fn create_multipart(&self, key: &str) -> Result<String>;

    /// Uploads part `number` (from 1); returns its etag.
    async fn upload_part(
        &self,
        key: &str,
        multipart_id: &str,
        number: u16,
        bytes: Vec<u8>,
    ) -> Result<String>;

    /// Completes the upload from exactly these parts, numbered from 1. The store
    /// refuses a part whose etag is not the one given: what it then holds is what
    /// the etags name, whoever else uploaded a part of that number.
    async fn complete_multipart(
        &self,
        key: &str,
        multipart_id: &str,
        etags: &[String],
    ) -> Result<()>;

    async fn abort_multipart(&self, key: &str, multipart_id: &str) -> Result<()>;
}

//! The core's [`ObjectStore`] (and garbage collection's [`Objects`]) over the R2
//! binding, and request bodies read into wasm in large blocks.

use std::time::Duration;

use tollgate_core::storage::gc::Objects;
use tollgate_core::storage::object_store::{Body, ObjectStore};
use tollgate_core::{Algorithm, Digest, Error, Hasher, Result};
use worker::{web_sys, Bucket, Data, Delay, ResponseBody, UploadedPart};

use crate::body::BlockReader;
use crate::error::internal;

#[derive(Clone)]
pub struct R2(pub Bucket);

/// A request body, read block by block once the core asks for it.
pub struct RequestBody {
    stream: web_sys::ReadableStream,
    reader: Option<BlockReader>,
}

impl RequestBody {
    pub fn new(stream: Option<web_sys::ReadableStream>) -> Option<Self> {
        stream.map(|stream| RequestBody {
            stream,
            reader: None,
        })
    }
}

fn unreadable(e: worker::Error) -> Error {
    Error::BlobUploadInvalid(format!("reading the request body failed: {e}"))
}

impl Body for RequestBody {
    async fn next(&mut self) -> Result<Option<Vec<u8>>> {
        let reader = match &mut self.reader {
            Some(reader) => reader,
            None => self
                .reader
                .insert(BlockReader::new(&self.stream).map_err(unreadable)?),
        };
        reader.next().await.map_err(unreadable)
    }
}

/// R2's documented answer to a checksum that does not match the bytes.
fn checksum_error(e: worker::Error, digest: &Digest) -> Error {
    if e.to_string()
        .contains("checksum you specified did not match")
    {
        Error::DigestInvalid(format!("content does not match {digest}"))
    } else {
        internal(e)
    }
}

/// Lets the isolate serve other requests. A body that arrives faster than it is hashed
/// resolves every read at once, so without this a long upload would hold the isolate
/// until its last byte (measured: a concurrent `GET /v2/` waited 12 s behind a
/// 300 MiB PATCH).
async fn yield_to_other_requests() {
    Delay::from(Duration::ZERO).await;
}

impl R2 {
    async fn put_data(&self, key: &str, data: Data, checksum: Option<&Digest>) -> Result<()> {
        let put = self.0.put(key, data);
        let Some(digest) = checksum else {
            put.execute().await.map_err(internal)?;
            return Ok(());
        };
        let put = match digest.algorithm() {
            Algorithm::Sha256 => put.sha256(digest.to_bytes()),
            Algorithm::Sha512 => put.sha512(digest.to_bytes()),
        };
        put.execute().await.map_err(|e| checksum_error(e, digest))?;
        Ok(())
    }
}

impl ObjectStore for R2 {
    type Body = RequestBody;

    async fn put(&self, key: &str, bytes: Vec<u8>, checksum: Option<&Digest>) -> Result<()> {
        self.put_data(key, Data::Bytes(bytes), checksum).await
    }

    /// R2 takes the body as it streams and checks the digest itself, so no byte
    /// passes through wasm.
    async fn put_verified(&self, key: &str, body: RequestBody, digest: &Digest) -> Result<()> {
        let data = Data::ReadableStream(body.stream);
        self.put_data(key, data, Some(digest)).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let Some(object) = self.0.get(key).execute().await.map_err(internal)? else {
            return Ok(None);
        };
        let body = object
            .body()
            .ok_or_else(|| Error::Internal(format!("{key} has no body")))?;
        body.bytes().await.map(Some).map_err(internal)
    }

    async fn head(&self, key: &str) -> Result<Option<u64>> {
        let object = self.0.head(key).await.map_err(internal)?;
        Ok(object.map(|o| o.size()))
    }

    async fn hash(&self, key: &str, algorithm: Algorithm) -> Result<Option<Digest>> {
        let Some(object) = self.0.get(key).execute().await.map_err(internal)? else {
            return Ok(None);
        };
        let mut hasher = Hasher::new(algorithm);
        if let Some(body) = object.body() {
            if let ResponseBody::Stream(stream) = body.response_body().map_err(internal)? {
                let mut blocks = BlockReader::new(&stream).map_err(internal)?;
                while let Some(block) = blocks.next().await.map_err(internal)? {
                    hasher.update(&block);
                }
            }
        }
        Ok(Some(hasher.finish()))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.0.delete(key).await.map_err(internal)
    }

    async fn create_multipart(&self, key: &str) -> Result<String> {
        let upload = self.0.create_multipart_upload(key).execute().await;
        Ok(upload.map_err(internal)?.upload_id().await)
    }

    async fn upload_part(
        &self,
        key: &str,
        multipart_id: &str,
        number: u16,
        bytes: Vec<u8>,
    ) -> Result<String> {
        let upload = self
            .0
            .resume_multipart_upload(key, multipart_id)
            .map_err(internal)?;
        let part = upload.upload_part(number, bytes).await.map_err(internal)?;
        yield_to_other_requests().await;
        Ok(part.etag())
    }

    async fn complete_multipart(
        &self,
        key: &str,
        multipart_id: &str,
        etags: &[String],
    ) -> Result<()> {
        let upload = self
            .0
            .resume_multipart_upload(key, multipart_id)
            .map_err(internal)?;
        let parts = etags
            .iter()
            .enumerate()
            .map(|(i, etag)| UploadedPart::new(i as u16 + 1, etag.clone()));
        upload.complete(parts).await.map_err(internal)?;
        Ok(())
    }

    async fn abort_multipart(&self, key: &str, multipart_id: &str) -> Result<()> {
        self.0
            .resume_multipart_upload(key, multipart_id)
            .map_err(internal)?
            .abort()
            .await
            .map_err(internal)
    }
}

impl Objects for R2 {
    async fn delete(&self, keys: &[&str]) -> Result<()> {
        self.0
            .delete_multiple(keys.to_vec())
            .await
            .map_err(internal)
    }

    async fn abort_multipart(&self, key: &str, multipart_id: &str) -> Result<()> {
        ObjectStore::abort_multipart(self, key, multipart_id).await
    }
}

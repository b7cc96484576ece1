//! The core's [`ObjectStore`] (and garbage collection's [`Objects`]) over the R2
//! binding, metered for `Server-Timing` like D1, and request bodies read into wasm
//! in large blocks.

use std::time::Duration;

use futures::channel::mpsc;
use futures::{stream, SinkExt, Stream};

use tollgate_core::storage::gc::Objects;
use tollgate_core::storage::object_store::{Body, ObjectStore};
use tollgate_core::{Algorithm, Digest, Error, Hasher, Result};
use tollgate_d1::Meter;
use worker::{web_sys, Bucket, Data, Delay, FixedLengthStream, Object, ResponseBody, UploadedPart};

use crate::body::{BlockReader, BLOCK_SIZE};
use crate::error::internal;

pub struct R2 {
    bucket: Bucket,
    pub meter: Meter,
}

/// A request body, read block by block once the core asks for it.
pub struct RequestBody {
    stream: web_sys::ReadableStream,
    reader: Option<BlockReader>,
    /// Where each block goes as well, if anywhere (a fetched blob's client).
    copy: Option<mpsc::Sender<worker::Result<Vec<u8>>>>,
}

impl RequestBody {
    pub fn new(stream: Option<web_sys::ReadableStream>) -> Option<Self> {
        stream.map(|stream| RequestBody {
            stream,
            reader: None,
            copy: None,
        })
    }

    /// Passes every block on to `copy` too, waiting while it is full, so the
    /// body is read no faster than `copy`'s reader takes it; a reader that went
    /// away is no longer waited for.
    pub fn copied_to(self, copy: mpsc::Sender<worker::Result<Vec<u8>>>) -> Self {
        RequestBody {
            copy: Some(copy),
            ..self
        }
    }

    async fn pass_on(&mut self, block: &[u8]) {
        let Some(copy) = &mut self.copy else { return };
        if copy.send(Ok(block.to_vec())).await.is_err() {
            self.copy = None;
        }
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
        let block = reader.next().await.map_err(unreadable)?;
        if let Some(block) = &block {
            self.pass_on(block).await;
        }
        Ok(block)
    }
}

/// A part's bytes as a stream of blocks (of the size bodies are read in), read as R2 takes
/// them: the runtime then never holds a copy of a whole part. Handed over whole,
/// each 8 MiB part was copied at once into the runtime's heap; streamed, a 1 GiB
/// pull-through's peak RSS was 7–10 MiB lower (docs/pull-through.md).
fn blocks_of(bytes: Vec<u8>) -> impl Stream<Item = worker::Result<Vec<u8>>> {
    stream::unfold((bytes, 0), |(bytes, at)| async move {
        let end = bytes.len().min(at + BLOCK_SIZE as usize);
        (at < end).then(|| (Ok(bytes[at..end].to_vec()), (bytes, end)))
    })
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
    pub fn new(bucket: Bucket) -> Self {
        R2 {
            bucket,
            meter: Meter::default(),
        }
    }

    /// The binding itself, for work outside the request's meter (the colo-cache
    /// copy, `cache::BlobBytes::fill_later`).
    pub fn bucket(&self) -> Bucket {
        self.bucket.clone()
    }

    /// The object under `key`, or the part of it `range` names.
    pub async fn read(&self, key: &str, range: Option<worker::Range>) -> Result<Option<Object>> {
        let mut get = self.bucket.get(key);
        if let Some(range) = range {
            get = get.range(range);
        }
        self.meter.time(get.execute()).await.map_err(internal)
    }

    async fn put_data(&self, key: &str, data: Data, checksum: Option<&Digest>) -> Result<()> {
        let put = self.bucket.put(key, data);
        let Some(digest) = checksum else {
            self.meter.time(put.execute()).await.map_err(internal)?;
            return Ok(());
        };
        let put = match digest.algorithm() {
            Algorithm::Sha256 => put.sha256(digest.to_bytes()),
            Algorithm::Sha512 => put.sha512(digest.to_bytes()),
        };
        self.meter
            .time(put.execute())
            .await
            .map_err(|e| checksum_error(e, digest))?;
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
        let Some(object) = self.read(key, None).await? else {
            return Ok(None);
        };
        let body = object
            .body()
            .ok_or_else(|| Error::Internal(format!("{key} has no body")))?;
        body.bytes().await.map(Some).map_err(internal)
    }

    async fn head(&self, key: &str) -> Result<Option<u64>> {
        let object = self.meter.time(self.bucket.head(key)).await;
        let object = object.map_err(internal)?;
        Ok(object.map(|o| o.size()))
    }

    async fn hash(&self, key: &str, algorithm: Algorithm) -> Result<Option<Digest>> {
        let Some(object) = self.read(key, None).await? else {
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
        self.meter
            .time(self.bucket.delete(key))
            .await
            .map_err(internal)
    }

    async fn create_multipart(&self, key: &str) -> Result<String> {
        let create = self.bucket.create_multipart_upload(key).execute();
        let upload = self.meter.time(create).await;
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
            .bucket
            .resume_multipart_upload(key, multipart_id)
            .map_err(internal)?;
        let length = bytes.len() as u64;
        let body = FixedLengthStream::wrap(blocks_of(bytes), length);
        let part = self.meter.time(upload.upload_part(number, body)).await;
        let part = part.map_err(internal)?;
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
            .bucket
            .resume_multipart_upload(key, multipart_id)
            .map_err(internal)?;
        let parts = etags
            .iter()
            .enumerate()
            .map(|(i, etag)| UploadedPart::new(i as u16 + 1, etag.clone()));
        self.meter
            .time(upload.complete(parts))
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn abort_multipart(&self, key: &str, multipart_id: &str) -> Result<()> {
        let upload = self
            .bucket
            .resume_multipart_upload(key, multipart_id)
            .map_err(internal)?;
        self.meter.time(upload.abort()).await.map_err(internal)
    }
}

impl Objects for R2 {
    async fn delete(&self, keys: &[&str]) -> Result<()> {
        self.meter
            .time(self.bucket.delete_multiple(keys.to_vec()))
            .await
            .map_err(internal)
    }

    async fn abort_multipart(&self, key: &str, multipart_id: &str) -> Result<()> {
        ObjectStore::abort_multipart(self, key, multipart_id).await
    }
}

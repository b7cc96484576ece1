//! An in-memory [`ObjectStore`] with R2's semantics, for running the upload life
//! cycle natively: faults can be injected into any call.

// Each test file uses a different part of it.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

use tollgate_core::storage::object_store::{Body, ObjectStore};
use tollgate_core::{Algorithm, Digest, Error, Result};

/// The object store calls, for naming which one fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Put,
    Get,
    Head,
    Hash,
    Delete,
    CreateMultipart,
    UploadPart,
    Complete,
    Abort,
}

#[derive(Clone, Debug, Default)]
struct Multipart {
    key: String,
    parts: BTreeMap<u16, (String, Vec<u8>)>,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Vec<u8>>,
    multiparts: BTreeMap<String, Multipart>,
    next_id: u64,
    /// Calls to fail: the op and a prefix of the key.
    faults: Vec<(Op, String)>,
}

#[derive(Default)]
pub struct Memory(RefCell<State>);

fn etag(bytes: &[u8]) -> String {
    // R2's part etags are content hashes (MD5); any content hash behaves alike.
    Digest::of(Algorithm::Sha256, bytes).hex()[..32].to_owned()
}

impl Memory {
    /// Makes the next `op` on a key starting with `prefix` fail.
    pub fn fail_next(&self, op: Op, prefix: &str) {
        self.0.borrow_mut().faults.push((op, prefix.to_owned()));
    }

    fn fault(&self, op: Op, key: &str) -> Result<()> {
        let mut state = self.0.borrow_mut();
        let hit = state
            .faults
            .iter()
            .position(|(o, p)| *o == op && key.starts_with(p.as_str()));
        match hit {
            Some(i) => {
                state.faults.remove(i);
                Err(Error::Internal(format!("injected {op:?} fault on {key}")))
            }
            None => Ok(()),
        }
    }

    /// The stored object's bytes.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.0.borrow().objects.get(key).cloned()
    }

    /// Stored object keys, in order.
    pub fn keys(&self) -> Vec<String> {
        self.0.borrow().objects.keys().cloned().collect()
    }

    /// Multipart uploads neither completed nor aborted.
    pub fn open_multiparts(&self) -> usize {
        self.0.borrow().multiparts.len()
    }

    fn multipart(&self, key: &str, id: &str) -> Result<Multipart> {
        let state = self.0.borrow();
        let upload = state.multiparts.get(id).filter(|m| m.key == key);
        upload
            .cloned()
            .ok_or_else(|| Error::Internal(format!("no multipart upload {id} for {key}")))
    }
}

fn check(bytes: &[u8], checksum: Option<&Digest>) -> Result<()> {
    match checksum {
        Some(d) if &Digest::of(d.algorithm(), bytes) != d => {
            Err(Error::DigestInvalid(format!("content does not match {d}")))
        }
        _ => Ok(()),
    }
}

impl ObjectStore for Memory {
    type Body = Chunks;

    async fn put(&self, key: &str, bytes: Vec<u8>, checksum: Option<&Digest>) -> Result<()> {
        self.fault(Op::Put, key)?;
        check(&bytes, checksum)?;
        self.0.borrow_mut().objects.insert(key.to_owned(), bytes);
        Ok(())
    }

    async fn put_verified(&self, key: &str, mut body: Chunks, digest: &Digest) -> Result<()> {
        let mut bytes = Vec::new();
        while let Some(block) = body.next().await? {
            bytes.extend(block);
        }
        self.put(key, bytes, Some(digest)).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.fault(Op::Get, key)?;
        Ok(self.object(key))
    }

    async fn head(&self, key: &str) -> Result<Option<u64>> {
        self.fault(Op::Head, key)?;
        Ok(self.object(key).map(|o| o.len() as u64))
    }

    async fn hash(&self, key: &str, algorithm: Algorithm) -> Result<Option<Digest>> {
        self.fault(Op::Hash, key)?;
        Ok(self.object(key).map(|o| Digest::of(algorithm, &o)))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.fault(Op::Delete, key)?;
        self.0.borrow_mut().objects.remove(key);
        Ok(())
    }

    async fn create_multipart(&self, key: &str) -> Result<String> {
        self.fault(Op::CreateMultipart, key)?;
        let mut state = self.0.borrow_mut();
        state.next_id += 1;
        let id = format!("mp{}", state.next_id);
        let upload = Multipart {
            key: key.to_owned(),
            ..Multipart::default()
        };
        state.multiparts.insert(id.clone(), upload);
        Ok(id)
    }

    async fn upload_part(
        &self,
        key: &str,
        multipart_id: &str,
        number: u16,
        bytes: Vec<u8>,
    ) -> Result<String> {
        self.fault(Op::UploadPart, key)?;
        self.multipart(key, multipart_id)?;
        let tag = etag(&bytes);
        let mut state = self.0.borrow_mut();
        let upload = state.multiparts.get_mut(multipart_id).expect("checked");
        upload.parts.insert(number, (tag.clone(), bytes));
        Ok(tag)
    }

    async fn complete_multipart(
        &self,
        key: &str,
        multipart_id: &str,
        etags: &[String],
    ) -> Result<()> {
        self.fault(Op::Complete, key)?;
        let upload = self.multipart(key, multipart_id)?;
        let mut bytes = Vec::new();
        for (i, wanted) in etags.iter().enumerate() {
            match upload.parts.get(&(i as u16 + 1)) {
                Some((tag, part)) if tag == wanted => bytes.extend_from_slice(part),
                _ => return Err(Error::Internal(format!("InvalidPart {}", i + 1))),
            }
        }
        let mut state = self.0.borrow_mut();
        state.multiparts.remove(multipart_id);
        state.objects.insert(key.to_owned(), bytes);
        Ok(())
    }

    async fn abort_multipart(&self, key: &str, multipart_id: &str) -> Result<()> {
        self.fault(Op::Abort, key)?;
        self.multipart(key, multipart_id)?;
        self.0.borrow_mut().multiparts.remove(multipart_id);
        Ok(())
    }
}

/// A request body: blocks handed out in order, optionally failing after some.
#[derive(Clone, Debug, Default)]
pub struct Chunks {
    blocks: VecDeque<Vec<u8>>,
    /// Blocks handed out before the connection drops.
    fail_after: Option<usize>,
}

impl Chunks {
    /// `data` in blocks of at most `block` bytes.
    pub fn new(data: &[u8], block: usize) -> Self {
        Chunks {
            blocks: data.chunks(block.max(1)).map(<[u8]>::to_vec).collect(),
            fail_after: None,
        }
    }

    /// The body drops after `n` blocks.
    pub fn failing_after(mut self, n: usize) -> Self {
        self.fail_after = Some(n);
        self
    }
}

impl Body for Chunks {
    async fn next(&mut self) -> Result<Option<Vec<u8>>> {
        if let Some(n) = &mut self.fail_after {
            if *n == 0 {
                return Err(Error::BlobUploadInvalid("connection reset".into()));
            }
            *n -= 1;
        }
        Ok(self.blocks.pop_front())
    }
}

thread_local! {
    static CLOCK: std::cell::Cell<i64> = const { std::cell::Cell::new(1_000_000) };
    static RANDOM: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A platform whose clock the test moves ([`advance_clock`]) and whose random bytes
/// count up, so ids are distinct and reproducible.
pub fn platform() -> tollgate_core::storage::uploads::Platform {
    tollgate_core::storage::uploads::Platform {
        clock: || CLOCK.with(|c| c.get()),
        random: || {
            Ok(RANDOM.with(|r| {
                r.set(r.get() + 1);
                let mut bytes = [0; 16];
                bytes[..8].copy_from_slice(&r.get().to_be_bytes());
                bytes
            }))
        },
    }
}

pub fn advance_clock(seconds: i64) {
    CLOCK.with(|c| c.set(c.get() + seconds));
}

/// The test platform's clock.
pub fn clock() -> i64 {
    CLOCK.with(|c| c.get())
}

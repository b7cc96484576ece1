//! The upload life cycle run natively, over SQLite built from `migrations/` and the
//! in-memory object store: start, append, status, resume, finish, dedup, cancel,
//! expiry, and what failures leave behind.

mod memory;
mod sqlite;

use std::cell::Cell;

use futures::executor::block_on;
use memory::{advance_clock, clock, platform, Chunks, Memory, Op};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlite::Sqlite;
use tollgate_core::oci::range::ByteRange;
use tollgate_core::oci::upload_session::{UploadId, UploadSession, PART_SIZE};
use tollgate_core::storage::gc::Gc;
use tollgate_core::storage::sql::{Sql, Statement};
use tollgate_core::storage::store::Store;
use tollgate_core::storage::uploads::{Chunk, Uploads};
use tollgate_core::{Algorithm, Digest, Error, RepoName};

const TTL: i64 = 3600;

fn repo(s: &str) -> RepoName {
    s.parse().unwrap()
}

fn sha256(data: &[u8]) -> Digest {
    Digest::of(Algorithm::Sha256, data)
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// Whether an injected database fault strikes before the batch runs or after it
/// committed (the answer lost on the way back).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Strikes {
    Before,
    After,
}

/// The database, failing the next batch whose first statement contains a text.
struct Faulty {
    db: Sqlite,
    fault: Cell<Option<(&'static str, Strikes)>>,
}

impl Sql for Faulty {
    async fn query<T: DeserializeOwned>(
        &self,
        statement: Statement,
    ) -> tollgate_core::Result<Vec<T>> {
        self.db.query(statement).await
    }

    async fn query_all(
        &self,
        statements: Vec<Statement>,
    ) -> tollgate_core::Result<Vec<Vec<Value>>> {
        self.db.query_all(statements).await
    }

    async fn batch(&self, statements: Vec<Statement>) -> tollgate_core::Result<Vec<u64>> {
        let hit = self
            .fault
            .get()
            .filter(|(text, _)| statements.first().is_some_and(|s| s.sql.contains(text)));
        let Some((_, strikes)) = hit else {
            return self.db.batch(statements).await;
        };
        self.fault.set(None);
        if strikes == Strikes::After {
            self.db.batch(statements).await?;
        }
        Err(Error::Internal("injected database fault".into()))
    }
}

struct World {
    db: Faulty,
    objects: Memory,
}

impl World {
    fn new() -> Self {
        World {
            db: Faulty {
                db: Sqlite::migrated(),
                fault: Cell::new(None),
            },
            objects: Memory::default(),
        }
    }

    /// The life cycle as one request sees it; a new one is a new request (or a
    /// restarted isolate: nothing is kept in between).
    fn uploads(&self) -> Uploads<'_, Faulty, Memory> {
        Uploads::new(&self.db, &self.objects, platform(), TTL)
    }

    /// Makes the next batch that saves a session fail.
    fn fail_save(&self, strikes: Strikes) {
        let fault = ("UPDATE uploads SET byte_offset", strikes);
        self.db.fault.set(Some(fault));
    }

    fn start(&self) -> UploadSession {
        block_on(self.uploads().start(&repo("a/b"))).unwrap()
    }

    /// PATCH of `data` at the offset it names, in blocks of `block`.
    fn patch(
        &self,
        id: &UploadId,
        at: u64,
        data: &[u8],
        block: usize,
    ) -> Result<UploadSession, Error> {
        let span = ByteRange {
            start: at,
            end: at + data.len() as u64 - 1,
        };
        let chunk = Chunk {
            span: Ok(Some(span)),
            length: Some(data.len() as u64),
        };
        let body = Some(Chunks::new(data, block));
        block_on(self.uploads().append(&repo("a/b"), id, chunk, body))
    }

    fn finish(&self, id: &UploadId, digest: &Digest, last: &[u8]) -> Result<(), Error> {
        let chunk = Chunk {
            span: Ok(None),
            length: Some(last.len() as u64),
        };
        let body = (!last.is_empty()).then(|| Chunks::new(last, 1 << 20));
        block_on(self.uploads().finish(&repo("a/b"), id, digest, chunk, body))
    }

    /// A blob fetched from an upstream that announced `size` bytes.
    fn fetch(&self, digest: &Digest, data: &[u8], size: usize) -> Result<(), Error> {
        let body = Chunks::new(data, 1 << 20);
        let size = size as u64;
        block_on(self.uploads().put_fetched(&repo("a/b"), digest, size, body))
    }

    /// The bytes `repo` serves for `digest`, after checking they hash to it.
    fn served(&self, r: &str, digest: &Digest) -> Option<Vec<u8>> {
        let row = block_on(Store::new(&self.db).blob(&repo(r), digest)).unwrap()?;
        let bytes = self
            .objects
            .object(&row.object_key)
            .expect("blob object stored");
        assert_eq!(
            &Digest::of(digest.algorithm(), &bytes),
            digest,
            "stored bytes hash to the digest"
        );
        assert_eq!(row.size, bytes.len() as u64);
        Some(bytes)
    }

    fn session(&self, id: &UploadId) -> Result<UploadSession, Error> {
        block_on(self.uploads().status(&repo("a/b"), id))
    }

    /// Object keys other than blobs: what a finished or abandoned upload must not
    /// leave.
    fn leftovers(&self) -> Vec<String> {
        let blobs = self.blob_keys();
        let keys = self.objects.keys().into_iter();
        keys.filter(|k| !blobs.contains(k)).collect()
    }

    fn blob_keys(&self) -> Vec<String> {
        #[derive(serde::Deserialize)]
        struct Row {
            object_key: String,
        }
        let rows: Vec<Row> = block_on(
            self.db
                .query(tollgate_core::stmt!("SELECT object_key FROM blobs")),
        )
        .unwrap();
        rows.into_iter().map(|r| r.object_key).collect()
    }
}

#[test]
fn chunked_upload_across_parts_becomes_the_blob() {
    let w = World::new();
    let data = bytes(2 * PART_SIZE + 1000, 1);
    let id = w.start().upload_id();
    let first = PART_SIZE + 10;
    let s = w.patch(&id, 0, &data[..first], 1 << 20).unwrap();
    assert_eq!(s.byte_offset, first as u64);
    assert_eq!(s.etags().unwrap().len(), 1);
    let s = w
        .patch(&id, first as u64, &data[first..data.len() - 7], 300_000)
        .unwrap();
    assert_eq!(s.etags().unwrap().len(), 2);
    w.finish(&id, &sha256(&data), &data[data.len() - 7..])
        .unwrap();
    assert_eq!(w.served("a/b", &sha256(&data)).unwrap(), data);
    assert_eq!(w.session(&id), Err(Error::BlobUploadUnknown));
    assert_eq!(w.leftovers(), Vec::<String>::new());
    assert_eq!(w.objects.open_multiparts(), 0);
}

#[test]
fn small_chunks_resume_after_a_restart() {
    let w = World::new();
    let data = bytes(3000, 2);
    let id = w.start().upload_id();
    w.patch(&id, 0, &data[..1000], 100).unwrap();
    // Every call builds its own `Uploads`: the next request may reach another isolate.
    let s = w.session(&id).unwrap();
    assert_eq!(s.byte_offset, 1000);
    w.patch(&id, 1000, &data[1000..2000], 7).unwrap();
    w.finish(&id, &sha256(&data), &data[2000..]).unwrap();
    assert_eq!(w.served("a/b", &sha256(&data)).unwrap(), data);
    assert_eq!(w.leftovers(), Vec::<String>::new());
}

#[test]
fn whole_blob_in_one_request_is_verified_by_the_store() {
    let w = World::new();
    let data = bytes(5000, 3);
    let put = |digest: &Digest| {
        let body = Some(Chunks::new(&data, 1024));
        block_on(w.uploads().put_blob(&repo("a/b"), digest, Some(5000), body))
    };
    assert!(matches!(
        put(&sha256(b"other")),
        Err(Error::DigestInvalid(_))
    ));
    assert_eq!(w.objects.keys(), Vec::<String>::new());
    put(&sha256(&data)).unwrap();
    assert_eq!(w.served("a/b", &sha256(&data)).unwrap(), data);
}

#[test]
fn finish_with_a_wrong_digest_stores_nothing() {
    let w = World::new();
    let data = bytes(PART_SIZE + 500, 4);
    let id = w.start().upload_id();
    w.patch(&id, 0, &data[..PART_SIZE + 100], 1 << 20).unwrap();
    let wrong = sha256(b"not it");
    assert!(matches!(
        w.finish(&id, &wrong, &data[PART_SIZE + 100..]),
        Err(Error::DigestInvalid(_))
    ));
    assert_eq!(
        w.objects.keys(),
        Vec::<String>::new(),
        "tail and object gone"
    );
    assert_eq!(w.objects.open_multiparts(), 0, "multipart upload aborted");
    assert_eq!(w.session(&id), Err(Error::BlobUploadUnknown));
    assert_eq!(w.served("a/b", &wrong), None);
}

#[test]
fn sha512_digests_hash_a_fresh_session_or_re_read_a_chunked_one() {
    let w = World::new();
    let data = bytes(4000, 5);
    let d512 = Digest::of(Algorithm::Sha512, &data);
    let id = w.start().upload_id();
    w.finish(&id, &d512, &data).unwrap();
    assert_eq!(w.served("a/b", &d512).unwrap(), data);

    let w = World::new();
    let id = w.start().upload_id();
    w.patch(&id, 0, &data[..1000], 1 << 20).unwrap();
    let wrong = Digest::of(Algorithm::Sha512, b"x");
    assert!(matches!(
        w.finish(&id, &wrong, &data[1000..]),
        Err(Error::DigestInvalid(_))
    ));
    assert_eq!(w.objects.keys(), Vec::<String>::new());
    let id = w.start().upload_id();
    w.patch(&id, 0, &data[..1000], 1 << 20).unwrap();
    w.finish(&id, &d512, &data[1000..]).unwrap();
    assert_eq!(w.served("a/b", &d512).unwrap(), data);
}

#[test]
fn content_is_stored_once_across_repositories() {
    let w = World::new();
    let data = bytes(2000, 6);
    let digest = sha256(&data);
    let first = w.start().upload_id();
    w.finish(&first, &digest, &data).unwrap();
    let second = w.start().upload_id();
    w.patch(&second, 0, &data[..10], 1 << 20).unwrap();
    w.finish(&second, &digest, &data[10..]).unwrap();
    assert_eq!(w.served("a/b", &digest).unwrap(), data);
    assert_eq!(
        w.objects.keys(),
        vec![first.object_key()],
        "the second upload left nothing"
    );
}

#[test]
fn mount_links_only_what_the_source_holds() {
    let w = World::new();
    let data = bytes(100, 7);
    let digest = sha256(&data);
    let uploads = w.uploads();
    assert!(!block_on(uploads.mount(&repo("a/b"), &repo("c/d"), &digest)).unwrap());
    w.finish(&w.start().upload_id(), &digest, &data).unwrap();
    assert!(block_on(uploads.mount(&repo("a/b"), &repo("c/d"), &digest)).unwrap());
    assert_eq!(w.served("c/d", &digest).unwrap(), data);
}

#[test]
fn chunks_must_continue_at_the_offset_and_keep_their_length() {
    let w = World::new();
    let id = w.start().upload_id();
    w.patch(&id, 0, b"abc", 10).unwrap();
    assert_eq!(
        w.patch(&id, 0, b"abc", 10),
        Err(Error::ChunkOutOfOrder { offset: 3 })
    );
    let short = Chunk {
        span: Ok(Some(ByteRange { start: 3, end: 9 })),
        length: Some(7),
    };
    let body = Some(Chunks::new(b"def", 10));
    let r = block_on(w.uploads().append(&repo("a/b"), &id, short, body));
    assert!(matches!(r, Err(Error::BlobUploadInvalid(_))));
    assert_eq!(w.session(&id).unwrap().byte_offset, 3);
}

#[test]
fn a_session_belongs_to_its_repository() {
    let w = World::new();
    let id = w.start().upload_id();
    let r = block_on(w.uploads().status(&repo("other/repo"), &id));
    assert_eq!(r, Err(Error::BlobUploadUnknown));
}

#[test]
fn cancel_discards_the_bytes() {
    let w = World::new();
    let id = w.start().upload_id();
    w.patch(&id, 0, &bytes(PART_SIZE + 3, 8), 1 << 20).unwrap();
    block_on(w.uploads().cancel(&repo("a/b"), &id)).unwrap();
    assert_eq!(w.session(&id), Err(Error::BlobUploadUnknown));
    assert_eq!(w.objects.keys(), Vec::<String>::new());
    assert_eq!(w.objects.open_multiparts(), 0);
}

#[test]
fn an_idle_session_expires_with_its_bytes() {
    let w = World::new();
    let id = w.start().upload_id();
    w.patch(&id, 0, b"abc", 10).unwrap();
    advance_clock(TTL);
    assert!(w.session(&id).is_ok(), "idle exactly the ttl");
    advance_clock(1);
    assert_eq!(w.session(&id), Err(Error::BlobUploadUnknown));
    assert_eq!(w.objects.keys(), Vec::<String>::new());
}

#[test]
fn a_patch_that_fails_midway_leaves_the_session_as_it_was() {
    let w = World::new();
    let data = bytes(PART_SIZE + 2000, 9);
    let id = w.start().upload_id();
    w.patch(&id, 0, &data[..1000], 1 << 20).unwrap();
    let span = ByteRange {
        start: 1000,
        end: data.len() as u64 - 1,
    };
    let chunk = Chunk {
        span: Ok(Some(span)),
        length: Some(data.len() as u64 - 1000),
    };
    // The connection drops after the first part went to the store.
    let body = Some(Chunks::new(&data[1000..], PART_SIZE).failing_after(1));
    let r = block_on(w.uploads().append(&repo("a/b"), &id, chunk, body));
    assert!(matches!(r, Err(Error::BlobUploadInvalid(_))));
    assert_eq!(w.session(&id).unwrap().byte_offset, 1000);
    w.patch(&id, 1000, &data[1000..], 1 << 20).unwrap();
    w.finish(&id, &sha256(&data), &[]).unwrap();
    assert_eq!(w.served("a/b", &sha256(&data)).unwrap(), data);
}

#[test]
fn a_store_fault_while_parking_the_tail_leaves_the_session_as_it_was() {
    let w = World::new();
    let data = bytes(3000, 10);
    let id = w.start().upload_id();
    w.patch(&id, 0, &data[..1000], 1 << 20).unwrap();
    w.objects.fail_next(Op::Put, "tails/");
    assert!(w.patch(&id, 1000, &data[1000..2000], 1 << 20).is_err());
    assert_eq!(w.session(&id).unwrap().byte_offset, 1000);
    w.patch(&id, 1000, &data[1000..2000], 1 << 20).unwrap();
    w.finish(&id, &sha256(&data), &data[2000..]).unwrap();
    assert_eq!(w.served("a/b", &sha256(&data)).unwrap(), data);
}

#[test]
fn a_failed_completion_discards_the_upload() {
    let w = World::new();
    let data = bytes(PART_SIZE + 10, 11);
    let id = w.start().upload_id();
    w.patch(&id, 0, &data, 1 << 20).unwrap();
    w.objects.fail_next(Op::Complete, "blobs/");
    assert!(w.finish(&id, &sha256(&data), &[]).is_err());
    assert_eq!(w.served("a/b", &sha256(&data)), None);
    assert_eq!(w.objects.keys(), Vec::<String>::new());
    assert_eq!(w.objects.open_multiparts(), 0);
    assert_eq!(w.session(&id), Err(Error::BlobUploadUnknown));
}

#[test]
fn a_save_that_fails_after_the_tail_was_written_can_be_retried() {
    let w = World::new();
    let data = bytes(3000, 12);
    let id = w.start().upload_id();
    w.patch(&id, 0, &data[..1000], 1 << 20).unwrap();
    w.fail_save(Strikes::Before);
    assert!(w.patch(&id, 1000, &data[1000..2000], 1 << 20).is_err());
    assert_eq!(w.session(&id).unwrap().byte_offset, 1000);
    // The failed request's tail is its own: the session's is intact for the retry.
    w.patch(&id, 1000, &data[1000..2000], 1 << 20).unwrap();
    w.finish(&id, &sha256(&data), &data[2000..]).unwrap();
    assert_eq!(w.served("a/b", &sha256(&data)).unwrap(), data);
}

#[test]
fn a_save_whose_answer_was_lost_counts_and_the_upload_goes_on() {
    let w = World::new();
    let data = bytes(3000, 13);
    let id = w.start().upload_id();
    w.patch(&id, 0, &data[..1000], 1 << 20).unwrap();
    w.fail_save(Strikes::After);
    assert!(w.patch(&id, 1000, &data[1000..2000], 1 << 20).is_err());
    // A retry learns the chunk arrived, as a client asking for the status would.
    assert_eq!(
        w.patch(&id, 1000, &data[1000..2000], 1 << 20),
        Err(Error::ChunkOutOfOrder { offset: 2000 })
    );
    w.finish(&id, &sha256(&data), &data[2000..]).unwrap();
    assert_eq!(w.served("a/b", &sha256(&data)).unwrap(), data);
}

#[test]
fn a_fetched_blob_is_stored_in_parts_and_linked_once() {
    let w = World::new();
    let data = bytes(2 * PART_SIZE + 100, 5);
    let digest = sha256(&data);
    w.fetch(&digest, &data, data.len()).unwrap();
    assert_eq!(w.served("a/b", &digest).unwrap(), data);
    let first = w.blob_keys();
    // A concurrent first pull that lost: the first object stays, its own goes.
    w.fetch(&digest, &data, data.len()).unwrap();
    assert_eq!(w.blob_keys(), first);
    assert_eq!(w.objects.keys(), first);
    assert_eq!(w.objects.open_multiparts(), 0);
}

#[test]
fn a_fetched_blob_whose_bytes_or_length_are_wrong_leaves_nothing() {
    let w = World::new();
    let data = bytes(PART_SIZE + 100, 6);
    let digest = sha256(&data);
    assert!(matches!(
        w.fetch(&sha256(b"other"), &data, data.len()),
        Err(Error::DigestInvalid(_))
    ));
    assert!(matches!(
        w.fetch(&digest, &data, data.len() + 1),
        Err(Error::SizeInvalid(_))
    ));
    assert_eq!(w.objects.keys(), Vec::<String>::new());
    assert_eq!(w.objects.open_multiparts(), 0);
    assert_eq!(w.served("a/b", &digest), None);
}

#[test]
fn a_fetch_that_dies_before_its_link_leaves_its_object_to_collection() {
    let w = World::new();
    let data = bytes(PART_SIZE + 100, 7);
    w.db.fault
        .set(Some(("INSERT OR IGNORE INTO blobs", Strikes::Before)));
    assert!(w.fetch(&sha256(&data), &data, data.len()).is_err());
    let stored = w.objects.keys();
    assert_eq!(stored.len(), 1, "completed, never linked");
    let gc = Gc::new(&w.db);
    assert!(
        block_on(gc.queued(clock(), 10)).unwrap().is_empty(),
        "not due yet"
    );
    let due = block_on(gc.queued(clock() + 3600, 10)).unwrap();
    let queued: Vec<(&str, bool)> = due
        .iter()
        .map(|q| (q.object_key.as_str(), q.in_use))
        .collect();
    assert_eq!(queued, [(stored[0].as_str(), false)]);
}

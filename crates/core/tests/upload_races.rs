//! Requests on one upload session racing each other, in every interleaving of their
//! calls to the database, the object store and their bodies (for the longer races,
//! every one with at most three preemptions). Whatever the order, no blob may be
//! recorded whose stored bytes differ from its digest, and of two PATCHes at one
//! offset exactly one counts (docs/registry.md, "Uploads").

mod interleave;
mod memory;
mod sqlite;

use std::rc::Rc;

use futures::executor::block_on;
use interleave::{
    every_interleaving, run, turn, Request, Scheduler, StepBody, StepObjects, StepSql,
};
use memory::{platform, Chunks, Memory};
use serde::Deserialize;
use sqlite::Sqlite;
use tollgate_core::oci::range::ByteRange;
use tollgate_core::oci::upload_session::{UploadId, PART_SIZE};
use tollgate_core::storage::sql::Sql;
use tollgate_core::storage::uploads::{Chunk, Uploads};
use tollgate_core::{stmt, Algorithm, Digest, RepoName, Result};

const TTL: i64 = 3600;

fn repo() -> RepoName {
    "race/repo".parse().unwrap()
}

fn sha256(data: &[u8]) -> Digest {
    Digest::of(Algorithm::Sha256, data)
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect()
}

/// What a request does to the session.
enum Call {
    /// PATCH of these bytes at the offset the session had when the race began.
    Patch(Vec<u8>),
    /// PUT ?digest= of the content so far plus these bytes.
    Finish(Vec<u8>),
}

/// A session with `before` received, and the requests that race on it.
struct Race {
    before: Vec<u8>,
    calls: [Call; 2],
    /// Bytes per body block: smaller blocks make more interleavings.
    block: usize,
}

#[derive(Deserialize)]
struct BlobRow {
    digest: String,
    object_key: String,
}

/// Every blob row's object hashes to its digest.
fn assert_blobs_intact(db: &Sqlite, objects: &Memory, schedule: &[usize]) {
    let rows: Vec<BlobRow> =
        block_on(db.query(stmt!("SELECT digest, object_key FROM blobs"))).unwrap();
    for row in rows {
        let digest: Digest = row.digest.parse().unwrap();
        let stored = objects.object(&row.object_key);
        let actual = stored.as_deref().map(|b| Digest::of(digest.algorithm(), b));
        assert_eq!(
            actual.as_ref(),
            Some(&digest),
            "blob {digest} corrupt after schedule {schedule:?}"
        );
    }
}

impl Race {
    fn chunk(&self, data: &[u8]) -> (ByteRange, u64) {
        let (at, len) = (self.before.len() as u64, data.len() as u64);
        let span = ByteRange {
            start: at,
            end: at + len - 1,
        };
        (span, len)
    }

    fn request<'a>(
        &'a self,
        uploads: Uploads<'a, StepSql<'a>, StepObjects<'a>>,
        id: &'a UploadId,
        call: &'a Call,
        body: impl FnOnce(&[u8]) -> StepBody + 'a,
    ) -> Request<'a, (Result<()>, Vec<u8>)> {
        Box::pin(async move {
            match call {
                Call::Patch(data) => {
                    let (span, length) = self.chunk(data);
                    let chunk = Chunk {
                        span: Ok(Some(span)),
                        length: Some(length),
                    };
                    let r = uploads.append(&repo(), id, chunk, Some(body(data))).await;
                    (r.map(|_| ()), [&self.before[..], data].concat())
                }
                Call::Finish(data) => {
                    let content = [&self.before[..], data].concat();
                    let chunk = Chunk {
                        span: Ok(None),
                        length: Some(data.len() as u64),
                    };
                    let body = (!data.is_empty()).then(|| body(data));
                    let r = uploads
                        .finish(&repo(), id, &sha256(&content), chunk, body)
                        .await;
                    (r, content)
                }
            }
        })
    }

    /// Runs the race in one schedule and checks its outcome.
    fn run(&self, prefix: &[usize]) -> Vec<interleave::Step> {
        let db = Sqlite::migrated();
        let objects = Memory::default();
        let plain = Uploads::new(&db, &objects, platform(), TTL);
        let id = block_on(plain.start(&repo())).unwrap().upload_id();
        if !self.before.is_empty() {
            let span = ByteRange {
                start: 0,
                end: self.before.len() as u64 - 1,
            };
            let chunk = Chunk {
                span: Ok(Some(span)),
                length: Some(span.len()),
            };
            block_on(plain.append(
                &repo(),
                &id,
                chunk,
                Some(Chunks::new(&self.before, 1 << 20)),
            ))
            .unwrap();
        }
        let scheduler = Rc::new(Scheduler::default());
        let sqls = [0, 1].map(|who| StepSql {
            inner: &db,
            turn: turn(&scheduler, who),
        });
        let stores = [0, 1].map(|who| StepObjects {
            inner: &objects,
            turn: turn(&scheduler, who),
        });
        let requests = (0..2)
            .map(|who| {
                let uploads = Uploads::new(&sqls[who], &stores[who], platform(), TTL);
                let block = self.block;
                let t = turn(&scheduler, who);
                let body = move |data: &[u8]| StepBody {
                    inner: Chunks::new(data, block),
                    turn: t,
                };
                self.request(uploads, &id, &self.calls[who], body)
            })
            .collect();
        let (results, steps) = run(&scheduler, requests, prefix);
        let schedule: Vec<usize> = steps.iter().map(|s| s.who).collect();
        assert_blobs_intact(&db, &objects, &schedule);
        self.finish_winner(&db, &objects, &plain, &id, &results, &schedule);
        assert_blobs_intact(&db, &objects, &schedule);
        steps
    }

    /// When two PATCHes raced, the one that succeeded is what the upload holds:
    /// finishing with its content stores exactly that.
    fn finish_winner(
        &self,
        db: &Sqlite,
        objects: &Memory,
        plain: &Uploads<'_, Sqlite, Memory>,
        id: &UploadId,
        results: &[(Result<()>, Vec<u8>)],
        schedule: &[usize],
    ) {
        if !self.calls.iter().all(|c| matches!(c, Call::Patch(_))) {
            return;
        }
        let accepted: Vec<&Vec<u8>> = results
            .iter()
            .filter(|r| r.0.is_ok())
            .map(|r| &r.1)
            .collect();
        let [content] = accepted[..] else {
            let outcomes: Vec<_> = results.iter().map(|r| &r.0).collect();
            panic!("schedule {schedule:?}: not one PATCH accepted: {outcomes:?}");
        };
        let digest = sha256(content);
        let r = block_on(plain.finish(&repo(), id, &digest, Chunk::default(), None));
        assert_eq!(
            r,
            Ok(()),
            "schedule {schedule:?}: finishing the accepted content"
        );
        let stored =
            block_on(tollgate_core::storage::store::Store::new(db).stored_blob(&digest)).unwrap();
        assert!(stored.is_some(), "schedule {schedule:?}: blob recorded");
        let keys = objects.keys();
        assert_eq!(
            keys,
            vec![id.object_key()],
            "schedule {schedule:?}: only the blob is left"
        );
        assert_eq!(
            objects.open_multiparts(),
            0,
            "schedule {schedule:?}: no multipart upload left"
        );
    }
}

/// Runs `race` in every schedule with at most `max_preemptions`; returns how many.
fn explore(race: &Race, max_preemptions: usize) -> usize {
    every_interleaving(max_preemptions, |prefix| race.run(prefix))
}

const ALL: usize = usize::MAX;

#[test]
fn two_patches_at_the_offset_of_a_fresh_session() {
    let race = Race {
        before: vec![],
        calls: [Call::Patch(bytes(6, 1)), Call::Patch(bytes(6, 2))],
        block: 3,
    };
    assert!(explore(&race, ALL) > 10);
}

#[test]
fn two_patches_at_the_offset_of_a_session_with_a_parked_tail() {
    let race = Race {
        before: bytes(5, 3),
        calls: [Call::Patch(bytes(6, 4)), Call::Patch(bytes(6, 5))],
        block: 3,
    };
    assert!(explore(&race, 3) > 10);
}

#[test]
fn two_patches_of_different_lengths_at_one_offset() {
    let race = Race {
        before: bytes(5, 6),
        calls: [Call::Patch(bytes(4, 7)), Call::Patch(bytes(9, 8))],
        block: 4,
    };
    assert!(explore(&race, 3) > 10);
}

#[test]
fn two_patches_filling_the_same_part() {
    // Both complete part 1 and park a tail; the store keeps whichever part came last.
    let race = Race {
        before: bytes(PART_SIZE - 3, 9),
        calls: [Call::Patch(bytes(10, 10)), Call::Patch(bytes(10, 11))],
        block: 10,
    };
    assert!(explore(&race, 2) > 10);
}

#[test]
fn a_patch_racing_a_finish() {
    let race = Race {
        before: bytes(5, 12),
        calls: [Call::Patch(bytes(6, 13)), Call::Finish(bytes(6, 14))],
        block: 3,
    };
    assert!(explore(&race, 3) > 10);
}

#[test]
fn two_finishes_with_different_last_chunks() {
    let race = Race {
        before: bytes(5, 15),
        calls: [Call::Finish(bytes(6, 16)), Call::Finish(bytes(6, 17))],
        block: 3,
    };
    assert!(explore(&race, 3) > 10);
}

#[test]
fn two_finishes_of_a_fresh_session_each_with_the_whole_blob() {
    let race = Race {
        before: vec![],
        calls: [Call::Finish(bytes(6, 18)), Call::Finish(bytes(6, 19))],
        block: 3,
    };
    assert!(explore(&race, 3) > 10);
}

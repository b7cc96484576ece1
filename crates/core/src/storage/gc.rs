//! Garbage collection, run by the scheduled job (docs/gc.md): blob links no manifest
//! of their repository references, blobs no repository links, expired upload
//! sessions and the R2 objects of deleted large manifests.
//!
//! Removal has two phases, so a run that dies half-way leaves nothing half-done:
//! 1. [`Gc::collect`], one D1 batch (atomic), deletes the rows of what is garbage and,
//!    in the same batch, queues the R2 keys they leave behind in `gc_objects`;
//! 2. the queued R2 objects are deleted and multipart uploads aborted
//!    ([`Objects`]), and only then their queue rows deleted ([`Gc::finished`]).
//!
//! A run works off the queue first, so what a crashed run queued is finished by the
//! next. Phase 1 races no push: D1 runs one batch at a time, a manifest push checks
//! the repository's blob links in the batch that stores it, and a link or blob
//! younger than the grace period is never garbage. A queued object waits
//! [`Settings::settle`] before phase 2 takes it, and phase 2 leaves it in R2 when a
//! blob or manifest row uses it again by then: an upload reusing a stored blob's
//! object, which read the row just before phase 1 removed it, links it well within
//! that time. Large manifests need no such care: each push writes an object of its
//! own ([`crate::storage::manifest_objects`]), never one that is queued.

use std::fmt;

use serde::Deserialize;

use crate::error::Result;
use crate::stmt;
use crate::storage::sql::Sql;

/// How long a blob link or blob may go unreferenced before it is garbage, unless
/// `GC_GRACE_SECONDS` says otherwise.
pub const DEFAULT_GRACE_SECONDS: i64 = 24 * 60 * 60;

/// Rows of each kind one phase-1 batch takes, and queued objects one phase-2 round
/// works off.
pub const BATCH: u64 = 500;

/// D1 queries and R2 calls one run may make: a Worker invocation may make about
/// 1,000 of them.
pub const BUDGET: u64 = 900;

/// The most a queued object waits before it is deleted (see [`Settings::settle`]).
pub const MAX_SETTLE_SECONDS: i64 = 5 * 60;

/// Phase 1 queues nothing more while this many objects wait for phase 2.
pub const MAX_QUEUED: u64 = 5_000;

/// Phase-1 batches one run makes at most.
const MAX_ROUNDS: u32 = 20;

/// Keys per R2 `delete` call (R2 takes up to 1,000).
const DELETE_CHUNK: usize = 1_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Seconds a blob link or blob stays, unreferenced, before it is garbage.
    pub grace: i64,
    /// `UPLOAD_TTL_SECONDS`: an upload session idle longer is expired.
    pub upload_ttl: i64,
    /// Rows per kind per phase-1 batch; queued objects per phase-2 round.
    pub batch: u64,
    /// D1 queries and R2 calls per run.
    pub budget: u64,
}

impl Settings {
    pub fn new(grace: i64, upload_ttl: i64) -> Self {
        Settings {
            grace,
            upload_ttl,
            batch: BATCH,
            budget: BUDGET,
        }
    }

    /// Seconds a queued object waits before it is deleted, and that an upload session
    /// stays after it expired (a request that found it live may still be streaming).
    /// At most the grace period, so tests with a short grace are quick.
    pub fn settle(&self) -> i64 {
        self.grace.clamp(0, MAX_SETTLE_SECONDS)
    }
}

/// An R2 object queued for deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub object_key: String,
    /// `blob`, `manifest`, `upload` (an expired session's object) or `tail`.
    pub kind: String,
    /// The multipart upload to abort first, for an expired session that had one.
    pub multipart_id: Option<String>,
    pub queued_at: i64,
    /// A blob or manifest row uses the object again: it stays.
    pub in_use: bool,
}

#[derive(Deserialize)]
struct QueuedRow {
    object_key: String,
    kind: String,
    multipart_id: Option<String>,
    queued_at: i64,
    in_use: i64,
}

/// What one phase-1 batch removed from D1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Collected {
    /// Blob links no manifest of their repository references.
    pub links: u64,
    /// Blobs no repository links and no manifest references; each queues its object.
    pub blobs: u64,
    /// Expired upload sessions; each queues its object and, if it had bytes, its tail.
    pub uploads: u64,
    /// Objects of deleted large manifests that no manifest uses any more, queued.
    pub manifests: u64,
    /// Deleted-manifest objects found in use by another manifest row: dropped as
    /// candidates, the object stays.
    pub manifests_in_use: u64,
}

impl Collected {
    fn add(&mut self, other: Collected) {
        self.links += other.links;
        self.blobs += other.blobs;
        self.uploads += other.uploads;
        self.manifests += other.manifests;
        self.manifests_in_use += other.manifests_in_use;
    }

    /// Whether some kind filled its batch, so more of it may be left.
    fn full(&self, batch: u64) -> bool {
        [
            self.links,
            self.blobs,
            self.uploads,
            self.manifests,
            self.manifests_in_use,
        ]
        .into_iter()
        .any(|n| n >= batch)
    }
}

/// The R2 side of phase 2.
#[allow(async_fn_in_trait)]
pub trait Objects {
    /// Deletes these objects (at most 1,000); keys that do not exist are no error.
    async fn delete(&self, keys: &[&str]) -> Result<()>;

    /// Aborts the multipart upload `multipart_id` of `key`.
    async fn abort_multipart(&self, key: &str, multipart_id: &str) -> Result<()>;
}

/// What a run did, for its log line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub collected: Collected,
    /// R2 objects deleted (or found gone already).
    pub deleted: u64,
    /// Queued objects a blob or manifest row used again: kept, taken off the queue.
    pub in_use: u64,
    pub aborted: u64,
    /// Multipart uploads R2 would not abort (already completed or aborted, or an
    /// error); their queue rows are dropped all the same, as R2 itself aborts
    /// multipart uploads left incomplete for a week.
    pub abort_failed: u64,
    /// D1 queries and R2 calls made.
    pub operations: u64,
    /// Phase-1 batches made.
    pub rounds: u32,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.collected;
        write!(
            f,
            "removed {} blob links, {} blobs, {} upload sessions, {} manifest objects \
             ({} still in use); R2: {} objects deleted, {} kept as used again, {} multipart \
             uploads aborted ({} failed); {} rounds, {} operations",
            c.links,
            c.blobs,
            c.uploads,
            c.manifests,
            c.manifests_in_use,
            self.deleted,
            self.in_use,
            self.aborted,
            self.abort_failed,
            self.rounds,
            self.operations
        )
    }
}

#[derive(Deserialize)]
struct Count {
    n: u64,
}

pub struct Gc<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Gc<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Gc { sql }
    }

    /// Phase 1: one atomic batch deleting up to `settings.batch` rows of each kind of
    /// garbage as of `now` and queuing the R2 objects they leave.
    pub async fn collect(&self, now: i64, settings: &Settings) -> Result<Collected> {
        let limit = settings.batch;
        // Older than the grace period: created (or refreshed) before this.
        let cutoff = now - settings.grace;
        let expired = now - settings.upload_ttl - settings.settle();
        let changes = self
            .sql
            .batch(vec![
                // (a) Links no manifest of their repository references.
                stmt!(
                    "DELETE FROM repo_blobs WHERE (repo, digest) IN (
                       SELECT l.repo, l.digest FROM repo_blobs l
                       WHERE l.created_at < ?1
                         AND NOT EXISTS (SELECT 1 FROM manifest_refs r
                           WHERE r.target = l.digest AND r.repo = l.repo AND r.kind = 'blob')
                       LIMIT ?2)",
                    cutoff,
                    limit
                ),
                // (b) Blobs without links or references: queue the objects, then
                // delete the rows. Both pick the same rows: same snapshot, same order.
                stmt!(
                    "INSERT OR REPLACE INTO gc_objects (object_key, kind, multipart_id, queued_at)
                     SELECT b.object_key, 'blob', NULL, ?3 FROM blobs b
                     WHERE b.created_at < ?1
                       AND NOT EXISTS (SELECT 1 FROM repo_blobs l WHERE l.digest = b.digest)
                       AND NOT EXISTS (SELECT 1 FROM manifest_refs r
                         WHERE r.target = b.digest AND r.kind = 'blob')
                     ORDER BY b.digest LIMIT ?2",
                    cutoff,
                    limit,
                    now
                ),
                stmt!(
                    "DELETE FROM blobs WHERE digest IN (
                       SELECT b.digest FROM blobs b
                       WHERE b.created_at < ?1
                         AND NOT EXISTS (SELECT 1 FROM repo_blobs l WHERE l.digest = b.digest)
                         AND NOT EXISTS (SELECT 1 FROM manifest_refs r
                           WHERE r.target = b.digest AND r.kind = 'blob')
                       ORDER BY b.digest LIMIT ?2)",
                    cutoff,
                    limit
                ),
                // (c) Expired upload sessions, finishing ones included: their object
                // (`UploadId::object_key`, a multipart upload until finished) and the
                // tail the session records.
                stmt!(
                    "WITH expired AS (
                       SELECT id, multipart_id, tail_key FROM uploads WHERE updated_at < ?1
                       ORDER BY updated_at, id LIMIT ?2)
                     INSERT OR REPLACE INTO gc_objects (object_key, kind, multipart_id, queued_at)
                     SELECT 'blobs/' || id, 'upload', multipart_id, ?3 FROM expired
                     UNION ALL
                     SELECT tail_key, 'tail', NULL, ?3 FROM expired WHERE tail_key IS NOT NULL",
                    expired,
                    limit,
                    now
                ),
                stmt!(
                    "DELETE FROM uploads WHERE id IN (
                       SELECT id FROM uploads WHERE updated_at < ?1
                       ORDER BY updated_at, id LIMIT ?2)",
                    expired,
                    limit
                ),
                // (d) Objects of deleted large manifests that no manifest row names.
                stmt!(
                    "INSERT OR REPLACE INTO gc_objects (object_key, kind, multipart_id, queued_at)
                     SELECT c.object_key, 'manifest', NULL, ?3 FROM gc_manifest_objects c
                     WHERE c.deleted_at < ?1
                       AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.object_key = c.object_key)
                     ORDER BY c.object_key LIMIT ?2",
                    cutoff,
                    limit,
                    now
                ),
                stmt!(
                    "DELETE FROM gc_manifest_objects
                     WHERE object_key IN (SELECT object_key FROM gc_objects WHERE kind = 'manifest')"
                ),
                stmt!(
                    "DELETE FROM gc_manifest_objects WHERE object_key IN (
                       SELECT c.object_key FROM gc_manifest_objects c
                       WHERE EXISTS (SELECT 1 FROM manifests m WHERE m.object_key = c.object_key)
                       LIMIT ?1)",
                    limit
                ),
            ])
            .await?;
        let at = |i: usize| changes.get(i).copied().unwrap_or(0);
        Ok(Collected {
            links: at(0),
            blobs: at(2),
            uploads: at(4),
            manifests: at(5),
            manifests_in_use: at(7),
        })
    }

    /// Objects queued at or before `queued_by`, oldest first, at most `limit`, and
    /// whether a row uses each again.
    pub async fn queued(&self, queued_by: i64, limit: u64) -> Result<Vec<Queued>> {
        let rows: Vec<QueuedRow> = self
            .sql
            .query(stmt!(
                "SELECT g.object_key, g.kind, g.multipart_id, g.queued_at,
                   EXISTS (SELECT 1 FROM blobs b WHERE b.object_key = g.object_key)
                   OR EXISTS (SELECT 1 FROM manifests m WHERE m.object_key = g.object_key)
                   AS in_use
                 FROM gc_objects g
                 WHERE g.queued_at <= ?1 ORDER BY g.queued_at, g.object_key LIMIT ?2",
                queued_by,
                limit
            ))
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Queued {
                object_key: r.object_key,
                kind: r.kind,
                multipart_id: r.multipart_id,
                queued_at: r.queued_at,
                in_use: r.in_use != 0,
            })
            .collect())
    }

    /// How many objects are queued.
    pub async fn queue_len(&self) -> Result<u64> {
        let row: Option<Count> = self
            .sql
            .one(stmt!("SELECT COUNT(*) AS n FROM gc_objects"))
            .await?;
        Ok(row.map_or(0, |r| r.n))
    }

    /// Phase 2 is done with these objects: takes them off the queue.
    pub async fn finished(&self, keys: &[&str]) -> Result<u64> {
        let keys = serde_json::to_string(keys).expect("strings");
        let changes = self
            .sql
            .batch(vec![stmt!(
                "DELETE FROM gc_objects WHERE object_key IN (SELECT value FROM json_each(?1))",
                keys
            )])
            .await?;
        Ok(changes.first().copied().unwrap_or(0))
    }
}

/// One run of the job at `now`: works off what earlier runs queued, collects new
/// garbage in bounded batches, then works off what is due. Stops early, keeping
/// its place in the queue, when the operation budget is spent or D1 or R2 fails;
/// `summary` says what was done either way.
pub async fn run<S: Sql, O: Objects>(
    sql: &S,
    objects: &O,
    now: i64,
    settings: &Settings,
    summary: &mut Summary,
) -> Result<()> {
    let gc = Gc::new(sql);
    let due = now - settings.settle();
    work_off(&gc, objects, due, settings, summary).await?;
    if summary.operations < settings.budget {
        let mut queued = gc.queue_len().await?;
        summary.operations += 1;
        while summary.rounds < MAX_ROUNDS
            && summary.operations < settings.budget
            && queued < MAX_QUEUED
        {
            let collected = gc.collect(now, settings).await?;
            summary.operations += 1;
            summary.rounds += 1;
            summary.collected.add(collected);
            // Each upload session queues up to two objects.
            queued += collected.blobs + 2 * collected.uploads + collected.manifests;
            if !collected.full(settings.batch) {
                break;
            }
        }
    }
    work_off(&gc, objects, due, settings, summary).await
}

/// Phase 2 for the objects queued by `due`, in rounds of at most `settings.batch`,
/// within the budget.
async fn work_off<S: Sql, O: Objects>(
    gc: &Gc<'_, S>,
    objects: &O,
    due: i64,
    settings: &Settings,
    summary: &mut Summary,
) -> Result<()> {
    // A round is one query, the aborts, one R2 delete per 1,000 keys and one D1 delete.
    while summary.operations + 3 <= settings.budget {
        let rows = gc.queued(due, settings.batch).await?;
        summary.operations += 1;
        let fetched = rows.len() as u64;
        if rows.is_empty() {
            break;
        }
        let deletes = rows.len().div_ceil(DELETE_CHUNK) as u64;
        let mut aborts_left = settings
            .budget
            .saturating_sub(summary.operations + deletes + 1);
        let (mut done, mut delete) = (Vec::new(), Vec::new());
        for row in &rows {
            if row.in_use {
                done.push(row.object_key.as_str());
                continue;
            }
            if let Some(id) = &row.multipart_id {
                if aborts_left == 0 {
                    break;
                }
                aborts_left -= 1;
                summary.operations += 1;
                match objects.abort_multipart(&row.object_key, id).await {
                    Ok(()) => summary.aborted += 1,
                    Err(_) => summary.abort_failed += 1,
                }
            }
            done.push(row.object_key.as_str());
            delete.push(row.object_key.as_str());
        }
        if done.is_empty() {
            break;
        }
        for chunk in delete.chunks(DELETE_CHUNK) {
            summary.operations += 1;
            objects.delete(chunk).await?;
        }
        summary.operations += 1;
        gc.finished(&done).await?;
        summary.deleted += delete.len() as u64;
        summary.in_use += (done.len() - delete.len()) as u64;
        if fetched < settings.batch || done.len() < rows.len() {
            break;
        }
    }
    Ok(())
}

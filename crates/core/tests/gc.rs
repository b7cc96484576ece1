//! Garbage collection against real SQLite built from `migrations/`: exactly what phase 1
//! removes and queues, and phase 2 finishing what a crashed run left.

mod gc_setup;
mod sqlite;

use std::cell::RefCell;
use std::collections::BTreeSet;

use futures::executor::block_on;
use gc_setup::{now, repo, settings, TTL};
use serde::Deserialize;
use sqlite::Sqlite;
use tollgate_core::oci::manifest::{self, OCI_MANIFEST};
use tollgate_core::oci::upload_session::{UploadId, UploadSession};
use tollgate_core::storage::gc::{self, Collected, Gc, Objects, Queued, Settings, Summary};
use tollgate_core::storage::sql::Sql;
use tollgate_core::storage::store::{ManifestBytes, NewManifest, Store};
use tollgate_core::{stmt, Algorithm, Digest, Error, Result};

/// `Settings::settle` for GRACE.
const SETTLE: i64 = 100;

fn digest(content: &str) -> Digest {
    Digest::of(Algorithm::Sha256, content.as_bytes())
}

fn upload(n: u8) -> UploadId {
    UploadId::from_random([n; 16])
}

/// Commits blob `d` into `r` at `at` as the finished upload `n` (its object is
/// `upload(n).object_key()`).
fn commit(db: &Sqlite, r: &str, d: &Digest, n: u8, at: i64) {
    let key = upload(n).object_key();
    block_on(Store::new(db).commit_blob(&repo(r), d, 1, &key, &upload(n), at)).unwrap();
}

fn image_json(config: &Digest, layer: &Digest, artifact_type: &str) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","artifactType":"{artifact_type}",
        "config":{{"mediaType":"c","digest":"{config}","size":1}},
        "layers":[{{"mediaType":"l","digest":"{layer}","size":1}}]}}"#
    )
}

/// Pushes a manifest over `config` and `layer` into `r`; a large one (`object`) is
/// kept under `manifests/<digest>`. Returns its digest.
fn push(
    db: &Sqlite,
    r: &str,
    config: &Digest,
    layer: &Digest,
    kind: &str,
    object: bool,
    at: i64,
) -> Digest {
    let json = image_json(config, layer, kind);
    let parsed = manifest::parse(json.as_bytes(), None).unwrap();
    let d = digest(&json);
    let key = format!("manifests/{d}");
    let bytes = if object {
        ManifestBytes::Object(&key)
    } else {
        ManifestBytes::Inline(&json)
    };
    block_on(Store::new(db).put_manifest(
        Vec::new(),
        NewManifest {
            repo: &repo(r),
            digest: &d,
            manifest: &parsed,
            size: json.len() as u64,
            bytes,
            tag: None,
            now: at,
        },
    ))
    .unwrap();
    d
}

/// Deletes a manifest as a `DELETE` by digest does.
fn delete_manifest(db: &Sqlite, r: &str, d: &Digest) {
    block_on(db.batch(vec![
        stmt!(
            "DELETE FROM manifests WHERE repo = ?1 AND digest = ?2",
            r,
            d.as_str()
        ),
        stmt!(
            "DELETE FROM manifest_refs WHERE repo = ?1 AND manifest = ?2",
            r,
            d.as_str()
        ),
        stmt!(
            "DELETE FROM tags WHERE repo = ?1 AND digest = ?2",
            r,
            d.as_str()
        ),
    ]))
    .unwrap();
}

/// The tail session `n` parked, when it has bytes.
fn tail(n: u8) -> String {
    upload(n).tail_key([n; 16])
}

/// An upload session last touched at `updated`, with `bytes` received (the last
/// of them parked in [`tail`]) and maybe a multipart upload.
fn session(db: &Sqlite, n: u8, updated: i64, bytes: u64, multipart: Option<&str>) {
    let mut s = UploadSession::new(&upload(n), &repo("up"), Algorithm::Sha256, updated - 10);
    s.byte_offset = bytes;
    s.tail_key = (bytes > 0).then(|| tail(n));
    s.multipart_id = multipart.map(str::to_owned);
    s.updated_at = updated;
    block_on(Store::new(db).create_upload(&s)).unwrap();
}

#[derive(Deserialize)]
struct Link {
    repo: String,
    digest: String,
}

#[derive(Deserialize)]
struct Key {
    key: String,
}

fn links(db: &Sqlite) -> BTreeSet<(String, String)> {
    let rows: Vec<Link> = block_on(db.query(stmt!("SELECT repo, digest FROM repo_blobs"))).unwrap();
    rows.into_iter().map(|l| (l.repo, l.digest)).collect()
}

fn keys(db: &Sqlite, sql: &'static str) -> BTreeSet<String> {
    let rows: Vec<Key> = block_on(db.query(stmt!(sql))).unwrap();
    rows.into_iter().map(|k| k.key).collect()
}

fn blobs(db: &Sqlite) -> BTreeSet<String> {
    keys(db, "SELECT digest AS key FROM blobs")
}

fn uploads(db: &Sqlite) -> BTreeSet<String> {
    keys(db, "SELECT id AS key FROM uploads")
}

fn candidates(db: &Sqlite) -> BTreeSet<String> {
    keys(db, "SELECT object_key AS key FROM gc_manifest_objects")
}

fn queue(db: &Sqlite) -> Vec<Queued> {
    block_on(Gc::new(db).queued(i64::MAX, 10_000)).unwrap()
}

fn queued_keys(db: &Sqlite) -> BTreeSet<String> {
    queue(db).into_iter().map(|q| q.object_key).collect()
}

fn link(r: &str, d: &Digest) -> (String, String) {
    (r.to_owned(), d.to_string())
}

fn set<T: Ord + Clone>(items: &[T]) -> BTreeSet<T> {
    items.iter().cloned().collect()
}

/// R2 as phase 2 sees it: records deletions and aborts; can fail deletes (a crash
/// half-way) or refuse to abort an upload aborted before, as R2 does.
#[derive(Default)]
struct Bucket {
    deleted: RefCell<Vec<String>>,
    aborted: RefCell<Vec<(String, String)>>,
    fail_deletes: bool,
}

impl Bucket {
    fn failing() -> Self {
        Bucket {
            fail_deletes: true,
            ..Bucket::default()
        }
    }

    fn deleted(&self) -> BTreeSet<String> {
        self.deleted.borrow().iter().cloned().collect()
    }
}

impl Objects for Bucket {
    async fn delete(&self, keys: &[&str]) -> Result<()> {
        if self.fail_deletes {
            return Err(Error::Internal("R2 is down".into()));
        }
        self.deleted
            .borrow_mut()
            .extend(keys.iter().map(|k| k.to_string()));
        Ok(())
    }

    async fn abort_multipart(&self, key: &str, multipart_id: &str) -> Result<()> {
        let entry = (key.to_owned(), multipart_id.to_owned());
        if self.aborted.borrow().contains(&entry) {
            return Err(Error::Internal("no such upload".into()));
        }
        self.aborted.borrow_mut().push(entry);
        Ok(())
    }
}

fn run(db: &Sqlite, bucket: &Bucket, at: i64, settings: &Settings) -> (Summary, Result<()>) {
    let mut summary = Summary::default();
    let result = block_on(gc::run(db, bucket, at, settings, &mut summary));
    (summary, result)
}

#[test]
fn phase_one_removes_and_queues_exactly_the_garbage() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let t = now();
    let old = t - 1000;

    // "app": an image over cA and lA, an old unreferenced blob, a fresh one, and an
    // old one uploaded again a moment ago.
    let (ca, la) = (digest("cA"), digest("lA"));
    commit(&db, "app", &ca, 1, old);
    commit(&db, "app", &la, 2, old);
    push(&db, "app", &ca, &la, "a", false, t - 900);
    let b_old = digest("bOld");
    commit(&db, "app", &b_old, 3, old);
    let b_fresh = digest("bFresh");
    commit(&db, "app", &b_fresh, 4, t - 10);
    let b_again = digest("bAgain");
    commit(&db, "app", &b_again, 5, old);
    // Uploaded again: the content is stored, so the old object is recorded.
    let key5 = upload(5).object_key();
    block_on(store.commit_blob(&repo("app"), &b_again, 1, &key5, &upload(6), t - 5)).unwrap();

    // Mounted and never referenced: the link goes, the blob (still in "app") stays.
    block_on(store.mount(&repo("app"), &repo("other"), &ca, old)).unwrap();
    // Mounted long ago and again a moment ago: the link stays.
    block_on(store.mount(&repo("app"), &repo("other2"), &la, old)).unwrap();
    block_on(store.mount(&repo("app"), &repo("other2"), &la, t - 5)).unwrap();

    // A blob whose link was deleted while a manifest still references it stays.
    let (b_ref, l_ref) = (digest("bRef"), digest("lRef"));
    commit(&db, "ref", &b_ref, 7, old);
    commit(&db, "ref", &l_ref, 8, old);
    push(&db, "ref", &b_ref, &l_ref, "r", false, t - 900);
    assert!(block_on(store.unlink_blob(&repo("ref"), &b_ref)).unwrap());

    // Blobs without any link: a young one stays, an old one goes.
    let b_young = digest("bUnlinkedYoung");
    commit(&db, "gone", &b_young, 9, t - 10);
    assert!(block_on(store.unlink_blob(&repo("gone"), &b_young)).unwrap());
    let b_orphan = digest("bUnlinkedOld");
    commit(&db, "gone", &b_orphan, 10, old);
    assert!(block_on(store.unlink_blob(&repo("gone"), &b_orphan)).unwrap());

    // Upload sessions: idle past the TTL (one with a multipart upload and a tail, one
    // without bytes), idle past the TTL but not past the settling margin, and live.
    session(&db, 11, t - 2000, 10, Some("mp-11"));
    session(&db, 12, t - TTL - SETTLE + 50, 10, Some("mp-12"));
    session(&db, 13, t - 500, 10, None);
    session(&db, 14, t - TTL - SETTLE - 100, 0, None);

    // Large manifests: one still held by another repository, one held nowhere any
    // more, one deleted just now; and a small one, which has no object.
    let (cb, lb) = (digest("cBig"), digest("lBig"));
    for r in ["big1", "big2", "big3"] {
        commit(&db, r, &cb, 20, t - 10);
        commit(&db, r, &lb, 21, t - 10);
    }
    let shared = push(&db, "big1", &cb, &lb, "shared", true, t - 900);
    push(&db, "big2", &cb, &lb, "shared", true, t - 900);
    let only = push(&db, "big3", &cb, &lb, "only", true, t - 900);
    let fresh = push(&db, "big3", &cb, &lb, "fresh", true, t - 900);
    let small = push(&db, "big3", &cb, &lb, "small", false, t - 900);
    delete_manifest(&db, "big1", &shared);
    delete_manifest(&db, "big3", &only);
    delete_manifest(&db, "big3", &fresh);
    delete_manifest(&db, "big3", &small);
    let object = |d: &Digest| format!("manifests/{d}");
    assert_eq!(
        candidates(&db),
        set(&[object(&shared), object(&only), object(&fresh)]),
        "deleting a large manifest makes its object a candidate; a small one has none"
    );
    // Two of them were deleted before the grace period.
    block_on(db.batch(vec![stmt!(
        "UPDATE gc_manifest_objects SET deleted_at = ?1 WHERE object_key IN (?2, ?3)",
        old,
        object(&shared),
        object(&only)
    )]))
    .unwrap();

    let collected = block_on(Gc::new(&db).collect(t, &settings())).unwrap();
    assert_eq!(
        collected,
        Collected {
            links: 2,
            blobs: 2,
            uploads: 2,
            manifests: 1,
            manifests_in_use: 1,
        }
    );

    let mut expected = vec![
        Queued {
            object_key: upload(3).object_key(),
            kind: "blob".into(),
            multipart_id: None,
            queued_at: t,
            in_use: false,
        },
        Queued {
            object_key: upload(10).object_key(),
            kind: "blob".into(),
            multipart_id: None,
            queued_at: t,
            in_use: false,
        },
        Queued {
            object_key: upload(11).object_key(),
            kind: "upload".into(),
            multipart_id: Some("mp-11".into()),
            queued_at: t,
            in_use: false,
        },
        Queued {
            object_key: tail(11),
            kind: "tail".into(),
            multipart_id: None,
            queued_at: t,
            in_use: false,
        },
        Queued {
            object_key: upload(14).object_key(),
            kind: "upload".into(),
            multipart_id: None,
            queued_at: t,
            in_use: false,
        },
        Queued {
            object_key: object(&only),
            kind: "manifest".into(),
            multipart_id: None,
            queued_at: t,
            in_use: false,
        },
    ];
    expected.sort_by(|a, b| a.object_key.cmp(&b.object_key));
    assert_eq!(queue(&db), expected);

    let mut kept_links = vec![
        link("app", &ca),
        link("app", &la),
        link("app", &b_fresh),
        link("app", &b_again),
        link("other2", &la),
        link("ref", &l_ref),
    ];
    for r in ["big1", "big2", "big3"] {
        kept_links.push(link(r, &cb));
        kept_links.push(link(r, &lb));
    }
    assert_eq!(links(&db), set(&kept_links));
    let kept_blobs: Vec<String> = [
        &ca, &la, &b_fresh, &b_again, &b_ref, &l_ref, &b_young, &cb, &lb,
    ]
    .iter()
    .map(|d| d.to_string())
    .collect();
    assert_eq!(blobs(&db), set(&kept_blobs));
    assert_eq!(
        uploads(&db),
        set(&[upload(12).to_string(), upload(13).to_string()])
    );
    assert_eq!(candidates(&db), set(&[object(&fresh)]));

    // Nothing more is garbage at the same instant.
    let again = block_on(Gc::new(&db).collect(t, &settings())).unwrap();
    assert_eq!(again, Collected::default());
    assert_eq!(queue(&db), expected);
}

#[test]
fn queued_objects_go_once_settled_and_a_crashed_run_is_finished_by_the_next() {
    let db = Sqlite::migrated();
    let t = now();
    let b = digest("b");
    commit(&db, "app", &b, 1, t - 1000);
    session(&db, 2, t - 5000, 20, Some("mp-2"));
    let queued = set(&[upload(1).object_key(), upload(2).object_key(), tail(2)]);

    // Phase 1 queues; nothing is deleted before it settled.
    let bucket = Bucket::default();
    let (summary, result) = run(&db, &bucket, t, &settings());
    result.unwrap();
    assert_eq!(summary.collected.blobs, 1);
    assert_eq!(summary.collected.uploads, 1);
    assert_eq!(summary.deleted, 0);
    assert!(bucket.deleted().is_empty());
    assert_eq!(queued_keys(&db), queued);
    assert!(blobs(&db).is_empty() && uploads(&db).is_empty());

    // A run that dies half-way through phase 2 (R2 fails after the abort) leaves
    // the queue as it was.
    let broken = Bucket::failing();
    let (_, result) = run(&db, &broken, t + SETTLE + 1, &settings());
    assert!(result.is_err());
    assert_eq!(
        *broken.aborted.borrow(),
        vec![(upload(2).object_key(), "mp-2".to_owned())]
    );
    assert_eq!(queued_keys(&db), queued);

    // The next run finishes it: R2 refuses the second abort, which does not hold
    // anything up.
    let bucket = Bucket {
        aborted: broken.aborted,
        ..Bucket::default()
    };
    let (summary, result) = run(&db, &bucket, t + SETTLE + 2, &settings());
    result.unwrap();
    assert_eq!(bucket.deleted(), queued);
    assert_eq!(summary.deleted, 3);
    assert_eq!(summary.abort_failed, 1);
    assert_eq!(summary.collected, Collected::default());
    assert!(queue(&db).is_empty());

    // And then there is nothing left to do.
    let bucket = Bucket::default();
    let (summary, result) = run(&db, &bucket, t + SETTLE + 3, &settings());
    result.unwrap();
    assert_eq!(summary.deleted, 0);
    assert!(bucket.deleted().is_empty());
}

#[test]
fn a_run_that_crashed_after_phase_one_is_finished_by_the_next() {
    let db = Sqlite::migrated();
    let t = now();
    let b = digest("b");
    commit(&db, "app", &b, 1, t - 1000);
    // Phase 1 alone, as if the run died right after its batch.
    block_on(Gc::new(&db).collect(t, &settings())).unwrap();
    assert_eq!(queued_keys(&db), set(&[upload(1).object_key()]));
    let bucket = Bucket::default();
    let (summary, result) = run(&db, &bucket, t + SETTLE, &settings());
    result.unwrap();
    assert_eq!(bucket.deleted(), set(&[upload(1).object_key()]));
    assert_eq!(summary.deleted, 1);
    assert!(queue(&db).is_empty());
}

#[test]
fn objects_used_again_stay() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let t = now();
    // An upload found this content stored, and records its object after collection
    // removed the blob (late enough that the run below finds the blob young).
    let b = digest("b");
    commit(&db, "app", &b, 1, t - 1000);
    block_on(Gc::new(&db).collect(t, &settings())).unwrap();
    let key = upload(1).object_key();
    block_on(store.commit_blob(&repo("app2"), &b, 1, &key, &upload(2), t + 50)).unwrap();

    // A large manifest pushed again after its object was queued.
    let (c, l) = (digest("c"), digest("l"));
    commit(&db, "big", &c, 3, t - 10);
    commit(&db, "big", &l, 4, t - 10);
    let m = push(&db, "big", &c, &l, "m", true, t - 900);
    delete_manifest(&db, "big", &m);
    block_on(db.batch(vec![stmt!(
        "UPDATE gc_manifest_objects SET deleted_at = ?1",
        t - 1000
    )]))
    .unwrap();
    let collected = block_on(Gc::new(&db).collect(t, &settings())).unwrap();
    assert_eq!(collected.manifests, 1);
    let manifest_key = format!("manifests/{m}");
    assert_eq!(queued_keys(&db), set(&[key.clone(), manifest_key.clone()]));
    push(&db, "big", &c, &l, "m", true, t + 2);
    assert!(queue(&db).iter().all(|q| q.in_use), "{:?}", queue(&db));

    // Phase 2 leaves both in R2 and takes them off the queue.
    let bucket = Bucket::default();
    let (summary, result) = run(&db, &bucket, t + 2 + SETTLE, &settings());
    result.unwrap();
    assert!(bucket.deleted().is_empty());
    assert_eq!(summary.in_use, 2);
    assert!(!queued_keys(&db).contains(&key));
    assert!(!queued_keys(&db).contains(&manifest_key));
    assert_eq!(
        block_on(store.blob(&repo("app2"), &b))
            .unwrap()
            .unwrap()
            .object_key,
        key
    );
}

#[test]
fn a_link_needs_its_blob() {
    let db = Sqlite::migrated();
    // What a mount that read the blob just before collection removed it would write.
    let result = block_on(db.batch(vec![stmt!(
        "INSERT INTO repo_blobs (repo, digest, created_at) VALUES ('dst', ?1, 1)",
        digest("gone").to_string()
    )]));
    assert!(result.is_err(), "{result:?}");
    assert!(links(&db).is_empty());
}

#[test]
fn work_is_bounded_per_batch_and_per_run() {
    let db = Sqlite::migrated();
    let t = now();
    for n in 0..12u8 {
        commit(&db, "app", &digest(&format!("b{n}")), n, t - 1000);
    }
    for n in 100..107u8 {
        session(&db, n, t - 5000, 1, Some(&format!("mp-{n}")));
    }
    let settings = Settings {
        batch: 5,
        budget: 12,
        ..settings()
    };

    // Phase 1 takes 5 of each kind per batch and loops until done.
    let (summary, result) = run(&db, &Bucket::default(), t, &settings);
    result.unwrap();
    assert_eq!(summary.collected.blobs, 12);
    assert_eq!(summary.collected.uploads, 7);
    assert_eq!(summary.rounds, 3);
    assert!(blobs(&db).is_empty() && uploads(&db).is_empty());
    let queued = queued_keys(&db);
    assert_eq!(queued.len(), 12 + 7 * 2);

    // Phase 2 stays within the budget; runs continue where the last one stopped.
    let bucket = Bucket::default();
    let mut runs = 0;
    while !queue(&db).is_empty() {
        runs += 1;
        assert!(runs < 10, "the queue does not shrink");
        let (summary, result) = run(&db, &bucket, t + SETTLE + runs, &settings);
        result.unwrap();
        assert!(summary.operations <= settings.budget, "{summary:?}");
        assert!(summary.deleted > 0, "{summary:?}");
    }
    assert!(runs > 1);
    assert_eq!(bucket.deleted(), queued);
    assert_eq!(bucket.aborted.borrow().len(), 7);
}

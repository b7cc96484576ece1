//! Garbage collection against pushes that reach what it collects at the worst
//! moment: a large manifest pushed again while phase 2 deletes its old object, an
//! upload that reuses a stored blob while phase 1 removes it, and a mount of a blob
//! phase 1 removes (docs/gc.md, "Crash safety").

mod gc_setup;
mod memory;
mod sqlite;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

use futures::executor::block_on;
use gc_setup::{now, repo, settings, GRACE, TTL};
use memory::{advance_clock, clock, platform, Chunks, Memory};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlite::Sqlite;
use tollgate_core::oci::manifest::{self, OCI_MANIFEST};
use tollgate_core::oci::reference::Reference;
use tollgate_core::storage::gc::{self, Gc, Objects, Summary};
use tollgate_core::storage::manifest_objects::{self, Origin};
use tollgate_core::storage::object_store::ObjectStore;
use tollgate_core::storage::sql::{Sql, Statement};
use tollgate_core::storage::store::{ManifestBytes, NewManifest, Store};
use tollgate_core::storage::uploads::{Chunk, Uploads};
use tollgate_core::{stmt, Algorithm, Digest, RepoName, Result};

fn sha256(data: &[u8]) -> Digest {
    Digest::of(Algorithm::Sha256, data)
}

/// Something to run in the middle of another call.
type Hook<'a> = RefCell<Option<Pin<Box<dyn Future<Output = ()> + 'a>>>>;

async fn run_hook(hook: &Hook<'_>) {
    let taken = hook.borrow_mut().take();
    if let Some(hook) = taken {
        hook.await;
    }
}

/// The object store as garbage collection sees it, running a hook just before its
/// first delete.
struct DeleteHooked<'a> {
    objects: &'a Memory,
    hook: Hook<'a>,
}

impl Objects for DeleteHooked<'_> {
    async fn delete(&self, keys: &[&str]) -> Result<()> {
        run_hook(&self.hook).await;
        for key in keys {
            ObjectStore::delete(self.objects, key).await?;
        }
        Ok(())
    }

    async fn abort_multipart(&self, key: &str, multipart_id: &str) -> Result<()> {
        ObjectStore::abort_multipart(self.objects, key, multipart_id).await
    }
}

/// The database, running a hook just before the first batch whose first statement
/// contains `before`.
struct BatchHooked<'a> {
    db: &'a Sqlite,
    before: &'static str,
    hook: Hook<'a>,
}

impl Sql for BatchHooked<'_> {
    async fn query<T: DeserializeOwned>(&self, statement: Statement) -> Result<Vec<T>> {
        self.db.query(statement).await
    }

    async fn query_all(&self, statements: Vec<Statement>) -> Result<Vec<Vec<Value>>> {
        self.db.query_all(statements).await
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>> {
        if statements
            .first()
            .is_some_and(|s| s.sql.contains(self.before))
        {
            run_hook(&self.hook).await;
        }
        self.db.batch(statements).await
    }
}

/// One garbage-collection run at `at`.
async fn collect(db: &Sqlite, objects: &impl Objects, at: i64) {
    let mut summary = Summary::default();
    gc::run(db, objects, at, &settings(), &mut summary)
        .await
        .unwrap();
}

/// Uploads `data` into `r` as a whole blob.
fn upload(db: &Sqlite, objects: &Memory, r: &str, data: &[u8]) -> Digest {
    let uploads = Uploads::new(db, objects, platform(), TTL);
    let body = Some(Chunks::new(data, 1 << 20));
    let length = Some(data.len() as u64);
    block_on(uploads.put_blob(&repo(r), &sha256(data), length, body)).unwrap();
    sha256(data)
}

fn image(config: &Digest, layer: &Digest) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}",
        "config":{{"mediaType":"c","digest":"{config}","size":1}},
        "layers":[{{"mediaType":"l","digest":"{layer}","size":1}}]}}"#
    )
}

/// Pushes `json` into `r` the way a large manifest is stored.
async fn push_large(db: &Sqlite, objects: &Memory, r: &RepoName, json: &str, at: i64) {
    let parsed = manifest::parse(json.as_bytes(), None).unwrap();
    let new = NewManifest {
        repo: r,
        digest: &sha256(json.as_bytes()),
        manifest: &parsed,
        size: json.len() as u64,
        bytes: ManifestBytes::Inline(""),
        tag: None,
        now: at,
    };
    let attempt = (platform().random)().unwrap();
    manifest_objects::put(
        &Store::new(db),
        objects,
        Vec::new(),
        new,
        json,
        attempt,
        Origin::Pushed,
    )
    .await
    .unwrap();
}

/// Objects kept under `manifests/`.
fn manifest_objects(objects: &Memory) -> Vec<String> {
    let keys = objects.keys().into_iter();
    keys.filter(|k| k.starts_with("manifests/")).collect()
}

#[test]
fn a_large_manifest_pushed_twice_keeps_the_first_object() {
    let (db, objects) = (Sqlite::migrated(), Memory::default());
    let r = repo("app");
    let config = upload(&db, &objects, "app", b"config");
    let layer = upload(&db, &objects, "app", b"layer");
    let json = image(&config, &layer);
    block_on(push_large(&db, &objects, &r, &json, 1));
    let first = manifest_objects(&objects);
    block_on(push_large(&db, &objects, &r, &json, 2));
    assert_eq!(manifest_objects(&objects), first);
    let reference = Reference::Digest(sha256(json.as_bytes()));
    let row = block_on(Store::new(&db).manifest(&r, &reference))
        .unwrap()
        .unwrap();
    assert_eq!(row.object_key.as_ref(), first.first());
}

#[test]
fn a_large_manifest_pushed_again_while_its_old_object_is_deleted_stays_readable() {
    let (db, objects) = (Sqlite::migrated(), Memory::default());
    let r = repo("app");
    let config = upload(&db, &objects, "app", b"config");
    let layer = upload(&db, &objects, "app", b"layer");
    let json = image(&config, &layer);
    let digest = sha256(json.as_bytes());
    let t = now();
    block_on(push_large(&db, &objects, &r, &json, t));
    block_on(db.batch(vec![stmt!(
        "DELETE FROM manifests WHERE digest = ?1",
        digest.as_str()
    )]))
    .unwrap();
    // Phase 1 queues the deleted manifest's object once the grace period is over.
    let queued_at = t + GRACE + 1;
    block_on(collect(
        &db,
        &DeleteHooked {
            objects: &objects,
            hook: RefCell::new(None),
        },
        queued_at,
    ));
    // Phase 2 found the object unused; the push lands before its delete does.
    let repush = push_large(&db, &objects, &r, &json, queued_at);
    let hooked = DeleteHooked {
        objects: &objects,
        hook: RefCell::new(Some(Box::pin(repush))),
    };
    block_on(collect(&db, &hooked, queued_at + settings().settle()));
    assert!(hooked.hook.borrow().is_none(), "phase 2 deleted something");
    let row = block_on(Store::new(&db).manifest(&r, &Reference::Digest(digest.clone())))
        .unwrap()
        .expect("the manifest pushed again");
    let key = row.object_key.expect("kept as an object");
    let stored = objects.object(&key).expect("its object is still there");
    assert_eq!(sha256(&stored), digest);
}

#[test]
fn an_upload_reusing_a_blob_that_collection_removes_keeps_it() {
    let (db, objects) = (Sqlite::migrated(), Memory::default());
    let data = b"layer bytes".to_vec();
    let digest = upload(&db, &objects, "a/one", &data);
    block_on(Store::new(&db).unlink_blob(&repo("a/one"), &digest)).unwrap();
    advance_clock(GRACE + 1);
    let at = clock();
    let sql = BatchHooked {
        db: &db,
        before: "INSERT OR IGNORE INTO blobs",
        hook: RefCell::new(Some(Box::pin(async {
            Gc::new(&db).collect(at, &settings()).await.unwrap();
        }))),
    };
    // The upload found the blob stored; phase 1 removes it before the upload links it.
    let uploads = Uploads::new(&sql, &objects, platform(), TTL);
    let id = block_on(uploads.start(&repo("a/two"))).unwrap().upload_id();
    let chunk = Chunk {
        span: Ok(None),
        length: Some(data.len() as u64),
    };
    let body = Some(Chunks::new(&data[..4], 2));
    block_on(uploads.append(
        &repo("a/two"),
        &id,
        Chunk {
            length: Some(4),
            ..chunk
        },
        body,
    ))
    .unwrap();
    let rest = Some(Chunks::new(&data[4..], 1 << 20));
    let last = Chunk {
        span: Ok(None),
        length: Some(data.len() as u64 - 4),
    };
    block_on(uploads.finish(&repo("a/two"), &id, &digest, last, rest)).unwrap();
    assert!(sql.hook.borrow().is_none(), "phase 1 ran");
    let plain = DeleteHooked {
        objects: &objects,
        hook: RefCell::new(None),
    };
    block_on(collect(&db, &plain, at + settings().settle()));
    let row = block_on(Store::new(&db).blob(&repo("a/two"), &digest))
        .unwrap()
        .expect("linked");
    assert_eq!(objects.object(&row.object_key), Some(data));
}

#[test]
fn a_mount_of_a_blob_that_collection_removes_links_nothing() {
    let (db, objects) = (Sqlite::migrated(), Memory::default());
    let digest = upload(&db, &objects, "a/one", b"unreferenced");
    let at = now();
    let sql = BatchHooked {
        db: &db,
        before: "INSERT OR IGNORE INTO repositories",
        hook: RefCell::new(Some(Box::pin(async {
            Gc::new(&db).collect(at, &settings()).await.unwrap();
        }))),
    };
    let uploads = Uploads::new(&sql, &objects, platform(), TTL);
    let mounted = block_on(uploads.mount(&repo("a/one"), &repo("a/two"), &digest)).unwrap();
    assert!(sql.hook.borrow().is_none(), "phase 1 ran");
    assert!(!mounted, "the client uploads the blob instead");
    assert_eq!(
        block_on(Store::new(&db).blob(&repo("a/two"), &digest)).unwrap(),
        None
    );
}

//! Immutable tags (docs/immutable-tags.md) against real SQLite built from
//! `migrations/`: the default of a new artifact, pushes that would move a covered
//! tag, and deletions of such tags and of the manifests they point at.

mod fixtures;
mod interleave;
mod memory;
mod sqlite;

use std::cell::Cell;
use std::rc::Rc;

use fixtures::{digest, image_json, repo, upload};
use futures::executor::block_on;
use interleave::{every_interleaving, run, turn, Request, Scheduler, StepSql};
use memory::{platform, Memory};
use sqlite::Sqlite;
use tollgate_core::licensing::deletion::Deletions;
use tollgate_core::licensing::immutable::{Immutability, ImmutableTags, NEW_ARTIFACT_DEFAULT};
use tollgate_core::oci::manifest;
use tollgate_core::storage::manifest_objects::{self, Origin};
use tollgate_core::storage::sql::Sql;
use tollgate_core::storage::store::{ManifestBytes, NewManifest, Store};
use tollgate_core::{stmt, Digest, Error, Reference, RepoName, Result, Tag};

/// Pushes an image made from `seed` to `tag` in `r` under the rule, with
/// `guards` (a credential check) ahead of the rule's guard; the blobs first.
/// `writes` counts the batches the push sent.
fn push_with(
    db: &Sqlite,
    r: &RepoName,
    seed: &str,
    tag: &str,
    guards: Vec<tollgate_core::storage::sql::Statement>,
    writes: &Cell<usize>,
) -> Result<Digest> {
    block_on(push_async(db, r, seed, tag, guards, writes))
}

/// [`push_with`], awaitable, on any database.
async fn push_async<S: Sql>(
    db: &S,
    r: &RepoName,
    seed: &str,
    tag: &str,
    guards: Vec<tollgate_core::storage::sql::Statement>,
    writes: &Cell<usize>,
) -> Result<Digest> {
    let store = Store::new(db);
    let (config, layer) = (digest(&format!("c-{seed}")), digest(&format!("l-{seed}")));
    for (i, d) in [&config, &layer].into_iter().enumerate() {
        store
            .commit_blob(r, d, 1, &format!("blobs/{d}"), &upload(i as u8), 1)
            .await?;
    }
    let json = image_json(&config, &layer, None, "t");
    let parsed = manifest::parse(json.as_bytes(), None).unwrap();
    let d = digest(&json);
    let tag: Tag = tag.parse().unwrap();
    let new = || NewManifest {
        repo: r,
        digest: &d,
        manifest: &parsed,
        size: json.len() as u64,
        bytes: ManifestBytes::Inline(&json),
        tag: Some(&tag),
        now: 2,
    };
    Immutability::new(db)
        .push(r, &tag, &d, |guard| {
            writes.set(writes.get() + 1);
            let mut all = guards.clone();
            all.push(guard);
            store.put_manifest(all, new())
        })
        .await?;
    Ok(d)
}

fn push(db: &Sqlite, r: &RepoName, seed: &str, tag: &str) -> Result<Digest> {
    push_with(db, r, seed, tag, Vec::new(), &Cell::new(0))
}

fn tagged(db: &Sqlite, r: &RepoName, tag: &str) -> Option<String> {
    let reference = Reference::Tag(tag.parse().unwrap());
    block_on(Store::new(db).manifest(r, &reference))
        .unwrap()
        .map(|m| m.digest)
}

fn stored(db: &Sqlite, r: &RepoName, d: &Digest) -> bool {
    let reference = Reference::Digest(d.clone());
    block_on(Store::new(db).manifest(r, &reference))
        .unwrap()
        .is_some()
}

fn set(db: &Sqlite, r: &RepoName, entries: &[&str]) {
    let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
    let setting = ImmutableTags::parse(&entries).unwrap();
    assert!(block_on(Immutability::new(db).set(r, &setting)).unwrap());
}

fn immutable<T>(tag: &str) -> Result<T> {
    Err(Error::ImmutableTag(tag.into()))
}

#[test]
fn a_new_artifact_starts_with_semver_however_it_is_created() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let setting = |name| block_on(Immutability::new(&db).setting(&repo(name))).unwrap();
    let default = ImmutableTags::from_stored(NEW_ARTIFACT_DEFAULT).unwrap();
    push(&db, &repo("pushed"), "a", "v1.0.0").unwrap();
    block_on(store.commit_blob(&repo("uploaded"), &digest("b"), 1, "blobs/b", &upload(9), 1))
        .unwrap();
    block_on(store.mount(&repo("uploaded"), &repo("mounted"), &digest("b"), 1)).unwrap();
    for name in ["pushed", "uploaded", "mounted"] {
        assert_eq!(setting(name), Some(default.clone()), "{name}");
    }
    assert_eq!(setting("never"), None);
    assert_eq!(default.entries(), ["semver"]);
}

#[test]
fn a_covered_tag_never_moves_but_takes_its_own_digest_again() {
    let db = Sqlite::migrated();
    let r = repo("app");
    let first = push(&db, &r, "a", "v1.0.0").unwrap();
    assert_eq!(push(&db, &r, "b", "v1.0.0"), immutable("v1.0.0"));
    assert_eq!(tagged(&db, &r, "v1.0.0").as_deref(), Some(first.as_str()));
    let refused = digest(&image_json(&digest("c-b"), &digest("l-b"), None, "t"));
    assert!(
        !stored(&db, &r, &refused),
        "nothing of the refused push is stored"
    );
    assert_eq!(push(&db, &r, "a", "v1.0.0"), Ok(first), "a client's retry");
}

#[test]
fn an_uncovered_tag_moves_and_an_emptied_setting_turns_the_rule_off() {
    let db = Sqlite::migrated();
    let r = repo("app");
    push(&db, &r, "a", "latest").unwrap();
    let b = push(&db, &r, "b", "latest").unwrap();
    assert_eq!(tagged(&db, &r, "latest").as_deref(), Some(b.as_str()));
    set(&db, &r, &["stable"]);
    push(&db, &r, "a", "v1.0.0").unwrap();
    let moved = push(&db, &r, "b", "v1.0.0").unwrap();
    assert_eq!(tagged(&db, &r, "v1.0.0").as_deref(), Some(moved.as_str()));
    assert_eq!(push(&db, &r, "a", "stable").map(|_| ()), Ok(()));
    assert_eq!(push(&db, &r, "b", "stable"), immutable("stable"));
    set(&db, &r, &[]);
    assert!(push(&db, &r, "b", "stable").is_ok());
}

#[test]
fn moving_a_tag_the_default_does_not_cover_takes_one_write() {
    let db = Sqlite::migrated();
    let r = repo("app");
    push(&db, &r, "a", "latest").unwrap();
    let writes = Cell::new(0);
    let b = push_with(&db, &r, "b", "latest", Vec::new(), &writes).unwrap();
    assert_eq!(tagged(&db, &r, "latest").as_deref(), Some(b.as_str()));
    assert_eq!(writes.get(), 1, "no abort, no read of the setting");
    // Another setting is read before an uncovered tag moves.
    set(&db, &r, &["stable"]);
    writes.set(0);
    push_with(&db, &r, "a", "latest", Vec::new(), &writes).unwrap();
    assert_eq!(writes.get(), 2);
}

#[test]
fn an_abort_that_is_not_the_rules_is_the_writes_own_error() {
    let db = Sqlite::migrated();
    let r = repo("app");
    let refusing = stmt!("SELECT json('no credential') AS guard");
    assert!(matches!(
        push_with(
            &db,
            &r,
            "a",
            "v1.0.0",
            vec![refusing.clone()],
            &Cell::new(0)
        ),
        Err(Error::Internal(_))
    ));
    push(&db, &r, "a", "latest").unwrap();
    assert!(
        matches!(
            push_with(&db, &r, "b", "latest", vec![refusing], &Cell::new(0)),
            Err(Error::Internal(_))
        ),
        "a refused credential moving a mutable tag is not a conflict"
    );
}

#[test]
fn covered_tags_and_their_manifests_are_not_deleted() {
    let db = Sqlite::migrated();
    let deletions = Deletions::new(&db);
    let r = repo("app");
    let release = push(&db, &r, "a", "v1.0.0").unwrap();
    let nightly = push(&db, &r, "b", "nightly").unwrap();
    push(&db, &r, "c", "latest").unwrap();
    let tag = |t: &str| block_on(deletions.tag(&r, &t.parse().unwrap()));
    assert_eq!(tag("v1.0.0"), immutable("v1.0.0"));
    assert_eq!(
        block_on(deletions.manifest(&r, &release)),
        immutable("v1.0.0")
    );
    assert_eq!(tagged(&db, &r, "v1.0.0").as_deref(), Some(release.as_str()));
    assert_eq!(block_on(deletions.manifest(&r, &nightly)), Ok(()));
    assert_eq!(tag("latest"), Ok(()), "an uncovered tag goes as before");
    set(&db, &r, &[]);
    push(&db, &r, "c", "latest").unwrap();
    assert_eq!(tag("v1.0.0"), Ok(()));
}

#[test]
fn an_artifact_from_before_the_migration_has_no_immutable_tags() {
    let old = "INSERT INTO repositories (name, created_at) VALUES ('old', 0)";
    let db = Sqlite::migrated_with(Some(("0011", old)));
    let r = repo("old");
    assert_eq!(
        block_on(Immutability::new(&db).setting(&r)).unwrap(),
        Some(ImmutableTags::default())
    );
    push(&db, &r, "a", "v1.0.0").unwrap();
    let moved = push(&db, &r, "b", "v1.0.0").unwrap();
    assert_eq!(tagged(&db, &r, "v1.0.0").as_deref(), Some(moved.as_str()));
}

#[test]
fn a_refused_large_manifest_leaves_no_object() {
    let db = Sqlite::migrated();
    let objects = Memory::default();
    let r = repo("app");
    push(&db, &r, "a", "v1.0.0").unwrap();
    let (config, layer) = (digest("c-a"), digest("l-a"));
    let json = image_json(&config, &layer, None, "large");
    let parsed = manifest::parse(json.as_bytes(), None).unwrap();
    let d = digest(&json);
    let tag: Tag = "v1.0.0".parse().unwrap();
    let new = NewManifest {
        repo: &r,
        digest: &d,
        manifest: &parsed,
        size: json.len() as u64,
        bytes: ManifestBytes::Inline(""),
        tag: Some(&tag),
        now: 3,
    };
    let store = Store::new(&db);
    let pushed = block_on(Immutability::new(&db).push(&r, &tag, &d, |guard| {
        let attempt = (platform().random)().unwrap();
        manifest_objects::put(
            &store,
            &objects,
            vec![guard],
            new,
            &json,
            attempt,
            Origin::Pushed,
        )
    }));
    assert_eq!(pushed, immutable("v1.0.0"));
    assert_eq!(objects.keys(), Vec::<String>::new());
}

#[test]
fn an_artifact_with_a_covered_tag_is_not_deleted() {
    let db = Sqlite::migrated();
    let r = repo("app");
    let release = push(&db, &r, "a", "v1.0.0").unwrap();
    push(&db, &r, "b", "latest").unwrap();
    let delete = || block_on(Deletions::new(&db).artifact(&r, 10));
    assert_eq!(delete(), immutable("v1.0.0"));
    assert_eq!(tagged(&db, &r, "v1.0.0").as_deref(), Some(release.as_str()));
    set(&db, &r, &[]);
    assert_eq!(delete(), Ok(()));
    assert_eq!(tagged(&db, &r, "v1.0.0"), None);
}

/// A covered tag pushed while the artifact is being deleted: whichever order the
/// two requests' database calls take, a push that succeeded leaves its tag.
#[test]
fn a_covered_tag_pushed_during_the_artifacts_deletion_stays() {
    let runs = every_interleaving(usize::MAX, |prefix| {
        let db = Sqlite::migrated();
        let r = repo("app");
        push(&db, &r, "a", "latest").unwrap();
        let scheduler = Rc::new(Scheduler::default());
        let deleter = StepSql {
            inner: &db,
            turn: turn(&scheduler, 0),
        };
        let pusher = StepSql {
            inner: &db,
            turn: turn(&scheduler, 1),
        };
        let writes = Cell::new(0);
        let deletions = Deletions::new(&deleter);
        let requests: Vec<Request<'_, Result<()>>> = vec![
            Box::pin(deletions.artifact(&r, 10)),
            Box::pin(async {
                push_async(&pusher, &r, "b", "v1.0.0", Vec::new(), &writes)
                    .await
                    .map(drop)
            }),
        ];
        let (results, steps) = run(&scheduler, requests, prefix);
        let schedule: Vec<usize> = steps.iter().map(|s| s.who).collect();
        if results[1].is_ok() {
            assert!(
                tagged(&db, &r, "v1.0.0").is_some(),
                "schedule {schedule:?}: {results:?}"
            );
        }
        assert!(
            matches!(
                results[0],
                Ok(()) | Err(Error::ImmutableTag(_) | Error::Conflict(_))
            ),
            "schedule {schedule:?}: {results:?}"
        );
        steps
    });
    assert!(runs > 5, "{runs}");
}

/// A manifest deleted by digest while an uncovered tag is pushed onto it: the
/// deletion either goes, refuses, or asks to be tried again, never fails.
#[test]
fn a_tag_pushed_onto_a_manifest_being_deleted_is_no_failure() {
    let runs = every_interleaving(usize::MAX, |prefix| {
        let db = Sqlite::migrated();
        let r = repo("app");
        let doomed = push(&db, &r, "a", "nightly").unwrap();
        push(&db, &r, "b", "stable").unwrap();
        let scheduler = Rc::new(Scheduler::default());
        let deleter = StepSql {
            inner: &db,
            turn: turn(&scheduler, 0),
        };
        let pusher = StepSql {
            inner: &db,
            turn: turn(&scheduler, 1),
        };
        let writes = Cell::new(0);
        let deletions = Deletions::new(&deleter);
        let requests: Vec<Request<'_, Result<()>>> = vec![
            Box::pin(deletions.manifest(&r, &doomed)),
            Box::pin(async {
                push_async(&pusher, &r, "a", "latest", Vec::new(), &writes)
                    .await
                    .map(drop)
            }),
        ];
        let (results, steps) = run(&scheduler, requests, prefix);
        let schedule: Vec<usize> = steps.iter().map(|s| s.who).collect();
        assert!(
            matches!(results[0], Ok(()) | Err(Error::Conflict(_))),
            "schedule {schedule:?}: {results:?}"
        );
        steps
    });
    assert!(runs > 5, "{runs}");
}

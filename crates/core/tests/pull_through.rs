//! Content fetched from an artifact's upstream (docs/pull-through.md) against
//! real SQLite built from `migrations/`: which unstored tags a customer's
//! licenses let Tollgate fetch, a fetched manifest stored as if pushed without
//! its blobs, its blobs then licensed through it, garbage collection at ease
//! with references not stored yet, a large fetched manifest kept in the object
//! store, and which fetched tags a scheduled sync re-resolves. How a fetched blob
//! is stored: uploads.rs.

mod fixtures;
mod memory;
mod sqlite;

use futures::executor::block_on;
use sqlite::Sqlite;
use tollgate_core::auth::account_store::{Accounts, Customer};
use tollgate_core::licensing::deletion::Deletions;
use tollgate_core::licensing::license::{Access, ExpiryPolicy, Item, Versions};
use tollgate_core::licensing::license_store::{Licenses, NewLicense, Target};
use tollgate_core::oci::manifest::OCI_INDEX;
use tollgate_core::storage::gc::{Gc, Settings};
use tollgate_core::storage::manifest_objects::{self, Origin, INLINE_LIMIT};
use tollgate_core::storage::sql::Sql;
use tollgate_core::storage::store::Store;
use tollgate_core::upstream::fetch;
use tollgate_core::upstream::setting::{AuthKind, Upstream};
use tollgate_core::upstream::store::Upstreams;
use tollgate_core::upstream::sync::{self, Bound, DueArtifact};
use tollgate_core::{stmt, Digest, Error, Reference, RepoName, Result, Tag};

use fixtures::{digest, image_json, repo, upload, writing};

const NOW: i64 = 1_000_000;

struct Plain;

impl tollgate_core::upstream::setting::Cipher for Plain {
    async fn seal(&self, plaintext: &[u8], _: &[u8]) -> Result<Vec<u8>> {
        Ok(plaintext.to_vec())
    }
    async fn open(&self, sealed: &[u8], _: &[u8]) -> Result<Vec<u8>> {
        Ok(sealed.to_vec())
    }
}

fn with_upstream(db: &Sqlite, r: &RepoName) {
    let upstream = Upstream {
        url: "http://127.0.0.1:5000".parse().unwrap(),
        repository: "mirror/app".parse().unwrap(),
        auth: AuthKind::None,
        login: None,
        refresh_seconds: 300,
    };
    block_on(Upstreams::new(db).set(r, &upstream, &Plain, 1)).unwrap();
}

fn licensed(db: &Sqlite, customer: &str, r: &RepoName, versions: Versions, expiry: Option<i64>) {
    let accounts = Accounts::new(db);
    let new = Customer {
        id: customer.into(),
        name: customer.into(),
        contact: String::new(),
        notes: String::new(),
        created_at: 1,
    };
    block_on(accounts.create_customer(&new)).unwrap();
    let license = NewLicense {
        id: format!("l-{customer}"),
        name: customer.into(),
        customer_id: customer.into(),
        expires_at: expiry,
        expiry_policy: ExpiryPolicy::KeepReleased,
        caps: Default::default(),
        created_at: 1,
        items: vec![Item {
            artifact: r.clone(),
            versions,
        }],
    };
    block_on(Licenses::new(db).create(&license)).unwrap();
}

fn granted(db: &Sqlite, customer: &str, r: &RepoName, target: Target) -> bool {
    let (access, _) = block_on(Licenses::new(db).access(customer, r, target, NOW)).unwrap();
    matches!(access, Access::Granted { .. })
}

fn tag_granted(db: &Sqlite, customer: &str, r: &RepoName, tag: &str) -> bool {
    let reference: Reference = tag.parse().unwrap();
    granted(db, customer, r, Target::Manifest(&reference))
}

/// Stores `json` as fetched from the upstream, tagged `tag`: where it names
/// blobs, a push of it would be refused for want of them.
fn fetched(store: &Store<Sqlite>, r: &RepoName, json: &str, tag: Option<&str>) -> Digest {
    writing(r, json, tag, NOW, |new| {
        if !new.manifest.blobs.is_empty() {
            let pushed = block_on(store.put_manifest(Vec::new(), new));
            assert!(matches!(pushed, Err(Error::ManifestBlobUnknown(_))));
        }
        assert!(block_on(store.put_fetched_manifest(Vec::new(), new, NOW + 300)).unwrap());
        assert!(!block_on(store.put_fetched_manifest(Vec::new(), new, NOW + 300)).unwrap());
    })
}

#[test]
fn an_unstored_tag_is_granted_only_as_a_license_covers_it_and_only_with_an_upstream() {
    let db = Sqlite::migrated();
    let (mirrored, plain) = (repo("acme/mirrored"), repo("acme/plain"));
    with_upstream(&db, &mirrored);
    licensed(
        &db,
        "pat",
        &mirrored,
        Versions::Pattern("v1.*".parse().unwrap()),
        None,
    );
    assert!(tag_granted(&db, "pat", &mirrored, "v1.4"));
    assert!(!tag_granted(&db, "pat", &mirrored, "v2.0"));
    block_on(db.batch(vec![stmt!(
        "INSERT INTO repositories (name, created_at) VALUES (?1, 1)",
        plain.as_str()
    )]))
    .unwrap();
    licensed(&db, "all", &plain, Versions::All, None);
    assert!(
        !tag_granted(&db, "all", &plain, "v1.4"),
        "no upstream: nothing to fetch"
    );
    with_upstream(&db, &plain);
    assert!(tag_granted(&db, "all", &plain, "v1.4"));
    assert!(
        !tag_granted(&db, "pat", &plain, "v1.4"),
        "another artifact's license"
    );
    licensed(&db, "expired", &mirrored, Versions::All, Some(NOW - 10));
    assert!(
        !tag_granted(&db, "expired", &mirrored, "v1.4"),
        "an expired license keeps what was released, not what is fetched after"
    );
}

#[test]
fn a_fetched_manifest_is_stored_without_its_blobs_and_licenses_them() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let r = repo("acme/app");
    with_upstream(&db, &r);
    licensed(
        &db,
        "c",
        &r,
        Versions::Pattern("v1.*".parse().unwrap()),
        None,
    );
    let (config, layer) = (digest("config"), digest("layer"));
    let child = fetched(&store, &r, &image_json(&config, &layer, None, "t"), None);
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"m","digest":"{child}","size":1}}]}}"#
    );
    let index = fetched(&store, &r, &index, Some("v1.0"));
    let by_tag: Reference = "v1.0".parse().unwrap();
    let row = block_on(store.manifest(&r, &by_tag)).unwrap().unwrap();
    assert_eq!(row.digest, index.as_str());
    let child_ref = Reference::Digest(child.clone());
    assert!(granted(&db, "c", &r, Target::Manifest(&child_ref)));
    assert!(granted(&db, "c", &r, Target::Blob(&layer)));
    assert!(!granted(&db, "c", &r, Target::Blob(&digest("elsewhere"))));
    assert_eq!(block_on(store.blob(&r, &layer)).unwrap(), None);

    let settings = Settings::new(0, 10);
    block_on(Gc::new(&db).collect(NOW + 100, &settings)).unwrap();
    assert!(block_on(store.manifest(&r, &child_ref)).unwrap().is_some());
}

#[test]
fn a_large_fetched_manifest_goes_to_the_object_store_without_its_blobs() {
    let db = Sqlite::migrated();
    let objects = memory::Memory::default();
    let store = Store::new(&db);
    let r = repo("acme/app");
    with_upstream(&db, &r);
    let padding = "x".repeat(INLINE_LIMIT);
    let json = image_json(&digest("c"), &digest("l"), None, &padding);
    let put = |origin| {
        writing(&r, &json, Some("big"), NOW, |new| {
            let stored =
                manifest_objects::put(&store, &objects, Vec::new(), new, &json, [7; 16], origin);
            match origin {
                Origin::Pushed => assert!(matches!(
                    block_on(stored),
                    Err(Error::ManifestBlobUnknown(_))
                )),
                Origin::Fetched { .. } => block_on(stored).unwrap(),
            }
        })
    };
    put(Origin::Pushed);
    assert!(objects.keys().is_empty(), "a refused push leaves no object");
    let d = put(Origin::Fetched {
        refresh_at: NOW + 300,
    });
    let row = block_on(store.manifest(&r, &"big".parse().unwrap()))
        .unwrap()
        .unwrap();
    let key = row.object_key.expect("kept in the object store");
    assert_eq!(objects.object(&key).unwrap(), json.as_bytes());
    assert_eq!(
        (row.digest, row.refresh_at),
        (d.to_string(), Some(NOW + 300))
    );
}

#[test]
fn a_fetched_tag_is_due_for_refresh_a_pushed_one_never_and_failures_are_shown() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let r = repo("acme/app");
    with_upstream(&db, &r);
    let v1: Reference = "v1".parse().unwrap();
    let tag: Tag = "v1".parse().unwrap();
    let refresh_at = || {
        block_on(store.manifest(&r, &v1))
            .unwrap()
            .unwrap()
            .refresh_at
    };
    let first = fetched(
        &store,
        &r,
        &image_json(&digest("c"), &digest("l"), None, "t"),
        Some("v1"),
    );
    assert_eq!(refresh_at(), Some(NOW + 300));
    block_on(store.tag_resolved(&r, &tag, &first, NOW + 900)).unwrap();
    assert_eq!(refresh_at(), Some(NOW + 900));
    block_on(store.tag_resolved(&r, &tag, &digest("moved since"), NOW + 5000)).unwrap();
    assert_eq!(
        refresh_at(),
        Some(NOW + 900),
        "only for the digest it names"
    );
    let pushed = fixtures::push_image(&store, &r, "v1", None, "t");
    let row = block_on(store.manifest(&r, &v1)).unwrap().unwrap();
    assert_eq!(
        (row.digest.as_str(), row.refresh_at),
        (pushed.as_str(), None)
    );

    let upstreams = Upstreams::new(&db);
    block_on(upstreams.record_failure(&r, "it answered 503", NOW)).unwrap();
    let view = block_on(upstreams.view(&r)).unwrap().unwrap();
    assert_eq!(
        (
            view.last_error.as_deref(),
            view.last_error_at,
            view.refresh_seconds
        ),
        (Some("it answered 503"), Some(NOW), 300)
    );
    with_upstream(&db, &r);
    let view = block_on(upstreams.view(&r)).unwrap().unwrap();
    assert_eq!((view.last_error, view.last_error_at), (None, None));
}

#[test]
fn fetched_content_is_deleted_under_the_rules_blobs_stored_or_not() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let r = repo("acme/app");
    with_upstream(&db, &r);
    let (config, layer) = (digest("config"), digest("layer"));
    let json = image_json(&config, &layer, None, "t");
    let image = fetched(&store, &r, &json, Some("v1"));
    let other = fetched(
        &store,
        &r,
        &image_json(&config, &digest("l2"), None, "t"),
        Some("v2"),
    );
    block_on(store.commit_blob(&r, &config, 1, "blobs/fetched-c", &upload(0), NOW)).unwrap();
    let deletions = Deletions::new(&db);
    assert_eq!(
        block_on(deletions.blob(&r, &layer)),
        Err(Error::BlobUnknown),
        "referenced, never fetched"
    );
    licensed(&db, "c", &r, Versions::Pattern("v1".parse().unwrap()), None);
    assert!(matches!(
        block_on(deletions.manifest(&r, &image)),
        Err(Error::Refused(_))
    ));
    block_on(deletions.manifest(&r, &other)).unwrap();
    let gone = Reference::Digest(other);
    assert_eq!(block_on(store.manifest(&r, &gone)).unwrap(), None);
    block_on(Gc::new(&db).collect(NOW + 100, &Settings::new(0, 10))).unwrap();
    assert!(
        block_on(store.blob(&r, &config)).unwrap().is_some(),
        "v1 references it"
    );
}

/// Tags `tag` in `r` as fetched, due at `refresh_at`, naming a manifest of its
/// own.
fn fetched_due(store: &Store<Sqlite>, r: &RepoName, tag: &str, refresh_at: i64) -> Digest {
    let json = image_json(&digest("c"), &digest(&format!("{r}:{tag}")), None, "t");
    let d = fetched(store, r, &json, Some(tag));
    let tag: Tag = tag.parse().unwrap();
    block_on(store.tag_resolved(r, &tag, &d, refresh_at)).unwrap();
    d
}

/// Which tags of which artifacts `due_tags` picks at NOW, as names.
fn picked(db: &Sqlite, per_run: u32, per_artifact: u32) -> Vec<(String, Vec<String>)> {
    let bound = Bound {
        per_run,
        per_artifact,
    };
    let due = block_on(sync::due_tags(db, NOW, bound)).unwrap();
    due.into_iter()
        .map(|DueArtifact { repo, tags, .. }| {
            let tags = tags.iter().map(|(t, _)| t.to_string()).collect();
            (repo.to_string(), tags)
        })
        .collect()
}

#[test]
fn a_sync_picks_only_due_fetched_tags_of_artifacts_with_an_upstream_oldest_first_and_bounded() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let (a, b, gone) = (repo("acme/a"), repo("acme/b"), repo("acme/gone"));
    for r in [&a, &b, &gone] {
        with_upstream(&db, r);
    }
    for (i, tag) in ["a1", "a2", "a3", "a4", "a5", "a6"].iter().enumerate() {
        fetched_due(&store, &a, tag, NOW - 100 + i as i64);
    }
    fetched_due(&store, &a, "later", NOW + 1);
    let b1 = fetched_due(&store, &b, "b1", NOW - 500);
    fetched_due(&store, &b, "b2", NOW);
    fetched_due(&store, &b, "pushed-over", NOW - 900);
    fixtures::push_image(&store, &b, "pushed-over", None, "t");
    fixtures::push_image(&store, &b, "pushed", None, "t");
    fetched_due(&store, &gone, "g1", NOW - 1000);
    block_on(Upstreams::new(&db).remove(&gone)).unwrap();

    let names = |tags: &[&str]| tags.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    assert_eq!(
        picked(&db, 10, 5),
        [
            ("acme/b".to_string(), names(&["b1", "b2"])),
            ("acme/a".to_string(), names(&["a1", "a2", "a3", "a4", "a5"])),
        ],
        "oldest due first, five of a; not a6 (over the artifact's bound), not `later` \
         (not due), no pushed tag, nothing of an artifact without an upstream"
    );
    assert_eq!(
        picked(&db, 3, 5),
        [
            ("acme/b".to_string(), names(&["b1"])),
            ("acme/a".to_string(), names(&["a1", "a2"])),
        ],
        "the run's bound takes the three oldest"
    );
    let due = block_on(sync::due_tags(&db, NOW, sync::BOUND)).unwrap();
    assert_eq!(
        (&due[0].tags[0], due[0].refresh_seconds),
        (&("b1".parse().unwrap(), b1), 300),
        "with its digest, and its upstream's interval"
    );

    // The selection and the pull agree on what is due: each tag picked with
    // bounds that do not bite is exactly each tag `fetch::due` says is due.
    let all = picked(&db, 100, 100);
    for (r, tag) in [(&a, "a6"), (&a, "later"), (&b, "b2"), (&b, "pushed")] {
        let reference: Reference = tag.parse().unwrap();
        let row = block_on(store.manifest(r, &reference)).unwrap().unwrap();
        let is_picked = all
            .iter()
            .any(|(name, tags)| name == r.as_str() && tags.iter().any(|t| t == tag));
        assert_eq!(is_picked, fetch::due(row.refresh_at, NOW), "{r}:{tag}");
    }
}

//! Artifacts' upstreams (docs/pull-through.md) against real SQLite built from
//! `migrations/`: the secret is stored sealed and bound to its artifact, never
//! shown, replaced and removed with the setting, and gone with the artifact; its
//! outage shows in the artifact's details and list for vendor staff only.

mod fixtures;
mod sqlite;

use fixtures::add_customer;
use futures::executor::block_on;
use serde::Deserialize;
use sqlite::Sqlite;
use tollgate_core::analytics::artifacts::{ArtifactQuery, Artifacts};
use tollgate_core::licensing::deletion::Deletions;
use tollgate_core::licensing::license::{Item, Versions};
use tollgate_core::licensing::license_store::{Licenses, NewLicense};
use tollgate_core::storage::sql::Sql;
use tollgate_core::storage::store::Store;
use tollgate_core::upstream::setting::{AuthKind, Cipher, Upstream, UpstreamRequest};
use tollgate_core::upstream::store::Upstreams;
use tollgate_core::{stmt, Error, RepoName, Result};

/// A stand-in for AES-GCM: XOR with a key byte, the context prepended and
/// checked on opening, as associated data is.
struct Xor;

impl Cipher for Xor {
    async fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let mut sealed = context.to_vec();
        sealed.push(0);
        sealed.extend(plaintext.iter().map(|b| b ^ 0x5a));
        Ok(sealed)
    }

    async fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let (head, body) = sealed.split_at(context.len().min(sealed.len()));
        if head != context || body.first() != Some(&0) {
            return Err(Error::Internal("sealed for another context".into()));
        }
        Ok(body[1..].iter().map(|b| b ^ 0x5a).collect())
    }
}

fn repo(name: &str) -> RepoName {
    name.parse().unwrap()
}

fn basic(password: &str) -> Upstream {
    Upstream::try_from(UpstreamRequest {
        url: "http://127.0.0.1:5000".into(),
        repository: "mirror/app".into(),
        auth: AuthKind::Basic,
        username: Some("ci".into()),
        password: Some(password.into()),
        refresh_seconds: None,
    })
    .unwrap()
}

#[derive(Deserialize)]
struct Secret {
    secret: Option<String>,
}

fn stored_secret(db: &Sqlite, r: &RepoName) -> Option<String> {
    let row: Option<Secret> = block_on(db.one(stmt!(
        "SELECT secret FROM upstreams WHERE repo = ?1",
        r.as_str()
    )))
    .unwrap();
    row.and_then(|r| r.secret)
}

#[test]
fn the_secret_is_sealed_never_shown_and_opens_for_a_fetch() {
    let db = Sqlite::migrated();
    let upstreams = Upstreams::new(&db);
    let r = repo("acme/app");
    let view = block_on(upstreams.set(&r, &basic("hunter2"), &Xor, 10)).unwrap();
    assert_eq!(view.auth, "basic");
    assert_eq!(view.username.as_deref(), Some("ci"));
    assert!(view.password_set);
    let shown = serde_json::to_string(&view).unwrap();
    assert!(!shown.contains("hunter2"), "{shown}");
    let stored = stored_secret(&db, &r).expect("a sealed secret");
    assert!(!stored.contains(&hex::encode("hunter2")), "stored sealed");
    let opened = block_on(upstreams.open(&r, &Xor)).unwrap().unwrap();
    assert_eq!(opened, basic("hunter2"));
    assert!(
        block_on(Store::new(&db).repository_exists(&r)).unwrap(),
        "setting an upstream creates the artifact"
    );
}

#[test]
fn a_sealed_secret_moved_to_another_artifact_does_not_open() {
    let db = Sqlite::migrated();
    let upstreams = Upstreams::new(&db);
    let (ours, theirs) = (repo("acme/app"), repo("other/app"));
    block_on(upstreams.set(&ours, &basic("hunter2"), &Xor, 10)).unwrap();
    block_on(upstreams.set(&theirs, &basic("other"), &Xor, 10)).unwrap();
    block_on(db.batch(vec![stmt!(
        "UPDATE upstreams SET secret = (SELECT secret FROM upstreams WHERE repo = ?1) WHERE repo = ?2",
        ours.as_str(),
        theirs.as_str()
    )]))
    .unwrap();
    assert!(block_on(upstreams.open(&theirs, &Xor)).is_err());
}

#[test]
fn a_new_setting_replaces_the_old_and_removal_keeps_the_artifact() {
    let db = Sqlite::migrated();
    let upstreams = Upstreams::new(&db);
    let r = repo("acme/app");
    block_on(upstreams.set(&r, &basic("hunter2"), &Xor, 10)).unwrap();
    let anonymous = Upstream {
        auth: AuthKind::None,
        login: None,
        ..basic("x")
    };
    let view = block_on(upstreams.set(&r, &anonymous, &Xor, 20)).unwrap();
    assert_eq!(
        (view.auth.as_str(), view.password_set, view.updated_at),
        ("none", false, 20)
    );
    assert_eq!(view.username, None);
    assert_eq!(stored_secret(&db, &r), None, "no old secret left behind");
    assert!(block_on(upstreams.remove(&r)).unwrap());
    assert!(!block_on(upstreams.remove(&r)).unwrap());
    assert_eq!(block_on(upstreams.view(&r)).unwrap(), None);
    assert!(block_on(Store::new(&db).repository_exists(&r)).unwrap());
}

#[test]
fn deleting_the_artifact_deletes_its_upstream() {
    let db = Sqlite::migrated();
    let upstreams = Upstreams::new(&db);
    let r = repo("acme/app");
    block_on(upstreams.set(&r, &basic("hunter2"), &Xor, 10)).unwrap();
    block_on(Deletions::new(&db).artifact(&r, 30)).unwrap();
    assert_eq!(block_on(upstreams.view(&r)).unwrap(), None);
    assert_eq!(stored_secret(&db, &r), None);
}

/// An upstream's outage shows in the artifact's details and marks it in the
/// artifact list for vendor staff, who may not read the setting itself, and
/// never for a customer.
#[test]
fn an_outage_shows_in_the_details_for_vendor_staff_only() {
    let db = Sqlite::migrated();
    let upstreams = Upstreams::new(&db);
    let r = repo("acme/app");
    block_on(upstreams.set(&r, &basic("hunter2"), &Xor, 10)).unwrap();
    let details = || {
        block_on(Artifacts::new(&db).details(&r, None, 40))
            .unwrap()
            .unwrap()
    };
    let listed_failure = |customer| {
        let query = ArtifactQuery {
            limit: 10,
            ..ArtifactQuery::default()
        };
        let page = block_on(Artifacts::new(&db).list(&query, customer, 40)).unwrap();
        page.items[0].upstream_failed_at
    };
    assert_eq!(details().upstream_failure, None, "no outage yet");
    assert_eq!(listed_failure(None), None);

    block_on(upstreams.record_failure(&r, "the upstream could not be reached", 30)).unwrap();
    let failure = details().upstream_failure.expect("the outage");
    assert_eq!(
        (failure.error.as_str(), failure.at),
        ("the upstream could not be reached", 30)
    );
    add_customer(&db, "customer-a");
    let license = NewLicense {
        id: "l1".into(),
        name: "l1".into(),
        customer_id: "customer-a".into(),
        expires_at: None,
        expiry_policy: Default::default(),
        caps: Default::default(),
        created_at: 1,
        items: vec![Item {
            artifact: r.clone(),
            versions: Versions::All,
        }],
    };
    block_on(Licenses::new(&db).create(&license)).unwrap();
    let theirs = block_on(Artifacts::new(&db).details(&r, Some("customer-a"), 40));
    let theirs = theirs.unwrap().expect("licensed");
    assert_eq!(theirs.upstream_failure, None, "customers never see it");
    assert_eq!(
        listed_failure(None),
        Some(30),
        "the list marks it for staff"
    );
    assert_eq!(
        listed_failure(Some("customer-a")),
        None,
        "and not for customers"
    );

    block_on(upstreams.set(&r, &basic("hunter2"), &Xor, 50)).unwrap();
    assert_eq!(details().upstream_failure, None, "a new setting clears it");
}

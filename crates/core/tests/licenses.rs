//! Licenses and the deletion rules against real SQLite built from `migrations/`:
//! what each customer may read, the readable tags page by page, and the worked
//! deletion examples of docs/licensing.md.

mod fixtures;
mod sqlite;

use futures::executor::block_on;
use sqlite::Sqlite;
use tollgate_core::auth::account::{Email, Role};
use tollgate_core::auth::account_store::{new_user, Accounts, Token};
use tollgate_core::error::Refusal;
use tollgate_core::licensing::deletion::Deletions;
use tollgate_core::licensing::license::{
    grants, Access, ExpiryPolicy, Grant, GrantRow, Item, Versions,
};
use tollgate_core::licensing::license_store::{
    grant_query, LicenseFilter, Licensee, Licenses, NewLicense, Target,
};
use tollgate_core::licensing::newest;
use tollgate_core::stmt;
use tollgate_core::storage::sql::Sql;
use tollgate_core::storage::store::Store;
use tollgate_core::{Digest, Error, Reference, RepoName};

use fixtures::{add_customer, digest, mutable_repo, push_image, push_image_as, push_index, repo};

const NOW: i64 = 1_000_000;

fn license(id: &str, customer: &str, expires_at: Option<i64>, items: Vec<Item>) -> NewLicense {
    NewLicense {
        id: id.into(),
        name: format!("license {id}"),
        customer_id: customer.into(),
        expires_at,
        expiry_policy: Default::default(),
        caps: Default::default(),
        created_at: 1,
        items,
    }
}

fn item(artifact: &RepoName, versions: Versions) -> Item {
    Item {
        artifact: artifact.clone(),
        versions,
    }
}

fn pattern(p: &str) -> Versions {
    Versions::Pattern(p.parse().unwrap())
}

fn manifest(db: &Sqlite, customer: &str, r: &RepoName, reference: &str, now: i64) -> bool {
    let reference: Reference = reference.parse().unwrap();
    grant_at(db, customer, r, Target::Manifest(&reference), now) != Grant::Refused
}

fn blob(db: &Sqlite, customer: &str, r: &RepoName, d: &Digest) -> bool {
    grant_at(db, customer, r, Target::Blob(d), NOW) != Grant::Refused
}

#[test]
fn grants_follow_digests_indexes_referrers_and_blobs() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("acme/app");
    let v1 = push_image(&store, &app, "v1.0.0", None, "t");
    let v11 = push_image(&store, &app, "v1.1.0", None, "t");
    let amd = push_image_as(&store, &app, "amd64", None, None, "t");
    let arm = push_image_as(&store, &app, "arm64", None, None, "t");
    let index = push_index(&store, &app, Some("multi"), &[amd.clone(), arm.clone()]);
    let other = push_image_as(&store, &app, "other-arch", None, None, "t");
    push_index(
        &store,
        &app,
        Some("unlicensed-multi"),
        std::slice::from_ref(&other),
    );
    let sbom = push_image_as(
        &store,
        &app,
        "sbom",
        None,
        Some(&v1),
        "application/spdx+json",
    );
    let sig = push_image_as(&store, &app, "sig", None, Some(&sbom), "application/sig");
    add_customer(&db, "a");
    add_customer(&db, "b");
    let licenses = Licenses::new(&db);
    block_on(licenses.create(&license(
        "l1",
        "a",
        None,
        vec![item(
            &app,
            Versions::Digests(vec![v1.clone(), index.clone()]),
        )],
    )))
    .unwrap();

    for readable in [
        "v1.0.0",
        v1.as_str(),
        "multi",
        amd.as_str(),
        arm.as_str(),
        sbom.as_str(),
        sig.as_str(),
    ] {
        assert!(manifest(&db, "a", &app, readable, NOW), "{readable}");
    }
    for hidden in [
        "v1.1.0",
        v11.as_str(),
        "unlicensed-multi",
        other.as_str(),
        "missing",
    ] {
        assert!(!manifest(&db, "a", &app, hidden, NOW), "{hidden}");
    }
    for guessed in ["v1.0.0", v1.as_str(), amd.as_str(), sbom.as_str()] {
        assert!(
            !manifest(&db, "b", &app, guessed, NOW),
            "b guessed {guessed}"
        );
    }
    assert!(blob(&db, "a", &app, &digest("layer-v1.0.0")));
    assert!(blob(&db, "a", &app, &digest("config-arm64")));
    assert!(blob(&db, "a", &app, &digest("layer-sbom")));
    assert!(!blob(&db, "a", &app, &digest("layer-v1.1.0")));
    assert!(!blob(&db, "a", &app, &digest("layer-other-arch")));
    assert!(!blob(&db, "b", &app, &digest("layer-v1.0.0")));
    assert!(!manifest(&db, "a", &repo("acme/else"), v1.as_str(), NOW));

    // An all-versions license reads blobs only through the manifests using them.
    block_on(licenses.create(&license("l2", "b", None, vec![item(&app, Versions::All)]))).unwrap();
    assert!(blob(&db, "b", &app, &digest("layer-v1.1.0")));
    assert!(
        !blob(&db, "b", &app, &digest("uploaded-never-referenced")),
        "an all-versions license does not open a blob no manifest references"
    );
}

#[test]
fn patterns_cover_later_tags_and_expiry_is_checked_at_request_time() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("app");
    push_image(&store, &app, "v1.0.0", None, "t");
    push_image(&store, &app, "v2.0.0", None, "t");
    add_customer(&db, "a");
    let licenses = Licenses::new(&db);
    block_on(licenses.create(&license(
        "l1",
        "a",
        Some(NOW + 10),
        vec![item(&app, pattern("v1.*"))],
    )))
    .unwrap();
    assert!(manifest(&db, "a", &app, "v1.0.0", NOW));
    assert!(!manifest(&db, "a", &app, "v2.0.0", NOW));
    assert!(!manifest(&db, "a", &app, "v1.5.0", NOW), "not pushed yet");
    let later = push_image(&store, &app, "v1.5.0", None, "t");
    assert!(manifest(&db, "a", &app, "v1.5.0", NOW));
    assert!(manifest(&db, "a", &app, later.as_str(), NOW));
    assert!(blob(&db, "a", &app, &digest("layer-v1.5.0")));
    assert!(!manifest(&db, "a", &app, "v1.0.0", NOW + 10), "expired");
    // The grant says until when, so a cache of it never outlives the license.
    let v1: Reference = "v1.0.0".parse().unwrap();
    let grant = grant_at(&db, "a", &app, Target::Manifest(&v1), NOW);
    assert_eq!(grant, Grant::Until(Some(NOW + 10)));
    let readable = block_on(licenses.readable("a", &app, NOW))
        .unwrap()
        .unwrap();
    assert_eq!((readable.all, readable.until), (false, Some(NOW + 10)));

    let semver = repo("semver");
    for tag in ["v1.1.0", "v1.2.0", "v1.9.9", "v2.0.0"] {
        push_image(&store, &semver, tag, None, "t");
    }
    block_on(licenses.create(&license(
        "l2",
        "a",
        None,
        vec![item(&semver, pattern(">=1.2, <2"))],
    )))
    .unwrap();
    let readable: Vec<bool> = ["v1.1.0", "v1.2.0", "v1.9.9", "v2.0.0"]
        .iter()
        .map(|t| manifest(&db, "a", &semver, t, NOW))
        .collect();
    assert_eq!(readable, [false, true, true, false]);
}

#[test]
fn the_grant_query_finds_the_customer_of_a_credential() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("app");
    let d = push_image(&store, &app, "v1", None, "t");
    add_customer(&db, "a");
    let accounts = Accounts::new(&db);
    let email = |e: &str| Email::parse(e).unwrap();
    let user = new_user(
        "1".into(),
        &email("c@a.test"),
        Role::Customer,
        Some("a".into()),
        1,
    );
    block_on(accounts.create_user(&user, None)).unwrap();
    let vendor = new_user("2".into(), &email("v@x.test"), Role::Admin, None, 1);
    block_on(accounts.create_user(&vendor, None)).unwrap();
    let token = Token {
        id: "t1".into(),
        user_id: user.id.clone(),
        name: "ci".into(),
        created_at: 1,
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    };
    block_on(accounts.create_token(&token, "hash-of-secret")).unwrap();
    block_on(Licenses::new(&db).create(&license("l1", "a", None, vec![item(&app, Versions::All)])))
        .unwrap();
    let reference = Reference::Digest(d);
    let check = |licensee: Licensee| {
        let statement = grant_query(&licensee, &app, Target::Manifest(&reference), NOW);
        let rows: Vec<GrantRow> = block_on(db.query(statement)).unwrap();
        grants(&rows)
    };
    assert!(check(Licensee::Customer("a".into())));
    assert!(check(Licensee::User(user.id.clone())));
    assert!(check(Licensee::Token("hash-of-secret".into())));
    assert!(!check(Licensee::Token("another-hash".into())));
    assert!(
        !check(Licensee::User(vendor.id.clone())),
        "vendors hold no licenses"
    );
    assert!(!check(Licensee::Session("no-session".into())));
}

#[test]
fn readable_tags_paginate_after_filtering() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("app");
    let mut digests = Vec::new();
    for tag in ["a", "b", "latest", "v1.0", "v1.1", "v2.0", "z"] {
        digests.push(push_image(&store, &app, tag, None, "t"));
    }
    add_customer(&db, "a");
    add_customer(&db, "none");
    add_customer(&db, "all");
    let licenses = Licenses::new(&db);
    // "b" by digest, v1.* by pattern; "z" is the same content as nothing licensed.
    block_on(licenses.create(&license(
        "l1",
        "a",
        None,
        vec![
            item(&app, Versions::Digests(vec![digests[1].clone()])),
            item(&app, pattern("v1.*")),
        ],
    )))
    .unwrap();
    block_on(licenses.create(&license("l2", "all", None, vec![item(&app, Versions::All)])))
        .unwrap();
    let page = |customer: &str, last: Option<&str>, n| {
        let rows = block_on(licenses.readable_tags(customer, &app, last, n, NOW)).unwrap();
        rows.map(|rows| rows.into_iter().map(|r| r.tag).collect::<Vec<String>>())
    };
    assert_eq!(
        page("a", None, 2),
        Some(vec!["b".into(), "v1.0".into(), "v1.1".into()])
    );
    assert_eq!(page("a", Some("v1.0"), 2), Some(vec!["v1.1".into()]));
    assert_eq!(page("a", Some("v1.1"), 2), Some(vec![]));
    assert_eq!(
        page("none", None, 10),
        None,
        "no license: the artifact is hidden"
    );
    assert_eq!(page("all", None, 100).unwrap().len(), 7);

    block_on(licenses.create(&license(
        "l3",
        "none",
        Some(NOW),
        vec![item(&app, Versions::All)],
    )))
    .unwrap();
    assert_eq!(
        page("none", None, 10),
        None,
        "an expired license grants nothing"
    );
    assert_eq!(
        block_on(licenses.licensed_artifacts("a", None, None, 10, NOW)).unwrap(),
        vec!["app".to_string()]
    );
    assert!(
        block_on(licenses.licensed_artifacts("none", None, None, 10, NOW))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        block_on(licenses.licensed_artifacts("a", None, Some(&["app", "other"]), 10, NOW)).unwrap(),
        vec!["app".to_string()]
    );
}

#[test]
fn licenses_are_checked_listed_replaced_and_deleted() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("app");
    let d = push_image(&store, &app, "v1", None, "t");
    add_customer(&db, "a");
    add_customer(&db, "b");
    let licenses = Licenses::new(&db);
    let invalid = |l: NewLicense| match block_on(licenses.create(&l)) {
        Err(Error::Invalid(message)) => message,
        other => panic!("{other:?}"),
    };
    assert!(invalid(license(
        "x",
        "a",
        None,
        vec![item(&repo("nope"), Versions::All)]
    ))
    .contains("nope"));
    assert!(
        invalid(license("x", "zz", None, vec![item(&app, Versions::All)])).contains("customer")
    );
    let stranger = digest("not a manifest");
    assert!(invalid(license(
        "x",
        "a",
        None,
        vec![item(&app, Versions::Digests(vec![stranger]))]
    ))
    .contains("has no manifest"));
    assert_eq!(
        block_on(licenses.resolve_tags(&app, &["v1".into()])).unwrap(),
        vec![d.clone()]
    );
    assert!(block_on(licenses.resolve_tags(&app, &["v9".into()])).is_err());

    block_on(licenses.create(&license(
        "l1",
        "a",
        None,
        vec![
            item(&app, Versions::Digests(vec![d.clone()])),
            item(&app, pattern("v*")),
        ],
    )))
    .unwrap();
    block_on(licenses.create(&license(
        "l2",
        "b",
        Some(5),
        vec![item(&app, Versions::All)],
    )))
    .unwrap();
    let shown = block_on(licenses.show("l1")).unwrap().unwrap();
    let items = serde_json::to_value(&shown.items).unwrap();
    assert_eq!(
        items,
        serde_json::json!([
            {"artifact": "app", "digests": [d.to_string()]},
            {"artifact": "app", "pattern": "v*"}
        ])
    );
    let ids = |filter: LicenseFilter| -> Vec<String> {
        let page = block_on(licenses.list(&filter, None, 10)).unwrap();
        page.items.into_iter().map(|l| l.id).collect()
    };
    assert_eq!(ids(LicenseFilter::default()), ["l1", "l2"]);
    assert_eq!(
        ids(LicenseFilter {
            customer_id: Some("b"),
            ..Default::default()
        }),
        ["l2"]
    );
    assert_eq!(
        ids(LicenseFilter {
            artifact: Some("app"),
            ..Default::default()
        }),
        ["l1", "l2"]
    );
    assert!(ids(LicenseFilter {
        artifact: Some("other"),
        ..Default::default()
    })
    .is_empty());
    let first = block_on(licenses.list(&LicenseFilter::default(), None, 1)).unwrap();
    assert_eq!(
        (first.items.len(), first.next_cursor.as_deref()),
        (1, Some("l1"))
    );
    let rest = block_on(licenses.list(&LicenseFilter::default(), Some("l1"), 1)).unwrap();
    assert_eq!((rest.items[0].id.as_str(), rest.next_cursor), ("l2", None));

    let mut changed = license("l1", "b", Some(99), vec![item(&app, Versions::All)]);
    changed.name = "renamed".into();
    assert!(block_on(licenses.replace(&changed)).unwrap());
    let shown = block_on(licenses.show("l1")).unwrap().unwrap();
    assert_eq!(
        (
            shown.name.as_str(),
            shown.customer_id.as_str(),
            shown.expires_at
        ),
        ("renamed", "b", Some(99))
    );
    assert_eq!(
        serde_json::to_value(&shown.items).unwrap(),
        serde_json::json!([{"artifact": "app", "all_versions": true}])
    );
    changed.id = "nope".into();
    assert!(!block_on(licenses.replace(&changed)).unwrap());
    assert!(block_on(licenses.delete("l1")).unwrap());
    assert!(!block_on(licenses.delete("l1")).unwrap());
    assert!(block_on(licenses.show("l1")).unwrap().is_none());
}

#[test]
fn deletion_rules_and_the_worked_examples() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let deletions = Deletions::new(&db);
    let licenses = Licenses::new(&db);
    add_customer(&db, "a");
    let tag = |r: &RepoName, t: &str| block_on(deletions.tag(r, &t.parse().unwrap()));
    let refused = |r| Err(Error::Refused(r));

    // Example 1: three tags on three digests, a license on v1.0.0's digest.
    let one = mutable_repo(&db, "example1");
    let v100 = push_image(&store, &one, "v1.0.0", None, "t");
    push_image(&store, &one, "v1.0.1", None, "t");
    push_image(&store, &one, "latest", None, "t");
    block_on(licenses.create(&license(
        "l1",
        "a",
        None,
        vec![item(&one, Versions::Digests(vec![v100.clone()]))],
    )))
    .unwrap();
    assert_eq!(tag(&one, "v1.0.1"), Ok(()));
    // Example 2: v1.0.0 is the only tag on its licensed digest.
    assert_eq!(
        tag(&one, "v1.0.0"),
        refused(Refusal::LastTagOfLicensedDigest)
    );
    // Example 3: the artifact's only tag, no licenses.
    let three = mutable_repo(&db, "example3");
    push_image(&store, &three, "v1.0.0", None, "t");
    assert_eq!(tag(&three, "v1.0.0"), refused(Refusal::LastTag));
    assert_eq!(tag(&three, "nope"), Err(Error::ManifestUnknown));

    // A second tag on the licensed digest: one of the two may go, not both.
    store_tag(&store, &one, &v100, "stable");
    assert_eq!(tag(&one, "stable"), Ok(()));
    assert_eq!(
        tag(&one, "v1.0.0"),
        refused(Refusal::LastTagOfLicensedDigest)
    );

    // A pattern that matches one of the digest's tags makes it licensed.
    let pat = mutable_repo(&db, "pattern");
    push_image(&store, &pat, "v1.0", None, "t");
    push_image(&store, &pat, "v2.0", None, "t");
    block_on(licenses.create(&license("l2", "a", None, vec![item(&pat, pattern("v1.*"))])))
        .unwrap();
    assert_eq!(tag(&pat, "v1.0"), refused(Refusal::LastTagOfLicensedDigest));
    assert_eq!(tag(&pat, "v2.0"), Ok(()));

    // Manifests: refused while a license covers them, also through an index.
    let v101 = push_image(&store, &one, "v1.0.2", None, "t");
    assert_eq!(
        block_on(deletions.manifest(&one, &v100)),
        refused(Refusal::LicensedManifest)
    );
    let amd = push_image_as(&store, &one, "amd", None, None, "t");
    let index = push_index(&store, &one, None, std::slice::from_ref(&amd));
    block_on(licenses.create(&license(
        "l3",
        "a",
        Some(1),
        vec![item(&one, Versions::Digests(vec![index]))],
    )))
    .unwrap();
    assert_eq!(
        block_on(deletions.manifest(&one, &amd)),
        refused(Refusal::LicensedManifest),
        "a child of a licensed index, even under an expired license"
    );
    assert_eq!(block_on(deletions.manifest(&one, &v101)), Ok(()));
    assert_eq!(
        block_on(deletions.blob(&one, &digest("layer-v1.0.0"))),
        refused(Refusal::LicensedBlob)
    );
    assert_eq!(
        block_on(deletions.blob(&one, &digest("layer-v1.0.2"))),
        Ok(())
    );
    assert_eq!(
        block_on(deletions.blob(&one, &digest("layer-v1.0.2"))),
        Err(Error::BlobUnknown)
    );

    // Artifacts: refused while any license names them, then everything goes.
    assert_eq!(
        block_on(deletions.artifact(&one, NOW)),
        refused(Refusal::LicensedArtifact)
    );
    for id in ["l1", "l3"] {
        assert!(block_on(licenses.delete(id)).unwrap());
    }
    assert_eq!(block_on(deletions.artifact(&one, NOW)), Ok(()));
    assert!(!block_on(store.repository_exists(&one)).unwrap());
    assert!(block_on(store.tags(&one, None, 10))
        .unwrap()
        .items
        .is_empty());
    assert!(block_on(store.blob(&one, &digest("layer-v1.0.0")))
        .unwrap()
        .is_none());
    assert_eq!(
        block_on(deletions.artifact(&one, NOW)),
        Err(Error::NotFound("artifact"))
    );
}

#[test]
fn deletion_rules_close_the_by_digest_pattern_digest_tag_and_expiry_gaps() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let deletions = Deletions::new(&db);
    let licenses = Licenses::new(&db);
    add_customer(&db, "a");
    let tag = |r: &RepoName, t: &str| block_on(deletions.tag(r, &t.parse().unwrap()));
    let refused = |r| Err(Error::Refused(r));

    // By digest, the artifact's only tagged manifest keeps its tag.
    let only = repo("only");
    let d = push_image(&store, &only, "v1", None, "t");
    assert_eq!(
        block_on(deletions.manifest(&only, &d)),
        refused(Refusal::LastTag)
    );

    // A pattern license on a digest tagged v1.2 and edge: v1.2 is what licenses it.
    let pat = repo("pattern");
    let d = push_image(&store, &pat, "v1.2", None, "t");
    store_tag(&store, &pat, &d, "edge");
    push_image(&store, &pat, "v2.0", None, "t");
    block_on(licenses.create(&license("lp", "a", None, vec![item(&pat, pattern("v1.*"))])))
        .unwrap();
    assert_eq!(tag(&pat, "v1.2"), refused(Refusal::LastMatchingTag));
    store_tag(&store, &pat, &d, "v1.2.0");
    assert_eq!(tag(&pat, "v1.2"), Ok(()), "v1.2.0 still matches");
    assert!(manifest(&db, "a", &pat, d.as_str(), NOW));

    // A digest-shaped tag is not "another tag".
    let signed = repo("signed");
    let d = push_image(&store, &signed, "v1", None, "t");
    push_image(&store, &signed, "v2", None, "t");
    let sig_tag = format!("sha256-{}.sig", d.hex());
    store_tag(&store, &signed, &d, &sig_tag);
    block_on(licenses.create(&license(
        "ld",
        "a",
        None,
        vec![item(&signed, Versions::Digests(vec![d.clone()]))],
    )))
    .unwrap();
    assert_eq!(
        tag(&signed, "v1"),
        refused(Refusal::LastTagOfLicensedDigest)
    );
    let lone = repo("lone");
    let d = push_image(&store, &lone, "v1", None, "t");
    store_tag(&store, &lone, &d, &format!("sha256-{}.sig", d.hex()));
    assert_eq!(tag(&lone, "v1"), refused(Refusal::LastTag));

    // Only an active license keeps an artifact; an expired one loses its item.
    let old = repo("old");
    push_image(&store, &old, "v1", None, "t");
    block_on(licenses.create(&license(
        "lx",
        "a",
        Some(NOW - 1),
        vec![item(&old, Versions::All), item(&pat, Versions::All)],
    )))
    .unwrap();
    assert_eq!(block_on(deletions.artifact(&old, NOW)), Ok(()));
    let kept = block_on(licenses.show("lx"))
        .unwrap()
        .expect("the license stays");
    assert_eq!(kept.items.len(), 1, "{:?}", kept.items);
    assert_eq!(
        block_on(deletions.artifact(&pat, NOW)),
        refused(Refusal::LicensedArtifact),
        "lp is active"
    );
}

/// Tags an existing manifest, as a push of the same bytes under another tag does.
fn store_tag(store: &Store<Sqlite>, r: &RepoName, d: &Digest, tag: &str) {
    let row = block_on(store.manifest(r, &Reference::Digest(d.clone())))
        .unwrap()
        .unwrap();
    fixtures::put(store, r, row.content.as_deref().unwrap(), Some(tag));
}

#[test]
fn the_newest_readable_version_of_every_artifact_agrees_with_the_readable_tags() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let (app, chart, multi, hidden) = (repo("app"), repo("chart"), repo("multi"), repo("z"));
    let mut app_digests = Vec::new();
    for tag in ["v1.0", "v1.1", "v2.0", "latest"] {
        app_digests.push(push_image(&store, &app, tag, None, "t"));
    }
    // 1.3.0 is a patch to the old line, set after 2.0.0.
    for (at, tag) in ["1.0.0", "1.2.0", "2.0.0", "1.3.0"].into_iter().enumerate() {
        let d = push_image(&store, &chart, tag, None, "c");
        pushed_at(&db, &chart, &d, at as i64);
    }
    let amd = push_image(&store, &multi, "amd64", None, "t");
    let index = push_index(&store, &multi, Some("v1"), std::slice::from_ref(&amd));
    push_image(&store, &multi, "v2", None, "t");
    push_image(&store, &hidden, "v1", None, "t");
    for c in ["a", "b", "none"] {
        add_customer(&db, c);
    }
    let licenses = Licenses::new(&db);
    let items_a = vec![
        item(&app, pattern("v1.*")),
        item(&chart, pattern(">=1.0, <2")),
        item(&multi, Versions::Digests(vec![index])),
    ];
    let items_b = vec![
        item(&app, Versions::Digests(vec![app_digests[0].clone()])),
        item(&chart, Versions::All),
    ];
    block_on(licenses.create(&license("la", "a", None, items_a))).unwrap();
    block_on(licenses.create(&license("lb", "b", None, items_b))).unwrap();
    block_on(licenses.create(&license(
        "lx",
        "b",
        Some(NOW),
        vec![item(&hidden, Versions::All)],
    )))
    .unwrap();

    for customer in ["a", "b", "none"] {
        let newest = block_on(licenses.newest_readable(customer, 10, NOW)).unwrap();
        let expected: Vec<(String, Option<String>)> =
            block_on(licenses.licensed_artifacts(customer, None, None, 10, NOW))
                .unwrap()
                .into_iter()
                .map(|name| {
                    let r: RepoName = name.parse().unwrap();
                    let tags = block_on(licenses.readable_tags(customer, &r, None, 100, NOW));
                    let newest = newest::newest(tags.unwrap().unwrap_or_default());
                    (name, newest.map(|t| t.tag))
                })
                .collect();
        let got: Vec<(String, Option<String>)> = newest
            .into_iter()
            .map(|(name, t)| (name, t.map(|t| t.tag)))
            .collect();
        assert_eq!(got, expected, "customer {customer}");
    }
    let a = block_on(licenses.newest_readable("a", 10, NOW)).unwrap();
    let tags: Vec<Option<&str>> = a
        .iter()
        .map(|(_, t)| t.as_ref().map(|t| t.tag.as_str()))
        .collect();
    // Pattern-matched, range-matched, and the licensed index's tag (its child's
    // tag is readable too, and loses the tie by name).
    assert_eq!(tags, [Some("v1.1"), Some("1.3.0"), Some("v1")], "{a:?}");
    // Licensed for every chart version: the highest, not the one set last.
    let b = block_on(licenses.newest_readable("b", 10, NOW)).unwrap();
    let chart_newest = b.iter().find(|(name, _)| *name == chart.as_str());
    let chart_newest = chart_newest.and_then(|(_, t)| t.as_ref()).map(|t| &t.tag);
    assert_eq!(chart_newest.map(String::as_str), Some("2.0.0"), "{b:?}");
    assert_eq!(
        block_on(licenses.newest_readable("a", 2, NOW))
            .unwrap()
            .len(),
        2
    );
}

/// When an expiry-policy test's licenses expire, and when its versions were
/// pushed: before that, or after.
const EXPIRY: i64 = 1_000;
const BEFORE: i64 = 500;
const AFTER: i64 = 1_500;

/// Moves the push of `d` (and the setting of its tags) in `r` to `at`.
fn pushed_at(db: &Sqlite, r: &RepoName, d: &Digest, at: i64) {
    block_on(db.batch(vec![
        stmt!(
            "UPDATE manifests SET created_at = ?3 WHERE repo = ?1 AND digest = ?2",
            r.as_str(),
            d.as_str(),
            at
        ),
        stmt!(
            "UPDATE tags SET updated_at = ?3 WHERE repo = ?1 AND digest = ?2",
            r.as_str(),
            d.as_str(),
            at
        ),
    ]))
    .unwrap();
}

fn expiring(id: &str, customer: &str, policy: ExpiryPolicy, items: Vec<Item>) -> NewLicense {
    NewLicense {
        expiry_policy: policy,
        ..license(id, customer, Some(EXPIRY), items)
    }
}

/// Whether and until when `customer`'s licenses (none of them capped) grant
/// `target`.
fn grant_at(db: &Sqlite, customer: &str, r: &RepoName, target: Target, now: i64) -> Grant {
    match block_on(Licenses::new(db).access(customer, r, target, now)).unwrap() {
        (Access::Granted { .. }, until) => Grant::Until(until),
        (Access::Refused, _) => Grant::Refused,
        (over, _) => panic!("no license is capped: {over:?}"),
    }
}

#[test]
fn keep_released_keeps_what_was_pushed_before_expiry_for_every_item_kind() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("app");
    let old = push_image(&store, &app, "v1.0", None, "t");
    let old_amd = push_image_as(&store, &app, "amd-old", None, None, "t");
    let old_index = push_index(
        &store,
        &app,
        Some("v1.0-multi"),
        std::slice::from_ref(&old_amd),
    );
    let new = push_image(&store, &app, "v1.1", None, "t");
    let new_amd = push_image_as(&store, &app, "amd-new", None, None, "t");
    let new_index = push_index(
        &store,
        &app,
        Some("v1.1-multi"),
        std::slice::from_ref(&new_amd),
    );
    // A signature of the old version, made after the expiry: a referrer of a
    // readable manifest.
    let sig = push_image_as(&store, &app, "sig", None, Some(&old), "application/sig");
    for d in [&old, &old_amd, &old_index] {
        pushed_at(&db, &app, d, BEFORE);
    }
    for d in [&new, &new_amd, &new_index, &sig] {
        pushed_at(&db, &app, d, AFTER);
    }
    let digests = vec![
        old.clone(),
        old_index.clone(),
        new.clone(),
        new_index.clone(),
    ];
    let kinds = [
        ("all", Versions::All),
        ("digests", Versions::Digests(digests)),
        ("pattern", pattern("v1.*")),
    ];
    let licenses = Licenses::new(&db);
    for (kind, versions) in &kinds {
        for policy in [ExpiryPolicy::KeepReleased, ExpiryPolicy::Revoke] {
            let customer = format!("{kind}-{}", policy.as_str());
            add_customer(&db, &customer);
            let items = vec![item(&app, versions.clone())];
            block_on(licenses.create(&expiring(&customer, &customer, policy, items))).unwrap();
        }
    }
    let kept_manifests = [&old, &old_amd, &old_index, &sig];
    let newer_manifests = [&new, &new_amd, &new_index];
    let blob_of = |seed: &str| digest(&format!("layer-{seed}"));
    let (kept_blobs, newer_blobs) = (
        [blob_of("v1.0"), blob_of("amd-old"), blob_of("sig")],
        [blob_of("v1.1"), blob_of("amd-new")],
    );
    for (kind, _) in &kinds {
        let keep = format!("{kind}-keep_released");
        let revoke = format!("{kind}-revoke");
        let manifest_at = |c: &str, d: &Digest, now| {
            grant_at(
                &db,
                c,
                &app,
                Target::Manifest(&Reference::Digest(d.clone())),
                now,
            )
        };
        let blob_at = |c: &str, d: &Digest, now| grant_at(&db, c, &app, Target::Blob(d), now);
        // Before the expiry both grant everything; keep_released what was
        // pushed before it for ever, the rest until the expiry.
        for d in kept_manifests {
            assert_eq!(
                manifest_at(&keep, d, EXPIRY - 1),
                Grant::Until(None),
                "{keep} {d}"
            );
            assert_eq!(
                manifest_at(&revoke, d, EXPIRY - 1),
                Grant::Until(Some(EXPIRY))
            );
        }
        for d in newer_manifests {
            for c in [&keep, &revoke] {
                assert_eq!(
                    manifest_at(c, d, EXPIRY - 1),
                    Grant::Until(Some(EXPIRY)),
                    "{c} {d}"
                );
            }
        }
        // After it: keep_released keeps the old versions, their children, blobs
        // and referrers, and nothing newer; revoke grants nothing.
        for now in [EXPIRY, AFTER + 1] {
            for d in kept_manifests {
                assert_eq!(manifest_at(&keep, d, now), Grant::Until(None), "{keep} {d}");
                assert_eq!(manifest_at(&revoke, d, now), Grant::Refused, "{revoke} {d}");
            }
            for d in newer_manifests {
                for c in [&keep, &revoke] {
                    assert_eq!(manifest_at(c, d, now), Grant::Refused, "{c} {d} at {now}");
                }
            }
            for d in &kept_blobs {
                assert!(blob_at(&keep, d, now).granted(), "{keep} blob {d}");
                assert!(!blob_at(&revoke, d, now).granted(), "{revoke} blob {d}");
            }
            for d in &newer_blobs {
                assert!(!blob_at(&keep, d, now).granted(), "{keep} blob {d}");
            }
            let by_tag = |c: &str, tag: &str| manifest(&db, c, &app, tag, now);
            assert!(by_tag(&keep, "v1.0") && by_tag(&keep, "v1.0-multi"));
            assert!(!by_tag(&keep, "v1.1") && !by_tag(&keep, "v1.1-multi"));
        }
        let tags = |c: &str, now| {
            block_on(licenses.readable_tags(c, &app, None, 100, now))
                .unwrap()
                .map(|rows| rows.into_iter().map(|r| r.tag).collect::<Vec<_>>())
        };
        let every = ["v1.0", "v1.0-multi", "v1.1", "v1.1-multi"].map(String::from);
        assert_eq!(
            tags(&keep, EXPIRY - 1).as_deref(),
            Some(&every[..]),
            "{keep}"
        );
        assert_eq!(
            tags(&revoke, EXPIRY - 1).as_deref(),
            Some(&every[..]),
            "{revoke}"
        );
        assert_eq!(tags(&keep, EXPIRY).as_deref(), Some(&every[..2]), "{keep}");
        assert_eq!(
            tags(&revoke, EXPIRY),
            None,
            "{revoke}: the artifact is hidden"
        );
        let readable = block_on(licenses.readable(&keep, &app, EXPIRY - 1))
            .unwrap()
            .unwrap();
        assert_eq!(
            readable.until,
            Some(EXPIRY),
            "{keep}: what it grants changes at expiry"
        );
        let readable = block_on(licenses.readable(&keep, &app, EXPIRY))
            .unwrap()
            .unwrap();
        assert_eq!(readable.until, None, "{keep}: nothing changes after expiry");

        let newest = |c: &str, now| {
            block_on(licenses.newest_readable(c, 10, now))
                .unwrap()
                .into_iter()
                .map(|(name, t)| (name, t.map(|t| t.tag)))
                .collect::<Vec<_>>()
        };
        let newest_of = |t: &str| vec![("app".to_string(), Some(t.to_string()))];
        assert_eq!(newest(&keep, EXPIRY - 1), newest_of("v1.1-multi"), "{keep}");
        assert_eq!(newest(&keep, EXPIRY), newest_of("v1.0-multi"), "{keep}");
        assert_eq!(newest(&revoke, EXPIRY), vec![], "{revoke}");
        let listed = |c: &str| block_on(licenses.licensed_artifacts(c, None, None, 10, EXPIRY));
        assert_eq!(listed(&keep).unwrap(), vec!["app".to_string()]);
        assert!(listed(&revoke).unwrap().is_empty());
    }
}

#[test]
fn an_expired_license_keeping_versions_protects_them_and_their_artifact() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let deletions = Deletions::new(&db);
    let licenses = Licenses::new(&db);
    add_customer(&db, "a");
    let refused = |r| Err(Error::Refused(r));
    let (app, late) = (repo("app"), repo("late"));
    let old = push_image(&store, &app, "v1", None, "t");
    let new = push_image(&store, &app, "v2", None, "t");
    pushed_at(&db, &app, &old, BEFORE);
    pushed_at(&db, &app, &new, AFTER);
    let only_later = push_image(&store, &late, "v2", None, "t");
    pushed_at(&db, &late, &only_later, AFTER);
    let items = vec![item(&app, Versions::All), item(&late, Versions::All)];
    let keep = expiring("l1", "a", ExpiryPolicy::KeepReleased, items);
    block_on(licenses.create(&keep)).unwrap();
    let now = AFTER + 1;

    assert_eq!(
        block_on(deletions.tag(&app, &"v1".parse().unwrap())),
        refused(Refusal::LastTagOfLicensedDigest)
    );
    assert_eq!(
        block_on(deletions.manifest(&app, &old)),
        refused(Refusal::LicensedManifest)
    );
    assert_eq!(
        block_on(deletions.artifact(&app, now)),
        refused(Refusal::LicensedArtifact),
        "the customer may still pull v1"
    );
    assert_eq!(
        block_on(deletions.artifact(&late, now)),
        Ok(()),
        "nothing of it was pushed before the expiry: the license grants nothing of it"
    );
    let revoke = NewLicense {
        expiry_policy: ExpiryPolicy::Revoke,
        items: vec![item(&app, Versions::All)],
        ..keep
    };
    assert!(block_on(licenses.replace(&revoke)).unwrap());
    assert_eq!(block_on(deletions.artifact(&app, now)), Ok(()), "revoked");
}

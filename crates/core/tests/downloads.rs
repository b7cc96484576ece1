//! Download events against real SQLite built from `migrations/`: exactly-once
//! storage under redelivery, what counts as a pull, the log and daily counts,
//! pruning, and the history going with its artifact.

mod fixtures;
mod sqlite;

use futures::executor::block_on;
use sqlite::Sqlite;
use tollgate_core::analytics::artifact_kind::ArtifactKind;
use tollgate_core::analytics::artifacts::{ArtifactQuery, Artifacts, Order, Status};
use tollgate_core::analytics::downloads::{DayCount, Downloads, Event, LogFilter};
use tollgate_core::auth::account_store::{Accounts, Customer};
use tollgate_core::licensing::deletion::Deletions;
use tollgate_core::licensing::license::{Item, Versions};
use tollgate_core::licensing::license_store::{Licenses, NewLicense};
use tollgate_core::stmt;
use tollgate_core::storage::sql::Sql;
use tollgate_core::storage::store::Store;
use tollgate_core::{Digest, RepoName};

use fixtures::{push_image, push_image_as, push_index, repo};

const DAY: i64 = 86_400;
const T0: i64 = 20_000 * DAY + 3600;

fn event(id: &str, at: i64, repo: &str, reference: &str, digest: &Digest, user: &str) -> Event {
    Event {
        id: id.into(),
        at,
        repo: repo.into(),
        reference: reference.into(),
        digest: digest.to_string(),
        user_id: user.into(),
        customer_id: user.strip_prefix("cust-").map(|c| format!("customer-{c}")),
        ip: Some("192.0.2.1".into()),
        user_agent: Some("skopeo/1.18".into()),
        country: None,
        colo: None,
        license_id: None,
        bundle_id: None,
    }
}

fn daily(db: &Sqlite, artifact: Option<&str>, customer: Option<&str>) -> Vec<(i64, i64)> {
    let days: Vec<DayCount> =
        block_on(Downloads::new(db).daily(artifact, customer, T0 - 10 * DAY, T0 + 10 * DAY))
            .unwrap();
    days.into_iter()
        .map(|d| ((d.day - T0 + 3600) / DAY, d.pulls))
        .collect()
}

fn log_ids(db: &Sqlite, filter: &LogFilter) -> Vec<String> {
    let page = block_on(Downloads::new(db).log(filter, None, 100)).unwrap();
    page.items.into_iter().map(|d| d.event.id).collect()
}

#[test]
fn a_batch_delivered_twice_is_stored_and_counted_once() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("app");
    let d = push_image(&store, &app, "v1", None, "t");
    let downloads = Downloads::new(&db);
    let batch = vec![
        event("e1", T0, "app", "v1", &d, "cust-a"),
        event("e2", T0 + 1, "app", d.as_str(), &d, "cust-a"),
        event("e3", T0 + DAY, "app", "v1", &d, "cust-b"),
    ];
    block_on(downloads.record(&batch)).unwrap();
    block_on(downloads.record(&batch)).unwrap();
    block_on(downloads.record(&batch[1..2])).unwrap();
    assert_eq!(daily(&db, Some("app"), None), [(0, 2), (1, 1)]);
    assert_eq!(daily(&db, None, Some("customer-a")), [(0, 2)]);
    assert_eq!(daily(&db, Some("other"), None), []);
    assert_eq!(log_ids(&db, &LogFilter::default()), ["e3", "e2", "e1"]);
}

#[test]
fn a_multi_arch_pull_counts_once() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("app");
    let (amd, arm, index) = multi_arch(&store, &app);
    let downloads = Downloads::new(&db);
    // The index, then its platform's manifest, as a client pulls them; another
    // user's GET of the platform manifest alone is a pull of its own, and so is
    // the same user's a day later.
    block_on(downloads.record(&[
        event("e1", T0, "app", "multi", &index, "cust-a"),
        event("e2", T0 + 1, "app", amd.as_str(), &amd, "cust-a"),
        event("e3", T0 + 2, "app", arm.as_str(), &arm, "cust-b"),
    ]))
    .unwrap();
    block_on(downloads.record(&[event("e4", T0 + DAY, "app", amd.as_str(), &amd, "cust-a")]))
        .unwrap();
    assert_eq!(daily(&db, Some("app"), None), [(0, 2), (1, 1)]);
    let page = block_on(downloads.log(&LogFilter::default(), None, 10)).unwrap();
    let children: Vec<(&str, bool)> = page
        .items
        .iter()
        .map(|d| (d.event.id.as_str(), d.child))
        .collect();
    assert_eq!(
        children,
        [("e4", false), ("e3", false), ("e2", true), ("e1", false)]
    );
}

#[test]
fn each_version_of_a_bundle_is_a_pull_marked_with_the_bundle() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("app");
    let (amd, _, index) = multi_arch(&store, &app);
    let downloads = Downloads::new(&db);
    let bundled = |id: &str, at: i64, reference: &str, digest: &Digest| Event {
        bundle_id: Some("b1".into()),
        ..event(id, at, "app", reference, digest, "cust-a")
    };
    // The index and one of its platforms, both chosen for the bundle: two
    // versions, so two pulls, neither part of the other's.
    block_on(downloads.record(&[
        bundled("e1", T0, "multi", &index),
        bundled("e2", T0, amd.as_str(), &amd),
    ]))
    .unwrap();
    assert_eq!(daily(&db, Some("app"), None), [(0, 2)]);
    let page = block_on(downloads.log(&LogFilter::default(), None, 10)).unwrap();
    let marked: Vec<(&str, Option<&str>, bool)> = page
        .items
        .iter()
        .map(|d| (d.event.id.as_str(), d.event.bundle_id.as_deref(), d.child))
        .collect();
    assert_eq!(
        marked,
        [("e2", Some("b1"), false), ("e1", Some("b1"), false)]
    );
}

#[test]
fn the_log_filters_and_pages_newest_first() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let d = push_image(&store, &repo("app"), "v1", None, "t");
    let downloads = Downloads::new(&db);
    let events: Vec<Event> = (0..5)
        .map(|i| {
            let user = if i % 2 == 0 { "cust-a" } else { "vendor" };
            event(&format!("e{i}"), T0 + i, "app", "v1", &d, user)
        })
        .collect();
    block_on(downloads.record(&events)).unwrap();
    let only_a = LogFilter {
        customer_id: Some("customer-a".into()),
        ..Default::default()
    };
    assert_eq!(log_ids(&db, &only_a), ["e4", "e2", "e0"]);
    let window = LogFilter {
        from: Some(T0 + 1),
        to: Some(T0 + 3),
        ..Default::default()
    };
    assert_eq!(log_ids(&db, &window), ["e2", "e1"]);
    let by_user = LogFilter {
        user_id: Some("vendor".into()),
        artifact: Some("app".into()),
        ..Default::default()
    };
    assert_eq!(log_ids(&db, &by_user), ["e3", "e1"]);
    let first = block_on(downloads.log(&LogFilter::default(), None, 2)).unwrap();
    assert_eq!(first.next_cursor.as_deref(), Some("e3"));
    let next = block_on(downloads.log(&LogFilter::default(), Some("e3"), 2)).unwrap();
    let ids: Vec<&str> = next.items.iter().map(|d| d.event.id.as_str()).collect();
    assert_eq!(ids, ["e2", "e1"]);
}

#[test]
fn pruning_keeps_the_counts_and_deleting_the_artifact_takes_its_history() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("app");
    let d = push_image(&store, &app, "v1", None, "t");
    push_image(&store, &app, "v2", None, "t");
    let downloads = Downloads::new(&db);
    block_on(downloads.record(&[
        event("e1", T0, "app", "v1", &d, "cust-a"),
        event("e2", T0 + 2 * DAY, "app", "v1", &d, "cust-a"),
    ]))
    .unwrap();
    assert_eq!(block_on(downloads.prune(T0 + DAY, 100)).unwrap(), 1);
    assert_eq!(log_ids(&db, &LogFilter::default()), ["e2"]);
    assert_eq!(daily(&db, Some("app"), None), [(0, 1), (2, 1)]);

    block_on(Deletions::new(&db).artifact(&app, T0)).unwrap();
    assert!(log_ids(&db, &LogFilter::default()).is_empty());
    assert_eq!(daily(&db, Some("app"), None), []);
}

#[test]
fn the_artifact_list_has_kinds_and_pull_figures() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let d = push_image(&store, &repo("app"), "v1", None, "t");
    push_image_as(
        &store,
        &repo("chart"),
        "c",
        Some("0.1.0"),
        None,
        "application/vnd.cncf.helm.config.v1+json",
    );
    block_on(Accounts::new(&db).create_customer(&customer("customer-a"))).unwrap();
    block_on(Downloads::new(&db).record(&[
        event("e1", T0, "app", "v1", &d, "cust-a"),
        event("e2", T0 + 5, "app", "v1", &d, "vendor"),
        event("e3", T0 + 9, "app", "v1", &d, "cust-a"),
    ]))
    .unwrap();
    let artifacts = Artifacts::new(&db);
    let all = block_on(artifacts.list(&all_artifacts(), None, T0))
        .unwrap()
        .items;
    let app = &all[0];
    assert_eq!(
        (app.name.as_str(), app.kind),
        ("app", ArtifactKind::Artifact)
    );
    assert_eq!((app.pulls, app.users, app.customers), (3, 2, 1));
    assert_eq!((app.last_push, app.last_pull), (Some(2), Some(T0 + 9)));
    let chart = &all[1];
    assert_eq!(
        (chart.name.as_str(), chart.kind),
        ("chart", ArtifactKind::HelmChart)
    );
    assert_eq!((chart.pulls, chart.last_pull), (0, None));

    // A customer sees its licensed artifacts and its own pulls only.
    license(&db, "l1", "customer-a", &repo("app"), Versions::All);
    let theirs = block_on(artifacts.list(&all_artifacts(), Some("customer-a"), T0)).unwrap();
    let names: Vec<(&str, i64, i64)> = theirs
        .items
        .iter()
        .map(|a| (a.name.as_str(), a.pulls, a.users))
        .collect();
    assert_eq!(names, [("app", 2, 1)]);
}

#[test]
fn a_customer_sees_kind_and_last_push_of_what_it_may_read_only() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("app");
    push_image(&store, &app, "v1", None, "t");
    push_image_as(
        &store,
        &app,
        "v2",
        Some("v2"),
        None,
        "application/vnd.cncf.helm.config.v1+json",
    );
    let other = repo("other");
    push_image(&store, &other, "v1", None, "t");
    block_on(db.batch(vec![
        stmt!("UPDATE tags SET updated_at = 100 WHERE repo = 'app' AND tag = 'v2'"),
        stmt!("UPDATE tags SET updated_at = 50 WHERE repo = 'other'"),
    ]))
    .unwrap();
    block_on(Accounts::new(&db).create_customer(&customer("customer-a"))).unwrap();
    license(
        &db,
        "l1",
        "customer-a",
        &app,
        Versions::Pattern("v1".parse().unwrap()),
    );
    license(&db, "l2", "customer-a", &other, Versions::All);
    let artifacts = Artifacts::new(&db);
    let newest_first = ArtifactQuery {
        order: Order::LastPush,
        ..all_artifacts()
    };
    let vendor = block_on(artifacts.list(&newest_first, None, T0))
        .unwrap()
        .items;
    assert_eq!(
        (vendor[0].name.as_str(), vendor[0].kind, vendor[0].last_push),
        ("app", ArtifactKind::HelmChart, Some(100))
    );
    let theirs = block_on(artifacts.list(&newest_first, Some("customer-a"), T0))
        .unwrap()
        .items;
    let seen: Vec<(&str, ArtifactKind, Option<i64>)> = theirs
        .iter()
        .map(|a| (a.name.as_str(), a.kind, a.last_push))
        .collect();
    assert_eq!(
        seen,
        [
            ("other", ArtifactKind::Artifact, Some(50)),
            ("app", ArtifactKind::Artifact, Some(2))
        ],
        "v2 is unlicensed: neither its type nor its push time shows, nor does it order the list"
    );
}

fn all_artifacts() -> ArtifactQuery {
    ArtifactQuery {
        limit: 10,
        ..ArtifactQuery::default()
    }
}

/// Every page of `query`, followed by its cursors, as names.
fn list_names(artifacts: &Artifacts<Sqlite>, mut query: ArtifactQuery) -> Vec<String> {
    let mut names = Vec::new();
    loop {
        let page = block_on(artifacts.list(&query, None, T0)).unwrap();
        names.extend(page.items.into_iter().map(|a| a.name));
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => return names,
        }
    }
}

#[test]
fn the_artifact_list_searches_sorts_and_pages_by_its_sort_key() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let names = ["acme/api", "acme/web", "beta/api", "acme/db"];
    let digests: Vec<Digest> = names
        .iter()
        .map(|n| push_image(&store, &repo(n), "v1", None, n))
        .collect();
    // Pulls: acme/web 3, beta/api 2, acme/db 2, acme/api none.
    let pulls = [(1, 3), (2, 2), (3, 2)];
    let mut events = Vec::new();
    for (i, n) in pulls {
        for p in 0..n {
            let id = format!("e{i}-{p}");
            events.push(event(&id, T0 + p, names[i], "v1", &digests[i], "u"));
        }
    }
    block_on(Downloads::new(&db).record(&events)).unwrap();
    let artifacts = Artifacts::new(&db);
    let query = |search: &str, order: Order| ArtifactQuery {
        search: search.into(),
        order,
        after: None,
        limit: 1,
    };

    assert_eq!(
        list_names(&artifacts, query("", Order::Name)),
        ["acme/api", "acme/db", "acme/web", "beta/api"]
    );
    // Ties (acme/db and beta/api, two pulls each) go by name, across pages of one.
    assert_eq!(
        list_names(&artifacts, query("", Order::Pulls)),
        ["acme/web", "acme/db", "beta/api", "acme/api"]
    );
    assert_eq!(
        list_names(&artifacts, query("api", Order::LastPull)),
        ["beta/api", "acme/api"]
    );
    assert_eq!(
        list_names(&artifacts, query("acme/", Order::Name)),
        ["acme/api", "acme/db", "acme/web"]
    );
    assert!(list_names(&artifacts, query("nothing", Order::Name)).is_empty());

    let forged = ArtifactQuery {
        after: Some("not-a-cursor".into()),
        ..query("", Order::Pulls)
    };
    assert!(block_on(artifacts.list(&forged, None, T0)).is_err());
    assert!("size".parse::<Order>().is_err());
}

#[test]
fn the_dashboard_compares_last_pulls_with_the_newest_licensed_version() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("app");
    let v1 = push_image(&store, &app, "v1.0", None, "t");
    let accounts = Accounts::new(&db);
    for id in ["customer-a", "customer-b", "customer-c"] {
        block_on(accounts.create_customer(&customer(id))).unwrap();
    }
    for (id, customer) in [
        ("l1", "customer-a"),
        ("l2", "customer-b"),
        ("l3", "customer-c"),
    ] {
        let pattern = Versions::Pattern("v1.*".parse().unwrap());
        license(&db, id, customer, &app, pattern);
    }
    // v2.0 is newer but licensed to nobody; v1.1 is the newest licensed version.
    let downloads = Downloads::new(&db);
    block_on(downloads.record(&[event("e1", T0, "app", "v1.0", &v1, "cust-a")])).unwrap();
    push_image(&store, &app, "v1.1", None, "t");
    push_image(&store, &app, "v2.0", None, "t");
    let dashboard = |customer: &str| {
        block_on(Artifacts::new(&db).dashboard(customer, T0 - DAY, T0 + 10)).unwrap()
    };
    let a = dashboard("customer-a");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].status, Status::Behind);
    assert_eq!(a[0].last_pull.as_ref().unwrap().digest, v1.to_string());
    assert_eq!(a[0].newest.as_ref().unwrap().tag, "v1.1");
    assert_eq!(dashboard("customer-b")[0].status, Status::NoPulls);
    let newest = dashboard("customer-c")[0].newest.clone().unwrap();
    block_on(downloads.record(&[event(
        "e2",
        T0 + 1,
        "app",
        "v1.1",
        &newest.digest.parse().unwrap(),
        "cust-c",
    )]))
    .unwrap();
    assert_eq!(dashboard("customer-c")[0].status, Status::UpToDate);
}

fn customer(id: &str) -> Customer {
    Customer {
        id: id.into(),
        name: id.into(),
        contact: String::new(),
        notes: String::new(),
        created_at: 1,
    }
}

#[test]
fn details_show_versions_sizes_platforms_referrers_and_pulls_per_tag() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = repo("app");
    let (amd, arm, index) = multi_arch(&store, &app);
    let solo = push_image(&store, &app, "solo", None, "t");
    let sbom = push_image_as(
        &store,
        &app,
        "sbom",
        None,
        Some(&solo),
        "application/spdx+json",
    );
    block_on(Accounts::new(&db).create_customer(&customer("customer-a"))).unwrap();
    block_on(Downloads::new(&db).record(&[
        event("e1", T0, "app", "multi", &index, "cust-a"),
        event("e2", T0 + 9, "app", "solo", &solo, "vendor"),
    ]))
    .unwrap();
    let details = block_on(Artifacts::new(&db).details(&app, None, T0))
        .unwrap()
        .unwrap();
    let versions: Vec<(&str, &[String])> = details
        .manifests
        .iter()
        .map(|m| (m.digest.as_str(), m.tags.as_slice()))
        .collect();
    assert_eq!(
        versions.len(),
        2,
        "platforms and referrers are no versions: {versions:?}"
    );
    let multi = details
        .manifests
        .iter()
        .find(|m| m.digest == index.to_string())
        .unwrap();
    let single = details
        .manifests
        .iter()
        .find(|m| m.digest == solo.to_string())
        .unwrap();
    assert_eq!(multi.kind, ArtifactKind::ContainerImage);
    let platforms: Vec<&str> = multi.platforms.iter().map(|p| p.digest.as_str()).collect();
    assert_eq!(platforms, [amd.as_str(), arm.as_str()]);
    // Each image: two 1-byte blobs and its manifest; the index adds both.
    assert_eq!(single.size, 2 + manifest_size(&store, &app, &solo));
    assert_eq!(
        multi.size,
        manifest_size(&store, &app, &index)
            + 4
            + manifest_size(&store, &app, &amd)
            + manifest_size(&store, &app, &arm)
    );
    let referrers: Vec<(&str, ArtifactKind)> = single
        .referrers
        .iter()
        .map(|r| (r.digest.as_str(), r.kind))
        .collect();
    assert_eq!(referrers, [(sbom.as_str(), ArtifactKind::Sbom)]);
    let pulls: Vec<(&str, i64)> = details
        .tags
        .iter()
        .map(|t| (t.tag.as_str(), t.pulls))
        .collect();
    assert_eq!(pulls, [("multi", 1), ("solo", 1)]);

    // A customer licensed for the index sees it and its pulls, not the other image.
    license(
        &db,
        "l1",
        "customer-a",
        &app,
        Versions::Digests(vec![index.clone()]),
    );
    let theirs = block_on(Artifacts::new(&db).details(&app, Some("customer-a"), T0))
        .unwrap()
        .unwrap();
    let digests: Vec<&str> = theirs.manifests.iter().map(|m| m.digest.as_str()).collect();
    assert_eq!(digests, [index.as_str()]);
    let tags: Vec<(&str, i64)> = theirs
        .tags
        .iter()
        .map(|t| (t.tag.as_str(), t.pulls))
        .collect();
    assert_eq!(tags, [("multi", 1)]);
    assert!(
        block_on(Artifacts::new(&db).details(&app, Some("nobody"), T0))
            .unwrap()
            .is_none()
    );
}

fn manifest_size(store: &Store<Sqlite>, r: &RepoName, d: &Digest) -> u64 {
    let reference = tollgate_core::Reference::Digest(d.clone());
    block_on(store.manifest(r, &reference))
        .unwrap()
        .unwrap()
        .size
}

/// Two platform images and an index over them, tagged `multi`.
fn multi_arch(store: &Store<Sqlite>, app: &RepoName) -> (Digest, Digest, Digest) {
    let amd = push_image_as(store, app, "amd", None, None, "t");
    let arm = push_image_as(store, app, "arm", None, None, "t");
    let index = push_index(store, app, Some("multi"), &[amd.clone(), arm.clone()]);
    (amd, arm, index)
}

/// A license `id` for `customer` on `versions` of `artifact`.
fn license(db: &Sqlite, id: &str, customer: &str, artifact: &RepoName, versions: Versions) {
    let license = NewLicense {
        id: id.into(),
        name: id.into(),
        customer_id: customer.into(),
        expires_at: None,
        expiry_policy: Default::default(),
        caps: Default::default(),
        created_at: 1,
        items: vec![Item {
            artifact: artifact.clone(),
            versions,
        }],
    };
    block_on(Licenses::new(db).create(&license)).unwrap();
}

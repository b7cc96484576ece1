//! Download events against real SQLite built from `migrations/`: exactly-once
//! storage under redelivery, what counts as a pull, the log and daily counts,
//! pruning, and the history going with its artifact.

mod fixtures;
mod sqlite;

use futures::executor::block_on;
use sqlite::Sqlite;
use tollgate_core::deletion::Deletions;
use tollgate_core::downloads::{DayCount, Downloads, Event, LogFilter};
use tollgate_core::store::Store;
use tollgate_core::Digest;

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
    let amd = push_image_as(&store, &app, "amd", None, None, "t");
    let arm = push_image_as(&store, &app, "arm", None, None, "t");
    let index = push_index(&store, &app, Some("multi"), &[amd.clone(), arm.clone()]);
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
        customer_id: Some("customer-a"),
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
        user_id: Some("vendor"),
        artifact: Some("app"),
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

    block_on(Deletions::new(&db).artifact(&app)).unwrap();
    assert!(log_ids(&db, &LogFilter::default()).is_empty());
    assert_eq!(daily(&db, Some("app"), None), []);
}

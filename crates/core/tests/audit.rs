//! The audit log against real SQLite built from `migrations/`: events are appended
//! and listed newest first with filters and cursors, the table refuses to change or
//! drop a recent event, retention prunes only old ones, and the export neutralises
//! formulas.

mod sqlite;

use futures::executor::block_on;
use sqlite::Sqlite;
use tollgate_core::audit::{self, Audit, AuditEvent, AuditFilter};
use tollgate_core::stmt;
use tollgate_core::storage::paging::new_id;
use tollgate_core::storage::sql::Sql;

const DAY: i64 = 86_400;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn event(n: u8, at: i64, actor: &str, action: &str, target: &str) -> AuditEvent {
    AuditEvent {
        id: new_id(at, &[n; 6]),
        at,
        actor_id: Some(actor.into()),
        actor_email: Some(format!("{actor}@example.com")),
        role: Some("admin".into()),
        action: action.into(),
        target: target.into(),
        status: 201,
        address: Some("192.0.2.1".into()),
        user_agent: Some("=HYPERLINK(\"x\")".into()),
    }
}

fn append(db: &Sqlite, events: &[AuditEvent]) {
    block_on(db.batch(events.iter().map(audit::record).collect())).unwrap();
}

fn targets(db: &Sqlite, filter: &AuditFilter) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = block_on(Audit::new(db).list(filter, cursor.as_deref(), 2)).unwrap();
        out.extend(page.items.into_iter().map(|e| e.target));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

#[test]
fn events_list_newest_first_with_filters_and_cursors() {
    let db = Sqlite::migrated();
    let t = now();
    append(
        &db,
        &[
            event(1, t - 30, "alice", "POST", "/api/v1/licenses"),
            event(2, t - 20, "bob", "DELETE", "/v2/acme/app/manifests/v1"),
            event(3, t - 10, "alice", "DELETE", "/api/v1/licenses/1"),
            event(4, t, "alice", "POST", "/api/v1/tokens"),
        ],
    );
    let all = AuditFilter::default();
    assert_eq!(
        targets(&db, &all),
        [
            "/api/v1/tokens",
            "/api/v1/licenses/1",
            "/v2/acme/app/manifests/v1",
            "/api/v1/licenses"
        ]
    );
    let alice_deletes = AuditFilter {
        actor_id: Some("alice".into()),
        action: Some("DELETE".into()),
        ..AuditFilter::default()
    };
    assert_eq!(targets(&db, &alice_deletes), ["/api/v1/licenses/1"]);
    let licenses_before_now = AuditFilter {
        target: Some("/api/v1/licenses".into()),
        to: Some(t),
        ..AuditFilter::default()
    };
    assert_eq!(
        targets(&db, &licenses_before_now),
        ["/api/v1/licenses/1", "/api/v1/licenses"]
    );
}

#[test]
fn the_table_refuses_to_change_or_drop_a_recent_event() {
    let db = Sqlite::migrated();
    let t = now();
    append(&db, &[event(1, t, "alice", "DELETE", "/api/v1/users/x")]);
    let changed = block_on(db.batch(vec![stmt!("UPDATE audit_events SET actor_id = 'mallory'")]));
    assert!(changed.is_err(), "{changed:?}");
    let dropped = block_on(db.batch(vec![stmt!("DELETE FROM audit_events")]));
    assert!(dropped.is_err(), "{dropped:?}");
    assert_eq!(targets(&db, &AuditFilter::default()), ["/api/v1/users/x"]);
}

#[test]
fn retention_prunes_only_what_is_older() {
    let db = Sqlite::migrated();
    let t = now();
    append(
        &db,
        &[
            event(1, t - 400 * DAY, "a", "POST", "/old"),
            event(2, t - 100 * DAY, "a", "POST", "/kept-a-year"),
            event(3, t - DAY, "a", "POST", "/recent"),
        ],
    );
    let log = Audit::new(&db);
    assert_eq!(
        block_on(log.prune(t, audit::DEFAULT_RETENTION_DAYS)).unwrap(),
        1
    );
    assert_eq!(
        targets(&db, &AuditFilter::default()),
        ["/recent", "/kept-a-year"]
    );
    assert_eq!(block_on(log.prune(t, 60)).unwrap(), 1);
    assert_eq!(targets(&db, &AuditFilter::default()), ["/recent"]);
    assert!(audit::retention_days(29).is_err());
    assert_eq!(audit::retention_days(30).unwrap(), 30);
}

#[test]
fn the_export_neutralises_formulas() {
    let line = event(1, 0, "alice", "POST", "/api/v1/tokens").csv_line();
    assert!(
        line.ends_with(",\"'=HYPERLINK(\"\"x\"\")\"\r\n"),
        "{line:?}"
    );
    assert_eq!(
        line.split(',').count(),
        audit::CSV_HEADER.trim_end().split(',').count(),
        "{line:?}"
    );
}

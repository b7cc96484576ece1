//! Usage caps against real SQLite built from `migrations/`: what counts against
//! which license (pulls that are not part of another, blob bytes), exactly once
//! under redelivery, per UTC month; and the verdict that follows — a read goes
//! through a license with room, and is refused with the cap and its reset only
//! when every license granting it is over a cap.

mod fixtures;
mod sqlite;

use futures::executor::block_on;
use sqlite::Sqlite;
use tollgate_core::analytics::downloads::{BlobRead, Downloads, Event, Message};
use tollgate_core::auth::account_store::{Accounts, Customer};
use tollgate_core::licensing::caps::{Cap, Caps, OverCap};
use tollgate_core::licensing::license::Access;
use tollgate_core::licensing::license::{Item, Versions};
use tollgate_core::licensing::license_store::{Licenses, NewLicense, Target};
use tollgate_core::storage::store::Store;
use tollgate_core::{Digest, Reference, RepoName};

use fixtures::{push_image, push_image_as, push_index, repo};

/// 2026-12-06T00:00:00Z, and the start of the next month.
const NOW: i64 = 1_796_515_200;
const JANUARY: i64 = 1_798_761_600;

fn customer(db: &Sqlite, id: &str) {
    let customer = Customer {
        id: id.into(),
        name: id.into(),
        contact: String::new(),
        notes: String::new(),
        created_at: 1,
    };
    block_on(Accounts::new(db).create_customer(&customer)).unwrap();
}

fn license(db: &Sqlite, id: &str, artifact: &RepoName, caps: Caps) {
    let license = NewLicense {
        id: id.into(),
        name: id.into(),
        customer_id: "c".into(),
        expires_at: None,
        expiry_policy: Default::default(),
        caps,
        created_at: 1,
        items: vec![Item {
            artifact: artifact.clone(),
            versions: Versions::All,
        }],
    };
    block_on(Licenses::new(db).create(&license)).unwrap();
}

fn pull(id: &str, at: i64, digest: &Digest, license: &str) -> Message {
    Message::from(Event {
        id: id.into(),
        at,
        repo: "app".into(),
        reference: "v1".into(),
        digest: digest.to_string(),
        user_id: "u".into(),
        customer_id: Some("c".into()),
        ip: None,
        user_agent: None,
        country: None,
        colo: None,
        license_id: Some(license.into()),
        bundle_id: None,
    })
}

fn read(id: &str, at: i64, bytes: u64, license: &str) -> Message {
    Message::BlobRead(BlobRead {
        id: id.into(),
        at,
        license_id: license.into(),
        bytes,
    })
}

fn verdict(db: &Sqlite, app: &RepoName, now: i64) -> Access {
    let v1: Reference = "v1".parse().unwrap();
    block_on(Licenses::new(db).access("c", app, Target::Manifest(&v1), now))
        .unwrap()
        .0
}

fn setup() -> (Sqlite, RepoName, Digest) {
    let db = Sqlite::migrated();
    let app = repo("app");
    let d = push_image(&Store::new(&db), &app, "v1", None, "t");
    customer(&db, "c");
    (db, app, d)
}

fn granted(license: &str) -> Access {
    Access::Granted {
        license: Some(license.into()),
    }
}

#[test]
fn a_pulls_cap_refuses_once_reached_and_resets_next_month() {
    let (db, app, d) = setup();
    let caps = Caps {
        max_pulls_per_month: Some(2),
        max_bytes_per_month: None,
    };
    license(&db, "capped", &app, caps);
    let downloads = Downloads::new(&db);
    assert_eq!(verdict(&db, &app, NOW), granted("capped"));
    let batch = [pull("e1", NOW, &d, "capped")];
    block_on(downloads.record(&batch)).unwrap();
    block_on(downloads.record(&batch)).unwrap();
    assert_eq!(verdict(&db, &app, NOW), granted("capped"), "redelivery");
    // Last month's pulls count towards last month only.
    block_on(downloads.record(&[pull("e0", NOW - 6 * 86_400, &d, "capped")])).unwrap();
    assert_eq!(verdict(&db, &app, NOW), granted("capped"), "November");
    block_on(downloads.record(&[pull("e2", NOW + 1, &d, "capped")])).unwrap();
    let over = OverCap {
        cap: Cap::Pulls,
        limit: 2,
        resets_at: JANUARY,
    };
    assert_eq!(verdict(&db, &app, NOW + 2), Access::OverCap(over));
    let message = over.error(NOW + 2).to_string();
    assert!(
        message.contains("2 pulls per month") && message.contains("2027-01-01T00:00:00Z"),
        "{message}"
    );
    assert_eq!(verdict(&db, &app, JANUARY), granted("capped"));
}

#[test]
fn a_license_with_room_lets_the_read_through_and_uncapped_ones_go_first() {
    let (db, app, d) = setup();
    let one = Caps {
        max_pulls_per_month: Some(1),
        max_bytes_per_month: None,
    };
    license(&db, "a-capped", &app, one);
    license(&db, "b-capped", &app, one);
    let downloads = Downloads::new(&db);
    block_on(downloads.record(&[pull("e1", NOW, &d, "a-capped")])).unwrap();
    assert_eq!(verdict(&db, &app, NOW), granted("b-capped"));
    license(&db, "c-free", &app, Caps::default());
    assert_eq!(verdict(&db, &app, NOW), granted("c-free"));
    block_on(downloads.record(&[pull("e2", NOW, &d, "b-capped")])).unwrap();
    assert_eq!(verdict(&db, &app, NOW), granted("c-free"));
    block_on(Licenses::new(&db).delete("c-free")).unwrap();
    assert!(matches!(verdict(&db, &app, NOW), Access::OverCap(_)));
}

#[test]
fn blob_bytes_count_once_against_a_bytes_cap() {
    let (db, app, _) = setup();
    let caps = Caps {
        max_pulls_per_month: None,
        max_bytes_per_month: Some(1000),
    };
    license(&db, "capped", &app, caps);
    let downloads = Downloads::new(&db);
    let batch = [
        read("r1", NOW, 600, "capped"),
        read("r2", NOW, 399, "capped"),
    ];
    block_on(downloads.record(&batch)).unwrap();
    block_on(downloads.record(&batch[..1])).unwrap();
    assert_eq!(verdict(&db, &app, NOW), granted("capped"), "999 bytes");
    block_on(downloads.record(&[read("r3", NOW, 1, "capped")])).unwrap();
    let over = OverCap {
        cap: Cap::Bytes,
        limit: 1000,
        resets_at: JANUARY,
    };
    assert_eq!(verdict(&db, &app, NOW), Access::OverCap(over));
    let v2: Reference = "v2".parse().unwrap();
    let unlicensed =
        block_on(Licenses::new(&db).access("c", &repo("other"), Target::Manifest(&v2), NOW));
    assert_eq!(
        unlicensed.unwrap().0,
        Access::Refused,
        "not granted says nothing of caps"
    );
}

#[test]
fn a_queued_download_event_without_a_license_still_reads() {
    let old = r#"{"id":"e1","at":1,"repo":"app","reference":"v1","digest":"sha256:x",
        "user_id":"u","customer_id":null,"ip":null,"user_agent":null,"country":null,"colo":null}"#;
    let message: Message = serde_json::from_str(old).unwrap();
    assert!(matches!(message, Message::Download(e) if e.license_id.is_none()));
    let read = r#"{"id":"r1","at":1,"license_id":"l","bytes":5}"#;
    let message: Message = serde_json::from_str(read).unwrap();
    assert!(matches!(message, Message::BlobRead(r) if r.bytes == 5));
}

#[test]
fn a_license_shows_its_caps_and_this_months_usage() {
    let (db, app, d) = setup();
    let caps = Caps {
        max_pulls_per_month: Some(5),
        max_bytes_per_month: Some(9000),
    };
    license(&db, "capped", &app, caps);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let downloads = Downloads::new(&db);
    block_on(downloads.record(&[
        pull("e1", now, &d, "capped"),
        pull("e2", now, &d, "capped"),
        read("r1", now, 700, "capped"),
        pull("e0", now - 40 * 86_400, &d, "capped"),
    ]))
    .unwrap();
    let shown = block_on(Licenses::new(&db).show("capped"))
        .unwrap()
        .unwrap();
    assert_eq!(shown.caps, caps);
    assert_eq!((shown.usage.pulls, shown.usage.bytes), (2, 700));
    assert_eq!(shown.usage.month, tollgate_core::time::rfc3339(now)[..7]);
    let json = serde_json::to_value(&shown).unwrap();
    assert_eq!(json["max_pulls_per_month"], 5);
    assert_eq!(json["usage"]["pulls"], 2);
}

#[test]
fn a_multi_arch_pull_counts_once_against_a_pulls_cap() {
    let (db, app, _) = setup();
    let store = Store::new(&db);
    let amd = push_image_as(&store, &app, "amd", None, None, "t");
    let index = push_index(&store, &app, Some("multi"), std::slice::from_ref(&amd));
    let caps = Caps {
        max_pulls_per_month: Some(2),
        max_bytes_per_month: None,
    };
    license(&db, "capped", &app, caps);
    // The index, then its platform's manifest, as a client pulls them: one pull.
    let downloads = Downloads::new(&db);
    block_on(downloads.record(&[pull("e1", NOW, &index, "capped")])).unwrap();
    block_on(downloads.record(&[pull("e2", NOW + 1, &amd, "capped")])).unwrap();
    assert_eq!(verdict(&db, &app, NOW + 2), granted("capped"));
    block_on(downloads.record(&[pull("e3", NOW + 2, &index, "capped")])).unwrap();
    assert!(matches!(verdict(&db, &app, NOW + 3), Access::OverCap(_)));
}

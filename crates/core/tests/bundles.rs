//! Air-gap bundles (docs/bundles.md): the tar arithmetic read back by `tar`, byte
//! ranges against the whole archive, and plans against real SQLite built from
//! `migrations/` — closures, licenses checked, selections refused whole.

mod fixtures;
mod sqlite;

use std::process::Command;

use futures::executor::block_on;
use sqlite::Sqlite;
use tollgate_core::bundles::bundle_store::{Body, Bundles};
use tollgate_core::bundles::plan::{Member, Plan, Selection};
use tollgate_core::bundles::tar::{Entry, Layout, Piece, Source};
use tollgate_core::licensing::license::{Access, Item, Versions};
use tollgate_core::licensing::license_store::{Licenses, NewLicense};
use tollgate_core::oci::range::ByteRange;
use tollgate_core::storage::sql::Sql;
use tollgate_core::storage::store::Store;
use tollgate_core::{Digest, Error};

use fixtures::{add_customer, digest, mutable_repo, push_image, push_image_as, push_index};

const NOW: i64 = 1_000_000;

/// Files of odd sizes (padding), an empty one, a directory, and one read from
/// an "object".
fn sample() -> (Layout, Vec<Vec<u8>>) {
    let bodies: Vec<Vec<u8>> = vec![
        b"{\"imageLayoutVersion\":\"1.0.0\"}".to_vec(),
        Vec::new(),
        Vec::new(),
        (0..1500u32).map(|i| (i % 251) as u8).collect(),
        vec![7; 512],
    ];
    let layout = Layout::new(vec![
        Entry::file("oci-layout", bodies[0].len() as u64),
        Entry::directory("blobs/"),
        Entry::file("blobs/empty", 0),
        Entry::file("blobs/sha256/big", bodies[3].len() as u64),
        Entry::file("blobs/sha256/block", 512),
    ]);
    (layout, bodies)
}

/// The bytes of `range`, objects read from `bodies` (entry 3 is an object).
fn read(layout: &Layout, bodies: &[Vec<u8>], range: ByteRange) -> Vec<u8> {
    let pieces = layout.pieces(range, |i| match i {
        3 => Source::Object("big"),
        _ => Source::Bytes(&bodies[i]),
    });
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Bytes(b) => out.extend(b),
            Piece::Object {
                key,
                offset,
                length,
            } => {
                assert_eq!(key, "big");
                out.extend(&bodies[3][offset as usize..(offset + length) as usize]);
            }
        }
    }
    out
}

fn whole(layout: &Layout, bodies: &[Vec<u8>]) -> Vec<u8> {
    let all = ByteRange {
        start: 0,
        end: layout.len() - 1,
    };
    read(layout, bodies, all)
}

fn temp_dir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-bundles-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_archive_reads_back_with_tar() {
    let (layout, bodies) = sample();
    let bytes = whole(&layout, &bodies);
    assert_eq!(bytes.len() as u64, layout.len());
    assert_eq!(bytes.len() % 512, 0);
    let dir = temp_dir("tar");
    let file = dir.join("b.tar");
    std::fs::write(&file, &bytes).unwrap();
    let listing = Command::new("tar").arg("-tvf").arg(&file).output().unwrap();
    assert!(listing.status.success(), "{listing:?}");
    let listing = String::from_utf8(listing.stdout).unwrap();
    let lines: Vec<Vec<&str>> = listing
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let expected = [
        ("-rw-r--r--", "30", "oci-layout"),
        ("drwxr-xr-x", "0", "blobs/"),
        ("-rw-r--r--", "0", "blobs/empty"),
        ("-rw-r--r--", "1500", "blobs/sha256/big"),
        ("-rw-r--r--", "512", "blobs/sha256/block"),
    ];
    assert_eq!(lines.len(), expected.len(), "{listing}");
    for (line, (mode, size, name)) in lines.iter().zip(expected) {
        assert_eq!(line[0], mode, "{listing}");
        assert_eq!(line[1], "0/0", "{listing}");
        assert_eq!(line[2], size, "{listing}");
        assert_eq!(line[3], "1970-01-01", "{listing}");
        assert_eq!(line[5], name, "{listing}");
    }
    let out = dir.join("x");
    std::fs::create_dir_all(&out).unwrap();
    let untar = Command::new("tar")
        .arg("-xf")
        .arg(&file)
        .arg("-C")
        .arg(&out)
        .status()
        .unwrap();
    assert!(untar.success());
    assert_eq!(
        std::fs::read(out.join("blobs/sha256/big")).unwrap(),
        bodies[3]
    );
    assert_eq!(std::fs::read(out.join("oci-layout")).unwrap(), bodies[0]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_range_is_the_same_span_of_the_whole_archive() {
    let (layout, bodies) = sample();
    let bytes = whole(&layout, &bodies);
    let len = layout.len();
    let mut starts: Vec<u64> = vec![0, 1, 511, 512, 541, 1024, 1535, 1536, 2048, 2100];
    starts.extend([3000, 3583, 3584, 4095, 4096, len - 1024, len - 1]);
    for &start in &starts {
        for end in [start, start + 1, start + 700, len - 1] {
            let end = end.min(len - 1);
            let got = read(&layout, &bodies, ByteRange { start, end });
            assert_eq!(got, bytes[start as usize..=end as usize], "{start}-{end}");
        }
    }
}

#[test]
fn a_range_reads_only_the_objects_it_touches() {
    let (layout, bodies) = sample();
    // oci-layout (header and one block), blobs/ and blobs/empty (headers), big's header.
    let big_body = 512 * 2 + 512 + 512 + 512;
    let pieces = layout.pieces(
        ByteRange {
            start: big_body as u64 + 1000,
            end: big_body as u64 + 1099,
        },
        |i| match i {
            3 => Source::Object("big"),
            _ => Source::Bytes(&bodies[i]),
        },
    );
    assert_eq!(
        pieces,
        vec![Piece::Object {
            key: "big".into(),
            offset: 1000,
            length: 100
        }]
    );
}

#[test]
fn sizes_of_8_gib_and_more_use_the_base_256_form() {
    let small = Entry::file("a", 0o777).header();
    assert_eq!(&small[124..136], b"00000000777\0");
    let big = Entry::file("a", 1 << 33).header();
    assert_eq!(big[124], 0x80);
    assert_eq!(&big[128..136], &(1u64 << 33).to_be_bytes());
    let layout = Layout::new(vec![Entry::file("a", 1 << 33)]);
    assert_eq!(layout.len(), 512 + (1 << 33) + 1024);
}

fn grant(db: &Sqlite, id: &str, customer: &str, items: Vec<Item>) {
    let license = NewLicense {
        id: id.into(),
        name: format!("license {id}"),
        customer_id: customer.into(),
        expires_at: None,
        expiry_policy: Default::default(),
        caps: Default::default(),
        created_at: 1,
        items,
    };
    block_on(Licenses::new(db).create(&license)).unwrap();
}

fn selection(json: serde_json::Value) -> Selection {
    serde_json::from_value(json).unwrap()
}

/// `app`: a two-platform index tagged `1.0` with a signature on the index and an
/// SBOM on one platform, and an image tagged `2.0`; `other`: an image tagged `1.0`.
struct World {
    db: Sqlite,
    index: Digest,
    platforms: [Digest; 2],
    signature: Digest,
    sbom: Digest,
    v2: Digest,
    other: Digest,
}

fn world() -> World {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let app = mutable_repo(&db, "acme/app");
    let amd64 = push_image_as(&store, &app, "amd64", None, None, "image");
    let arm64 = push_image_as(&store, &app, "arm64", None, None, "image");
    let index = push_index(&store, &app, Some("1.0"), &[amd64.clone(), arm64.clone()]);
    let signature = push_image_as(&store, &app, "sig", None, Some(&index), "sig");
    let sbom = push_image_as(&store, &app, "sbom", None, Some(&arm64), "sbom");
    let v2 = push_image(&store, &app, "2.0", None, "image");
    let other_repo = mutable_repo(&db, "acme/other");
    let other = push_image(&store, &other_repo, "1.0", None, "image");
    add_customer(&db, "c1");
    let v1 = Versions::Pattern("1.*".parse().unwrap());
    grant(
        &db,
        "l1",
        "c1",
        vec![Item {
            artifact: app.clone(),
            versions: v1,
        }],
    );
    World {
        db,
        index,
        platforms: [amd64, arm64],
        signature,
        sbom,
        v2,
        other,
    }
}

fn digests(plan: &Plan, manifests: bool) -> Vec<String> {
    plan.contents
        .iter()
        .filter(|c| c.artifact.is_some() == manifests)
        .map(|c| c.digest.clone())
        .collect()
}

#[test]
fn a_plan_holds_every_platform_referrer_and_blob_of_its_versions() {
    let w = world();
    let bundles = Bundles::new(&w.db);
    let wanted =
        selection(serde_json::json!({"items": [{"artifact": "acme/app", "tags": ["1.0"]}]}));
    let plan = block_on(bundles.plan("c1", &wanted, NOW)).unwrap();
    assert_eq!(plan.versions.len(), 1);
    assert_eq!(plan.versions[0].digest, w.index.as_str());
    assert_eq!(plan.versions[0].ref_name(), "acme/app:1.0");
    let mut expected: Vec<String> = [
        &w.index,
        &w.platforms[0],
        &w.platforms[1],
        &w.signature,
        &w.sbom,
    ]
    .iter()
    .map(|d| d.to_string())
    .collect();
    expected.sort();
    assert_eq!(digests(&plan, true), expected);
    let blobs: Vec<String> = ["amd64", "arm64", "sig", "sbom"]
        .iter()
        .flat_map(|s| {
            [
                digest(&format!("config-{s}")),
                digest(&format!("layer-{s}")),
            ]
        })
        .map(|d| d.to_string())
        .collect();
    let mut blobs = blobs;
    blobs.sort();
    assert_eq!(digests(&plan, false), blobs);
    assert!(!digests(&plan, true).contains(&w.v2.to_string()));

    let bodies = block_on(bundles.bodies(&plan)).unwrap();
    assert_eq!(bodies.len(), plan.contents.len());
    assert!(matches!(
        bodies.get(w.index.as_str()),
        Some(Body::Inline(_))
    ));
    let layer = digest("layer-arm64");
    assert_eq!(
        bodies.get(layer.as_str()),
        Some(&Body::Object(format!("blobs/{layer}")))
    );

    block_on(bundles.save("b1", "c1", "u1", &plan, NOW)).unwrap();
    let stored = block_on(bundles.show("b1")).unwrap().unwrap();
    assert_eq!((stored.customer_id.as_str(), &stored.plan), ("c1", &plan));
    assert_eq!(block_on(bundles.show("b2")).unwrap(), None);
}

#[test]
fn the_layout_lists_its_versions_by_name_and_its_contents_once() {
    let w = world();
    let bundles = Bundles::new(&w.db);
    let wanted = selection(serde_json::json!({"items": [
        {"artifact": "acme/app", "tags": ["1.0"], "digests": [w.platforms[1].to_string()]}
    ]}));
    let plan = block_on(bundles.plan("c1", &wanted, NOW)).unwrap();
    let index: serde_json::Value = serde_json::from_slice(&plan.index_json()).unwrap();
    let names: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .collect();
    let by_digest = format!("acme/app@{}", w.platforms[1]);
    assert_eq!(names, ["acme/app:1.0", by_digest.as_str()]);
    let mut referrers: Vec<(&str, &str)> = index["manifests"].as_array().unwrap()[2..]
        .iter()
        .map(|m| {
            (
                m["digest"].as_str().unwrap(),
                m["artifactType"].as_str().unwrap(),
            )
        })
        .collect();
    referrers.sort();
    let mut expected = vec![(w.signature.as_str(), "sig"), (w.sbom.as_str(), "sbom")];
    expected.sort();
    assert_eq!(referrers, expected, "referrers listed without a name");
    let members = plan.members();
    let names: Vec<&str> = members.iter().map(|(e, _)| e.name.as_str()).collect();
    assert_eq!(
        &names[..4],
        ["oci-layout", "index.json", "blobs/", "blobs/sha256/"]
    );
    assert_eq!(members.len(), 4 + 5 + 8, "each manifest and blob once");
    assert!(matches!(members[0].1, Member::OciLayout));
    let mut sorted = names[4..].to_vec();
    sorted.sort();
    assert_eq!(sorted, names[4..]);
}

#[test]
fn a_selection_naming_anything_unlicensed_or_missing_is_refused_whole() {
    let w = world();
    let bundles = Bundles::new(&w.db);
    let refused = [
        serde_json::json!({"items": [{"artifact": "acme/app", "tags": ["1.0", "2.0"]}]}),
        serde_json::json!({"items": [{"artifact": "acme/app", "digests": [w.v2.to_string()]}]}),
        serde_json::json!({"items": [
            {"artifact": "acme/app", "tags": ["1.0"]},
            {"artifact": "acme/other", "tags": ["1.0"]}
        ]}),
        serde_json::json!({"items": [{"artifact": "acme/app", "tags": ["9.9"]}]}),
        serde_json::json!({"items": [{"artifact": "acme/none", "tags": ["1.0"]}]}),
        serde_json::json!({"items": [{"artifact": "Bad Name", "tags": ["1.0"]}]}),
    ];
    for json in refused {
        let got = block_on(bundles.plan("c1", &selection(json.clone()), NOW));
        assert_eq!(got, Err(Error::NotFound("version")), "{json}");
        let other_customer = block_on(bundles.plan("c2", &selection(json.clone()), NOW));
        assert!(other_customer.is_err(), "{json}");
    }
    let other = selection(
        serde_json::json!({"items": [{"artifact": "acme/other", "digests": [w.other.to_string()]}]}),
    );
    assert_eq!(
        block_on(bundles.plan("c1", &other, NOW)),
        Err(Error::NotFound("version"))
    );
    for bad in [
        serde_json::json!({}),
        serde_json::json!({"all": true, "items": [{"artifact": "acme/app", "tags": ["1.0"]}]}),
    ] {
        assert!(matches!(
            block_on(bundles.plan("c1", &selection(bad), NOW)),
            Err(Error::Invalid(_))
        ));
    }
}

#[test]
fn everything_licensed_is_every_readable_tag_and_a_revoked_license_stops_it() {
    let w = world();
    let bundles = Bundles::new(&w.db);
    let all = selection(serde_json::json!({"all": true}));
    let plan = block_on(bundles.plan("c1", &all, NOW)).unwrap();
    let names: Vec<String> = plan.versions.iter().map(|v| v.ref_name()).collect();
    assert_eq!(names, ["acme/app:1.0"]);
    let access = |customer| block_on(bundles.access(customer, &plan, NOW)).unwrap();
    let granted = Access::Granted {
        license: Some("l1".into()),
    };
    assert_eq!(access("c1"), [granted]);
    assert_eq!(access("c2"), [Access::Refused]);
    assert!(block_on(Licenses::new(&w.db).delete("l1")).unwrap());
    assert_eq!(access("c1"), [Access::Refused]);
    assert_eq!(
        block_on(bundles.plan("c1", &all, NOW)),
        Err(Error::NotFound("version"))
    );
}

#[test]
fn a_bundle_holds_at_most_500_versions_however_they_are_chosen() {
    let w = world();
    let bundles = Bundles::new(&w.db);
    let tags: Vec<String> = (0..501).map(|i| format!("1.{i}-rc")).collect();
    for tag in &tags {
        block_on(w.db.batch(vec![tollgate_core::stmt!(
            "INSERT INTO tags (repo, tag, digest, updated_at) VALUES ('acme/app', ?1, ?2, 3)",
            tag.as_str(),
            w.index.as_str()
        )]))
        .unwrap();
    }
    let named = selection(serde_json::json!({"items": [{"artifact": "acme/app", "tags": tags}]}));
    let all = selection(serde_json::json!({"all": true}));
    for too_many in [named, all] {
        assert!(matches!(
            block_on(bundles.plan("c1", &too_many, NOW)),
            Err(Error::Invalid(_))
        ));
    }
}

#[test]
fn a_bundle_over_its_licenses_cap_is_planned_but_its_access_is_the_cap() {
    let w = world();
    block_on(w.db.batch(vec![
        tollgate_core::stmt!("UPDATE licenses SET max_pulls_per_month = 1 WHERE id = 'l1'"),
        tollgate_core::stmt!(
            "INSERT INTO license_usage (license_id, month, pulls)
             VALUES ('l1', strftime('%Y%m', ?1, 'unixepoch'), 1)",
            NOW
        ),
    ]))
    .unwrap();
    let bundles = Bundles::new(&w.db);
    let all = selection(serde_json::json!({"all": true}));
    let plan = block_on(bundles.plan("c1", &all, NOW)).unwrap();
    let access = block_on(bundles.access("c1", &plan, NOW)).unwrap();
    assert!(matches!(access[..], [Access::OverCap(_)]), "{access:?}");
}

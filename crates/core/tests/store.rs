//! The store's queries against real SQLite built from `migrations/`.

mod fixtures;
mod sqlite;

use fixtures::{digest, image_json, push_image, repo, upload};
use futures::executor::block_on;
use sqlite::Sqlite;
use tollgate_core::auth::account::Role;
use tollgate_core::auth::account_store::bearer_guard;
use tollgate_core::error::Refusal;
use tollgate_core::licensing::deletion::Deletions;
use tollgate_core::oci::manifest::{self, OCI_INDEX, OCI_MANIFEST};
use tollgate_core::oci::upload_session::UploadSession;
use tollgate_core::storage::store::{ManifestBytes, NewManifest, Store};
use tollgate_core::{Algorithm, Error, Reference, Tag};

#[test]
fn blobs_are_per_repository_and_deduplicated() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let (a, b) = (repo("a"), repo("b"));
    let d = digest("x");
    assert!(block_on(store.commit_blob(&a, &d, 1, "blobs/first", &upload(1), 1)).unwrap());
    assert!(!block_on(store.commit_blob(&b, &d, 1, "blobs/second", &upload(2), 1)).unwrap());
    let in_b = block_on(store.blob(&b, &d)).unwrap().unwrap();
    assert_eq!(
        in_b.object_key, "blobs/first",
        "the duplicate upload's object is not used"
    );
    assert!(block_on(store.unlink_blob(&a, &d)).unwrap());
    assert!(block_on(store.blob(&a, &d)).unwrap().is_none());
    assert!(block_on(store.stored_blob(&d)).unwrap().is_some());
    assert!(!block_on(store.unlink_blob(&a, &d)).unwrap());
}

#[test]
fn mount_links_only_from_a_repository_that_holds_the_blob() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let d = digest("x");
    block_on(store.commit_blob(&repo("src"), &d, 1, "blobs/k", &upload(1), 1)).unwrap();
    assert!(block_on(store.mount(&repo("other"), &repo("dst"), &d, 2))
        .unwrap()
        .is_none());
    assert!(block_on(store.blob(&repo("dst"), &d)).unwrap().is_none());
    assert!(block_on(store.mount(&repo("src"), &repo("dst"), &d, 2))
        .unwrap()
        .is_some());
    assert_eq!(
        block_on(store.blob(&repo("dst"), &d))
            .unwrap()
            .unwrap()
            .object_key,
        "blobs/k"
    );
}

#[test]
fn upload_sessions_are_bound_to_their_repository() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let id = upload(9);
    let mut session = UploadSession::new(&id, &repo("a"), Algorithm::Sha256, 10);
    block_on(store.create_upload(&session)).unwrap();
    assert!(block_on(store.upload(&repo("b"), &id)).unwrap().is_none());
    let before = session.clone();
    let hasher = session.hasher().unwrap();
    session
        .advance(&hasher, vec!["etag".into()], 42, 11)
        .unwrap();
    session.tail_key = Some(id.tail_key([1; 16]));
    assert!(block_on(store.save_upload(&session, &before)).unwrap());
    assert!(
        !block_on(store.save_upload(&session, &before)).unwrap(),
        "a stale offset loses the race"
    );
    assert_eq!(
        block_on(store.upload(&repo("a"), &id)).unwrap(),
        Some(session)
    );
    block_on(store.delete_upload(&id)).unwrap();
    assert!(block_on(store.upload(&repo("a"), &id)).unwrap().is_none());
}

#[test]
fn one_request_claims_a_session_as_it_stands_and_then_nothing_saves_it() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let id = upload(8);
    let before = UploadSession::new(&id, &repo("a"), Algorithm::Sha256, 10);
    block_on(store.create_upload(&before)).unwrap();
    let mut moved = before.clone();
    moved.tail_key = Some(id.tail_key([2; 16]));
    assert!(
        !block_on(store.claim_upload(&moved, 11)).unwrap(),
        "a claim on a session that moved fails"
    );
    assert!(block_on(store.claim_upload(&before, 11)).unwrap());
    assert!(
        !block_on(store.claim_upload(&before, 11)).unwrap(),
        "claimed once"
    );
    assert!(!block_on(store.save_upload(&moved, &before)).unwrap());
    assert_eq!(
        block_on(store.upload(&repo("a"), &id)).unwrap(),
        None,
        "a session being finished is no longer open"
    );
}

#[test]
fn a_manifest_push_behind_a_failing_guard_stores_nothing() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let r = repo("guarded");
    let (config, layer) = (digest("gc"), digest("gl"));
    for (i, d) in [&config, &layer].into_iter().enumerate() {
        block_on(store.commit_blob(&r, d, 1, "k", &upload(i as u8), 1)).unwrap();
    }
    let json = image_json(&config, &layer, None, "t");
    let parsed = manifest::parse(json.as_bytes(), None).unwrap();
    let tag: Tag = "v1".parse().unwrap();
    let d = digest(&json);
    let new = || NewManifest {
        repo: &r,
        digest: &d,
        manifest: &parsed,
        size: json.len() as u64,
        bytes: ManifestBytes::Inline(&json),
        tag: Some(&tag),
        now: 1,
    };
    // The guard of a pusher whose account is gone (deleted after it authenticated).
    let gone = bearer_guard("no-such-user", None, 1, &[Role::Admin, Role::ReadWrite]);
    assert!(block_on(store.put_manifest(vec![gone], new())).is_err());
    assert!(block_on(store.tags(&r, None, 10)).unwrap().items.is_empty());
    assert_eq!(block_on(store.put_manifest(Vec::new(), new())), Ok(true));
}

#[test]
fn manifests_need_their_references_in_the_same_repository() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let (config, layer) = (digest("c"), digest("l"));
    block_on(store.commit_blob(&repo("other"), &layer, 1, "k", &upload(1), 1)).unwrap();
    let json = image_json(&config, &layer, None, "t");
    let parsed = manifest::parse(json.as_bytes(), None).unwrap();
    let missing = block_on(store.missing_references(&repo("a"), &parsed)).unwrap();
    assert_eq!(missing, vec![config.to_string(), layer.to_string()]);
    let tag: Tag = "v1".parse().unwrap();
    let pushed = block_on(store.put_manifest(
        Vec::new(),
        NewManifest {
            repo: &repo("a"),
            digest: &digest(&json),
            manifest: &parsed,
            size: json.len() as u64,
            bytes: ManifestBytes::Inline(&json),
            tag: Some(&tag),
            now: 1,
        },
    ));
    assert_eq!(
        pushed,
        Err(tollgate_core::Error::ManifestBlobUnknown(
            config.to_string()
        ))
    );
    assert!(
        !block_on(store.repository_exists(&repo("a"))).unwrap(),
        "nothing stored"
    );
    let child = digest("child");
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{child}","size":1}}]}}"#
    );
    let parsed = manifest::parse(index.as_bytes(), Some(OCI_INDEX)).unwrap();
    assert_eq!(
        block_on(store.missing_references(&repo("a"), &parsed)).unwrap(),
        vec![child.to_string()]
    );
}

#[test]
fn manifests_resolve_by_tag_and_digest_and_tags_move() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let r = repo("app");
    let first = push_image(&store, &r, "v1", None, "t");
    let by_tag = block_on(store.manifest(&r, &Reference::Tag("v1".parse().unwrap())))
        .unwrap()
        .unwrap();
    assert_eq!(by_tag.digest, first.to_string());
    assert_eq!(by_tag.media_type, OCI_MANIFEST);
    assert!(by_tag.content.is_some());
    let by_digest = block_on(store.manifest(&r, &Reference::Digest(first.clone()))).unwrap();
    assert_eq!(by_digest, Some(by_tag));
    assert!(
        block_on(store.manifest(&repo("elsewhere"), &Reference::Digest(first)))
            .unwrap()
            .is_none()
    );
}

#[test]
fn tags_and_catalog_paginate_in_lexical_order() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let r = repo("app");
    for tag in ["b", "a", "c", "B"] {
        push_image(&store, &r, tag, None, "t");
    }
    let first = block_on(store.tags(&r, None, 2)).unwrap();
    assert_eq!(
        (first.items.clone(), first.next_cursor.is_some()),
        (vec!["B".to_string(), "a".to_string()], true)
    );
    let second = block_on(store.tags(&r, Some("a"), 2)).unwrap();
    assert_eq!(
        (second.items, second.next_cursor.is_some()),
        (vec!["b".to_string(), "c".to_string()], false)
    );
    assert!(block_on(store.repository_exists(&r)).unwrap());
    assert!(!block_on(store.repository_exists(&repo("nope"))).unwrap());
    push_image(&store, &repo("zeta"), "x", None, "t");
    let catalog = block_on(store.catalog(Some("app"), 10)).unwrap();
    assert_eq!(
        (catalog.items, catalog.next_cursor.is_some()),
        (vec!["zeta".to_string()], false)
    );
}

#[test]
fn referrers_are_found_by_subject_and_filtered_by_type() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let r = repo("app");
    let subject = push_image(
        &store,
        &r,
        "v1",
        None,
        "application/vnd.oci.image.config.v1+json",
    );
    let sbom = push_image(&store, &r, "sbom", Some(&subject), "application/spdx+json");
    let sig = push_image(
        &store,
        &r,
        "sig",
        Some(&subject),
        "application/vnd.dev.cosign",
    );
    let all = block_on(store.referrers(&r, &subject, None)).unwrap();
    let mut found: Vec<_> = all.iter().map(|x| x.digest.clone()).collect();
    found.sort();
    let mut expected = vec![sbom.to_string(), sig.to_string()];
    expected.sort();
    assert_eq!(found, expected);
    let filtered = block_on(store.referrers(&r, &subject, Some("application/spdx+json"))).unwrap();
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0].digest, sbom.to_string());
    assert_eq!(
        filtered[0].artifact_type.as_deref(),
        Some("application/spdx+json")
    );
}

#[test]
fn deleting_a_manifest_removes_its_tags() {
    let db = Sqlite::migrated();
    let store = Store::new(&db);
    let r = repo("app");
    let d = push_image(&store, &r, "v1", None, "t");
    block_on(
        store.put_manifest(
            Vec::new(),
            NewManifest {
                repo: &r,
                digest: &d,
                manifest: &manifest::parse(
                    image_json(&digest("config-v1"), &digest("layer-v1"), None, "t").as_bytes(),
                    None,
                )
                .unwrap(),
                size: 1,
                bytes: ManifestBytes::Object("manifests/x"),
                tag: Some(&"v2".parse().unwrap()),
                now: 3,
            },
        ),
    )
    .unwrap();
    assert_eq!(
        block_on(store.tags(&r, None, 10)).unwrap().items,
        vec!["v1", "v2"]
    );
    let deletions = Deletions::new(&db);
    block_on(deletions.tag(&r, &"v1".parse().unwrap())).unwrap();
    assert_eq!(
        block_on(deletions.tag(&r, &"v1".parse().unwrap())),
        Err(Error::ManifestUnknown)
    );
    assert_eq!(
        block_on(deletions.manifest(&r, &d)),
        Err(Error::Refused(Refusal::LastTag)),
        "v2 is the artifact's last tag"
    );
    push_image(&store, &r, "other", None, "t");
    block_on(deletions.manifest(&r, &d)).unwrap();
    assert_eq!(block_on(store.tags(&r, None, 10)).unwrap().items, ["other"]);
    assert!(block_on(store.manifest(&r, &Reference::Digest(d.clone())))
        .unwrap()
        .is_none());
    assert_eq!(
        block_on(deletions.manifest(&r, &d)),
        Err(Error::ManifestUnknown)
    );
}

//! Immutable tags (docs/immutable-tags.md): a new artifact's semver-looking tags,
//! once pushed, are never moved or deleted — not by crane, a raw manifest PUT, an
//! OCI DELETE of the tag or of its manifest, nor the management API, whose
//! deletion of the whole artifact waits until the rule is off; the same
//! digest pushed again is fine; only an admin changes the setting, which is in the
//! audit log and takes effect at once; racing pushes of one new tag leave exactly
//! one winner.

use std::thread;

use serde_json::Value;
use tollgate_e2e::accounts::*;
use tollgate_e2e::licenses::{
    self, artifact_path, artifact_tag_path, expect_problem, list_all, new_customer,
    set_immutable_tags,
};
use tollgate_e2e::*;

/// The artifact's details as the admin sees them.
fn details(repo: &str) -> Value {
    let resp = send(api("GET", &artifact_path(repo)), None);
    resp.expect(200);
    resp.json()
}

/// Asserts the OCI error of a refused change to the immutable `tag`.
#[track_caller]
fn assert_immutable(resp: &Resp, tag: &str) {
    resp.expect_error(403, "DENIED");
    let text = resp.text();
    assert!(
        text.contains(&format!("tag {tag} is immutable for this artifact")),
        "{text}"
    );
}

#[test]
fn crane_cannot_move_a_released_tag_and_nothing_deletes_it() {
    let reg = registry();
    let sb = crane_logged_in("immutable-crane");
    let src = unique_repo("immutable-src");
    let first = reg.push_random_image(&src, "a");
    let second = reg.push_random_image(&src, "b");
    let repo = unique_repo("immutable");
    let copy = |from: &str, to: &str| {
        sb.try_run(
            "crane",
            &[
                "--insecure",
                "copy",
                &image_ref(&src, from),
                &image_ref(&repo, to),
            ],
        )
    };
    assert!(copy("a", "v1.0.0").status.success());
    assert_eq!(
        details(&repo)["immutable_tags"],
        serde_json::json!(["semver"])
    );

    let refused = copy("b", "v1.0.0");
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        refused.stderr.contains("DENIED")
            && refused
                .stderr
                .contains("tag v1.0.0 is immutable for this artifact"),
        "crane names the refusal:\n{refused:?}"
    );
    reg.assert_manifest_digest(&repo, "v1.0.0", first.digest());
    assert!(
        copy("a", "v1.0.0").status.success(),
        "the same digest again"
    );

    // A raw PUT of the other manifest is refused the same way.
    let put = reg.put_manifest(&repo, "v1.0.0", OCI_MANIFEST, &second.manifest);
    assert_immutable(&put, "v1.0.0");
    // A tag no pattern covers still moves.
    assert!(copy("a", "latest").status.success());
    assert!(copy("b", "latest").status.success());
    reg.assert_manifest_digest(&repo, "latest", second.digest());
    // Under the default the edge knows `latest` is free: moving it is one D1 trip.
    let moved = reg.put_manifest(&repo, "latest", OCI_MANIFEST, &first.manifest);
    moved.expect(201);
    let timing = moved.header("Server-Timing").unwrap_or_default();
    assert!(timing.starts_with("d1;count=1;"), "{timing}");
    reg.assert_manifest_digest(&repo, "latest", first.digest());

    let oci_delete = reg.req("DELETE", &manifest_path(&repo, "v1.0.0")).call();
    assert_immutable(&oci_delete, "v1.0.0");
    let by_digest = reg
        .req("DELETE", &manifest_path(&repo, first.digest()))
        .call();
    assert_immutable(&by_digest, "v1.0.0");
    let api_delete = send(api("DELETE", &artifact_tag_path(&repo, "v1.0.0")), None);
    let detail = expect_problem(&api_delete, 403);
    assert!(detail.contains("tag v1.0.0 is immutable"), "{detail}");
    // Deleting the whole artifact would take the tag with it.
    let whole = send(api("DELETE", &artifact_path(&repo)), None);
    let detail = expect_problem(&whole, 403);
    assert!(detail.contains("tag v1.0.0 is immutable"), "{detail}");
    reg.assert_manifest_digest(&repo, "v1.0.0", first.digest());
    assert_eq!(reg.all_tags(&repo), ["latest", "v1.0.0"]);
    // Once an admin turns the rule off (an audited change), the artifact goes.
    let off = serde_json::json!({"immutable_tags": []});
    send(api("PATCH", &artifact_path(&repo)), Some(&off)).expect(200);
    send(api("DELETE", &artifact_path(&repo)), None).expect(204);
}

#[test]
fn only_an_admin_changes_the_setting_and_it_takes_effect_at_once() {
    let reg = registry();
    let repo = unique_repo("immutable-setting");
    let first = reg.push_random_image(&repo, "v2.0.0");
    let second = reg.push_random_image(&repo, "stable-1");
    let customer = new_customer("immutable");
    for role in ["read_write", "read_only"] {
        let who = vendor_user(role);
        expect_problem(&set_immutable_tags(&repo, &[], Some(&who)), 403);
    }
    expect_problem(&set_immutable_tags(&repo, &[], Some(&customer.user)), 403);
    assert_eq!(
        details(&repo)["immutable_tags"],
        serde_json::json!(["semver"])
    );
    let set = set_immutable_tags(&repo, &["stable-*"], None);
    set.expect(200);
    assert_eq!(
        set.json()["immutable_tags"],
        serde_json::json!(["stable-*"])
    );
    assert_eq!(
        details(&repo)["immutable_tags"],
        serde_json::json!(["stable-*"])
    );
    let path = artifact_path(&repo);
    let recorded = list_all("/api/v1/audit?action=PATCH&limit=100", None);
    assert!(
        recorded
            .iter()
            .any(|e| e["target"] == path.as_str() && e["status"] == 200),
        "the change is in the audit log"
    );
    // v2.0.0 is no longer covered; stable-1 is.
    reg.push_manifest(&repo, "v2.0.0", OCI_MANIFEST, &second.manifest);
    let moved = reg.put_manifest(&repo, "stable-1", OCI_MANIFEST, &first.manifest);
    assert_immutable(&moved, "stable-1");

    // Emptied, the artifact behaves as before: tags move and go.
    set_immutable_tags(&repo, &[], None).expect(200);
    reg.push_manifest(&repo, "stable-1", OCI_MANIFEST, &first.manifest);
    reg.assert_manifest_digest(&repo, "stable-1", first.digest());
    reg.req("DELETE", &manifest_path(&repo, "v2.0.0"))
        .call()
        .expect(202);
    // A licensed customer sees the artifact, not its setting.
    licenses::create(&customer.id, &[licenses::all_versions(&repo)]);
    let as_customer =
        api("GET", &artifact_path(&repo)).basic(&customer.user.email, &customer.user.token);
    let seen = send(as_customer, None);
    seen.expect(200);
    assert!(seen.json().get("immutable_tags").is_none(), "{seen:?}");
}

#[test]
fn bad_settings_and_unknown_artifacts_are_refused() {
    let repo = unique_repo("immutable-bad");
    registry().push_random_image(&repo, "v1");
    expect_problem(&set_immutable_tags(&repo, &["a/b"], None), 400);
    expect_problem(
        &set_immutable_tags(&unique_repo("immutable-none"), &[], None),
        404,
    );
    let unknown_field = send(
        api("PATCH", &artifact_path(&repo)),
        Some(&serde_json::json!({ "immutable_tags": [], "name": "x" })),
    );
    expect_problem(&unknown_field, 400);
    assert_eq!(
        details(&repo)["immutable_tags"],
        serde_json::json!(["semver"])
    );
}

#[test]
fn racing_pushes_of_one_new_tag_leave_exactly_one_winner() {
    const N: usize = 8;
    let reg = registry();
    let repo = unique_repo("immutable-race");
    let images: Vec<Image> = (0..N).map(|_| reg.push_random_image(&repo, "")).collect();
    let repo = repo.as_str();
    let statuses: Vec<(u16, String)> = thread::scope(|s| {
        let pushes: Vec<_> = images
            .iter()
            .map(|img| {
                s.spawn(move || {
                    let r = reg.put_manifest(repo, "v3.0.0", OCI_MANIFEST, &img.manifest);
                    (r.status, r.text())
                })
            })
            .collect();
        pushes.into_iter().map(|p| p.join().unwrap()).collect()
    });
    let winners: Vec<usize> = (0..N).filter(|&i| statuses[i].0 == 201).collect();
    assert_eq!(winners.len(), 1, "{statuses:?}");
    for (status, body) in &statuses {
        assert!(
            *status == 201 || (*status == 403 && body.contains("immutable")),
            "{status} {body}"
        );
    }
    reg.assert_manifest_digest(repo, "v3.0.0", images[winners[0]].digest());
}

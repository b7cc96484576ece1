//! The deletion rules of docs/licensing.md end to end, through the management API
//! (`DELETE /api/v1/artifacts/{name}/tags/{tag}`, `DELETE /api/v1/artifacts/{name}`)
//! and OCI `DELETE /v2/<name>/manifests/<reference>`: the three worked examples, a
//! missing tag, a licensed digest with two tags, pattern licenses and their last
//! matching tag, digest-shaped tags, a manifest deleted by digest taking the last
//! tag, deleting artifacts and manifests a license references (an expired license
//! not keeping an artifact), and who may delete at all.

use tollgate_e2e::accounts::*;
use tollgate_e2e::licenses::{self, *};
use tollgate_e2e::*;

/// How a deletion is asked for.
#[derive(Clone, Copy, Debug)]
enum Via {
    Api,
    Oci,
}

/// Deletes `tag` of `repo` as the admin `via` the API or OCI; the answer unjudged
/// (API answers are checked against the OpenAPI document).
fn delete_tag(via: Via, repo: &str, tag: &str) -> Resp {
    match via {
        Via::Api => send(api("DELETE", &artifact_tag_path(repo, tag)), None),
        Via::Oci => registry().delete(&manifest_path(repo, tag)).call(),
    }
}

/// Asserts a successful tag deletion: 204 from the API, 202 from OCI; the tag is gone.
#[track_caller]
fn assert_deleted(via: Via, repo: &str, tag: &str) {
    let r = delete_tag(via, repo, tag);
    r.expect(match via {
        Via::Api => 204,
        Via::Oci => 202,
    });
    registry()
        .get_manifest(repo, tag)
        .expect_error(404, "MANIFEST_UNKNOWN");
    assert!(
        !registry().all_tags(repo).contains(&tag.to_string()),
        "{tag} still listed after its deletion"
    );
}

/// Asserts a refused tag deletion: the API's problem (`status`) or OCI's error
/// (`status`, `code`) whose text names the rule (contains every one of `words`,
/// case-insensitively); the tag still points where it did.
#[track_caller]
fn assert_refused(via: Via, repo: &str, tag: &str, status: u16, code: &str, words: &[&str]) {
    let before = registry().get_manifest(repo, tag);
    before.expect(200);
    let r = delete_tag(via, repo, tag);
    let text = match via {
        Via::Api => expect_problem(&r, status),
        Via::Oci => {
            r.expect_error(status, code);
            r.json()["errors"][0]["message"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    for w in words {
        assert!(
            text.to_lowercase().contains(w),
            "the refusal must say which rule ({w:?}): {text:?}\n{r:?}"
        );
    }
    registry().assert_manifest_digest(repo, tag, before.must_header("Docker-Content-Digest"));
}

/// The words a refusal of the "last tag of a licensed digest" rule must contain.
const LICENSED_RULE: &[&str] = &["licens"];
/// The words a refusal of the "at least one tag must remain" rule must contain.
const LAST_TAG_RULE: &[&str] = &["last tag"];

/// Worked example 1's artifact: `v1.0.0`, `v1.0.1`, `latest` on three digests, a
/// license on `v1.0.0`'s digest. Returns (repo, [v1.0.0, v1.0.1, latest]). The
/// worked examples (docs/licensing.md) delete semver tags, so their artifacts have
/// immutable tags turned off.
fn example_one(label: &str) -> (String, Vec<Image>) {
    let reg = registry();
    let repo = mutable_repo(label);
    let images: Vec<Image> = ["v1.0.0", "v1.0.1", "latest"]
        .iter()
        .map(|t| reg.push_random_image(&repo, t))
        .collect();
    let cust = new_customer("Deletion");
    licenses::create(&cust.id, &[licenses::digests(&repo, &[images[0].digest()])]);
    (repo, images)
}

#[test]
fn example_1_an_unlicensed_tag_is_deleted() {
    for via in [Via::Api, Via::Oci] {
        let (repo, images) = example_one("del-ex1");
        assert_deleted(via, &repo, "v1.0.1");
        assert_eq!(registry().all_tags(&repo), ["latest", "v1.0.0"]);
        // The licensed version is untouched.
        registry().assert_manifest_digest(&repo, "v1.0.0", images[0].digest());
    }
}

#[test]
fn example_2_the_last_tag_of_a_licensed_digest_is_400() {
    for via in [Via::Api, Via::Oci] {
        let (repo, images) = example_one("del-ex2");
        assert_refused(via, &repo, "v1.0.0", 400, "UNSUPPORTED", LICENSED_RULE);
        assert_eq!(registry().all_tags(&repo), ["latest", "v1.0.0", "v1.0.1"]);
        registry().assert_manifest_digest(&repo, "v1.0.0", images[0].digest());
    }
    // Also when the license names the version by tag (stored as its digest) or covers
    // all versions.
    let reg = registry();
    for item in ["tags", "all"] {
        let repo = mutable_repo("del-ex2b");
        reg.push_random_image(&repo, "v1.0.0");
        reg.push_random_image(&repo, "other");
        let cust = new_customer("Deletion");
        let it = if item == "tags" {
            licenses::tags(&repo, &["v1.0.0"])
        } else {
            licenses::all_versions(&repo)
        };
        licenses::create(&cust.id, &[it]);
        assert_refused(Via::Api, &repo, "v1.0.0", 400, "", LICENSED_RULE);
        assert_refused(Via::Oci, &repo, "v1.0.0", 400, "UNSUPPORTED", LICENSED_RULE);
    }
}

#[test]
fn example_3_the_artifacts_only_tag_is_409() {
    let reg = registry();
    for via in [Via::Api, Via::Oci] {
        let repo = mutable_repo("del-ex3");
        let img = reg.push_random_image(&repo, "v1.0.0");
        assert_refused(via, &repo, "v1.0.0", 409, "DENIED", LAST_TAG_RULE);
        assert_eq!(reg.all_tags(&repo), ["v1.0.0"]);
        // With a second tag, one of the two may go; then the other is the last again.
        licenses::retag(&img, "second");
        assert_deleted(via, &repo, "v1.0.0");
        assert_refused(via, &repo, "second", 409, "DENIED", LAST_TAG_RULE);
        reg.assert_manifest_digest(&repo, "second", img.digest());
    }
}

#[test]
fn a_missing_tag_is_404() {
    let reg = registry();
    let repo = unique_repo("del-missing");
    reg.push_random_image(&repo, "v1");
    reg.push_random_image(&repo, "v2");
    expect_problem(&delete_tag(Via::Api, &repo, "nope"), 404);
    delete_tag(Via::Oci, &repo, "nope").expect_error(404, "MANIFEST_UNKNOWN");
    // In an artifact that does not exist.
    let nowhere = unique_repo("del-nowhere");
    expect_problem(&delete_tag(Via::Api, &nowhere, "v1"), 404);
    delete_tag(Via::Oci, &nowhere, "v1")
        .expect_error_any(404, &["MANIFEST_UNKNOWN", "NAME_UNKNOWN"]);
    expect_problem(&send(api("DELETE", &artifact_path(&nowhere)), None), 404);
    assert_eq!(reg.all_tags(&repo), ["v1", "v2"]);
    // The name may also be given with its slashes as they are.
    reg.delete(&format!("/api/v1/artifacts/{repo}/tags/v2"))
        .call()
        .expect(204);
    assert_eq!(reg.all_tags(&repo), ["v1"]);
    let r = reg
        .delete(&format!("/api/v1/artifacts/{repo}/tags/v2"))
        .call();
    expect_problem(&r, 404);
}

#[test]
fn a_licensed_digest_keeps_its_last_tag() {
    let reg = registry();
    for (first, second) in [(Via::Api, Via::Oci), (Via::Oci, Via::Api)] {
        let repo = unique_repo("del-two-tags");
        let img = reg.push_random_image(&repo, "a");
        licenses::retag(&img, "b");
        reg.push_random_image(&repo, "other");
        let cust = new_customer("Deletion");
        licenses::create(&cust.id, &[licenses::digests(&repo, &[img.digest()])]);
        // One of the two tags may go...
        assert_deleted(first, &repo, "a");
        // ...the other is the digest's last and stays.
        assert_refused(second, &repo, "b", 400, "UNSUPPORTED", LICENSED_RULE);
        assert_refused(first, &repo, "b", 400, "UNSUPPORTED", LICENSED_RULE);
        assert_eq!(reg.all_tags(&repo), ["b", "other"]);
        // The customer still pulls it.
        cust.get_manifest(&repo, "b").expect(200);
    }
}

#[test]
fn a_pattern_license_makes_the_digests_it_matches_licensed() {
    let reg = registry();
    let repo = unique_repo("del-pattern");
    let v10 = reg.push_random_image(&repo, "v1.0");
    let v11 = reg.push_random_image(&repo, "v1.1");
    licenses::retag(&v11, "stable");
    let v12 = reg.push_random_image(&repo, "v1.2");
    licenses::retag(&v12, "edge");
    reg.push_random_image(&repo, "v2.0");
    reg.push_random_image(&repo, "dev");
    let cust = new_customer("Deletion");
    licenses::create(&cust.id, &[licenses::pattern(&repo, "v1.*")]);

    // v1.0 is its digest's only tag, and the pattern matches it.
    assert_refused(Via::Api, &repo, "v1.0", 400, "", LICENSED_RULE);
    assert_refused(Via::Oci, &repo, "v1.0", 400, "UNSUPPORTED", LICENSED_RULE);
    // stable is not matched but its digest is licensed through v1.1: v1.1 remains.
    assert_deleted(Via::Api, &repo, "stable");
    assert_refused(Via::Oci, &repo, "v1.1", 400, "UNSUPPORTED", LICENSED_RULE);
    // edge may go; v1.2 may not: edge would keep the digest tagged, not licensed.
    assert_refused(Via::Oci, &repo, "v1.2", 400, "UNSUPPORTED", &["pattern"]);
    assert_deleted(Via::Api, &repo, "edge");
    registry().assert_manifest_digest(&repo, "v1.2", v12.digest());
    // Unmatched tags on unlicensed digests go as usual.
    assert_deleted(Via::Api, &repo, "v2.0");
    assert_deleted(Via::Oci, &repo, "dev");
    registry().assert_manifest_digest(&repo, "v1.0", v10.digest());
    registry().assert_manifest_digest(&repo, "v1.1", v11.digest());
}

#[test]
fn an_artifact_a_license_references_is_not_deleted() {
    let reg = registry();
    let repo = unique_repo("del-artifact");
    let img = reg.push_random_image(&repo, "v1");
    reg.push_random_image(&repo, "v2");
    let other = unique_repo("del-artifact-other");
    reg.push_random_image(&other, "v1");
    let cust = new_customer("Deletion");
    let by_digest = licenses::create(&cust.id, &[licenses::digests(&repo, &[img.digest()])]);
    let by_pattern = licenses::create(
        &cust.id,
        &[
            licenses::all_versions(&other),
            licenses::pattern(&repo, "nothing-matches-*"),
        ],
    );

    let delete = || send(api("DELETE", &artifact_path(&repo)), None);
    let detail = expect_problem(&delete(), 400);
    assert!(detail.to_lowercase().contains("licens"), "{detail:?}");
    licenses::delete(&by_digest);
    // A license that matches no version still references the artifact.
    let detail = expect_problem(&delete(), 400);
    assert!(detail.to_lowercase().contains("licens"), "{detail:?}");
    reg.get_manifest(&repo, "v1").expect(200);
    licenses::delete(&by_pattern);

    delete().expect(204);
    reg.get(&reg.v2(&repo, "tags/list"))
        .call()
        .expect_error(404, "NAME_UNKNOWN");
    reg.get_manifest(&repo, "v1")
        .expect_error_any(404, &["MANIFEST_UNKNOWN", "NAME_UNKNOWN"]);
    reg.get_manifest(&repo, img.digest())
        .expect_error_any(404, &["MANIFEST_UNKNOWN", "NAME_UNKNOWN"]);
    expect_problem(
        &send(api("GET", &format!("{}/tags", artifact_path(&repo))), None),
        404,
    );
    assert!(
        !all_artifacts(None)
            .iter()
            .any(|a| a["name"] == repo.as_str()),
        "a deleted artifact is not listed"
    );
    expect_problem(&delete(), 404);
    // A license can no longer name it.
    expect_problem(
        &licenses::try_create(&license_body(&cust.id, &[licenses::all_versions(&repo)])),
        400,
    );
    // The other artifact is untouched.
    reg.get_manifest(&other, "v1").expect(200);
}

#[test]
fn a_manifest_a_license_references_is_not_deleted_by_digest() {
    let reg = registry();
    let repo = unique_repo("del-manifest");
    let listed = reg.push_random_image(&repo, "pinned");
    let matched = reg.push_random_image(&repo, "v1.3");
    let free = reg.push_random_image(&repo, "dev");
    reg.push_random_image(&repo, "keep");
    let cust = new_customer("Deletion");
    licenses::create(
        &cust.id,
        &[
            licenses::digests(&repo, &[listed.digest()]),
            licenses::pattern(&repo, "v1.*"),
        ],
    );
    for img in [&listed, &matched] {
        let r = reg.delete(&manifest_path(&repo, img.digest())).call();
        r.expect_error(400, "UNSUPPORTED");
        let message = r.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase();
        assert!(message.contains("licens"), "{r:?}");
        reg.get_manifest(&repo, img.digest()).expect(200);
    }
    reg.delete(&manifest_path(&repo, free.digest()))
        .call()
        .expect(202);
    reg.get_manifest(&repo, free.digest())
        .expect_error(404, "MANIFEST_UNKNOWN");
    assert_eq!(reg.all_tags(&repo), ["keep", "pinned", "v1.3"]);

    // A license on all versions covers every manifest.
    let all = unique_repo("del-manifest-all");
    let img = reg.push_random_image(&all, "v1");
    let untagged = reg.push_random_image(&all, "");
    licenses::create(&cust.id, &[licenses::all_versions(&all)]);
    for d in [img.digest(), untagged.digest()] {
        reg.delete(&manifest_path(&all, d))
            .call()
            .expect_error(400, "UNSUPPORTED");
        reg.get_manifest(&all, d).expect(200);
    }
}

#[test]
fn only_admins_and_read_write_users_delete() {
    let reg = registry();
    let repo = unique_repo("del-roles");
    reg.push_random_image(&repo, "v1");
    reg.push_random_image(&repo, "v2");
    reg.push_random_image(&repo, "v3");
    let ro = vendor_user("read_only");
    let cust = new_customer("Deletion");
    licenses::create(&cust.id, &[licenses::all_versions(&repo)]);
    for who in [&ro, &cust.user] {
        expect_problem(
            &send(
                api("DELETE", &artifact_tag_path(&repo, "v2")).basic(&who.email, &who.token),
                None,
            ),
            403,
        );
        expect_problem(
            &send(
                api("DELETE", &artifact_path(&repo)).basic(&who.email, &who.token),
                None,
            ),
            403,
        );
        reg.delete(&manifest_path(&repo, "v2"))
            .basic(&who.email, &who.token)
            .call()
            .expect_error(403, "DENIED");
    }
    assert_eq!(reg.all_tags(&repo), ["v1", "v2", "v3"]);
    // A read_write user may (v2 has no other tag but its digest is licensed through
    // all versions: 400; so delete from an unlicensed artifact).
    let rw = vendor_user("read_write");
    let free = unique_repo("del-roles-free");
    reg.push_random_image(&free, "v1");
    reg.push_random_image(&free, "v2");
    send(
        api("DELETE", &artifact_tag_path(&free, "v2")).basic(&rw.email, &rw.token),
        None,
    )
    .expect(204);
    reg.delete(&manifest_path(&free, "v1"))
        .basic(&rw.email, &rw.token)
        .call()
        .expect_error(409, "DENIED");
    send(
        api("DELETE", &artifact_path(&free)).basic(&rw.email, &rw.token),
        None,
    )
    .expect(204);
    reg.get(&reg.v2(&free, "tags/list"))
        .call()
        .expect_error(404, "NAME_UNKNOWN");
}

#[test]
fn a_child_of_a_licensed_index_and_an_expired_licenses_digest_stay_protected() {
    let reg = registry();
    // A platform image listed by a licensed index: its only tag stays, and the
    // manifest is not deleted by digest.
    let repo = unique_repo("del-index-child");
    let amd = reg.push_random_image(&repo, "amd");
    let arm = reg.push_image_files(&repo, "", "arm64", &[("a.txt", b"arm64")]);
    let index = push_index(&repo, "multi", &[(&amd, "amd64"), (&arm, "arm64")]);
    reg.push_random_image(&repo, "other");
    let free = reg.push_random_image(&repo, "");
    let cust = new_customer("Deletion");
    licenses::create(&cust.id, &[licenses::digests(&repo, &[&index.digest])]);
    assert_refused(Via::Api, &repo, "amd", 400, "", LICENSED_RULE);
    assert_refused(Via::Oci, &repo, "amd", 400, "UNSUPPORTED", LICENSED_RULE);
    for d in [amd.digest(), arm.digest(), index.digest.as_str()] {
        reg.delete(&manifest_path(&repo, d))
            .call()
            .expect_error(400, "UNSUPPORTED");
        reg.get_manifest(&repo, d).expect(200);
    }
    // An unlicensed manifest of the same artifact goes.
    reg.delete(&manifest_path(&repo, free.digest()))
        .call()
        .expect(202);

    // An expired license still protects what it names (it may be renewed).
    let repo = unique_repo("del-expired");
    let img = reg.push_random_image(&repo, "v1");
    reg.push_random_image(&repo, "v2");
    let lapsed = new_customer("Lapsed");
    licenses::create_expiring(
        &lapsed.id,
        &[licenses::digests(&repo, &[img.digest()])],
        now_unix() - 3600,
    );
    lapsed
        .get_manifest(&repo, "v1")
        .expect_error(404, "MANIFEST_UNKNOWN");
    assert_refused(Via::Api, &repo, "v1", 400, "", LICENSED_RULE);
    assert_refused(Via::Oci, &repo, "v1", 400, "UNSUPPORTED", LICENSED_RULE);
    reg.delete(&manifest_path(&repo, img.digest()))
        .call()
        .expect_error(400, "UNSUPPORTED");
    // The artifact, though, goes: only an active license keeps an artifact.
    send(api("DELETE", &artifact_path(&repo)), None).expect(204);
}

#[test]
fn a_blob_a_licensed_manifest_references_is_not_unlinked() {
    let reg = registry();
    let repo = unique_repo("del-blob");
    let licensed = reg.push_random_image(&repo, "v1");
    let free = reg.push_random_image(&repo, "v2");
    let cust = new_customer("Deletion");
    licenses::create(&cust.id, &[licenses::digests(&repo, &[licensed.digest()])]);
    for d in [&licensed.layers[0].digest, &licensed.config.digest] {
        let r = reg.delete(&blob_path(&repo, d)).call();
        r.expect_error(400, "UNSUPPORTED");
        let message = r.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase();
        assert!(message.contains("licens"), "{r:?}");
        reg.get(&blob_path(&repo, d)).call().expect(200);
        cust.get_blob(&repo, d).expect(200);
    }
    // A blob only an unlicensed manifest references may be unlinked.
    reg.delete(&blob_path(&repo, &free.layers[0].digest))
        .call()
        .expect(202);
    reg.get(&blob_path(&repo, &free.layers[0].digest))
        .call()
        .expect_error(404, "BLOB_UNKNOWN");
}

#[test]
fn deleting_the_only_tagged_manifest_by_digest_is_409() {
    let reg = registry();
    let repo = unique_repo("del-by-digest");
    let img = reg.push_random_image(&repo, "v1");
    let untagged = reg.push_random_image(&repo, "");
    let r = reg.delete(&manifest_path(&repo, img.digest())).call();
    r.expect_error(409, "DENIED");
    assert!(
        r.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("last tag"),
        "{r:?}"
    );
    reg.assert_manifest_digest(&repo, "v1", img.digest());
    // An untagged manifest takes no tag with it.
    reg.delete(&manifest_path(&repo, untagged.digest()))
        .call()
        .expect(202);
    assert_eq!(reg.all_tags(&repo), ["v1"]);
}

#[test]
fn a_pattern_license_keeps_the_last_tag_it_matches() {
    let reg = registry();
    let repo = unique_repo("del-pattern-last");
    let img = reg.push_random_image(&repo, "v1.2");
    retag(&img, "edge");
    reg.push_random_image(&repo, "v2.0");
    let cust = new_customer("Pattern");
    licenses::create(&cust.id, &[licenses::pattern(&repo, "v1.*")]);
    for via in [Via::Api, Via::Oci] {
        assert_refused(via, &repo, "v1.2", 400, "UNSUPPORTED", &["pattern"]);
    }
    cust.get_manifest(&repo, img.digest()).expect(200);
    // With a second matching tag either may go.
    retag(&img, "v1.2.0");
    assert_deleted(Via::Oci, &repo, "v1.2");
    cust.get_manifest(&repo, img.digest()).expect(200);
}

#[test]
fn a_digest_shaped_tag_is_not_another_tag() {
    let reg = registry();
    let repo = unique_repo("del-digest-tag");
    let img = reg.push_random_image(&repo, "v1");
    let sig_tag = format!("sha256-{}.sig", img.digest().trim_start_matches("sha256:"));
    retag(&img, &sig_tag);
    reg.push_random_image(&repo, "v2");
    let cust = new_customer("Signed");
    licenses::create(&cust.id, &[licenses::digests(&repo, &[img.digest()])]);
    for via in [Via::Api, Via::Oci] {
        assert_refused(via, &repo, "v1", 400, "UNSUPPORTED", LICENSED_RULE);
    }
    // Nor is it the artifact's last tag: it may always go.
    let lone = unique_repo("del-digest-tag-lone");
    let img = reg.push_random_image(&lone, "v1");
    retag(&img, &sig_tag);
    assert_refused(Via::Oci, &lone, "v1", 409, "DENIED", LAST_TAG_RULE);
    assert_deleted(Via::Oci, &lone, &sig_tag);
}

#[test]
fn an_expired_license_does_not_keep_an_artifact() {
    let reg = registry();
    let repo = unique_repo("del-expired");
    reg.push_random_image(&repo, "v1");
    let other = unique_repo("del-expired-other");
    reg.push_random_image(&other, "v1");
    let cust = new_customer("Lapsed");
    let lapsed = licenses::create_expiring(
        &cust.id,
        &[
            licenses::all_versions(&repo),
            licenses::all_versions(&other),
        ],
        now_unix() - 60,
    );
    send(api("DELETE", &artifact_path(&repo)), None).expect(204);
    reg.get_manifest(&repo, "v1")
        .expect_error_any(404, &["MANIFEST_UNKNOWN", "NAME_UNKNOWN"]);
    // The license keeps its record, without the deleted artifact.
    let kept = send(api("GET", &licenses::license_path(&lapsed)), None);
    kept.expect(200);
    let items = kept.json()["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items[0]["artifact"], other.as_str(), "{items}");
}

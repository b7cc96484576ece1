//! Expiry policies end to end (docs/licensing.md): a license expiring under
//! `keep_released` keeps serving what was pushed before its expiry — manifests
//! and every blob, byte for byte, to a real client — and hides what came after,
//! for every item kind; one under `revoke` grants nothing from its expiry on,
//! whatever the isolate's caches (the suite's server runs with a TTL) read
//! before. And the policy in the licenses API: written, shown, validated, and
//! changed only by those who may manage licenses.

use serde_json::{json, Value};
use tollgate_e2e::accounts::{api, send, vendor_user};
use tollgate_e2e::licenses::{
    self, expect_problem, new_customer, now_unix, sleep_until_after, Customer,
};
use tollgate_e2e::*;

/// How far ahead the licenses expire: time for the reads that warm the caches.
const AHEAD: i64 = 3;

/// Pushes an image of `base` and a layer of its own, tagged `tag`.
fn push_on(reg: &Registry, repo: &str, tag: &str, base: &(Vec<u8>, String)) -> Image {
    let own = targz_layer(&[("srv/version.txt", random_hex(32).as_bytes())]);
    reg.push_image_layers(
        repo,
        tag,
        "amd64",
        &[
            (OCI_LAYER_GZIP, base.0.clone(), base.1.clone()),
            (OCI_LAYER_GZIP, own.0, own.1),
        ],
    )
}

/// The image's blobs: its config and its layers.
fn blobs(img: &Image) -> Vec<&str> {
    std::iter::once(img.config.digest.as_str())
        .chain(img.layers.iter().map(|l| l.digest.as_str()))
        .collect()
}

/// Asserts `c` reads `img`'s manifest (by tag and digest) and every blob.
#[track_caller]
fn assert_readable(c: &Customer, img: &Image, tag: &str) {
    for reference in [tag, img.digest()] {
        let r = c.get_manifest(&img.repo, reference);
        r.expect(200);
        assert_eq!(r.body, img.manifest, "{reference}");
    }
    for d in blobs(img) {
        let r = c.get_blob(&img.repo, d);
        r.expect(200);
        assert_eq!(sha256_digest(&r.body), d);
    }
}

/// Asserts `c` gets `404 MANIFEST_UNKNOWN` for `img` by tag and digest, and
/// `404 BLOB_UNKNOWN` for each of its blobs not in `shared`.
#[track_caller]
fn assert_hidden(c: &Customer, img: &Image, tag: &str, shared: &[&str]) {
    for reference in [tag, img.digest()] {
        c.get_manifest(&img.repo, reference)
            .expect_error(404, "MANIFEST_UNKNOWN");
        c.head_manifest(&img.repo, reference).expect(404);
    }
    for d in blobs(img).into_iter().filter(|d| !shared.contains(d)) {
        c.get_blob(&img.repo, d).expect_error(404, "BLOB_UNKNOWN");
    }
}

/// Whether `repo` is in `c`'s artifact list (`GET /api/v1/artifacts`).
fn lists(c: &Customer, repo: &str) -> bool {
    let r = send(c.api("GET", &format!("/api/v1/artifacts?q={repo}")), None);
    r.expect(200);
    r.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|a| a["name"] == repo)
}

/// `skopeo copy` of `repo:reference` as `c` into an OCI layout under `sb`.
fn skopeo_copy(sb: &Sandbox, c: &Customer, repo: &str, reference: &str) -> Run {
    let layout = sb.path(&format!("layout-{reference}"));
    sb.try_run(
        "skopeo",
        &[
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--src-creds",
            &c.creds(),
            &format!("docker://{}", image_ref(repo, reference)),
            &format!("oci:{}:{reference}", layout.display()),
        ],
    )
}

#[test]
fn keep_released_serves_what_was_pushed_before_expiry_and_nothing_newer() {
    let reg = registry();
    let repo = unique_repo("expiry-policy");
    let base = targz_layer(&[("srv/base.txt", random_hex(64).as_bytes())]);
    let v1 = push_on(reg, &repo, "v1", &base);
    let expires = now_unix() + AHEAD;
    let all = [licenses::all_versions(&repo)];
    let pattern = [licenses::pattern(&repo, "v*")];
    let digest = [licenses::digests(&repo, &[v1.digest()])];
    let mut keeping = Vec::new();
    for (label, items) in [
        ("KeepAll", &all[..]),
        ("KeepPattern", &pattern),
        ("KeepDigest", &digest),
    ] {
        let c = new_customer(label);
        licenses::create_expiring_under(&c.id, items, expires, "keep_released");
        keeping.push(c);
    }
    let revoked = new_customer("Revoked");
    licenses::create_expiring_under(&revoked.id, &all, expires, "revoke");

    // Before the expiry every one reads v1, several times: the caches hold it.
    for c in keeping.iter().chain([&revoked]) {
        for _ in 0..3 {
            assert_readable(c, &v1, "v1");
            assert_eq!(c.all_tags(&repo), ["v1"]);
        }
    }
    assert!(
        now_unix() < expires,
        "the reads before the expiry took too long"
    );

    // At the expiry the revoked customer loses everything at once, cache or not.
    sleep_until_after(expires);
    assert_hidden(&revoked, &v1, "v1", &[]);
    revoked
        .tags_list(&repo, "")
        .expect_error(404, "NAME_UNKNOWN");
    assert!(!revoked.catalog().contains(&repo));
    assert!(!lists(&revoked, &repo));

    // A version pushed after the expiry, sharing v1's base layer.
    let v2 = push_on(reg, &repo, "v2", &base);
    let sb = Sandbox::new("expiry-policy-skopeo");
    for c in &keeping {
        assert_readable(c, &v1, "v1");
        assert_hidden(c, &v2, "v2", &[v1.layers[0].digest.as_str()]);
        assert_eq!(c.all_tags(&repo), ["v1"], "{}", c.id);
        assert!(c.catalog().contains(&repo));
        assert!(lists(c, &repo), "{}", c.id);
    }
    assert_hidden(&revoked, &v2, "v2", &[]);

    // A real client pulls v1 whole, byte for byte, and cannot pull v2.
    let c = &keeping[0];
    let pulled = skopeo_copy(&sb, c, &repo, "v1");
    assert!(pulled.status.success(), "{pulled:?}");
    let layout = OciLayout::open(&sb.path("layout-v1"));
    assert_eq!(layout.index()["manifests"][0]["digest"], v1.digest());
    assert_eq!(
        std::fs::read(layout.blob_path(v1.digest())).unwrap(),
        v1.manifest
    );
    for d in blobs(&v1) {
        assert_eq!(sha256_file(&layout.blob_path(d)).0, d);
    }
    let refused = skopeo_copy(&sb, c, &repo, "v2");
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        refused.stderr.to_lowercase().contains("manifest unknown"),
        "{refused:?}"
    );
    let revoked_pull = skopeo_copy(&sb, &revoked, &repo, "v1");
    assert!(!revoked_pull.status.success(), "{revoked_pull:?}");
}

#[test]
fn the_expiry_policy_is_written_shown_validated_and_managed_as_licenses_are() {
    let reg = registry();
    let repo = unique_repo("expiry-policy-api");
    reg.push_random_image(&repo, "v1");
    let c = new_customer("PolicyApi");
    let items = [licenses::all_versions(&repo)];
    let plain = licenses::create(&c.id, &items);
    assert_eq!(plain["expiry_policy"], "revoke", "the default: {plain}");

    let mut body = licenses::license_body(&c.id, &items);
    body["expiry_policy"] = json!("keep_released");
    let path = licenses::license_path(&plain);
    let put = send(api("PUT", &path), Some(&body));
    put.expect(200);
    assert_eq!(put.json()["expiry_policy"], "keep_released");
    let own = send(c.api("GET", &path), None);
    own.expect(200);
    assert_eq!(
        own.json()["expiry_policy"],
        "keep_released",
        "the customer sees it"
    );

    for bad in [json!("forever"), json!(null), json!(1)] {
        let mut b = body.clone();
        b["expiry_policy"] = bad.clone();
        expect_problem(&licenses::try_create(&b), 400);
        expect_problem(&send(api("PUT", &path), Some(&b)), 400);
    }

    // Only admins and read_write users change it.
    let mut revoke = body.clone();
    revoke["expiry_policy"] = json!("revoke");
    let ro = vendor_user("read_only");
    for (email, token) in [(&ro.email, &ro.token), (&c.user.email, &c.user.token)] {
        let r = send(api("PUT", &path).basic(email, token), Some(&revoke));
        expect_problem(&r, 403);
    }
    let shown: Value = send(api("GET", &path), None).json();
    assert_eq!(shown["expiry_policy"], "keep_released", "unchanged");
    let rw = vendor_user("read_write");
    let r = send(api("PUT", &path).basic(&rw.email, &rw.token), Some(&revoke));
    r.expect(200);
    assert_eq!(r.json()["expiry_policy"], "revoke");
}

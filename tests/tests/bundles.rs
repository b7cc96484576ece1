//! Air-gap bundles (docs/bundles.md): a customer bundles its licensed versions — a
//! two-platform index with a cosign signature and an SBOM, and an image of another
//! artifact — downloads the archive, and imports it with skopeo (`oci-archive:`),
//! regctl and oras (the layout after untar) into other repositories, where every
//! digest is the same and cosign verifies the signature that travelled in the
//! bundle.
//! Downloads are byte-identical and resume from any offset; what the customer may
//! not read is refused whole, and a revoked license stops the download. A
//! customer's download counts its versions as pulls and its bytes against the
//! license, and over a usage cap is refused before anything streams.

use std::fs;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use tollgate_e2e::accounts::*;
use tollgate_e2e::licenses::{self, *};
use tollgate_e2e::*;

const COSIGN_PASSWORD: &str = "e2e-cosign-password";
const SBOM_TYPE: &str = "application/spdx+json";

/// `app`: index `1.0` over two platforms, signed with cosign (the key in `sb`)
/// and with an SBOM referrer; an unlicensed `0.9`. `tool`: image `2.0`.
struct Content {
    app: String,
    index: Desc,
    platforms: Vec<Image>,
    sbom: Desc,
    unlicensed: Image,
    tool: String,
    tool_image: Image,
}

fn content(sb: &Sandbox) -> Content {
    let reg = registry();
    let app = mutable_repo("bundle-app");
    let platforms = vec![
        reg.push_random_image(&app, "amd64-build"),
        reg.push_random_image(&app, "arm64-build"),
    ];
    let index = push_index(
        &app,
        "1.0",
        &[(&platforms[0], "amd64"), (&platforms[1], "arm64")],
    );
    cosign_sign(sb, &image_ref(&app, &index.digest));
    let (sbom, _) = push_referrer(&app, &index, SBOM_TYPE, br#"{"spdxVersion":"SPDX-2.3"}"#);
    let unlicensed = reg.push_random_image(&app, "0.9");
    let tool = mutable_repo("bundle-tool");
    let tool_image = reg.push_random_image(&tool, "2.0");
    Content {
        app,
        index,
        platforms,
        sbom,
        unlicensed,
        tool,
        tool_image,
    }
}

fn create(as_user: &Account, body: &Value) -> Resp {
    send(
        api("POST", "/api/v1/bundles").basic(&as_user.email, &as_user.token),
        Some(body),
    )
}

fn download(as_user: &Account, path: &str, range: Option<&str>) -> Resp {
    let mut req = api("GET", path).basic(&as_user.email, &as_user.token);
    if let Some(range) = range {
        req = req.header("Range", range);
    }
    let resp = req.call();
    tollgate_e2e::openapi::check(&resp);
    resp
}

fn referrer_digests(repo: &str, digest: &str) -> Vec<String> {
    let r = registry().get(&referrers_path(repo, digest)).call();
    r.expect(200);
    let mut out: Vec<String> = r.json()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// The customer's download events, once `count` are there and a little longer
/// (so that one too many would show).
fn bundle_events(customer_id: &str, count: usize) -> Vec<Value> {
    let start = Instant::now();
    let path = format!("/api/v1/downloads?customer_id={customer_id}&limit=200");
    loop {
        let items = send(api("GET", &path), None).json()["items"]
            .as_array()
            .unwrap()
            .clone();
        if items.len() >= count && start.elapsed() > Duration::from_secs(3) {
            return items;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} of {count} download events arrived: {items:?}",
            items.len()
        );
        sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_customer_bundles_its_licensed_versions_and_two_clients_import_them() {
    let signer = cosign_keys("bundles-cosign", COSIGN_PASSWORD);
    let c = content(&signer);
    let customer = new_customer("bundles");
    let license = licenses::create(
        &customer.id,
        &[pattern(&c.app, "1.*"), tags(&c.tool, &["2.0"])],
    );
    let user = &customer.user;

    // Anything unlicensed in the selection refuses it whole, as "not found".
    for items in [
        json!([{"artifact": c.app, "tags": ["1.0", "0.9"]}]),
        json!([{"artifact": c.app, "digests": [c.unlicensed.digest()]}]),
        json!([{"artifact": c.app, "tags": ["nope"]}]),
        json!([{"artifact": "e2e/none-such", "tags": ["1.0"]}]),
    ] {
        let r = create(user, &json!({ "items": items }));
        expect_problem(&r, 404);
    }
    let other = new_customer("bundles-other");
    let r = create(user, &json!({"customer_id": other.id, "all": true}));
    expect_problem(&r, 404);

    let r = create(
        user,
        &json!({"items": [
            {"artifact": c.app, "tags": ["1.0"]},
            {"artifact": c.tool, "tags": ["2.0"]},
        ]}),
    );
    r.expect(201);
    let bundle = r.json();
    let path = bundle["download"].as_str().unwrap().to_string();
    let size = bundle["size"].as_u64().unwrap();
    let app_ref = format!("{}:1.0", c.app);
    let tool_ref = format!("{}:2.0", c.tool);
    let names: Vec<&str> = bundle["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["ref_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [app_ref.as_str(), tool_ref.as_str()]);

    // Two downloads are byte-identical; a resumed one is the same span.
    let whole = download(user, &path, None);
    whole.expect(200);
    assert_eq!(whole.body.len() as u64, size);
    assert_eq!(
        whole.header("Content-Length"),
        Some(size.to_string().as_str())
    );
    let again = download(user, &path, None);
    assert!(again.body == whole.body, "two downloads differ");
    let middle = size / 2 + 123;
    let resumed = download(user, &path, Some(&format!("bytes={middle}-")));
    resumed.expect(206);
    let content_range = format!("bytes {middle}-{}/{size}", size - 1);
    assert_eq!(
        resumed.header("Content-Range"),
        Some(content_range.as_str())
    );
    assert!(
        resumed.body == whole.body[middle as usize..],
        "resumed bytes differ"
    );
    let head = api("HEAD", &path).basic(&user.email, &user.token).call();
    head.expect(200);
    assert_eq!(
        head.header("Content-Length"),
        Some(size.to_string().as_str())
    );

    // Another customer, anonymous callers: nothing.
    expect_problem(&download(&other.user, &path, None), 404);
    api("GET", &path).no_auth().call().expect(401);

    let sb = regctl_logged_in("bundles-import");
    let file = sb.work().join("bundle.tar");
    fs::write(&file, &whole.body).unwrap();
    let listing = Command::new("tar").arg("-tf").arg(&file).output().unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    for d in [
        &c.index.digest,
        &c.sbom.digest,
        c.platforms[1].digest(),
        &c.platforms[0].layers[0].digest,
    ] {
        let hex = d.trim_start_matches("sha256:");
        assert!(
            listing.contains(&format!("blobs/sha256/{hex}")),
            "{d} missing:\n{listing}"
        );
    }
    assert!(!listing.contains(c.unlicensed.digest().trim_start_matches("sha256:")));

    // skopeo: the index with every platform, and the other artifact, by ref name.
    let reg = registry();
    let by_skopeo = unique_repo("bundle-skopeo");
    for (name, tag) in [(&app_ref, "1.0"), (&tool_ref, "2.0")] {
        let src = format!("oci-archive:{}:{name}", file.display());
        sb.skopeo_copy_to(&src, reg, &format!("{by_skopeo}:{tag}"));
    }
    assert_eq!(
        manifest_tree(&by_skopeo, "1.0"),
        manifest_tree(&c.app, "1.0")
    );
    assert_eq!(
        manifest_tree(&by_skopeo, "2.0"),
        manifest_tree(&c.tool, "2.0")
    );
    assert_eq!(manifest_tree(&by_skopeo, "2.0")[0], c.tool_image.digest());

    // regctl: the untarred layout's index and platforms, picked by digest.
    let dir = sb.work().join("layout");
    untar(&file, &dir);
    let by_regctl = unique_repo("bundle-regctl");
    let src = format!("ocidir://{}@{}", dir.display(), c.index.digest);
    let dest = format!("{}/{by_regctl}:1.0", reg.host);
    sb.run("regctl", &["image", "copy", &src, &dest]);
    assert_eq!(
        manifest_tree(&by_regctl, "1.0"),
        manifest_tree(&c.app, "1.0")
    );

    // oras: the same with its referrers (listed unnamed in index.json).
    sb.oras_login();
    let by_oras = unique_repo("bundle-oras");
    let src = format!("{}@{}", dir.display(), c.index.digest);
    let dest = format!("{}/{by_oras}:1.0", reg.host);
    sb.run(
        "oras",
        &[
            "cp",
            "-r",
            "--from-oci-layout",
            "--to-plain-http",
            &src,
            &dest,
        ],
    );
    assert_eq!(manifest_tree(&by_oras, "1.0"), manifest_tree(&c.app, "1.0"));
    let referrers = referrer_digests(&c.app, &c.index.digest);
    assert_eq!(referrers.len(), 2, "the signature and the SBOM");
    assert!(referrers.contains(&c.sbom.digest));
    assert_eq!(referrer_digests(&by_oras, &c.index.digest), referrers);

    // cosign verifies the signature that travelled in the bundle.
    let mut args = vec![
        "verify",
        "--key",
        "cosign.pub",
        "--insecure-ignore-tlog=true",
    ];
    args.extend(COSIGN_REGISTRY_FLAGS);
    let target = image_ref(&by_oras, &c.index.digest);
    args.push(&target);
    let run = signer.try_run("cosign", &args);
    assert!(run.status.success(), "{run:?}");

    // Each whole download counted each version once, marked with the bundle;
    // the resume and the HEAD did not count.
    let events = bundle_events(&customer.id, 4);
    let id = bundle["id"].as_str().unwrap();
    let mut seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            assert_eq!(e["bundle_id"].as_str(), Some(id), "{e}");
            (
                e["repo"].as_str().unwrap(),
                e["reference"].as_str().unwrap(),
            )
        })
        .collect();
    seen.sort();
    let mut expected = [(c.app.as_str(), "1.0"), (c.tool.as_str(), "2.0")].repeat(2);
    expected.sort();
    assert_eq!(seen, expected);

    // A revoked license stops the download.
    licenses::delete(&license);
    let gone = download(user, &path, None);
    expect_problem(&gone, 404);
}

#[test]
fn vendor_users_bundle_for_a_named_customer_and_customers_only_for_themselves() {
    let reg = registry();
    let repo = mutable_repo("bundle-roles");
    reg.push_random_image(&repo, "1.0");
    let customer = new_customer("bundle-roles");
    licenses::create(&customer.id, &[all_versions(&repo)]);
    let items = json!([{"artifact": repo, "tags": ["1.0"]}]);
    for role in ["admin", "read_write", "read_only"] {
        let vendor = vendor_user(role);
        let r = create(
            &vendor,
            &json!({"customer_id": customer.id, "items": items}),
        );
        r.expect(201);
        assert_eq!(r.json()["customer_id"], customer.id.as_str());
        let path = r.json()["download"].as_str().unwrap().to_string();
        download(&vendor, &path, None).expect(200);
        download(&customer.user, &path, None).expect(200);
        let unnamed = create(&vendor, &json!({ "items": items }));
        expect_problem(&unnamed, 400);
    }
    // A customer without a license for it, or for anything, gets nothing.
    let stranger = new_customer("bundle-stranger");
    expect_problem(&create(&stranger.user, &json!({ "items": items })), 404);
    expect_problem(&create(&stranger.user, &json!({"all": true})), 404);
    let admin = vendor_user("admin");
    let for_stranger = json!({"customer_id": stranger.id, "items": items});
    expect_problem(&create(&admin, &for_stranger), 404);
    // Malformed selections.
    for bad in [
        json!({"all": true, "items": items}),
        json!({"items": []}),
        json!({"items": items, "extra": 1}),
    ] {
        expect_problem(&create(&customer.user, &bad), 400);
    }
    expect_problem(&download(&customer.user, "/api/v1/bundles/nope", None), 404);
}

/// This month's usage of `license` once its pulls reach `pulls` (counting lags by
/// the queue's delivery: docs/licensing.md), a little later so one too many shows.
fn usage_at(license: &Value, pulls: u64) -> Value {
    let start = Instant::now();
    let path = licenses::license_path(license);
    loop {
        let usage = send(api("GET", &path), None).json()["usage"].clone();
        if usage["pulls"].as_u64() >= Some(pulls) && start.elapsed() > Duration::from_secs(3) {
            return usage;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "usage {usage} short of {pulls} pulls"
        );
        sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_bundle_counts_against_its_license_and_over_a_cap_is_refused_before_it_streams() {
    let reg = registry();
    let repo = mutable_repo("bundle-caps");
    reg.push_random_image(&repo, "1.0");
    reg.push_random_image(&repo, "2.0");
    let customer = new_customer("bundle-caps");
    let mut body = licenses::license_body(&customer.id, &[all_versions(&repo)]);
    body["max_pulls_per_month"] = json!(2);
    let license = licenses::create_from(&body);
    let items = json!([{"artifact": repo, "tags": ["1.0", "2.0"]}]);
    let r = create(&customer.user, &json!({ "items": items }));
    r.expect(201);
    let path = r.json()["download"].as_str().unwrap().to_string();
    let size = r.json()["size"].as_u64().unwrap();
    let admin = vendor_user("admin");

    // Vendor staff's downloads count nowhere; the customer's counts each version
    // as a pull and its bytes, a resume its bytes only.
    download(&admin, &path, None).expect(200);
    download(&customer.user, &path, None).expect(200);
    download(&customer.user, &path, Some("bytes=100-")).expect(206);
    let usage = usage_at(&license, 2);
    assert_eq!(usage["pulls"], 2, "{usage}");
    assert_eq!(usage["bytes"], size + size - 100, "{usage}");

    // Now over its cap of 2 pulls: refused with the registry's 429 (as a problem),
    // before a byte of the archive is sent; once the isolate's cache of the grant
    // has lapsed.
    let start = Instant::now();
    let refused = loop {
        let r = download(&customer.user, &path, None);
        if r.status == 429 {
            break r;
        }
        r.expect(200);
        assert!(start.elapsed() < Duration::from_secs(20), "never refused");
        sleep(Duration::from_millis(500));
    };
    let detail = expect_problem(&refused, 429);
    assert!(detail.contains("2 pulls per month"), "{detail}");
    let retry: u64 = refused.must_header("Retry-After").parse().unwrap();
    assert!(retry > 0 && retry <= 31 * 86_400, "Retry-After {retry}");
    assert_ne!(refused.header("Content-Type"), Some("application/x-tar"));
    expect_problem(&download(&customer.user, &path, Some("bytes=100-")), 429);
    // Planning is not downloading; vendor staff are never capped.
    create(&customer.user, &json!({ "items": items })).expect(201);
    download(&admin, &path, None).expect(200);
}

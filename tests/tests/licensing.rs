//! Licensing end to end: what a customer user may pull, with real clients (skopeo,
//! podman, oras, cosign, helm) and hand-made requests; that everything else answers
//! exactly like something that does not exist; patterns, semver ranges, image
//! indexes, referrers and expiry; filtered `tags/list`, `_catalog`, artifact list and
//! `/token`; and the licenses management API.

use std::fs;
use std::time::Duration;

use tollgate_e2e::accounts::*;
use tollgate_e2e::licenses::{self, *};
use tollgate_e2e::*;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// `podman` with the sandbox's own storage (vfs, as root), asserting it exits 0.
fn podman(sb: &Sandbox, args: &[&str]) -> Run {
    sb.run_cmd(sb.containers_cmd("podman").args(args), None)
}

/// `podman` with the sandbox's own storage, exit status unjudged.
fn try_podman(sb: &Sandbox, args: &[&str]) -> Run {
    let mut c = sb.containers_cmd("podman");
    c.args(args);
    run_command(&mut c, None, sb.timeout)
}

/// The content of `path` inside `image`, read through a podman image mount.
fn read_from_image(sb: &Sandbox, image: &str, path: &str) -> String {
    let mnt = podman(sb, &["image", "mount", image])
        .stdout
        .trim()
        .to_string();
    let content = fs::read_to_string(std::path::Path::new(&mnt).join(path)).unwrap();
    podman(sb, &["image", "unmount", image]);
    content
}

/// A client run that must have failed because the thing was not found (not for another
/// reason such as a refused login).
#[track_caller]
fn assert_not_found(run: &Run) {
    assert!(!run.status.success(), "the pull must fail:\n{run:?}");
    let err = run.stderr.to_lowercase();
    assert!(
        err.contains("manifest unknown")
            || err.contains("not found")
            || err.contains("name unknown")
            || err.contains("404"),
        "expected a not-found error:\n{run:?}"
    );
}

/// Asserts the manifest at `reference` of `repo` is hidden from `c`: GET and HEAD answer
/// like the same request for a tag (or digest) that does not exist in that repository.
#[track_caller]
fn assert_manifest_hidden(c: &Customer, repo: &str, reference: &str) {
    let missing = if reference.contains(':') {
        unknown_digest()
    } else {
        format!("never-{}", random_hex(6))
    };
    assert_like_missing(
        &c.get_manifest(repo, reference),
        &c.get_manifest(repo, &missing),
        &["MANIFEST_UNKNOWN"],
        &[(reference, &missing)],
    );
    assert_like_missing(
        &c.head_manifest(repo, reference),
        &c.head_manifest(repo, &missing),
        &["MANIFEST_UNKNOWN"],
        &[(reference, &missing)],
    );
}

/// Asserts the blob `digest` of `repo` is hidden from `c` (GET and HEAD, like a missing
/// blob).
#[track_caller]
fn assert_blob_hidden(c: &Customer, repo: &str, digest: &str) {
    let missing = unknown_digest();
    for method in ["GET", "HEAD"] {
        assert_like_missing(
            &c.req(method, &blob_path(repo, digest)).call(),
            &c.req(method, &blob_path(repo, &missing)).call(),
            &["BLOB_UNKNOWN"],
            &[(digest, &missing)],
        );
    }
}

/// Asserts `c` reads the manifest at `reference` and it is `digest`.
#[track_caller]
fn assert_manifest_readable(c: &Customer, repo: &str, reference: &str, digest: &str) -> Resp {
    let r = c.get_manifest(repo, reference);
    r.expect(200);
    assert_eq!(r.must_header("Docker-Content-Digest"), digest, "{r:?}");
    let h = c.head_manifest(repo, reference);
    h.expect(200);
    assert_eq!(h.must_header("Docker-Content-Digest"), digest, "{h:?}");
    r
}

/// Asserts `c` reads the blob `digest` of `repo`, whole and correct.
#[track_caller]
fn assert_blob_readable(c: &Customer, repo: &str, digest: &str) {
    let r = c.get_blob(repo, digest);
    r.expect(200);
    assert_eq!(sha256_digest(&r.body), digest, "blob bytes");
}

/// Asserts every blob of `img` is readable by `c`.
#[track_caller]
fn assert_image_readable(c: &Customer, img: &Image) {
    assert_manifest_readable(c, &img.repo, img.digest(), img.digest());
    assert_blob_readable(c, &img.repo, &img.config.digest);
    for l in &img.layers {
        assert_blob_readable(c, &img.repo, &l.digest);
    }
}

/// Asserts `img` (its manifest by digest and its blobs) is hidden from `c`.
#[track_caller]
fn assert_image_hidden(c: &Customer, img: &Image) {
    assert_manifest_hidden(c, &img.repo, img.digest());
    assert_blob_hidden(c, &img.repo, &img.config.digest);
    for l in &img.layers {
        assert_blob_hidden(c, &img.repo, &l.digest);
    }
}

/// Asserts that `repo` is hidden from `c` as a whole: its tags list, a tag and its
/// blobs answer like those of a repository that never existed.
#[track_caller]
fn assert_repo_hidden(c: &Customer, repo: &str, tag: &str, img: &Image) {
    let nowhere = unique_repo("never-pushed");
    assert_like_missing(
        &c.tags_list(repo, ""),
        &c.tags_list(&nowhere, ""),
        &["NAME_UNKNOWN"],
        &[(repo, &nowhere)],
    );
    assert_like_missing(
        &c.get_manifest(repo, tag),
        &c.get_manifest(&nowhere, tag),
        &["MANIFEST_UNKNOWN", "NAME_UNKNOWN"],
        &[(repo, &nowhere)],
    );
    assert_like_missing(
        &c.get_manifest(repo, img.digest()),
        &c.get_manifest(&nowhere, img.digest()),
        &["MANIFEST_UNKNOWN", "NAME_UNKNOWN"],
        &[(repo, &nowhere)],
    );
    assert_like_missing(
        &c.get_blob(repo, &img.layers[0].digest),
        &c.get_blob(&nowhere, &img.layers[0].digest),
        &["BLOB_UNKNOWN", "NAME_UNKNOWN"],
        &[(repo, &nowhere)],
    );
}

/// The artifact names `GET /api/v1/artifacts` shows the customer, sorted.
fn artifact_names(c: &Customer) -> Vec<String> {
    let mut names: Vec<String> = all_artifacts(Some(&c.user))
        .iter()
        .map(|a| a["name"].as_str().expect("name").to_string())
        .collect();
    names.sort();
    names
}

/// The `repository` entries of a JWT's `access` claim that grant something, as
/// (name, actions), sorted.
fn granted(jwt: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = claims(jwt)["access"]
        .as_array()
        .expect("access array")
        .iter()
        .filter(|a| a["type"] == "repository")
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                licenses::string_list(&a["actions"]),
            )
        })
        .filter(|(_, actions)| !actions.is_empty())
        .collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------
// Real clients pull what is licensed
// ---------------------------------------------------------------------------------------

#[test]
fn skopeo_and_podman_pull_a_licensed_tag() {
    let reg = registry();
    let repo = unique_repo("lic-pull");
    let content = format!("licensed {}\n", random_hex(32));
    let img = reg.push_image_files(
        &repo,
        "v1",
        "amd64",
        &[("srv/licensed.txt", content.as_bytes())],
    );
    reg.push_image_files(&repo, "v2", "amd64", &[("srv/other.txt", b"unlicensed")]);
    let cust = new_customer("Pull");
    licenses::create(&cust.id, &[licenses::tags(&repo, &["v1"])]);
    let src = format!("docker://{}", image_ref(&repo, "v1"));

    // skopeo into an OCI layout and into a dir: the manifest and layer as pushed.
    let sb = Sandbox::new("lic-skopeo");
    let layout = sb.path("layout");
    sb.run(
        "skopeo",
        &[
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--src-creds",
            &cust.creds(),
            &src,
            &format!("oci:{}:v1", layout.display()),
        ],
    );
    let out = OciLayout::open(&layout);
    let entry = out.index()["manifests"][0].clone();
    assert_eq!(entry["digest"], img.digest(), "{entry}");
    let pulled = out.read_json(img.digest());
    assert_eq!(pulled["layers"][0]["digest"], img.layers[0].digest.as_str());
    let (d, _) = sha256_file(&out.blob_path(&img.layers[0].digest));
    assert_eq!(d, img.layers[0].digest);

    let dir = sb.path("dir");
    sb.run(
        "skopeo",
        &[
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            &cust.creds(),
            &src,
            &format!("dir:{}", dir.display()),
        ],
    );
    let manifest = fs::read(dir.join("manifest.json")).unwrap();
    assert_eq!(sha256_digest(&manifest), img.digest());
    let layer_hex = img.layers[0].digest.trim_start_matches("sha256:");
    let (d, _) = sha256_file(&dir.join(layer_hex));
    assert_eq!(d, img.layers[0].digest);

    // podman, as root with vfs storage, with the customer's token.
    let sb = Sandbox::new("lic-podman");
    let target = image_ref(&repo, "v1");
    podman(
        &sb,
        &[
            "pull",
            "--tls-verify=false",
            "--creds",
            &cust.creds(),
            &target,
        ],
    );
    let v = podman(&sb, &["image", "inspect", &target]).json();
    assert_eq!(v[0]["Digest"], img.digest());
    assert_eq!(read_from_image(&sb, &target, "srv/licensed.txt"), content);
}

#[test]
fn unlicensed_tag_digest_and_blob_answer_like_missing_ones() {
    let reg = registry();
    let repo = unique_repo("lic-hidden");
    let mine = reg.push_random_image(&repo, "v1");
    let theirs = reg.push_random_image(&repo, "v2");
    let other_repo = unique_repo("lic-hidden-other");
    let elsewhere = reg.push_random_image(&other_repo, "v1");
    let me = new_customer("Me");
    let them = new_customer("Them");
    licenses::create(&me.id, &[licenses::digests(&repo, &[mine.digest()])]);
    licenses::create(
        &them.id,
        &[
            licenses::digests(&repo, &[theirs.digest()]),
            licenses::all_versions(&other_repo),
        ],
    );

    // What each holds a license for, each reads.
    assert_manifest_readable(&me, &repo, "v1", mine.digest());
    assert_image_readable(&me, &mine);
    assert_manifest_readable(&them, &repo, "v2", theirs.digest());
    assert_image_readable(&them, &theirs);
    assert_manifest_readable(&them, &other_repo, "v1", elsewhere.digest());

    // The other customer's tag, its digest (guessed), its blobs and its referrers: as
    // if they did not exist.
    assert_manifest_hidden(&me, &repo, "v2");
    assert_image_hidden(&me, &theirs);
    // The referrers API answers 200 for any digest (OCI v1.1); for one the
    // customer may not read, with the empty index a never-pushed digest gets.
    let never_pushed = format!("sha256:{}", "0".repeat(64));
    for digest in [theirs.digest(), never_pushed.as_str()] {
        let resp = me.req("GET", &referrers_path(&repo, digest)).call();
        resp.expect(200);
        assert_eq!(resp.json()["manifests"], serde_json::json!([]), "{digest}");
    }
    me.req("GET", &referrers_path(&repo, mine.digest()))
        .call()
        .expect(200);
    assert_eq!(me.all_tags(&repo), ["v1"]);

    // An artifact the customer holds no license for at all: like one never pushed.
    assert_repo_hidden(&me, &other_repo, "v1", &elsewhere);

    // Real clients fail the same way.
    let sb = Sandbox::new("lic-hidden-skopeo");
    for reference in [
        image_ref(&repo, "v2"),
        image_ref(&repo, theirs.digest()),
        image_ref(&other_repo, "v1"),
    ] {
        let run = sb.try_run(
            "skopeo",
            &[
                "inspect",
                "--tls-verify=false",
                "--creds",
                &me.creds(),
                &format!("docker://{reference}"),
            ],
        );
        assert_not_found(&run);
    }
    let run = sb.run(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--creds",
            &me.creds(),
            &format!("docker://{}", image_ref(&repo, "v1")),
        ],
    );
    assert_eq!(run.json()["Digest"], mine.digest());
    let sb = Sandbox::new("lic-hid-pm");
    for reference in [image_ref(&repo, "v2"), image_ref(&other_repo, "v1")] {
        let run = try_podman(
            &sb,
            &[
                "pull",
                "--tls-verify=false",
                "--creds",
                &me.creds(),
                &reference,
            ],
        );
        assert_not_found(&run);
    }
}

#[test]
fn a_license_on_an_index_covers_its_platform_images() {
    let reg = registry();
    let repo = unique_repo("lic-index");
    let (amd_text, arm_text) = (
        format!("amd64 {}\n", random_hex(12)),
        format!("arm64 {}\n", random_hex(12)),
    );
    let amd = reg.push_image_files(&repo, "", "amd64", &[("platform.txt", amd_text.as_bytes())]);
    let arm = reg.push_image_files(&repo, "", "arm64", &[("platform.txt", arm_text.as_bytes())]);
    let index = push_index(&repo, "multi", &[(&amd, "amd64"), (&arm, "arm64")]);
    // Another index in the same repository that nobody licensed.
    let amd2 = reg.push_image_files(&repo, "", "amd64", &[("platform.txt", b"other amd64")]);
    let arm2 = reg.push_image_files(&repo, "", "arm64", &[("platform.txt", b"other arm64")]);
    let other = push_index(&repo, "other", &[(&amd2, "amd64"), (&arm2, "arm64")]);

    let by_digest = new_customer("IndexDigest");
    licenses::create(&by_digest.id, &[licenses::digests(&repo, &[&index.digest])]);
    let by_tag = new_customer("IndexTag");
    let lic = licenses::create(&by_tag.id, &[licenses::tags(&repo, &["multi"])]);
    assert_eq!(
        lic["items"],
        json!([{"artifact": repo, "digests": [index.digest]}]),
        "a tags item is stored as the digests the tags point at"
    );

    for c in [&by_digest, &by_tag] {
        assert_manifest_readable(c, &repo, "multi", &index.digest);
        assert_manifest_readable(c, &repo, &index.digest, &index.digest);
        for child in [&amd, &arm] {
            let r = assert_manifest_readable(c, &repo, child.digest(), child.digest());
            assert_eq!(r.body, child.manifest);
            assert_image_readable(c, child);
        }
        assert_manifest_hidden(c, &repo, "other");
        assert_manifest_hidden(c, &repo, &other.digest);
        for child in [&amd2, &arm2] {
            assert_image_hidden(c, child);
        }
        assert_eq!(c.all_tags(&repo), ["multi"]);
    }

    // podman picks the platform image out of the licensed index.
    let target = image_ref(&repo, "multi");
    let sb = Sandbox::new("lic-index-arm");
    podman(
        &sb,
        &[
            "pull",
            "--platform",
            "linux/arm64",
            "--tls-verify=false",
            "--creds",
            &by_digest.creds(),
            &target,
        ],
    );
    let v = podman(&sb, &["image", "inspect", &target]).json();
    assert_eq!(v[0]["Architecture"], "arm64");
    assert_eq!(read_from_image(&sb, &target, "platform.txt"), arm_text);

    let sb = Sandbox::new("lic-index-amd");
    podman(
        &sb,
        &[
            "pull",
            "--arch",
            "amd64",
            "--tls-verify=false",
            "--creds",
            &by_tag.creds(),
            &target,
        ],
    );
    let v = podman(&sb, &["image", "inspect", &target]).json();
    assert_eq!(v[0]["Architecture"], "amd64");
    assert_eq!(read_from_image(&sb, &target, "platform.txt"), amd_text);

    let run = try_podman(
        &sb,
        &[
            "pull",
            "--arch",
            "amd64",
            "--tls-verify=false",
            "--creds",
            &by_tag.creds(),
            &image_ref(&repo, "other"),
        ],
    );
    assert_not_found(&run);
}

// ---------------------------------------------------------------------------------------
// Referrers: SBOMs with oras, signatures with cosign
// ---------------------------------------------------------------------------------------

const COSIGN_PASSWORD: &str = "e2e-cosign-password";

fn cosign_env(sb: &mut Sandbox) {
    sb.env("COSIGN_PASSWORD", COSIGN_PASSWORD);
    // Never reach for Sigstore's public services.
    sb.env("TUF_ROOT", sb.path("home/.sigstore/root"));
}

/// Digests and artifact types in `oras discover --format json` output.
fn discovered(v: &Value) -> Vec<(String, String)> {
    let list = v
        .get("referrers")
        .or_else(|| v.get("manifests"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    list.iter()
        .map(|m| {
            (
                m["digest"].as_str().unwrap_or_default().to_string(),
                m["artifactType"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn oras_and_cosign_read_the_referrers_of_a_licensed_image() {
    let reg = registry();
    let repo = unique_repo("lic-refs");
    let img = reg.push_random_image(&repo, "v1");
    let hidden = reg.push_random_image(&repo, "v2");

    // The vendor attaches an SBOM to each image with oras...
    let vendor = Sandbox::new("lic-refs-vendor");
    vendor.oras_login();
    let attach = |tag: &str, sbom: &str| -> String {
        fs::write(vendor.work().join("sbom.spdx.json"), sbom).unwrap();
        vendor.run(
            "oras",
            &[
                "attach",
                "--plain-http",
                "--artifact-type",
                "application/spdx+json",
                "--export-manifest",
                "exported.json",
                &image_ref(&repo, tag),
                "sbom.spdx.json:application/spdx+json",
            ],
        );
        sha256_digest(&fs::read(vendor.work().join("exported.json")).unwrap())
    };
    let sbom = format!(
        "{{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"{}\"}}",
        random_hex(8)
    );
    let sbom_digest = attach("v1", &sbom);
    let hidden_sbom_digest = attach("v2", "{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"hidden\"}");

    // ...and signs both with cosign.
    let mut signer = Sandbox::new("lic-refs-signer");
    signer.write_registry_auth();
    cosign_env(&mut signer);
    signer.run("cosign", &["generate-key-pair"]);
    for digest in [img.digest(), hidden.digest()] {
        cosign_sign(&signer, &image_ref(&repo, digest));
    }

    let cust = new_customer("Referrers");
    licenses::create(&cust.id, &[licenses::tags(&repo, &["v1"])]);

    // The customer discovers and pulls the SBOM of the licensed image.
    let sb = Sandbox::new("lic-refs-oras");
    sb.run_with_stdin(
        "oras",
        &[
            "login",
            "--plain-http",
            "-u",
            &cust.user.email,
            "--password-stdin",
            &reg.host,
        ],
        cust.user.token.as_bytes(),
    );
    let run = sb.run(
        "oras",
        &[
            "discover",
            "--plain-http",
            "--format",
            "json",
            &image_ref(&repo, "v1"),
        ],
    );
    let found = discovered(&run.json());
    assert!(
        found.contains(&(sbom_digest.clone(), "application/spdx+json".to_string())),
        "the SBOM must be discovered:\n{run:?}"
    );
    assert!(
        !found.iter().any(|(d, _)| d == &hidden_sbom_digest),
        "{run:?}"
    );
    let out = sb.path("sbom-out");
    sb.run(
        "oras",
        &[
            "pull",
            "--plain-http",
            "-o",
            &out.display().to_string(),
            &image_ref(&repo, &sbom_digest),
        ],
    );
    assert_eq!(
        fs::read_to_string(out.join("sbom.spdx.json")).unwrap(),
        sbom
    );

    // Nothing of the unlicensed image: not its referrers, not its SBOM.
    let run = sb.try_run(
        "oras",
        &[
            "discover",
            "--plain-http",
            "--format",
            "json",
            &image_ref(&repo, "v2"),
        ],
    );
    assert!(!run.status.success(), "{run:?}");
    let run = sb.try_run(
        "oras",
        &[
            "pull",
            "--plain-http",
            "-o",
            &sb.path("hidden-out").display().to_string(),
            &image_ref(&repo, &hidden_sbom_digest),
        ],
    );
    assert_not_found(&run);
    assert_manifest_hidden(&cust, &repo, &hidden_sbom_digest);

    // cosign verifies the vendor's signature with the customer's token.
    let mut verifier = cust.sandbox("lic-refs-cosign");
    cosign_env(&mut verifier);
    fs::copy(
        signer.work().join("cosign.pub"),
        verifier.work().join("cosign.pub"),
    )
    .unwrap();
    let verify = |digest: &str| {
        let target = image_ref(&repo, digest);
        let mut args = vec![
            "verify",
            "--key",
            "cosign.pub",
            "--insecure-ignore-tlog=true",
        ];
        args.extend(COSIGN_REGISTRY_FLAGS);
        args.push(&target);
        verifier.try_run("cosign", &args)
    };
    let run = verify(img.digest());
    assert!(
        run.status.success(),
        "the customer must verify the signature:\n{run:?}"
    );
    assert!(run.stdout.contains(img.digest()), "{run:?}");
    let run = verify(hidden.digest());
    assert!(
        !run.status.success(),
        "an unlicensed image must not verify for the customer:\n{run:?}"
    );
}

// ---------------------------------------------------------------------------------------
// helm
// ---------------------------------------------------------------------------------------

fn write_chart(dir: &std::path::Path, name: &str, version: &str) {
    fs::create_dir_all(dir.join("templates")).unwrap();
    fs::write(
        dir.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\ndescription: licensed chart\ntype: application\nversion: {version}\n"),
    )
    .unwrap();
    fs::write(dir.join("values.yaml"), format!("version: {version}\n")).unwrap();
    fs::write(
        dir.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  v: {{ .Values.version | quote }}\n",
    )
    .unwrap();
}

#[test]
fn helm_pulls_only_licensed_chart_versions() {
    let reg = registry();
    let ns = unique_repo("lic-helm");
    let chart = format!("chart-{}", random_hex(6));
    let repo = format!("{ns}/{chart}");

    let vendor = Sandbox::new("lic-helm-vendor");
    vendor.run_with_stdin(
        "helm",
        &[
            "registry",
            "login",
            &reg.host,
            "--plain-http",
            "--username",
            &reg.user,
            "--password-stdin",
        ],
        format!("{}\n", reg.password).as_bytes(),
    );
    let mut packages = Vec::new();
    for version in ["0.1.0", "0.2.0"] {
        let src = vendor.path(&format!("src-{version}/{chart}"));
        write_chart(&src, &chart, version);
        let pkgdir = vendor.path("pkg");
        vendor.run(
            "helm",
            &[
                "package",
                &src.display().to_string(),
                "-d",
                &pkgdir.display().to_string(),
            ],
        );
        let tgz = pkgdir.join(format!("{chart}-{version}.tgz"));
        vendor.run(
            "helm",
            &[
                "push",
                &tgz.display().to_string(),
                &format!("oci://{}/{ns}", reg.host),
                "--plain-http",
            ],
        );
        packages.push(fs::read(&tgz).unwrap());
    }

    let cust = new_customer("Helm");
    licenses::create(&cust.id, &[licenses::tags(&repo, &["0.1.0"])]);

    let sb = Sandbox::new("lic-helm-customer");
    sb.run_with_stdin(
        "helm",
        &[
            "registry",
            "login",
            &reg.host,
            "--plain-http",
            "--username",
            &cust.user.email,
            "--password-stdin",
        ],
        format!("{}\n", cust.user.token).as_bytes(),
    );
    let chart_ref = format!("oci://{}/{repo}", reg.host);
    let pull = |version: Option<&str>, dir: &str| {
        let d = sb.path(dir);
        fs::create_dir_all(&d).unwrap();
        let d = d.display().to_string();
        let mut args = vec!["pull", chart_ref.as_str(), "--plain-http", "-d", d.as_str()];
        if let Some(v) = version {
            args.extend(["--version", v]);
        }
        sb.try_run("helm", &args)
    };

    let run = pull(Some("0.1.0"), "licensed");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        fs::read(sb.path(&format!("licensed/{chart}-0.1.0.tgz"))).unwrap(),
        packages[0]
    );
    let run = sb.run(
        "helm",
        &[
            "show",
            "chart",
            &chart_ref,
            "--version",
            "0.1.0",
            "--plain-http",
        ],
    );
    assert!(run.stdout.contains("version: 0.1.0"), "{run:?}");

    let run = pull(Some("0.2.0"), "unlicensed");
    assert!(
        !run.status.success(),
        "an unlicensed chart version must not pull:\n{run:?}"
    );
    assert!(fs::read_dir(sb.path("unlicensed"))
        .unwrap()
        .next()
        .is_none());

    // Without a version helm takes the newest tag the customer sees: the licensed one.
    let run = pull(None, "newest");
    assert!(run.status.success(), "{run:?}");
    let files: Vec<String> = fs::read_dir(sb.path("newest"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, [format!("{chart}-0.1.0.tgz")]);
}

// ---------------------------------------------------------------------------------------
// Patterns, semver ranges, expiry
// ---------------------------------------------------------------------------------------

#[test]
fn a_pattern_license_grants_tags_pushed_after_it() {
    let reg = registry();
    let repo = unique_repo("lic-pattern");
    let old = reg.push_random_image(&repo, "v0.9");
    let cust = new_customer("Pattern");
    let lic = licenses::create(&cust.id, &[licenses::pattern(&repo, "v1.*")]);
    assert_eq!(lic["items"], json!([{"artifact": repo, "pattern": "v1.*"}]));
    assert_manifest_hidden(&cust, &repo, "v0.9");

    // Pushed after the license was written.
    let v10 = reg.push_random_image(&repo, "v1.0");
    let v15 = reg.push_random_image(&repo, "v1.5");
    let v20 = reg.push_random_image(&repo, "v2.0");
    let v1x = reg.push_random_image(&repo, "xv1.0");
    // Another tag on a digest the pattern covers through its tag v1.5.
    retag(&v15, "latest");

    assert_manifest_readable(&cust, &repo, "v1.0", v10.digest());
    assert_manifest_readable(&cust, &repo, "v1.5", v15.digest());
    assert_manifest_readable(&cust, &repo, "latest", v15.digest());
    assert_image_readable(&cust, &v10);
    assert_image_readable(&cust, &v15);
    for (tag, img) in [("v0.9", &old), ("v2.0", &v20), ("xv1.0", &v1x)] {
        assert_manifest_hidden(&cust, &repo, tag);
        assert_image_hidden(&cust, img);
    }
    assert_eq!(cust.all_tags(&repo), ["latest", "v1.0", "v1.5"]);

    // A tag moved onto a covered digest later is covered too.
    retag(&v10, "v1.6");
    assert_manifest_readable(&cust, &repo, "v1.6", v10.digest());
}

#[test]
fn a_semver_range_license_grants_the_versions_in_range() {
    let reg = registry();
    let repo = unique_repo("lic-semver");
    let mut images = Vec::new();
    for tag in ["v1.1.0", "v1.2.0", "v1.9.9", "v2.0.0", "latest"] {
        images.push((tag, reg.push_random_image(&repo, tag)));
    }
    let cust = new_customer("Semver");
    licenses::create(&cust.id, &[licenses::pattern(&repo, ">=1.2, <2")]);
    for (tag, img) in &images {
        if ["v1.2.0", "v1.9.9"].contains(tag) {
            assert_manifest_readable(&cust, &repo, tag, img.digest());
            assert_image_readable(&cust, img);
        } else {
            assert_manifest_hidden(&cust, &repo, tag);
            assert_image_hidden(&cust, img);
        }
    }
    assert_eq!(cust.all_tags(&repo), ["v1.2.0", "v1.9.9"]);
    // A version pushed later inside the range.
    let later = reg.push_random_image(&repo, "v1.5.3");
    assert_manifest_readable(&cust, &repo, "v1.5.3", later.digest());
}

#[test]
fn an_expired_license_grants_nothing() {
    let reg = registry();
    let repo = unique_repo("lic-expiry");
    let img = reg.push_random_image(&repo, "v1");
    let cust = new_customer("Expiring");
    let expires = now_unix() + 12;
    let lic = licenses::create_expiring(&cust.id, &[licenses::all_versions(&repo)], expires);
    assert_eq!(lic["expires_at"], expiry(expires), "{lic}");

    // Before the expiry it grants...
    assert_manifest_readable(&cust, &repo, "v1", img.digest());
    assert_image_readable(&cust, &img);
    assert_eq!(cust.all_tags(&repo), ["v1"]);
    assert_eq!(cust.catalog(), vec![repo.clone()]);
    let scope = format!("repository:{repo}:pull");
    let jwt = bearer(&cust.user.email, &cust.user.token, &[&scope]);
    assert_eq!(granted(&jwt), [(repo.clone(), vec!["pull".to_string()])]);
    assert!(
        now_unix() < expires,
        "the checks before the expiry took too long to mean anything"
    );

    // ...and after it nothing, without anyone touching the license.
    sleep_until_after(expires + 1);
    assert_manifest_hidden(&cust, &repo, "v1");
    assert_image_hidden(&cust, &img);
    assert_repo_hidden(&cust, &repo, "v1", &img);
    assert_eq!(cust.catalog(), Vec::<String>::new());
    assert_eq!(artifact_names(&cust), Vec::<String>::new());
    let jwt = bearer(&cust.user.email, &cust.user.token, &[&scope]);
    assert_eq!(granted(&jwt), vec![]);
    // The license itself still exists.
    send(api("GET", &licenses::license_path(&lic)), None).expect(200);

    // A license written already expired is accepted and grants nothing.
    let late = new_customer("Late");
    licenses::create_expiring(
        &late.id,
        &[licenses::all_versions(&repo)],
        now_unix() - 3600,
    );
    assert_manifest_hidden(&late, &repo, "v1");
    assert_eq!(late.catalog(), Vec::<String>::new());
    // Renewing it (full replace without an expiry) grants again.
    let renewed = new_customer("Renewed");
    let l = licenses::create_expiring(
        &renewed.id,
        &[licenses::all_versions(&repo)],
        now_unix() - 60,
    );
    assert_manifest_hidden(&renewed, &repo, "v1");
    let put = send(
        api("PUT", &licenses::license_path(&l)),
        Some(&licenses::license_body(
            &renewed.id,
            &[licenses::all_versions(&repo)],
        )),
    );
    put.expect(200);
    assert_eq!(put.json()["expires_at"], Value::Null);
    assert_manifest_readable(&renewed, &repo, "v1", img.digest());
}

// ---------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------

#[test]
fn tags_list_catalog_and_artifacts_show_only_what_is_licensed() {
    let reg = registry();
    let prefix = unique_repo("lic-list");
    let (a, b, c) = (
        format!("{prefix}/a"),
        format!("{prefix}/b"),
        format!("{prefix}/c"),
    );
    let all_tags = ["t1", "t2", "t3", "t4", "t5", "t6", "t7"];
    let mut images = Vec::new();
    for t in all_tags {
        images.push(reg.push_random_image(&a, t));
    }
    reg.push_random_image(&b, "v1");
    reg.push_random_image(&c, "v1");
    let licensed = ["t1", "t3", "t4", "t6"];
    let cust = new_customer("Lists");
    licenses::create(
        &cust.id,
        &[licenses::tags(&a, &licensed), licenses::all_versions(&b)],
    );
    assert_eq!(reg.all_tags(&a), all_tags, "the vendor sees every tag");

    // tags/list: the licensed tags, paginated over the filtered list.
    let r = cust.tags_list(&a, "");
    r.expect(200);
    assert_eq!(r.json()["name"], a.as_str());
    assert_eq!(string_list(&r.json()["tags"]), licensed);
    assert!(r.next_link().is_none(), "no Link when all fit: {r:?}");

    let page = |url: &str| -> (Vec<String>, Option<String>, Option<String>) {
        let r = cust.req("GET", url).call();
        r.expect(200);
        (
            string_list(&r.json()["tags"]),
            r.next_link(),
            r.header("Link").map(str::to_string),
        )
    };
    let (p1, next, link) = page(&format!("/v2/{a}/tags/list?n=2"));
    assert_eq!(p1, ["t1", "t3"]);
    let link = link.expect("a Link header after the first page");
    assert!(link.contains("rel=\"next\""), "{link}");
    let next = next.expect("a next link");
    assert!(
        next.contains("n=2") && next.contains("last=t3"),
        "the next page starts after t3: {next}"
    );
    let (p2, next, link) = page(&next);
    assert_eq!(p2, ["t4", "t6"]);
    assert!(
        next.is_none() && link.is_none(),
        "no Link after the last page (t7 is not licensed): {link:?}"
    );
    let (p, next, _) = page(&format!("/v2/{a}/tags/list?n=3"));
    assert_eq!(p, ["t1", "t3", "t4"]);
    let (p, next2, _) = page(&next.expect("a second page of n=3"));
    assert_eq!(p, ["t6"]);
    assert!(next2.is_none());
    let (p, next, _) = page(&format!("/v2/{a}/tags/list?n=2&last=t3"));
    assert_eq!(p, ["t4", "t6"]);
    assert!(next.is_none());
    let (p, _, _) = page(&format!("/v2/{a}/tags/list?last=t4"));
    assert_eq!(p, ["t6"]);
    let (p, _, _) = page(&format!("/v2/{a}/tags/list?n=1&last=t6"));
    assert!(p.is_empty(), "{p:?}");

    // _catalog: the artifacts the customer holds a license for, paginated.
    assert_eq!(cust.catalog(), [a.clone(), b.clone()]);
    let r = cust.req("GET", "/v2/_catalog?n=1").call();
    r.expect(200);
    assert_eq!(string_list(&r.json()["repositories"]), vec![a.clone()]);
    let r = cust
        .req("GET", &r.next_link().expect("a second catalog page"))
        .call();
    r.expect(200);
    assert_eq!(string_list(&r.json()["repositories"]), vec![b.clone()]);
    assert!(r.next_link().is_none(), "{r:?}");

    // The artifacts API: the same two, with only the licensed tags.
    assert_eq!(artifact_names(&cust), [a.clone(), b.clone()]);
    let tags = list_all(&format!("{}/tags", artifact_path(&a)), Some(&cust.user));
    let mut shown: Vec<(String, String)> = tags
        .iter()
        .map(|t| {
            (
                t["tag"].as_str().unwrap().to_string(),
                t["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = licensed
        .iter()
        .map(|t| {
            let i = all_tags.iter().position(|x| x == t).unwrap();
            (t.to_string(), images[i].digest().to_string())
        })
        .collect();
    shown.sort();
    assert_eq!(shown, want);
    let hidden = send(
        cust.api("GET", &format!("{}/tags", artifact_path(&c))),
        None,
    );
    expect_problem(&hidden, 404);

    // The vendor sees everything.
    let vendor_view = all_artifacts(None);
    for name in [&a, &b, &c] {
        assert!(
            vendor_view.iter().any(|x| x["name"] == name.as_str()),
            "{name} missing from the vendor's artifact list"
        );
    }
    assert_eq!(
        list_all(&format!("{}/tags", artifact_path(&a)), None).len(),
        7
    );
}

#[test]
fn a_customer_without_a_license_sees_nothing() {
    let reg = registry();
    let repo = unique_repo("lic-nothing");
    let img = reg.push_random_image(&repo, "v1");
    let licensed = new_customer("Licensed");
    licenses::create(&licensed.id, &[licenses::all_versions(&repo)]);
    let nobody = new_customer("Nobody");

    // The control: a licensed customer reads it.
    assert_image_readable(&licensed, &img);
    assert_eq!(licensed.catalog(), vec![repo.clone()]);

    assert_eq!(nobody.catalog(), Vec::<String>::new());
    assert_repo_hidden(&nobody, &repo, "v1", &img);
    assert_image_hidden(&nobody, &img);
    assert_eq!(artifact_names(&nobody), Vec::<String>::new());
    assert!(list_all("/api/v1/licenses", Some(&nobody.user)).is_empty());
    let jwt = bearer(
        &nobody.user.email,
        &nobody.user.token,
        &[&format!("repository:{repo}:pull")],
    );
    assert_eq!(granted(&jwt), vec![]);
    let sb = Sandbox::new("lic-nothing-skopeo");
    let run = sb.try_run(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--creds",
            &nobody.creds(),
            &format!("docker://{}", image_ref(&repo, "v1")),
        ],
    );
    assert_not_found(&run);
}

#[test]
fn token_grants_pull_only_on_licensed_repositories() {
    let reg = registry();
    let prefix = unique_repo("lic-token");
    let (a, b, c, d) = (
        format!("{prefix}/a"),
        format!("{prefix}/b"),
        format!("{prefix}/c"),
        format!("{prefix}/d"),
    );
    let img_a = reg.push_random_image(&a, "v1");
    reg.push_random_image(&b, "v1");
    reg.push_random_image(&c, "v1");
    reg.push_random_image(&d, "v1");
    let cust = new_customer("Token");
    licenses::create(
        &cust.id,
        &[licenses::tags(&a, &["v1"]), licenses::pattern(&b, "v*")],
    );
    let other = new_customer("TokenOther");
    licenses::create(&other.id, &[licenses::all_versions(&d)]);

    let scopes = [
        format!("repository:{a}:pull,push"),
        format!("repository:{b}:pull,delete"),
        format!("repository:{c}:pull"),
        format!("repository:{d}:pull"),
    ];
    let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let jwt = bearer(&cust.user.email, &cust.user.token, &scope_refs);
    let pull = vec!["pull".to_string()];
    assert_eq!(
        granted(&jwt),
        [(a.clone(), pull.clone()), (b.clone(), pull.clone())],
        "claims: {}",
        claims(&jwt)
    );
    let jwt_other = bearer(&other.user.email, &other.user.token, &scope_refs);
    assert_eq!(granted(&jwt_other), [(d.clone(), pull.clone())]);

    // The token pulls what it grants.
    let r = reg
        .get(&manifest_path(&a, "v1"))
        .no_auth()
        .header("Authorization", &format!("Bearer {jwt}"))
        .header("Accept", MANIFEST_ACCEPT)
        .call();
    r.expect(200);
    assert_eq!(r.must_header("Docker-Content-Digest"), img_a.digest());
    let r = reg
        .post(&uploads_path(&a))
        .no_auth()
        .header("Authorization", &format!("Bearer {jwt}"))
        .call();
    assert!(
        r.status == 401 || r.status == 403,
        "a customer never pushes: {r:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The licenses API
// ---------------------------------------------------------------------------------------

#[test]
fn licenses_api_create_list_show_update_delete() {
    let reg = registry();
    let repo1 = unique_repo("lic-api1");
    let repo2 = unique_repo("lic-api2");
    let v1 = reg.push_random_image(&repo1, "v1");
    let v2 = reg.push_random_image(&repo1, "v2");
    reg.push_random_image(&repo2, "v1");
    let c1 = new_customer("Api1");
    let c2 = new_customer("Api2");

    let expires = now_unix() + 365 * 86_400;
    let name = format!("Acme prod {}", random_hex(6));
    let body = json!({
        "name": name,
        "customer_id": c1.id,
        "expires_at": expiry(expires),
        "items": [
            licenses::tags(&repo1, &["v1"]),
            licenses::all_versions(&repo2),
            licenses::pattern(&repo1, "v9.*"),
        ],
    });
    let created = licenses::create_from(&body);
    assert_eq!(created["name"], name.as_str());
    assert_eq!(created["expires_at"], expiry(expires));
    assert!(!created["created_at"].is_null(), "{created}");
    assert_eq!(
        created["items"],
        json!([
            {"artifact": repo1, "digests": [v1.digest()]},
            {"artifact": repo2, "all_versions": true},
            {"artifact": repo1, "pattern": "v9.*"},
        ]),
        "items as written, tags resolved to digests"
    );
    let shown = send(api("GET", &licenses::license_path(&created)), None);
    shown.expect(200);
    assert_eq!(shown.json(), created);
    assert_manifest_readable(&c1, &repo1, "v1", v1.digest());
    assert_manifest_hidden(&c1, &repo1, "v2");

    let other = licenses::create(&c2.id, &[licenses::all_versions(&repo1)]);

    // Filters.
    let by_c1 = list_all(&format!("/api/v1/licenses?customer_id={}", c1.id), None);
    assert_eq!(ids(&by_c1), [id_of(&created)]);
    assert_eq!(by_c1[0], created);
    let by_c2 = list_all(&format!("/api/v1/licenses?customer_id={}", c2.id), None);
    assert_eq!(ids(&by_c2), [id_of(&other)]);
    let mut both = vec![id_of(&created), id_of(&other)];
    both.sort();
    assert_eq!(
        ids(&list_all(
            &format!("/api/v1/licenses?artifact={}", enc(&repo1)),
            None
        )),
        both
    );
    assert_eq!(
        ids(&list_all(
            &format!("/api/v1/licenses?artifact={}", enc(&repo2)),
            None
        )),
        [id_of(&created)]
    );
    assert_eq!(
        ids(&list_all(
            &format!(
                "/api/v1/licenses?customer_id={}&artifact={}",
                c2.id,
                enc(&repo2)
            ),
            None
        )),
        Vec::<String>::new()
    );
    let everything = ids(&list_all("/api/v1/licenses", None));
    assert!(everything.contains(&id_of(&created)) && everything.contains(&id_of(&other)));

    // Update: a full replace.
    let new_name = format!("Acme staging {}", random_hex(6));
    let replacement = json!({
        "name": new_name,
        "customer_id": c1.id,
        "expires_at": null,
        "items": [licenses::digests(&repo1, &[v2.digest()])],
    });
    let put = send(
        api("PUT", &licenses::license_path(&created)),
        Some(&replacement),
    );
    put.expect(200);
    let updated = put.json();
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["name"], new_name.as_str());
    assert_eq!(updated["expires_at"], Value::Null);
    assert_eq!(
        updated["items"],
        json!([{"artifact": repo1, "digests": [v2.digest()]}])
    );
    let shown = send(api("GET", &licenses::license_path(&created)), None);
    assert_eq!(shown.json(), updated);
    // Enforcement follows the update.
    assert_manifest_readable(&c1, &repo1, "v2", v2.digest());
    assert_manifest_hidden(&c1, &repo1, "v1");
    assert_repo_hidden(&c1, &repo2, "v1", &reg.push_random_image(&repo2, "v1b"));
    assert_eq!(
        ids(&list_all(
            &format!("/api/v1/licenses?artifact={}", enc(&repo2)),
            None
        )),
        Vec::<String>::new()
    );

    // Unknown ids.
    let missing = "/api/v1/licenses/no-such-license";
    expect_problem(&send(api("GET", missing), None), 404);
    expect_problem(&send(api("PUT", missing), Some(&replacement)), 404);
    expect_problem(&send(api("DELETE", missing), None), 404);

    // Delete.
    licenses::delete(&created);
    expect_problem(
        &send(api("GET", &licenses::license_path(&created)), None),
        404,
    );
    expect_problem(
        &send(api("DELETE", &licenses::license_path(&created)), None),
        404,
    );
    assert!(list_all(&format!("/api/v1/licenses?customer_id={}", c1.id), None).is_empty());
    assert_manifest_hidden(&c1, &repo1, "v2");
    // The other customer's license is untouched.
    assert_manifest_readable(&c2, &repo1, "v1", v1.digest());
}

#[test]
fn licenses_list_pages_with_cursors() {
    let repo = unique_repo("lic-pages");
    registry().push_random_image(&repo, "v1");
    let cust = new_customer("Pages");
    let mut want: Vec<String> = (0..5)
        .map(|_| {
            id_of(&licenses::create(
                &cust.id,
                &[licenses::all_versions(&repo)],
            ))
        })
        .collect();
    want.sort();
    let mut seen = Vec::new();
    let mut url = format!("/api/v1/licenses?customer_id={}&limit=2", cust.id);
    let mut pages = 0;
    loop {
        let page = send(api("GET", &url), None);
        page.expect(200);
        let v = page.json();
        let items = v["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{page:?}");
        seen.extend(ids(items));
        pages += 1;
        match v["next_cursor"].as_str() {
            Some(c) => {
                url = format!(
                    "/api/v1/licenses?customer_id={}&limit=2&cursor={c}",
                    cust.id
                )
            }
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert!(pages >= 3, "5 licenses in pages of 2");
    seen.sort();
    assert_eq!(seen, want, "every license exactly once");
}

#[test]
fn invalid_licenses_are_400_problems() {
    let reg = registry();
    let repo = unique_repo("lic-invalid");
    reg.push_random_image(&repo, "v1");
    let cust = new_customer("Invalid");
    let good = licenses::all_versions(&repo);
    let body = |items: Vec<Value>| licenses::license_body(&cust.id, &items);
    let mut cases: Vec<(&str, Value)> = vec![
        (
            "unknown artifact",
            body(vec![licenses::all_versions(&unique_repo("never-pushed"))]),
        ),
        ("bad glob", body(vec![licenses::pattern(&repo, "v1.[")])),
        ("empty items", body(vec![])),
        ("unknown tag", body(vec![licenses::tags(&repo, &["nope"])])),
        (
            "two kinds of versions",
            body(vec![
                json!({"artifact": repo, "all_versions": true, "pattern": "v1"}),
            ]),
        ),
        ("no versions", body(vec![json!({"artifact": repo})])),
        (
            "bad digest",
            body(vec![licenses::digests(&repo, &["sha256:nope"])]),
        ),
        ("101 items", body(vec![good.clone(); 101])),
        ("unknown field", {
            let mut b = body(vec![good.clone()]);
            b["extra"] = json!(1);
            b
        }),
        ("empty name", {
            let mut b = body(vec![good.clone()]);
            b["name"] = json!("");
            b
        }),
        ("bad expiry", {
            let mut b = body(vec![good.clone()]);
            b["expires_at"] = json!("not a date");
            b
        }),
    ];
    cases.push((
        "unknown customer",
        licenses::license_body(&"0".repeat(20), std::slice::from_ref(&good)),
    ));
    for (what, b) in &cases {
        let resp = licenses::try_create(b);
        assert_eq!(resp.status, 400, "{what}: {resp:?}");
        expect_problem(&resp, 400);
    }
    // The same on update; the license is left as it was.
    let lic = licenses::create(&cust.id, std::slice::from_ref(&good));
    for (what, b) in &cases {
        if *what == "unknown customer" {
            continue;
        }
        let resp = send(api("PUT", &licenses::license_path(&lic)), Some(b));
        assert_eq!(resp.status, 400, "update with {what}: {resp:?}");
        expect_problem(&resp, 400);
    }
    let shown = send(api("GET", &licenses::license_path(&lic)), None);
    assert_eq!(shown.json(), lic);
    // Nothing else was created.
    assert_eq!(
        ids(&list_all(
            &format!("/api/v1/licenses?customer_id={}", cust.id),
            None
        )),
        [id_of(&lic)]
    );
    // Not JSON at all.
    let resp = api("POST", "/api/v1/licenses")
        .header("Content-Type", "application/json")
        .bytes(b"{not json");
    openapi::check(&resp);
    expect_problem(&resp, 400);
}

#[test]
fn only_admins_and_read_write_users_manage_licenses() {
    let reg = registry();
    let repo = unique_repo("lic-roles");
    reg.push_random_image(&repo, "v1");
    let rw = vendor_user("read_write");
    let ro = vendor_user("read_only");
    let c1 = new_customer("Roles1");
    let c2 = new_customer("Roles2");
    let as_user = |u: &Account, method: &str, path: &str, body: Option<&Value>| {
        send(api(method, path).basic(&u.email, &u.token), body)
    };

    // read_write: create, update, delete.
    let body = licenses::license_body(&c1.id, &[licenses::all_versions(&repo)]);
    let created = as_user(&rw, "POST", "/api/v1/licenses", Some(&body));
    created.expect(201);
    let mine = created.json();
    as_user(&rw, "PUT", &licenses::license_path(&mine), Some(&body)).expect(200);
    let theirs = licenses::create(&c2.id, &[licenses::all_versions(&repo)]);

    // read_only and customers: 403 for every change, and nothing changes.
    for who in [&ro, &c1.user] {
        expect_problem(&as_user(who, "POST", "/api/v1/licenses", Some(&body)), 403);
        expect_problem(
            &as_user(who, "PUT", &licenses::license_path(&mine), Some(&body)),
            403,
        );
        expect_problem(
            &as_user(who, "DELETE", &licenses::license_path(&mine), None),
            403,
        );
    }
    send(api("GET", &licenses::license_path(&mine)), None).expect(200);
    assert_eq!(
        ids(&list_all(
            &format!("/api/v1/licenses?customer_id={}", c1.id),
            None
        )),
        [id_of(&mine)]
    );

    // A customer sees its own licenses, and no other's.
    let own = list_all("/api/v1/licenses", Some(&c1.user));
    assert_eq!(ids(&own), [id_of(&mine)]);
    let shown = as_user(&c1.user, "GET", &licenses::license_path(&mine), None);
    shown.expect(200);
    assert_eq!(shown.json()["id"], mine["id"]);
    expect_problem(
        &as_user(&c1.user, "GET", &licenses::license_path(&theirs), None),
        404,
    );
    let filtered = as_user(
        &c1.user,
        "GET",
        &format!("/api/v1/licenses?customer_id={}", c2.id),
        None,
    );
    if filtered.status == 200 {
        assert!(
            !filtered.text().contains(&id_of(&theirs)),
            "a customer must not list another's licenses: {filtered:?}"
        );
    } else {
        assert!([403, 404].contains(&filtered.status), "{filtered:?}");
    }
    let by_artifact = list_all(
        &format!("/api/v1/licenses?artifact={}", enc(&repo)),
        Some(&c1.user),
    );
    assert_eq!(ids(&by_artifact), [id_of(&mine)]);

    as_user(&rw, "DELETE", &licenses::license_path(&mine), None).expect(204);
    expect_problem(&send(api("GET", &licenses::license_path(&mine)), None), 404);
}

#[test]
fn referrers_of_a_readable_manifest_are_readable_transitively() {
    let reg = registry();
    let repo = unique_repo("lic-referrers");
    let img = reg.push_random_image(&repo, "v1");
    let hidden = reg.push_random_image(&repo, "v2");
    let sbom_type = "application/vnd.tollgate.test.sbom";
    let sig_type = "application/vnd.tollgate.test.signature";
    let (sbom, sbom_blob) = push_referrer(&repo, &img.desc, sbom_type, b"{\"sbom\":1}");
    // A signature of the SBOM: a referrer of a referrer.
    let (sig, sig_blob) = push_referrer(&repo, &sbom, sig_type, b"signature of the sbom");
    let (hidden_sbom, hidden_blob) = push_referrer(&repo, &hidden.desc, sbom_type, b"{\"sbom\":2}");
    let cust = new_customer("Transitive");
    licenses::create(&cust.id, &[licenses::digests(&repo, &[img.digest()])]);

    for (desc, blob) in [(&sbom, &sbom_blob), (&sig, &sig_blob)] {
        assert_manifest_readable(&cust, &repo, &desc.digest, &desc.digest);
        assert_blob_readable(&cust, &repo, &blob.digest);
    }
    let r = cust.req("GET", &referrers_path(&repo, img.digest())).call();
    r.expect(200);
    let listed: Vec<&str> = r.json()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .map(|d| if d == sbom.digest { "sbom" } else { "other" })
        .collect();
    assert_eq!(listed, ["sbom"], "{r:?}");
    let r = cust.req("GET", &referrers_path(&repo, &sbom.digest)).call();
    r.expect(200);
    assert_eq!(r.json()["manifests"][0]["digest"], sig.digest.as_str());

    // Nothing about the unlicensed image leaks through its referrer.
    assert_manifest_hidden(&cust, &repo, &hidden_sbom.digest);
    assert_blob_hidden(&cust, &repo, &hidden_blob.digest);
    assert_image_hidden(&cust, &hidden);
}

#[test]
fn a_customer_bearer_token_without_pull_answers_like_a_missing_name() {
    let reg = registry();
    let prefix = unique_repo("lic-bearer");
    let (licensed, unlicensed) = (format!("{prefix}/a"), format!("{prefix}/b"));
    let img = reg.push_random_image(&licensed, "v1");
    let hidden = reg.push_random_image(&unlicensed, "v1");
    let cust = new_customer("Bearer");
    licenses::create(&cust.id, &[licenses::all_versions(&licensed)]);
    let nowhere = unique_repo("never-pushed");
    let jwt = bearer(
        &cust.user.email,
        &cust.user.token,
        &[
            &format!("repository:{licensed}:pull"),
            &format!("repository:{unlicensed}:pull"),
            &format!("repository:{nowhere}:pull"),
        ],
    );
    let get = |path: &str| {
        reg.get(path)
            .no_auth()
            .header("Authorization", &format!("Bearer {jwt}"))
            .header("Accept", MANIFEST_ACCEPT)
            .call()
    };
    let r = get(&manifest_path(&licensed, "v1"));
    r.expect(200);
    assert_eq!(r.must_header("Docker-Content-Digest"), img.digest());
    get(&blob_path(&licensed, &img.layers[0].digest)).expect(200);
    assert_like_missing(
        &get(&manifest_path(&unlicensed, "v1")),
        &get(&manifest_path(&nowhere, "v1")),
        &["MANIFEST_UNKNOWN", "NAME_UNKNOWN"],
        &[(&unlicensed, &nowhere)],
    );
    assert_like_missing(
        &get(&blob_path(&unlicensed, &hidden.layers[0].digest)),
        &get(&blob_path(&nowhere, &hidden.layers[0].digest)),
        &["BLOB_UNKNOWN", "NAME_UNKNOWN"],
        &[(&unlicensed, &nowhere)],
    );
    assert_like_missing(
        &get(&format!("/v2/{unlicensed}/tags/list")),
        &get(&format!("/v2/{nowhere}/tags/list")),
        &["NAME_UNKNOWN"],
        &[(&unlicensed, &nowhere)],
    );
}

#[test]
fn an_all_versions_license_reads_only_blobs_its_manifests_reference() {
    let reg = registry();
    let repo = unique_repo("lic-loose-blob");
    let img = reg.push_random_image(&repo, "v1");
    let loose = reg.push_blob(&repo, &random_bytes(1000));
    let cust = new_customer("Loose");
    licenses::create(&cust.id, &[licenses::all_versions(&repo)]);
    assert_image_readable(&cust, &img);
    reg.get(&blob_path(&repo, &loose)).call().expect(200);
    assert_blob_hidden(&cust, &repo, &loose);
}

#[test]
fn a_customer_sees_the_last_push_of_its_licensed_versions_only() {
    let reg = registry();
    let repo = unique_repo("lic-last-push");
    reg.push_random_image(&repo, "v1");
    let cust = new_customer("LastPush");
    licenses::create(&cust.id, &[licenses::pattern(&repo, "v1")]);
    std::thread::sleep(Duration::from_millis(1100));
    reg.push_random_image(&repo, "v2");
    let last_push = |as_user| {
        all_artifacts(as_user)
            .into_iter()
            .find(|a| a["name"] == repo.as_str())
            .map(|a| a["last_push"].clone())
            .expect("listed")
    };
    let vendor = last_push(None);
    let theirs = last_push(Some(&cust.user));
    assert_ne!(
        theirs, vendor,
        "v2's push shows to a customer licensed for v1 only"
    );
    assert!(theirs.as_i64() < vendor.as_i64(), "{theirs} {vendor}");
    // The details of an artifact it holds no license for answer like a missing one.
    let hidden = unique_repo("lic-details-hidden");
    reg.push_random_image(&hidden, "v1");
    let missing = unique_repo("lic-details-missing");
    let detail = |name: &str| {
        let resp = cust.api("GET", &artifact_path(name)).call();
        expect_problem(&resp, 404).replace(name, "<name>")
    };
    assert_eq!(detail(&hidden), detail(&missing));
}

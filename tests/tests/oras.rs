//! oras: push an artifact with an artifact type, attach an SBOM to an image, discover
//! referrers (filtered by artifact type) and pull.

use std::fs;
use std::path::PathBuf;

use tollgate_e2e::*;

/// A sandbox where oras is logged in to the registry.
fn logged_in_sandbox(label: &str) -> Sandbox {
    let sb = Sandbox::new(label);
    let run = sb.oras_login();
    assert!(run.stdout.contains("Login Succeeded"), "{run:?}");
    sb
}

/// `oras pull` of `reference` into the sandbox directory `dir`; returns its path.
fn pull(sb: &Sandbox, dir: &str, reference: &str) -> PathBuf {
    let out = sb.path(dir);
    let out_arg = out.display().to_string();
    sb.run("oras", &["pull", "--plain-http", "-o", &out_arg, reference]);
    out
}

/// Digests and artifact types of the referrers in `oras discover --format json` output.
fn referrers(v: &Value) -> Vec<(String, String)> {
    let list = v
        .get("referrers")
        .or_else(|| v.get("manifests"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<(String, String)> = list
        .iter()
        .map(|m| {
            (
                m["digest"].as_str().unwrap_or_default().to_string(),
                m["artifactType"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn oras_push_and_pull_artifact() {
    let reg = registry();
    let sb = logged_in_sandbox("oras-push");
    let repo = unique_repo("oras");
    let payload = format!("artifact payload {}\n", random_hex(32));
    fs::write(sb.work().join("notes.txt"), &payload).unwrap();
    let big = random_bytes(3 * 1024 * 1024 + 5);
    fs::write(sb.work().join("data.bin"), &big).unwrap();

    let target = image_ref(&repo, "v1");
    let run = sb.run(
        "oras",
        &[
            "push",
            "--plain-http",
            "--artifact-type",
            "application/vnd.tollgate.test.bundle",
            "--annotation",
            "org.example.kind=e2e",
            &target,
            "notes.txt:text/plain",
            "data.bin:application/octet-stream",
        ],
    );
    assert!(run.stdout.contains("Digest: sha256:"), "{run:?}");

    let r = reg.get_manifest(&repo, "v1");
    r.expect(200);
    assert_eq!(r.must_header("Content-Type"), OCI_MANIFEST);
    let m = r.json();
    assert_eq!(m["artifactType"], "application/vnd.tollgate.test.bundle");
    assert_eq!(m["annotations"]["org.example.kind"], "e2e");
    let layer_digests: Vec<&str> = m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    assert!(layer_digests.contains(&sha256_digest(payload.as_bytes()).as_str()));
    assert!(layer_digests.contains(&sha256_digest(&big).as_str()));

    let out = pull(&sb, "out", &target);
    assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), payload);
    assert!(
        fs::read(out.join("data.bin")).unwrap() == big,
        "pulled data.bin differs"
    );

    let run = sb.run(
        "oras",
        &[
            "repo",
            "tags",
            "--plain-http",
            &format!("{}/{repo}", reg.host),
        ],
    );
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), ["v1"]);
}

/// attach + discover, letting oras pick the referrers API or the tag fallback.
#[test]
fn oras_attach_and_discover() {
    attach_and_discover(None);
}

/// attach + discover forced onto the referrers API (no tag-schema fallback).
#[test]
fn oras_attach_and_discover_referrers_api() {
    attach_and_discover(Some("v1.1-referrers-api"));
}

fn attach_and_discover(spec: Option<&str>) {
    let reg = registry();
    let sb = logged_in_sandbox("oras-attach");
    let repo = unique_repo("oras-attach");
    let img = reg.push_random_image(&repo, "v1");
    let subject = image_ref(&repo, "v1");
    let mut extra: Vec<&str> = vec!["--plain-http"];
    if let Some(s) = spec {
        extra.extend(["--distribution-spec", s]);
    }

    let sbom = format!(
        "{{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"{}\"}}",
        random_hex(8)
    );
    fs::write(sb.work().join("sbom.spdx.json"), &sbom).unwrap();
    fs::write(sb.work().join("sig.txt"), "not really a signature").unwrap();

    let attach = |artifact_type: &str, file: &str| -> String {
        let mut args = vec!["attach"];
        args.extend(&extra);
        args.extend([
            "--artifact-type",
            artifact_type,
            "--export-manifest",
            "exported.json",
            &subject,
            file,
        ]);
        let run = sb.run("oras", &args);
        let manifest = fs::read(sb.work().join("exported.json")).unwrap();
        let v: Value = serde_json::from_slice(&manifest).unwrap();
        assert_eq!(v["subject"]["digest"], img.digest(), "{run:?}");
        assert_eq!(v["artifactType"], artifact_type);
        sha256_digest(&manifest)
    };
    let sbom_digest = attach(
        "application/spdx+json",
        "sbom.spdx.json:application/spdx+json",
    );
    let sig_digest = attach("application/vnd.tollgate.test.signature", "sig.txt");

    let discover = |filter: Option<&str>| -> Vec<(String, String)> {
        let mut args = vec!["discover"];
        args.extend(&extra);
        args.extend(["--format", "json"]);
        if let Some(f) = filter {
            args.extend(["--artifact-type", f]);
        }
        args.push(&subject);
        referrers(&sb.run("oras", &args).json())
    };
    let mut want = vec![
        (sbom_digest.clone(), "application/spdx+json".to_string()),
        (
            sig_digest.clone(),
            "application/vnd.tollgate.test.signature".to_string(),
        ),
    ];
    want.sort();
    assert_eq!(discover(None), want);
    assert_eq!(
        discover(Some("application/spdx+json")),
        vec![(sbom_digest.clone(), "application/spdx+json".to_string())]
    );
    assert_eq!(discover(Some("application/vnd.none")), vec![]);

    // Pull the SBOM by digest.
    let out = pull(&sb, "sbom-out", &image_ref(&repo, &sbom_digest));
    assert_eq!(
        fs::read_to_string(out.join("sbom.spdx.json")).unwrap(),
        sbom
    );
}

//! syft: scan an image straight from the registry (no daemon, no local copy) and find the
//! packages it contains; then attach the SBOM to the image with oras.

use std::fs;

use tollgate_e2e::*;

const APK_DB: &str = "\
P:musl
V:1.2.4-r2
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Tollgate E2E <e2e@example.invalid>
F:lib
R:ld-musl-x86_64.so.1

P:tollgate-demo-tool
V:3.1.4-r0
A:x86_64
S:1024
I:4096
T:a made-up package for the Tollgate end-to-end tests
U:https://example.invalid/
L:Apache-2.0
o:tollgate-demo-tool
m:Tollgate E2E <e2e@example.invalid>
D:musl
F:usr/bin
R:tollgate-demo-tool

";

const OS_RELEASE: &str =
    "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n";

const METADATA: &str = "Metadata-Version: 2.1\nName: tollgate-demo\nVersion: 1.2.3\nSummary: A made-up Python package\nLicense: MIT\n";

fn syft_sandbox() -> Sandbox {
    let reg = registry();
    let mut sb = Sandbox::new("syft");
    sb.env("SYFT_REGISTRY_INSECURE_USE_HTTP", "true");
    sb.env("SYFT_REGISTRY_AUTH_AUTHORITY", reg.host.as_str());
    sb.env("SYFT_REGISTRY_AUTH_USERNAME", reg.user.as_str());
    sb.env("SYFT_REGISTRY_AUTH_PASSWORD", reg.password.as_str());
    sb.env("SYFT_CHECK_FOR_APP_UPDATE", "false");
    sb
}

#[test]
fn syft_scans_image_from_registry() {
    let reg = registry();
    let sb = syft_sandbox();
    let repo = unique_repo("syft");
    let img = reg.push_image_files(
        &repo,
        "v1",
        "amd64",
        &[
            ("etc/os-release", OS_RELEASE.as_bytes()),
            ("lib/apk/db/installed", APK_DB.as_bytes()),
            (
                "usr/lib/python3.11/site-packages/tollgate_demo-1.2.3.dist-info/METADATA",
                METADATA.as_bytes(),
            ),
            (
                "usr/lib/python3.11/site-packages/tollgate_demo/__init__.py",
                b"VERSION = '1.2.3'\n",
            ),
        ],
    );

    let target = format!("registry:{}", image_ref(&repo, "v1"));
    let run = sb.run("syft", &["scan", &target, "-o", "syft-json", "-q"]);
    let sbom = run.json();
    let pkgs: Vec<(String, String, String)> = sbom["artifacts"]
        .as_array()
        .unwrap_or_else(|| panic!("no artifacts in syft output:\n{run:?}"))
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap_or_default().to_string(),
                a["version"].as_str().unwrap_or_default().to_string(),
                a["type"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (name, version, kind) in [
        ("musl", "1.2.4-r2", "apk"),
        ("tollgate-demo-tool", "3.1.4-r0", "apk"),
        ("tollgate-demo", "1.2.3", "python"),
    ] {
        assert!(
            pkgs.iter()
                .any(|(n, v, t)| n == name && v == version && t == kind),
            "syft did not find {kind} package {name} {version}; found {pkgs:?}"
        );
    }
    // syft read the image from the registry: its source is our manifest.
    let source = sbom["source"].to_string();
    assert!(
        source.contains(img.digest()) || source.contains(&img.config.digest),
        "unexpected source: {source}"
    );
    assert_eq!(sbom["distro"]["id"], "alpine");

    // Publish the SBOM next to the image (SPDX this time) and find it again.
    let run = sb.run("syft", &["scan", &target, "-o", "spdx-json", "-q"]);
    fs::write(sb.work().join("sbom.spdx.json"), &run.stdout).unwrap();
    sb.oras_login();
    sb.run(
        "oras",
        &[
            "attach",
            "--plain-http",
            "--artifact-type",
            "application/spdx+json",
            &image_ref(&repo, "v1"),
            "sbom.spdx.json:application/spdx+json",
        ],
    );
    let run = sb.run(
        "oras",
        &[
            "discover",
            "--plain-http",
            "--format",
            "json",
            "--artifact-type",
            "application/spdx+json",
            &image_ref(&repo, "v1"),
        ],
    );
    assert!(run.stdout.contains("application/spdx+json"), "{run:?}");
}

//! Memory of a bundle download (docs/bundles.md): workerd's peak RSS while a 1 GiB
//! bundle streams stays within 1.2× of its peak for a 10 MiB one, because blobs are
//! piped from R2 into the response and never held in wasm. Each bundle is a
//! two-platform index with a cosign signature and an SBOM; the 1 GiB one is then
//! imported by skopeo and regctl into other repositories, every digest the same.
//! Reads the server's
//! workerd processes (`TOLLGATE_PID`'s process group, as scripts/with-server.sh
//! starts it) and resets their `VmHWM` before each download; run it on a server of
//! its own: `scripts/with-server.sh cargo test -p tollgate-e2e --test bundle_memory`.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::Path;
use std::process::Command;

use tollgate_e2e::accounts::*;
use tollgate_e2e::licenses::{self, *};
use tollgate_e2e::memory::peak_while_downloading;
use tollgate_e2e::upstream::Upstream;
use tollgate_e2e::*;

const MIB: u64 = 1024 * 1024;

/// Pushes an image with one layer of `len` PRNG bytes, streamed in one PATCH, to
/// `repo:tag`.
fn push_image_of(repo: &str, tag: &str, len: u64) -> Image {
    let reg = registry();
    let digest = reg.push_prng_blob(repo, len);
    let config = image_config("amd64", std::slice::from_ref(&digest));
    reg.push_blob(repo, &config);
    let layer = Desc {
        media_type: OCI_LAYER_TAR.to_string(),
        digest,
        size: len,
    };
    let config = Desc::of(OCI_CONFIG, &config);
    let manifest = oci_manifest(&config, std::slice::from_ref(&layer), None);
    reg.push_manifest(repo, tag, OCI_MANIFEST, &manifest);
    Image {
        repo: repo.to_string(),
        desc: Desc::of(OCI_MANIFEST, &manifest),
        manifest,
        config,
        layers: vec![layer],
    }
}

/// A fresh artifact whose `1.0` is an index over an amd64 image with a layer of
/// `len` PRNG bytes and a small arm64 one, signed by `signer` and with an SBOM;
/// returns the artifact, the index's digest and its two referrers' digests.
fn push_release_of(label: &str, len: u64, signer: &Sandbox) -> (String, String, Vec<String>) {
    let repo = mutable_repo(label);
    let amd64 = push_image_of(&repo, "amd64", len);
    let arm64 = registry().push_random_image(&repo, "arm64");
    let index = push_index(&repo, "1.0", &[(&amd64, "amd64"), (&arm64, "arm64")]);
    cosign_sign(signer, &image_ref(&repo, &index.digest));
    let sbom = br#"{"spdxVersion":"SPDX-2.3"}"#;
    push_referrer(&repo, &index, "application/spdx+json", sbom);
    let r = registry().get(&referrers_path(&repo, &index.digest)).call();
    r.expect(200);
    let referrers: Vec<String> = r.json()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(referrers.len(), 2, "the signature and the SBOM");
    (repo, index.digest, referrers)
}

fn bundle_of(customer: &licenses::Customer, repo: &str) -> (String, u64) {
    let r = send(
        api("POST", "/api/v1/bundles").basic(&customer.user.email, &customer.user.token),
        Some(&json!({"items": [{"artifact": repo, "tags": ["1.0"]}]})),
    );
    r.expect(201);
    let b = r.json();
    (
        b["download"].as_str().unwrap().to_string(),
        b["size"].as_u64().unwrap(),
    )
}

#[test]
fn a_1_gib_bundle_streams_in_the_memory_of_a_10_mib_one_and_imports_whole() {
    let signer = cosign_keys("bundle-memory-cosign", "e2e-cosign-password");
    let (small, _, _) = push_release_of("bundle-10m", 10 * MIB, &signer);
    let (large, index, referrers) = push_release_of("bundle-1g", 1024 * MIB, &signer);
    let customer = new_customer("bundle-memory");
    licenses::create(&customer.id, &[all_versions(&small), all_versions(&large)]);
    let (small_path, small_size) = bundle_of(&customer, &small);
    let (large_path, large_size) = bundle_of(&customer, &large);
    assert!(large_size > 1024 * MIB);
    let get = |path: &str| api("GET", path).basic(&customer.user.email, &customer.user.token);
    let sb = Sandbox::new("bundle-memory-import");
    let file = sb.work().join("bundle.tar");
    let small_peak = peak_while_downloading(get(&small_path), small_size, io::sink()).peak;
    let archive = BufWriter::new(File::create(&file).unwrap());
    let large_peak = peak_while_downloading(get(&large_path), large_size, archive).peak;
    assert!(
        large_peak <= small_peak * 1.2,
        "peak RSS {large_peak:.1} MiB for 1 GiB vs {small_peak:.1} MiB for 10 MiB"
    );

    // The 1 GiB bundle, imported by two clients into another registry (CNCF
    // distribution), is the release digest for digest.
    assert_eq!(fs::metadata(&file).unwrap().len(), large_size);
    assert_holds(&file, referrers.iter().chain([&index]));
    let other = Upstream::start(&sb.path("distribution"));
    let to = &other.registry;
    let src = format!("oci-archive:{}:{large}:1.0", file.display());
    sb.skopeo_copy_to(&src, to, "by-skopeo:1.0");
    let dir = sb.work().join("layout");
    untar(&file, &dir);
    fs::remove_file(&file).unwrap();
    regctl_login_to(&sb, &to.host, &to.user, to.password.as_bytes());
    let src = format!("ocidir://{}@{index}", dir.display());
    let dest = format!("{}/by-regctl:1.0", to.host);
    sb.run("regctl", &["image", "copy", &src, &dest]);
    let release = manifest_tree(&large, "1.0");
    for imported in ["by-skopeo", "by-regctl"] {
        let tree = manifest_tree_in(to, imported, "1.0");
        assert_eq!(tree, release, "{imported}");
    }
}

/// Asserts the archive `file` holds the blobs `digests` (its signature, SBOM and
/// index: what travels with the release).
fn assert_holds<'a>(file: &Path, digests: impl Iterator<Item = &'a String>) {
    let listing = Command::new("tar").arg("-tf").arg(file).output().unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    for digest in digests {
        let hex = digest.trim_start_matches("sha256:");
        assert!(
            listing.contains(&format!("blobs/sha256/{hex}")),
            "{digest} missing:\n{listing}"
        );
    }
}

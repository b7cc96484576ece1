//! buildah and podman (Debian), as root with the vfs storage driver and per-test storage:
//! build from scratch, push, pull, and push a multi-arch manifest list.

use std::fs;

use tollgate_e2e::*;

fn buildah(sb: &Sandbox, args: &[&str]) -> Run {
    sb.run_cmd(sb.containers_cmd("buildah").args(args), None)
}

fn podman(sb: &Sandbox, args: &[&str]) -> Run {
    sb.run_cmd(sb.containers_cmd("podman").args(args), None)
}

/// The content of `path` inside `image`, read through a podman image mount (vfs "mounts"
/// are plain directories).
fn read_from_image(sb: &Sandbox, image: &str, path: &str) -> String {
    let mnt = podman(sb, &["image", "mount", image])
        .stdout
        .trim()
        .to_string();
    let content = fs::read_to_string(std::path::Path::new(&mnt).join(path)).unwrap();
    podman(sb, &["image", "unmount", image]);
    content
}

/// `buildah from scratch`, copy `content` to /hello.txt, set arch, commit as `name`.
fn build_scratch(sb: &Sandbox, name: &str, arch: &str, content: &str) {
    let ctr = buildah(
        sb,
        &[
            "from",
            "--name",
            &format!("ctr-{}", random_hex(6)),
            "scratch",
        ],
    )
    .stdout
    .trim()
    .to_string();
    assert!(!ctr.is_empty());
    let file = sb.work().join(format!("{}.txt", name.replace('/', "_")));
    fs::write(&file, content).unwrap();
    buildah(
        sb,
        &["copy", &ctr, &file.display().to_string(), "/hello.txt"],
    );
    buildah(
        sb,
        &[
            "config",
            "--arch",
            arch,
            "--os",
            "linux",
            "--label",
            "org.example.test=tollgate",
            &ctr,
        ],
    );
    buildah(sb, &["commit", "--format", "oci", &ctr, name]);
    buildah(sb, &["rm", &ctr]);
}

#[test]
fn buildah_build_push_and_podman_pull() {
    let reg = registry();
    let sb = Sandbox::new("buildah");
    let repo = unique_repo("buildah");
    let content = format!("hello {}\n", random_hex(16));
    build_scratch(&sb, "localhost/e2e-scratch", "amd64", &content);

    let dest = image_ref(&repo, "v1");
    let digest_file = sb.path("digest");
    buildah(
        &sb,
        &[
            "push",
            "--tls-verify=false",
            "--creds",
            &creds(),
            "--digestfile",
            &digest_file.display().to_string(),
            "localhost/e2e-scratch",
            &format!("docker://{dest}"),
        ],
    );
    let pushed_digest = fs::read_to_string(&digest_file).unwrap().trim().to_string();

    // The registry has the manifest under the tag with the digest buildah reported.
    let m = reg
        .assert_manifest_digest(&repo, "v1", &pushed_digest)
        .json();
    assert_eq!(m["layers"].as_array().unwrap().len(), 1);

    // A fresh podman storage pulls it back; the file content survives.
    let sb2 = Sandbox::new("podman-pull");
    podman(
        &sb2,
        &["pull", "--tls-verify=false", "--creds", &creds(), &dest],
    );
    let run = podman(&sb2, &["image", "inspect", &dest]);
    let v = run.json();
    assert_eq!(v[0]["Digest"], pushed_digest.as_str(), "{run:?}");
    assert_eq!(v[0]["Architecture"], "amd64");
    assert_eq!(v[0]["Labels"]["org.example.test"], "tollgate");
    // The file content survives the round trip.
    assert_eq!(read_from_image(&sb2, &dest, "hello.txt"), content);
}

#[test]
fn podman_manifest_push_all_multi_arch() {
    let reg = registry();
    let sb = Sandbox::new("podman-manifest");
    let repo = unique_repo("multiarch");
    build_scratch(&sb, "localhost/e2e-amd64", "amd64", "amd64\n");
    build_scratch(&sb, "localhost/e2e-arm64", "arm64", "arm64\n");

    podman(&sb, &["manifest", "create", "localhost/e2e-list"]);
    podman(
        &sb,
        &[
            "manifest",
            "add",
            "localhost/e2e-list",
            "containers-storage:localhost/e2e-amd64",
        ],
    );
    podman(
        &sb,
        &[
            "manifest",
            "add",
            "localhost/e2e-list",
            "containers-storage:localhost/e2e-arm64",
        ],
    );
    let run = podman(&sb, &["manifest", "inspect", "localhost/e2e-list"]);
    assert_eq!(
        run.json()["manifests"].as_array().unwrap().len(),
        2,
        "{run:?}"
    );

    let dest = image_ref(&repo, "multi");
    podman(
        &sb,
        &[
            "manifest",
            "push",
            "--all",
            "--tls-verify=false",
            "--creds",
            &creds(),
            "localhost/e2e-list",
            &format!("docker://{dest}"),
        ],
    );

    // The registry returns an index (OCI or Docker list) of two platform manifests, each
    // of which is present.
    let r = reg.get_manifest(&repo, "multi");
    r.expect(200);
    let ct = r.must_header("Content-Type").to_string();
    assert!(
        ct == OCI_INDEX || ct == DOCKER_MANIFEST_LIST,
        "not an index: {r:?}"
    );
    let idx = r.json();
    let manifests = idx["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2, "{r:?}");
    let mut archs: Vec<&str> = manifests
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    archs.sort();
    assert_eq!(archs, ["amd64", "arm64"]);
    for m in manifests {
        let d = m["digest"].as_str().unwrap();
        let r = reg.get_manifest(&repo, d);
        r.expect(200);
        assert_eq!(
            r.must_header("Content-Type"),
            m["mediaType"].as_str().unwrap()
        );
        assert_eq!(r.body.len() as u64, m["size"].as_u64().unwrap());
    }

    // Pulling the list for arm64 in a fresh storage picks the arm64 image.
    let sb2 = Sandbox::new("podman-pull-arm");
    podman(
        &sb2,
        &[
            "pull",
            "--arch",
            "arm64",
            "--tls-verify=false",
            "--creds",
            &creds(),
            &dest,
        ],
    );
    let v = podman(&sb2, &["image", "inspect", &dest]).json();
    assert_eq!(v[0]["Architecture"], "arm64");
}

#[test]
fn podman_pulls_image_pushed_over_http() {
    // An image assembled by the test helpers (tar+gzip layer, config with diff ids) is
    // accepted by containers/image, which verifies digests and diff ids on pull.
    let reg = registry();
    let sb = Sandbox::new("podman-http");
    let repo = unique_repo("podman-http");
    let content = random_hex(40);
    let img = reg.push_image_files(
        &repo,
        "v1",
        "amd64",
        &[("srv/data/content.txt", content.as_bytes())],
    );
    let src = image_ref(&repo, "v1");
    podman(
        &sb,
        &["pull", "--tls-verify=false", "--creds", &creds(), &src],
    );
    let v = podman(&sb, &["image", "inspect", &src]).json();
    assert_eq!(v[0]["Digest"], img.digest());
    assert_eq!(read_from_image(&sb, &src, "srv/data/content.txt"), content);

    // Without credentials the pull is refused.
    let sb2 = Sandbox::new("podman-noauth");
    let mut c = sb2.containers_cmd("podman");
    c.args(["pull", "--tls-verify=false", &src]);
    let run = run_command(&mut c, None, sb2.timeout);
    assert!(!run.status.success(), "anonymous pull must fail:\n{run:?}");
}

//! crane (go-containerregistry): login, copy between repositories (cross-repo mount), ls,
//! digest, tag, catalog, append and delete.

use tollgate_e2e::*;

#[test]
fn crane_copy_mounts_across_repositories() {
    let reg = registry();
    let sb = crane_logged_in("crane");
    let a = unique_repo("crane-a");
    let b = unique_repo("crane-b");
    let img = reg.push_image_files(
        &a,
        "v1",
        "amd64",
        &[("etc/crane.txt", random_hex(64).as_bytes())],
    );

    // Copy with HTTP debug logs: the layer must be mounted from `a`, not re-uploaded.
    let run = sb.run(
        "crane",
        &[
            "--insecure",
            "-v",
            "copy",
            &image_ref(&a, "v1"),
            &image_ref(&b, "v1"),
        ],
    );
    let requests: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.split_once("--> ").map(|x| x.1))
        .collect();
    for blob in [&img.config.digest, &img.layers[0].digest] {
        let mount = format!("mount={}", blob.replace(':', "%3A"));
        assert!(
            requests
                .iter()
                .any(|r| r.starts_with("POST ") && r.contains(&mount)),
            "crane did not try to mount {blob}:\n{run:?}"
        );
    }
    // Every mount succeeded, so no blob data was uploaded.
    assert!(
        !requests
            .iter()
            .any(|r| r.starts_with("PATCH ")
                || (r.starts_with("PUT ") && r.contains("/blobs/uploads/"))),
        "crane uploaded blob data instead of mounting:\n{run:?}"
    );

    reg.assert_manifest_digest(&b, "v1", img.digest());
    for d in [&img.config.digest, &img.layers[0].digest] {
        reg.head(&blob_path(&b, d)).call().expect(200);
    }

    let run = sb.run("crane", &["--insecure", "digest", &image_ref(&b, "v1")]);
    assert_eq!(run.stdout.trim(), img.digest());

    sb.run("crane", &["--insecure", "tag", &image_ref(&b, "v1"), "v2"]);
    let run = sb.run("crane", &["--insecure", "ls", &format!("{}/{b}", reg.host)]);
    let tags: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(tags, ["v1", "v2"], "{run:?}");

    let run = sb.run("crane", &["--insecure", "catalog", &reg.host]);
    assert!(
        run.stdout.lines().any(|l| l == a),
        "{a} not in catalog:\n{run:?}"
    );
    assert!(
        run.stdout.lines().any(|l| l == b),
        "{b} not in catalog:\n{run:?}"
    );

    // Delete by digest: both tags go with it. Not while they are the artifact's
    // last tags (docs/licensing.md): another image keeps one.
    let refused = sb.try_run(
        "crane",
        &["--insecure", "delete", &image_ref(&b, img.digest())],
    );
    assert!(refused.stderr.contains("DENIED"), "{refused:?}");
    reg.push_random_image(&b, "other");
    sb.run(
        "crane",
        &["--insecure", "delete", &image_ref(&b, img.digest())],
    );
    reg.get_manifest(&b, img.digest())
        .expect_error(404, "MANIFEST_UNKNOWN");
    reg.get_manifest(&b, "v1").expect(404);
    let run = sb.try_run("crane", &["--insecure", "digest", &image_ref(&b, "v2")]);
    assert!(
        !run.status.success(),
        "digest of a deleted image must fail:\n{run:?}"
    );
    // The source repository is untouched.
    reg.get_manifest(&a, "v1").expect(200);
}

#[test]
fn crane_append_and_pull() {
    let reg = registry();
    let sb = crane_logged_in("crane-append");
    let repo = unique_repo("crane-append");
    let (layer, _) = targz_layer(&[("opt/app/data.bin", &random_bytes(200_000))]);
    let layer_path = sb.path("layer.tar.gz");
    std::fs::write(&layer_path, &layer).unwrap();

    let dest = image_ref(&repo, "appended");
    let run = sb.run(
        "crane",
        &[
            "--insecure",
            "append",
            "-f",
            &layer_path.display().to_string(),
            "-t",
            &dest,
        ],
    );
    let pushed = run.stdout.trim().to_string();
    assert!(pushed.contains("@sha256:"), "{run:?}");
    let digest = pushed.split('@').nth(1).unwrap();

    let m = reg.assert_manifest_digest(&repo, "appended", digest).json();
    let layers = m["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["digest"], sha256_digest(&layer).as_str());

    // crane pull writes a tarball; its config must be the one in the registry.
    let run = sb.run("crane", &["--insecure", "config", &dest]);
    let config: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let cfg_blob = reg
        .get(&blob_path(&repo, m["config"]["digest"].as_str().unwrap()))
        .call();
    cfg_blob.expect(200);
    assert_eq!(config, cfg_blob.json());
    let out = sb.path("pulled.tar");
    sb.run(
        "crane",
        &["--insecure", "pull", &dest, &out.display().to_string()],
    );
    assert!(std::fs::metadata(&out).unwrap().len() > 200_000);
}

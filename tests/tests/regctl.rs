//! regctl (regclient): registry settings and login, image copy with referrers, artifact
//! put/tree, and tag listing across many tags with and without explicit pagination.

use std::fs;

use tollgate_e2e::*;

fn tag_ls(sb: &Sandbox, repo: &str, extra: &[&str]) -> Vec<String> {
    let target = format!("{}/{repo}", registry().host);
    let mut args = vec!["tag", "ls"];
    args.extend(extra);
    args.push(&target);
    sb.run("regctl", &args)
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every string value in a JSON tree whose key is `key`.
fn find_all(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == key {
                    if let Some(s) = x.as_str() {
                        out.push(s.to_string());
                    }
                }
                find_all(x, key, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| find_all(x, key, out)),
        _ => {}
    }
}

#[test]
fn regctl_copy_artifacts_and_tree() {
    let reg = registry();
    let sb = regctl_logged_in("regctl");
    let a = unique_repo("regctl-a");
    let b = unique_repo("regctl-b");
    let img = reg.push_image_files(&a, "v1", "amd64", &[("etc/regctl.txt", b"regctl")]);

    // An SBOM referring to the image.
    let sbom = format!(
        "{{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"{}\"}}",
        random_hex(8)
    );
    fs::write(sb.work().join("sbom.json"), &sbom).unwrap();
    sb.run(
        "regctl",
        &[
            "artifact",
            "put",
            "--subject",
            &image_ref(&a, "v1"),
            "--artifact-type",
            "application/spdx+json",
            "-f",
            "sbom.json",
            "-m",
            "application/spdx+json",
        ],
    );

    // Copy image and referrers to another repository.
    sb.run(
        "regctl",
        &[
            "image",
            "copy",
            "--referrers",
            &image_ref(&a, "v1"),
            &image_ref(&b, "v1"),
        ],
    );
    reg.assert_manifest_digest(&b, "v1", img.digest());
    let run = sb.run("regctl", &["image", "digest", &image_ref(&b, "v1")]);
    assert_eq!(run.stdout.trim(), img.digest());

    // The tree of the copy shows the SBOM as a referrer.
    let run = sb.run(
        "regctl",
        &[
            "artifact",
            "tree",
            "--format",
            "{{jsonPretty .}}",
            &image_ref(&b, "v1"),
        ],
    );
    let tree = run.json();
    let mut types = Vec::new();
    find_all(&tree, "artifactType", &mut types);
    assert!(
        types.iter().any(|t| t == "application/spdx+json"),
        "SBOM missing from the tree:\n{run:?}"
    );
    let run = sb.run(
        "regctl",
        &[
            "artifact",
            "tree",
            "--filter-artifact-type",
            "application/vnd.none",
            "--format",
            "{{jsonPretty .}}",
            &image_ref(&b, "v1"),
        ],
    );
    let mut types = Vec::new();
    find_all(&run.json(), "artifactType", &mut types);
    assert!(
        !types.iter().any(|t| t == "application/spdx+json"),
        "filter ignored:\n{run:?}"
    );

    // The SBOM content is retrievable through regctl.
    let run = sb.run(
        "regctl",
        &[
            "artifact",
            "get",
            "--subject",
            &image_ref(&b, "v1"),
            "--filter-artifact-type",
            "application/spdx+json",
        ],
    );
    assert_eq!(run.stdout, sbom);

    // Referrer fallback tags (sha256-...) are an implementation detail of registries
    // without the referrers API; the real tags must be exactly v1.
    let tags: Vec<String> = tag_ls(&sb, &b, &[])
        .into_iter()
        .filter(|t| !t.starts_with("sha256-"))
        .collect();
    assert_eq!(tags, ["v1"]);
}

/// Pushes `n` tags (t000…) on one manifest; returns them sorted.
fn push_many_tags(repo: &str, n: usize) -> Vec<String> {
    let reg = registry();
    let img = reg.push_random_image(repo, "t000");
    let mut tags = vec!["t000".to_string()];
    for i in 1..n {
        let t = format!("t{i:03}");
        reg.push_manifest(repo, &t, OCI_MANIFEST, &img.manifest);
        tags.push(t);
    }
    tags.sort();
    tags
}

#[test]
fn regctl_tag_ls_lists_every_tag() {
    let sb = regctl_logged_in("regctl-tags");
    let repo = unique_repo("regctl-tags");
    let want = push_many_tags(&repo, 130);
    let mut got = tag_ls(&sb, &repo, &[]);
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn regctl_tag_ls_paginated() {
    let sb = regctl_logged_in("regctl-pages");
    let repo = unique_repo("regctl-pages");
    let want = push_many_tags(&repo, 130);
    let mut all: Vec<String> = Vec::new();
    let mut last = String::new();
    for _ in 0..20 {
        let mut extra = vec!["--limit", "50"];
        if !last.is_empty() {
            extra.extend(["--last", last.as_str()]);
        }
        let page = tag_ls(&sb, &repo, &extra);
        assert!(page.len() <= 50, "--limit 50 returned {} tags", page.len());
        if page.is_empty() {
            break;
        }
        last = page.last().unwrap().clone();
        all.extend(page);
    }
    assert_eq!(all, want, "pages of 50 must cover every tag once, in order");
}

//! Signatures: cosign (key pair, no transparency log) and notation (test certificate and a
//! trust policy) sign an image pushed to the registry and verify it; an unsigned image
//! fails verification.

use std::fs;

use tollgate_e2e::*;

/// Pushes the image to sign (`v1`) and one left unsigned into a fresh repository;
/// returns (repository, to sign, unsigned).
fn push_signed_and_unsigned(label: &str) -> (String, Image, Image) {
    let reg = registry();
    let repo = unique_repo(label);
    let img = reg.push_random_image(&repo, "v1");
    let unsigned = reg.push_random_image(&repo, "unsigned");
    (repo, img, unsigned)
}

/// Verification of an unsigned image failed for want of a signature (`stderr_says`), not
/// for another reason.
#[track_caller]
fn assert_unsigned_refused(run: &Run, stderr_says: &str) {
    assert!(
        !run.status.success(),
        "an unsigned image must not verify:\n{run:?}"
    );
    assert!(
        run.stderr.contains(stderr_says),
        "expected `{stderr_says}`, not another error:\n{run:?}"
    );
}

// ---------------------------------------------------------------------------------------
// cosign
// ---------------------------------------------------------------------------------------

const COSIGN_PASSWORD: &str = "e2e-cosign-password";

fn cosign_sandbox() -> Sandbox {
    let mut sb = Sandbox::new("cosign");
    sb.write_registry_auth();
    sb.env("COSIGN_PASSWORD", COSIGN_PASSWORD);
    // No network beyond the registry: never reach for Sigstore's public services.
    sb.env("TUF_ROOT", sb.path("home/.sigstore/root"));
    sb
}

#[test]
fn cosign_sign_and_verify() {
    let reg = registry();
    let sb = cosign_sandbox();
    let (repo, img, unsigned) = push_signed_and_unsigned("cosign");

    sb.run("cosign", &["generate-key-pair"]);
    assert!(sb.work().join("cosign.key").is_file() && sb.work().join("cosign.pub").is_file());

    let target = image_ref(&repo, img.digest());
    cosign_sign(&sb, &target);

    // The signature is stored in the registry: as a referrer (cosign 3's bundle format;
    // through the referrers API, or the `sha256-<hex>` referrers tag where there is none) or
    // under cosign's legacy `sha256-<hex>.sig` tag.
    let fallback_tag = img.digest().replace(':', "-");
    let legacy = reg
        .get_manifest(&repo, &format!("{fallback_tag}.sig"))
        .status
        == 200;
    let referrers = reg.get(&referrers_path(&repo, img.digest())).call();
    let as_referrer = referrers.status == 200
        && referrers.json()["manifests"]
            .as_array()
            .map(|m| !m.is_empty())
            .unwrap_or(false);
    let tag_schema = reg.get_manifest(&repo, &fallback_tag).status == 200;
    assert!(
        legacy || as_referrer || tag_schema,
        "no cosign signature found in the registry"
    );

    let verify = |key: &str, reference: &str| {
        let mut args = vec!["verify", "--key", key, "--insecure-ignore-tlog=true"];
        args.extend(COSIGN_REGISTRY_FLAGS);
        args.push(reference);
        sb.try_run("cosign", &args)
    };
    let run = verify("cosign.pub", &target);
    assert!(
        run.status.success(),
        "verification of the signed image failed:\n{run:?}"
    );
    assert!(run.stdout.contains(img.digest()), "{run:?}");

    let run = verify("cosign.pub", &image_ref(&repo, unsigned.digest()));
    assert_unsigned_refused(&run, "no signatures found");

    // A different key does not verify the signature.
    fs::create_dir_all(sb.work().join("other")).unwrap();
    let mut c = sb.cmd("cosign");
    c.args(["generate-key-pair"])
        .current_dir(sb.work().join("other"));
    sb.run_cmd(&mut c, None);
    let run = verify("other/cosign.pub", &target);
    assert!(
        !run.status.success(),
        "a signature must not verify with another key:\n{run:?}"
    );
    assert!(
        run.stderr.contains("no matching"),
        "expected a signature mismatch, not another error:\n{run:?}"
    );
}

// ---------------------------------------------------------------------------------------
// notation
// ---------------------------------------------------------------------------------------

fn notation_sandbox() -> Sandbox {
    let reg = registry();
    let mut sb = Sandbox::new("notation");
    sb.env("NOTATION_USERNAME", reg.user.as_str());
    sb.env("NOTATION_PASSWORD", reg.password.as_str());
    sb
}

#[test]
fn notation_sign_and_verify() {
    let sb = notation_sandbox();
    let (repo, img, unsigned) = push_signed_and_unsigned("notation");
    let key = "tollgate-e2e.example";

    sb.run("notation", &["cert", "generate-test", "--default", key]);
    // Trust only certificates in the store the test key was added to.
    let policy = json!({
        "version": "1.0",
        "trustPolicies": [{
            "name": "tollgate-e2e",
            "registryScopes": ["*"],
            "signatureVerification": {"level": "strict"},
            "trustStores": [format!("ca:{key}")],
            "trustedIdentities": ["*"],
        }],
    });
    let policy_file = sb.work().join("trustpolicy.json");
    fs::write(&policy_file, serde_json::to_vec_pretty(&policy).unwrap()).unwrap();
    sb.run(
        "notation",
        &[
            "policy",
            "import",
            "--force",
            &policy_file.display().to_string(),
        ],
    );

    let target = image_ref(&repo, img.digest());
    // Prefer the referrers API, falling back to the tag schema only if it is missing.
    let run = sb.run(
        "notation",
        &[
            "sign",
            "--insecure-registry",
            "--force-referrers-tag=false",
            &target,
        ],
    );
    assert!(run.stdout.contains("Successfully signed"), "{run:?}");

    let run = sb.run("notation", &["ls", "--insecure-registry", &target]);
    assert!(
        run.stdout.contains("application/vnd.cncf.notary.signature"),
        "{run:?}"
    );

    let run = sb.run("notation", &["verify", "--insecure-registry", &target]);
    assert!(run.stdout.contains("Successfully verified"), "{run:?}");

    let run = sb.try_run(
        "notation",
        &[
            "verify",
            "--insecure-registry",
            &image_ref(&repo, unsigned.digest()),
        ],
    );
    assert_unsigned_refused(&run, "no signature is associated");
}

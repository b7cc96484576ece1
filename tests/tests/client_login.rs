//! Real clients log in with a personal access token of a fresh account and move an
//! image through the bearer flow: skopeo, crane, regctl and podman each pull what
//! the previous one pushed.

use tollgate_e2e::accounts::*;
use tollgate_e2e::*;

fn token_requests() -> usize {
    let state = std::env::var("TOLLGATE_STATE").expect("serve-test.sh exports TOLLGATE_STATE");
    let log = std::fs::read_to_string(format!("{state}/wrangler.log")).unwrap();
    log.lines().filter(|l| l.contains("GET /token 200")).count()
}

#[test]
fn skopeo_crane_regctl_and_podman_log_in_with_a_token() {
    let reg = registry();
    let user = vendor_user("read_write");
    let repo = |n: &str| format!("{}-{n}", unique_repo("login"));
    let (a, b, c, d) = (repo("a"), repo("b"), repo("c"), repo("d"));
    let img = reg.push_image_files(
        &a,
        "v1",
        "amd64",
        &[("etc/login.txt", random_hex(32).as_bytes())],
    );
    let before = token_requests();
    let sb = Sandbox::new("client-login");
    let secret = user.token.as_bytes();

    let authfile = sb.path("skopeo-auth.json").display().to_string();
    let login = [
        "login",
        "--tls-verify=false",
        "--authfile",
        &authfile,
        "-u",
        &user.email,
        "--password-stdin",
        &reg.host,
    ];
    sb.run_with_stdin("skopeo", &login, secret);
    let (from, to) = (
        format!("docker://{}", image_ref(&a, "v1")),
        format!("docker://{}", image_ref(&b, "v1")),
    );
    sb.run(
        "skopeo",
        &[
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--authfile",
            &authfile,
            &from,
            &to,
        ],
    );
    reg.assert_manifest_digest(&b, "v1", img.digest());

    sb.run_with_stdin(
        "crane",
        &[
            "auth",
            "login",
            &reg.host,
            "-u",
            &user.email,
            "--password-stdin",
        ],
        secret,
    );
    sb.run(
        "crane",
        &[
            "--insecure",
            "copy",
            &image_ref(&b, "v1"),
            &image_ref(&c, "v1"),
        ],
    );
    reg.assert_manifest_digest(&c, "v1", img.digest());

    regctl_login(&sb, &user.email, secret);
    sb.run(
        "regctl",
        &["image", "copy", &image_ref(&c, "v1"), &image_ref(&d, "v1")],
    );
    reg.assert_manifest_digest(&d, "v1", img.digest());

    let podman_login = [
        "login",
        "--tls-verify=false",
        "-u",
        &user.email,
        "--password-stdin",
        &reg.host,
    ];
    sb.run_cmd(sb.containers_cmd("podman").args(podman_login), Some(secret));
    let pulled = sb.run_cmd(
        sb.containers_cmd("podman")
            .args(["pull", "--tls-verify=false", &image_ref(&d, "v1")]),
        None,
    );
    assert!(pulled.status.success(), "{pulled:?}");

    // Each client fetched bearer tokens rather than sending Basic on every request.
    assert!(token_requests() >= before + 4, "too few /token requests");
    let tokens = send(
        api("GET", &format!("/api/v1/tokens?user_id={}", user.id)),
        None,
    );
    assert!(
        tokens.json()["items"][0]["last_used_at"].is_i64(),
        "the token was used"
    );
}

//! Registry authentication end to end: the bearer challenge, `/token` (GET and the
//! OAuth2 form), what a bearer token grants, forged and stale credentials, roles,
//! and real clients logging in with personal access tokens.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use tollgate_e2e::accounts::*;
use tollgate_e2e::*;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn challenge(resp: &Resp) -> String {
    resp.must_header("WWW-Authenticate").to_string()
}

#[test]
fn requests_without_credentials_get_the_bearer_challenge() {
    let reg = registry();
    let realm = format!(r#"Bearer realm="{}/token",service="{}""#, reg.url, reg.host);
    let resp = reg.get("/v2/").no_auth().call();
    resp.expect_error(401, "UNAUTHORIZED");
    assert_eq!(challenge(&resp), realm);

    let repo = unique_repo("challenge");
    let resp = reg.get(&manifest_path(&repo, "latest")).no_auth().call();
    resp.expect_error(401, "UNAUTHORIZED");
    assert_eq!(
        challenge(&resp),
        format!(r#"{realm},scope="repository:{repo}:pull""#)
    );
    let resp = reg.post(&uploads_path(&repo)).no_auth().call();
    assert_eq!(
        challenge(&resp),
        format!(r#"{realm},scope="repository:{repo}:pull,push""#)
    );
    let resp = reg.delete(&manifest_path(&repo, "latest")).no_auth().call();
    assert_eq!(
        challenge(&resp),
        format!(r#"{realm},scope="repository:{repo}:delete""#)
    );
    let resp = reg.get("/v2/_catalog").no_auth().call();
    assert_eq!(
        challenge(&resp),
        format!(r#"{realm},scope="registry:catalog:*""#)
    );

    let resp = reg.get("/v2/").basic(&reg.user, "wrong").call();
    resp.expect_error(401, "UNAUTHORIZED");
    let resp = reg
        .get("/v2/")
        .no_auth()
        .header("Authorization", "Bearer garbage")
        .call();
    resp.expect_error(401, "UNAUTHORIZED");
}

#[test]
fn token_endpoint_grants_what_was_asked_and_allowed() {
    let reg = registry();
    let repo = unique_repo("grant");
    let admin = bearer(
        &reg.user,
        &reg.password,
        &[
            &format!("repository:{repo}:pull,push,delete"),
            "registry:catalog:*",
        ],
    );
    let access = &claims(&admin)["access"];
    assert_eq!(access[0]["name"], repo.as_str());
    assert_eq!(access[0]["actions"], json!(["pull", "push", "delete"]));
    assert_eq!(
        access[1],
        json!({"type": "registry", "name": "catalog", "actions": ["*"]})
    );
    assert_eq!(claims(&admin)["aud"], reg.host.as_str());

    let ro = vendor_user("read_only");
    let token = bearer(
        &ro.email,
        &ro.token,
        &[&format!("repository:{repo}:pull,push")],
    );
    assert_eq!(
        claims(&token)["access"],
        json!([{"type": "repository", "name": repo, "actions": ["pull"]}])
    );

    let login = bearer(&ro.email, &ro.password, &[]);
    assert_eq!(
        claims(&login)["access"],
        json!([]),
        "docker login: credentials checked, nothing granted"
    );

    let resp = reg
        .get("/token")
        .basic(&ro.email, "not-the-password")
        .call();
    resp.expect_error(401, "UNAUTHORIZED");
    let resp = reg.get("/token").no_auth().call();
    resp.expect_error(401, "UNAUTHORIZED");

    let resp = reg
        .get(&format!("/token?service={}&offline_token=true", reg.host))
        .basic(&ro.email, &ro.token)
        .call();
    resp.expect(200);
    let json = resp.json();
    assert_eq!(json["expires_in"], 300);
    assert!(json["issued_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(json["token"], json["access_token"]);
    assert!(json["refresh_token"].is_string());
}

#[test]
fn oauth2_password_and_refresh_grants() {
    let reg = registry();
    let repo = unique_repo("oauth");
    let form = |pairs: &[(&str, &str)]| -> Resp {
        let body: Vec<String> = pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.replace(':', "%3A")
                        .replace(',', "%2C")
                        .replace('@', "%40")
                )
            })
            .collect();
        reg.post("/token")
            .no_auth()
            .header("Content-Type", "application/x-www-form-urlencoded")
            .bytes(body.join("&").as_bytes())
    };
    let scope = format!("repository:{repo}:pull,push");
    let resp = form(&[
        ("grant_type", "password"),
        ("username", &reg.user),
        ("password", &reg.password),
        ("service", &reg.host),
        ("scope", &scope),
        ("client_id", "e2e"),
        ("access_type", "offline"),
    ]);
    resp.expect(200);
    let refresh = resp.json()["refresh_token"].as_str().unwrap().to_string();
    let access = resp.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        claims(&access)["access"][0]["actions"],
        json!(["pull", "push"])
    );
    reg.post(&uploads_path(&repo))
        .no_auth()
        .header("Authorization", &format!("Bearer {access}"))
        .call()
        .expect(202);

    let resp = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &refresh),
        ("service", &reg.host),
        ("scope", &scope),
    ]);
    resp.expect(200);
    let again = resp.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims(&again)["access"][0]["name"], repo.as_str());

    form(&[("grant_type", "refresh_token"), ("refresh_token", &access)])
        .expect_error(401, "UNAUTHORIZED");
    form(&[
        ("grant_type", "password"),
        ("username", &reg.user),
        ("password", "wrong"),
    ])
    .expect_error(401, "UNAUTHORIZED");
    form(&[("grant_type", "client_credentials")]).expect(400);
}

#[test]
fn bearer_tokens_reach_only_their_scope() {
    let reg = registry();
    let a = unique_repo("scope-a");
    let b = unique_repo("scope-b");
    let token = bearer(
        &reg.user,
        &reg.password,
        &[&format!("repository:{a}:pull,push")],
    );
    let auth = format!("Bearer {token}");
    reg.post(&uploads_path(&a))
        .no_auth()
        .header("Authorization", &auth)
        .call()
        .expect(202);
    let resp = reg
        .post(&uploads_path(&b))
        .no_auth()
        .header("Authorization", &auth)
        .call();
    resp.expect_error(401, "UNAUTHORIZED");
    assert!(challenge(&resp).contains(&format!(
        r#"scope="repository:{b}:pull,push",error="insufficient_scope""#
    )));
    let resp = reg
        .delete(&manifest_path(&a, "latest"))
        .no_auth()
        .header("Authorization", &auth)
        .call();
    resp.expect_error(401, "UNAUTHORIZED");
    reg.get("/v2/")
        .no_auth()
        .header("Authorization", &auth)
        .call()
        .expect(200);
}

#[test]
fn read_only_users_pull_but_are_denied_pushes() {
    let reg = registry();
    let repo = unique_repo("readonly");
    let img = reg.push_image_files(&repo, "v1", "amd64", &[("etc/ro.txt", b"read only")]);
    let ro = vendor_user("read_only");
    reg.get(&manifest_path(&repo, "v1"))
        .basic(&ro.email, &ro.token)
        .call()
        .expect(200);
    reg.post(&uploads_path(&repo))
        .basic(&ro.email, &ro.token)
        .call()
        .expect_error(403, "DENIED");
    reg.delete(&manifest_path(&repo, img.digest()))
        .basic(&ro.email, &ro.token)
        .call()
        .expect_error(403, "DENIED");
    let token = bearer(
        &ro.email,
        &ro.token,
        &[&format!("repository:{repo}:pull,push")],
    );
    let resp = reg
        .post(&uploads_path(&repo))
        .no_auth()
        .header("Authorization", &format!("Bearer {token}"))
        .call();
    resp.expect_error(403, "DENIED");

    // A real client through the bearer flow: skopeo pulls, and its push is refused.
    let sb = Sandbox::new("readonly-skopeo");
    sb.write_registry_auth_as(&ro.email, &ro.token);
    let src = format!("docker://{}", image_ref(&repo, "v1"));
    let dir = format!("dir:{}", sb.path("copy").display());
    sb.run(
        "skopeo",
        &[
            "copy",
            "--src-tls-verify=false",
            "--authfile",
            &sb.path("home/auth.json").display().to_string(),
            &src,
            &dir,
        ],
    );
    let dest = format!("docker://{}", image_ref(&repo, "v2"));
    let push = sb.try_run(
        "skopeo",
        &[
            "copy",
            "--dest-tls-verify=false",
            "--authfile",
            &sb.path("home/auth.json").display().to_string(),
            &dir,
            &dest,
        ],
    );
    assert!(
        !push.status.success(),
        "read_only push must fail:\n{push:?}"
    );
    assert!(push.stderr.to_lowercase().contains("denied"), "{push:?}");
}

/// A manifest push checks its credential inside its write batch: every credential
/// that may not push is refused as before, and nothing it sent is stored.
#[test]
fn manifest_pushes_are_refused_to_credentials_that_may_not_push() {
    let reg = registry();
    let repo = unique_repo("push-check");
    let img = reg.push_image_files(&repo, "v1", "amd64", &[("etc/p.txt", b"pushed")]);
    let put_body_as = |auth: &str, tag: &str, manifest: &[u8]| {
        reg.put(&manifest_path(&repo, tag))
            .no_auth()
            .header("Authorization", auth)
            .header("Content-Type", OCI_MANIFEST)
            .bytes(manifest)
    };
    let put_as = |auth: &str, tag: &str| put_body_as(auth, tag, &img.manifest);
    let basic = |email: &str, secret: &str| {
        format!("Basic {}", base64(format!("{email}:{secret}").as_bytes()))
    };
    let writer = vendor_user("read_write");
    put_as(&basic(&writer.email, &writer.token), "by-writer").expect(201);
    let ro = vendor_user("read_only");
    put_as(&basic(&ro.email, &ro.token), "by-reader").expect_error(403, "DENIED");
    put_as(&basic(&writer.email, "tgpat_not-a-token"), "by-guess")
        .expect_error(401, "UNAUTHORIZED");
    put_as(&basic(&ro.email, &writer.token), "by-other-name").expect_error(401, "UNAUTHORIZED");
    let pull_only = bearer(
        &writer.email,
        &writer.token,
        &[&format!("repository:{repo}:pull")],
    );
    let resp = put_as(&format!("Bearer {pull_only}"), "by-pull-token");
    resp.expect_error(401, "UNAUTHORIZED");
    assert!(challenge(&resp).contains(r#"error="insufficient_scope""#));
    let ro_push = bearer(
        &ro.email,
        &ro.token,
        &[&format!("repository:{repo}:pull,push")],
    );
    put_as(&format!("Bearer {ro_push}"), "by-reader-bearer").expect_error(403, "DENIED");
    let push = bearer(
        &writer.email,
        &writer.token,
        &[&format!("repository:{repo}:pull,push")],
    );
    put_as(&format!("Bearer {push}"), "by-bearer").expect(201);
    // A missing blob is only named to a caller that may push.
    let mut dangling = String::from_utf8(img.manifest.clone()).unwrap();
    dangling = dangling.replace(
        img.layers[0].digest.as_str(),
        &format!("sha256:{}", "0".repeat(64)),
    );
    let dangling_as = |auth: &str| put_body_as(auth, "dangling", dangling.as_bytes());
    dangling_as(&basic(&ro.email, &ro.token)).expect_error(403, "DENIED");
    dangling_as(&basic(&writer.email, &writer.token)).expect_error(400, "MANIFEST_BLOB_UNKNOWN");

    let id = tokens_of(&writer.id)[0]["id"].as_str().unwrap().to_string();
    send(api("DELETE", &format!("/api/v1/tokens/{id}")), None).expect(204);
    put_as(&basic(&writer.email, &writer.token), "by-revoked").expect_error(401, "UNAUTHORIZED");
    put_as(&format!("Bearer {push}"), "by-revoked-bearer").expect_error(401, "UNAUTHORIZED");
    for tag in ["by-writer", "by-bearer"] {
        reg.get(&manifest_path(&repo, tag))
            .header("Accept", MANIFEST_ACCEPT)
            .call()
            .expect(200);
    }
    for tag in [
        "by-reader",
        "by-guess",
        "by-other-name",
        "by-pull-token",
        "by-reader-bearer",
        "dangling",
        "by-revoked",
        "by-revoked-bearer",
    ] {
        reg.get(&manifest_path(&repo, tag))
            .header("Accept", MANIFEST_ACCEPT)
            .call()
            .expect_error(404, "MANIFEST_UNKNOWN");
    }
}

#[test]
fn customers_see_nothing_until_licensed() {
    let reg = registry();
    let repo = unique_repo("customer");
    let img = reg.push_image_files(&repo, "v1", "amd64", &[("etc/c.txt", b"customer")]);
    let user = customer_user(&customer("Hidden"));
    reg.get(&manifest_path(&repo, "v1"))
        .basic(&user.email, &user.token)
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
    let layer = &img.layers[0].digest;
    for method in ["GET", "HEAD"] {
        let resp = reg
            .req(method, &blob_path(&repo, layer))
            .basic(&user.email, &user.token)
            .call();
        assert_eq!(resp.status, 404, "{method} of a hidden blob: {resp:?}");
    }
    reg.get(&blob_path(&repo, layer)).call().expect(200);
    reg.get(&format!("/v2/{repo}/tags/list"))
        .basic(&user.email, &user.token)
        .call()
        .expect_error(404, "NAME_UNKNOWN");
    let catalog = reg
        .get("/v2/_catalog")
        .basic(&user.email, &user.token)
        .call();
    catalog.expect(200);
    assert_eq!(catalog.json()["repositories"], json!([]));
    reg.post(&uploads_path(&repo))
        .basic(&user.email, &user.token)
        .call()
        .expect_error(403, "DENIED");
    let token = bearer(
        &user.email,
        &user.token,
        &[&format!("repository:{repo}:pull")],
    );
    assert_eq!(claims(&token)["access"], json!([]));
}

#[test]
fn revoked_and_expired_tokens_fail_on_the_next_request() {
    let reg = registry();
    let user = vendor_user("read_write");
    let repo = unique_repo("revoke");
    let jwt = bearer(
        &user.email,
        &user.token,
        &[&format!("repository:{repo}:pull,push")],
    );
    let as_bearer = || {
        reg.post(&uploads_path(&repo))
            .no_auth()
            .header("Authorization", &format!("Bearer {jwt}"))
            .call()
    };
    // Manifest reads send the credential lookup and the read in one round trip:
    // that path must refuse as well.
    let img = reg.push_image_files(&repo, "v1", "amd64", &[("etc/r.txt", b"revoked")]);
    let pull_jwt = bearer(
        &user.email,
        &user.token,
        &[&format!("repository:{repo}:pull")],
    );
    let manifest_as = |auth: &str| {
        reg.get(&manifest_path(&repo, img.digest()))
            .no_auth()
            .header("Authorization", auth)
            .header("Accept", MANIFEST_ACCEPT)
            .call()
    };
    let basic = format!(
        "Basic {}",
        base64(format!("{}:{}", user.email, user.token).as_bytes())
    );
    let pull_bearer = format!("Bearer {pull_jwt}");
    manifest_as(&basic).expect(200);
    manifest_as(&pull_bearer).expect(200);
    reg.get("/v2/")
        .basic(&user.email, &user.token)
        .call()
        .expect(200);
    as_bearer().expect(202);
    let id = tokens_of(&user.id)[0]["id"].as_str().unwrap().to_string();
    send(api("DELETE", &format!("/api/v1/tokens/{id}")), None).expect(204);
    reg.get("/v2/")
        .basic(&user.email, &user.token)
        .call()
        .expect_error(401, "UNAUTHORIZED");
    as_bearer().expect_error(401, "UNAUTHORIZED");
    manifest_as(&basic).expect_error(401, "UNAUTHORIZED");
    manifest_as(&pull_bearer).expect_error(401, "UNAUTHORIZED");
    reg.get("/token")
        .basic(&user.email, &user.token)
        .call()
        .expect_error(401, "UNAUTHORIZED");
    assert!(tokens_of(&user.id)[0]["revoked_at"].is_i64());

    let resp = send(
        api("POST", "/api/v1/tokens"),
        Some(&json!({"name": "short", "user_id": user.id, "expires_at": now() + 3})),
    );
    resp.expect(201);
    let short = resp.json()["secret"].as_str().unwrap().to_string();
    reg.get("/v2/")
        .basic(&user.email, &short)
        .call()
        .expect(200);
    std::thread::sleep(std::time::Duration::from_secs(4));
    reg.get("/v2/")
        .basic(&user.email, &short)
        .call()
        .expect_error(401, "UNAUTHORIZED");
}

fn tokens_of(user_id: &str) -> Vec<Value> {
    let resp = send(
        api("GET", &format!("/api/v1/tokens?user_id={user_id}")),
        None,
    );
    resp.expect(200);
    resp.json()["items"].as_array().unwrap().clone()
}

#[test]
fn forged_and_misdirected_bearer_tokens_are_refused() {
    let reg = registry();
    let key = std::env::var("TOLLGATE_JWT_KEY").expect("serve-test.sh exports TOLLGATE_JWT_KEY");
    let repo = unique_repo("forged");
    let genuine = bearer(
        &reg.user,
        &reg.password,
        &[&format!("repository:{repo}:pull,push")],
    );
    let base = claims(&genuine);
    let t = now();
    let with = |changes: Value| {
        let mut c = base.clone();
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let try_token = |token: &str| {
        reg.post(&uploads_path(&repo))
            .no_auth()
            .header("Authorization", &format!("Bearer {token}"))
            .call()
    };
    // Control: a token minted here with the registry's key and fresh times works, so
    // each refusal below is for the one thing changed.
    let fresh = with(json!({"iat": t, "nbf": t, "exp": t + 60}));
    try_token(&sign_jwt(&key, &fresh)).expect(202);

    let other_key = "11".repeat(32);
    try_token(&sign_jwt(&other_key, &fresh)).expect_error(401, "UNAUTHORIZED");
    try_token(&sign_jwt(
        &key,
        &with(json!({"iat": t - 600, "nbf": t - 600, "exp": t - 300})),
    ))
    .expect_error(401, "UNAUTHORIZED");
    try_token(&sign_jwt(
        &key,
        &with(json!({"iat": t, "nbf": t, "exp": t + 60, "aud": "elsewhere.example"})),
    ))
    .expect_error(401, "UNAUTHORIZED");
    try_token(&sign_jwt(
        &key,
        &with(json!({"iat": t, "nbf": t, "exp": t + 60, "kind": "refresh"})),
    ))
    .expect_error(401, "UNAUTHORIZED");
    let unsigned = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(&serde_json::to_vec(&fresh).unwrap())
    );
    try_token(&unsigned).expect_error(401, "UNAUTHORIZED");
    let mut parts: Vec<String> = genuine.split('.').map(str::to_string).collect();
    parts[1] = base64url(
        &serde_json::to_vec(&with(
            json!({"access": [{"type": "repository", "name": "other", "actions": ["*"]}]}),
        ))
        .unwrap(),
    );
    try_token(&parts.join(".")).expect_error(401, "UNAUTHORIZED");
}

#[test]
fn curl_with_basic_credentials_works() {
    let reg = registry();
    let admin_password =
        std::env::var("TOLLGATE_ADMIN_PASSWORD").expect("serve-test.sh exports it");
    for secret in [reg.password.as_str(), admin_password.as_str()] {
        let out = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-u",
                &format!("{}:{secret}", reg.user),
            ])
            .arg(format!("{}/v2/_catalog", reg.url))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    }
}

fn limit(name: &str) -> u64 {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("serve-test.sh exports {name}"))
        .parse()
        .unwrap()
}

#[test]
fn failed_passwords_are_rate_limited_per_account() {
    let reg = registry();
    let user = vendor_user("read_only");
    for _ in 0..limit("TOLLGATE_FAILURES_PER_ACCOUNT") {
        reg.get("/token")
            .basic(&user.email, "wrong password")
            .call()
            .expect_error(401, "UNAUTHORIZED");
    }
    let resp = reg.get("/token").basic(&user.email, &user.password).call();
    resp.expect_error(429, "TOO_MANY_REQUESTS");
    let wait: u64 = resp.must_header("Retry-After").parse().unwrap();
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    reg.get("/v2/")
        .basic(&user.email, &user.password)
        .call()
        .expect_error(429, "TOO_MANY_REQUESTS");
    let sign_in = send(
        reg.post("/api/v1/session").no_auth(),
        Some(&json!({"email": user.email, "password": user.password})),
    );
    sign_in.expect(429);
    assert!(sign_in.header("Retry-After").is_some());
    // A valid token cannot be guessed, so failures never lock it out.
    reg.get("/v2/")
        .basic(&user.email, &user.token)
        .call()
        .expect(200);
    let forged = format!("tgpat_{}", "A".repeat(43));
    reg.get("/v2/")
        .basic(&user.email, &forged)
        .call()
        .expect_error(429, "TOO_MANY_REQUESTS");
}

#[test]
fn failed_credentials_are_rate_limited_per_address() {
    let reg = registry();
    // TEST-NET-2 is this test's alone: another test's failures from the same
    // address would reach the limit early.
    let address = format!("198.51.100.{}", random_u64() % 250);
    let forged = format!("tgpat_{}", "B".repeat(43));
    for i in 0..limit("TOLLGATE_FAILURES_PER_ADDRESS") {
        let email = format!("nobody-{i}-{}@e2e.test", random_hex(6));
        let resp = reg
            .get("/v2/")
            .basic(&email, &forged)
            .header("CF-Connecting-IP", &address)
            .call();
        resp.expect_error(401, "UNAUTHORIZED");
    }
    let user = vendor_user("read_only");
    let from = |address: &str, secret: &str| {
        reg.get("/v2/")
            .basic(&user.email, secret)
            .header("CF-Connecting-IP", address)
            .call()
    };
    from(&address, &user.password).expect_error(429, "TOO_MANY_REQUESTS");
    from("203.0.113.7", &user.password).expect(200);
    from(&address, &user.token).expect(200);
}

#[test]
fn d1_holds_no_secret_in_plain_text() {
    let state = std::env::var("TOLLGATE_STATE").expect("serve-test.sh exports TOLLGATE_STATE");
    let user = vendor_user("read_write");
    let admin_password = std::env::var("TOLLGATE_ADMIN_PASSWORD").unwrap();
    let reg = registry();
    // Sign in once so a session exists too.
    let resp = send(
        reg.post("/api/v1/session").no_auth(),
        Some(&json!({"email": user.email, "password": user.password})),
    );
    resp.expect(200);
    let cookie = resp
        .must_header("Set-Cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let session = cookie.split_once('=').unwrap().1.to_string();
    // An upstream registry's password (docs/pull-through.md), stored encrypted.
    let (robot, upstream) = (
        format!("robot-{}", random_hex(16)),
        format!("upstream-{}", random_hex(16)),
    );
    let setting = json!({"url": "https://registry.example", "repository": "a/b",
        "auth": "token", "username": robot, "password": upstream});
    let path = format!("/api/v1/artifacts/{}/upstream", unique_repo("d1-upstream"));
    send(api("PUT", &path), Some(&setting)).expect(200);
    let dir = std::path::Path::new(&state).join("data/v3/d1");
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path)
            } else {
                files.push(path)
            }
        }
    }
    let bytes: Vec<u8> = files
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap())
        .collect();
    assert!(
        bytes.len() > 4096,
        "found no database under {}",
        dir.display()
    );
    assert!(
        contains(&bytes, user.email.as_bytes()),
        "the user is stored: the search works"
    );
    assert!(
        contains(&bytes, robot.as_bytes()),
        "the upstream is stored beside its sealed password"
    );
    for secret in [
        &user.password,
        &user.token,
        &reg.password,
        &admin_password,
        &session,
        &upstream,
    ] {
        assert!(
            !contains(&bytes, secret.as_bytes()),
            "a secret is stored in plain text"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A bearer token from `/token` is a registry grant, scoped to repositories (or to
/// nothing, as `docker login` fetches it). On the management API it would act as
/// the whole account: mint tokens, create customers. It is refused there.
#[test]
fn registry_bearer_tokens_do_not_act_on_the_management_api() {
    let admin = vendor_user("admin");
    let repo = unique_repo("api-bearer");
    let pull = format!("repository:{repo}:pull");
    for scopes in [&[pull.as_str()][..], &[][..]] {
        let token = bearer(&admin.email, &admin.token, scopes);
        let as_bearer = |req: Req<'static>| {
            req.no_auth()
                .header("Authorization", &format!("Bearer {token}"))
        };
        send(as_bearer(api("GET", "/api/v1/me")), None).expect(401);
        send(
            as_bearer(api("POST", "/api/v1/tokens")),
            Some(&json!({"name": "minted with a registry token"})),
        )
        .expect(401);
        send(
            as_bearer(api("POST", "/api/v1/customers")),
            Some(&json!({"name": format!("bearer-{}", random_hex(6))})),
        )
        .expect(401);
    }
}

/// Issue 15, finding 8: failures count per account *from one address*, so someone
/// failing from another address cannot lock the account out.
#[test]
fn finding_8_failures_from_one_address_do_not_lock_out_another() {
    let reg = registry();
    let user = vendor_user("admin");
    // TEST-NET-1, which no other test fails from: a shared address would add
    // these failures to another test's per-address count (a CI run once hit
    // `failed_credentials_are_rate_limited_per_address`'s 198.51.100.x).
    let [attacker, owner] = [1, 128].map(|low| format!("192.0.2.{}", low + random_u64() % 127));
    let token = |address: &str, password: &str| {
        reg.get("/token")
            .basic(&user.email, password)
            .header("CF-Connecting-IP", address)
            .call()
    };
    for _ in 0..limit("TOLLGATE_FAILURES_PER_ACCOUNT") {
        token(&attacker, "wrong password").expect_error(401, "UNAUTHORIZED");
    }
    token(&attacker, &user.password).expect_error(429, "TOO_MANY_REQUESTS");
    token(&owner, &user.password).expect(200);
    send(
        reg.post("/api/v1/session")
            .no_auth()
            .header("CF-Connecting-IP", &owner),
        Some(&json!({"email": user.email, "password": user.password})),
    )
    .expect(200);
}

/// Issue 15, finding 8: a wrong password for an unknown email takes the path a
/// known one does — the same answer, counted the same way — so neither the
/// answer nor the limits tell which emails have accounts. (That the slow hash
/// runs for it is the core's test; timing it here would be flaky.)
#[test]
fn finding_8_unknown_emails_fail_like_known_ones() {
    let reg = registry();
    let user = vendor_user("read_only");
    let unknown = format!("nobody-{}@e2e.test", random_hex(8));
    let address = format!("203.0.113.{}", random_u64() % 250);
    let try_password = |email: &str| {
        reg.get("/token")
            .basic(email, "wrong password")
            .header("CF-Connecting-IP", &address)
            .call()
    };
    let (known, missing) = (try_password(&user.email), try_password(&unknown));
    known.expect_error(401, "UNAUTHORIZED");
    missing.expect_error(401, "UNAUTHORIZED");
    assert_eq!(known.text(), missing.text());
    assert_eq!(
        known.header("WWW-Authenticate"),
        missing.header("WWW-Authenticate")
    );
    for _ in 1..limit("TOLLGATE_FAILURES_PER_ACCOUNT") {
        try_password(&unknown).expect_error(401, "UNAUTHORIZED");
    }
    try_password(&unknown).expect_error(429, "TOO_MANY_REQUESTS");
}

//! The management API end to end: sessions, users, customers, customer users and
//! tokens, problem details, pagination and the origin check — every response
//! validated against `/api/v1/openapi.json`.

use tollgate_e2e::accounts::*;
use tollgate_e2e::*;

fn session_cookie(resp: &Resp) -> String {
    let set = resp.must_header("Set-Cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    set.split(';').next().unwrap().to_string()
}

#[test]
fn sign_in_sets_a_session_that_sign_out_ends() {
    let reg = registry();
    let user = vendor_user("read_write");
    let sign_in = |password: &str| {
        send(
            reg.post("/api/v1/session").no_auth(),
            Some(&json!({"email": user.email, "password": password})),
        )
    };
    sign_in("wrong password").expect(401);
    sign_in(&user.token).expect(401);
    let resp = sign_in(&user.password);
    resp.expect(200);
    assert_eq!(resp.json()["email"], user.email.as_str());
    let cookie = session_cookie(&resp);

    let me = send(
        reg.get("/api/v1/me").no_auth().header("Cookie", &cookie),
        None,
    );
    me.expect(200);
    assert_eq!(me.json()["role"], "read_write");

    // Writes with only a cookie must come from this origin.
    let write = |origin: Option<&str>| {
        let mut req = reg
            .post("/api/v1/tokens")
            .no_auth()
            .header("Cookie", &cookie);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        send(req, Some(&json!({"name": "from the dashboard"})))
    };
    write(Some("https://evil.example")).expect(403);
    write(Some(&reg.url)).expect(201);
    send(
        reg.post("/api/v1/session")
            .no_auth()
            .header("Origin", "https://evil.example"),
        Some(&json!({"email": user.email, "password": user.password})),
    )
    .expect(403);

    let out = send(
        reg.delete("/api/v1/session")
            .no_auth()
            .header("Cookie", &cookie),
        None,
    );
    out.expect(204);
    assert!(out.must_header("Set-Cookie").contains("Max-Age=0"));
    send(
        reg.get("/api/v1/me").no_auth().header("Cookie", &cookie),
        None,
    )
    .expect(401);
    send(reg.get("/api/v1/me").no_auth(), None).expect(401);
}

#[test]
fn admins_manage_users_and_others_may_not() {
    let reg = registry();
    let rw = vendor_user("read_write");
    let ro = vendor_user("read_only");
    let create = |as_user: &Account, role: &str| {
        send(
            reg.post("/api/v1/users")
                .basic(&as_user.email, &as_user.token),
            Some(&json!({"email": format!("x-{}@e2e.test", random_hex(8)), "role": role})),
        )
    };
    create(&rw, "read_only").expect(403);
    create(&ro, "read_only").expect(403);
    send(reg.get("/api/v1/users").basic(&ro.email, &ro.token), None).expect(200);
    send(
        reg.delete(&format!("/api/v1/users/{}", ro.id))
            .basic(&rw.email, &rw.token),
        None,
    )
    .expect(403);

    let bad = |body: Value| send(api("POST", "/api/v1/users"), Some(&body));
    bad(json!({"email": "not-an-email", "role": "read_only"})).expect(400);
    bad(json!({"email": "a@b.test", "role": "root"})).expect(400);
    bad(json!({"email": "a@b.test", "role": "customer"})).expect(400);
    bad(json!({"email": "a@b.test", "role": "read_only", "password": "short"})).expect(400);
    bad(json!({"email": "a@b.test", "role": "read_only", "extra": 1})).expect(400);
    bad(json!({"email": rw.email.to_uppercase(), "role": "read_only"})).expect(409);
    let resp = api("POST", "/api/v1/users")
        .header("Content-Type", "application/json")
        .bytes(b"{not json");
    openapi::check(&resp);
    resp.expect(400);
    assert_eq!(
        resp.header("Content-Type"),
        Some("application/problem+json")
    );

    send(api("GET", &format!("/api/v1/users/{}", ro.id)), None).expect(200);
    send(api("DELETE", &format!("/api/v1/users/{}", ro.id)), None).expect(204);
    send(api("GET", &format!("/api/v1/users/{}", ro.id)), None).expect(404);
    reg.get("/v2/")
        .basic(&ro.email, &ro.token)
        .call()
        .expect_error(401, "UNAUTHORIZED");
    send(api("DELETE", &format!("/api/v1/users/{}", ro.id)), None).expect(404);
}

#[test]
fn customers_and_their_users() {
    let reg = registry();
    let id = customer("Acme");
    let shown = send(api("GET", &format!("/api/v1/customers/{id}")), None);
    shown.expect(200);
    assert_eq!(shown.json()["contact"], "ops@customer.test");
    let name = shown.json()["name"].as_str().unwrap().to_string();
    send(
        api("POST", "/api/v1/customers"),
        Some(&json!({"name": name.to_lowercase()})),
    )
    .expect(409);
    send(
        api("POST", "/api/v1/customers"),
        Some(&json!({"name": "  "})),
    )
    .expect(400);

    let user = customer_user(&id);
    let listed = send(api("GET", &format!("/api/v1/customers/{id}/users")), None);
    listed.expect(200);
    assert_eq!(listed.json()["items"][0]["email"], user.email.as_str());
    assert_eq!(listed.json()["items"][0]["role"], "customer");
    send(
        api("POST", &format!("/api/v1/customers/{id}/users")),
        Some(&json!({"email": format!("y-{}@c.test", random_hex(6)), "role": "admin"})),
    )
    .expect(400);

    // A customer user manages its own tokens and sees no other account.
    let own = send(
        reg.get("/api/v1/tokens").basic(&user.email, &user.token),
        None,
    );
    own.expect(200);
    assert_eq!(own.json()["items"].as_array().unwrap().len(), 1);
    send(
        reg.get("/api/v1/customers").basic(&user.email, &user.token),
        None,
    )
    .expect(403);
    send(
        reg.get(&format!("/api/v1/tokens?user_id={}", "0".repeat(20)))
            .basic(&user.email, &user.token),
        None,
    )
    .expect(403);

    send(api("DELETE", &format!("/api/v1/customers/{id}")), None).expect(204);
    send(api("GET", &format!("/api/v1/customers/{id}")), None).expect(404);
    reg.get("/v2/")
        .basic(&user.email, &user.token)
        .call()
        .expect_error(401, "UNAUTHORIZED");
    send(api("GET", "/api/v1/customers/nope/users"), None).expect(404);
}

#[test]
fn tokens_show_their_secret_once_and_others_cannot_revoke_them() {
    let reg = registry();
    let a = vendor_user("read_write");
    let b = vendor_user("read_write");
    let created = send(
        reg.post("/api/v1/tokens").basic(&a.email, &a.token),
        Some(&json!({"name": "ci"})),
    );
    created.expect(201);
    let secret = created.json()["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("tgpat_"),
        "recognisable prefix: {secret}"
    );
    let id = created.json()["token"]["id"].as_str().unwrap().to_string();
    let listed = send(reg.get("/api/v1/tokens").basic(&a.email, &a.token), None);
    assert!(
        !listed.text().contains(&secret),
        "lists never show a secret"
    );

    send(
        reg.delete(&format!("/api/v1/tokens/{id}"))
            .basic(&b.email, &b.token),
        None,
    )
    .expect(404);
    reg.get("/v2/").basic(&a.email, &secret).call().expect(200);
    send(
        reg.post("/api/v1/tokens").basic(&a.email, &a.token),
        Some(&json!({"name": "x", "expires_at": 1})),
    )
    .expect(400);
    send(
        reg.post("/api/v1/tokens").basic(&a.email, &a.token),
        Some(&json!({"name": ""})),
    )
    .expect(400);
    send(
        reg.delete(&format!("/api/v1/tokens/{id}"))
            .basic(&a.email, &a.token),
        None,
    )
    .expect(204);
    reg.get("/v2/")
        .basic(&a.email, &secret)
        .call()
        .expect_error(401, "UNAUTHORIZED");
}

#[test]
fn lists_page_with_cursors() {
    let user = vendor_user("read_only");
    for n in 0..4 {
        send(
            api("POST", "/api/v1/tokens"),
            Some(&json!({"name": format!("t{n}"), "user_id": user.id})),
        )
        .expect(201);
    }
    let mut seen = Vec::new();
    let mut url = format!("/api/v1/tokens?user_id={}&limit=2", user.id);
    loop {
        let page = send(api("GET", &url), None);
        page.expect(200);
        let json = page.json();
        let items = json["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_string()));
        match json["next_cursor"].as_str() {
            Some(cursor) => {
                url = format!("/api/v1/tokens?user_id={}&limit=2&cursor={cursor}", user.id)
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "the account's first token and four more");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5);
    send(api("GET", "/api/v1/users?limit=0"), None).expect(400);
    send(api("GET", "/api/v1/users?limit=201"), None).expect(400);
}

#[test]
fn unknown_endpoints_and_methods_answer_in_problem_form() {
    let reg = registry();
    let resp = api("GET", "/api/v1/nothing-here").call();
    resp.expect(404);
    assert_eq!(
        resp.header("Content-Type"),
        Some("application/problem+json")
    );
    assert_eq!(resp.json()["status"], 404);
    let resp = api("PUT", "/api/v1/users").call();
    resp.expect(405);
    assert_eq!(resp.json()["title"], "Method Not Allowed");
    let doc = reg.get("/api/v1/openapi.json").no_auth().call();
    doc.expect(200);
    for path in [
        "/api/v1/session",
        "/api/v1/users",
        "/api/v1/customers/{id}/users",
        "/api/v1/tokens/{id}",
    ] {
        assert!(doc.json()["paths"][path].is_object(), "{path}");
    }
}

/// A signed-in browser session, for the CSRF tests below.
fn signed_in_cookie() -> String {
    let reg = registry();
    let user = vendor_user("admin");
    let resp = send(
        reg.post("/api/v1/session").no_auth(),
        Some(&json!({"email": user.email, "password": user.password})),
    );
    resp.expect(200);
    session_cookie(&resp)
}

/// A cross-site write that carries the cookie: `body` raw, with `content_type`.
fn cookie_write(cookie: &str, headers: &[(&str, &str)], content_type: &str) -> Resp {
    let body = json!({"name": format!("csrf-{}", random_hex(6))}).to_string();
    let mut req = registry()
        .post("/api/v1/customers")
        .no_auth()
        .header("Cookie", cookie)
        .header("Content-Type", content_type);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.bytes(body.as_bytes())
}

/// An Authorization header of a scheme Tollgate does not know is no credential at
/// all: the cookie beside it does not count either.
#[test]
fn csrf_an_unknown_authorization_scheme_does_not_fall_back_to_the_cookie() {
    let cookie = signed_in_cookie();
    let resp = cookie_write(&cookie, &[("Authorization", "Foo bar")], "text/plain");
    resp.expect(401);
}

/// A cookie-authenticated write must show it comes from this origin (Origin, or
/// Sec-Fetch-Site: same-origin) and carry JSON; a plain form post can do neither.
#[test]
fn csrf_cookie_writes_need_this_origin_and_a_json_body() {
    let reg = registry();
    let cookie = signed_in_cookie();
    let json = "application/json";
    cookie_write(&cookie, &[], json).expect(403);
    cookie_write(&cookie, &[("Sec-Fetch-Site", "cross-site")], json).expect(403);
    cookie_write(&cookie, &[("Origin", "https://evil.example")], json).expect(403);
    cookie_write(&cookie, &[("Origin", &reg.url)], "text/plain").expect(415);
    cookie_write(&cookie, &[("Sec-Fetch-Site", "same-origin")], json).expect(201);
    cookie_write(
        &cookie,
        &[("Origin", &reg.url)],
        "application/json; charset=utf-8",
    )
    .expect(201);
}

/// No answer invites a browser to ask for and then keep sending Basic credentials,
/// which a cross-site request would carry along.
#[test]
fn csrf_no_basic_challenge_a_browser_would_act_on() {
    let reg = registry();
    let failed = [
        reg.get("/token")
            .basic(&reg.user, "wrong-password-123")
            .call(),
        reg.get("/token").no_auth().call(),
        reg.get("/api/v1/me").no_auth().call(),
        reg.get("/v2/").no_auth().call(),
    ];
    for resp in failed {
        resp.expect(401);
        if let Some(challenge) = resp.header("WWW-Authenticate") {
            assert!(
                !challenge.to_ascii_lowercase().starts_with("basic"),
                "{challenge}"
            );
        }
    }
}

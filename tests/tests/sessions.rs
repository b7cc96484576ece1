//! Sessions end to end (issue 15, finding 2): every refresh token from `/token` and
//! every dashboard sign-in is a session its owner lists and revokes through
//! `/api/v1/sessions`; revoking one, signing out with it or deleting its user ends
//! it on the next request.

use tollgate_e2e::accounts::*;
use tollgate_e2e::*;

const AGENT: &str = "e2e-sessions/1.0";

/// A refresh token for `user` from the OAuth2 password grant.
fn refresh_token(user: &Account) -> String {
    let resp = token_form(&[
        ("grant_type", "password"),
        ("username", &user.email),
        ("password", &user.password),
        ("access_type", "offline"),
    ]);
    resp.expect(200);
    resp.json()["refresh_token"].as_str().unwrap().to_string()
}

/// What `POST /token` answers a refresh grant with `refresh`.
fn refresh(refresh: &str) -> Resp {
    token_form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
}

fn token_form(pairs: &[(&str, &str)]) -> Resp {
    let reg = registry();
    let service = ("service", reg.host.as_str());
    let body: Vec<String> = pairs
        .iter()
        .chain([&service])
        .map(|(k, v)| format!("{k}={}", v.replace('@', "%40").replace(':', "%3A")))
        .collect();
    reg.post("/token")
        .no_auth()
        .header("User-Agent", AGENT)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .bytes(body.join("&").as_bytes())
}

/// `user`'s sessions as they list them (Basic with their token).
fn sessions_of(user: &Account) -> Vec<Value> {
    let resp = send(
        registry()
            .get("/api/v1/sessions")
            .basic(&user.email, &user.token),
        None,
    );
    resp.expect(200);
    resp.json()["items"].as_array().unwrap().clone()
}

fn revoke(by: &Account, id: &str) -> Resp {
    send(
        registry()
            .delete(&format!("/api/v1/sessions/{id}"))
            .basic(&by.email, &by.token),
        None,
    )
}

#[test]
fn finding_2_a_revoked_refresh_token_refreshes_nothing() {
    let user = vendor_user("read_only");
    let token = refresh_token(&user);
    refresh(&token).expect(200);
    let listed = sessions_of(&user);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let session = &listed[0];
    assert_eq!(session["kind"], "refresh");
    assert_eq!(session["user_agent"], AGENT);
    assert!(session["last_used_at"].is_i64(), "the refresh was noted");
    revoke(&user, session["id"].as_str().unwrap()).expect(204);
    refresh(&token).expect_error(401, "UNAUTHORIZED");
    assert!(sessions_of(&user).is_empty());
}

#[test]
fn finding_2_sign_out_ends_the_session_it_names() {
    let reg = registry();
    let user = vendor_user("read_write");
    let token = refresh_token(&user);
    let sign_in = send(
        reg.post("/api/v1/session").no_auth(),
        Some(&json!({"email": user.email, "password": user.password})),
    );
    sign_in.expect(200);
    let cookie = sign_in
        .must_header("Set-Cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let listed = send(
        reg.get("/api/v1/sessions")
            .no_auth()
            .header("Cookie", &cookie),
        None,
    );
    listed.expect(200);
    let listed = listed.json();
    // Listed newest first by id, which orders by the second: both came within one.
    let mut kinds: Vec<(&str, bool)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap(), s["current"].as_bool().unwrap()))
        .collect();
    kinds.sort();
    assert_eq!(kinds, [("dashboard", true), ("refresh", false)]);

    let sign_out = |auth: (&str, &str)| {
        send(
            reg.delete("/api/v1/session")
                .no_auth()
                .header(auth.0, auth.1),
            None,
        )
    };
    sign_out(("Authorization", &format!("Bearer {token}"))).expect(204);
    refresh(&token).expect_error(401, "UNAUTHORIZED");
    sign_out(("Cookie", &cookie)).expect(204);
    send(
        reg.get("/api/v1/me").no_auth().header("Cookie", &cookie),
        None,
    )
    .expect(401);
    assert!(sessions_of(&user).is_empty(), "both ended");
}

#[test]
fn finding_2_only_the_owner_or_an_admin_revokes_a_session() {
    let alice = vendor_user("read_write");
    let bob = vendor_user("read_write");
    let token = refresh_token(&alice);
    let id = sessions_of(&alice)[0]["id"].as_str().unwrap().to_string();
    revoke(&bob, &id).expect(404);
    send(
        registry()
            .get(&format!("/api/v1/sessions?user_id={}", alice.id))
            .basic(&bob.email, &bob.token),
        None,
    )
    .expect(403);
    refresh(&token).expect(200);

    let as_admin = send(
        api("GET", &format!("/api/v1/sessions?user_id={}", alice.id)),
        None,
    );
    as_admin.expect(200);
    assert_eq!(as_admin.json()["items"][0]["id"], id.as_str());
    send(api("DELETE", &format!("/api/v1/sessions/{id}")), None).expect(204);
    refresh(&token).expect_error(401, "UNAUTHORIZED");

    let again = refresh_token(&alice);
    send(api("DELETE", &format!("/api/v1/users/{}", alice.id)), None).expect(204);
    refresh(&again).expect_error(401, "UNAUTHORIZED");
}

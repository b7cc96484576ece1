//! Pull-through from an upstream registry (docs/pull-through.md), the setting:
//! only an admin sets, reads or removes an artifact's upstream; the password is
//! stored encrypted and never comes back, not even in the audit log; bad URLs
//! (plain http to a host that is not loopback) and credentials that do not fit
//! the auth kind are refused; setting an upstream creates the artifact, and
//! deleting the artifact takes its upstream with it.

use serde_json::{json, Value};
use tollgate_e2e::accounts::*;
use tollgate_e2e::licenses::{artifact_path, expect_problem, list_all, new_customer};
use tollgate_e2e::*;

fn upstream_path(repo: &str) -> String {
    format!("{}/upstream", artifact_path(repo))
}

/// Sends `method` to `repo`'s upstream as `who` (the admin when `None`).
fn upstream(method: &str, repo: &str, body: Option<&Value>, who: Option<&Account>) -> Resp {
    let req = api(method, &upstream_path(repo));
    let req = match who {
        Some(a) => req.basic(&a.email, &a.token),
        None => req,
    };
    send(req, body)
}

fn basic(password: &str) -> Value {
    json!({
        "url": "http://127.0.0.1:5999",
        "repository": "mirror/app",
        "auth": "basic",
        "username": "ci",
        "password": password,
    })
}

#[test]
fn an_admin_sets_reads_and_removes_it_and_the_secret_never_comes_back() {
    let repo = unique_repo("upstream-setting");
    let password = format!("pw-{}", random_hex(16));
    let set = upstream("PUT", &repo, Some(&basic(&password)), None);
    set.expect(200);
    let shown = upstream("GET", &repo, None, None);
    shown.expect(200);
    for resp in [&set, &shown] {
        let body = resp.json();
        assert_eq!(body["url"], "http://127.0.0.1:5999");
        assert_eq!(body["repository"], "mirror/app");
        assert_eq!(
            (body["auth"].as_str(), body["username"].as_str()),
            (Some("basic"), Some("ci"))
        );
        assert_eq!(body["password_set"], true);
        assert!(!resp.text().contains(&password), "{resp:?}");
    }
    send(api("GET", &artifact_path(&repo)), None).expect(200);
    let token = json!({"url": "https://registry.example", "repository": "a/b", "auth": "token",
        "username": "robot", "password": "t0ken"});
    upstream("PUT", &repo, Some(&token), None).expect(200);
    assert_eq!(upstream("GET", &repo, None, None).json()["auth"], "token");
    let anonymous =
        json!({"url": "https://registry.example/", "repository": "a/b", "auth": "none"});
    let replaced = upstream("PUT", &repo, Some(&anonymous), None);
    replaced.expect(200);
    assert_eq!(replaced.json()["url"], "https://registry.example");
    assert_eq!(
        (
            replaced.json()["username"].clone(),
            replaced.json()["password_set"].clone()
        ),
        (Value::Null, json!(false))
    );

    upstream("DELETE", &repo, None, None).expect(204);
    expect_problem(&upstream("GET", &repo, None, None), 404);
    expect_problem(&upstream("DELETE", &repo, None, None), 404);
    let path = upstream_path(&repo);
    let recorded = list_all("/api/v1/audit?limit=200", None);
    let ours: Vec<_> = recorded
        .iter()
        .filter(|e| e["target"] == path.as_str())
        .collect();
    let actions: Vec<_> = ours
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["status"].as_u64().unwrap()))
        .collect();
    assert!(
        actions.contains(&("PUT", 200)) && actions.contains(&("DELETE", 204)),
        "{actions:?}"
    );
    assert!(!serde_json::to_string(&recorded)
        .unwrap()
        .contains(&password));
}

#[test]
fn no_one_but_an_admin_touches_it() {
    let repo = unique_repo("upstream-roles");
    upstream("PUT", &repo, Some(&basic("secret-1")), None).expect(200);
    let customer = new_customer("upstream");
    let others = [
        vendor_user("read_write"),
        vendor_user("read_only"),
        customer.user,
    ];
    for who in &others {
        expect_problem(&upstream("GET", &repo, None, Some(who)), 403);
        expect_problem(
            &upstream("PUT", &repo, Some(&basic("theirs")), Some(who)),
            403,
        );
        expect_problem(&upstream("DELETE", &repo, None, Some(who)), 403);
    }
    let anonymous = registry()
        .req("GET", &upstream_path(&repo))
        .basic("nobody@e2e.test", "nope")
        .call();
    anonymous.expect(401);
    let kept = upstream("GET", &repo, None, None);
    assert_eq!(kept.json()["username"], "ci", "unchanged: {kept:?}");
}

#[test]
fn bad_settings_are_refused_and_store_nothing() {
    let repo = unique_repo("upstream-bad");
    let with = |field: &str, value: Value| {
        let mut body = basic("pw");
        body[field] = value;
        body
    };
    let mut no_password = basic("pw");
    no_password.as_object_mut().unwrap().remove("password");
    for bad in [
        with("url", json!("http://registry.example")),
        with("url", json!("http://10.0.0.8:5000")),
        with("url", json!("https://user:pw@registry.example")),
        with("url", json!("https://registry.example/v2/")),
        with("url", json!("ftp://registry.example")),
        with("repository", json!("Not/A/Name")),
        with("auth", json!("none")),
        with("auth", json!("aws")),
        with("username", json!("c:i")),
        with("extra", json!(1)),
        no_password,
    ] {
        expect_problem(&upstream("PUT", &repo, Some(&bad), None), 400);
    }
    expect_problem(&upstream("GET", &repo, None, None), 404);
    expect_problem(&send(api("GET", &artifact_path(&repo)), None), 404);
}

#[test]
fn deleting_the_artifact_takes_its_upstream_with_it() {
    let repo = unique_repo("upstream-deleted");
    upstream("PUT", &repo, Some(&basic("pw")), None).expect(200);
    send(api("DELETE", &artifact_path(&repo)), None).expect(204);
    expect_problem(&upstream("GET", &repo, None, None), 404);
}

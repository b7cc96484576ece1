//! The audit log end to end: changes made through the API and OCI deletes are
//! recorded with their actor, role, target, status (refusals too), address and user
//! agent; only admins read the log; it pages and filters; the CSV export writes a
//! formula as text; and nothing in the API changes or deletes an event.

use serde_json::{json, Value};
use tollgate_e2e::accounts::*;
use tollgate_e2e::licenses::list_all;
use tollgate_e2e::*;

/// Every event the admin's log lists for `query` (e.g. `actor_id=…`), newest first.
fn events(query: &str) -> Vec<Value> {
    list_all(&format!("/api/v1/audit?{query}"), None)
}

#[test]
fn changes_and_oci_deletes_are_recorded_with_who_what_and_outcome() {
    let reg = registry();
    let writer = vendor_user("read_write");
    let repo = unique_repo("audit");
    reg.push_random_image(&repo, "v1");
    reg.push_random_image(&repo, "v2");

    // A change through the API, a refused one, and an OCI delete, all by `writer`.
    let as_writer = |method, path: &str| {
        reg.req(method, path)
            .basic(&writer.email, &writer.token)
            .header("User-Agent", "=HYPERLINK(\"http://evil.test\")")
    };
    send(
        as_writer("POST", "/api/v1/tokens"),
        Some(&json!({"name": "ci"})),
    )
    .expect(201);
    send(
        as_writer("POST", "/api/v1/users"),
        Some(&json!({"email": format!("x-{}@e2e.test", random_hex(6)), "role": "admin", "password": "pw-long-enough-123"})),
    )
    .expect(403);
    as_writer("DELETE", &manifest_path(&repo, "v2"))
        .call()
        .expect(202);
    // Reads are not changes.
    as_writer("GET", "/api/v1/tokens").call().expect(200);

    let mine = events(&format!("actor_id={}", writer.id));
    // Newest first by id, which orders by the second: the three came within one.
    let mut seen: Vec<(String, String, i64)> = mine
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap().to_string(),
                e["status"].as_i64().unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "DELETE".to_string(),
                format!("/v2/{repo}/manifests/v2"),
                202
            ),
            ("POST".to_string(), "/api/v1/tokens".to_string(), 201),
            ("POST".to_string(), "/api/v1/users".to_string(), 403),
        ]
    );
    for e in &mine {
        assert_eq!(e["actor_email"], writer.email.as_str(), "{e}");
        assert_eq!(e["role"], "read_write", "{e}");
        assert_eq!(e["user_agent"], "=HYPERLINK(\"http://evil.test\")", "{e}");
    }
    let deletes = events(&format!("actor_id={}&action=DELETE", writer.id));
    assert_eq!(deletes.len(), 1, "{deletes:?}");

    // The export writes the user agent as text, not as a formula.
    let csv = reg
        .get(&format!("/api/v1/audit.csv?actor_id={}", writer.id))
        .call();
    csv.expect(200);
    let text = csv.text();
    assert!(
        text.starts_with(
            "time,actor_id,actor_email,role,action,target,status,address,user_agent\r\n"
        ),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://evil.test\"\")\""),
        "{text}"
    );
    assert!(!text.contains(",=HYPERLINK"), "{text}");
}

#[test]
fn only_admins_read_the_log_and_no_one_changes_it() {
    let reg = registry();
    let cust = customer("Audit");
    for account in [
        vendor_user("read_write"),
        vendor_user("read_only"),
        customer_user(&cust),
    ] {
        for path in ["/api/v1/audit", "/api/v1/audit.csv"] {
            let r = send(
                reg.req("GET", path).basic(&account.email, &account.token),
                None,
            );
            r.expect(403);
        }
    }
    send(reg.req("GET", "/api/v1/audit").no_auth(), None).expect(401);
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        api(method, "/api/v1/audit").call().expect(405);
    }
    // The refused attempts themselves are in the log.
    let refused = events("action=DELETE&target=/api/v1/audit");
    assert!(refused.iter().any(|e| e["status"] == 405), "{refused:?}");
}

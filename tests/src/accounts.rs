//! Accounts for tests that need more than the admin: users of each role and
//! customers, created through the management API, each with a personal access
//! token; and the management API itself, every response checked against the
//! OpenAPI document.

use serde_json::{json, Value};

use crate::{openapi, random_hex, registry, Req, Resp};

/// An account made for one test.
pub struct Account {
    pub id: String,
    pub email: String,
    pub password: String,
    /// A personal access token of the account.
    pub token: String,
}

/// A management-API request as the admin (Basic with the admin's token).
pub fn api(method: &str, path: &str) -> Req<'static> {
    registry().req(method, path)
}

/// Sends `req` (with `body` as JSON when given) and checks the response against the
/// OpenAPI document.
pub fn send(req: Req<'_>, body: Option<&Value>) -> Resp {
    let resp = match body {
        Some(b) => req
            .header("Content-Type", "application/json")
            .bytes(&serde_json::to_vec(b).unwrap()),
        None => req.call(),
    };
    openapi::check(&resp);
    resp
}

/// A new vendor user with `role`, a password and a token.
pub fn vendor_user(role: &str) -> Account {
    let email = format!("{role}-{}@e2e.test", random_hex(8));
    let password = format!("pw-{}", random_hex(20));
    let resp = send(
        api("POST", "/api/v1/users"),
        Some(&json!({"email": email, "role": role, "password": password})),
    );
    resp.expect(201);
    with_token(resp.json()["id"].as_str().unwrap(), email, password)
}

/// A new customer; returns its id.
pub fn customer(label: &str) -> String {
    let resp = send(
        api("POST", "/api/v1/customers"),
        Some(
            &json!({"name": format!("{label} {}", random_hex(8)), "contact": "ops@customer.test"}),
        ),
    );
    resp.expect(201);
    resp.json()["id"].as_str().unwrap().to_string()
}

/// A new user of `customer_id` with a password and a token.
pub fn customer_user(customer_id: &str) -> Account {
    let email = format!("cust-{}@customer.test", random_hex(8));
    let password = format!("pw-{}", random_hex(20));
    let resp = send(
        api("POST", &format!("/api/v1/customers/{customer_id}/users")),
        Some(&json!({"email": email, "password": password})),
    );
    resp.expect(201);
    with_token(resp.json()["id"].as_str().unwrap(), email, password)
}

fn with_token(id: &str, email: String, password: String) -> Account {
    let resp = send(
        api("POST", "/api/v1/tokens"),
        Some(&json!({"name": "e2e", "user_id": id})),
    );
    resp.expect(201);
    Account {
        id: id.to_string(),
        email,
        password,
        token: resp.json()["secret"].as_str().unwrap().to_string(),
    }
}

/// A bearer token from `GET /token` for `scopes`, with Basic `user:secret`.
pub fn bearer(user: &str, secret: &str, scopes: &[&str]) -> String {
    let reg = registry();
    let query: String = scopes
        .iter()
        .map(|s| format!("&scope={}", s.replace(':', "%3A").replace(',', "%2C")))
        .collect();
    let resp = reg
        .get(&format!("/token?service={}{query}", reg.host))
        .basic(user, secret)
        .call();
    resp.expect(200);
    resp.json()["token"].as_str().unwrap().to_string()
}

/// The claims of a JWT (not verified: the registry does that).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&base64url_decode(payload)).unwrap()
}

pub fn base64url(data: &[u8]) -> String {
    crate::base64(data)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

fn base64url_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => panic!("not base64url: {s}"),
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        acc = (acc << 6) | u32::from(value(c));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// A JWT with `claims` signed with the Ed25519 key whose seed is `seed_hex` — to
/// forge tokens the registry must refuse (and one it must accept, as a control).
pub fn sign_jwt(seed_hex: &str, claims: &Value) -> String {
    let seed: [u8; 32] = hex::decode(seed_hex).unwrap().try_into().unwrap();
    let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed));
    let header = base64url(br#"{"alg":"EdDSA","typ":"JWT"}"#);
    let payload = base64url(&serde_json::to_vec(claims).unwrap());
    let signed = format!("{header}.{payload}");
    let signature = pair.sk.sign(signed.as_bytes(), None);
    format!("{signed}.{}", base64url(signature.as_ref()))
}

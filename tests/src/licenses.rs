//! Licensing for tests: customers with a user and a token, licenses made through
//! the management API (every response checked against the OpenAPI document), the
//! registry as a customer user sees it, and what "hidden" must look like: exactly
//! like something that does not exist.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::accounts::{self, api, send, Account};
use crate::{
    blob_path, image_ref, manifest_path, random_hex, registry, sha256_digest, Desc, Image,
    OciLayout, Registry, Req, Resp, Sandbox, MANIFEST_ACCEPT, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST,
};

// ---------------------------------------------------------------------------------------
// Customers
// ---------------------------------------------------------------------------------------

/// A customer made for one test, with one user who holds a token.
pub struct Customer {
    pub id: String,
    pub user: Account,
}

/// A fresh customer (named after `label`) with a user and a token.
pub fn new_customer(label: &str) -> Customer {
    let id = accounts::customer(label);
    let user = accounts::customer_user(&id);
    Customer { id, user }
}

impl Customer {
    /// `email:token`, as clients take credentials.
    pub fn creds(&self) -> String {
        format!("{}:{}", self.user.email, self.user.token)
    }

    /// A request to the registry with this customer's user's Basic credentials.
    pub fn req(&self, method: &str, path: &str) -> Req<'static> {
        registry()
            .req(method, path)
            .basic(&self.user.email, &self.user.token)
    }

    /// `GET` of a manifest, accepting every manifest type.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Resp {
        self.req("GET", &manifest_path(repo, reference))
            .header("Accept", MANIFEST_ACCEPT)
            .call()
    }

    /// `HEAD` of a manifest, accepting every manifest type.
    pub fn head_manifest(&self, repo: &str, reference: &str) -> Resp {
        self.req("HEAD", &manifest_path(repo, reference))
            .header("Accept", MANIFEST_ACCEPT)
            .call()
    }

    /// `GET` of a blob.
    pub fn get_blob(&self, repo: &str, digest: &str) -> Resp {
        self.req("GET", &blob_path(repo, digest)).call()
    }

    /// `GET /v2/<repo>/tags/list<query>` (`query` empty or starting with `?`).
    pub fn tags_list(&self, repo: &str, query: &str) -> Resp {
        self.req("GET", &format!("/v2/{repo}/tags/list{query}"))
            .call()
    }

    /// Every tag of `repo` the customer sees, every page followed.
    pub fn all_tags(&self, repo: &str) -> Vec<String> {
        let mut url = registry().abs(&format!("/v2/{repo}/tags/list"));
        let mut tags = Vec::new();
        for _ in 0..1000 {
            let r = self.req("GET", &url).call();
            r.expect(200);
            tags.extend(string_list(&r.json()["tags"]));
            match r.next_link() {
                Some(next) => url = next,
                None => return tags,
            }
        }
        panic!("tags/list pagination of {repo} does not end");
    }

    /// Every repository in the customer's `_catalog`, every page followed.
    pub fn catalog(&self) -> Vec<String> {
        let mut url = registry().abs("/v2/_catalog");
        let mut repos = Vec::new();
        for _ in 0..1000 {
            let r = self.req("GET", &url).call();
            r.expect(200);
            repos.extend(string_list(&r.json()["repositories"]));
            match r.next_link() {
                Some(next) => url = next,
                None => return repos,
            }
        }
        panic!("_catalog pagination does not end");
    }

    /// A management-API request as the customer's user.
    pub fn api(&self, method: &str, path: &str) -> Req<'static> {
        self.req(method, path)
    }

    /// A sandbox whose docker config and containers auth file hold this customer's
    /// credentials.
    pub fn sandbox(&self, label: &str) -> Sandbox {
        let sb = Sandbox::new(label);
        sb.write_registry_auth_as(&self.user.email, &self.user.token);
        sb
    }

    /// skopeo copies `repo:tag` as this customer, every platform and digests
    /// kept, into an OCI layout in `sb`; returns the layout.
    pub fn copy_all(&self, sb: &Sandbox, repo: &str, tag: &str) -> OciLayout {
        let layout = sb.path("layout");
        sb.run(
            "skopeo",
            &[
                "copy",
                "--all",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--src-creds",
                &self.creds(),
                &format!("docker://{}", image_ref(repo, tag)),
                &format!("oci:{}:{tag}", layout.display()),
            ],
        );
        OciLayout::open(&layout)
    }
}

/// A JSON array of strings as a `Vec` (a missing or null array is empty).
pub fn string_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().expect("a string").to_string())
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Licenses
// ---------------------------------------------------------------------------------------

/// An item covering every version of `repo`, present and future.
pub fn all_versions(repo: &str) -> Value {
    json!({"artifact": repo, "all_versions": true})
}

/// An item covering `repo` at these manifest digests.
pub fn digests(repo: &str, digests: &[&str]) -> Value {
    json!({"artifact": repo, "digests": digests})
}

/// An item covering `repo` at the digests these tags point at when the license is
/// written (the API stores them as digests).
pub fn tags(repo: &str, tags: &[&str]) -> Value {
    json!({"artifact": repo, "tags": tags})
}

/// An item covering `repo` at every tag `pattern` (a glob or a semver range) matches.
pub fn pattern(repo: &str, pattern: &str) -> Value {
    json!({"artifact": repo, "pattern": pattern})
}

/// The body of a license for `customer_id` with `items` and no expiry.
pub fn license_body(customer_id: &str, items: &[Value]) -> Value {
    json!({
        "name": format!("e2e license {}", random_hex(8)),
        "customer_id": customer_id,
        "expires_at": null,
        "items": items,
    })
}

/// `POST /api/v1/licenses` with `body` as the admin; the answer unjudged (but checked
/// against the OpenAPI document).
pub fn try_create(body: &Value) -> Resp {
    send(api("POST", "/api/v1/licenses"), Some(body))
}

/// Creates a license as the admin, asserting `201`; returns it.
#[track_caller]
pub fn create(customer_id: &str, items: &[Value]) -> Value {
    create_from(&license_body(customer_id, items))
}

/// Creates the license `body` as the admin, asserting `201`; returns it.
#[track_caller]
pub fn create_from(body: &Value) -> Value {
    let resp = try_create(body);
    resp.expect(201);
    let license = resp.json();
    assert!(
        license["id"].as_str().is_some_and(|s| !s.is_empty()),
        "{resp:?}"
    );
    assert_eq!(license["customer_id"], body["customer_id"], "{resp:?}");
    license
}

/// Creates a license that expires at `unix` seconds.
#[track_caller]
pub fn create_expiring(customer_id: &str, items: &[Value], unix: i64) -> Value {
    create_expiring_under(customer_id, items, unix, "revoke")
}

/// Creates a license that expires at `unix` seconds under the expiry `policy`
/// (`revoke` or `keep_released`).
#[track_caller]
pub fn create_expiring_under(customer_id: &str, items: &[Value], unix: i64, policy: &str) -> Value {
    let mut body = license_body(customer_id, items);
    body["expires_at"] = expiry(unix);
    body["expiry_policy"] = json!(policy);
    let license = create_from(&body);
    assert_eq!(license["expiry_policy"], policy, "{license}");
    license
}

/// The id of a license.
pub fn id_of(license: &Value) -> String {
    license["id"].as_str().expect("license id").to_string()
}

/// `/api/v1/licenses/{id}`
pub fn license_path(license: &Value) -> String {
    format!("/api/v1/licenses/{}", id_of(license))
}

/// Deletes a license as the admin, asserting `204`.
#[track_caller]
pub fn delete(license: &Value) {
    send(api("DELETE", &license_path(license)), None).expect(204);
}

/// The unix time now.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Returns once the clock is past `unix` (Unix seconds).
pub fn sleep_until_after(unix: i64) {
    while now_unix() <= unix {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// An `expires_at` value: Unix seconds, as the API writes times.
pub fn expiry(unix: i64) -> Value {
    json!(unix)
}

/// Every item a management-API list (`/api/v1/licenses?...`) shows `as_user` (the
/// admin when `None`), every page followed by cursor.
pub fn list_all(path_and_query: &str, as_user: Option<&Account>) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut url = path_and_query.to_string();
        if let Some(c) = &cursor {
            url = crate::with_query(&url, &format!("cursor={c}"));
        }
        let mut req = api("GET", &url);
        if let Some(u) = as_user {
            req = req.basic(&u.email, &u.token);
        }
        let page = send(req, None);
        page.expect(200);
        let v = page.json();
        items.extend(v["items"].as_array().expect("items").iter().cloned());
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return items,
        }
    }
    panic!("{path_and_query} does not end");
}

/// The ids in a list of licenses (or anything with an `id`), sorted.
pub fn ids(items: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = items
        .iter()
        .map(|l| l["id"].as_str().expect("id").to_string())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------
// Artifacts API
// ---------------------------------------------------------------------------------------

/// A repository name as one path segment (`acme%2Fapp`), as the API accepts it.
pub fn enc(repo: &str) -> String {
    repo.replace('/', "%2F")
}

/// `/api/v1/artifacts/{name}` with the name percent-encoded.
pub fn artifact_path(repo: &str) -> String {
    format!("/api/v1/artifacts/{}", enc(repo))
}

/// `/api/v1/artifacts/{name}/tags/{tag}` with the name percent-encoded.
pub fn artifact_tag_path(repo: &str, tag: &str) -> String {
    format!("{}/tags/{tag}", artifact_path(repo))
}

/// `PATCH /api/v1/artifacts/{name}` setting the artifact's immutable tags, as the
/// admin unless `as_user` is given.
pub fn set_immutable_tags(repo: &str, patterns: &[&str], as_user: Option<&Account>) -> Resp {
    let req = api("PATCH", &artifact_path(repo));
    let req = match as_user {
        Some(who) => req.basic(&who.email, &who.token),
        None => req,
    };
    send(req, Some(&json!({ "immutable_tags": patterns })))
}

/// A new repository (a blob upload creates it) with immutable tags turned off: for
/// tests of rules that move or delete semver-looking tags, which a new artifact's
/// default `["semver"]` would refuse (docs/immutable-tags.md).
pub fn mutable_repo(label: &str) -> String {
    let repo = crate::unique_repo(label);
    registry().push_blob(&repo, random_hex(16).as_bytes());
    set_immutable_tags(&repo, &[], None).expect(200);
    repo
}

/// Every artifact `GET /api/v1/artifacts` lists as `as_user` (the admin when `None`).
pub fn all_artifacts(as_user: Option<&Account>) -> Vec<Value> {
    list_all("/api/v1/artifacts?limit=100", as_user)
}

/// Asserts an RFC 9457 problem with `status` (and the status in the body); returns its
/// `detail`.
#[track_caller]
pub fn expect_problem(resp: &Resp, status: u16) -> String {
    resp.expect(status);
    assert_eq!(
        resp.header("Content-Type"),
        Some("application/problem+json"),
        "a problem detail:\n{resp:?}"
    );
    let v = resp.json();
    assert_eq!(v["status"], status, "{resp:?}");
    v["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("a problem without a detail:\n{resp:?}"))
        .to_string()
}

// ---------------------------------------------------------------------------------------
// Hidden is missing
// ---------------------------------------------------------------------------------------

/// Asserts that `hidden` (a request for something that exists but the caller may not
/// read) answers exactly like `missing` (the same request for something that does not
/// exist): `404`, one of the OCI error `codes`, the same codes and messages (once each
/// (hidden, missing) pair of `names` is made equal) and the same `Content-Type`.
#[track_caller]
pub fn assert_like_missing(hidden: &Resp, missing: &Resp, codes: &[&str], names: &[(&str, &str)]) {
    hidden.expect(404);
    missing.expect(404);
    if hidden.method != "HEAD" {
        hidden.expect_error_any(404, codes);
        missing.expect_error_any(404, codes);
        let normalise = |r: &Resp, hidden_side: bool| -> Vec<(String, String)> {
            r.json()["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let mut message = e["message"].as_str().unwrap().to_string();
                    for (h, m) in names {
                        message = message.replace(if hidden_side { h } else { m }, "<ref>");
                    }
                    (e["code"].as_str().unwrap().to_string(), message)
                })
                .collect()
        };
        assert_eq!(
            normalise(hidden, true),
            normalise(missing, false),
            "a hidden thing must answer like a missing one:\nhidden: {hidden:?}\nmissing: {missing:?}"
        );
    }
    assert_eq!(
        hidden.header("Content-Type"),
        missing.header("Content-Type"),
        "hidden: {hidden:?}\nmissing: {missing:?}"
    );
}

/// A digest nothing was ever pushed as.
pub fn unknown_digest() -> String {
    sha256_digest(format!("never pushed {}", random_hex(16)).as_bytes())
}

// ---------------------------------------------------------------------------------------
// Content
// ---------------------------------------------------------------------------------------

/// Pushes an OCI index of `children` (each with its platform architecture) tagged `tag`
/// (by digest when empty); returns its descriptor.
pub fn push_index(repo: &str, tag: &str, children: &[(&Image, &str)]) -> Desc {
    push_index_to(registry(), repo, tag, children)
}

/// [`push_index`] to another registry (an upstream, tests/tests/pull_through.rs).
pub fn push_index_to(
    registry: &Registry,
    repo: &str,
    tag: &str,
    children: &[(&Image, &str)],
) -> Desc {
    let manifests: Vec<Value> = children
        .iter()
        .map(|(img, arch)| {
            json!({"mediaType": OCI_MANIFEST, "digest": img.digest(), "size": img.desc.size,
                   "platform": {"architecture": arch, "os": "linux"}})
        })
        .collect();
    let body = serde_json::to_vec_pretty(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
    )
    .unwrap();
    let desc = Desc::of(OCI_INDEX, &body);
    let reference = if tag.is_empty() { &desc.digest } else { tag };
    let r = registry.push_manifest(repo, reference, OCI_INDEX, &body);
    assert_eq!(
        r.header("Docker-Content-Digest"),
        Some(desc.digest.as_str())
    );
    desc
}

/// Pushes (by digest) an artifact of `artifact_type` whose `subject` is `subject`;
/// returns (its descriptor, its payload blob's descriptor).
pub fn push_referrer(
    repo: &str,
    subject: &Desc,
    artifact_type: &str,
    payload: &[u8],
) -> (Desc, Desc) {
    let reg = registry();
    reg.push_blob(repo, crate::EMPTY_JSON);
    reg.push_blob(repo, payload);
    let layer = Desc::of("application/vnd.tollgate.test.payload", payload);
    let manifest = crate::oci_manifest(
        &Desc::of(OCI_EMPTY, crate::EMPTY_JSON),
        std::slice::from_ref(&layer),
        Some(json!({"artifactType": artifact_type, "subject": subject.json()})),
    );
    let desc = Desc::of(OCI_MANIFEST, &manifest);
    reg.push_manifest(repo, &desc.digest, OCI_MANIFEST, &manifest);
    (desc, layer)
}

/// Tags the manifest of `img` as `tag` too (as the admin).
pub fn retag(img: &Image, tag: &str) {
    registry().push_manifest(&img.repo, tag, OCI_MANIFEST, &img.manifest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_as_one_segment() {
        assert_eq!(artifact_path("e2e/a-b"), "/api/v1/artifacts/e2e%2Fa-b");
        assert_eq!(
            artifact_tag_path("a/b/c", "v1"),
            "/api/v1/artifacts/a%2Fb%2Fc/tags/v1"
        );
    }
}

//! The pull path's caches (docs/edge.md): a warm pull makes no D1 round trip and a
//! second pull of a blob reads nothing from R2 (`Server-Timing` says so); licenses
//! still apply to every request; writes through the isolate are seen at once;
//! writes made behind its back — here straight into the local D1 database, as
//! another isolate or colo would make them — are seen within `CACHE_TTL_SECONDS`;
//! expiry is exact; and with the TTL at 0 nothing is cached.
//!
//! What needs a quiet server — round-trip counts no other test's write disturbs,
//! and writes into its database, which would make a busy server's own writes fail
//! with a locked database — runs on servers of its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tollgate_e2e::accounts::{api, send};
use tollgate_e2e::licenses::{self, new_customer, now_unix, Customer};
use tollgate_e2e::own_server::OwnServer;
use tollgate_e2e::{
    blob_path, manifest_path, registry, sha256_digest, unique_repo, Registry, Resp, MANIFEST_ACCEPT,
};

/// What one response's `Server-Timing` says: D1 round trips, R2 calls, and what
/// each cache answered (`credential=hit row=miss …`).
#[derive(Debug)]
struct Timing {
    d1: u32,
    r2: u32,
    cache: String,
}

fn timing(resp: &Resp) -> Timing {
    let header = resp.must_header("Server-Timing");
    let count = |metric: &str| {
        header
            .split(',')
            .map(str::trim)
            .find(|m| m.split(';').next() == Some(metric))
            .and_then(|m| m.split(';').find_map(|p| p.strip_prefix("count=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {metric} count in Server-Timing: {header}"))
    };
    let cache = header
        .split("desc=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string();
    Timing {
        d1: count("d1"),
        r2: count("r2"),
        cache,
    }
}

/// How late past the bound a change may be seen: the requests' own time.
const SLACK: Duration = Duration::from_millis(1500);

/// The local D1 database of the server whose state directory is `state`.
fn database(state: &Path) -> PathBuf {
    let dir = state.join("data/v3/d1/miniflare-D1DatabaseObject");
    let found = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|x| x == "sqlite")
                && p.file_name().is_some_and(|n| n != "metadata.sqlite")
        });
    found.unwrap_or_else(|| panic!("no D1 database in {}", dir.display()))
}

/// Runs `sql` on the database under `state` directly, not through the registry:
/// a write the registry's isolate knows nothing of.
fn behind_the_isolate(state: &Path, sql: &str) {
    let script = "import sqlite3, sys\n\
                  db = sqlite3.connect(sys.argv[1], timeout=30)\n\
                  db.execute(sys.argv[2])\n\
                  db.commit()";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(database(state))
        .arg(sql)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "{sql}");
}

/// `CACHE_TTL_SECONDS` of the quiet servers.
const TTL: Duration = Duration::from_secs(4);

/// A server of a test's own with caches living `TTL`.
fn quiet_server() -> OwnServer {
    OwnServer::start(&[("TOLLGATE_TEST_CACHE_TTL", &TTL.as_secs().to_string())])
}

/// Polls `seen` until it holds, failing once `deadline` has passed.
fn until(deadline: Instant, what: &str, mut seen: impl FnMut() -> bool) {
    loop {
        if seen() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not seen by the deadline"
        );
        sleep(Duration::from_millis(200));
    }
}

fn digest_of(resp: &Resp) -> String {
    resp.expect(200);
    resp.must_header("Docker-Content-Digest").to_string()
}

/// A management-API call to `reg` as its admin, answering `201` with JSON.
fn create(reg: &Registry, path: &str, body: Value) -> Value {
    let resp = reg
        .post(path)
        .header("Content-Type", "application/json")
        .bytes(body.to_string().as_bytes());
    resp.expect(201);
    resp.json()
}

/// A customer of `reg` licensed for every version of `repo`, with a user holding a
/// token: (user id, `email`, token, license id).
struct Licensee {
    user_id: String,
    email: String,
    token: String,
    license_id: String,
}

impl Licensee {
    fn new(reg: &Registry, repo: &str) -> Licensee {
        let customer = create(reg, "/api/v1/customers", json!({"name": unique_repo("c")}));
        let id = customer["id"].as_str().unwrap();
        let email = format!("{}@customer.test", tollgate_e2e::random_hex(8));
        let user = create(
            reg,
            &format!("/api/v1/customers/{id}/users"),
            json!({"email": email}),
        );
        let user_id = user["id"].as_str().unwrap().to_string();
        let token = create(
            reg,
            "/api/v1/tokens",
            json!({"name": "t", "user_id": user_id}),
        );
        let items = json!([{"artifact": repo, "all_versions": true}]);
        let body = json!({"name": "l", "customer_id": id, "items": items});
        let license = create(reg, "/api/v1/licenses", body);
        Licensee {
            user_id,
            email,
            token: token["secret"].as_str().unwrap().to_string(),
            license_id: license["id"].as_str().unwrap().to_string(),
        }
    }

    fn get(&self, reg: &Registry, path: &str) -> Resp {
        reg.get(path)
            .basic(&self.email, &self.token)
            .header("Accept", MANIFEST_ACCEPT)
            .call()
    }
}

/// Pulls with `pull` until the answer satisfies `changed`, after `change` was made
/// behind the isolate's back right after a pull that filled the caches: the change
/// shows within the bound, and — on a server nobody else writes to — not at the
/// first pull after it, while the cached answer still stands. A write through the
/// isolate first empties its caches, so that pull fills them afresh.
fn seen_within_the_bound(
    reg: &Registry,
    pull: &dyn Fn() -> Resp,
    change: &dyn Fn(),
    changed: &dyn Fn(&Resp) -> bool,
) {
    create(
        reg,
        "/api/v1/customers",
        json!({"name": unique_repo("empties")}),
    );
    let filled = Instant::now();
    let first = pull();
    assert!(
        !changed(&first),
        "changed before the change: {}",
        first.text()
    );
    change();
    let stale = pull();
    if filled.elapsed() < TTL - Duration::from_millis(500) {
        assert!(
            !changed(&stale),
            "the change was seen at once: {:?}",
            timing(&stale)
        );
    }
    // The deadline is the bound: `until` fails the test past it.
    until(filled + TTL + SLACK, "the change", || changed(&pull()));
}

/// A GET as one caller or another.
type Get<'a> = &'a dyn Fn(&str) -> Resp;

/// On a quiet server: warm pulls make no round trip, a blob's second pull reads
/// nothing from R2, and writes made behind the isolate's back — a tag moved, a
/// token revoked, a license emptied — are seen within the bound.
#[test]
fn warm_pulls_are_free_and_writes_elsewhere_are_seen_within_the_bound() {
    let server = quiet_server();
    let reg = &server.registry;
    let repo = unique_repo("edge-warm");
    let img = reg.push_random_image(&repo, "v1");
    let other = reg.push_random_image(&repo, "v2");
    let customer = Licensee::new(reg, &repo);
    let as_vendor = |p: &str| reg.get(p).header("Accept", MANIFEST_ACCEPT).call();
    let as_customer = |p: &str| customer.get(reg, p);
    let callers: [(&str, Get); 2] = [("vendor", &as_vendor), ("customer", &as_customer)];
    let layer = &img.layers[0];
    let blob = blob_path(&repo, &layer.digest);
    for (who, get) in callers {
        let manifest = manifest_path(&repo, "v1");
        get(&manifest).expect(200);
        let warm = get(&manifest);
        assert_eq!(digest_of(&warm), img.digest());
        let t = timing(&warm);
        assert_eq!((t.d1, t.r2), (0, 0), "{who}'s warm manifest GET: {t:?}");

        get(&blob).expect(200);
        // The colo cache is filled once the first response is on its way.
        let deadline = Instant::now() + Duration::from_secs(10);
        until(deadline, "the blob served from the colo cache", || {
            timing(&get(&blob)).cache.contains("bytes=hit")
        });
        let warm = get(&blob);
        warm.expect(200);
        assert_eq!(sha256_digest(&warm.body), layer.digest);
        let t = timing(&warm);
        assert_eq!((t.d1, t.r2), (0, 0), "{who}'s warm blob GET: {t:?}");
    }
    // Refused writes change nothing, so they empty no cache: otherwise anyone could
    // flush every isolate's caches onto the database with unauthenticated POSTs.
    for (method, path) in [
        ("POST", "/api/v1/customers".to_string()),
        ("POST", format!("/v2/{repo}/blobs/uploads/")),
        ("DELETE", manifest_path(&repo, "v1")),
        ("POST", "/token".to_string()),
    ] {
        let refused = reg.req(method, &path).no_auth().call();
        assert!(
            (400..500).contains(&refused.status),
            "anonymous {method} {path}: {}",
            refused.status
        );
    }
    for (who, get) in callers {
        let t = timing(&get(&manifest_path(&repo, "v1")));
        assert_eq!(t.d1, 0, "{who}'s manifest GET after refused writes: {t:?}");
    }
    // Nor do a customer's own writes that change nothing a cache holds: a token
    // created, a bearer token and a session from `POST /token`.
    let service = format!("service={}", reg.host);
    let email = customer.email.replace('@', "%40");
    let grant = format!(
        "grant_type=password&username={email}&password={}",
        customer.token
    );
    let writes = [
        (
            "/api/v1/tokens",
            "application/json",
            r#"{"name":"mine"}"#.to_string(),
        ),
        (
            "/token",
            "application/x-www-form-urlencoded",
            format!("{grant}&access_type=offline&{service}"),
        ),
    ];
    for (path, content_type, body) in writes {
        let made = reg
            .post(path)
            .basic(&customer.email, &customer.token)
            .header("Content-Type", content_type)
            .bytes(body.as_bytes());
        assert!((200..300).contains(&made.status), "{path}: {}", made.text());
    }
    for (who, get) in callers {
        let t = timing(&get(&manifest_path(&repo, "v1")));
        assert_eq!(
            t.d1, 0,
            "{who}'s manifest GET after the customer's writes: {t:?}"
        );
    }
    // A customer without a license learns nothing from the caches: a cached manifest
    // or blob answers as one that never existed, Server-Timing included.
    let elsewhere = unique_repo("edge-elsewhere");
    reg.push_random_image(&elsewhere, "v1");
    let stranger = Licensee::new(reg, &elsewhere);
    // Its first request notes the token's use, a write of its own.
    stranger.get(reg, "/v2/").expect(200);
    let missing_blob = blob_path(&repo, &format!("sha256:{}", "0".repeat(64)));
    for (hidden, missing) in [
        (manifest_path(&repo, "v1"), manifest_path(&repo, "never")),
        (blob.clone(), missing_blob),
    ] {
        for _ in 0..3 {
            let (h, m) = (stranger.get(reg, &hidden), stranger.get(reg, &missing));
            assert_eq!((h.status, &h.body), (m.status, &m.body));
            let (th, tm) = (timing(&h), timing(&m));
            assert_eq!(
                (th.d1, th.r2, &th.cache),
                (tm.d1, tm.r2, &tm.cache),
                "{hidden}"
            );
        }
    }
    // A range is read from R2, and is the right part of the blob.
    let part = reg.get_blob_range(&repo, &layer.digest, "bytes=3-10");
    part.expect(206);
    assert!(timing(&part).r2 >= 1);
    let whole = reg.get(&blob).call();
    assert_eq!(part.body, whole.body[3..=10]);

    let state = server.state();
    let moved = format!(
        "UPDATE tags SET digest = '{}' WHERE repo = '{repo}' AND tag = 'v1'",
        other.digest()
    );
    seen_within_the_bound(
        reg,
        &|| as_vendor(&manifest_path(&repo, "v1")),
        &|| behind_the_isolate(state, &moved),
        &|r| digest_of(r) == other.digest(),
    );
    let emptied = format!(
        "DELETE FROM license_items WHERE license_id = '{}'",
        customer.license_id
    );
    seen_within_the_bound(
        reg,
        &|| as_customer(&manifest_path(&repo, "v2")),
        &|| behind_the_isolate(state, &emptied),
        &|r| r.status == 404,
    );
    as_customer(&blob).expect_error(404, "BLOB_UNKNOWN");
    let revoked = format!(
        "UPDATE tokens SET revoked_at = CAST(strftime('%s', 'now') AS INTEGER) \
         WHERE user_id = '{}'",
        customer.user_id
    );
    seen_within_the_bound(
        reg,
        &|| as_customer(&manifest_path(&repo, "v2")),
        &|| behind_the_isolate(state, &revoked),
        &|r| r.status == 401,
    );
}

#[test]
fn with_a_ttl_of_zero_nothing_is_cached() {
    let server = OwnServer::start(&[("TOLLGATE_TEST_CACHE_TTL", "0")]);
    let reg = &server.registry;
    let repo = unique_repo("edge-strict");
    let v1 = reg.push_random_image(&repo, "v1");
    let v2 = reg.push_random_image(&repo, "v2");
    for _ in 0..3 {
        let got = reg.get_manifest(&repo, "v1");
        assert_eq!(digest_of(&got), v1.digest());
        let t = timing(&got);
        assert_eq!(t.cache, "credential=miss", "nothing but the database asked");
    }
    // Blob bytes are another matter: content-addressed, never stale, cached or
    // not by BLOB_CACHE_MAX_BYTES alone. Their row is read every time.
    let blob = blob_path(&repo, &v1.layers[0].digest);
    for _ in 0..3 {
        let t = timing(&reg.get(&blob).call());
        assert!(
            t.d1 >= 1 && t.cache.starts_with("credential=miss bytes="),
            "{t:?}"
        );
    }
    let sql = format!(
        "UPDATE tags SET digest = '{}' WHERE repo = '{repo}' AND tag = 'v1'",
        v2.digest()
    );
    behind_the_isolate(server.state(), &sql);
    assert_eq!(digest_of(&reg.get_manifest(&repo, "v1")), v2.digest());
}

// The suite's server, busy with other tests: what must hold however the caches
// stand.

fn licensed_customer(label: &str, repo: &str) -> (Customer, Value) {
    let customer = new_customer(label);
    let license = licenses::create(&customer.id, &[licenses::all_versions(repo)]);
    (customer, license)
}

#[test]
fn a_cached_blob_or_manifest_is_still_refused_without_a_license() {
    let reg = registry();
    let repo = unique_repo("edge-refused");
    let img = reg.push_random_image(&repo, "v1");
    let (licensed, _) = licensed_customer("EdgeLicensed", &repo);
    let other = new_customer("EdgeUnlicensed");
    let layer = blob_path(&repo, &img.layers[0].digest);
    for _ in 0..3 {
        licensed.req("GET", &layer).call().expect(200);
        licensed.get_manifest(&repo, "v1").expect(200);
    }
    for _ in 0..2 {
        other
            .req("GET", &layer)
            .call()
            .expect_error(404, "BLOB_UNKNOWN");
        other
            .get_manifest(&repo, "v1")
            .expect_error(404, "MANIFEST_UNKNOWN");
    }
}

#[test]
fn writes_through_the_isolate_are_seen_at_once() {
    let reg = registry();
    let repo = unique_repo("edge-rw");
    let v1 = reg.push_random_image(&repo, "latest");
    let (customer, license) = licensed_customer("EdgeReadYourWrites", &repo);
    for _ in 0..2 {
        assert_eq!(
            digest_of(&customer.get_manifest(&repo, "latest")),
            v1.digest()
        );
    }
    // A push moves the tag: the very next pull sees it.
    let v2 = reg.push_random_image(&repo, "latest");
    assert_eq!(
        digest_of(&customer.get_manifest(&repo, "latest")),
        v2.digest()
    );
    assert_eq!(digest_of(&reg.get_manifest(&repo, "latest")), v2.digest());
    // A new tag is in the customer's (cached) tag list at once.
    assert_eq!(customer.all_tags(&repo), ["latest"]);
    reg.push_random_image(&repo, "v2");
    assert_eq!(customer.all_tags(&repo), ["latest", "v2"]);

    // The license deleted: hidden at once.
    licenses::delete(&license);
    customer
        .get_manifest(&repo, "latest")
        .expect_error(404, "MANIFEST_UNKNOWN");

    // The token revoked: refused at once.
    licenses::create(&customer.id, &[licenses::all_versions(&repo)]);
    customer.get_manifest(&repo, "latest").expect(200);
    let tokens = send(
        api(
            "GET",
            &format!("/api/v1/tokens?user_id={}", customer.user.id),
        ),
        None,
    );
    let id = tokens.json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    send(api("DELETE", &format!("/api/v1/tokens/{id}")), None).expect(204);
    customer
        .get_manifest(&repo, "latest")
        .expect_error(401, "UNAUTHORIZED");
}

/// A license that expires is refused from its expiry on, though a cache entry read
/// just before would otherwise live on for the TTL.
#[test]
fn a_license_expiring_is_enforced_at_its_expiry_cache_or_not() {
    let reg = registry();
    let repo = unique_repo("edge-expiry");
    reg.push_random_image(&repo, "v1");
    let customer = new_customer("EdgeExpiring");
    let expires = now_unix() + 2;
    licenses::create_expiring(&customer.id, &[licenses::all_versions(&repo)], expires);
    for _ in 0..3 {
        customer.get_manifest(&repo, "v1").expect(200);
    }
    while now_unix() <= expires {
        sleep(Duration::from_millis(100));
    }
    customer
        .get_manifest(&repo, "v1")
        .expect_error(404, "MANIFEST_UNKNOWN");
}

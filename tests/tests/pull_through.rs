//! Pull-through from an upstream registry (docs/pull-through.md), the setting:
//! only an admin sets, reads or removes an artifact's upstream; the password is
//! stored encrypted and never comes back, not even in the audit log; bad URLs
//! (plain http to a host that is not loopback) and credentials that do not fit
//! the auth kind are refused; setting an upstream creates the artifact, and
//! deleting the artifact takes its upstream with it. Pulling through, against
//! CNCF distribution with htpasswd: crane and skopeo get byte-identical content
//! as a licensed customer; an unlicensed pull is a 404 that never reaches the
//! upstream; a corrupted upstream blob fails the pull and is not stored;
//! concurrent first pulls of a blob all succeed and keep it; with the upstream
//! stopped, what was pulled still pulls and the rest is a 502; tags are
//! re-resolved after their interval and served stale while the upstream is
//! down, by a pull or by the scheduled sync; the token flow logs in at the upstream's realm; a hostile upstream
//! gets no credentials off its origin and no more than the size and time limits.

use serde_json::{json, Value};
use tollgate_e2e::accounts::*;
use tollgate_e2e::licenses::{
    artifact_path, expect_problem, list_all, new_customer, push_index_to, Customer,
};
use tollgate_e2e::own_server::OwnServer;
use tollgate_e2e::upstream::Upstream;
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
        with("refresh_seconds", json!(0)),
        with("refresh_seconds", json!(86_401)),
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

/// A new customer licensed to the tags of `repo` that `patterns` match.
fn licensed_for(repo: &str, label: &str, patterns: &[&str]) -> Customer {
    let customer = new_customer(label);
    let items: Vec<Value> = patterns
        .iter()
        .map(|p| tollgate_e2e::licenses::pattern(repo, p))
        .collect();
    tollgate_e2e::licenses::create(&customer.id, &items);
    customer
}

fn three_layers(registry: &Registry, repo: &str, tag: &str) -> Image {
    let layers: Vec<(&str, Vec<u8>, String)> = (0..3)
        .map(|i| {
            let data = random_bytes(100_000 + i * 1000);
            let digest = sha256_digest(&data);
            (OCI_LAYER_TAR, data, digest)
        })
        .collect();
    registry.push_image_layers(repo, tag, "amd64", &layers)
}

#[test]
fn licensed_customers_pull_through_and_others_never_reach_the_upstream() {
    let sb = Sandbox::new("pull-through");
    let up = Upstream::start(&sb.path("upstream"));
    let mirror = unique_repo("mirror");
    let image = three_layers(&up.registry, &mirror, "v1.0");
    let amd = up.registry.push_random_image(&mirror, "");
    let arm = up.registry.push_random_image(&mirror, "");
    let children = [(&amd, "amd64"), (&arm, "arm64")];
    let index = push_index_to(&up.registry, &mirror, "v1.1", &children).digest;
    up.registry.push_random_image(&mirror, "v2-secret");
    let spare = three_layers(&up.registry, &mirror, "v1.2");
    let raced = three_layers(&up.registry, &mirror, "v1.3");

    let repo = unique_repo("pulled-through");
    upstream("PUT", &repo, Some(&up.setting(&mirror)), None).expect(200);
    let licensed = licensed_for(&repo, "pt-licensed", &["v1.*"]);
    let other = new_customer("pt-other");

    // Unlicensed: 404 like a missing tag, and not one request upstream.
    let before = up.requests_for(&format!("/v2/{mirror}/"));
    other
        .get_manifest(&repo, "v1.0")
        .expect_error(404, "MANIFEST_UNKNOWN");
    licensed
        .get_manifest(&repo, "v2-secret")
        .expect_error(404, "MANIFEST_UNKNOWN");
    other
        .get_blob(&repo, &image.layers[0].digest)
        .expect_error(404, "BLOB_UNKNOWN");
    assert_eq!(up.requests_for(&format!("/v2/{mirror}/")), before);

    // crane, as the licensed customer: byte-identical manifest and layers.
    let csb = licensed.sandbox("pt-crane");
    let reference = image_ref(&repo, "v1.0");
    let run = csb.run("crane", &["--insecure", "digest", &reference]);
    assert_eq!(run.stdout.trim(), image.digest(), "{run:?}");
    let out = csb.path("image.tar");
    csb.run(
        "crane",
        &[
            "--insecure",
            "pull",
            "--format=oci",
            &reference,
            &out.display().to_string(),
        ],
    );
    for layer in &image.layers {
        let (d, _) = sha256_file(
            &out.join("blobs/sha256")
                .join(layer.digest.trim_start_matches("sha256:")),
        );
        assert_eq!(d, layer.digest);
    }
    // skopeo: the whole index and both platforms, digests preserved.
    let pulled = licensed.copy_all(&csb, &repo, "v1.1");
    assert_eq!(pulled.index()["manifests"][0]["digest"], index.as_str());
    for img in [&amd, &arm] {
        let (d, _) = sha256_file(&pulled.blob_path(img.digest()));
        assert_eq!(d, img.digest());
        let (d, _) = sha256_file(&pulled.blob_path(&img.layers[0].digest));
        assert_eq!(d, img.layers[0].digest);
    }

    // A corrupted blob upstream: the pull fails and nothing is stored.
    let bad = &spare.layers[1];
    let file = up.blob_file(&bad.digest);
    let good = std::fs::read(&file).unwrap();
    let mut corrupt = good.clone();
    corrupt[10] ^= 0xff;
    std::fs::write(&file, &corrupt).unwrap();
    let failed = csb.try_run(
        "crane",
        &[
            "--insecure",
            "pull",
            &image_ref(&repo, "v1.2"),
            &csb.path("bad.tar").display().to_string(),
        ],
    );
    assert!(
        !failed.status.success() && failed.stderr.contains(&bad.digest),
        "{failed:?}"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));

    // Concurrent first pulls of one blob: each answers the right bytes, and
    // one copy is kept (below, it pulls with the upstream stopped).
    licensed.get_manifest(&repo, "v1.3").expect(200);
    let first = &raced.layers[0];
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let r = licensed.get_blob(&repo, &first.digest);
                r.expect(200);
                assert_eq!(sha256_digest(&r.body), first.digest);
            });
        }
    });
    std::thread::sleep(std::time::Duration::from_secs(1));

    // The upstream stopped: what was pulled still pulls; what was not (the
    // corrupted blob, never stored) answers the upstream error.
    up.stop();
    licensed.get_manifest(&repo, "v1.0").expect(200);
    for layer in &image.layers {
        let r = licensed.get_blob(&repo, &layer.digest);
        r.expect(200);
        assert_eq!(sha256_digest(&r.body), layer.digest);
    }
    let kept = licensed.get_blob(&repo, &first.digest);
    kept.expect(200);
    assert_eq!(sha256_digest(&kept.body), first.digest);
    licensed
        .get_blob(&repo, &bad.digest)
        .expect_error(502, "UNAVAILABLE");
    licensed
        .get_manifest(&repo, "v1.9")
        .expect_error(502, "UNAVAILABLE");

    // Fixed and back: the blob pulls and is stored.
    std::fs::write(&file, &good).unwrap();
    let mut up = up;
    up.run();
    let r = licensed.get_blob(&repo, &bad.digest);
    r.expect(200);
    assert_eq!(sha256_digest(&r.body), bad.digest);
}

/// The Docker token flow, with a second Tollgate (a server of the test's own) as
/// the upstream: its `401` names its `/token` realm, where Tollgate exchanges its
/// admin's login for a bearer token, and pulls with it; the customer's pull is
/// in the download log.
#[test]
fn a_token_auth_upstream_is_logged_in_to_through_its_realm() {
    // A second Tollgate, whose `/v2/` answers 401 with a Bearer challenge.
    let second = OwnServer::start(&[]);
    let up = &second.registry;
    let source = unique_repo("token-source");
    let image = up.push_random_image(&source, "v1.0");
    let repo = unique_repo("token-mirror");
    let setting = json!({"url": up.url, "repository": source, "auth": "token",
        "username": up.user, "password": up.password});
    upstream("PUT", &repo, Some(&setting), None).expect(200);
    let customer = licensed_for(&repo, "pt-token", &["v1.*"]);
    let pulled = customer.get_manifest(&repo, "v1.0");
    pulled.expect(200);
    assert_eq!(pulled.body, image.manifest);
    assert_eq!(pulled.must_header("Docker-Content-Digest"), image.digest());
    let layer = customer.get_blob(&repo, &image.layers[0].digest);
    layer.expect(200);
    assert_eq!(sha256_digest(&layer.body), image.layers[0].digest);
    // The pull through counts in the download log like any other.
    let started = std::time::Instant::now();
    let downloads = loop {
        let path = format!("/api/v1/downloads?artifact={repo}&limit=10");
        let items = send(api("GET", &path), None).json()["items"].clone();
        if !items.as_array().unwrap().is_empty() {
            break items;
        }
        assert!(started.elapsed().as_secs() < 30, "no download arrived");
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert_eq!(downloads[0]["customer_id"], customer.id.as_str());
    assert_eq!(downloads[0]["reference"], "v1.0");
    assert_eq!(downloads[0]["digest"], image.digest());

    let wrong = json!({"url": up.url, "repository": source, "auth": "token",
        "username": up.user, "password": "not-the-password"});
    let refused = unique_repo("token-refused");
    upstream("PUT", &refused, Some(&wrong), None).expect(200);
    let failed = registry().get_manifest(&refused, "v1.0");
    failed.expect_error(502, "UNAVAILABLE");
    assert!(
        failed.text().contains("refused Tollgate's credentials"),
        "{failed:?}"
    );
}

/// A repository of a started upstream, mirrored by an artifact whose fetched
/// tags are due after `refresh_seconds`, and a customer licensed to its tags
/// that `patterns` match.
struct Mirrored {
    up: Upstream,
    mirror: String,
    repo: String,
    customer: Customer,
}

impl Mirrored {
    fn start(sb: &Sandbox, label: &str, refresh_seconds: u32, patterns: &[&str]) -> Mirrored {
        let up = Upstream::start(&sb.path("upstream"));
        let mirror = unique_repo(&format!("{label}-mirror"));
        let repo = unique_repo(label);
        let mut setting = up.setting(&mirror);
        setting["refresh_seconds"] = json!(refresh_seconds);
        upstream("PUT", &repo, Some(&setting), None).expect(200);
        let customer = licensed_for(&repo, &format!("pt-{label}"), patterns);
        Mirrored {
            up,
            mirror,
            repo,
            customer,
        }
    }

    /// Pushes a new image to `tag` upstream.
    fn push(&self, tag: &str) -> Image {
        self.up.registry.push_random_image(&self.mirror, tag)
    }

    /// The digest the customer's pull of `tag` answers.
    fn digest_of(&self, tag: &str) -> String {
        let r = self.customer.get_manifest(&self.repo, tag);
        r.expect(200);
        r.must_header("Docker-Content-Digest").to_string()
    }

    /// The setting, checked to show that the upstream could not be reached; the
    /// artifact's details and list show the same to a read-only vendor user, and
    /// nothing of it to the customer.
    fn outage_shown(&self) -> Value {
        let shown = upstream("GET", &self.repo, None, None).json();
        let why = shown["last_error"].as_str().unwrap_or_default();
        assert!(why.contains("could not be reached"), "{shown}");
        assert!(shown["last_error_at"].as_i64().is_some(), "{shown}");
        let reader = vendor_user("read_only");
        let details = api("GET", &artifact_path(&self.repo)).basic(&reader.email, &reader.token);
        let details = send(details, None);
        details.expect(200);
        let failure = &details.json()["upstream_failure"];
        assert_eq!(failure["error"], shown["last_error"], "{failure}");
        assert_eq!(failure["at"], shown["last_error_at"], "{failure}");
        let theirs = send(self.customer.api("GET", &artifact_path(&self.repo)), None);
        theirs.expect(200);
        assert!(theirs.json().get("upstream_failure").is_none());
        let listed = |who: Req<'static>| {
            let list = send(who, None).json();
            let mut items = list["items"].as_array().unwrap().iter();
            let item = items.find(|a| a["name"] == self.repo.as_str()).cloned();
            item.expect("the artifact is listed")["upstream_failed_at"].clone()
        };
        let search = format!("/api/v1/artifacts?q={}", self.repo);
        let readers = api("GET", &search).basic(&reader.email, &reader.token);
        assert_eq!(listed(readers), shown["last_error_at"]);
        assert_eq!(listed(self.customer.api("GET", &search)), Value::Null);
        shown
    }
}

/// A fetched tag is re-resolved upstream once its refresh interval passed: a
/// moved `latest` is seen, a moved `v1.0.0` (semver, immutable by default) is
/// not; while the upstream is down the cached tag is served and the outage
/// shown on the setting.
#[test]
fn tags_are_re_resolved_after_the_interval_and_served_stale_when_the_upstream_fails() {
    let sb = Sandbox::new("pt-fresh");
    let m = Mirrored::start(&sb, "fresh", 3, &["latest", "v1.*"]);
    let latest = m.push("latest");
    let v1 = m.push("v1.0.0");
    assert_eq!(m.digest_of("latest"), latest.digest());
    assert_eq!(m.digest_of("v1.0.0"), v1.digest());
    let moved = m.push("latest");
    m.push("v1.0.0");
    assert_eq!(
        m.digest_of("latest"),
        latest.digest(),
        "within the interval"
    );
    let pause = std::time::Duration::from_millis(3500);
    std::thread::sleep(pause);
    assert_eq!(m.digest_of("latest"), moved.digest());
    assert_eq!(m.digest_of("v1.0.0"), v1.digest(), "immutable here");
    let shown = upstream("GET", &m.repo, None, None).json();
    assert!(
        shown["last_error"].as_str().unwrap().contains("immutable"),
        "{shown}"
    );

    m.up.stop();
    std::thread::sleep(pause);
    assert_eq!(m.digest_of("latest"), moved.digest(), "stale while down");
    assert_eq!(m.outage_shown()["refresh_seconds"], 3);
}

/// The scheduled sync of upstream tags (`*/5 * * * *`, src/scheduled.rs)
/// re-resolves due fetched tags with no pull: afterwards the customer's pulls
/// get the moved tag and the unchanged one while the upstream sees no request.
/// A sync while the upstream is down records the failure on the setting once,
/// keeps serving the cached tag, and leaves the artifact's other due tag for a
/// pull or the next run.
#[test]
fn the_scheduled_sync_moves_due_tags_without_a_pull_and_records_an_outage() {
    let sb = Sandbox::new("pt-sync");
    let mut m = Mirrored::start(&sb, "synced", 8, &["alpha", "beta"]);
    m.push("alpha");
    let beta = m.push("beta");
    // What reached the upstream for each tag, once its access log caught up.
    let asked = |m: &Mirrored| {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let of = |tag: &str| {
            m.up.requests_for(&format!("/v2/{}/manifests/{tag}", m.mirror))
        };
        (of("alpha"), of("beta"))
    };
    m.digest_of("alpha");
    assert_eq!(m.digest_of("beta"), beta.digest());
    let moved = m.push("alpha");
    let past_interval = std::time::Duration::from_millis(8500);
    std::thread::sleep(past_interval);

    run_scheduled("*/5 * * * *");
    let before = asked(&m);
    assert_eq!(m.digest_of("alpha"), moved.digest(), "moved by the sync");
    assert_eq!(m.digest_of("beta"), beta.digest());
    assert_eq!(asked(&m), before, "the pulls asked the upstream nothing");

    m.up.stop();
    std::thread::sleep(past_interval);
    run_scheduled("*/5 * * * *");
    m.outage_shown();
    assert_eq!(m.digest_of("alpha"), moved.digest(), "stale while down");

    // The sync tried `alpha` (first by name at the same due time), then left
    // `beta` for later: back up, a pull re-resolves `beta` alone.
    m.up.run();
    let (alpha_before, beta_before) = asked(&m);
    assert_eq!(m.digest_of("beta"), beta.digest());
    assert_eq!(m.digest_of("alpha"), moved.digest());
    assert_eq!(asked(&m), (alpha_before, beta_before + 1));
}

/// What a hostile upstream's listener saw: each request line and its
/// `Authorization` header.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, Option<String>)>>>;

/// A tiny upstream on a loopback port that answers each request with
/// `answer(request line)`, raw, and records it.
fn hostile(seen: &Seen, answer: fn(&str) -> Vec<u8>) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap_or_default();
                let mut authorization = None;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        if name.eq_ignore_ascii_case("authorization") {
                            authorization = Some(value.trim().to_string());
                        }
                    }
                }
                seen.lock()
                    .unwrap()
                    .push((line.trim().to_string(), authorization));
                let _ = (&stream).write_all(&answer(&line));
            });
        }
    });
    port
}

const STORED_BYTES: &[u8] = b"the blob the storage serves";

fn storage(_: &str) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        STORED_BYTES.len()
    )
    .into_bytes();
    answer.extend_from_slice(STORED_BYTES);
    answer
}

fn registry_side(line: &str) -> Vec<u8> {
    if line.contains("/manifests/huge") {
        // 5 MiB in chunks, no Content-Length: over the 4 MiB manifest limit.
        let mut answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..80 {
            answer.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            answer.extend_from_slice(&chunk);
            answer.extend_from_slice(b"\r\n");
        }
        answer.extend_from_slice(b"0\r\n\r\n");
        return answer;
    }
    if line.contains("/manifests/slow") {
        std::thread::sleep(std::time::Duration::from_secs(13));
        return Vec::new();
    }
    let storage_port = STORAGE_PORT.load(std::sync::atomic::Ordering::SeqCst);
    format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{storage_port}/storage/blob\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

static STORAGE_PORT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);

/// An upstream that redirects blobs to storage on another origin, serves an
/// endless manifest and never answers another: the credentials stay with the
/// upstream, the manifest is refused at the size limit, the silent one at the
/// timeout — each a 502 that says why, none stored.
#[test]
fn a_hostile_upstream_gets_no_credentials_off_its_origin_nor_more_than_the_limits() {
    let seen: Seen = Default::default();
    let storage_seen: Seen = Default::default();
    STORAGE_PORT.store(
        hostile(&storage_seen, storage),
        std::sync::atomic::Ordering::SeqCst,
    );
    let port = hostile(&seen, registry_side);
    let repo = unique_repo("hostile");
    let setting = json!({"url": format!("http://127.0.0.1:{port}"), "repository": "evil/app",
        "auth": "basic", "username": "ci", "password": "secret-pw"});
    upstream("PUT", &repo, Some(&setting), None).expect(200);
    let reg = registry();

    let digest = sha256_digest(STORED_BYTES);
    let blob = reg.get(&blob_path(&repo, &digest)).call();
    blob.expect(200);
    assert_eq!(blob.body, STORED_BYTES);
    let to_upstream = seen.lock().unwrap().clone();
    assert!(
        to_upstream
            .iter()
            .any(|(line, auth)| line.contains("/blobs/")
                && auth.as_deref().is_some_and(|a| a.starts_with("Basic "))),
        "{to_upstream:?}"
    );
    let to_storage = storage_seen.lock().unwrap().clone();
    assert_eq!(to_storage.len(), 1, "{to_storage:?}");
    assert_eq!(to_storage[0].1, None, "no credentials to another origin");

    let huge = reg.get_manifest(&repo, "huge");
    huge.expect_error(502, "UNAVAILABLE");
    assert!(huge.text().contains("over 4194304 bytes"), "{huge:?}");
    let started = std::time::Instant::now();
    let slow = reg.get_manifest(&repo, "slow");
    slow.expect_error(502, "UNAVAILABLE");
    assert!(slow.text().contains("timeout"), "{slow:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(13),
        "the 10 s timeout"
    );
}

#[test]
fn a_manifest_too_large_for_d1_is_fetched_into_the_object_store() {
    let sb = Sandbox::new("pull-through-large");
    let up = Upstream::start(&sb.path("upstream"));
    let mirror = unique_repo("mirror-large");
    let image = up.registry.push_random_image(&mirror, "small");
    let mut manifest: Value = serde_json::from_slice(&image.manifest).unwrap();
    manifest["annotations"] = json!({"padding": "x".repeat(600 * 1024)});
    let body = serde_json::to_vec(&manifest).unwrap();
    up.registry
        .push_manifest(&mirror, "large", OCI_MANIFEST, &body);
    let repo = unique_repo("pulled-large");
    upstream("PUT", &repo, Some(&up.setting(&mirror)), None).expect(200);
    let digest = sha256_digest(&body);
    let pull = |reference: &str| {
        let r = registry().get_manifest(&repo, reference);
        r.expect(200);
        assert_eq!(r.must_header("Docker-Content-Digest"), digest);
        assert!(r.body == body, "the upstream's bytes");
    };
    pull("large");
    // Stored: served with the upstream stopped, by tag (not due yet) and digest.
    up.stop();
    pull("large");
    pull(&digest);
}

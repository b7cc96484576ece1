//! Garbage collection, triggered the way wrangler dev lets a test run a cron job
//! (`GET /__scheduled`, served with `--test-scheduled`): unreferenced blobs, deleted
//! large manifests and expired upload sessions go, after the grace period
//! (`TOLLGATE_GC_GRACE`, which `scripts/serve-test.sh` sets to a few seconds);
//! everything referenced, young or in progress stays. With `TOLLGATE_STATE` the
//! server's local R2 files are checked too.
//!
//! The job sweeps the whole registry, so it must not run while other suites push:
//! `cargo test` runs test files one after another, and these tests only collect what
//! they made and check only that.

use std::fs;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use tollgate_e2e::*;

fn env_secs(name: &str) -> u64 {
    std::env::var(name)
        .unwrap_or_else(|_| {
            panic!("{name} is not set; start the server with scripts/serve-test.sh")
        })
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number of seconds"))
}

/// The server's grace period, which is also how long a queued R2 object waits.
fn grace() -> Duration {
    Duration::from_secs(env_secs("TOLLGATE_GC_GRACE"))
}

/// Runs the garbage-collection job (the hourly one) once, to its end.
fn collect_garbage() {
    run_scheduled("0 * * * *");
}

/// Whether the server's local R2 holds an object, multipart part or tail with exactly
/// these bytes; `None` without `TOLLGATE_STATE`.
fn r2_holds(data: &[u8]) -> Option<bool> {
    let state = std::env::var("TOLLGATE_STATE").ok()?;
    let mut dirs = vec![Path::new(&state).join("data/v3/r2")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if entry.metadata().is_ok_and(|m| m.len() == data.len() as u64)
                && fs::read(&path).is_ok_and(|bytes| bytes == data)
            {
                return Some(true);
            }
        }
    }
    Some(false)
}

/// Asserts R2 holds `data` now (so that its absence later means something).
#[track_caller]
fn assert_in_r2(data: &[u8], what: &str) {
    if let Some(held) = r2_holds(data) {
        assert!(
            held,
            "{what} is not in the local R2 files under $TOLLGATE_STATE"
        );
    }
}

/// Waits for R2 to let go of `data` (the local R2 deletes files in the background).
#[track_caller]
fn assert_gone_from_r2(data: &[u8], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while r2_holds(data) == Some(true) {
        assert!(
            Instant::now() < deadline,
            "{what} is still in the local R2 files"
        );
        sleep(Duration::from_millis(200));
    }
}

#[track_caller]
fn assert_blob(repo: &str, data: &[u8]) {
    let r = registry()
        .get(&blob_path(repo, &sha256_digest(data)))
        .call();
    r.expect(200);
    assert!(r.body == data, "{repo} serves other bytes for its blob");
}

#[track_caller]
fn assert_no_blob(repo: &str, data: &[u8]) {
    registry()
        .get(&blob_path(repo, &sha256_digest(data)))
        .call()
        .expect_error(404, "BLOB_UNKNOWN");
}

/// An image of a random layer and a config naming it, with `extra` manifest fields.
struct Pushed {
    config: Vec<u8>,
    layer: Vec<u8>,
    manifest: Vec<u8>,
    digest: String,
}

fn push_image(repo: &str, tag: &str, extra: Option<Value>) -> Pushed {
    let reg = registry();
    let layer = random_bytes(3000 + (random_u64() % 1000) as usize);
    reg.push_blob(repo, &layer);
    let config = image_config("amd64", &[sha256_digest(&layer)]);
    reg.push_blob(repo, &config);
    let manifest = oci_manifest(
        &Desc::of(OCI_CONFIG, &config),
        &[Desc::of(OCI_LAYER_TAR, &layer)],
        extra,
    );
    reg.push_manifest(repo, tag, OCI_MANIFEST, &manifest);
    let digest = sha256_digest(&manifest);
    Pushed {
        config,
        layer,
        manifest,
        digest,
    }
}

fn mount(to: &str, data: &[u8], from: &str) {
    let digest = sha256_digest(data);
    registry()
        .post(&format!("{}?mount={digest}&from={from}", uploads_path(to)))
        .call()
        .expect(201);
}

fn patch(loc: &str, start: u64, data: &[u8]) -> Resp {
    registry()
        .patch(loc)
        .header("Content-Type", "application/octet-stream")
        .header(
            "Content-Range",
            &format!("{}-{}", start, start + data.len() as u64 - 1),
        )
        .bytes(data)
}

#[test]
fn unreferenced_blobs_and_deleted_manifests_go_after_the_grace_period() {
    let reg = registry();
    let grace = grace();
    let kept = unique_repo("gc-kept");
    let loose = unique_repo("gc-loose");
    let deleted = unique_repo("gc-deleted");
    let mounted = unique_repo("gc-mounted");

    // A: an image that stays. B: a blob no manifest references. C: a large manifest
    // (kept in R2, not D1) and its blobs, the manifest deleted (another image keeps a
    // tag on its artifact, which the deletion rules ask for).
    let a = push_image(&kept, "v1", None);
    let b = random_bytes(2000 + (random_u64() % 1000) as usize);
    reg.push_blob(&loose, &b);
    let filler = random_hex(600 * 1024);
    let c = push_image(
        &deleted,
        "v1",
        Some(json!({"annotations": {"filler": filler}})),
    );
    push_image(&deleted, "keep", None);
    reg.delete(&manifest_path(&deleted, &c.digest))
        .call()
        .expect(202);
    // E: unreferenced, uploaded again after the grace period; A's layer mounted
    // elsewhere, and mounted again after the grace period.
    let e = random_bytes(1500);
    reg.push_blob(&loose, &e);
    mount(&mounted, &a.layer, &kept);
    // An upload in progress.
    let first = random_bytes(100);
    let rest = random_bytes(50);
    let session = reg.start_upload(&kept);
    patch(&session, 0, &first).expect(202);
    for (data, what) in [
        (&b, "blob B"),
        (&c.layer, "C's layer"),
        (&c.manifest, "C's manifest"),
        (&a.layer, "A's layer"),
    ] {
        assert_in_r2(data, what);
    }

    sleep(grace + Duration::from_secs(1));
    // D: uploaded just now.
    let d = random_bytes(1200);
    reg.push_blob(&loose, &d);
    reg.push_blob(&loose, &e);
    mount(&mounted, &a.layer, &kept);
    collect_garbage();

    assert_no_blob(&loose, &b);
    assert_no_blob(&deleted, &c.config);
    assert_no_blob(&deleted, &c.layer);
    reg.get_manifest(&deleted, &c.digest)
        .expect_error(404, "MANIFEST_UNKNOWN");
    let pulled = reg.assert_manifest_digest(&kept, "v1", &a.digest);
    assert!(pulled.body == a.manifest);
    assert_blob(&kept, &a.config);
    assert_blob(&kept, &a.layer);
    assert_blob(&loose, &d);
    assert_blob(&loose, &e);
    assert_blob(&mounted, &a.layer);
    let status = reg.get(&session).call();
    status.expect(204);
    assert_eq!(status.must_header("Range"), "0-99");

    // The R2 objects go in a later run, once they waited as long again.
    sleep(grace + Duration::from_secs(1));
    collect_garbage();
    assert_gone_from_r2(&b, "blob B");
    assert_gone_from_r2(&c.layer, "C's layer");
    assert_gone_from_r2(&c.config, "C's config");
    assert_gone_from_r2(&c.manifest, "C's manifest");
    assert_in_r2(&a.layer, "A's layer");
    assert_in_r2(&a.config, "A's config");
    assert_blob(&kept, &a.layer);

    // The session, older than the grace period but not idle for the upload TTL,
    // still finishes.
    patch(&session, 100, &rest).expect(202);
    let whole: Vec<u8> = first.iter().chain(&rest).copied().collect();
    reg.finish_upload(&session, &sha256_digest(&whole))
        .call()
        .expect(201);
    assert_blob(&kept, &whole);
}

/// Waits past the upload TTL (60 s under serve-test.sh).
#[test]
fn expired_upload_sessions_lose_their_multipart_upload_and_tail() {
    let reg = registry();
    let ttl = Duration::from_secs(env_secs("TOLLGATE_UPLOAD_TTL"));
    let grace = grace();
    let repo = unique_repo("gc-expired");
    // One full 8 MiB part goes into an R2 multipart upload, the rest is parked as
    // the session's tail.
    let part = random_bytes(8 * 1024 * 1024);
    let tail = random_bytes(1000);
    let chunk: Vec<u8> = part.iter().chain(&tail).copied().collect();
    let session = reg.start_upload(&repo);
    patch(&session, 0, &chunk).expect(202);
    assert_in_r2(&part, "the multipart upload's part");
    assert_in_r2(&tail, "the tail");

    // Expired (idle past the TTL, and the grace period on top), then its R2
    // leftovers settled.
    sleep(ttl + grace + Duration::from_secs(1));
    collect_garbage();
    sleep(grace + Duration::from_secs(1));
    collect_garbage();
    assert_gone_from_r2(&part, "the aborted multipart upload's part");
    assert_gone_from_r2(&tail, "the tail");
    reg.get(&session)
        .call()
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
}

//! Memory of a bundle download (docs/bundles.md): workerd's peak RSS while a 1 GiB
//! bundle streams stays within 1.2× of its peak for a 10 MiB one, because blobs are
//! piped from R2 into the response and never held in wasm. Reads the server's
//! workerd processes (`TOLLGATE_PID`'s process group, as scripts/with-server.sh
//! starts it) and resets their `VmHWM` before each download; run it on a server of
//! its own: `scripts/with-server.sh cargo test -p tollgate-e2e --test bundle_memory`.

use std::fs;
use std::time::{Duration, Instant};

use tollgate_e2e::accounts::*;
use tollgate_e2e::licenses::{self, *};
use tollgate_e2e::*;

const MIB: u64 = 1024 * 1024;

/// Pushes an image with one layer of `len` PRNG bytes, streamed in one PATCH,
/// tagged `1.0` in a fresh artifact; returns the artifact.
fn push_image_of(label: &str, len: u64) -> String {
    let reg = registry();
    let repo = mutable_repo(label);
    let seed = random_u64();
    let digest = prng_digest(seed, len);
    let r = reg
        .patch(&reg.start_upload(&repo))
        .header("Content-Type", "application/octet-stream")
        .reader(PrngReader::new(seed, len), None);
    r.expect(202);
    reg.finish_upload(&r.location(), &digest).call().expect(201);
    let config = image_config("amd64", std::slice::from_ref(&digest));
    reg.push_blob(&repo, &config);
    let layer = Desc {
        media_type: OCI_LAYER_TAR.to_string(),
        digest,
        size: len,
    };
    let manifest = oci_manifest(&Desc::of(OCI_CONFIG, &config), &[layer], None);
    reg.push_manifest(&repo, "1.0", OCI_MANIFEST, &manifest);
    repo
}

/// The server's workerd processes: those of `TOLLGATE_PID`'s process group.
fn workerd_pids() -> Vec<u32> {
    let group = std::env::var("TOLLGATE_PID").expect("TOLLGATE_PID: run under with-server.sh");
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // comm is in parentheses; the process group is the 3rd field after it.
        let Some((comm, rest)) = stat.split_once(") ") else {
            continue;
        };
        let pgrp = rest.split_whitespace().nth(2).unwrap_or_default();
        if comm.ends_with("(workerd") && pgrp == group {
            pids.push(pid);
        }
    }
    assert!(!pids.is_empty(), "no workerd in process group {group}");
    pids
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

/// workerd's peak RSS in MiB (summed over its processes) while `req` downloads
/// `size` bytes, the peak reset first.
fn peak_while_downloading(req: Req<'_>, size: u64) -> f64 {
    let pids = workerd_pids();
    for &pid in &pids {
        fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    }
    let t = Instant::now();
    let s = req.timeout(Duration::from_secs(600)).stream();
    assert_eq!(s.status, 200);
    let (_, n) = sha256_stream(s.reader).unwrap();
    assert_eq!(n, size, "the whole bundle arrived");
    let peak: u64 = pids.iter().map(|&p| status_kib(p, "VmHWM")).sum();
    let peak = peak as f64 / 1024.0;
    eprintln!(
        "{} MiB downloaded in {:.1?}; workerd peak RSS {peak:.1} MiB",
        size / MIB,
        t.elapsed()
    );
    peak
}

fn bundle_of(customer: &licenses::Customer, repo: &str) -> (String, u64) {
    let r = send(
        api("POST", "/api/v1/bundles").basic(&customer.user.email, &customer.user.token),
        Some(&json!({"items": [{"artifact": repo, "tags": ["1.0"]}]})),
    );
    r.expect(201);
    let b = r.json();
    (
        b["download"].as_str().unwrap().to_string(),
        b["size"].as_u64().unwrap(),
    )
}

#[test]
fn a_1_gib_bundle_streams_in_the_memory_of_a_10_mib_one() {
    let small = push_image_of("bundle-10m", 10 * MIB);
    let large = push_image_of("bundle-1g", 1024 * MIB);
    let customer = new_customer("bundle-memory");
    licenses::create(&customer.id, &[all_versions(&small), all_versions(&large)]);
    let (small_path, small_size) = bundle_of(&customer, &small);
    let (large_path, large_size) = bundle_of(&customer, &large);
    assert!(large_size > 1024 * MIB);
    let get = |path: &str| api("GET", path).basic(&customer.user.email, &customer.user.token);
    let small_peak = peak_while_downloading(get(&small_path), small_size);
    let large_peak = peak_while_downloading(get(&large_path), large_size);
    assert!(
        large_peak <= small_peak * 1.2,
        "peak RSS {large_peak:.1} MiB for 1 GiB vs {small_peak:.1} MiB for 10 MiB"
    );
}

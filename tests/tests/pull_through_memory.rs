//! Memory of a first pull-through (docs/pull-through.md): workerd's peak RSS while
//! a 1 GiB blob streams from the upstream to the client and into R2 stays within
//! 1.2× of its peak for a 100 MiB one, because the blob is stored in parts as it
//! streams and the client's copy runs at most a few blocks ahead of the store.
//! Both blobs are then served with the upstream stopped: they were stored whole.
//! Run it on a server of its own, like bundle_memory.rs:
//! `scripts/with-server.sh cargo test -p tollgate-e2e --test pull_through_memory`.

use std::io;

use tollgate_e2e::accounts::{api, send};
use tollgate_e2e::licenses::artifact_path;
use tollgate_e2e::memory::peak_while_downloading;
use tollgate_e2e::upstream::Upstream;
use tollgate_e2e::*;

const MIB: u64 = 1024 * 1024;

/// Pushes `len` PRNG bytes to the upstream's `repo` in one streamed PATCH;
/// returns their digest.
fn push_blob(upstream: &Registry, repo: &str, len: u64) -> String {
    let seed = random_u64();
    let digest = prng_digest(seed, len);
    let r = upstream
        .patch(&upstream.start_upload(repo))
        .header("Content-Type", "application/octet-stream")
        .reader(PrngReader::new(seed, len), None);
    r.expect(202);
    upstream
        .finish_upload(&r.location(), &digest)
        .call()
        .expect(201);
    digest
}

/// The first pull of `digest` through `repo`, checked whole: workerd's peak RSS
/// in MiB.
fn first_pull(repo: &str, digest: &str, len: u64) -> f64 {
    let get = registry().get(&blob_path(repo, digest));
    let download = peak_while_downloading(get, len, io::sink());
    assert_eq!(download.digest, digest);
    download.peak
}

#[test]
fn a_1_gib_first_pull_through_streams_in_the_memory_of_a_100_mib_one() {
    let sb = Sandbox::new("pull-through-memory");
    let up = Upstream::start(&sb.path("upstream"));
    let mirror = unique_repo("mirror-memory");
    let small = push_blob(&up.registry, &mirror, 100 * MIB);
    let large = push_blob(&up.registry, &mirror, 1024 * MIB);
    let repo = unique_repo("pulled-memory");
    let setting = up.setting(&mirror);
    send(
        api("PUT", &format!("{}/upstream", artifact_path(&repo))),
        Some(&setting),
    )
    .expect(200);

    let small_peak = first_pull(&repo, &small, 100 * MIB);
    let large_peak = first_pull(&repo, &large, 1024 * MIB);
    assert!(
        large_peak <= small_peak * 1.2,
        "peak RSS {large_peak:.1} MiB for 1 GiB vs {small_peak:.1} MiB for 100 MiB"
    );

    up.stop();
    for (digest, len) in [(&small, 100 * MIB), (&large, 1024 * MIB)] {
        let r = registry().head(&blob_path(&repo, digest)).call();
        r.expect(200);
        assert_eq!(r.must_header("Content-Length"), len.to_string());
    }
}

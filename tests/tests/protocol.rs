//! OCI Distribution v1.1 over hand-made HTTP requests: status codes, headers and error
//! bodies of every endpoint. Each test works in its own random repositories.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tollgate_e2e::*;

fn reg() -> &'static Registry {
    registry()
}

/// A monolithic upload: one POST carrying the blob and the digest it claims.
fn post_blob(repo: &str, digest: &str, data: &[u8]) -> Resp {
    reg()
        .post(&with_query(
            &uploads_path(repo),
            &format!("digest={digest}"),
        ))
        .octets(data)
}

/// GETs `path_or_url` and asserts it serves exactly `data`.
#[track_caller]
fn assert_serves(path_or_url: &str, data: &[u8]) {
    let r = reg().get(path_or_url).call();
    r.expect(200);
    assert_eq!(r.body, data);
}

#[track_caller]
fn assert_no_blob(repo: &str, digest: &str) {
    reg().head(&blob_path(repo, digest)).call().expect(404);
}

/// A status request and a further chunk on the session at `loc` (cancelled, expired or
/// in another repository) both find no such session.
#[track_caller]
fn assert_session_unknown(loc: &str, start: u64, chunk: &[u8]) {
    reg()
        .get(loc)
        .call()
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    patch_chunk(loc, start, chunk).expect_error(404, "BLOB_UPLOAD_UNKNOWN");
}

fn patch_chunk(loc: &str, start: u64, data: &[u8]) -> Resp {
    reg()
        .patch(loc)
        .header("Content-Type", "application/octet-stream")
        .header(
            "Content-Range",
            &format!("{}-{}", start, start + data.len() as u64 - 1),
        )
        .bytes(data)
}

/// The session answered a PATCH with 202, `Range: 0-<end>`, a Location and an upload id.
#[track_caller]
fn assert_upload_progress(r: &Resp, end_inclusive: u64) {
    r.expect(202);
    assert_eq!(
        r.must_header("Range"),
        format!("0-{end_inclusive}"),
        "{r:?}"
    );
    r.must_header("Location");
    assert!(!r.must_header("Docker-Upload-UUID").is_empty(), "{r:?}");
}

/// Opens an upload session in `repo` and sends `first` as its first chunk; returns the
/// Location to continue at.
fn upload_first_chunk(repo: &str, first: &[u8]) -> String {
    let loc = reg().start_upload(repo);
    let r = patch_chunk(&loc, 0, first);
    assert_upload_progress(&r, first.len() as u64 - 1);
    r.location()
}

// ---------------------------------------------------------------------------------------
// Base and authentication
// ---------------------------------------------------------------------------------------

#[test]
fn base_endpoint_requires_authentication() {
    let r = reg().get("/v2/").call();
    r.expect(200);

    let r = reg().get("/v2/").no_auth().call();
    r.expect_error(401, "UNAUTHORIZED");
    let challenge = r.must_header("WWW-Authenticate");
    assert!(
        challenge.starts_with("Basic ") || challenge.starts_with("Bearer "),
        "WWW-Authenticate is not a Basic or Bearer challenge: {challenge:?}"
    );
    assert!(
        challenge.contains("realm="),
        "challenge without realm: {challenge:?}"
    );

    let r = reg()
        .get("/v2/")
        .basic(&reg().user, "definitely-not-the-password")
        .call();
    r.expect_error(401, "UNAUTHORIZED");
    r.must_header("WWW-Authenticate");
}

/// The version check names the API version, answered (200) or challenged (401), as
/// the spec asks of the base endpoint; so does every error, a challenge on a
/// repository endpoint included. A successful read elsewhere does not repeat it.
#[test]
fn the_api_version_is_named_on_the_version_check_and_on_errors() {
    let version = "Docker-Distribution-API-Version";
    let repo = unique_repo("version");
    reg().push_random_image(&repo, "v1");
    for r in [
        reg().get("/v2/").call(),
        reg().head("/v2/").call(),
        reg().get("/v2/").no_auth().call(),
        reg().get(&manifest_path(&repo, "v1")).no_auth().call(),
        reg().get(&manifest_path(&repo, "absent")).call(),
    ] {
        assert_eq!(r.header(version), Some("registry/2.0"), "{r:?}");
    }
    let r = reg().get(&manifest_path(&repo, "v1")).call();
    r.expect(200);
    assert_eq!(r.header(version), None, "{r:?}");
}

/// A blob's answer names its content as a strong entity tag, quoted as RFC 9110
/// writes one; a manifest's names it only in `Docker-Content-Digest`, as it serves
/// no conditional request an entity tag would invite.
#[test]
fn a_blob_carries_a_quoted_entity_tag_and_a_manifest_none() {
    let repo = unique_repo("etag");
    let img = reg().push_random_image(&repo, "v1");
    let digest = &img.config.digest;
    for r in [
        reg().get(&blob_path(&repo, digest)).call(),
        reg().head(&blob_path(&repo, digest)).call(),
    ] {
        r.expect(200);
        assert_eq!(
            r.header("ETag"),
            Some(format!("\"{digest}\"").as_str()),
            "{r:?}"
        );
    }
    let r = reg().get(&manifest_path(&repo, "v1")).call();
    r.expect(200);
    assert_eq!(r.header("ETag"), None, "{r:?}");
    assert_eq!(r.must_header("Docker-Content-Digest"), img.digest());
}

#[test]
fn repository_endpoints_require_authentication() {
    let repo = unique_repo("noauth");
    let img = reg().push_random_image(&repo, "v1");
    let r = reg().get(&manifest_path(&repo, "v1")).no_auth().call();
    r.expect_error(401, "UNAUTHORIZED");
    r.must_header("WWW-Authenticate");
    let r = reg()
        .get(&blob_path(&repo, &img.config.digest))
        .no_auth()
        .call();
    assert_eq!(r.status, 401, "{r:?}");
    let r = reg().post(&uploads_path(&repo)).no_auth().call();
    assert_eq!(r.status, 401, "{r:?}");
    let r = reg().get(&reg().v2(&repo, "tags/list")).no_auth().call();
    assert_eq!(r.status, 401, "{r:?}");
}

// ---------------------------------------------------------------------------------------
// Blob uploads
// ---------------------------------------------------------------------------------------

#[test]
fn blob_monolithic_post_with_digest() {
    let repo = unique_repo("mono-post");
    let data = random_bytes(4321);
    let digest = sha256_digest(&data);
    let r = post_blob(&repo, &digest, &data);
    r.expect(201);
    assert_eq!(r.must_header("Docker-Content-Digest"), digest);
    // The Location serves the blob, as does its canonical path.
    assert_serves(&r.location(), &data);
    assert_serves(&blob_path(&repo, &digest), &data);
}

#[test]
fn blob_post_then_put() {
    let repo = unique_repo("post-put");
    let data = random_bytes(10_000);
    let digest = sha256_digest(&data);
    let r = reg().upload_blob(&repo, &digest, &data);
    r.expect(201);
    assert_eq!(r.must_header("Docker-Content-Digest"), digest);
    // The Location of a finished upload must serve the blob.
    assert_serves(&r.location(), &data);
}

#[test]
fn blob_chunked_upload_in_order() {
    let repo = unique_repo("chunked");
    let data = random_bytes(3 * 1000 + 17);
    let digest = sha256_digest(&data);
    let mut loc = reg().start_upload(&repo);

    let r = patch_chunk(&loc, 0, &data[..1000]);
    assert_upload_progress(&r, 999);
    let uuid = r.must_header("Docker-Upload-UUID").to_string();
    loc = r.location();

    let r = patch_chunk(&loc, 1000, &data[1000..2000]);
    assert_upload_progress(&r, 1999);
    assert_eq!(
        r.must_header("Docker-Upload-UUID"),
        uuid,
        "upload id changed between chunks"
    );
    loc = r.location();

    let r = patch_chunk(&loc, 2000, &data[2000..3000]);
    assert_upload_progress(&r, 2999);
    loc = r.location();

    // The status of the session tells the same offset.
    let r = reg().get(&loc).call();
    r.expect(204);
    assert_eq!(r.must_header("Range"), "0-2999", "{r:?}");
    r.must_header("Location");
    if let Some(u) = r.header("Docker-Upload-UUID") {
        assert_eq!(u, uuid, "status names another upload id");
    }

    // The final PUT carries the last chunk.
    let r = reg()
        .finish_upload(&loc, &digest)
        .header("Content-Type", "application/octet-stream")
        .header("Content-Range", &format!("3000-{}", data.len() - 1))
        .bytes(&data[3000..]);
    r.expect(201);
    assert_eq!(r.must_header("Docker-Content-Digest"), digest);

    assert_serves(&blob_path(&repo, &digest), &data);
}

/// Every answer about a session tells the client the largest chunk the platform lets
/// through, from the server's `UPLOAD_CHUNK_MAX_BYTES`.
#[test]
fn upload_responses_advertise_chunk_max_length() {
    let want = std::env::var("TOLLGATE_CHUNK_MAX")
        .expect("TOLLGATE_CHUNK_MAX must name the server's UPLOAD_CHUNK_MAX_BYTES (scripts/serve-test.sh exports it)");
    let repo = unique_repo("chunk-max");
    let started = reg().post(&uploads_path(&repo)).call();
    started.expect(202);
    let patched = patch_chunk(&started.location(), 0, b"chunk");
    patched.expect(202);
    let status = reg().get(&patched.location()).call();
    status.expect(204);
    for r in [&started, &patched, &status] {
        assert_eq!(r.must_header("OCI-Chunk-Max-Length"), want, "{r:?}");
    }
}

/// The worker reads bodies 1 MiB at a time and cuts them into 8 MiB parts: chunks that
/// end one byte short of, or just past, those boundaries, and an empty chunk, must
/// still add up to the exact blob.
#[test]
fn blob_chunks_across_read_block_and_part_boundaries() {
    const MIB: usize = 1 << 20;
    let repo = unique_repo("chunk-bounds");
    let data = random_bytes(9 * MIB + 5);
    let digest = sha256_digest(&data);
    let mut loc = reg().start_upload(&repo);
    let mut at = 0;
    for end in [MIB - 1, 2 * MIB + 1, 2 * MIB + 1, 8 * MIB + 3] {
        let r = if end == at {
            reg()
                .patch(&loc)
                .header("Content-Type", "application/octet-stream")
                .bytes(&[])
        } else {
            patch_chunk(&loc, at as u64, &data[at..end])
        };
        assert_upload_progress(&r, end as u64 - 1);
        loc = r.location();
        at = end;
    }
    let r = reg()
        .finish_upload(&loc, &digest)
        .header("Content-Type", "application/octet-stream")
        .header("Content-Range", &format!("{at}-{}", data.len() - 1))
        .bytes(&data[at..]);
    r.expect(201);
    assert_serves(&blob_path(&repo, &digest), &data);
}

#[test]
fn blob_chunk_out_of_order_is_416() {
    let repo = unique_repo("chunk-416");
    let data = random_bytes(3000);
    let loc = upload_first_chunk(&repo, &data[..1000]);

    // Skipping bytes 1000..2000.
    let r = patch_chunk(&loc, 2000, &data[2000..]);
    r.expect(416);
    // Re-sending the first chunk is out of order too.
    let r = patch_chunk(&loc, 0, &data[..1000]);
    r.expect(416);

    // The session still knows how far it got and can be completed.
    let r = reg().get(&loc).call();
    r.expect(204);
    assert_eq!(r.must_header("Range"), "0-999");
    let loc = r.location();
    let r = patch_chunk(&loc, 1000, &data[1000..]);
    assert_upload_progress(&r, 2999);
    reg()
        .finish_upload(&r.location(), &sha256_digest(&data))
        .call()
        .expect(201);
}

#[test]
fn blob_streamed_patch_without_content_length() {
    let repo = unique_repo("streamed");
    let seed = random_u64();
    let len = 5 * 1024 * 1024 + 123;
    let digest = prng_digest(seed, len);
    let loc = reg().start_upload(&repo);
    // No Content-Length and no Content-Range: chunked transfer encoding.
    let r = reg()
        .patch(&loc)
        .header("Content-Type", "application/octet-stream")
        .reader(PrngReader::new(seed, len), None);
    assert_upload_progress(&r, len - 1);
    let r = reg().finish_upload(&r.location(), &digest).call();
    r.expect(201);
    assert_eq!(r.must_header("Docker-Content-Digest"), digest);

    let s = reg().get(&blob_path(&repo, &digest)).stream();
    assert_eq!(s.status, 200);
    let (got, n) = sha256_stream(s.reader).unwrap();
    assert_eq!((got, n), (digest, len));
}

#[test]
fn upload_status_and_cancel() {
    let repo = unique_repo("cancel");
    let data = random_bytes(2048);
    let loc = upload_first_chunk(&repo, &data);

    let r = reg().get(&loc).call();
    r.expect(204);
    assert_eq!(r.must_header("Range"), "0-2047");
    r.must_header("Location");

    let r = reg().delete(&loc).call();
    r.expect(204);

    // The cancelled session is gone for every operation.
    let digest = sha256_digest(&data);
    assert_session_unknown(&loc, 2048, &data);
    reg()
        .finish_upload(&loc, &digest)
        .call()
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    reg()
        .delete(&loc)
        .call()
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    // Nothing was stored.
    assert_no_blob(&repo, &digest);
}

/// The server's idle-upload lifetime, which scripts/serve-test.sh sets and exports.
fn upload_ttl() -> u64 {
    let ttl = std::env::var("TOLLGATE_UPLOAD_TTL")
        .expect("TOLLGATE_UPLOAD_TTL must name the server's UPLOAD_TTL_SECONDS (scripts/serve-test.sh exports it)");
    ttl.parse()
        .expect("TOLLGATE_UPLOAD_TTL is a number of seconds")
}

#[test]
fn stale_upload_is_unknown() {
    let ttl = upload_ttl();
    assert!(
        ttl <= 120,
        "a test server with UPLOAD_TTL_SECONDS of {ttl} s would make this test too slow"
    );
    let repo = unique_repo("stale");
    let data = random_bytes(4096);
    let loc = upload_first_chunk(&repo, &data[..1024]);

    std::thread::sleep(std::time::Duration::from_secs(ttl + 2));

    let digest = sha256_digest(&data);
    assert_session_unknown(&loc, 1024, &data[1024..]);
    reg()
        .finish_upload(&loc, &digest)
        .call()
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    assert_no_blob(&repo, &digest);
}

#[test]
fn upload_session_is_bound_to_its_repository() {
    let repo_a = unique_repo("sess-a");
    let repo_b = unique_repo("sess-b");
    reg().push_blob(&repo_b, b"make repo b exist");
    let data = random_bytes(1000);
    let loc = reg().start_upload(&repo_a);
    // Upload URLs are opaque to clients; this test needs the usual
    // `/v2/<name>/blobs/uploads/<id>` shape to move one into another repository.
    let from = format!("/v2/{repo_a}/blobs/uploads/");
    assert!(loc.contains(&from), "unexpected upload Location {loc}");
    let foreign = loc.replacen(&from, &format!("/v2/{repo_b}/blobs/uploads/"), 1);

    let digest = sha256_digest(&data);
    assert_session_unknown(&foreign, 0, &data);
    reg()
        .finish_upload(&foreign, &digest)
        .octets(&data)
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    assert_no_blob(&repo_b, &digest);

    // The session still works in its own repository.
    let r = patch_chunk(&loc, 0, &data);
    assert_upload_progress(&r, 999);
}

#[test]
fn wrong_digest_on_put_is_rejected_and_not_stored() {
    let repo = unique_repo("bad-digest");
    let data = random_bytes(4096);
    let claimed = sha256_digest(b"something else entirely");
    reg()
        .upload_blob(&repo, &claimed, &data)
        .expect_error(400, "DIGEST_INVALID");
    assert_no_blob(&repo, &claimed);
    assert_no_blob(&repo, &sha256_digest(&data));

    // Same for a monolithic POST.
    post_blob(&repo, &claimed, &data).expect_error(400, "DIGEST_INVALID");
    assert_no_blob(&repo, &claimed);
}

#[test]
fn sha512_blobs() {
    let repo = unique_repo("sha512");
    let data = random_bytes(3000);
    let digest = sha512_digest(&data);
    let r = reg().upload_blob(&repo, &digest, &data);
    r.expect(201);
    assert_eq!(r.must_header("Docker-Content-Digest"), digest);

    let r = reg().head(&blob_path(&repo, &digest)).call();
    r.expect(200);
    assert_eq!(r.must_header("Docker-Content-Digest"), digest);
    assert_eq!(r.must_header("Content-Length"), data.len().to_string());
    assert_serves(&blob_path(&repo, &digest), &data);

    // A wrong sha512 is refused like a wrong sha256.
    reg()
        .upload_blob(&repo, &sha512_digest(b"other"), &data)
        .expect_error(400, "DIGEST_INVALID");
}

/// Chunks are hashed with sha256 as they arrive; a `PUT ?digest=sha512:…` then has the
/// stored object read back and hashed again, across several parts.
#[test]
fn chunked_upload_finished_with_sha512() {
    let repo = unique_repo("sha512-chunked");
    let data = random_bytes(9 * (1 << 20) + 7);
    let (first, rest) = data.split_at(5 * (1 << 20));
    let digest = sha512_digest(&data);
    let upload = |claimed: &str| {
        let loc = upload_first_chunk(&repo, first);
        let r = patch_chunk(&loc, first.len() as u64, rest);
        assert_upload_progress(&r, data.len() as u64 - 1);
        reg().finish_upload(&r.location(), claimed).call()
    };

    let wrong = sha512_digest(b"other");
    upload(&wrong).expect_error(400, "DIGEST_INVALID");
    reg().head(&blob_path(&repo, &wrong)).call().expect(404);
    reg().head(&blob_path(&repo, &digest)).call().expect(404);

    let r = upload(&digest);
    r.expect(201);
    assert_eq!(r.must_header("Docker-Content-Digest"), digest);
    assert_serves(&blob_path(&repo, &digest), &data);
}

// ---------------------------------------------------------------------------------------
// Blob reads
// ---------------------------------------------------------------------------------------

#[test]
fn blob_get_head_and_ranges() {
    let repo = unique_repo("blob-get");
    let data = random_bytes(10_000);
    let digest = reg().push_blob(&repo, &data);

    let r = reg().head(&blob_path(&repo, &digest)).call();
    r.expect(200);
    assert_eq!(r.must_header("Content-Length"), "10000");
    assert_eq!(r.must_header("Docker-Content-Digest"), digest);
    assert!(r.body.is_empty());

    let r = reg().get(&blob_path(&repo, &digest)).call();
    r.expect(200);
    assert_eq!(r.must_header("Content-Length"), "10000");
    assert_eq!(r.must_header("Docker-Content-Digest"), digest);
    assert_eq!(r.body, data);

    let r = reg().get_blob_range(&repo, &digest, "bytes=100-199");
    r.expect(206);
    assert_eq!(r.must_header("Content-Range"), "bytes 100-199/10000");
    assert_eq!(r.must_header("Content-Length"), "100");
    assert_eq!(r.body, &data[100..200]);

    let r = reg().get_blob_range(&repo, &digest, "bytes=9990-");
    r.expect(206);
    assert_eq!(r.must_header("Content-Range"), "bytes 9990-9999/10000");
    assert_eq!(r.body, &data[9990..]);

    reg()
        .get_blob_range(&repo, &digest, "bytes=20000-20100")
        .expect(416);
}

#[test]
fn unknown_blob_is_404() {
    let repo = unique_repo("blob-unknown");
    reg().push_blob(&repo, b"repo exists");
    let missing = sha256_digest(random_hex(16).as_bytes());
    reg()
        .get(&blob_path(&repo, &missing))
        .call()
        .expect_error(404, "BLOB_UNKNOWN");
    assert_no_blob(&repo, &missing);
}

#[test]
fn blob_is_not_visible_in_other_repositories() {
    let a = unique_repo("iso-a");
    let b = unique_repo("iso-b");
    let digest = reg().push_blob(&a, &random_bytes(100));
    reg().push_blob(&b, b"b exists");
    reg()
        .get(&blob_path(&b, &digest))
        .call()
        .expect_error(404, "BLOB_UNKNOWN");
}

#[test]
fn cross_repository_mount() {
    let from = unique_repo("mount-from");
    let to = unique_repo("mount-to");
    let data = random_bytes(5000);
    let digest = reg().push_blob(&from, &data);

    let r = post_mount(&to, &digest, &from);
    r.expect(201);
    if let Some(d) = r.header("Docker-Content-Digest") {
        assert_eq!(d, digest);
    }
    assert_serves(&r.location(), &data);
    assert_serves(&blob_path(&to, &digest), &data);

    // Not in the source repository: an ordinary upload session is opened instead.
    let other = random_bytes(700);
    let other_digest = sha256_digest(&other);
    let r = post_mount(&to, &other_digest, &from);
    r.expect(202);
    let loc = r.location();
    assert_no_blob(&to, &other_digest);
    reg()
        .finish_upload(&loc, &other_digest)
        .octets(&other)
        .expect(201);
    reg()
        .head(&blob_path(&to, &other_digest))
        .call()
        .expect(200);
}

/// Asks to mount blob `digest` of repository `from` into `to`.
fn post_mount(to: &str, digest: &str, from: &str) -> Resp {
    reg()
        .post(&format!("{}?mount={digest}&from={from}", uploads_path(to)))
        .call()
}

// ---------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------

/// Pushes a random layer of `layer_len` bytes and an image config naming it; returns
/// (config, layer).
fn push_config_and_layer(repo: &str, layer_len: usize) -> (Vec<u8>, Vec<u8>) {
    let layer = random_bytes(layer_len);
    reg().push_blob(repo, &layer);
    let config = image_config("amd64", &[sha256_digest(&layer)]);
    reg().push_blob(repo, &config);
    (config, layer)
}

/// Pushes config + one layer and returns their descriptors.
fn push_parts(repo: &str) -> (Desc, Desc) {
    let (config, layer) = push_config_and_layer(repo, 1000);
    (
        Desc::of(OCI_CONFIG, &config),
        Desc::of(OCI_LAYER_TAR, &layer),
    )
}

/// HEAD of a manifest, accepting every type like [`Registry::get_manifest`].
fn head_manifest(repo: &str, reference: &str) -> Resp {
    reg()
        .head(&manifest_path(repo, reference))
        .header("Accept", MANIFEST_ACCEPT)
        .call()
}

/// Pushes a manifest and checks the registry names it by the digest of the bytes sent.
#[track_caller]
fn push_manifest_as_sent(repo: &str, reference: &str, media_type: &str, body: &[u8]) -> Resp {
    let r = reg().push_manifest(repo, reference, media_type, body);
    assert_eq!(r.must_header("Docker-Content-Digest"), sha256_digest(body));
    r
}

/// GETs the manifest at `reference`, asserting it is `body` served as `media_type`.
#[track_caller]
fn assert_manifest_served(repo: &str, reference: &str, media_type: &str, body: &[u8]) -> Resp {
    let r = reg().get_manifest(repo, reference);
    r.expect(200);
    assert_eq!(r.must_header("Content-Type"), media_type);
    assert_eq!(r.body, body);
    r
}

/// The headers describing a manifest, alike for GET and HEAD.
#[track_caller]
fn assert_manifest_headers(r: &Resp, media_type: &str, digest: &str, len: usize) {
    assert_eq!(r.must_header("Content-Type"), media_type);
    assert_eq!(r.must_header("Docker-Content-Digest"), digest);
    assert_eq!(r.must_header("Content-Length"), len.to_string());
}

/// Pushes a manifest list or index under `tag`, then reads it back by tag (GET) and by
/// digest (HEAD).
#[track_caller]
fn push_index_and_read_back(repo: &str, tag: &str, media_type: &str, body: &[u8]) {
    let digest = sha256_digest(body);
    push_manifest_as_sent(repo, tag, media_type, body);
    let r = assert_manifest_served(repo, tag, media_type, body);
    assert_eq!(r.must_header("Docker-Content-Digest"), digest);
    let r = head_manifest(repo, &digest);
    r.expect(200);
    assert_eq!(r.must_header("Content-Type"), media_type);
}

#[track_caller]
fn assert_manifest_unknown(repo: &str, reference: &str) {
    reg()
        .get_manifest(repo, reference)
        .expect_error(404, "MANIFEST_UNKNOWN");
}

#[test]
fn manifest_put_and_get_by_tag_and_digest() {
    let repo = unique_repo("manifest");
    let (config, layer) = push_parts(&repo);
    let manifest = oci_manifest(&config, &[layer], None);
    let digest = sha256_digest(&manifest);

    let r = push_manifest_as_sent(&repo, "v1", OCI_MANIFEST, &manifest);
    let loc = r.location();
    // The Location serves the manifest.
    let r = reg().get(&loc).header("Accept", MANIFEST_ACCEPT).call();
    r.expect(200);
    assert_eq!(r.body, manifest);

    for reference in ["v1", digest.as_str()] {
        let r = reg().get_manifest(&repo, reference);
        r.expect(200);
        assert_eq!(
            r.body, manifest,
            "manifest bytes must be returned unchanged"
        );
        assert_manifest_headers(&r, OCI_MANIFEST, &digest, manifest.len());

        let r = head_manifest(&repo, reference);
        r.expect(200);
        assert_manifest_headers(&r, OCI_MANIFEST, &digest, manifest.len());
    }

    // By digest.
    let other = oci_manifest(
        &config,
        &[],
        Some(json!({"annotations": {"n": random_hex(8)}})),
    );
    let other_digest = sha256_digest(&other);
    push_manifest_as_sent(&repo, &other_digest, OCI_MANIFEST, &other);
    let r = reg().get_manifest(&repo, &other_digest);
    r.expect(200);
    assert_eq!(r.body, other);

    // Re-tagging moves the tag.
    reg().push_manifest(&repo, "v1", OCI_MANIFEST, &other);
    let r = reg().get_manifest(&repo, "v1");
    assert_eq!(r.must_header("Docker-Content-Digest"), other_digest);
    // ...and the first manifest is still there by digest.
    reg().get_manifest(&repo, &digest).expect(200);
}

#[test]
fn oci_image_index() {
    let repo = unique_repo("index");
    let amd = reg().push_image_files(&repo, "", "amd64", &[("a.txt", b"amd64")]);
    let arm = reg().push_image_files(&repo, "", "arm64", &[("a.txt", b"arm64")]);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd.digest(), "size": amd.desc.size,
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": arm.digest(), "size": arm.desc.size,
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
        ],
    }))
    .unwrap();
    push_index_and_read_back(&repo, "multi", OCI_INDEX, &index);
    // The children are pullable by digest.
    for child in [&amd, &arm] {
        let r = reg().get_manifest(&repo, child.digest());
        r.expect(200);
        assert_eq!(r.body, child.manifest);
    }
}

#[test]
fn docker_schema2_manifest_and_manifest_list() {
    let repo = unique_repo("docker");
    let (config, layer) = push_config_and_layer(&repo, 800);
    let manifest = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": Desc::of(DOCKER_CONFIG, &config).json(),
        "layers": [Desc::of(DOCKER_LAYER, &layer).json()],
    }))
    .unwrap();
    let digest = sha256_digest(&manifest);
    push_manifest_as_sent(&repo, "docker-v2", DOCKER_MANIFEST, &manifest);
    assert_manifest_served(&repo, "docker-v2", DOCKER_MANIFEST, &manifest);

    let list = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST_LIST,
        "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": digest, "size": manifest.len(),
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    }))
    .unwrap();
    push_index_and_read_back(&repo, "docker-list", DOCKER_MANIFEST_LIST, &list);
}

/// Pushes an artifact manifest of `artifact_type` whose subject is `subject`; returns
/// (descriptor, PUT response).
fn push_artifact(
    repo: &str,
    artifact_type: &str,
    subject: Option<&Desc>,
    payload: &[u8],
) -> (Desc, Resp) {
    reg().push_blob(repo, EMPTY_JSON);
    reg().push_blob(repo, payload);
    let mut extra = json!({
        "artifactType": artifact_type,
        "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    });
    if let Some(s) = subject {
        extra["subject"] = s.json();
    }
    let manifest = oci_manifest(
        &Desc::of(OCI_EMPTY, EMPTY_JSON),
        &[Desc::of("application/vnd.tollgate.test.payload", payload)],
        Some(extra),
    );
    let desc = Desc::of(OCI_MANIFEST, &manifest);
    let r = push_manifest_as_sent(repo, &desc.digest, OCI_MANIFEST, &manifest);
    (desc, r)
}

#[test]
fn artifact_manifest_with_artifact_type() {
    let repo = unique_repo("artifact");
    let (desc, _) = push_artifact(
        &repo,
        "application/vnd.tollgate.test.thing",
        None,
        b"payload",
    );
    reg().push_manifest(
        &repo,
        "thing",
        OCI_MANIFEST,
        &reg().get_manifest(&repo, &desc.digest).body,
    );
    let r = reg().get_manifest(&repo, "thing");
    r.expect(200);
    assert_eq!(r.must_header("Content-Type"), OCI_MANIFEST);
    assert_eq!(
        r.json()["artifactType"],
        "application/vnd.tollgate.test.thing"
    );
    assert_eq!(r.must_header("Docker-Content-Digest"), desc.digest);
}

#[test]
fn manifest_with_subject_returns_oci_subject() {
    let repo = unique_repo("subject");
    let img = reg().push_random_image(&repo, "v1");
    let (_, r) = push_artifact(
        &repo,
        "application/vnd.tollgate.test.sig",
        Some(&img.desc),
        b"sig",
    );
    assert_eq!(
        r.header("OCI-Subject"),
        Some(img.digest()),
        "PUT of a manifest with a subject must answer OCI-Subject:\n{r:?}"
    );
}

#[test]
fn referrers_api() {
    let repo = unique_repo("referrers");
    let img = reg().push_random_image(&repo, "v1");
    let sbom_type = "application/vnd.tollgate.test.sbom";
    let sig_type = "application/vnd.tollgate.test.signature";
    let (sbom, _) = push_artifact(&repo, sbom_type, Some(&img.desc), b"{\"sbom\":true}");
    let (sig, _) = push_artifact(&repo, sig_type, Some(&img.desc), b"signature");
    // An artifact about another manifest is not a referrer of this one.
    let other = reg().push_random_image(&repo, "v2");
    push_artifact(&repo, sbom_type, Some(&other.desc), b"other sbom");

    let path = referrers_path(&repo, img.digest());
    let r = reg().get(&path).call();
    r.expect(200);
    assert!(
        r.must_header("Content-Type").starts_with(OCI_INDEX),
        "referrers must be an OCI index: {r:?}"
    );
    let idx = r.json();
    assert_eq!(idx["schemaVersion"], 2);
    assert_eq!(idx["mediaType"], OCI_INDEX);
    let mut found: Vec<(String, String)> = idx["manifests"]
        .as_array()
        .expect("manifests array")
        .iter()
        .map(|m| {
            assert_eq!(m["mediaType"], OCI_MANIFEST, "{m}");
            assert!(m["size"].as_u64().unwrap() > 0, "{m}");
            assert_eq!(
                m["annotations"]["org.opencontainers.image.created"], "2024-01-01T00:00:00Z",
                "{m}"
            );
            (
                m["digest"].as_str().unwrap().to_string(),
                m["artifactType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    let mut want = vec![
        (sbom.digest.clone(), sbom_type.to_string()),
        (sig.digest.clone(), sig_type.to_string()),
    ];
    want.sort();
    assert_eq!(found, want);

    // Filtered by artifactType.
    let r = reg()
        .get(&format!("{path}?artifactType={sbom_type}"))
        .call();
    r.expect(200);
    assert_eq!(r.must_header("OCI-Filters-Applied"), "artifactType");
    let m = r.json()["manifests"].as_array().unwrap().clone();
    assert_eq!(m.len(), 1, "{r:?}");
    assert_eq!(m[0]["digest"], sbom.digest.as_str());
    assert_eq!(m[0]["artifactType"], sbom_type);

    // A digest without referrers (even an unknown one) gives an empty index.
    let lonely = reg().push_random_image(&repo, "v3");
    for d in [
        lonely.digest().to_string(),
        sha256_digest(random_hex(8).as_bytes()),
    ] {
        let r = reg().get(&referrers_path(&repo, &d)).call();
        r.expect(200);
        assert!(r.must_header("Content-Type").starts_with(OCI_INDEX));
        let v = r.json();
        assert_eq!(v["mediaType"], OCI_INDEX);
        assert_eq!(v["manifests"], json!([]), "{r:?}");
    }
}

#[test]
fn manifest_referencing_missing_blob() {
    let repo = unique_repo("missing-blob");
    let (config, _) = push_parts(&repo);
    let missing = Desc::of(OCI_LAYER_TAR, random_hex(32).as_bytes());
    let manifest = oci_manifest(&config, &[missing], None);
    reg()
        .put_manifest(&repo, "v1", OCI_MANIFEST, &manifest)
        .expect_error(400, "MANIFEST_BLOB_UNKNOWN");
    assert_manifest_unknown(&repo, "v1");

    // A missing config is just as unknown.
    let layer = random_bytes(10);
    reg().push_blob(&repo, &layer);
    let manifest = oci_manifest(
        &Desc::of(OCI_CONFIG, b"{\"missing\":1}"),
        &[Desc::of(OCI_LAYER_TAR, &layer)],
        None,
    );
    reg()
        .put_manifest(&repo, "v2", OCI_MANIFEST, &manifest)
        .expect_error(400, "MANIFEST_BLOB_UNKNOWN");
}

#[test]
fn malformed_manifest_is_manifest_invalid() {
    let repo = unique_repo("malformed");
    push_parts(&repo);
    reg()
        .put_manifest(
            &repo,
            "v1",
            OCI_MANIFEST,
            b"{\"schemaVersion\": 2, \"config\": ",
        )
        .expect_error(400, "MANIFEST_INVALID");
    assert_manifest_unknown(&repo, "v1");
}

#[test]
fn oversized_manifest_is_413() {
    let repo = unique_repo("huge");
    let (config, layer) = push_parts(&repo);
    // Valid JSON, just too big: 4 MiB + of annotation.
    let manifest = oci_manifest(
        &config,
        &[layer],
        Some(json!({"annotations": {"padding": "x".repeat(4 * 1024 * 1024 + 10)}})),
    );
    assert!(manifest.len() > 4 * 1024 * 1024);
    reg()
        .put_manifest(&repo, "v1", OCI_MANIFEST, &manifest)
        .expect_error_any(413, &[]);
    assert_manifest_unknown(&repo, "v1");
}

#[test]
fn manifest_digest_mismatch_is_digest_invalid() {
    let repo = unique_repo("mdigest");
    let (config, layer) = push_parts(&repo);
    let manifest = oci_manifest(&config, &[layer], None);
    let wrong = sha256_digest(b"not this manifest");
    reg()
        .put_manifest(&repo, &wrong, OCI_MANIFEST, &manifest)
        .expect_error(400, "DIGEST_INVALID");
    assert_manifest_unknown(&repo, &wrong);
    assert_manifest_unknown(&repo, &sha256_digest(&manifest));
}

#[test]
fn invalid_repository_names() {
    let suffix = random_hex(6);
    for name in [
        format!("e2e/UPPER-{suffix}"),
        format!("e2e/a..b-{suffix}"),
        format!("e2e/-lead-{suffix}"),
        format!("e2e/trail-{suffix}-"),
        format!("e2e//empty-{suffix}"),
    ] {
        let r = reg().post(&uploads_path(&name)).call();
        r.expect_error(400, "NAME_INVALID");
        let r = reg().put_manifest(&name, "v1", OCI_MANIFEST, b"{}");
        r.expect_error(400, "NAME_INVALID");
    }
}

/// Sends a request line verbatim (no URL normalisation by a client library).
fn raw_request(method: &str, path: &str) -> (u16, String) {
    let r = reg();
    let mut s = TcpStream::connect(&r.host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = base64(creds().as_bytes());
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {auth}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        r.host
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    (status, text)
}

#[test]
fn dot_dot_path_segments() {
    // A `..` path segment is never part of a valid name. Servers (or the platform in front
    // of them) may normalise it away before routing, so accept a 4xx with an OCI error body
    // (400 NAME_INVALID unnormalised, 404 NAME_UNKNOWN normalised) or a redirect to the
    // normalised path, never a success or 5xx.
    let a = random_hex(8);
    let b = random_hex(8);
    for path in [
        format!("/v2/e2e/{a}/../{b}/tags/list"),
        format!("/v2/e2e/{a}/../../{b}/manifests/latest"),
    ] {
        let (status, text) = raw_request("GET", &path);
        if matches!(status, 301 | 307 | 308) {
            // Redirecting to the normalised path is fine too.
            let loc = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Location: ")
                        .or_else(|| l.strip_prefix("location: "))
                })
                .unwrap_or_else(|| panic!("redirect without Location:\n{text}"));
            assert!(!loc.contains(".."), "redirected to a path with `..`: {loc}");
            continue;
        }
        assert!(
            matches!(status, 400 | 404),
            "GET {path} answered {status}:\n{text}"
        );
        let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
        assert!(
            body.contains("\"errors\""),
            "no OCI error body for {path}:\n{text}"
        );
    }
}

#[test]
fn invalid_tag_reference() {
    let repo = unique_repo("badtag");
    let img = reg().push_random_image(&repo, "ok");
    for tag in [
        "-leading-dash".to_string(),
        ".leading-dot".to_string(),
        "x".repeat(129),
    ] {
        let r = reg().put_manifest(&repo, &tag, OCI_MANIFEST, &img.manifest);
        r.expect_error_any(400, &["MANIFEST_INVALID", "NAME_INVALID", "TAG_INVALID"]);
    }
    // The longest valid tag (128 characters) is fine.
    reg().push_manifest(
        &repo,
        &format!("_{}", "y".repeat(127)),
        OCI_MANIFEST,
        &img.manifest,
    );
}

#[test]
fn unknown_manifest_is_404() {
    let repo = unique_repo("unknown-manifest");
    reg().push_random_image(&repo, "v1");
    assert_manifest_unknown(&repo, "nope");
    let r = reg().head(&manifest_path(&repo, "nope")).call();
    r.expect(404);
    assert_manifest_unknown(&repo, &sha256_digest(random_hex(10).as_bytes()));
}

// ---------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------

/// The JSON string array `key` of a response (`tags`, `repositories`).
fn string_list(r: &Resp, key: &str) -> Vec<String> {
    serde_json::from_value(r.json()[key].clone()).unwrap()
}

#[test]
fn tags_list_of_unknown_repository() {
    let r = reg()
        .get(&reg().v2(&unique_repo("never-pushed"), "tags/list"))
        .call();
    r.expect_error(404, "NAME_UNKNOWN");
}

#[test]
fn tags_list_sorted_and_paginated() {
    let repo = unique_repo("tags");
    let img = reg().push_random_image(&repo, "latest");
    let mut tags = vec![
        "latest", "v1.10", "v1.2", "v1.0", "1.0", "V1", "a_b", "a-b", "a.b", "z",
    ];
    for t in &tags[1..] {
        reg().push_manifest(&repo, t, OCI_MANIFEST, &img.manifest);
    }
    tags.sort(); // byte-wise lexical order
    let want: Vec<String> = tags.iter().map(|s| s.to_string()).collect();

    let r = reg().get(&reg().v2(&repo, "tags/list")).call();
    r.expect(200);
    assert_eq!(r.json()["name"], repo.as_str());
    let all = string_list(&r, "tags");
    assert_eq!(all, want, "tags/list must list every tag, sorted lexically");
    assert!(
        r.next_link().is_none(),
        "no Link when everything fits: {r:?}"
    );

    // Pages of 3, following Link headers.
    let mut url = reg().abs(&format!("/v2/{repo}/tags/list?n=3"));
    let mut pages: Vec<Vec<String>> = Vec::new();
    loop {
        let r = reg().get(&url).call();
        r.expect(200);
        let page = string_list(&r, "tags");
        assert!(page.len() <= 3, "page larger than n=3: {page:?}");
        let link = r.header("Link").map(str::to_string);
        pages.push(page);
        match r.next_link() {
            Some(next) => {
                assert!(link.unwrap().contains("rel=\"next\""));
                url = next;
            }
            None => break,
        }
        assert!(pages.len() < 20, "pagination does not end");
    }
    assert_eq!(pages[0], want[..3].to_vec());
    assert_eq!(pages.concat(), want);
    assert!(
        pages.len() >= 4,
        "10 tags in pages of 3 need at least 4 pages: {pages:?}"
    );

    // `last` starts after the given tag.
    let r = reg()
        .get(&format!("/v2/{repo}/tags/list?n=2&last=V1"))
        .call();
    r.expect(200);
    let page = string_list(&r, "tags");
    let pos = want.iter().position(|t| t == "V1").unwrap();
    assert_eq!(page, want[pos + 1..pos + 3].to_vec());
    let link = r.must_header("Link");
    assert!(link.contains("rel=\"next\""), "{link}");
}

#[test]
fn catalog_paginated() {
    let prefix = unique_repo("catalog");
    let repos: Vec<String> = (0..5).map(|i| format!("{prefix}/r{i}")).collect();
    for r in &repos {
        reg().push_random_image(r, "v1");
    }
    // `last` = the prefix itself sorts just before our repositories.
    let mut url = reg().abs(&format!("/v2/_catalog?n=2&last={prefix}"));
    let mut seen: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        let r = reg().get(&url).call();
        r.expect(200);
        let page = string_list(&r, "repositories");
        assert!(page.len() <= 2, "page larger than n=2: {page:?}");
        let mut sorted = page.clone();
        sorted.sort();
        assert_eq!(page, sorted, "catalog page not sorted");
        seen.extend(page);
        pages += 1;
        if seen.iter().filter(|r| r.starts_with(&prefix)).count() >= repos.len() {
            break;
        }
        url = r.next_link().unwrap_or_else(|| {
            panic!("catalog ended before listing all of {repos:?}: saw {seen:?}\n{r:?}")
        });
        assert!(pages < 10);
    }
    assert_eq!(
        seen[..5].to_vec(),
        repos,
        "catalog must list our repositories in order right after `last`"
    );
    assert_eq!(pages, 3);

    // Unpaginated catalog also contains them.
    let r = reg().get("/v2/_catalog").call();
    r.expect(200);
    let mut all = string_list(&r, "repositories");
    let mut url = r.next_link();
    while let Some(u) = url {
        let r = reg().get(&u).call();
        r.expect(200);
        all.extend(string_list(&r, "repositories"));
        url = r.next_link();
    }
    for repo in &repos {
        assert!(all.contains(repo), "{repo} missing from the catalog");
    }
}

// ---------------------------------------------------------------------------------------
// Deletion
// ---------------------------------------------------------------------------------------

#[test]
fn delete_tag() {
    let repo = unique_repo("del-tag");
    let img = reg().push_random_image(&repo, "keep");
    reg().push_manifest(&repo, "drop", OCI_MANIFEST, &img.manifest);
    reg()
        .delete(&manifest_path(&repo, "drop"))
        .call()
        .expect(202);
    assert_manifest_unknown(&repo, "drop");
    reg().get_manifest(&repo, "keep").expect(200);
    reg().get_manifest(&repo, img.digest()).expect(200);
    assert_eq!(reg().all_tags(&repo), vec!["keep".to_string()]);
    // Deleting it again: it no longer exists.
    let r = reg().delete(&manifest_path(&repo, "drop")).call();
    r.expect_error(404, "MANIFEST_UNKNOWN");
}

#[test]
fn delete_manifest_by_digest() {
    let repo = unique_repo("del-manifest");
    let keep = reg().push_random_image(&repo, "keep");
    let img = reg().push_random_image(&repo, "gone");
    reg()
        .delete(&manifest_path(&repo, img.digest()))
        .call()
        .expect(202);
    assert_manifest_unknown(&repo, img.digest());
    reg()
        .head(&manifest_path(&repo, img.digest()))
        .call()
        .expect(404);
    assert_manifest_unknown(&repo, "gone");
    assert_eq!(reg().all_tags(&repo), vec!["keep".to_string()]);
    reg().get_manifest(&repo, keep.digest()).expect(200);
    reg()
        .delete(&manifest_path(&repo, img.digest()))
        .call()
        .expect_error(404, "MANIFEST_UNKNOWN");
}

#[test]
fn delete_blob() {
    let repo = unique_repo("del-blob");
    let data = random_bytes(999);
    let digest = reg().push_blob(&repo, &data);
    reg().head(&blob_path(&repo, &digest)).call().expect(200);
    reg().delete(&blob_path(&repo, &digest)).call().expect(202);
    assert_no_blob(&repo, &digest);
    reg()
        .get(&blob_path(&repo, &digest))
        .call()
        .expect_error(404, "BLOB_UNKNOWN");
    reg()
        .delete(&blob_path(&repo, &digest))
        .call()
        .expect_error(404, "BLOB_UNKNOWN");
}

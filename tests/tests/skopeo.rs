//! skopeo (Debian): copy an OCI layout with a large layer into the registry and back.

use std::fs::{self, File};
use std::io::BufWriter;

use tollgate_e2e::*;

const MIB: u64 = 1024 * 1024;

/// Builds an OCI layout at `dir` with one image (`tag`) whose only layer is a tar holding a
/// `size`-byte random file. Returns (manifest descriptor, layer descriptor).
fn build_layout(dir: &std::path::Path, tag: &str, size: u64) -> (Desc, Desc) {
    let layout = OciLayout::create(dir);
    let layer_tmp = dir.join("layer.tar.gz.tmp");
    // tar+gzip, hashing the uncompressed tar on the way for the config's diff id.
    let gz = GzipStored::new(BufWriter::new(File::create(&layer_tmp).unwrap()));
    let mut tar = Tar::new(HashingWriter::new(gz));
    tar.add_dir("data");
    tar.add_file_reader("data/random.bin", size, PrngReader::new(random_u64(), size));
    tar.add_file("data/hello.txt", b"hello from tollgate-e2e\n");
    let (diff_id, _, gz) = tar.finish().finish();
    gz.finish();
    let layer = layout.add_file(OCI_LAYER_GZIP, &layer_tmp);
    let config = layout.add_bytes(OCI_CONFIG, &image_config("amd64", &[diff_id]));
    let manifest = layout.add_bytes(
        OCI_MANIFEST,
        &oci_manifest(&config, std::slice::from_ref(&layer), None),
    );
    layout.write_index(&[(manifest.clone(), Some(tag))]);
    (manifest, layer)
}

#[test]
fn skopeo_copy_oci_layout_roundtrip() {
    let reg = registry();
    let sb = Sandbox::new("skopeo");
    let repo = unique_repo("skopeo");
    let src = sb.path("src");
    let (manifest, layer) = build_layout(&src, "v1", 60 * MIB);
    assert!(layer.size > 50 * MIB);
    let dest = format!("docker://{}", image_ref(&repo, "v1"));
    let creds = creds();

    sb.run(
        "skopeo",
        &[
            "copy",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            &format!("oci:{}:v1", src.display()),
            &dest,
        ],
    );

    // The registry holds exactly what was in the layout.
    let r = reg.assert_manifest_digest(&repo, "v1", &manifest.digest);
    assert_eq!(r.json()["layers"][0]["digest"], layer.digest.as_str());
    let r = reg.head(&blob_path(&repo, &layer.digest)).call();
    r.expect(200);
    assert_eq!(r.must_header("Content-Length"), layer.size.to_string());

    // skopeo inspect sees it.
    let run = sb.run(
        "skopeo",
        &["inspect", "--tls-verify=false", "--creds", &creds, &dest],
    );
    let v = run.json();
    assert_eq!(v["Digest"], manifest.digest.as_str(), "{run:?}");
    assert_eq!(v["Layers"][0], layer.digest.as_str(), "{run:?}");

    // Pull it back into another layout and compare the layer bytes.
    let back = sb.path("back");
    sb.run(
        "skopeo",
        &[
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--src-creds",
            &creds,
            &dest,
            &format!("oci:{}:v1", back.display()),
        ],
    );
    let out = OciLayout::open(&back);
    let idx = out.index();
    let m = idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "v1")
        .expect("tag v1 in pulled layout")
        .clone();
    assert_eq!(m["digest"], manifest.digest.as_str());
    let pulled = out.read_json(m["digest"].as_str().unwrap());
    let pulled_layer = pulled["layers"][0]["digest"].as_str().unwrap().to_string();
    assert_eq!(pulled_layer, layer.digest);
    let (d, n) = sha256_file(&out.blob_path(&pulled_layer));
    assert_eq!((d.as_str(), n), (layer.digest.as_str(), layer.size));
    let original = fs::metadata(OciLayout::open(&src).blob_path(&layer.digest))
        .unwrap()
        .len();
    assert_eq!(original, n);
}

#[test]
fn skopeo_rejects_wrong_credentials() {
    let sb = Sandbox::new("skopeo-badcreds");
    let repo = unique_repo("skopeo-denied");
    let src = sb.path("src");
    build_layout(&src, "v1", 1024);
    let run = sb.try_run(
        "skopeo",
        &[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &format!("{}:wrong-password", registry().user),
            &format!("oci:{}:v1", src.display()),
            &format!("docker://{}", image_ref(&repo, "v1")),
        ],
    );
    assert!(
        !run.status.success(),
        "push with a wrong password must fail:\n{run:?}"
    );
    assert!(
        run.stderr.to_lowercase().contains("unauthorized") || run.stderr.contains("401"),
        "expected an authentication error:\n{run:?}"
    );
    registry().get_manifest(&repo, "v1").expect(404);
}

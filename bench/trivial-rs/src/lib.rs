//! Benchmark reference for bench/run.sh (target `trivial-rs`): a workers-rs worker
//! that answers every request with 200 and the fixed body the calibration worker's
//! `GET /trivial` sends, with the same content type. It reads no request body and
//! touches no binding, so the manifest GET load against it measures what the wasm
//! runtime and the workers-rs glue cost a request, built the way the registry is
//! (worker-build, the workspace's release profile).

use worker::{event, Context, Env, Request, Response, ResponseBuilder, Result};

/// Shared with bench/calibration/worker.js: the size and shape of the small image
/// manifest bench.py pushes (562 bytes; the file has no trailing newline).
const BODY: &str = include_str!("../../calibration/trivial-body.txt");

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Ok(ResponseBuilder::new()
        .with_header("content-type", "application/vnd.oci.image.manifest.v1+json")?
        .fixed(BODY.as_bytes().to_vec()))
}

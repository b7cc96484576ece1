//! A bundle's bytes (crates/core/src/bundles/) written into the response body as
//! the client reads it: literal bytes (headers, padding, `index.json`, inline
//! manifests) from wasm, parts of R2 objects piped straight through, one after the
//! other, so memory stays flat however large the bundle. The body is a
//! `FixedLengthStream`, so the response carries its `Content-Length`.

use tollgate_core::bundles::tar::Piece;
use tollgate_core::{Error, Result};
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::{spawn_local, JsFuture};
use worker::worker_sys::FixedLengthStream;
use worker::{js_sys, web_sys, Bucket, Range, ResponseBody};

/// A body of `length` bytes that `pieces` fill once the response is sent. A
/// failure part way errors the body, so the client sees a short download (and
/// can resume it) rather than wrong bytes.
pub fn body(bucket: Bucket, pieces: Vec<Piece>, length: u64) -> Result<ResponseBody> {
    let fixed = FixedLengthStream::new_big_int(js_sys::BigInt::from(length))
        .map_err(|e| Error::Internal(format!("FixedLengthStream: {e:?}")))?;
    let (readable, writable) = (fixed.readable(), fixed.writable());
    spawn_local(async move {
        if let Err(e) = write(&bucket, pieces, &writable).await {
            worker::console_error!("bundle stream failed: {e:?}");
            let _ = JsFuture::from(writable.abort_with_reason(&e)).await;
        }
    });
    Ok(ResponseBody::Stream(readable))
}

async fn write(
    bucket: &Bucket,
    pieces: Vec<Piece>,
    writable: &web_sys::WritableStream,
) -> std::result::Result<(), JsValue> {
    for piece in pieces {
        match piece {
            Piece::Bytes(bytes) => {
                let writer = writable.get_writer()?;
                let chunk = js_sys::Uint8Array::from(bytes.as_slice());
                JsFuture::from(writer.write_with_chunk(&chunk)).await?;
                writer.release_lock();
            }
            Piece::Object {
                key,
                offset,
                length,
            } => pipe(bucket, &key, offset, length, writable).await?,
        }
    }
    let writer = writable.get_writer()?;
    JsFuture::from(writer.close()).await?;
    Ok(())
}

/// `length` bytes of the object `key` from `offset`, piped into `writable`
/// without closing it.
async fn pipe(
    bucket: &Bucket,
    key: &str,
    offset: u64,
    length: u64,
    writable: &web_sys::WritableStream,
) -> std::result::Result<(), JsValue> {
    let missing = || JsValue::from_str(&format!("object {key} missing from R2"));
    let range = Range::OffsetWithLength { offset, length };
    let object = bucket.get(key).range(range).execute().await;
    let object = object.map_err(|e| JsValue::from_str(&e.to_string()))?;
    let object = object.ok_or_else(missing)?;
    let body = object.body().ok_or_else(missing)?;
    let ResponseBody::Stream(stream) = body
        .response_body()
        .map_err(|e| JsValue::from_str(&e.to_string()))?
    else {
        return Err(missing());
    };
    let options = web_sys::StreamPipeOptions::new();
    options.set_prevent_close(true);
    JsFuture::from(stream.pipe_to_with_options(writable, &options)).await?;
    Ok(())
}

//! CSV exports, streamed page by page so any length fits in a Worker's memory: the
//! header, then one chunk of lines per page a `page` function reads from D1.

use futures::future::LocalBoxFuture;
use futures::stream;
use tollgate_core::Result;
use worker::Response;

use crate::error::internal;

/// One page of an export: its lines, and the cursor of the next page if any.
pub type Lines<'a> = LocalBoxFuture<'a, Result<(String, Option<String>)>>;

/// Where an export stands between chunks.
enum Next {
    Header,
    After(Option<String>),
    Done,
}

/// A `text/csv` attachment named `filename`: `header`, then the lines `page`
/// reads from `source` page after page until it gives no next cursor.
pub fn export<S: 'static>(
    filename: &str,
    header: &'static str,
    source: S,
    page: for<'a> fn(&'a S, Option<String>) -> Lines<'a>,
) -> Result<Response> {
    let chunks = stream::unfold((Next::Header, source), move |(next, source)| async move {
        let cursor = match next {
            Next::Done => return None,
            Next::Header => {
                let chunk: worker::Result<Vec<u8>> = Ok(header.as_bytes().to_vec());
                return Some((chunk, (Next::After(None), source)));
            }
            Next::After(cursor) => cursor,
        };
        let (chunk, next) = match page(&source, cursor).await {
            Ok((lines, Some(cursor))) => (Ok(lines.into_bytes()), Next::After(Some(cursor))),
            Ok((lines, None)) => (Ok(lines.into_bytes()), Next::Done),
            Err(e) => (Err(worker::Error::RustError(e.to_string())), Next::Done),
        };
        Some((chunk, (next, source)))
    });
    let mut response = Response::from_stream(chunks).map_err(internal)?;
    let headers = response.headers_mut();
    let _ = headers.set("Content-Type", "text/csv; charset=utf-8; header=present");
    let _ = headers.set(
        "Content-Disposition",
        &format!("attachment; filename=\"{filename}\""),
    );
    Ok(response)
}

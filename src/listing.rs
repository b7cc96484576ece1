//! `tags/list` and `_catalog`: lexically ordered names, paginated with `n`/`last`
//! and a `Link: <…>; rel="next"` header when more follow. A customer sees only
//! the tags and artifacts its licenses cover, paginated after filtering.

use serde_json::json;
use tollgate_core::licensing::license_store::Readable;
use tollgate_core::storage::paging::Page;
use tollgate_core::{Error, RepoName, Result};
use worker::Response;

use crate::app::App;
use crate::http::{json, query};
use crate::request::Request;

/// The most names one response carries, also when the client asks for all.
const MAX_PAGE: u64 = 10_000;

/// `n` and `last` from the query; a missing `n` means as many as we serve.
/// Apart from api::page_params: here a large `n` is cut down and a bad one UNSUPPORTED.
fn page_params(req: &Request) -> Result<(u64, Option<String>)> {
    let n = match query(req, "n") {
        Some(n) => n
            .parse::<u64>()
            .map_err(|_| Error::Unsupported(format!("invalid page size {n:?}")))?,
        None => MAX_PAGE,
    };
    Ok((
        n.min(MAX_PAGE),
        query(req, "last").filter(|l| !l.is_empty()),
    ))
}

fn with_next_link(
    mut response: Response,
    path: &str,
    n: u64,
    page: &Page<String>,
) -> Result<Response> {
    if let Some(last) = &page.next_cursor {
        let link = format!("<{path}?n={n}&last={last}>; rel=\"next\"");
        let _ = response.headers_mut().set("Link", &link);
    }
    Ok(response)
}

/// What `customer`'s licenses grant of `repo`, from the isolate's cache when it
/// knows: a customer's tag list then costs one round trip a page, as a vendor's.
async fn readable(app: &App, customer: &str, repo: &RepoName) -> Result<Readable> {
    if let Some(readable) = app.cache.readable(customer, repo) {
        return Ok(readable);
    }
    let readable = app.licenses().readable(customer, repo, app.now).await?;
    let readable = readable.ok_or(Error::NameUnknown)?;
    app.cache.keep_readable(customer, repo, readable.clone());
    Ok(readable)
}

pub async fn tags(req: &Request, app: &App, name: &RepoName) -> Result<Response> {
    let (n, last) = page_params(req)?;
    let page = match app.caller()?.customer() {
        None => {
            let page = app.store().tags(name, last.as_deref(), n).await?;
            if page.items.is_empty() && !app.store().repository_exists(name).await? {
                return Err(Error::NameUnknown);
            }
            page
        }
        Some(customer) => {
            let readable = readable(app, customer, name).await?;
            let licenses = app.licenses();
            let rows = licenses
                .tags_of(&readable, name, last.as_deref(), n)
                .await?;
            Page::of_names(rows.into_iter().map(|r| r.tag).collect(), n)
        }
    };
    let response = json(200, &json!({ "name": name.as_str(), "tags": page.items }))?;
    with_next_link(response, &format!("/v2/{name}/tags/list"), n, &page)
}

pub async fn catalog(req: &Request, app: &App) -> Result<Response> {
    let (n, last) = page_params(req)?;
    let page = match app.caller()?.customer() {
        None => app.store().catalog(last.as_deref(), n).await?,
        Some(customer) => {
            let names = app
                .licenses()
                .licensed_artifacts(customer, last.as_deref(), None, n, app.now)
                .await?;
            Page::of_names(names, n)
        }
    };
    let response = json(200, &json!({ "repositories": page.items }))?;
    with_next_link(response, "/v2/_catalog", n, &page)
}

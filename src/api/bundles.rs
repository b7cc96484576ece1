//! Air-gap bundles (`/api/v1/bundles`, docs/bundles.md). `POST` fixes a plan of a
//! customer's licensed versions; `GET /bundles/{id}` streams it as an OCI
//! image-layout tar, whole or from a `Range`, licenses checked again on each
//! download, and a customer's usage caps with them. A customer's users bundle for
//! their own customer only; vendor users for any. The plan, the tar arithmetic
//! and what a download counts are the core's (crates/core/src/bundles/); this
//! module only answers and streams.

use serde::Deserialize;
use tollgate_core::auth::policy::Action;
use tollgate_core::bundles::bundle_store::{Body, Bundle, Bundles};
use tollgate_core::bundles::counting::{bytes_by_license, counted_against, Reader};
use tollgate_core::bundles::plan::{Member, Selection, SelectionItem, OCI_LAYOUT};
use tollgate_core::bundles::tar::Source;
use tollgate_core::oci::range::ByteRange;
use tollgate_core::storage::paging::new_id;
use tollgate_core::{Error, Result};
use worker::{Context, Response};

use super::{json, read_json, require};
use crate::app::{random, App};
use crate::http::{header, headers};
use crate::request::Request;

/// What `POST /bundles` reads.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBundle {
    customer_id: Option<String>,
    #[serde(default)]
    all: bool,
    #[serde(default)]
    items: Vec<SelectionItem>,
}

/// The customer a bundle is for: a customer's own (naming another is answered
/// as if it did not exist), or the one a vendor user names.
fn for_customer(app: &App, asked: Option<String>) -> Result<String> {
    let caller = require(app, Action::Pull)?;
    match (caller.customer(), asked) {
        (Some(own), Some(asked)) if asked != own => Err(Error::NotFound("customer")),
        (Some(own), _) => Ok(own.to_owned()),
        (None, Some(asked)) => Ok(asked),
        (None, None) => Err(Error::Invalid("customer_id is required".into())),
    }
}

/// `POST /bundles`: the plan of the selection, stored; refused whole (404) when
/// anything named is missing or not licensed to the customer.
pub async fn create(req: Request, app: &App) -> Result<Response> {
    let asked: NewBundle = read_json(req).await?;
    let customer = for_customer(app, asked.customer_id)?;
    let selection = Selection {
        all: asked.all,
        items: asked.items,
    };
    let bundles = Bundles::new(&app.db);
    let plan = bundles.plan(&customer, &selection, app.now).await?;
    let id = new_id(app.now, &random()?);
    let created_by = &app.caller()?.identity.user_id;
    bundles
        .save(&id, &customer, created_by, &plan, app.now)
        .await?;
    let versions: Vec<serde_json::Value> = plan
        .versions
        .iter()
        .map(|v| {
            serde_json::json!({
                "artifact": v.artifact, "tag": v.tag, "digest": v.digest,
                "ref_name": v.ref_name(),
            })
        })
        .collect();
    json(
        201,
        &serde_json::json!({
            "id": id,
            "customer_id": customer,
            "created_at": app.now,
            "size": plan.layout().len(),
            "versions": versions,
            "download": format!("/api/v1/bundles/{id}"),
        }),
    )
}

/// The bundle `id` if the caller may download it now — its customer's users or
/// vendor users, while every version is still licensed to the customer — with
/// the license each version counts against (`bundles::counting`); a customer over
/// a cap is refused here, before anything streams.
async fn downloadable(app: &App, id: &str) -> Result<(Bundle, Vec<Option<String>>)> {
    let caller = require(app, Action::Pull)?;
    let bundles = Bundles::new(&app.db);
    let bundle = bundles
        .show(id)
        .await?
        .filter(|b| caller.customer().is_none_or(|c| c == b.customer_id))
        .ok_or(Error::NotFound("bundle"))?;
    let access = bundles
        .access(&bundle.customer_id, &bundle.plan, app.now)
        .await?;
    let reader = match caller.customer() {
        Some(_) => Reader::Customer,
        None => Reader::Vendor,
    };
    let licenses = counted_against(access, reader, app.now)?;
    Ok((bundle, licenses))
}

/// `GET`/`HEAD /bundles/{id}`: the archive, or the part a `Range` asks for. A
/// GET from byte 0 counts each version as a download marked with the bundle;
/// a resume (a range from further on) does not count again. The bytes of every
/// GET count, as a blob GET's do.
pub async fn download(
    req: &Request,
    app: &App,
    ctx: &Context,
    id: &str,
    with_body: bool,
) -> Result<Response> {
    let (bundle, licenses) = downloadable(app, id).await?;
    let plan = &bundle.plan;
    let layout = plan.layout();
    let size = layout.len();
    let range = crate::blobs::byte_range(header(req, "Range").as_deref(), size)?;
    let whole = ByteRange {
        start: 0,
        end: size - 1,
    };
    let span = range.unwrap_or(whole);
    let length = span.len().to_string();
    let content_range = range.map(|r| format!("bytes {}-{}/{size}", r.start, r.end));
    let disposition = format!("attachment; filename=\"bundle-{id}.tar\"");
    let etag = crate::http::entity_tag(id);
    let mut pairs = vec![
        ("Content-Type", "application/x-tar"),
        ("Content-Length", length.as_str()),
        ("Accept-Ranges", "bytes"),
        ("Content-Disposition", disposition.as_str()),
        ("ETag", etag.as_str()),
    ];
    if let Some(content_range) = content_range.as_deref() {
        pairs.push(("Content-Range", content_range));
    }
    let status = if range.is_some() { 206 } else { 200 };
    if !with_body {
        return crate::http::empty(status, &pairs);
    }
    let bodies = Bundles::new(&app.db).bodies(plan).await?;
    let index = plan.index_json();
    let members = plan.members();
    let mut sources = Vec::with_capacity(members.len());
    for (_, member) in &members {
        sources.push(match member {
            Member::OciLayout => Source::Bytes(OCI_LAYOUT),
            Member::Index => Source::Bytes(&index),
            Member::Directory => Source::Bytes(&[]),
            Member::Content(c) => match bodies.get(&c.digest) {
                Some(Body::Inline(text)) => Source::Bytes(text.as_bytes()),
                Some(Body::Object(key)) => Source::Object(key),
                None => return Err(Error::NotFound("bundle")),
            },
        });
    }
    let pieces = layout.pieces(span, |i| sources[i]);
    let body = crate::bundle_stream::body(app.objects.bucket(), pieces, span.len())?;
    if span.start == 0 {
        crate::downloads::send_bundle(req, app, ctx, id, (&plan.versions, &licenses))?;
    }
    crate::downloads::send_reads(app, ctx, bytes_by_license(&licenses, span.len()))?;
    let response = Response::from_body(body).map_err(crate::error::internal)?;
    Ok(response.with_status(status).with_headers(headers(&pairs)))
}

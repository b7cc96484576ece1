//! `/api/v1`: the management API. JSON in and out, RFC 9457 problem details for
//! errors, cursor pagination (`?cursor=&limit=` → `{items, next_cursor}`), and the
//! OpenAPI document at `/api/v1/openapi.json` that describes all of it. Requests
//! authenticate with the dashboard's session cookie or, like registry clients,
//! with HTTP Basic (email and token); cookie-authenticated writes must come from
//! this origin.

mod artifacts;
mod audit;
mod bundles;
mod csv;
mod customers;
mod dashboard;
mod downloads;
mod licenses;
mod routes;
mod session;
mod sessions;
mod tokens;
mod upstream;
mod users;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tollgate_core::auth::policy::{decide, Action, Decision};
use tollgate_core::{Error, Result};
use worker::{Context, Env, Method, Response};

use crate::app::App;
use crate::audit::Change;
use crate::auth::{self, Caller, Surface};
use crate::http::{header, query};
use crate::request::Request;
use routes::Route;

const OPENAPI: &str = include_str!("openapi.json");

/// JSON bodies larger than this are refused.
const MAX_BODY: usize = 64 * 1024;
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// Answers an `/api` request; every change is recorded in the audit log with its
/// caller and the answer's status, refusals too.
pub async fn handle(req: Request, env: &Env, ctx: &Context) -> Response {
    let mut app = match App::new(env) {
        Ok(app) => app,
        Err(e) => return crate::error::problem(&e),
    };
    let change = Change::of(&req);
    let result = serve(req, &mut app, ctx).await;
    if let Some(change) = change {
        let status = result
            .as_ref()
            .map_or_else(crate::error::status, Response::status_code);
        change.record(&app, status).await;
    }
    result.unwrap_or_else(|e| crate::error::problem(&e))
}

async fn serve(req: Request, app: &mut App, ctx: &Context) -> Result<Response> {
    let path = req.path();
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return Err(Error::NotFound("endpoint"));
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let method = req.method();
    if parts == ["openapi.json"] {
        return openapi(&method);
    }
    if parts == ["session"] {
        check_origin(&req)?;
        return match method {
            Method::Post => session::sign_in(req, app).await,
            Method::Delete => session::sign_out(&req, app).await,
            _ => Err(Error::MethodNotAllowed),
        };
    }
    let credentials = auth::credentials(&req, app, Surface::Api)?;
    if credentials.by_cookie() && !matches!(method, Method::Get | Method::Head) {
        check_same_origin(&req)?;
    }
    let caller = credentials.resolve(app).await?.ok_or(Error::Unauthorized)?;
    app.caller = Some(caller);
    let app = &*app;
    match (Route::parse(&parts)?, method) {
        (Route::Me, Method::Get) => session::me(app),
        (Route::Users, Method::Get) => users::list(&req, app, None).await,
        (Route::Users, Method::Post) => users::create(req, app, None).await,
        (Route::User(id), Method::Get) => users::show(app, id).await,
        (Route::User(id), Method::Delete) => users::delete(app, id).await,
        (Route::Customers, Method::Get) => customers::list(&req, app).await,
        (Route::Customers, Method::Post) => customers::create(req, app).await,
        (Route::Customer(id), Method::Get) => customers::show(app, id).await,
        (Route::Customer(id), Method::Delete) => customers::delete(app, id).await,
        (Route::CustomerUsers(id), Method::Get) => users::list(&req, app, Some(id)).await,
        (Route::CustomerUsers(id), Method::Post) => users::create(req, app, Some(id)).await,
        (Route::Tokens, Method::Get) => tokens::list(&req, app).await,
        (Route::Tokens, Method::Post) => tokens::create(req, app).await,
        (Route::Token(id), Method::Delete) => tokens::revoke(app, id).await,
        (Route::Sessions, Method::Get) => sessions::list(&req, app).await,
        (Route::Session(id), Method::Delete) => sessions::revoke(app, id).await,
        (Route::Dashboard, Method::Get) => dashboard::show(&req, app).await,
        (Route::Downloads, Method::Get) => downloads::log(&req, app).await,
        (Route::DownloadsCsv, Method::Get) => downloads::csv(&req, app).await,
        (Route::DownloadsDaily, Method::Get) => downloads::daily(&req, app).await,
        (Route::Audit, Method::Get) => audit::list(&req, app).await,
        (Route::AuditCsv, Method::Get) => audit::csv(&req, app).await,
        (Route::Bundles, Method::Post) => bundles::create(req, app).await,
        (Route::Bundle(id), Method::Get) => bundles::download(&req, app, ctx, id, true).await,
        (Route::Bundle(id), Method::Head) => bundles::download(&req, app, ctx, id, false).await,
        (Route::Licenses, Method::Get) => licenses::list(&req, app).await,
        (Route::Licenses, Method::Post) => licenses::create(req, app).await,
        (Route::License(id), Method::Get) => licenses::show(app, id).await,
        (Route::License(id), Method::Put) => licenses::replace(req, app, id).await,
        (Route::License(id), Method::Delete) => licenses::delete(app, id).await,
        (Route::Artifacts, Method::Get) => artifacts::list(&req, app).await,
        (Route::Artifact(name), Method::Get) => artifacts::details(&req, app, &name).await,
        (Route::Artifact(name), Method::Delete) => artifacts::delete(app, &name).await,
        (Route::Artifact(name), Method::Patch) => artifacts::change(req, app, &name).await,
        (Route::ArtifactTags(name), Method::Get) => artifacts::tags(&req, app, &name).await,
        (Route::ArtifactTag(name, tag), Method::Delete) => {
            artifacts::delete_tag(app, &name, &tag).await
        }
        (Route::ArtifactUpstream(name), Method::Get) => upstream::show(app, &name).await,
        (Route::ArtifactUpstream(name), Method::Put) => upstream::set(req, app, &name).await,
        (Route::ArtifactUpstream(name), Method::Delete) => upstream::remove(app, &name).await,
        // A path the table knows (an unknown one is 404 above), with another method.
        _ => Err(Error::MethodNotAllowed),
    }
}

fn openapi(method: &Method) -> Result<Response> {
    if *method != Method::Get {
        return Err(Error::MethodNotAllowed);
    }
    let response = Response::ok(OPENAPI).map_err(crate::error::internal)?;
    let mut response = response.with_status(200);
    let _ = response
        .headers_mut()
        .set("Content-Type", "application/json");
    Ok(response)
}

/// This server's origin, as a browser names it in `Origin`.
fn own_origin(req: &Request) -> Result<String> {
    let url = req.url().map_err(crate::error::internal)?;
    Ok(url.origin().ascii_serialization())
}

/// Sign-in and sign-out must not come from another site (a forged sign-in would
/// put the victim in the attacker's account); clients that are no browser send
/// neither header.
fn check_origin(req: &Request) -> Result<()> {
    match header(req, "Origin") {
        Some(origin) if origin == own_origin(req)? => Ok(()),
        Some(_) => Err(Error::Denied),
        None if header(req, "Sec-Fetch-Site").is_none() => Ok(()),
        None => Err(Error::Denied),
    }
}

/// A write made with the session cookie must show it comes from this origin: the
/// cookie alone would let another site act for a signed-in user. Browsers send
/// `Origin` on every such request, or at least `Sec-Fetch-Site`.
fn check_same_origin(req: &Request) -> Result<()> {
    let same = match header(req, "Origin") {
        Some(origin) => origin == own_origin(req)?,
        None => header(req, "Sec-Fetch-Site").as_deref() == Some("same-origin"),
    };
    same.then_some(()).ok_or(Error::Denied)
}

/// The caller, allowed to do `action` (for a customer's licensed actions, on what
/// its licenses cover); refusals as the policy says.
fn require(app: &App, action: Action) -> Result<&Caller> {
    let caller = app.caller()?;
    match decide(caller.identity.role, action) {
        // Whoever asks for a licensed action filters what it returns by
        // `Caller::customer`.
        Decision::Allow | Decision::Licensed => Ok(caller),
        Decision::Deny => Err(Error::Denied),
    }
}

/// The customer whose data a caller may see: its own for a customer; `None` for
/// vendor staff allowed to view accounts, who see everyone's.
fn own_customer(app: &App) -> Result<Option<String>> {
    match app.caller()?.customer() {
        Some(customer) => Ok(Some(customer.to_owned())),
        None => require(app, Action::ViewAccounts).map(|_| None),
    }
}

/// The customer a view is about: the caller's own for a customer, else the
/// `customer_id` asked for, if any.
fn customer_filter(req: &Request, app: &App) -> Result<Option<String>> {
    Ok(own_customer(app)?.or_else(|| query(req, "customer_id")))
}

/// The request's JSON body. Its Content-Type must say JSON: a cross-site form can
/// send `text/plain` without a preflight, never `application/json`.
async fn read_json<T: DeserializeOwned>(mut req: Request) -> Result<T> {
    let media_type = header(&req, "Content-Type").unwrap_or_default();
    let essence = media_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(Error::UnsupportedMediaType("application/json"));
    }
    if header(&req, "Content-Length")
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_BODY)
    {
        return Err(Error::Invalid(format!(
            "request body over {MAX_BODY} bytes"
        )));
    }
    let body = req.bytes().await.map_err(crate::error::internal)?;
    if body.len() > MAX_BODY {
        return Err(Error::Invalid(format!(
            "request body over {MAX_BODY} bytes"
        )));
    }
    serde_json::from_slice(&body).map_err(|e| Error::Invalid(format!("invalid JSON body: {e}")))
}

/// `cursor` and `limit` from the query.
/// Apart from listing::page_params (/v2 cuts a large `n` down); any bad limit is 400 here.
fn page_params(req: &Request) -> Result<(Option<String>, u32)> {
    let limit = match query(req, "limit") {
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| Error::Invalid(format!("limit must be 1 to {MAX_LIMIT}")))?,
        None => DEFAULT_LIMIT,
    };
    Ok((query(req, "cursor").filter(|c| !c.is_empty()), limit))
}

fn json<T: Serialize>(status: u16, value: &T) -> Result<Response> {
    crate::http::json(status, value)
}

fn no_content() -> Result<Response> {
    crate::http::empty(204, &[])
}

/// 200 with `found`, or 404 naming `what`.
fn found<T: Serialize>(found: Option<T>, what: &'static str) -> Result<Response> {
    json(200, &found.ok_or(Error::NotFound(what))?)
}

/// 204 when something was deleted, or 404 naming `what`.
fn deleted(deleted: bool, what: &'static str) -> Result<Response> {
    if deleted {
        no_content()
    } else {
        Err(Error::NotFound(what))
    }
}

//! Tollgate's registry worker: `/v2/` (the OCI Distribution API), `/token` (Docker
//! token authentication) and `/api/v1` (the management API). Each request is
//! authenticated, checked against the core's policy, routed through the core's
//! parser to one handler module per resource, and every failure is mapped in
//! `error.rs`. All OCI and account rules live in `tollgate-core`.

mod api;
mod app;
mod auth;
mod blobs;
mod d1;
mod error;
mod http;
mod ingest;
mod listing;
mod manifests;
mod referrers;
mod token;
mod uploads;

use serde::de::DeserializeOwned;
use tollgate_core::policy::Verdict;
use tollgate_core::route::Route;
use tollgate_core::scope;
use tollgate_core::sql::{Sql, Statement};
use tollgate_core::store::{blob_query, manifest_query, BlobRow, ManifestRow};
use tollgate_core::{Error, Result};
use worker::{event, Context, Env, Method, Request, Response};

use app::App;
use auth::{Caller, Credentials, Lookup};

/// A read fetched in the credential lookup's round trip: the row, or `None` when
/// there is no such manifest or blob.
enum Prefetched {
    Manifest(Option<ManifestRow>),
    Blob(Option<BlobRow>),
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    console_error_panic_hook::set_once();
    let path = req.path();
    let response = if path == "/token" {
        token(req, &env)
            .await
            .unwrap_or_else(|e| error::response(&e))
    } else if path == "/api" || path.starts_with("/api/") {
        api::handle(req, &env)
            .await
            .unwrap_or_else(|e| error::problem(&e))
    } else {
        registry(req, &env)
            .await
            .unwrap_or_else(|e| error::response(&e))
    };
    Ok(http::with_api_version(response))
}

async fn token(req: Request, env: &Env) -> Result<Response> {
    token::handle(req, &App::new(env)?).await
}

/// `/v2/`: authenticate, ask the policy, then act. Without valid credentials the
/// answer is a challenge naming the scope this request needs.
async fn registry(req: Request, env: &Env) -> Result<Response> {
    let route = Route::parse(&req.path());
    let method = req.method();
    let needed = match &route {
        Ok(Some(route)) => route
            .action(method.as_ref())
            .map(|action| (route.repository().cloned(), action)),
        _ => None,
    };
    let challenge = |insufficient| -> Result<Response> {
        let service = auth::service(&req)?;
        let realm = format!(
            "{}/token",
            req.url()
                .map_err(error::internal)?
                .origin()
                .ascii_serialization()
        );
        let scope = needed
            .as_ref()
            .and_then(|(repo, action)| scope::challenge(repo.as_ref(), *action));
        Ok(error::challenge(
            &realm,
            &service,
            scope.as_deref(),
            insufficient,
        ))
    };
    let mut app = App::new(env)?;
    let (caller, prefetched) = match authenticate(&req, &app, &route).await {
        Err(Error::Unauthorized) => return challenge(false),
        other => other?,
    };
    let route = route?.ok_or(Error::UnknownEndpoint)?;
    if let Some((repo, action)) = &needed {
        match caller.verdict(repo.as_ref(), *action) {
            Verdict::Allow => {}
            Verdict::NeedsScope => return challenge(true),
            Verdict::Deny => return Err(Error::Denied),
            Verdict::Hide => return Err(route.hidden()),
        }
    }
    app.caller = Some(caller);
    dispatch(req, &app, route, prefetched).await
}

/// The caller, and for a manifest or blob read the row it asks for: with a token,
/// bearer token or session, that read rides in the credential lookup's round trip.
async fn authenticate(
    req: &Request,
    app: &App,
    route: &Result<Option<Route>>,
) -> Result<(Caller, Option<Prefetched>)> {
    let credentials = auth::credentials(req, app, false)?;
    let read = matches!(req.method(), Method::Get | Method::Head);
    match (credentials, route) {
        (Credentials::Lookup(lookup), Ok(Some(Route::Manifest(name, reference)))) if read => {
            let (caller, row) = with_lookup(app, lookup, manifest_query(name, reference)).await?;
            Ok((caller, Some(Prefetched::Manifest(row))))
        }
        (Credentials::Lookup(lookup), Ok(Some(Route::Blob(name, digest)))) if read => {
            let (caller, row) = with_lookup(app, lookup, blob_query(name, digest)).await?;
            Ok((caller, Some(Prefetched::Blob(row))))
        }
        (credentials, _) => {
            let caller = credentials.resolve(app).await?.ok_or(Error::Unauthorized)?;
            Ok((caller, None))
        }
    }
}

/// Runs a credential lookup and `query` in one D1 round trip.
async fn with_lookup<T: DeserializeOwned>(
    app: &App,
    lookup: Lookup,
    query: Statement,
) -> Result<(Caller, Option<T>)> {
    let (found, rows) = app.db.query_both(lookup.statement.clone(), query).await?;
    let caller = lookup.finish(app, found.into_iter().next()).await?;
    Ok((caller, rows.into_iter().next()))
}

async fn dispatch(
    req: Request,
    app: &App,
    route: Route,
    prefetched: Option<Prefetched>,
) -> Result<Response> {
    let method = req.method();
    let read_body = method == Method::Get;
    match (route, method) {
        (Route::Base, Method::Get | Method::Head) => http::json(200, &serde_json::json!({})),
        (Route::Catalog, Method::Get) => listing::catalog(&req, app).await,
        (Route::Tags(name), Method::Get) => listing::tags(&req, app, &name).await,
        (Route::Manifest(name, reference), Method::Get | Method::Head) => {
            let row = match prefetched {
                Some(Prefetched::Manifest(row)) => row,
                _ => app.store().manifest(&name, &reference).await?,
            };
            manifests::get(app, row, read_body).await
        }
        (Route::Manifest(name, reference), Method::Put) => {
            manifests::put(req, app, &name, &reference).await
        }
        (Route::Manifest(name, reference), Method::Delete) => {
            manifests::delete(app, &name, &reference).await
        }
        (Route::InvalidManifestReference(_, error), Method::Put) => Err(error),
        (Route::InvalidManifestReference(..), Method::Get | Method::Head | Method::Delete) => {
            Err(Error::ManifestUnknown)
        }
        (Route::Blob(name, digest), Method::Get | Method::Head) => {
            let row = match prefetched {
                Some(Prefetched::Blob(row)) => row,
                _ => app.store().blob(&name, &digest).await?,
            };
            blobs::get(&req, app, &digest, row, read_body).await
        }
        (Route::Blob(name, digest), Method::Delete) => blobs::delete(app, &name, &digest).await,
        (Route::UploadStart(name), Method::Post) => uploads::start(req, app, &name).await,
        (Route::Upload(name, id), Method::Get) => uploads::status(app, &name, &id).await,
        (Route::Upload(name, id), Method::Patch) => uploads::patch(req, app, &name, &id).await,
        (Route::Upload(name, id), Method::Put) => uploads::finish(req, app, &name, &id).await,
        (Route::Upload(name, id), Method::Delete) => uploads::cancel(app, &name, &id).await,
        (Route::Referrers(name, digest), Method::Get) => {
            referrers::list(&req, app, &name, &digest).await
        }
        _ => Err(Error::MethodNotAllowed),
    }
}

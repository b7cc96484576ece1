//! Tollgate's registry worker: authenticates each request, routes `/v2/` through the
//! core's parser to one handler module per resource, and maps every failure to the
//! spec's error form in `error.rs`. All OCI rules live in `tollgate-core`.

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
mod uploads;

use tollgate_core::route::Route;
use tollgate_core::{Error, Result};
use worker::{event, Context, Env, Method, Request, Response};

use app::App;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    console_error_panic_hook::set_once();
    let response = match serve(req, &env).await {
        Ok(response) => response,
        Err(e) => error::response(&e),
    };
    Ok(http::with_api_version(response))
}

async fn serve(req: Request, env: &Env) -> Result<Response> {
    auth::require_admin(&req, env)?;
    let route = Route::parse(&req.path())?.ok_or(Error::UnknownEndpoint)?;
    let app = App::new(env)?;
    dispatch(req, &app, route).await
}

async fn dispatch(req: Request, app: &App, route: Route) -> Result<Response> {
    let method = req.method();
    match (route, method) {
        (Route::Base, Method::Get | Method::Head) => http::json(200, &serde_json::json!({})),
        (Route::Catalog, Method::Get) => listing::catalog(&req, app).await,
        (Route::Tags(name), Method::Get) => listing::tags(&req, app, &name).await,
        (Route::Manifest(name, reference), Method::Get) => {
            manifests::get(app, &name, &reference, true).await
        }
        (Route::Manifest(name, reference), Method::Head) => {
            manifests::get(app, &name, &reference, false).await
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
        (Route::Blob(name, digest), Method::Get) => {
            blobs::get(&req, app, &name, &digest, true).await
        }
        (Route::Blob(name, digest), Method::Head) => {
            blobs::get(&req, app, &name, &digest, false).await
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

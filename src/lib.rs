//! Tollgate's registry worker: `/v2/` (the OCI Distribution API), `/token` (Docker
//! token authentication) and `/api/v1` (the management API). Each request is
//! authenticated, checked against the core's policy, routed through the core's
//! parser to one handler module per resource, and every failure is mapped in
//! `error.rs`. All OCI and account rules live in `tollgate-core`.

mod api;
mod app;
mod audit;
mod auth;
mod blobs;
mod body;
mod bundle_stream;
mod cache;
mod downloads;
mod entry;
mod error;
mod gc;
mod http;
mod listing;
mod manifests;
mod r2;
mod referrers;
mod request;
mod scheduled;
mod sealing;
mod token;
mod uploads;
mod upstream;
mod upstream_sync;

use serde::de::DeserializeOwned;
use tollgate_core::auth::account_store::CredentialRow;
use tollgate_core::auth::policy::{self, Action};
use tollgate_core::auth::scope;
use tollgate_core::auth::verdict::Verdict;
use tollgate_core::cache::read_path::{TargetKey, Written};
use tollgate_core::licensing::license::{self, Access, GrantRow};
use tollgate_core::licensing::license_store::{grant_query, Licensee, Target};
use tollgate_core::oci::route::Route;
use tollgate_core::storage::sql::{decode, Sql, Statement};
use tollgate_core::storage::store::{blob_query, manifest_query, BlobRow, ManifestRow};
use tollgate_core::{Error, Reference, RepoName, Result};
use worker::{web_sys, Context, Env, Method, Response, Url};

use crate::request::Request;
use app::App;
use auth::{Caller, Credentials, Lookup, Surface};
use cache::Row;
use http::Reply;

/// A read fetched in the credential lookup's round trip: the row (`None` when
/// there is no such manifest or blob) and what the licenses and their caps say of
/// it (`verdict`), which counts only if the caller turns out to be a customer. The three statements
/// always run together, so the trip costs the same whether the thing exists or
/// is licensed, and nothing of the row is used before the verdict. Without a
/// prefetch the verdict comes first and the row is read only when it allows.
struct Fetched<T> {
    row: Option<T>,
    verdict: Access,
}

enum Prefetched {
    Manifest(Fetched<ManifestRow>),
    Blob(Fetched<BlobRow>),
    /// A manifest push's body, read before its credential was looked up (see
    /// [`one_trip_push`]).
    Push(Result<manifests::Pushed>),
}

/// A manifest push tried with its credential check inside its write batch.
enum OneTrip {
    Stored(Response),
    /// The guard or a missing reference aborted the batch: the push takes the
    /// checked path with the body it read.
    Read(Result<manifests::Pushed>),
}

/// Every request, answered (src/entry.rs calls this).
async fn fetch(req: Request, env: Env, ctx: Context) -> web_sys::Response {
    console_error_panic_hook::set_once();
    let path = req.path();
    let written = Written::of(&path, http::method(&req.method()));
    let (reply, server_timing) = if path == "/api" || path.starts_with("/api/") {
        (api::handle(req, &env, &ctx).await.into(), None)
    } else {
        registry_or_token(req, &env, &ctx, path == "/token").await
    };
    // Only once the write is done: a read that began before it keeps nothing. A
    // refusal (4xx) changed nothing, and must not let anyone, anonymous included,
    // empty the caches onto the database at will.
    if !(400..500).contains(&reply.status()) {
        cache::written(&written);
    }
    http::finish(reply, server_timing.as_deref())
}

/// `/v2/` or `/token`, with the OCI error for a failure, and the
/// `Server-Timing` value of every answer that got as far as its request's state.
async fn registry_or_token(
    req: Request,
    env: &Env,
    ctx: &Context,
    token: bool,
) -> (Reply, Option<String>) {
    // A handle on the request for a challenge's realm, parsed only when one is
    // answered: a URL parse costs a pull several percent of its CPU. (The handle,
    // not `Request.clone()`, which would tee the body.)
    let edge = Clone::clone(req.inner());
    let mut app = match App::new(env) {
        Ok(app) => app,
        Err(e) => return (oci_error(&e, &edge).into(), None),
    };
    let result = if token {
        token::handle(req, &app).await.map(Reply::from)
    } else {
        registry(req, &mut app, ctx).await
    };
    let reply = result.unwrap_or_else(|e| oci_error(&e, &edge).into());
    (reply, Some(app.server_timing()))
}

/// Where a client gets a bearer token: this origin's `/token`, and the service
/// (this host) to name there.
fn token_realm(url: &Url) -> (String, String) {
    (
        format!("{}/token", url.origin().ascii_serialization()),
        auth::service_of(url),
    )
}

/// The OCI error for `e`; a 401 challenges the client to get a bearer token.
fn oci_error(e: &Error, edge: &web_sys::Request) -> Response {
    let url = match e {
        Error::Unauthorized => Url::parse(&edge.url()).ok(),
        _ => None,
    };
    match url.as_ref().map(token_realm) {
        Some((realm, service)) => error::challenge(&realm, &service, None, false),
        None => error::response(e),
    }
}

/// `/v2/`: authenticate, ask the policy, then act. Without valid credentials the
/// answer is a challenge naming the scope this request needs.
async fn registry(mut req: Request, app: &mut App, ctx: &Context) -> Result<Reply> {
    let route = Route::parse(&req.path());
    let method = req.method();
    let needed = match &route {
        Ok(Some(route)) => policy::action(route, http::method(&method))
            .map(|action| (route.repository().cloned(), action)),
        _ => None,
    };
    let pushed = match one_trip_push(&mut req, app, &route).await? {
        Some(OneTrip::Stored(response)) => return Ok(response.into()),
        Some(OneTrip::Read(pushed)) => Some(Prefetched::Push(pushed)),
        None => None,
    };
    let challenge = |insufficient| -> Result<Reply> {
        let (realm, service) = token_realm(&req.url().map_err(error::internal)?);
        let scope = needed
            .as_ref()
            .and_then(|(repo, action)| scope::challenge(repo.as_ref(), *action));
        Ok(error::challenge(&realm, &service, scope.as_deref(), insufficient).into())
    };
    let (caller, prefetched) = match authenticate(&req, app, &route).await {
        Err(Error::Unauthorized) => return challenge(false),
        other => other?,
    };
    let prefetched = prefetched.or(pushed);
    let route = route?.ok_or(Error::UnknownEndpoint)?;
    let verdict = needed
        .as_ref()
        .map(|(repo, action)| caller.verdict(repo.as_ref(), *action));
    app.caller = Some(caller);
    // Every OCI DELETE goes into the audit log, refused ones too.
    let change = audit::Change::of(&req).filter(audit::Change::is_delete);
    let result = match verdict {
        // Licensed: each handler checks what it reads against the licenses.
        None | Some(Verdict::Allow | Verdict::Licensed) => {
            dispatch(req, app, ctx, route, prefetched).await
        }
        Some(Verdict::NeedsScope) => challenge(true),
        Some(Verdict::Deny) => Err(Error::Denied),
        Some(Verdict::Hide) => Err(route.hidden()),
    };
    if let Some(change) = change {
        let status = result.as_ref().map_or_else(error::status, Reply::status);
        change.record(app, status).await;
    }
    result
}

/// A manifest push by a token or bearer token, declaring a body small enough to
/// keep inline, is stored with the credential check as guards at the head of its
/// batch — one D1 round trip instead of a lookup and then the write. The guards
/// pass exactly the live credentials whose role the policy allows the push, so
/// a stored push is one the checked path would have stored. `None` for every
/// other request and for credentials no role of which could push here.
async fn one_trip_push(
    req: &mut Request,
    app: &App,
    route: &Result<Option<Route>>,
) -> Result<Option<OneTrip>> {
    let Ok(Some(route @ Route::Manifest(name, reference))) = route else {
        return Ok(None);
    };
    let method = req.method();
    if method != Method::Put || !manifests::inline_sized(req) {
        return Ok(None);
    }
    let Some(action) = policy::action(route, http::method(&method)) else {
        return Ok(None);
    };
    let Ok(Credentials::Lookup(lookup)) = auth::credentials(req, app, Surface::Registry) else {
        return Ok(None);
    };
    let Some(guards) = lookup.guards(app, name, action) else {
        return Ok(None);
    };
    let pushed = manifests::read(req, reference).await;
    // Only an inline manifest is stored before the credential is known: a large
    // one would write its object first. Any refusal — a guard, a missing
    // reference — takes the checked path, which says why without telling an
    // unchecked caller which blobs exist.
    let stored = match &pushed {
        Ok(pushed) if pushed.inline() => manifests::put(app, name, pushed, guards).await.ok(),
        _ => None,
    };
    Ok(Some(match stored {
        Some(response) => OneTrip::Stored(response),
        None => OneTrip::Read(pushed),
    }))
}

/// The caller, and for a manifest or blob read the row it asks for and its license
/// check: with a token, bearer token or session, those ride in the credential
/// lookup's round trip, so a customer's pull costs no more round trips than a
/// vendor's — and none when the isolate's caches hold all three.
async fn authenticate(
    req: &Request,
    app: &App,
    route: &Result<Option<Route>>,
) -> Result<(Caller, Option<Prefetched>)> {
    let credentials = auth::credentials(req, app, Surface::Registry)?;
    let read = matches!(req.method(), Method::Get | Method::Head);
    match (credentials, route) {
        (Credentials::Lookup(lookup), Ok(Some(Route::Manifest(name, reference)))) if read => {
            let query = manifest_query(name, reference);
            let target = (name, Target::Manifest(reference));
            let (caller, fetched) = with_lookup(app, lookup, query, target).await?;
            Ok((caller, Some(Prefetched::Manifest(fetched))))
        }
        (Credentials::Lookup(lookup), Ok(Some(Route::Blob(name, digest)))) if read => {
            let query = blob_query(name, digest);
            let (caller, fetched) =
                with_lookup(app, lookup, query, (name, Target::Blob(digest))).await?;
            Ok((caller, Some(Prefetched::Blob(fetched))))
        }
        (credentials, _) => {
            let caller = credentials.resolve(app).await?.ok_or(Error::Unauthorized)?;
            Ok((caller, None))
        }
    }
}

/// What the isolate's caches already know of a read: its caller and — for a known
/// caller — the license check (always true for vendor staff, whose reads no
/// license limits).
struct Known {
    caller: Option<Caller>,
    verdict: Option<Access>,
}

/// Where a read's row comes from. The row cache is asked only once the read is
/// known to be allowed, and a refused read reads no row: what a caller may not
/// read costs the same, and says the same in `Server-Timing`, whether it exists
/// or not.
enum RowFrom<T> {
    Cache(T),
    Database,
    Unneeded,
}

fn known(app: &App, lookup: &Lookup, key: &TargetKey) -> Known {
    let caller = lookup.cached(app);
    let verdict = caller.as_ref().and_then(|c| match c.customer() {
        None => Some(Access::Granted { license: None }),
        Some(customer) => app.cache.verdict(customer, key),
    });
    Known { caller, verdict }
}

fn row_from<T: Row>(app: &App, verdict: Option<&Access>, key: &TargetKey) -> RowFrom<T> {
    match verdict {
        Some(Access::Refused | Access::OverCap(_)) => RowFrom::Unneeded,
        Some(Access::Granted { .. }) => {
            T::cached(&app.cache, key).map_or(RowFrom::Database, RowFrom::Cache)
        }
        None => RowFrom::Database,
    }
}

/// Runs a credential lookup, `query` and the license check of `target` in one D1
/// round trip, leaving out what the isolate's caches know, and keeps what it read.
async fn with_lookup<T: Row + DeserializeOwned>(
    app: &App,
    lookup: Lookup,
    query: Statement,
    (repo, target): (&RepoName, Target<'_>),
) -> Result<(Caller, Fetched<T>)> {
    let key = TargetKey::new(repo, target);
    let known = known(app, &lookup, &key);
    let row_from = row_from::<T>(app, known.verdict.as_ref(), &key);
    let licensee = match known.caller.as_ref().and_then(Caller::customer) {
        Some(customer) => Licensee::Customer(customer.to_owned()),
        None => lookup.licensee.clone(),
    };
    let statements = [
        known.caller.is_none().then(|| lookup.statement.clone()),
        matches!(row_from, RowFrom::Database).then_some(query),
        known
            .verdict
            .is_none()
            .then(|| grant_query(&licensee, repo, target, app.now)),
    ];
    let statements: Vec<Statement> = statements.into_iter().flatten().collect();
    let mut results = match statements.is_empty() {
        true => Vec::new(),
        false => app.db.query_all(statements).await?,
    }
    .into_iter();
    let mut next = || results.next().unwrap_or_default();
    let caller = match known.caller {
        Some(caller) => caller,
        None => {
            let found: Vec<CredentialRow> = decode(next())?;
            lookup.finish(app, found.into_iter().next()).await?
        }
    };
    let row = match row_from {
        RowFrom::Cache(row) => Some(row),
        RowFrom::Unneeded => None,
        RowFrom::Database => {
            let row = decode::<T>(next())?.into_iter().next();
            if let Some(row) = &row {
                row.clone().keep(&app.cache, key.clone());
            }
            row
        }
    };
    let verdict = match known.verdict {
        Some(verdict) => verdict,
        None => {
            let found = license::access(&decode::<GrantRow>(next())?, app.now);
            if let Some(customer) = caller.customer() {
                app.cache.keep_verdict(customer, key, found.clone());
            }
            found.0
        }
    };
    Ok((caller, Fetched { row, verdict }))
}

async fn dispatch(
    req: Request,
    app: &App,
    ctx: &Context,
    route: Route,
    prefetched: Option<Prefetched>,
) -> Result<Reply> {
    match (route, req.method()) {
        (Route::Manifest(name, reference), method @ (Method::Get | Method::Head)) => {
            let prefetched = match prefetched {
                Some(Prefetched::Manifest(f)) => Some(f),
                _ => None,
            };
            let read = (&name, &reference, method == Method::Get);
            read_manifest(&req, app, ctx, read, prefetched).await
        }
        (route, _) => dispatch_built(req, app, ctx, route, prefetched)
            .await
            .map(Reply::from),
    }
}

/// `GET` (`with_body`) or `HEAD` of the manifest `reference` names in `name`.
async fn read_manifest(
    req: &Request,
    app: &App,
    ctx: &Context,
    (name, reference, with_body): (&RepoName, &Reference, bool),
    prefetched: Option<Fetched<ManifestRow>>,
) -> Result<Reply> {
    let (row, verdict) = match prefetched {
        Some(f) => (Some(f.row), Some(f.verdict)),
        None => (None, None),
    };
    let verdict = app
        .access(name, Target::Manifest(reference), verdict)
        .await?;
    let license = verdict.allow(Error::ManifestUnknown, app.now)?;
    let row = match row {
        Some(row) => row,
        None => app.store().manifest(name, reference).await?,
    };
    // Only now, with the license check passed: a read it refuses never
    // reaches the upstream. A stored tag fetched from it may be due for
    // re-resolving there.
    let row = match row {
        Some(row) => Some(upstream::fresh(app, name, reference, row).await?),
        None => upstream::manifest(app, name, reference).await?,
    };
    let digest = row.as_ref().map(|r| r.digest.clone());
    let reply = manifests::get(app, row, with_body).await?;
    if let (true, Some(digest)) = (with_body, digest) {
        downloads::send(req, app, ctx, (name, reference, &digest), license)?;
    }
    Ok(reply)
}

/// `GET /v2/`: the registry speaks the OCI distribution API, and this caller may use it.
fn version_check() -> Result<Response> {
    let pairs = [("Content-Type", "application/json"), http::API_VERSION];
    let response = Response::from_bytes(b"{}".to_vec()).map_err(error::internal)?;
    Ok(response.with_headers(http::headers(&pairs)))
}

/// Every other `/v2/` request, answered with a response the worker crate builds.
async fn dispatch_built(
    mut req: Request,
    app: &App,
    ctx: &Context,
    route: Route,
    prefetched: Option<Prefetched>,
) -> Result<Response> {
    let method = req.method();
    let read_body = method == Method::Get;
    match (route, method) {
        (Route::Base, Method::Get | Method::Head) => version_check(),
        (Route::Catalog, Method::Get) => listing::catalog(&req, app).await,
        (Route::Tags(name), Method::Get) => listing::tags(&req, app, &name).await,
        (Route::Manifest(name, reference), Method::Put) => {
            let pushed = match prefetched {
                Some(Prefetched::Push(pushed)) => pushed?,
                _ => manifests::read(&mut req, &reference).await?,
            };
            let guard = app.caller()?.guard(app, &name, Action::Push);
            manifests::put(app, &name, &pushed, vec![guard]).await
        }
        (Route::Manifest(name, reference), Method::Delete) => {
            manifests::delete(app, &name, &reference).await
        }
        (Route::InvalidManifestReference(_, error), Method::Put) => Err(error),
        (Route::InvalidManifestReference(..), Method::Get | Method::Head | Method::Delete) => {
            Err(Error::ManifestUnknown)
        }
        (Route::Blob(name, digest), Method::Get | Method::Head) => {
            let (row, verdict) = match prefetched {
                Some(Prefetched::Blob(f)) => (Some(f.row), Some(f.verdict)),
                _ => (None, None),
            };
            let verdict = app.access(&name, Target::Blob(&digest), verdict).await?;
            let license = verdict.allow(Error::BlobUnknown, app.now)?;
            let row = match row {
                Some(row) => row,
                None => app.store().blob(&name, &digest).await?,
            };
            let response = match row {
                Some(row) => blobs::get(&req, app, ctx, &digest, Some(row), read_body).await?,
                None => upstream::blob(app, ctx, &name, &digest, read_body).await?,
            };
            if let (true, Some(license)) = (read_body, license) {
                downloads::send_read(app, ctx, license, &response)?;
            }
            Ok(response)
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

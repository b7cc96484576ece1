//! `/token`: Docker token authentication. `GET` with Basic credentials (the
//! distribution token-server protocol) and the OAuth2 `POST` form (`grant_type`
//! `password` or `refresh_token`, as containerd and buildkit send it). The answer
//! is a short-lived bearer JWT granting what was asked *and* allowed; a request
//! without scopes (`docker login`) still checks the credentials. A refresh token,
//! when asked for, opens a session that its owner can revoke (`sessions.rs`).

use serde_json::json;
use tollgate_core::auth::account::{Identity, Role};
use tollgate_core::auth::account_store::{refresh_lookup, TOUCH_INTERVAL};
use tollgate_core::auth::jwt::{TokenKind, ACCESS_TTL_SECONDS, REFRESH_TTL_SECONDS};
use tollgate_core::auth::scope::{self, ResourceAccess};
use tollgate_core::auth::secret::{hash_secret, new_secret, REFRESH_PREFIX};
use tollgate_core::auth::sessions::{NewSession, SessionKind};
use tollgate_core::storage::paging::new_id;
use tollgate_core::time::rfc3339;
use tollgate_core::{Error, Result};
use worker::{Method, Response};

use crate::app::{random, App};
use crate::auth::{check_basic, client_address, service, user_agent};
use crate::http::{basic_credentials, header, json};
use crate::request::Request;

/// Form bodies larger than this are refused.
const MAX_FORM: usize = 64 * 1024;

pub async fn handle(mut req: Request, app: &App) -> Result<Response> {
    let (address, agent) = (client_address(&req), user_agent(&req));
    let (params, from_form) = match req.method() {
        Method::Get => (query_pairs(&req)?, false),
        Method::Post => (form_pairs(&mut req).await?, true),
        _ => return Err(Error::MethodNotAllowed),
    };
    let first = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let requested = scope::parse(
        &params
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>(),
    );
    let service = service(&req)?;
    let (identity, refreshable) = match (from_form, first("grant_type")) {
        (false, _) => {
            let authorization = header(&req, "Authorization").unwrap_or_default();
            let pair = basic_credentials(&authorization).ok_or(Error::Unauthorized)?;
            let offline = first("offline_token") == Some("true");
            (
                check_basic(app, &pair.user, &pair.password, &address).await?,
                offline,
            )
        }
        (true, Some("password")) => {
            let (email, password) = (first("username"), first("password"));
            let (Some(email), Some(password)) = (email, password) else {
                return Err(Error::Unauthorized);
            };
            let offline = first("access_type") == Some("offline");
            (check_basic(app, email, password, &address).await?, offline)
        }
        (true, Some("refresh_token")) => {
            let refresh = first("refresh_token").ok_or(Error::Unauthorized)?;
            (refreshed_identity(app, refresh, &service).await?, false)
        }
        (true, _) => {
            return Err(Error::Unsupported(
                "grant_type must be password or refresh_token".into(),
            ))
        }
    };
    let licensed = licensed_repositories(app, &identity, &requested).await?;
    let granted = scope::grant(identity.role, &requested, |name| {
        licensed.iter().any(|l| l == name)
    });
    let refresh = if refreshable {
        Some(refresh_token(app, &identity, &service, &agent, &address).await?)
    } else {
        None
    };
    respond(app, &identity, granted, &service, refresh)
}

/// Of the repositories asked for, those a customer holds a license in force for (none
/// for vendor staff, whose role decides).
async fn licensed_repositories(
    app: &App,
    identity: &Identity,
    requested: &[ResourceAccess],
) -> Result<Vec<String>> {
    let (Role::Customer, Some(customer)) = (identity.role, &identity.customer_id) else {
        return Ok(Vec::new());
    };
    let names: Vec<&str> = requested
        .iter()
        .filter(|r| r.kind == "repository")
        .map(|r| r.name.as_str())
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let n = names.len() as u64;
    app.licenses()
        .licensed_artifacts(customer, None, Some(&names), n, app.now)
        .await
}

/// The account a refresh token names, while its session is live (refresh tokens
/// from before sessions name none and are refused); the session's use is noted.
async fn refreshed_identity(app: &App, refresh: &str, service: &str) -> Result<Identity> {
    let claims = app
        .signer()?
        .verify(refresh, TokenKind::Refresh, service, app.now as u64)?;
    let hash = hash_secret(&claims.session.ok_or(Error::Unauthorized)?);
    let lookup = refresh_lookup(&claims.user_id, claims.token_id.as_deref(), &hash, app.now);
    let row = app
        .accounts()
        .lookup(lookup)
        .await?
        .ok_or(Error::Unauthorized)?;
    if row
        .last_used_at
        .is_none_or(|at| at < app.now - TOUCH_INTERVAL)
    {
        app.sessions().touch(&hash, app.now).await?;
    }
    Ok(row.identity())
}

/// A refresh token for `identity`, backed by a new session of its own.
async fn refresh_token(
    app: &App,
    identity: &Identity,
    service: &str,
    agent: &str,
    address: &str,
) -> Result<String> {
    let secret = new_secret(REFRESH_PREFIX, &random()?);
    let session = NewSession {
        id: new_id(app.now, &random()?),
        id_hash: &hash_secret(&secret),
        user_id: &identity.user_id,
        kind: SessionKind::Refresh,
        expires_at: app.now + REFRESH_TTL_SECONDS as i64,
        user_agent: agent,
        address,
    };
    app.sessions().create(&session, app.now).await?;
    app.signer()?
        .issue_refresh(identity, &secret, service, app.now as u64)
}

fn respond(
    app: &App,
    identity: &Identity,
    granted: Vec<ResourceAccess>,
    service: &str,
    refresh: Option<String>,
) -> Result<Response> {
    let signer = app.signer()?;
    let now = app.now as u64;
    let token = signer.issue(
        TokenKind::Access,
        identity,
        granted,
        service,
        now,
        ACCESS_TTL_SECONDS,
    )?;
    let mut body = json!({
        "token": token,
        "access_token": token,
        "expires_in": ACCESS_TTL_SECONDS,
        "issued_at": rfc3339(app.now),
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = refresh.into();
    }
    json(200, &body)
}

fn query_pairs(req: &Request) -> Result<Vec<(String, String)>> {
    let url = req.url().map_err(crate::error::internal)?;
    Ok(url.query_pairs().into_owned().collect())
}

async fn form_pairs(req: &mut Request) -> Result<Vec<(String, String)>> {
    if header(req, "Content-Length")
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_FORM)
    {
        return Err(Error::Unsupported("form body too large".into()));
    }
    let body = req.bytes().await.map_err(crate::error::internal)?;
    if body.len() > MAX_FORM {
        return Err(Error::Unsupported("form body too large".into()));
    }
    Ok(form_urlencoded::parse(&body).into_owned().collect())
}

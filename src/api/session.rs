//! Dashboard sign-in and sign-out, and `me`: the session cookie is HttpOnly,
//! Secure and SameSite=Strict, and only its hash is stored. Each sign-in is a
//! session its owner can list and revoke (`sessions.rs`); sign-out ends the
//! session the request names: the cookie's, or a refresh token's sent as Bearer.

use serde::Deserialize;
use serde_json::json;
use tollgate_core::auth::jwt::TokenKind;
use tollgate_core::auth::secret::{hash_secret, is_token, new_secret, SESSION_PREFIX};
use tollgate_core::auth::sessions::{NewSession, SessionKind};
use tollgate_core::storage::paging::new_id;
use tollgate_core::{Error, Result};
use worker::Response;

use super::{json, read_json};
use crate::app::{random, App};
use crate::auth::{bearer, check_basic, client_address, service, user_agent, SESSION_COOKIE};
use crate::http::{cookie, header};
use crate::request::Request;

const SESSION_TTL_SECONDS: i64 = 12 * 60 * 60;

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: String,
}

pub async fn sign_in(req: Request, app: &App) -> Result<Response> {
    let (address, agent) = (client_address(&req), user_agent(&req));
    let body: SignIn = read_json(req).await?;
    // The dashboard takes passwords; tokens are for clients and scripts.
    let password = if is_token(&body.password) {
        ""
    } else {
        body.password.as_str()
    };
    let identity = check_basic(app, &body.email, password, &address).await?;
    let secret = new_secret(SESSION_PREFIX, &random()?);
    let session = NewSession {
        id: new_id(app.now, &random()?),
        id_hash: &hash_secret(&secret),
        user_id: &identity.user_id,
        kind: SessionKind::Dashboard,
        expires_at: app.now + SESSION_TTL_SECONDS,
        user_agent: &agent,
        address: &address,
    };
    app.sessions().create(&session, app.now).await?;
    let user = app
        .accounts()
        .user(&identity.user_id)
        .await?
        .ok_or(Error::Unauthorized)?;
    let mut response = json(200, &user)?;
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; Max-Age={SESSION_TTL_SECONDS}; HttpOnly; Secure; SameSite=Strict"
    );
    let _ = response.headers_mut().set("Set-Cookie", &cookie);
    Ok(response)
}

/// Ends the dashboard session of the cookie and, for OAuth2 clients, the session
/// of a refresh token sent as `Authorization: Bearer`. A dashboard session issues
/// no refresh tokens (they come from `/token`), so it ends alone.
pub async fn sign_out(req: &Request, app: &App) -> Result<Response> {
    if let Some(session) = cookie(req, SESSION_COOKIE) {
        let hash = hash_secret(&session);
        app.sessions().end(&hash, SessionKind::Dashboard).await?;
    }
    if let Some(refresh) = header(req, "Authorization").as_deref().and_then(bearer) {
        let claims =
            app.signer()?
                .verify(refresh, TokenKind::Refresh, &service(req)?, app.now as u64)?;
        let session = claims.session.ok_or(Error::Unauthorized)?;
        app.sessions()
            .end(&hash_secret(&session), SessionKind::Refresh)
            .await?;
    }
    let mut response = super::no_content()?;
    let expired =
        format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
    let _ = response.headers_mut().set("Set-Cookie", &expired);
    Ok(response)
}

pub fn me(app: &App) -> Result<Response> {
    let identity = &app.caller()?.identity;
    json(
        200,
        &json!({
            "id": identity.user_id,
            "email": identity.email,
            "role": identity.role,
            "customer_id": identity.customer_id,
        }),
    )
}

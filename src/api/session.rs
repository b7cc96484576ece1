//! Dashboard sign-in and sign-out, and `me`: the session cookie is HttpOnly,
//! Secure and SameSite=Strict, and only its hash is stored.

use serde::Deserialize;
use serde_json::json;
use tollgate_core::auth::secret::{hash_secret, is_token, new_secret, SESSION_PREFIX};
use tollgate_core::{Error, Result};
use worker::{Request, Response};

use super::{json, read_json};
use crate::app::{random, App};
use crate::auth::{check_basic, client_address, SESSION_COOKIE};
use crate::http::cookie;

const SESSION_TTL_SECONDS: i64 = 12 * 60 * 60;

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: String,
}

pub async fn sign_in(req: Request, app: &App) -> Result<Response> {
    let address = client_address(&req);
    let body: SignIn = read_json(req).await?;
    // The dashboard takes passwords; tokens are for clients and scripts.
    let password = if is_token(&body.password) {
        ""
    } else {
        body.password.as_str()
    };
    let identity = check_basic(app, &body.email, password, &address).await?;
    let secret = new_secret(SESSION_PREFIX, &random()?);
    app.accounts()
        .create_session(
            &hash_secret(&secret),
            &identity.user_id,
            app.now,
            SESSION_TTL_SECONDS,
        )
        .await?;
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

pub async fn sign_out(req: &Request, app: &App) -> Result<Response> {
    if let Some(session) = cookie(req, SESSION_COOKIE) {
        app.accounts()
            .delete_session(&hash_secret(&session))
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

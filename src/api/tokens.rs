//! Personal access tokens (`/api/v1/tokens`): everyone manages their own; admins
//! also anyone's (`user_id`). The secret is in the create response only.

use serde::Deserialize;
use serde_json::json as value;
use tollgate_core::auth::account::text_field;
use tollgate_core::auth::account_store::Token;
use tollgate_core::auth::policy::{decide, Action, Decision};
use tollgate_core::auth::secret::{hash_secret, new_secret, TOKEN_PREFIX};
use tollgate_core::storage::paging::new_id;
use tollgate_core::{Error, Result};
use worker::Response;

use super::{json, no_content, page_params, read_json, require};
use crate::app::{random, App};
use crate::http::query;
use crate::request::Request;

/// The longest a token may be valid for: five years.
const MAX_LIFETIME_SECONDS: i64 = 5 * 366 * 86_400;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    /// When it expires (Unix seconds); none means it lives until revoked.
    expires_at: Option<i64>,
    /// Another user's id (admins only).
    user_id: Option<String>,
}

/// The user whose tokens (or sessions) are meant: the caller's own, or — for
/// admins — `other`.
pub(super) async fn owner(app: &App, other: Option<&str>) -> Result<String> {
    let caller = require(app, Action::OwnTokens)?;
    match other {
        None => Ok(caller.identity.user_id.clone()),
        Some(id) if id == caller.identity.user_id => Ok(id.to_owned()),
        Some(id) => {
            require(app, Action::ManageAccounts)?;
            app.accounts()
                .user(id)
                .await?
                .ok_or(Error::NotFound("user"))?;
            Ok(id.to_owned())
        }
    }
}

pub async fn list(req: &Request, app: &App) -> Result<Response> {
    let user = owner(app, query(req, "user_id").as_deref()).await?;
    let (cursor, limit) = page_params(req)?;
    json(
        200,
        &app.accounts()
            .tokens(&user, cursor.as_deref(), limit)
            .await?,
    )
}

pub async fn create(req: Request, app: &App) -> Result<Response> {
    let body: NewToken = read_json(req).await?;
    let user_id = owner(app, body.user_id.as_deref()).await?;
    if let Some(at) = body.expires_at {
        if at <= app.now || at - app.now > MAX_LIFETIME_SECONDS {
            return Err(Error::Invalid(
                "expires_at must be in the future and at most five years away".into(),
            ));
        }
    }
    let token = Token {
        id: new_id(app.now, &random()?),
        user_id,
        name: text_field("name", &body.name, 100, true)?,
        created_at: app.now,
        expires_at: body.expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    let secret = new_secret(TOKEN_PREFIX, &random()?);
    app.accounts()
        .create_token(&token, &hash_secret(&secret))
        .await?;
    json(201, &value!({ "token": token, "secret": secret }))
}

/// Revokes a token of the caller's, or anyone's for admins; others' tokens are
/// not found.
pub async fn revoke(app: &App, id: &str) -> Result<Response> {
    let caller = require(app, Action::OwnTokens)?;
    let token = app
        .accounts()
        .token(id)
        .await?
        .ok_or(Error::NotFound("token"))?;
    let admin = decide(caller.identity.role, Action::ManageAccounts) == Decision::Allow;
    if token.user_id != caller.identity.user_id && !admin {
        return Err(Error::NotFound("token"));
    }
    app.accounts().revoke_token(id, app.now).await?;
    no_content()
}

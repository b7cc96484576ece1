//! Sessions (`/api/v1/sessions`): dashboard sign-ins and refresh tokens. As with
//! tokens, everyone lists and revokes their own, admins anyone's (`user_id`);
//! others' sessions are not found. Revoking one ends it at once: its cookie or
//! refresh token is refused from the next request on.

use tollgate_core::auth::policy::{decide, Action, Decision};
use tollgate_core::auth::secret::hash_secret;
use tollgate_core::Result;
use worker::Response;

use super::tokens::owner;
use super::{deleted, json, page_params, require};
use crate::app::App;
use crate::auth::SESSION_COOKIE;
use crate::http::{cookie, query};
use crate::request::Request;

/// The live sessions of the caller (or, for admins, of `user_id`), the one the
/// request was made with marked `current`.
pub async fn list(req: &Request, app: &App) -> Result<Response> {
    let user = owner(app, query(req, "user_id").as_deref()).await?;
    let (cursor, limit) = page_params(req)?;
    let current = cookie(req, SESSION_COOKIE).map(|s| hash_secret(&s));
    let page = app
        .sessions()
        .list(&user, current.as_deref(), cursor.as_deref(), limit, app.now)
        .await?;
    json(200, &page)
}

pub async fn revoke(app: &App, id: &str) -> Result<Response> {
    let caller = require(app, Action::OwnTokens)?;
    let admin = decide(caller.identity.role, Action::ManageAccounts) == Decision::Allow;
    let owner = (!admin).then_some(caller.identity.user_id.as_str());
    deleted(app.sessions().revoke(id, owner).await?, "session")
}

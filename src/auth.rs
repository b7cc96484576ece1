//! Authentication: turns a request's credentials — HTTP Basic (email and personal
//! access token or password), a bearer JWT from `/token`, or a dashboard session
//! cookie — into a [`Caller`] the core's policy decides for. Failed credential
//! checks are counted and limited here, and the first admin is created here from
//! the `TOLLGATE_ADMIN_USER` / `TOLLGATE_ADMIN_PASSWORD` secrets.

use tollgate_core::account::{Email, Identity, Role};
use tollgate_core::accounts::{new_id, new_user};
use tollgate_core::credentials::{constant_time_eq, parse_basic};
use tollgate_core::jwt::Kind;
use tollgate_core::policy::{decide, Action, Decision};
use tollgate_core::scope::{covers, ResourceAccess};
use tollgate_core::secret::{hash_password, hash_secret, is_token};
use tollgate_core::{Error, RepoName, Result};
use worker::Request;

use crate::app::{random, App};
use crate::http::{cookie, header};

/// The dashboard's session cookie.
pub const SESSION_COOKIE: &str = "tollgate_session";

/// An authenticated request: who, and — for bearer tokens — what the token grants.
pub struct Caller {
    pub identity: Identity,
    /// `None` when the credential is not limited to scopes (Basic, session).
    pub access: Option<Vec<ResourceAccess>>,
}

/// The answer to "may the caller do this?".
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Allowed by role, but the bearer token was not issued for it: the client
    /// should fetch a token with the challenge's scope.
    NeedsScope,
    Deny,
    Hide,
}

impl Caller {
    pub fn verdict(&self, repo: Option<&RepoName>, action: Action) -> Verdict {
        match decide(self.identity.role, action) {
            Decision::Deny => Verdict::Deny,
            Decision::Hide => Verdict::Hide,
            Decision::Allow => match &self.access {
                Some(access) if !covers(access, repo, action) => Verdict::NeedsScope,
                _ => Verdict::Allow,
            },
        }
    }

    pub fn may(&self, repo: &RepoName, action: Action) -> bool {
        self.verdict(Some(repo), action) == Verdict::Allow
    }
}

/// Where a request comes from, for the per-address limit.
pub fn client_address(req: &Request) -> String {
    header(req, "CF-Connecting-IP").unwrap_or_else(|| "unknown".into())
}

/// `host[:port]` as clients address the registry: the tokens' audience.
pub fn service(req: &Request) -> Result<String> {
    let url = req.url().map_err(crate::error::internal)?;
    let host = url.host_str().unwrap_or_default();
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// The caller of a registry or API request; `None` when it sent no credentials.
/// Credentials that do not check out are `Unauthorized`.
pub async fn authenticate(req: &Request, app: &App, sessions: bool) -> Result<Option<Caller>> {
    let authorization = header(req, "Authorization").unwrap_or_default();
    if let Some((email, secret)) = parse_basic(&authorization) {
        let identity = check_basic(app, &email, &secret, &client_address(req)).await?;
        return Ok(Some(Caller {
            identity,
            access: None,
        }));
    }
    if let Some(token) = bearer(&authorization) {
        if is_token(token) {
            return Err(Error::Unauthorized);
        }
        let claims = app
            .signer()?
            .verify(token, Kind::Access, &service(req)?, app.now as u64)?;
        let identity = app
            .accounts()
            .bearer_identity(&claims.user_id, claims.token_id.as_deref(), app.now)
            .await?
            .ok_or(Error::Unauthorized)?;
        return Ok(Some(Caller {
            identity,
            access: Some(claims.access),
        }));
    }
    if sessions {
        if let Some(session) = cookie(req, SESSION_COOKIE) {
            let identity = app
                .accounts()
                .session_identity(&hash_secret(&session), app.now)
                .await?
                .ok_or(Error::Unauthorized)?;
            return Ok(Some(Caller {
                identity,
                access: None,
            }));
        }
    }
    Ok(None)
}

fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks an email with a personal access token or password. Failures count
/// against the account and the address; once either has failed too often,
/// passwords (and failing tokens) get 429 until the window ends. A valid token is
/// never refused: it cannot be guessed, and refusing it would only let anyone who
/// can fail a sign-in lock a user's automation out. A valid token costs one query.
pub async fn check_basic(app: &App, email: &str, secret: &str, address: &str) -> Result<Identity> {
    let accounts = app.accounts();
    if is_token(secret) {
        let hash = hash_secret(secret);
        if let Some(check) = accounts.check_token(email, &hash, app.now).await? {
            let token_id = check.identity.token_id.as_deref().unwrap_or_default();
            if check.last_used_at.is_none_or(|at| at < app.now - 60) {
                accounts.touch_token(token_id, app.now).await?;
            }
            return Ok(check.identity);
        }
    }
    if let Some(wait) = accounts
        .blocked_for(email, address, app.limits, app.now)
        .await?
    {
        return Err(Error::TooManyRequests(wait.max(1) as u64));
    }
    let identity = match is_token(secret) {
        true => None,
        false => match accounts.check_password(email, secret).await? {
            Some(identity) => Some(identity),
            None => bootstrap_admin(app, email, secret).await?,
        },
    };
    match identity {
        Some(identity) => Ok(identity),
        None => {
            accounts
                .record_failure(email, address, app.limits, app.now)
                .await?;
            Err(Error::Unauthorized)
        }
    }
}

/// The first admin: while no admin exists, the credential in the
/// `TOLLGATE_ADMIN_USER` / `TOLLGATE_ADMIN_PASSWORD` secrets creates one.
async fn bootstrap_admin(app: &App, email: &str, password: &str) -> Result<Option<Identity>> {
    let admin_password = app.secret("TOLLGATE_ADMIN_PASSWORD");
    let matches = constant_time_eq(
        email.as_bytes(),
        app.secret("TOLLGATE_ADMIN_USER").as_bytes(),
    ) & constant_time_eq(password.as_bytes(), admin_password.as_bytes());
    if !matches || admin_password.is_empty() || app.accounts().any_admin().await? {
        return Ok(None);
    }
    let Ok(email) = Email::parse(email) else {
        return Err(Error::Internal(
            "TOLLGATE_ADMIN_USER is not an email address".into(),
        ));
    };
    let user = new_user(
        new_id(app.now, &random()?),
        &email,
        Role::Admin,
        None,
        app.now,
    );
    match app
        .accounts()
        .create_user(&user, Some(&hash_password(password, &random()?)))
        .await
    {
        Ok(()) | Err(Error::Conflict(_)) => {
            app.accounts()
                .check_password(email.as_str(), password)
                .await
        }
        Err(e) => Err(e),
    }
}

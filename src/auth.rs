//! Authentication: turns a request's credentials — HTTP Basic (email and personal
//! access token or password), a bearer JWT from `/token`, or a dashboard session
//! cookie — into a [`Caller`] the core's policy decides for. Failed credential
//! checks are counted and limited here, and the first admin is created here from
//! the `TOLLGATE_ADMIN_USER` / `TOLLGATE_ADMIN_PASSWORD` secrets.

use tollgate_core::auth::account::{Email, Identity, Role};
use tollgate_core::auth::account_store::{
    bearer_guard, bearer_lookup, new_user, session_lookup, token_guard, token_lookup, token_touch,
    CredentialRow, TOUCH_INTERVAL,
};
use tollgate_core::auth::credentials::constant_time_eq;
use tollgate_core::auth::jwt::TokenKind;
use tollgate_core::auth::policy::Action;
use tollgate_core::auth::scope::ResourceAccess;
use tollgate_core::auth::secret::{hash_password, hash_secret, is_token};
use tollgate_core::auth::verdict::{allowed_roles, verdict, Verdict};
use tollgate_core::cache::read_path::CredentialKey;
use tollgate_core::licensing::license_store::Licensee;
use tollgate_core::storage::paging::new_id;
use tollgate_core::storage::sql::Statement;
use tollgate_core::{Error, RepoName, Result};
use worker::Url;

use crate::app::{random, App};
use crate::http::{basic_credentials, cookie};
use crate::request::Request;

/// The dashboard's session cookie.
pub const SESSION_COOKIE: &str = "tollgate_session";

/// An authenticated request: who, and — for bearer tokens — what the token grants.
pub struct Caller {
    pub identity: Identity,
    /// `None` when the credential is not limited to scopes (Basic, session).
    pub access: Option<Vec<ResourceAccess>>,
}

impl Caller {
    /// What the policy says about this caller doing `action` on `repo`.
    pub fn verdict(&self, repo: Option<&RepoName>, action: Action) -> Verdict {
        verdict(self.identity.role, self.access.as_deref(), repo, action)
    }

    /// A statement that aborts a write batch unless this caller's account — and
    /// the personal access token it came with, if any — is still live with a
    /// role allowed `action` on `repo`: the check made at authentication, made
    /// again inside the write, so a user deleted or demoted meanwhile writes
    /// nothing.
    pub fn guard(&self, app: &App, repo: &RepoName, action: Action) -> Statement {
        let roles = allowed_roles(self.access.as_deref(), Some(repo), action);
        let identity = &self.identity;
        bearer_guard(
            &identity.user_id,
            identity.token_id.as_deref(),
            app.now,
            &roles,
        )
    }

    pub fn may(&self, repo: &RepoName, action: Action) -> bool {
        self.verdict(Some(repo), action) == Verdict::Allow
    }

    /// The customer whose licenses decide what this caller reads; `None` for
    /// vendor staff, who read everything their role allows.
    pub fn customer(&self) -> Option<&str> {
        match self.identity.role {
            // A customer's account always names its customer; were it ever
            // missing, the empty id matches no license rather than none applying.
            Role::Customer => Some(self.identity.customer_id.as_deref().unwrap_or_default()),
            _ => None,
        }
    }
}

/// The address of a request that names none (`CF-Connecting-IP`), for the
/// per-address limit.
const UNKNOWN_ADDRESS: &str = "unknown";

/// Where a request comes from, for the per-address limit.
pub fn client_address(req: &Request) -> String {
    let address = req.client().address.clone();
    address.unwrap_or_else(|| UNKNOWN_ADDRESS.into())
}

/// The client's own name for itself, kept with the sessions it opens so their
/// owner can tell them apart.
pub fn user_agent(req: &Request) -> String {
    req.client().user_agent.clone().unwrap_or_default()
}

/// `host[:port]` as clients address the registry: the tokens' audience.
pub fn service(req: &Request) -> Result<String> {
    Ok(service_of(&req.url().map_err(crate::error::internal)?))
}

/// [`service`] of a request's parsed URL.
pub fn service_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Credentials as a request presents them: parsed, a bearer token's signature
/// checked, but not yet looked up.
pub enum Credentials {
    None,
    /// Checked with the slow password hash, within the failure limits.
    Password {
        email: String,
        password: String,
        address: String,
    },
    /// A personal access token, bearer token or session: one query settles it.
    Lookup(Lookup),
}

/// A credential one D1 query settles; the query may share a round trip with the
/// request's first read.
pub struct Lookup {
    pub statement: Statement,
    /// Whose licenses to read in the same round trip, should the account be a
    /// customer's.
    pub licensee: Licensee,
    kind: LookupKind,
    /// Where the isolate's cache keeps the account this credential names; `None`
    /// for credentials that are always looked up (the management API's, which
    /// revocation must stop at once).
    cache_key: Option<CredentialKey>,
}

enum LookupKind {
    Token {
        email: String,
        hash: String,
        address: String,
    },
    Bearer {
        user_id: String,
        token_id: Option<String>,
        access: Vec<ResourceAccess>,
    },
    Session {
        hash: String,
    },
}

/// What a request is made to, which decides the credentials it takes: the
/// registry takes Basic and its own bearer tokens; the management API takes Basic
/// and the dashboard's cookie. A bearer token from `/token` is a registry grant
/// (repository scopes, or none for a login) and on the API would act as the whole
/// account, so the API refuses it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Registry,
    Api,
}

/// The credentials of a request to `surface`. A bearer token that fails
/// verification, or is sent to the API, is `Unauthorized` here, before any query.
pub fn credentials(req: &Request, app: &App, surface: Surface) -> Result<Credentials> {
    let client = req.client();
    let Some(authorization) = &client.authorization else {
        return Ok(session(req, app, surface));
    };
    if let Some(pair) = basic_credentials(authorization) {
        let cached = surface == Surface::Registry;
        return Ok(basic(
            app,
            pair.user,
            pair.password,
            client_address(req),
            cached,
        ));
    }
    if let Some(token) = bearer(authorization) {
        if surface == Surface::Api {
            return Err(Error::Unauthorized);
        }
        let claims =
            app.signer()?
                .verify(token, TokenKind::Access, &service(req)?, app.now as u64)?;
        return Ok(Credentials::Lookup(Lookup {
            statement: bearer_lookup(&claims.user_id, claims.token_id.as_deref(), app.now),
            licensee: Licensee::User(claims.user_id.clone()),
            cache_key: Some(CredentialKey::Bearer {
                user_id: claims.user_id.clone(),
                token_id: claims.token_id.clone(),
            }),
            kind: LookupKind::Bearer {
                user_id: claims.user_id,
                token_id: claims.token_id,
                access: claims.access,
            },
        }));
    }
    // A scheme we do not know is no credential. The cookie does not stand in for
    // it: a cross-site request can add any header that triggers no preflight.
    Ok(Credentials::None)
}

/// The dashboard's session cookie, which only the API takes.
fn session(req: &Request, app: &App, surface: Surface) -> Credentials {
    match cookie(req, SESSION_COOKIE) {
        Some(session) if surface == Surface::Api => {
            let hash = hash_secret(&session);
            Credentials::Lookup(Lookup {
                statement: session_lookup(&hash, app.now),
                licensee: Licensee::Session(hash.clone()),
                kind: LookupKind::Session { hash },
                cache_key: None,
            })
        }
        _ => Credentials::None,
    }
}

/// Credentials from an email and a token or password; a token's account is
/// `cached` in the isolate or looked up every time.
fn basic(app: &App, email: String, secret: String, address: String, cached: bool) -> Credentials {
    if is_token(&secret) {
        let hash = hash_secret(&secret);
        let cache_key = cached.then(|| CredentialKey::Token {
            email: email.clone(),
            hash: hash.clone(),
        });
        Credentials::Lookup(Lookup {
            statement: token_lookup(&email, &hash, app.now),
            licensee: Licensee::Token(hash.clone()),
            cache_key,
            kind: LookupKind::Token {
                email,
                hash,
                address,
            },
        })
    } else {
        Credentials::Password {
            email,
            password: secret,
            address,
        }
    }
}

impl Credentials {
    /// Whether these are the dashboard's session cookie: ambient credentials a
    /// browser sends along with any request, a cross-site one too.
    pub fn by_cookie(&self) -> bool {
        matches!(
            self,
            Credentials::Lookup(Lookup {
                kind: LookupKind::Session { .. },
                ..
            })
        )
    }

    /// The caller these credentials name; `None` when there are none.
    pub async fn resolve(self, app: &App) -> Result<Option<Caller>> {
        match self {
            Credentials::None => Ok(None),
            Credentials::Password {
                email,
                password,
                address,
            } => {
                let identity = check_password(app, &email, &password, &address).await?;
                Ok(Some(Caller {
                    identity,
                    access: None,
                }))
            }
            Credentials::Lookup(lookup) => {
                if let Some(caller) = lookup.cached(app) {
                    return Ok(Some(caller));
                }
                let row = app.accounts().lookup(lookup.statement.clone()).await?;
                lookup.finish(app, row).await.map(Some)
            }
        }
    }
}

impl Lookup {
    /// The caller as the isolate's cache remembers this credential's account.
    pub fn cached(&self, app: &App) -> Option<Caller> {
        let identity = app.cache.identity(self.cache_key.as_ref()?)?;
        let access = match &self.kind {
            LookupKind::Bearer { access, .. } => Some(access.clone()),
            _ => None,
        };
        Some(Caller { identity, access })
    }

    /// The caller, given what the lookup's statement found; kept in the isolate's
    /// cache when this credential may be.
    pub async fn finish(self, app: &App, row: Option<CredentialRow>) -> Result<Caller> {
        let (kind, row) = match (self.kind, row) {
            (LookupKind::Token { email, address, .. }, None) => {
                return Err(refuse(app, &email, &address).await?)
            }
            (_, None) => return Err(Error::Unauthorized),
            (kind, Some(row)) => (kind, row),
        };
        let stale = row
            .last_used_at
            .is_none_or(|at| at < app.now - TOUCH_INTERVAL);
        let expires_at = row.expires_at;
        let identity = row.identity();
        if let Some(key) = self.cache_key {
            app.cache.keep_identity(key, identity.clone(), expires_at);
        }
        let access = match kind {
            LookupKind::Token { .. } => {
                if stale {
                    let id = identity.token_id.as_deref().unwrap_or_default();
                    app.accounts().touch_token(id, app.now).await?;
                }
                None
            }
            LookupKind::Bearer { access, .. } => Some(access),
            LookupKind::Session { hash } => {
                if stale {
                    app.sessions().touch(&hash, app.now).await?;
                }
                None
            }
        };
        Ok(Caller { identity, access })
    }

    /// Statements that, at the head of a write's batch, abort it unless this
    /// credential is live and the policy allows its account `action` on `repo`:
    /// the credential check without a round trip of its own (a token's use is
    /// noted in the same batch). `None` when no account could pass — the
    /// ordinary lookup then answers why — and for sessions, which `/v2/` does
    /// not take.
    pub fn guards(&self, app: &App, repo: &RepoName, action: Action) -> Option<Vec<Statement>> {
        let access = match &self.kind {
            LookupKind::Bearer { access, .. } => Some(access.as_slice()),
            _ => None,
        };
        let roles = allowed_roles(access, Some(repo), action);
        if roles.is_empty() {
            return None;
        }
        match &self.kind {
            LookupKind::Token { email, hash, .. } => Some(vec![
                token_guard(email, hash, app.now, &roles),
                token_touch(hash, app.now),
            ]),
            LookupKind::Bearer {
                user_id, token_id, ..
            } => Some(vec![bearer_guard(
                user_id,
                token_id.as_deref(),
                app.now,
                &roles,
            )]),
            LookupKind::Session { .. } => None,
        }
    }
}

/// The token of an `Authorization: Bearer …` header value.
pub fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks an email with a personal access token or password (for `/token` and
/// sign-in).
pub async fn check_basic(app: &App, email: &str, secret: &str, address: &str) -> Result<Identity> {
    basic(app, email.into(), secret.into(), address.into(), true)
        .resolve(app)
        .await?
        .map(|caller| caller.identity)
        .ok_or(Error::Unauthorized)
}

/// A password check within the failure limits: refused up front (429) while this
/// account from this address, or this address, is refused, since the check
/// itself is costly.
async fn check_password(app: &App, email: &str, password: &str, address: &str) -> Result<Identity> {
    if let Some(blocked) = blocked(app, email, address).await? {
        return Err(blocked);
    }
    match app.accounts().check_password(email, password).await? {
        Some(identity) => Ok(identity),
        None => match bootstrap_admin(app, email, password).await? {
            Some(identity) => Ok(identity),
            None => Err(failed(app, email, address).await?),
        },
    }
}

/// The answer to a token that matched nothing: 429 while the account from this
/// address, or the address, is refused, else a counted failure. Only failures get here: a valid
/// token is never refused, as it cannot be guessed and refusing it would let
/// anyone who can fail a sign-in lock a user's automation out.
async fn refuse(app: &App, email: &str, address: &str) -> Result<Error> {
    match blocked(app, email, address).await? {
        Some(blocked) => Ok(blocked),
        None => failed(app, email, address).await,
    }
}

/// `TooManyRequests` while the account from this address, or the address, is
/// refused for its failures.
async fn blocked(app: &App, email: &str, address: &str) -> Result<Option<Error>> {
    let wait = app.accounts().blocked_for(email, address, app.now).await?;
    Ok(wait.map(|seconds| Error::TooManyRequests(seconds.max(1) as u64)))
}

/// Counts a failed check against the account from this address and against the
/// address: `Unauthorized`.
async fn failed(app: &App, email: &str, address: &str) -> Result<Error> {
    app.accounts()
        .record_failure(email, address, app.limits, app.now)
        .await?;
    Ok(Error::Unauthorized)
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
    let hash = hash_password(password, &random()?);
    match app.accounts().create_user(&user, Some(&hash)).await {
        Ok(()) => Ok(Some(Identity {
            user_id: user.id,
            email: user.email,
            role: user.role,
            customer_id: None,
            token_id: None,
        })),
        // Another request created it first: check against what it stored.
        Err(Error::Conflict(_)) => {
            app.accounts()
                .check_password(email.as_str(), password)
                .await
        }
        Err(e) => Err(e),
    }
}

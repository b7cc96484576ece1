//! Every read and write of account data — customers, users, personal access
//! tokens, the credential lookups of sessions (which `sessions.rs` keeps) and
//! failed-sign-in counters — as SQL over the [`Sql`] trait. Ids and list pages are
//! those of storage/paging.rs.

use serde::{Deserialize, Serialize};

use crate::auth::account::{Email, Identity, Role};
use crate::auth::secret::{verify_password, DUMMY_PASSWORD_HASH};
use crate::error::{Error, Result};
use crate::stmt;
use crate::storage::paging::Page;
use crate::storage::sql::{Sql, Statement};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub customer_id: Option<String>,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub contact: String,
    pub notes: String,
    pub created_at: i64,
}

/// A token as lists show it: never its secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A token's `last_used_at` is written at most this often (seconds), so using a
/// token is not a write on every request.
pub const TOUCH_INTERVAL: i64 = 60;

/// A user as a credential lookup finds them (see [`token_lookup`],
/// [`bearer_lookup`], [`session_lookup`]).
#[derive(Clone, Debug, Deserialize)]
pub struct CredentialRow {
    id: String,
    email: String,
    role: Role,
    customer_id: Option<String>,
    #[serde(default)]
    password_hash: Option<String>,
    #[serde(default)]
    token_id: Option<String>,
    /// For token lookups: when the token was last used.
    #[serde(default)]
    pub last_used_at: Option<i64>,
    /// For token and bearer lookups: when the personal access token expires.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

impl CredentialRow {
    pub fn identity(self) -> Identity {
        Identity {
            user_id: self.id,
            email: self.email,
            role: self.role,
            customer_id: self.customer_id,
            token_id: self.token_id,
        }
    }
}

/// The rows of a live personal access token (`?1` its hash, `?2` its owner's
/// email, `?3` now) and its owner (`u`): shared by [`token_lookup`] and
/// [`token_guard`], so the two can never disagree about which tokens are live.
macro_rules! live_token {
    () => {
        "FROM tokens t JOIN users u ON u.id = t.user_id
         WHERE t.secret_hash = ?1 AND u.email = ?2 AND t.revoked_at IS NULL
           AND (t.expires_at IS NULL OR t.expires_at > ?3)"
    };
}

/// The row of the account (`u`) a bearer token names (`?1` the user, `?2` the
/// token it came from, if any, `?3` now): shared by [`bearer_lookup`],
/// [`refresh_lookup`] and [`bearer_guard`].
macro_rules! bearer_account {
    () => {
        "FROM users u
         WHERE u.id = ?1 AND (?2 IS NULL OR EXISTS (
           SELECT 1 FROM tokens t WHERE t.id = ?2 AND t.user_id = u.id
             AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?3)))"
    };
}

/// The lookup of a live personal access token (by its hash) whose owner's email
/// is `email`. Lookups are statements, not calls, so the worker can send one in
/// the same round trip as the request's first read.
pub fn token_lookup(email: &str, secret_hash: &str, now: i64) -> Statement {
    stmt!(
        concat!(
            "SELECT u.id, u.email, u.role, u.customer_id, t.id AS token_id, t.last_used_at,
               t.expires_at ",
            live_token!()
        ),
        secret_hash,
        email,
        now
    )
}

/// The lookup of the account a bearer token names, as it stands now: nothing when
/// the user was deleted or the token it came from was revoked or has expired.
pub fn bearer_lookup(user_id: &str, token_id: Option<&str>, now: i64) -> Statement {
    stmt!(
        concat!(
            "SELECT u.id, u.email, u.role, u.customer_id, ?2 AS token_id,
               (SELECT expires_at FROM tokens WHERE id = ?2) AS expires_at ",
            bearer_account!()
        ),
        user_id,
        token_id,
        now
    )
}

/// A guard over the account rows `$from` finds (`u`, with `?4` the roles allowed):
/// raises an error (`json()` of a non-JSON string), aborting its batch, unless one
/// of them holds an allowed role.
macro_rules! role_guard {
    ($from:expr) => {
        concat!(
            "SELECT CASE WHEN NOT EXISTS (SELECT 1 ",
            $from,
            " AND u.role IN (SELECT value FROM json_each(?4)))
             THEN json('credential refused') END AS guard"
        )
    };
}

/// A statement for the head of a write batch that aborts the batch unless the
/// personal access token is live and its owner holds one of `roles`: the
/// credential check of [`token_lookup`] riding in the write's round trip. Only
/// an abort says anything; the caller then looks the credential up to learn why.
pub fn token_guard(email: &str, secret_hash: &str, now: i64, roles: &[Role]) -> Statement {
    stmt!(
        role_guard!(live_token!()),
        secret_hash,
        email,
        now,
        role_list(roles)
    )
}

/// [`token_guard`] for the account a bearer token names, as [`bearer_lookup`]
/// finds it.
pub fn bearer_guard(user_id: &str, token_id: Option<&str>, now: i64, roles: &[Role]) -> Statement {
    stmt!(
        role_guard!(bearer_account!()),
        user_id,
        token_id,
        now,
        role_list(roles)
    )
}

fn role_list(roles: &[Role]) -> String {
    serde_json::to_string(&roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()).expect("strings")
}

/// Notes that the token with this hash was used, as [`Accounts::touch_token`]
/// does, as a statement for a batch behind a [`token_guard`].
pub fn token_touch(secret_hash: &str, now: i64) -> Statement {
    stmt!(
        "UPDATE tokens SET last_used_at = ?2
         WHERE secret_hash = ?1 AND (last_used_at IS NULL OR last_used_at < ?2 - ?3)",
        secret_hash,
        now,
        TOUCH_INTERVAL
    )
}

/// The lookup of a live dashboard session's account (by the session id's hash).
/// Only dashboard sessions: the secret naming a refresh token's session is
/// readable inside the token, and must not pass as a cookie.
pub fn session_lookup(id_hash: &str, now: i64) -> Statement {
    stmt!(
        "SELECT u.id, u.email, u.role, u.customer_id, s.last_used_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id_hash = ?1 AND s.kind = 'dashboard' AND s.expires_at > ?2",
        id_hash,
        now
    )
}

/// The lookup of the account a refresh token names, as [`bearer_lookup`] finds it,
/// and only while the token's session (`session_hash`, the hash of the secret in
/// the token) is live: a revoked or expired session, like a deleted user or a
/// revoked personal access token, refreshes nothing. One statement, so a refresh
/// costs one round trip as before.
pub fn refresh_lookup(
    user_id: &str,
    token_id: Option<&str>,
    session_hash: &str,
    now: i64,
) -> Statement {
    stmt!(
        concat!(
            "SELECT u.id, u.email, u.role, u.customer_id, ?2 AS token_id,
               (SELECT last_used_at FROM sessions WHERE id_hash = ?4) AS last_used_at ",
            bearer_account!(),
            " AND EXISTS (SELECT 1 FROM sessions s WHERE s.id_hash = ?4 AND s.user_id = u.id
                 AND s.kind = 'refresh' AND s.expires_at > ?3)"
        ),
        user_id,
        token_id,
        now,
        session_hash
    )
}

/// Failed-credential limits. Failures count per account *and address*, so that
/// nobody failing from elsewhere can lock an account out, and per address. After
/// `per_account` failures for one account from one address, or `per_address` from
/// one address, each no more than `window` seconds after the one before, that key
/// is refused for `window` seconds, then for twice as long after each further
/// failure (up to [`MAX_BLOCK`]); `window` seconds after its last refusal ends
/// without a failure, it starts again from nothing.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub per_account: i64,
    pub per_address: i64,
    pub window: i64,
}

/// The longest a key is refused for, however often it fails.
pub const MAX_BLOCK: i64 = 24 * 60 * 60;

pub struct Accounts<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Accounts<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Accounts { sql }
    }

    /// The account whose password is `password`, if any. The slow hash runs
    /// whether or not the account exists or has a password (against
    /// [`DUMMY_PASSWORD_HASH`] then), so every refusal costs the same.
    pub async fn check_password(&self, email: &str, password: &str) -> Result<Option<Identity>> {
        let row: Option<CredentialRow> = self
            .sql
            .one(stmt!(
                "SELECT id, email, role, customer_id, password_hash FROM users WHERE email = ?1",
                email
            ))
            .await?;
        let stored = row.as_ref().and_then(|r| r.password_hash.clone());
        let matches = verify_password(password, stored.as_deref().unwrap_or(DUMMY_PASSWORD_HASH));
        Ok(row
            .filter(|_| matches && stored.is_some())
            .map(CredentialRow::identity))
    }

    /// The account a [`token_lookup`], [`bearer_lookup`] or [`session_lookup`]
    /// finds.
    pub async fn lookup(&self, lookup: Statement) -> Result<Option<CredentialRow>> {
        self.sql.one(lookup).await
    }

    /// Notes that a token was used, unless that was noted within
    /// [`TOUCH_INTERVAL`] (callers that know `last_used_at` skip the call then).
    pub async fn touch_token(&self, token_id: &str, now: i64) -> Result<()> {
        self.sql
            .batch(vec![stmt!(
                "UPDATE tokens SET last_used_at = ?2
                 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2 - ?3)",
                token_id,
                now,
                TOUCH_INTERVAL
            )])
            .await?;
        Ok(())
    }

    /// Seconds until credential checks for this account from this address may be
    /// tried again; `None` when they may now.
    pub async fn blocked_for(&self, email: &str, address: &str, now: i64) -> Result<Option<i64>> {
        #[derive(Deserialize)]
        struct Row {
            blocked_until: i64,
        }
        let row: Option<Row> = self
            .sql
            .one(stmt!(
                "SELECT blocked_until FROM auth_failures
                 WHERE key IN (?1, ?2) AND blocked_until > ?3
                 ORDER BY blocked_until DESC LIMIT 1",
                pair_key(email, address),
                address_key(address),
                now
            ))
            .await?;
        Ok(row.map(|r| r.blocked_until - now))
    }

    /// Counts one failed credential check against the account from this address
    /// and against the address, each refused once over its limit (see [`Limits`]).
    pub async fn record_failure(
        &self,
        email: &str,
        address: &str,
        limits: Limits,
        now: i64,
    ) -> Result<()> {
        let keys = [
            (pair_key(email, address), limits.per_account),
            (address_key(address), limits.per_address),
        ];
        let statements = keys
            .into_iter()
            .flat_map(|(key, limit)| failure(key, limit, limits.window, now))
            .collect();
        self.sql.batch(statements).await?;
        Ok(())
    }

    /// Forgets failure counters and sessions that have run out: nothing reads
    /// them any more.
    pub async fn prune(&self, now: i64) -> Result<()> {
        self.sql
            .batch(vec![
                stmt!("DELETE FROM auth_failures WHERE expires_at <= ?1", now),
                stmt!("DELETE FROM sessions WHERE expires_at <= ?1", now),
            ])
            .await?;
        Ok(())
    }

    pub async fn any_admin(&self) -> Result<bool> {
        #[derive(Deserialize)]
        struct Row {}
        let row: Option<Row> = self
            .sql
            .one(stmt!(
                "SELECT 1 AS one FROM users WHERE role = 'admin' LIMIT 1"
            ))
            .await?;
        Ok(row.is_some())
    }

    /// Creates a user; `Conflict` when the email is taken or the customer is gone.
    pub async fn create_user(&self, user: &User, password_hash: Option<&str>) -> Result<()> {
        let statement = stmt!(
            "INSERT INTO users (id, email, role, customer_id, password_hash, created_at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6
                 WHERE NOT EXISTS (SELECT 1 FROM users WHERE email = ?2)
                   AND (?4 IS NULL OR EXISTS (SELECT 1 FROM customers WHERE id = ?4))",
            user.id.as_str(),
            user.email.as_str(),
            user.role.as_str(),
            user.customer_id.as_deref(),
            password_hash,
            user.created_at
        );
        let clash = || format!("a user with email {} already exists", user.email);
        self.insert_unique(statement, clash).await
    }

    /// Runs an `INSERT … SELECT … WHERE NOT EXISTS`; `Conflict` when it inserted
    /// nothing.
    async fn insert_unique(&self, statement: Statement, clash: impl Fn() -> String) -> Result<()> {
        match self.sql.batch(vec![statement]).await?.first() {
            Some(1) => Ok(()),
            _ => Err(Error::Conflict(clash())),
        }
    }

    pub async fn user(&self, id: &str) -> Result<Option<User>> {
        self.sql
            .one(stmt!(
                "SELECT id, email, role, customer_id, created_at FROM users WHERE id = ?1",
                id
            ))
            .await
    }

    /// Users after `cursor`, oldest first; only those of `customer_id` when given,
    /// else only vendor users.
    pub async fn users(
        &self,
        customer_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<User>> {
        let rows: Vec<User> = self
            .sql
            .query(stmt!(
                "SELECT id, email, role, customer_id, created_at FROM users
                 WHERE id > ?1 AND ((?2 IS NULL AND customer_id IS NULL) OR customer_id = ?2)
                 ORDER BY id LIMIT ?3",
                cursor.unwrap_or(""),
                customer_id,
                i64::from(limit) + 1
            ))
            .await?;
        Ok(Page::of(rows, limit, |u| &u.id))
    }

    /// Deletes a user with their tokens and sessions; refuses to remove the last
    /// admin. `false` when there was no such user.
    pub async fn delete_user(&self, id: &str) -> Result<bool> {
        let changed = self
            .sql
            .batch(vec![stmt!(
                "DELETE FROM users WHERE id = ?1 AND (role <> 'admin'
                   OR (SELECT count(*) FROM users WHERE role = 'admin') > 1)",
                id
            )])
            .await?;
        // D1 counts rows removed by ON DELETE CASCADE as changes too.
        if changed.first().is_some_and(|&n| n > 0) {
            return Ok(true);
        }
        match self.user(id).await? {
            Some(_) => Err(Error::Conflict("the last admin cannot be deleted".into())),
            None => Ok(false),
        }
    }

    pub async fn create_customer(&self, customer: &Customer) -> Result<()> {
        let statement = stmt!(
                "INSERT INTO customers (id, name, contact, notes, created_at)
                 SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM customers WHERE name = ?2)",
                customer.id.as_str(),
                customer.name.as_str(),
                customer.contact.as_str(),
                customer.notes.as_str(),
                customer.created_at
            );
        let clash = || format!("a customer named {} already exists", customer.name);
        self.insert_unique(statement, clash).await
    }

    pub async fn customer(&self, id: &str) -> Result<Option<Customer>> {
        self.sql
            .one(stmt!(
                "SELECT id, name, contact, notes, created_at FROM customers WHERE id = ?1",
                id
            ))
            .await
    }

    pub async fn customers(&self, cursor: Option<&str>, limit: u32) -> Result<Page<Customer>> {
        let rows: Vec<Customer> = self
            .sql
            .query(stmt!(
                "SELECT id, name, contact, notes, created_at FROM customers
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
                cursor.unwrap_or(""),
                i64::from(limit) + 1
            ))
            .await?;
        Ok(Page::of(rows, limit, |c| &c.id))
    }

    /// Deletes a customer with its users (and so their tokens and sessions).
    pub async fn delete_customer(&self, id: &str) -> Result<bool> {
        let changed = self
            .sql
            .batch(vec![
                stmt!("DELETE FROM users WHERE customer_id = ?1", id),
                stmt!("DELETE FROM customers WHERE id = ?1", id),
            ])
            .await?;
        Ok(changed.get(1).is_some_and(|&n| n > 0))
    }

    pub async fn create_token(&self, token: &Token, secret_hash: &str) -> Result<()> {
        self.sql
            .batch(vec![stmt!(
                "INSERT INTO tokens (id, user_id, name, secret_hash, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                token.id.as_str(),
                token.user_id.as_str(),
                token.name.as_str(),
                secret_hash,
                token.created_at,
                token.expires_at
            )])
            .await?;
        Ok(())
    }

    pub async fn tokens(
        &self,
        user_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Token>> {
        let rows: Vec<Token> = self
            .sql
            .query(stmt!(
                "SELECT id, user_id, name, created_at, expires_at, last_used_at, revoked_at
                 FROM tokens WHERE user_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                user_id,
                cursor.unwrap_or(""),
                i64::from(limit) + 1
            ))
            .await?;
        Ok(Page::of(rows, limit, |t| &t.id))
    }

    pub async fn token(&self, id: &str) -> Result<Option<Token>> {
        self.sql
            .one(stmt!(
                "SELECT id, user_id, name, created_at, expires_at, last_used_at, revoked_at
                 FROM tokens WHERE id = ?1",
                id
            ))
            .await
    }

    /// Revokes a token; revoking twice keeps the first time.
    pub async fn revoke_token(&self, id: &str, now: i64) -> Result<()> {
        self.sql
            .batch(vec![stmt!(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                id,
                now
            )])
            .await?;
        Ok(())
    }
}

/// The statements counting one failure against `key`: the count restarts once
/// the row has expired; at `limit` and beyond, the key is refused for `window`
/// seconds doubled once per failure past the limit, at most [`MAX_BLOCK`].
fn failure(key: String, limit: i64, window: i64, now: i64) -> [Statement; 2] {
    [
        stmt!(
            "INSERT INTO auth_failures (key, count, blocked_until, expires_at)
             VALUES (?1, 1, 0, 0)
             ON CONFLICT (key) DO UPDATE SET
               count = CASE WHEN expires_at <= ?2 THEN 1 ELSE count + 1 END",
            key.as_str(),
            now
        ),
        stmt!(
            "UPDATE auth_failures SET
               blocked_until = CASE WHEN count >= ?3
                 THEN ?2 + min(?4 << min(count - ?3, 20), ?5) ELSE 0 END,
               expires_at = ?2 + ?4 + CASE WHEN count >= ?3
                 THEN min(?4 << min(count - ?3, 20), ?5) ELSE 0 END
             WHERE key = ?1",
            key,
            now,
            limit,
            window,
            MAX_BLOCK
        ),
    ]
}

/// The key of an account from one address: the address first, as it holds no
/// space, so no email can make two pairs' keys equal.
fn pair_key(email: &str, address: &str) -> String {
    format!("pair:{address} {}", email.to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("ip:{address}")
}

/// A new vendor user or customer user, before it is stored.
pub fn new_user(
    id: String,
    email: &Email,
    role: Role,
    customer_id: Option<String>,
    now: i64,
) -> User {
    User {
        id,
        email: email.as_str().to_owned(),
        role,
        customer_id,
        created_at: now,
    }
}

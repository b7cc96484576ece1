//! Sessions: each dashboard sign-in (its cookie) and each refresh token from
//! `/token` is a row its owner can list and revoke, so ending one is deleting it.
//! A session is named by a secret — the cookie's value, or the random id inside a
//! refresh token — of which only the SHA-256 is stored; lists show a public `id`.
//! The credential lookups over this table are [`crate::auth::account_store::session_lookup`]
//! and [`crate::auth::account_store::refresh_lookup`].

use serde::{Deserialize, Serialize};

use crate::auth::account_store::TOUCH_INTERVAL;
use crate::error::Result;
use crate::stmt;
use crate::storage::paging::Page;
use crate::storage::sql::Sql;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// A dashboard sign-in, held as the session cookie.
    Dashboard,
    /// A refresh token from `/token` (the OAuth2 flow, `docker login`).
    Refresh,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Dashboard => "dashboard",
            SessionKind::Refresh => "refresh",
        }
    }
}

/// A session as lists show it: never its secret or the secret's hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub kind: SessionKind,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub user_agent: String,
    pub address: String,
    /// Whether this is the session the list was asked for with.
    #[serde(deserialize_with = "crate::storage::sql::flag")]
    pub current: bool,
}

/// A session about to be stored.
pub struct NewSession<'a> {
    pub id: String,
    /// The SHA-256 of the secret that names it.
    pub id_hash: &'a str,
    pub user_id: &'a str,
    pub kind: SessionKind,
    pub expires_at: i64,
    pub user_agent: &'a str,
    pub address: &'a str,
}

/// Client-supplied text kept for lists is cut to this many characters.
const MAX_CLIENT_TEXT: usize = 200;

/// `text` without control characters, at most [`MAX_CLIENT_TEXT`] long: what a
/// client sent is shown to people later, so it is kept printable and short.
fn client_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_CLIENT_TEXT)
        .collect()
}

pub struct Sessions<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Sessions<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Sessions { sql }
    }

    /// Stores a session, removing the owner's expired ones on the way.
    pub async fn create(&self, session: &NewSession<'_>, now: i64) -> Result<()> {
        self.sql
            .batch(vec![
                stmt!(
                    "DELETE FROM sessions WHERE user_id = ?1 AND expires_at <= ?2",
                    session.user_id,
                    now
                ),
                stmt!(
                    "INSERT INTO sessions (id_hash, id, user_id, kind, created_at, expires_at,
                       user_agent, address) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    session.id_hash,
                    session.id.as_str(),
                    session.user_id,
                    session.kind.as_str(),
                    now,
                    session.expires_at,
                    client_text(session.user_agent),
                    client_text(session.address)
                ),
            ])
            .await?;
        Ok(())
    }

    /// The live sessions of `user_id` after `cursor`, oldest first; the one named
    /// by `current` (a hash) is marked.
    pub async fn list(
        &self,
        user_id: &str,
        current: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
        now: i64,
    ) -> Result<Page<Session>> {
        let rows: Vec<Session> = self
            .sql
            .query(stmt!(
                "SELECT id, user_id, kind, created_at, expires_at, last_used_at, user_agent,
                   address, id_hash IS ?2 AS current
                 FROM sessions WHERE user_id = ?1 AND id > ?3 AND expires_at > ?4
                 ORDER BY id LIMIT ?5",
                user_id,
                current,
                cursor.unwrap_or(""),
                now,
                i64::from(limit) + 1
            ))
            .await?;
        Ok(Page::of(rows, limit, |s| &s.id))
    }

    /// Ends the session `id`, if it is `owner`'s (anyone's when `None`): `false`
    /// when there was none to end.
    pub async fn revoke(&self, id: &str, owner: Option<&str>) -> Result<bool> {
        let changed = self
            .sql
            .batch(vec![stmt!(
                "DELETE FROM sessions WHERE id = ?1 AND (?2 IS NULL OR user_id = ?2)",
                id,
                owner
            )])
            .await?;
        Ok(changed.first().is_some_and(|&n| n > 0))
    }

    /// Ends the session of `kind` that the secret with this hash names (sign-out).
    pub async fn end(&self, id_hash: &str, kind: SessionKind) -> Result<()> {
        self.sql
            .batch(vec![stmt!(
                "DELETE FROM sessions WHERE id_hash = ?1 AND kind = ?2",
                id_hash,
                kind.as_str()
            )])
            .await?;
        Ok(())
    }

    /// Notes that a session was used, unless that was noted within
    /// [`TOUCH_INTERVAL`].
    pub async fn touch(&self, id_hash: &str, now: i64) -> Result<()> {
        self.sql
            .batch(vec![stmt!(
                "UPDATE sessions SET last_used_at = ?2
                 WHERE id_hash = ?1 AND (last_used_at IS NULL OR last_used_at < ?2 - ?3)",
                id_hash,
                now,
                TOUCH_INTERVAL
            )])
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_text_is_printable_and_short() {
        assert_eq!(client_text("curl/8.0\r\nX: y"), "curl/8.0X: y");
        assert_eq!(client_text(&"a".repeat(500)).len(), MAX_CLIENT_TEXT);
    }
}

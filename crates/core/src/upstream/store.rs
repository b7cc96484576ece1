//! Where artifacts' upstreams are kept (the `upstreams` table): one row per
//! artifact, the secret sealed by the [`Cipher`] with the artifact's name as its
//! context, so neither a database copy nor a row moved to another artifact gives
//! the credentials away.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::oci::name::RepoName;
use crate::stmt;
use crate::storage::sql::Sql;
use crate::upstream::setting::{AuthKind, Cipher, Login, Upstream, UpstreamView};

#[derive(Deserialize)]
struct Row {
    url: String,
    repository: String,
    auth: String,
    username: Option<String>,
    secret: Option<String>,
    refresh_seconds: u32,
    last_error: Option<String>,
    last_error_at: Option<i64>,
    updated_at: i64,
}

impl Row {
    fn view(self) -> UpstreamView {
        UpstreamView {
            url: self.url,
            repository: self.repository,
            auth: self.auth,
            username: self.username,
            password_set: self.secret.is_some(),
            refresh_seconds: self.refresh_seconds,
            last_error: self.last_error,
            last_error_at: self.last_error_at,
            updated_at: self.updated_at,
        }
    }
}

pub struct Upstreams<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Upstreams<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Upstreams { sql }
    }

    /// Sets `repo`'s upstream, replacing any before; the artifact is created if
    /// it does not exist yet, as a first push would: an artifact may be nothing
    /// but a window on its upstream until someone pulls.
    pub async fn set(
        &self,
        repo: &RepoName,
        upstream: &Upstream,
        cipher: &impl Cipher,
        now: i64,
    ) -> Result<UpstreamView> {
        let secret = match &upstream.login {
            Some(login) => {
                let sealed = cipher.seal(login.secret.as_bytes(), repo.as_str().as_bytes());
                Some(hex::encode(sealed.await?))
            }
            None => None,
        };
        let username = upstream.login.as_ref().map(|l| l.username.clone());
        self.sql
            .batch(vec![
                stmt!("INSERT OR IGNORE INTO repositories (name, created_at) VALUES (?1, ?2)", repo.as_str(), now),
                stmt!(
                    "INSERT INTO upstreams (repo, url, repository, auth, username, secret, updated_at,
                       refresh_seconds)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (repo) DO UPDATE SET url = excluded.url, repository = excluded.repository,
                       auth = excluded.auth, username = excluded.username, secret = excluded.secret,
                       updated_at = excluded.updated_at, refresh_seconds = excluded.refresh_seconds,
                       last_error = NULL, last_error_at = NULL",
                    repo.as_str(),
                    upstream.url.as_str(),
                    upstream.repository.as_str(),
                    upstream.auth.as_str(),
                    username,
                    secret,
                    now,
                    i64::from(upstream.refresh_seconds)
                ),
            ])
            .await?;
        self.view(repo)
            .await?
            .ok_or_else(|| Error::Internal("upstream vanished as it was set".into()))
    }

    async fn row(&self, repo: &RepoName) -> Result<Option<Row>> {
        self.sql
            .one(stmt!(
                "SELECT url, repository, auth, username, secret, refresh_seconds, last_error, last_error_at,
                   updated_at
                 FROM upstreams WHERE repo = ?1",
                repo.as_str()
            ))
            .await
    }

    /// `repo`'s upstream as the API shows it.
    pub async fn view(&self, repo: &RepoName) -> Result<Option<UpstreamView>> {
        Ok(self.row(repo).await?.map(Row::view))
    }

    /// `repo`'s upstream with its secret opened, for a fetch.
    pub async fn open(&self, repo: &RepoName, cipher: &impl Cipher) -> Result<Option<Upstream>> {
        let Some(row) = self.row(repo).await? else {
            return Ok(None);
        };
        let login = match (row.username, row.secret) {
            (Some(username), Some(sealed)) => {
                let sealed = hex::decode(sealed).map_err(|e| Error::Internal(e.to_string()))?;
                let secret = cipher.open(&sealed, repo.as_str().as_bytes()).await?;
                let secret =
                    String::from_utf8(secret).map_err(|e| Error::Internal(e.to_string()))?;
                Some(Login { username, secret })
            }
            _ => None,
        };
        Ok(Some(Upstream {
            url: row.url.parse()?,
            repository: row.repository.parse()?,
            auth: AuthKind::parse(&row.auth)?,
            login,
            refresh_seconds: row.refresh_seconds,
        }))
    }

    /// Records that `repo`'s upstream failed at `now`, and why: pulls were
    /// served what was cached (stale-if-error), and the API shows the outage.
    pub async fn record_failure(&self, repo: &RepoName, why: &str, now: i64) -> Result<()> {
        self.sql
            .batch(vec![stmt!(
                "UPDATE upstreams SET last_error = ?2, last_error_at = ?3 WHERE repo = ?1",
                repo.as_str(),
                why,
                now
            )])
            .await?;
        Ok(())
    }

    /// Removes `repo`'s upstream; false when it had none. What was fetched
    /// through it stays, as if it had been pushed.
    pub async fn remove(&self, repo: &RepoName) -> Result<bool> {
        let changes = self
            .sql
            .batch(vec![stmt!(
                "DELETE FROM upstreams WHERE repo = ?1",
                repo.as_str()
            )])
            .await?;
        Ok(changes.first().is_some_and(|&n| n > 0))
    }
}

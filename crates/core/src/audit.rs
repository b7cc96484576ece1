//! The audit log: who changed what, and when. Every change made through `/api/v1`
//! or the dashboard and every OCI `DELETE` is appended as one event — actor, role,
//! action, target, the answer's status (refusals too), time, address and user
//! agent — and never changed: the table's triggers refuse updates, and deletes of
//! events younger than [`MIN_RETENTION_DAYS`]. Listing, filtering, the CSV export
//! and retention live here too (docs/audit.md).

use serde::{Deserialize, Serialize};

use crate::analytics::downloads::csv_field;
use crate::error::{Error, Result};
use crate::stmt;
use crate::storage::paging::Page;
use crate::storage::sql::{Sql, Statement};

/// How long events are kept unless `AUDIT_RETENTION_DAYS` says otherwise.
pub const DEFAULT_RETENTION_DAYS: i64 = 365;
/// The shortest retention: the table refuses to delete younger events.
pub const MIN_RETENTION_DAYS: i64 = 30;
/// The most events one prune deletes, so a scheduled run stays short.
const PRUNE_BATCH: i64 = 1000;

/// One recorded change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub role: Option<String>,
    /// What was asked: `POST` (create), `PUT` (replace) or `DELETE`.
    pub action: String,
    /// The path acted on, e.g. `/api/v1/licenses/0000…` or `/v2/acme/app/manifests/v1`.
    pub target: String,
    pub status: u16,
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// Which events a list shows.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    /// Events whose target starts with this.
    pub target: Option<String>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub to: Option<i64>,
}

/// The retention `AUDIT_RETENTION_DAYS` asks for, refused below the minimum the
/// table enforces.
pub fn retention_days(days: i64) -> Result<i64> {
    if days < MIN_RETENTION_DAYS {
        return Err(Error::Invalid(format!(
            "AUDIT_RETENTION_DAYS must be at least {MIN_RETENTION_DAYS}"
        )));
    }
    Ok(days)
}

/// Appends `event`: a statement so it can ride in the round trip of the change.
pub fn record(event: &AuditEvent) -> Statement {
    stmt!(
        "INSERT INTO audit_events (id, at, actor_id, actor_email, role, action, target, status,
           address, user_agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        event.id.as_str(),
        event.at,
        event.actor_id.as_deref(),
        event.actor_email.as_deref(),
        event.role.as_deref(),
        event.action.as_str(),
        event.target.as_str(),
        i64::from(event.status),
        event.address.as_deref(),
        event.user_agent.as_deref()
    )
}

/// The columns of the CSV export, in order.
pub const CSV_HEADER: &str =
    "time,actor_id,actor_email,role,action,target,status,address,user_agent\r\n";

impl AuditEvent {
    /// This event as one CSV line matching [`CSV_HEADER`], every field neutralised
    /// as the downloads export does: a user agent or a target is chosen by the caller.
    pub fn csv_line(&self) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let fields = [
            crate::time::rfc3339(self.at),
            opt(&self.actor_id),
            opt(&self.actor_email),
            opt(&self.role),
            self.action.clone(),
            self.target.clone(),
            self.status.to_string(),
            opt(&self.address),
            opt(&self.user_agent),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        format!("{}\r\n", quoted.join(","))
    }
}

pub struct Audit<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Audit<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Audit { sql }
    }

    /// A page of the events `filter` selects, newest first, after `cursor` (an id).
    pub async fn list(
        &self,
        filter: &AuditFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<AuditEvent>> {
        let rows: Vec<AuditEvent> = self
            .sql
            .query(stmt!(
                "SELECT id, at, actor_id, actor_email, role, action, target, status, address,
                   user_agent FROM audit_events
                 WHERE (?1 IS NULL OR actor_id = ?1) AND (?2 IS NULL OR action = ?2)
                   AND (?3 IS NULL OR substr(target, 1, length(?3)) = ?3)
                   AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5)
                   AND (?6 IS NULL OR id < ?6)
                 ORDER BY id DESC LIMIT ?7",
                filter.actor_id.as_deref(),
                filter.action.as_deref(),
                filter.target.as_deref(),
                filter.from,
                filter.to,
                cursor,
                i64::from(limit) + 1
            ))
            .await?;
        Ok(Page::of(rows, limit, |e| &e.id))
    }

    /// Deletes up to a batch of events older than `retention_days` before `now`;
    /// returns how many went.
    pub async fn prune(&self, now: i64, retention_days: i64) -> Result<u64> {
        let before = now - retention_days.max(MIN_RETENTION_DAYS) * 86_400;
        let changes = self
            .sql
            .batch(vec![stmt!(
                "DELETE FROM audit_events WHERE id IN (
                   SELECT id FROM audit_events WHERE at < ?1 ORDER BY id LIMIT ?2)",
                before,
                PRUNE_BATCH
            )])
            .await?;
        Ok(changes.first().copied().unwrap_or(0))
    }
}

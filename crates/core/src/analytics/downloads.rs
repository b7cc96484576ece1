//! Download events and what is kept of them: the registry worker describes each
//! successful manifest GET as an [`Event`], and each customer blob GET as a
//! [`BlobRead`], and sends them to the Queue; the analytics worker stores batches
//! of them here, exactly once however often the Queue delivers a batch, and keeps
//! daily pull counts and each license's monthly usage (what its caps are checked
//! against, `licensing::caps`). The log and the counts are read back here for the
//! management API.
//!
//! What counts against a license: each pull (below) and the bytes of each blob
//! body a customer was answered, under the license the read was granted through
//! (the registry names it in the event), in the UTC month of the event.
//!
//! What counts as one pull: a manifest GET, except the GET of a platform manifest
//! of an index the same user pulled from the same artifact within
//! [`CHILD_WINDOW`] seconds before — a client pulling a multi-arch image fetches
//! the index and then its platform's manifest, and that is one pull (of the
//! index). Such events stay in the log, marked `child`. Each version of a
//! downloaded bundle is a pull too, marked with the bundle's id.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::stmt;
use crate::storage::paging::Page;
use crate::storage::sql::{Sql, Statement};

/// How long after an index GET the same user's GET of one of its manifests is
/// part of that pull.
pub const CHILD_WINDOW: i64 = 300;

/// The most events one [`Downloads::record`] batch takes (the Queue's batch size).
pub const MAX_BATCH: usize = 100;

/// The longest `User-Agent` an event keeps, in bytes: a client chooses its own,
/// and each is stored with every pull it makes.
pub const USER_AGENT_MAX: usize = 512;

/// `value` as an event keeps a `User-Agent`: at most [`USER_AGENT_MAX`] bytes,
/// cut at a character boundary.
pub fn user_agent(value: &str) -> String {
    let mut end = value.len().min(USER_AGENT_MAX);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value[..end].to_owned()
}

/// One successful manifest GET.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique per event, time-ordered (see `storage::paging::new_id`).
    pub id: String,
    pub at: i64,
    pub repo: String,
    /// The tag or digest the client asked for.
    pub reference: String,
    /// The manifest it resolved to.
    pub digest: String,
    pub user_id: String,
    pub customer_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The edge's country and data center (`request.cf`); absent under wrangler dev.
    pub country: Option<String>,
    pub colo: Option<String>,
    /// The license a customer's GET was granted through, which the pull counts
    /// against; absent for vendor staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_id: Option<String>,
    /// The bundle (docs/bundles.md) whose download this version was part of;
    /// absent for a pull. Events queued before the field existed have none.
    #[serde(default)]
    pub bundle_id: Option<String>,
}

/// One customer blob GET: the bytes of the body it was answered (a range's
/// length for a partial answer), counted against the license that granted it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlobRead {
    /// Unique per read, time-ordered, as an [`Event`]'s.
    pub id: String,
    pub at: i64,
    pub license_id: String,
    pub bytes: u64,
}

/// What the registry sends on the Queue. Untagged, so the download events already
/// queued when blob reads were added still read as such. The larger event is boxed
/// so a batch of small blob reads does not take its size each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Message {
    Download(Box<Event>),
    BlobRead(BlobRead),
}

impl Message {
    pub fn id(&self) -> &str {
        match self {
            Message::Download(e) => &e.id,
            Message::BlobRead(r) => &r.id,
        }
    }
}

impl From<Event> for Message {
    fn from(event: Event) -> Self {
        Message::Download(Box::new(event))
    }
}

/// An event as the download log shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Download {
    #[serde(flatten)]
    pub event: Event,
    /// Part of the pull of an index (see the module documentation).
    #[serde(deserialize_with = "crate::storage::sql::flag")]
    pub child: bool,
    /// The puller's email, while the account exists.
    #[serde(default)]
    pub user_email: Option<String>,
}

/// Which events a log lists.
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    pub artifact: Option<String>,
    pub customer_id: Option<String>,
    pub user_id: Option<String>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub to: Option<i64>,
}

/// Pulls on one day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayCount {
    /// UTC day as Unix seconds of its midnight.
    pub day: i64,
    pub pulls: i64,
}

fn ids_json<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    serde_json::to_string(&ids.collect::<Vec<_>>()).expect("strings")
}

/// Stores one event unless it is stored already, marking it a child when the
/// same user pulled an index listing it just before.
fn insert(e: &Event) -> Statement {
    stmt!(
        "INSERT OR IGNORE INTO downloads (id, at, repo, reference, digest, user_id, customer_id,
           ip, user_agent, country, colo, license_id, bundle_id, child)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?13, ?14, ?14 IS NULL AND EXISTS (
           SELECT 1 FROM downloads d JOIN manifest_refs r
             ON r.repo = d.repo AND r.manifest = d.digest AND r.kind = 'child'
           WHERE d.user_id = ?6 AND d.repo = ?3 AND r.target = ?5
             AND d.at BETWEEN ?2 - ?12 AND ?2 AND d.id <> ?1))",
        e.id.as_str(),
        e.at,
        e.repo.as_str(),
        e.reference.as_str(),
        e.digest.as_str(),
        e.user_id.as_str(),
        e.customer_id.as_deref(),
        e.ip.as_deref(),
        e.user_agent.as_deref(),
        e.country.as_deref(),
        e.colo.as_deref(),
        CHILD_WINDOW,
        e.license_id.as_deref(),
        e.bundle_id.as_deref()
    )
}

/// Stores one blob read unless it is stored already.
fn insert_read(r: &BlobRead) -> Statement {
    stmt!(
        "INSERT OR IGNORE INTO blob_reads (id, at, license_id, bytes) VALUES (?1, ?2, ?3, ?4)",
        r.id.as_str(),
        r.at,
        r.license_id.as_str(),
        r.bytes
    )
}

/// Adds the new (uncounted) events among `ids` to their licenses' monthly usage.
fn count_usage(ids: &str) -> [Statement; 2] {
    [
        stmt!(
            "INSERT INTO license_usage (license_id, month, pulls)
             SELECT license_id, strftime('%Y%m', at, 'unixepoch'), COUNT(*) FROM downloads
             WHERE id IN (SELECT value FROM json_each(?1)) AND counted = 0 AND child = 0
               AND license_id IS NOT NULL
             GROUP BY 1, 2
             ON CONFLICT (license_id, month) DO UPDATE SET pulls = pulls + excluded.pulls",
            ids
        ),
        stmt!(
            "INSERT INTO license_usage (license_id, month, bytes)
             SELECT license_id, strftime('%Y%m', at, 'unixepoch'), SUM(bytes) FROM blob_reads
             WHERE id IN (SELECT value FROM json_each(?1)) AND counted = 0
             GROUP BY 1, 2
             ON CONFLICT (license_id, month) DO UPDATE SET bytes = bytes + excluded.bytes",
            ids
        ),
    ]
}

pub struct Downloads<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Downloads<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Downloads { sql }
    }

    /// Stores `messages` (at most [`MAX_BATCH`]) and counts the new ones, in one
    /// atomic batch: a message delivered again is neither stored nor counted twice.
    pub async fn record<M: Clone + Into<Message>>(&self, messages: &[M]) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let messages: Vec<Message> = messages.iter().cloned().map(Into::into).collect();
        let mut batch: Vec<Statement> = messages
            .iter()
            .map(|m| match m {
                Message::Download(e) => insert(e),
                Message::BlobRead(r) => insert_read(r),
            })
            .collect();
        let ids = ids_json(messages.iter().map(Message::id));
        batch.push(stmt!(
            "INSERT INTO pulls_daily (day, repo, digest, tag, customer_id, pulls)
             SELECT at / 86400, repo, digest,
               CASE WHEN instr(reference, ':') > 0 THEN '' ELSE reference END,
               COALESCE(customer_id, ''), COUNT(*)
             FROM downloads WHERE id IN (SELECT value FROM json_each(?1)) AND counted = 0
               AND child = 0
             GROUP BY 1, 2, 3, 4, 5
             ON CONFLICT (day, repo, digest, tag, customer_id)
               DO UPDATE SET pulls = pulls + excluded.pulls",
            ids.as_str()
        ));
        batch.extend(count_usage(&ids));
        batch.push(stmt!(
            "UPDATE downloads SET counted = 1
             WHERE id IN (SELECT value FROM json_each(?1)) AND counted = 0",
            ids.as_str()
        ));
        batch.push(stmt!(
            "UPDATE blob_reads SET counted = 1
             WHERE id IN (SELECT value FROM json_each(?1)) AND counted = 0",
            ids.as_str()
        ));
        self.sql.batch(batch).await?;
        Ok(())
    }

    /// Deletes events and blob reads older than `before` (Unix seconds), at most
    /// `limit` of each; returns how many events went. Daily counts and monthly
    /// usage stay.
    pub async fn prune(&self, before: i64, limit: u64) -> Result<u64> {
        let changes = self
            .sql
            .batch(vec![
                stmt!(
                    "DELETE FROM downloads WHERE id IN (
                       SELECT id FROM downloads WHERE at < ?1 AND counted = 1 LIMIT ?2)",
                    before,
                    limit
                ),
                stmt!(
                    "DELETE FROM blob_reads WHERE id IN (
                       SELECT id FROM blob_reads WHERE at < ?1 AND counted = 1 LIMIT ?2)",
                    before,
                    limit
                ),
            ])
            .await?;
        Ok(changes.first().copied().unwrap_or(0))
    }

    /// The newest events first, those after `cursor` (an event id) when given.
    pub async fn log(
        &self,
        filter: &LogFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Download>> {
        let rows: Vec<Download> = self
            .sql
            .query(stmt!(
                "SELECT id, at, repo, reference, digest, user_id, customer_id, ip, user_agent,
                   country, colo, bundle_id, child, (SELECT email FROM users WHERE id = user_id) AS user_email
                 FROM downloads
                 WHERE (?1 IS NULL OR repo = ?1) AND (?2 IS NULL OR customer_id = ?2)
                   AND (?3 IS NULL OR user_id = ?3) AND (?4 IS NULL OR at >= ?4)
                   AND (?5 IS NULL OR at < ?5) AND (?6 IS NULL OR id < ?6)
                 ORDER BY id DESC LIMIT ?7",
                filter.artifact.as_deref(),
                filter.customer_id.as_deref(),
                filter.user_id.as_deref(),
                filter.from,
                filter.to,
                cursor,
                i64::from(limit) + 1
            ))
            .await?;
        Ok(Page::of(rows, limit, |d| &d.event.id))
    }

    /// Pulls per day of an artifact and/or customer over `[from, to)`, oldest day
    /// first; days without pulls are left out.
    pub async fn daily(
        &self,
        artifact: Option<&str>,
        customer_id: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<DayCount>> {
        self.sql
            .query(stmt!(
                "SELECT day * 86400 AS day, SUM(pulls) AS pulls FROM pulls_daily
                 WHERE (?1 IS NULL OR repo = ?1) AND (?2 IS NULL OR customer_id = ?2)
                   AND day >= ?3 / 86400 AND day < (?4 + 86399) / 86400
                 GROUP BY day ORDER BY day",
                artifact,
                customer_id,
                from,
                to
            ))
            .await
    }
}

/// The columns of the CSV export, in order.
pub const CSV_HEADER: &str =
    "time,artifact,reference,digest,user_id,customer_id,ip,country,colo,user_agent,child\r\n";

impl Download {
    /// This event as one CSV line (RFC 4180: fields with a comma, quote or line
    /// break are quoted, quotes doubled), matching [`CSV_HEADER`].
    pub fn csv_line(&self) -> String {
        let e = &self.event;
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let fields = [
            crate::time::rfc3339(e.at),
            e.repo.clone(),
            e.reference.clone(),
            e.digest.clone(),
            e.user_id.clone(),
            opt(&e.customer_id),
            opt(&e.ip),
            opt(&e.country),
            opt(&e.colo),
            opt(&e.user_agent),
            self.child.to_string(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        format!("{}\r\n", quoted.join(","))
    }
}

/// Characters that make a spreadsheet read a cell as a formula when they lead it.
const FORMULA_LEADS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One field: RFC 4180 quoting, and a cell that would start a formula neutralised
/// with a leading `'` (quoted, as OWASP's CSV-injection rule asks), so that a value a
/// client or user chose cannot run in the vendor's spreadsheet.
pub(crate) fn csv_field(value: &str) -> String {
    let formula = value.starts_with(FORMULA_LEADS);
    if !formula && !value.contains([',', '"', '\r', '\n']) {
        return value.to_owned();
    }
    let lead = if formula { "'" } else { "" };
    format!("\"{lead}{}\"", value.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_user_agent_is_cut_at_a_character_boundary() {
        assert_eq!(user_agent("curl/8"), "curl/8");
        let long = "é".repeat(USER_AGENT_MAX);
        let kept = user_agent(&long);
        assert!(kept.len() <= USER_AGENT_MAX && kept.len() >= USER_AGENT_MAX - 1);
        assert!(long.starts_with(&kept));
    }

    #[test]
    fn csv_lines_quote_what_needs_it() {
        let download = Download {
            event: Event {
                id: "e1".into(),
                at: 0,
                repo: "acme/app".into(),
                reference: "v1".into(),
                digest: "sha256:x".into(),
                user_id: "u".into(),
                customer_id: None,
                ip: Some("192.0.2.1".into()),
                user_agent: Some("curl/8, \"quoted\"".into()),
                country: None,
                colo: None,
                license_id: None,
                bundle_id: None,
            },
            child: false,
            user_email: None,
        };
        assert_eq!(
            download.csv_line(),
            "1970-01-01T00:00:00Z,acme/app,v1,sha256:x,u,,192.0.2.1,,,\"curl/8, \"\"quoted\"\"\",false\r\n"
        );
        assert_eq!(CSV_HEADER.split(',').count(), 11);
    }

    /// A cell a spreadsheet would run as a formula (a pulling client chooses its own
    /// User-Agent, a vendor user its artifact's name) comes out as text: OWASP's
    /// CSV-injection rule, a leading `'` in a quoted field.
    #[test]
    fn csv_cells_that_would_be_formulas_are_neutralised() {
        for (value, exported) in [
            (
                "=HYPERLINK(\"https://evil.example\")",
                "\"'=HYPERLINK(\"\"https://evil.example\"\")\"",
            ),
            ("+1", "\"'+1\""),
            ("-2+3", "\"'-2+3\""),
            ("@SUM(A1)", "\"'@SUM(A1)\""),
            ("\tcmd", "\"'\tcmd\""),
            ("\rcmd", "\"'\rcmd\""),
            ("curl/8 =x", "curl/8 =x"),
        ] {
            assert_eq!(csv_field(value), exported, "{value:?}");
        }
    }
}

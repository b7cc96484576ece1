//! Every read and write of licenses, and the queries that decide what a customer
//! may read: the grant check of one manifest or blob (one query, which can ride in
//! the credential lookup's round trip), the readable tags of an artifact, the
//! licensed artifacts, and the license checks behind the deletion rules.
//!
//! A manifest is reached from above: it is readable when a license item grants it
//! or anything it is reached through — an index that lists it, the manifest it
//! refers to as its `subject` — so the grant queries walk that closure upwards.
//!
//! A license in force ([`license_in_force_sql`]) is unexpired, or expired under
//! `keep_released` with versions of the artifact pushed before; once expired it
//! grants only those: a manifest whose `created_at` is before the expiry, and what
//! is reached from one.
//!
//! Where a closure drives lookups, it is joined with `CROSS JOIN`, whose order
//! SQLite keeps: left alone, the planner may scan every tag, reference or
//! manifest of the repository once per closure row (natively, the tag list of
//! 2,000 kept versions took 850 ms instead of 8).

/// SQL over a license `l` and its item `i`: whether the license gives anything of
/// the item's artifact at time `$now` (a parameter) — it is unexpired, or expired
/// under `keep_released` and a version of the artifact was pushed before it
/// expired. A macro so it can be spliced into `concat!`-built statements.
#[macro_export]
macro_rules! license_in_force_sql {
    ($now:literal) => {
        concat!(
            "(l.expires_at IS NULL OR l.expires_at > ",
            $now,
            " OR (l.expiry_policy = 'keep_released' AND EXISTS (SELECT 1 FROM manifests
               WHERE repo = i.repo AND created_at < l.expires_at)))"
        )
    };
}

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::licensing::caps::{Caps, Usage};
use crate::licensing::license::{
    Access, ExpiryPolicy, GrantRow, Item, ItemJson, License, Versions,
};
use crate::licensing::newest;
use crate::licensing::pattern::TagPattern;
use crate::oci::digest::Digest;
use crate::oci::name::RepoName;
use crate::oci::reference::Reference;
use crate::stmt;
use crate::storage::paging::Page;
use crate::storage::sql::{decode, Sql, Statement};
use crate::storage::store::TagRow;

/// Whose licenses a grant check reads: a customer already known, or the customer
/// of the user, token (by secret hash) or session (by id hash) that a credential
/// lookup in the same round trip finds.
#[derive(Clone, Debug)]
pub enum Licensee {
    Customer(String),
    User(String),
    Token(String),
    Session(String),
}

/// What a grant check is about.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    Manifest(&'a Reference),
    Blob(&'a Digest),
}

/// The items of `licensee`'s licenses in force at `now` that cover `target` in
/// `repo`, with what [`crate::licensing::license::granted_until`] needs to decide
/// whether and until when they grant it: expiry, policy, and when the covered
/// version was pushed; and for [`crate::licensing::license::access`], each item's
/// license with its caps and, when it has any, its usage in `now`'s UTC month. A blob is granted only
/// through a manifest of `repo` that references it and that the licensee may read,
/// whatever the item's kind: an all-versions license does not open upload
/// leftovers, mounts, or the blobs of deleted manifests. A tag not stored in an
/// artifact backed by an upstream (docs/pull-through.md) is granted by an
/// all-versions item or a pattern matching it, as a version not pushed yet, so
/// a licensed pull may fetch it and any other finds nothing to fetch. For a user
/// that is not a customer the answer is empty, so the query can be sent before
/// the caller is known.
pub fn grant_query(licensee: &Licensee, repo: &RepoName, target: Target, now: i64) -> Statement {
    let (customer, user, token, session) = match licensee {
        Licensee::Customer(id) => (Some(id.as_str()), None, None, None),
        Licensee::User(id) => (None, Some(id.as_str()), None, None),
        Licensee::Token(hash) => (None, None, Some(hash.as_str()), None),
        Licensee::Session(hash) => (None, None, None, Some(hash.as_str())),
    };
    let (digest, tag, kind) = match target {
        Target::Manifest(Reference::Digest(d)) => (Some(d.as_str()), None, "manifest"),
        Target::Manifest(Reference::Tag(t)) => (None, Some(t.as_str()), "manifest"),
        Target::Blob(d) => (Some(d.as_str()), None, "blob"),
    };
    stmt!(
        concat!(
            "WITH RECURSIVE
           who(customer_id) AS (
             SELECT ?1 WHERE ?1 IS NOT NULL
             UNION ALL SELECT customer_id FROM users WHERE id = ?2
             UNION ALL SELECT u.customer_id FROM tokens t JOIN users u ON u.id = t.user_id
               WHERE t.secret_hash = ?3
             UNION ALL SELECT u.customer_id FROM sessions s JOIN users u ON u.id = s.user_id
               WHERE s.id_hash = ?4),
           items(kind, value, expires_at, expiry_policy, license_id, max_pulls_per_month,
             max_bytes_per_month, pulls, bytes) AS (
             SELECT i.kind, i.value, l.expires_at, l.expiry_policy, l.id, l.max_pulls_per_month,
               l.max_bytes_per_month, COALESCE(u.pulls, 0), COALESCE(u.bytes, 0)
             FROM licenses l JOIN license_items i ON i.license_id = l.id
               LEFT JOIN license_usage u ON u.license_id = l.id
                 AND (l.max_pulls_per_month IS NOT NULL OR l.max_bytes_per_month IS NOT NULL)
                 AND u.month = strftime('%Y%m', ?6, 'unixepoch')
             WHERE l.customer_id IN (SELECT customer_id FROM who) AND i.repo = ?5
               AND ",
            license_in_force_sql!("?6"),
            "),
           up(d) AS (
             SELECT ?7 WHERE ?9 = 'manifest' AND ?7 IS NOT NULL
             UNION SELECT digest FROM tags WHERE ?9 = 'manifest' AND repo = ?5 AND tag = ?8
             UNION SELECT manifest FROM manifest_refs
               WHERE ?9 = 'blob' AND repo = ?5 AND target = ?7 AND kind = 'blob'
             UNION SELECT r.manifest FROM up JOIN manifest_refs r
               ON r.repo = ?5 AND r.target = up.d AND r.kind = 'child'
             UNION SELECT m.subject FROM up JOIN manifests m
               ON m.repo = ?5 AND m.digest = up.d WHERE m.subject IS NOT NULL)
         SELECT kind, value, NULL AS tag, expires_at, expiry_policy,
             (SELECT MIN(m.created_at) FROM up CROSS JOIN manifests m
               ON m.repo = ?5 AND m.digest = up.d) AS pushed,
             license_id, max_pulls_per_month, max_bytes_per_month, pulls, bytes
           FROM items WHERE kind = 'all' AND EXISTS (SELECT 1 FROM up)
         UNION ALL SELECT i.kind, i.value, NULL, i.expires_at, i.expiry_policy, m.created_at,
             i.license_id, i.max_pulls_per_month, i.max_bytes_per_month, i.pulls, i.bytes
           FROM items i JOIN up ON i.kind = 'digest' AND i.value = up.d
           LEFT JOIN manifests m ON m.repo = ?5 AND m.digest = up.d
         UNION ALL SELECT i.kind, i.value, t.tag, i.expires_at, i.expiry_policy, m.created_at,
             i.license_id, i.max_pulls_per_month, i.max_bytes_per_month, i.pulls, i.bytes
           FROM items i CROSS JOIN up CROSS JOIN tags t ON t.repo = ?5 AND t.digest = up.d
           LEFT JOIN manifests m ON m.repo = ?5 AND m.digest = up.d
           WHERE i.kind = 'pattern'
         UNION ALL SELECT i.kind, i.value, ?8, i.expires_at, i.expiry_policy, NULL,
             i.license_id, i.max_pulls_per_month, i.max_bytes_per_month, i.pulls, i.bytes
           FROM items i
           WHERE ?8 IS NOT NULL AND i.kind IN ('all', 'pattern')
             AND NOT EXISTS (SELECT 1 FROM tags WHERE repo = ?5 AND tag = ?8)
             AND EXISTS (SELECT 1 FROM upstreams WHERE repo = ?5)"
        ),
        customer,
        user,
        token,
        session,
        repo.as_str(),
        now,
        digest,
        tag,
        kind
    )
}

/// The items of *any* license, expired or not, that cover `target` — a manifest
/// directly or through an index listing it; a blob through a manifest referencing
/// it: what the deletion rules protect. Rows decode as [`GrantRow`], or as
/// [`crate::license::ProtectionRow`] where the rules ask which license each is of.
pub(crate) fn protection_query(repo: &RepoName, target: Target) -> Statement {
    let (digest, tag, kind) = match target {
        Target::Manifest(Reference::Digest(d)) => (Some(d.as_str()), None, "manifest"),
        Target::Manifest(Reference::Tag(t)) => (None, Some(t.as_str()), "manifest"),
        Target::Blob(d) => (Some(d.as_str()), None, "blob"),
    };
    stmt!(
        "WITH RECURSIVE up(d) AS (
           SELECT ?2 WHERE ?4 = 'manifest' AND ?2 IS NOT NULL
           UNION SELECT digest FROM tags WHERE ?4 = 'manifest' AND repo = ?1 AND tag = ?3
           UNION SELECT manifest FROM manifest_refs
             WHERE ?4 = 'blob' AND repo = ?1 AND target = ?2 AND kind = 'blob'
           UNION SELECT r.manifest FROM up JOIN manifest_refs r
             ON r.repo = ?1 AND r.target = up.d AND r.kind = 'child')
         SELECT license_id, kind, value, NULL AS tag FROM license_items
           WHERE repo = ?1 AND kind = 'all' AND EXISTS (SELECT 1 FROM up)
         UNION ALL SELECT i.license_id, i.kind, i.value, NULL FROM license_items i JOIN up
           ON i.repo = ?1 AND i.kind = 'digest' AND i.value = up.d
         UNION ALL SELECT i.license_id, i.kind, i.value, t.tag
           FROM license_items i JOIN up JOIN tags t
           ON t.repo = ?1 AND t.digest = up.d WHERE i.repo = ?1 AND i.kind = 'pattern'",
        repo.as_str(),
        digest,
        tag,
        kind
    )
}

/// A license about to be written, its items checked and tags resolved.
pub struct NewLicense {
    pub id: String,
    pub name: String,
    pub customer_id: String,
    pub expires_at: Option<i64>,
    pub expiry_policy: ExpiryPolicy,
    pub caps: Caps,
    pub created_at: i64,
    pub items: Vec<Item>,
}

#[derive(Deserialize)]
struct LicenseRow {
    id: String,
    name: String,
    customer_id: String,
    expires_at: Option<i64>,
    expiry_policy: ExpiryPolicy,
    #[serde(flatten)]
    caps: Caps,
    #[serde(flatten)]
    usage: Usage,
    created_at: i64,
}

#[derive(Deserialize)]
struct ItemRow {
    license_id: String,
    item: i64,
    repo: String,
    kind: String,
    value: String,
}

#[derive(Deserialize)]
struct NameRow {
    name: String,
}

/// Filters of a license list.
#[derive(Default)]
pub struct LicenseFilter<'a> {
    pub id: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    pub artifact: Option<&'a str>,
}

fn names_json<S: AsRef<str>>(names: &[S]) -> String {
    serde_json::to_string(&names.iter().map(AsRef::as_ref).collect::<Vec<_>>()).expect("strings")
}

/// A tag with when the manifest it points at was pushed.
#[derive(Deserialize)]
struct PushedTag {
    #[serde(flatten)]
    tag: TagRow,
    pushed: Option<i64>,
}

/// What license `items` of one artifact in force at `now` grant, given its `tags`
/// (needed only when an item is a pattern). Each item grants the versions
/// [`GrantRow::versions_at`] says: every one, or those pushed before its expiry.
fn readable_of(items: &[GrantRow], tags: &[PushedTag], now: i64) -> Readable {
    let mut readable = Readable {
        all: false,
        pushed_before: None,
        seeds: Vec::new(),
        until: items
            .iter()
            .filter_map(|i| i.expires_at)
            .filter(|&at| at > now)
            .min(),
    };
    for item in items {
        let Some(before) = item.versions_at(now) else {
            continue;
        };
        let released = |pushed: Option<i64>| before.is_none_or(|t| pushed.is_some_and(|p| p < t));
        match (item.kind.as_str(), before) {
            ("all", None) => readable.all = true,
            ("all", Some(t)) => readable.pushed_before = readable.pushed_before.max(Some(t)),
            ("digest", _) if released(item.pushed) => readable.seeds.push(item.value.clone()),
            ("pattern", _) => {
                let Ok(pattern) = item.value.parse::<TagPattern>() else {
                    continue;
                };
                let matching = tags
                    .iter()
                    .filter(|t| released(t.pushed) && pattern.matches(&t.tag.tag));
                readable
                    .seeds
                    .extend(matching.map(|t| t.tag.digest.clone()));
            }
            _ => {}
        }
    }
    readable
}

/// What a customer's licenses grant of one artifact: every version (`all`), every
/// version pushed before `pushed_before` (an expired `keep_released` license for
/// all versions), and the digests the grant starts from (`seeds`: the licensed
/// ones and those of matching tags); all of them reach further through index
/// children and referrers. It holds until `until`, the first expiry among those
/// licenses still unexpired, or until the artifact's tags or the licenses change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readable {
    pub all: bool,
    pub pushed_before: Option<i64>,
    pub seeds: Vec<String>,
    pub until: Option<i64>,
}

/// A row of some artifact's: the artifact's name beside the row's own columns.
#[derive(Deserialize)]
struct OfRepo<T> {
    repo: String,
    #[serde(flatten)]
    row: T,
}

/// `rows` grouped by their artifact.
fn by_repo<T>(rows: Vec<OfRepo<T>>) -> BTreeMap<String, Vec<T>> {
    let mut out: BTreeMap<String, Vec<T>> = BTreeMap::new();
    for r in rows {
        out.entry(r.repo).or_default().push(r.row);
    }
    out
}

pub struct Licenses<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Licenses<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Licenses { sql }
    }

    /// What `customer`'s read of `target` in `repo` is now, caps included, and
    /// until when that holds (see [`crate::licensing::license::access`]).
    pub async fn access(
        &self,
        customer: &str,
        repo: &RepoName,
        target: Target<'_>,
        now: i64,
    ) -> Result<(Access, Option<i64>)> {
        let licensee = Licensee::Customer(customer.to_owned());
        let rows: Vec<GrantRow> = self
            .sql
            .query(grant_query(&licensee, repo, target, now))
            .await?;
        Ok(crate::licensing::license::access(&rows, now))
    }

    /// What `customer`'s read of each of `manifests` (artifact and digest) is
    /// now, caps included: [`Licenses::access`] for many, in one round trip.
    pub async fn access_each(
        &self,
        customer: &str,
        manifests: &[(RepoName, Digest)],
        now: i64,
    ) -> Result<Vec<Access>> {
        if manifests.is_empty() {
            return Ok(Vec::new());
        }
        let licensee = Licensee::Customer(customer.to_owned());
        let queries = manifests
            .iter()
            .map(|(repo, digest)| {
                let reference = Reference::Digest(digest.clone());
                grant_query(&licensee, repo, Target::Manifest(&reference), now)
            })
            .collect();
        let results = self.sql.query_all(queries).await?;
        results
            .into_iter()
            .map(|rows| {
                let rows: Vec<GrantRow> = decode(rows)?;
                Ok(crate::licensing::license::access(&rows, now).0)
            })
            .collect()
    }

    /// Whether any license covers `target` (see [`protection_query`]).
    pub async fn protects(&self, repo: &RepoName, target: Target<'_>) -> Result<bool> {
        let rows: Vec<GrantRow> = self.sql.query(protection_query(repo, target)).await?;
        Ok(crate::licensing::license::grants(&rows))
    }

    /// Whether a license in force at `now` names the artifact.
    pub async fn references_artifact(&self, repo: &RepoName, now: i64) -> Result<bool> {
        let row: Option<NameRow> = self
            .sql
            .one(stmt!(
                concat!(
                    "SELECT i.repo AS name FROM license_items i JOIN licenses l ON l.id = i.license_id
                     WHERE i.repo = ?1 AND ",
                    license_in_force_sql!("?2"),
                    " LIMIT 1"
                ),
                repo.as_str(),
                now
            ))
            .await?;
        Ok(row.is_some())
    }

    /// Existing artifacts `customer` holds a license in force for, in name order: those
    /// after `after` and, if `only` is given, named in it; at most `n + 1` (so the
    /// caller sees whether more follow).
    pub async fn licensed_artifacts(
        &self,
        customer: &str,
        after: Option<&str>,
        only: Option<&[&str]>,
        n: u64,
        now: i64,
    ) -> Result<Vec<String>> {
        let rows: Vec<NameRow> = self
            .sql
            .query(stmt!(
                concat!(
                    "SELECT DISTINCT i.repo AS name FROM licenses l
                       JOIN license_items i ON i.license_id = l.id
                     WHERE l.customer_id = ?1 AND ",
                    license_in_force_sql!("?2"),
                    " AND i.repo > ?3 AND i.repo IN (SELECT name FROM repositories)
                       AND (?5 IS NULL OR i.repo IN (SELECT value FROM json_each(?5)))
                     ORDER BY i.repo LIMIT ?4"
                ),
                customer,
                now,
                after.unwrap_or(""),
                n + 1,
                only.map(names_json)
            ))
            .await?;
        Ok(rows.into_iter().map(|r| r.name).collect())
    }

    /// The tags of `repo` after `last` whose manifests `customer` may read, in
    /// order, at most `n + 1`; `None` when no license of the customer in force names
    /// the artifact (so it is hidden). Two round trips: the license items with the
    /// repository's tags, then the page.
    pub async fn readable_tags(
        &self,
        customer: &str,
        repo: &RepoName,
        last: Option<&str>,
        n: u64,
        now: i64,
    ) -> Result<Option<Vec<TagRow>>> {
        let Some(readable) = self.readable(customer, repo, now).await? else {
            return Ok(None);
        };
        self.tags_of(&readable, repo, last, n).await.map(Some)
    }

    /// What `customer`'s licenses in force at `now` grant of `repo` (see
    /// [`Readable`]); `None` when none names it. One round trip.
    pub async fn readable(
        &self,
        customer: &str,
        repo: &RepoName,
        now: i64,
    ) -> Result<Option<Readable>> {
        let (items, tags): (Vec<GrantRow>, Vec<PushedTag>) = self
            .sql
            .query_both(
                stmt!(
                    concat!(
                        "SELECT i.kind, i.value, NULL AS tag, l.expires_at, l.expiry_policy,
                           m.created_at AS pushed
                         FROM licenses l JOIN license_items i ON i.license_id = l.id
                           LEFT JOIN manifests m ON m.repo = i.repo AND m.digest = i.value
                         WHERE l.customer_id = ?1 AND i.repo = ?2 AND ",
                        license_in_force_sql!("?3")
                    ),
                    customer,
                    repo.as_str(),
                    now
                ),
                stmt!(
                    concat!(
                        "SELECT t.tag, t.digest, t.updated_at, m.created_at AS pushed
                         FROM tags t LEFT JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
                         WHERE t.repo = ?1 AND EXISTS (
                           SELECT 1 FROM licenses l JOIN license_items i ON i.license_id = l.id
                           WHERE l.customer_id = ?2 AND i.repo = ?1 AND i.kind = 'pattern' AND ",
                        license_in_force_sql!("?3"),
                        ")"
                    ),
                    repo.as_str(),
                    customer,
                    now
                ),
            )
            .await?;
        if items.is_empty() {
            return Ok(None);
        }
        Ok(Some(readable_of(&items, &tags, now)))
    }

    /// The page of `repo`'s tags after `last` (at most `n + 1`, so the caller can
    /// tell whether more follow) that `readable` covers. One round trip.
    pub async fn tags_of(
        &self,
        readable: &Readable,
        repo: &RepoName,
        last: Option<&str>,
        n: u64,
    ) -> Result<Vec<TagRow>> {
        self.sql
            .query(stmt!(
                "WITH RECURSIVE down(d) AS (
                   SELECT value FROM json_each(?2)
                   UNION SELECT digest FROM manifests WHERE repo = ?1 AND created_at < ?6
                   UNION SELECT r.target FROM down CROSS JOIN manifest_refs r
                     ON r.repo = ?1 AND r.manifest = down.d AND r.kind = 'child'
                   UNION SELECT m.digest FROM down CROSS JOIN manifests m
                     ON m.repo = ?1 AND m.subject = down.d)
                 SELECT tag, digest, updated_at FROM tags
                 WHERE repo = ?1 AND tag > ?3 AND (?5 OR digest IN (SELECT d FROM down))
                 ORDER BY tag LIMIT ?4",
                repo.as_str(),
                names_json(&readable.seeds),
                last.unwrap_or(""),
                n + 1,
                i64::from(readable.all),
                readable.pushed_before
            ))
            .await
    }

    /// The first `n` artifacts (by name) `customer` holds a license in force for, each
    /// with the newest version it may read ([`newest`]) among the tags of manifests
    /// that refer to no other (a signature's tag is not a version). Two round trips
    /// however many artifacts: the license items with the tags patterns are matched
    /// against, then the candidates of them all — each artifact's most recently set
    /// readable tag and its semver-looking ones.
    pub async fn newest_readable(
        &self,
        customer: &str,
        n: usize,
        now: i64,
    ) -> Result<Vec<(String, Option<TagRow>)>> {
        let (items, tags): (Vec<OfRepo<GrantRow>>, Vec<OfRepo<PushedTag>>) = self
            .sql
            .query_both(
                stmt!(
                    concat!(
                        "SELECT i.repo, i.kind, i.value, NULL AS tag, l.expires_at, l.expiry_policy,
                           m.created_at AS pushed
                         FROM licenses l JOIN license_items i ON i.license_id = l.id
                           LEFT JOIN manifests m ON m.repo = i.repo AND m.digest = i.value
                         WHERE l.customer_id = ?1 AND ",
                        license_in_force_sql!("?2"),
                        " AND i.repo IN (SELECT name FROM repositories)"
                    ),
                    customer,
                    now
                ),
                stmt!(
                    concat!(
                        "SELECT t.repo, t.tag, t.digest, t.updated_at, m.created_at AS pushed
                         FROM tags t LEFT JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
                         WHERE t.repo IN (
                           SELECT i.repo FROM licenses l JOIN license_items i ON i.license_id = l.id
                           WHERE l.customer_id = ?1 AND i.kind = 'pattern' AND ",
                        license_in_force_sql!("?2"),
                        ")"
                    ),
                    customer,
                    now
                ),
            )
            .await?;
        let items: Vec<(String, Vec<GrantRow>)> = by_repo(items).into_iter().take(n).collect();
        let tags = by_repo(tags);
        let mut everything = Vec::new();
        let mut starts = Vec::new();
        let mut released = Vec::new();
        for (repo, grants) in &items {
            let readable = readable_of(grants, tags.get(repo).map_or(&[], Vec::as_slice), now);
            if readable.all {
                everything.push(repo.as_str());
            }
            if let Some(before) = readable.pushed_before {
                released.push(serde_json::json!([repo, before]));
            }
            starts.extend(
                readable
                    .seeds
                    .into_iter()
                    .map(|d| serde_json::json!([repo, d])),
            );
        }
        let rows: Vec<OfRepo<TagRow>> = self
            .sql
            .query(stmt!(
                "WITH RECURSIVE down(repo, d) AS (
                   SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
                     FROM json_each(?1)
                   UNION SELECT m.repo, m.digest FROM json_each(?4) j JOIN manifests m
                     ON m.repo = json_extract(j.value, '$[0]')
                     AND m.created_at < json_extract(j.value, '$[1]')
                   UNION SELECT r.repo, r.target FROM down CROSS JOIN manifest_refs r
                     ON r.repo = down.repo AND r.manifest = down.d AND r.kind = 'child'
                   UNION SELECT m.repo, m.digest FROM down CROSS JOIN manifests m
                     ON m.repo = down.repo AND m.subject = down.d),
                 readable AS (
                   SELECT t.repo, t.tag, t.digest, t.updated_at, ROW_NUMBER() OVER (
                     PARTITION BY t.repo ORDER BY t.updated_at DESC, t.tag DESC) AS rank
                   FROM tags t
                   WHERE t.repo IN (SELECT value FROM json_each(?3))
                     AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repo = t.repo
                       AND m.digest = t.digest AND m.subject IS NOT NULL)
                     AND (t.repo IN (SELECT value FROM json_each(?2))
                       OR (t.repo, t.digest) IN (SELECT repo, d FROM down)))
                 SELECT repo, tag, digest, updated_at FROM readable WHERE rank = 1
                   OR tag GLOB '[0-9]*.[0-9]*.[0-9]*' OR tag GLOB 'v[0-9]*.[0-9]*.[0-9]*'",
                serde_json::to_string(&starts).expect("strings"),
                names_json(&everything),
                names_json(&items.iter().map(|(repo, _)| repo).collect::<Vec<_>>()),
                serde_json::Value::from(released).to_string()
            ))
            .await?;
        let mut candidates = by_repo(rows);
        Ok(items
            .into_iter()
            .map(|(repo, _)| {
                let tag = candidates.remove(&repo).and_then(newest::newest);
                (repo, tag)
            })
            .collect())
    }

    /// The digests `tags` of `artifact` point at now; a missing tag is refused.
    pub async fn resolve_tags(&self, artifact: &RepoName, tags: &[String]) -> Result<Vec<Digest>> {
        #[derive(Deserialize)]
        struct Row {
            tag: String,
            digest: Option<String>,
        }
        let rows: Vec<Row> = self
            .sql
            .query(stmt!(
                "SELECT j.value AS tag, t.digest FROM json_each(?2) j
                   LEFT JOIN tags t ON t.repo = ?1 AND t.tag = j.value",
                artifact.as_str(),
                names_json(tags)
            ))
            .await?;
        rows.into_iter()
            .map(|r| match r.digest {
                Some(d) => d.parse(),
                None => Err(Error::Invalid(format!(
                    "artifact {artifact} has no tag {:?}",
                    r.tag
                ))),
            })
            .collect()
    }

    /// Refuses items naming a missing artifact or a digest that is no manifest of
    /// the artifact.
    async fn check_items(&self, items: &[Item]) -> Result<()> {
        #[derive(Deserialize)]
        struct Row {
            problem: String,
        }
        let mut checks = Vec::new();
        for item in items {
            let digests: Vec<&str> = match &item.versions {
                Versions::Digests(ds) => ds.iter().map(Digest::as_str).collect(),
                _ => Vec::new(),
            };
            checks.push(stmt!(
                "SELECT 'no artifact ' || ?1 AS problem WHERE NOT EXISTS (
                   SELECT 1 FROM repositories WHERE name = ?1)
                 UNION ALL SELECT 'artifact ' || ?1 || ' has no manifest ' || value FROM json_each(?2)
                   WHERE EXISTS (SELECT 1 FROM repositories WHERE name = ?1)
                     AND NOT EXISTS (SELECT 1 FROM manifests WHERE repo = ?1 AND digest = value)",
                item.artifact.as_str(),
                names_json(&digests)
            ));
        }
        for rows in self.sql.query_all(checks).await? {
            if let Some(row) = decode::<Row>(rows)?.into_iter().next() {
                return Err(Error::Invalid(row.problem));
            }
        }
        Ok(())
    }

    async fn customer_exists(&self, id: &str) -> Result<bool> {
        let row: Option<NameRow> = self
            .sql
            .one(stmt!("SELECT id AS name FROM customers WHERE id = ?1", id))
            .await?;
        Ok(row.is_some())
    }

    /// The statements that write `license`'s items, after a guard that aborts the
    /// batch when an artifact was deleted since [`Self::check_items`].
    fn item_statements(license: &NewLicense) -> Vec<Statement> {
        let artifacts: Vec<&str> = license.items.iter().map(|i| i.artifact.as_str()).collect();
        let mut statements = vec![stmt!(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM json_each(?1)
               WHERE value NOT IN (SELECT name FROM repositories))
             THEN json('artifact deleted') END AS guard",
            names_json(&artifacts)
        )];
        for (n, item) in license.items.iter().enumerate() {
            let (kind, values) = match &item.versions {
                Versions::All => ("all", vec![String::new()]),
                Versions::Digests(ds) => ("digest", ds.iter().map(Digest::to_string).collect()),
                Versions::Pattern(p) => ("pattern", vec![p.to_string()]),
            };
            statements.push(stmt!(
                "INSERT OR IGNORE INTO license_items (license_id, item, repo, kind, value)
                 SELECT ?1, ?2, ?3, ?4, value FROM json_each(?5)",
                license.id.as_str(),
                n as i64,
                item.artifact.as_str(),
                kind,
                names_json(&values)
            ));
        }
        statements
    }

    async fn check(&self, license: &NewLicense) -> Result<()> {
        if !self.customer_exists(&license.customer_id).await? {
            return Err(Error::Invalid(format!(
                "no customer {:?}",
                license.customer_id
            )));
        }
        self.check_items(&license.items).await
    }

    pub async fn create(&self, license: &NewLicense) -> Result<()> {
        self.check(license).await?;
        let mut statements = vec![stmt!(
            "INSERT INTO licenses (id, customer_id, name, expires_at, created_at, expiry_policy,
               max_pulls_per_month, max_bytes_per_month)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            license.id.as_str(),
            license.customer_id.as_str(),
            license.name.as_str(),
            license.expires_at,
            license.created_at,
            license.expiry_policy.as_str(),
            license.caps.max_pulls_per_month,
            license.caps.max_bytes_per_month
        )];
        statements.extend(Self::item_statements(license));
        self.write(statements, license).await
    }

    /// Replaces a license's name, customer, expiry, policy, caps and items; false if there is no
    /// such license.
    pub async fn replace(&self, license: &NewLicense) -> Result<bool> {
        if self.show(&license.id).await?.is_none() {
            return Ok(false);
        }
        self.check(license).await?;
        let mut statements = vec![
            stmt!(
                "UPDATE licenses SET customer_id = ?2, name = ?3, expires_at = ?4, expiry_policy = ?5,
                   max_pulls_per_month = ?6, max_bytes_per_month = ?7
                 WHERE id = ?1",
                license.id.as_str(),
                license.customer_id.as_str(),
                license.name.as_str(),
                license.expires_at,
                license.expiry_policy.as_str(),
                license.caps.max_pulls_per_month,
                license.caps.max_bytes_per_month
            ),
            stmt!(
                "DELETE FROM license_items WHERE license_id = ?1",
                license.id.as_str()
            ),
        ];
        statements.extend(Self::item_statements(license));
        self.write(statements, license).await?;
        Ok(true)
    }

    /// Runs a license write; when it fails, says why if the checks now see it.
    async fn write(&self, statements: Vec<Statement>, license: &NewLicense) -> Result<()> {
        if let Err(e) = self.sql.batch(statements).await {
            self.check(license).await?;
            return Err(e);
        }
        Ok(())
    }

    pub async fn delete(&self, id: &str) -> Result<bool> {
        let changes = self
            .sql
            .batch(vec![stmt!("DELETE FROM licenses WHERE id = ?1", id)])
            .await?;
        // D1 counts the items the delete cascades to as changes too.
        Ok(changes.first().is_some_and(|&n| n > 0))
    }

    pub async fn show(&self, id: &str) -> Result<Option<License>> {
        let filter = LicenseFilter {
            id: Some(id),
            ..Default::default()
        };
        Ok(self.list(&filter, None, 1).await?.items.into_iter().next())
    }

    /// A page of the licenses matching `filter`, in id order after `cursor`, each
    /// with its usage this month (by the database's clock: it is shown, not
    /// enforced). One round trip: the licenses and their items.
    pub async fn list(
        &self,
        filter: &LicenseFilter<'_>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<License>> {
        let params = |sql: &'static str| {
            stmt!(
                sql,
                filter.id,
                filter.customer_id,
                filter.artifact,
                cursor.unwrap_or(""),
                i64::from(limit) + 1
            )
        };
        let (licenses, items): (Vec<LicenseRow>, Vec<ItemRow>) = self
            .sql
            .query_both(
                params(
                    "SELECT id, name, customer_id, expires_at, expiry_policy, created_at,
                       max_pulls_per_month, max_bytes_per_month, strftime('%Y-%m', 'now') AS month,
                       COALESCE(u.pulls, 0) AS pulls, COALESCE(u.bytes, 0) AS bytes
                     FROM licenses LEFT JOIN license_usage u
                       ON u.license_id = id AND u.month = strftime('%Y%m', 'now')
                     WHERE (?1 IS NULL OR id = ?1) AND (?2 IS NULL OR customer_id = ?2)
                       AND (?3 IS NULL OR id IN (SELECT license_id FROM license_items WHERE repo = ?3))
                       AND id > ?4
                     ORDER BY id LIMIT ?5",
                ),
                params(
                    "SELECT license_id, item, repo, kind, value FROM license_items
                     WHERE license_id IN (SELECT id FROM licenses
                       WHERE (?1 IS NULL OR id = ?1) AND (?2 IS NULL OR customer_id = ?2)
                         AND (?3 IS NULL OR id IN (SELECT license_id FROM license_items WHERE repo = ?3))
                         AND id > ?4
                       ORDER BY id LIMIT ?5)
                     ORDER BY license_id, item, value",
                ),
            )
            .await?;
        let mut grouped = group_items(items);
        let licenses = licenses
            .into_iter()
            .map(|l| License {
                items: grouped.remove(&l.id).unwrap_or_default(),
                id: l.id,
                name: l.name,
                customer_id: l.customer_id,
                expires_at: l.expires_at,
                expiry_policy: l.expiry_policy,
                caps: l.caps,
                usage: l.usage,
                created_at: l.created_at,
            })
            .collect();
        Ok(Page::of(licenses, limit, |l| &l.id))
    }
}

/// Item rows (ordered by license and item) back into the items the API showed.
fn group_items(rows: Vec<ItemRow>) -> BTreeMap<String, Vec<ItemJson>> {
    let mut grouped: BTreeMap<String, Vec<ItemJson>> = BTreeMap::new();
    let mut current: Option<(String, i64)> = None;
    for row in rows {
        let items = grouped.entry(row.license_id.clone()).or_default();
        let key = (row.license_id, row.item);
        if current.as_ref() != Some(&key) || items.is_empty() {
            items.push(ItemJson {
                artifact: row.repo,
                ..Default::default()
            });
        }
        current = Some(key);
        let item = items.last_mut().expect("pushed above");
        match row.kind.as_str() {
            "all" => item.all_versions = true,
            "digest" => item.digests.get_or_insert_with(Vec::new).push(row.value),
            _ => item.pattern = Some(row.value),
        }
    }
    grouped
}

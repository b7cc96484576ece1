//! The artifact views of the management API, where registry metadata meets
//! download analytics: the artifact list with each artifact's kind and pull
//! figures, an artifact's details (versions with sizes, platforms, referrers and
//! tags with their pulls), and the dashboard of which version each customer last pulled against
//! the newest it is licensed for. A customer sees only its licensed artifacts and
//! its own pulls.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::analytics::artifact_kind::{self, ArtifactKind};
use crate::error::{Error, Result};
use crate::licensing::immutable::ImmutableTags;
use crate::licensing::license_store::Licenses;
use crate::oci::name::RepoName;
use crate::storage::paging::Page;
use crate::storage::sql::{decode, Sql};
use crate::upstream::setting::UpstreamFailure;
use crate::{license_in_force_sql, stmt};

/// An artifact as the list shows it. Pull figures count pulls (see `downloads`);
/// `users` and `customers` count those who pulled within the retention of raw
/// events.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Artifact {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ArtifactKind,
    pub created_at: i64,
    pub last_push: Option<i64>,
    pub last_pull: Option<i64>,
    pub pulls: i64,
    pub users: i64,
    pub customers: i64,
    /// When its upstream last failed (docs/pull-through.md), until its setting
    /// is saved again; vendor staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_failed_at: Option<i64>,
}

#[derive(Deserialize)]
struct ArtifactRow {
    name: String,
    created_at: i64,
    media_type: Option<String>,
    artifact_type: Option<String>,
    last_push: Option<i64>,
    last_pull: Option<i64>,
    pulls: i64,
    users: i64,
    customers: i64,
    upstream_failed_at: Option<i64>,
    sort_key: i64,
}

impl From<ArtifactRow> for Artifact {
    fn from(r: ArtifactRow) -> Self {
        let kind = match &r.media_type {
            Some(media_type) => artifact_kind::of(media_type, r.artifact_type.as_deref()),
            None => ArtifactKind::Artifact,
        };
        Artifact {
            name: r.name,
            kind,
            created_at: r.created_at,
            last_push: r.last_push,
            last_pull: r.last_pull,
            pulls: r.pulls,
            users: r.users,
            customers: r.customers,
            upstream_failed_at: r.upstream_failed_at,
        }
    }
}

/// What the artifact list orders by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    Name,
    Pulls,
    LastPull,
    LastPush,
}

impl Order {
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Name => "name",
            Order::Pulls => "pulls",
            Order::LastPull => "last_pull",
            Order::LastPush => "last_push",
        }
    }
}

impl std::str::FromStr for Order {
    type Err = Error;

    fn from_str(s: &str) -> Result<Order> {
        [Order::Name, Order::Pulls, Order::LastPull, Order::LastPush]
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| {
                Error::Invalid("sort must be name, pulls, last_pull or last_push".into())
            })
    }
}

/// One page of the artifact list: names containing `search` (all when empty),
/// in `order`, after the cursor `after`.
#[derive(Clone, Debug, Default)]
pub struct ArtifactQuery {
    pub search: String,
    pub order: Order,
    pub after: Option<String>,
    pub limit: u32,
}

/// The sort key and name a cursor of the artifact list holds.
fn parse_cursor(cursor: &str) -> Result<(i64, String)> {
    cursor
        .split_once('|')
        .and_then(|(key, name)| Some((key.parse().ok()?, name.to_owned())))
        .ok_or_else(|| Error::Invalid("cursor is not one this list gave".into()))
}

/// A customer's standing on one licensed artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The last pull got the newest licensed version.
    UpToDate,
    /// The last pull got an older one.
    Behind,
    /// No pull within the period asked about.
    NoPulls,
}

/// A version: a tagged manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Version {
    pub tag: String,
    pub digest: String,
    /// When the tag was last set.
    pub at: i64,
}

/// A customer's last pull of an artifact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastPull {
    pub at: i64,
    pub reference: String,
    pub digest: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomerArtifact {
    pub artifact: String,
    pub last_pull: Option<LastPull>,
    pub newest: Option<Version>,
    pub status: Status,
}

/// The status of a customer whose last pull is `last` (if within the period) and
/// whose newest licensed version is `newest`.
pub fn status(last: Option<&LastPull>, newest: Option<&Version>) -> Status {
    match (last, newest) {
        (None, _) => Status::NoPulls,
        (Some(pull), Some(newest)) if pull.digest != newest.digest => Status::Behind,
        (Some(_), _) => Status::UpToDate,
    }
}

/// One platform of an image index.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Platform {
    pub digest: String,
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
}

/// A manifest that refers to another (`subject`): an SBOM, a signature, …
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Referrer {
    pub digest: String,
    #[serde(rename = "type")]
    pub kind: ArtifactKind,
    pub artifact_type: Option<String>,
    pub created_at: i64,
}

/// A version of an artifact: a manifest that is not a platform of an index nor a
/// referrer, with what hangs off it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ManifestDetails {
    pub digest: String,
    pub media_type: String,
    #[serde(rename = "type")]
    pub kind: ArtifactKind,
    pub artifact_type: Option<String>,
    pub created_at: i64,
    /// Bytes: the manifest, its config and layers; for an index, the sum over it
    /// and its platforms.
    pub size: u64,
    pub tags: Vec<String>,
    pub platforms: Vec<Platform>,
    pub referrers: Vec<Referrer>,
}

/// A tag with its pulls.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TagDetails {
    pub tag: String,
    pub digest: String,
    pub updated_at: i64,
    pub pulls: i64,
}

/// One artifact in full, as its details page shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Details {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ArtifactKind,
    pub created_at: i64,
    /// The artifact's immutable-tag setting; vendor staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub immutable_tags: Option<ImmutableTags>,
    /// Its upstream's last failure (docs/pull-through.md); vendor staff only,
    /// who may not read the setting itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_failure: Option<UpstreamFailure>,
    pub tags: Vec<TagDetails>,
    pub manifests: Vec<ManifestDetails>,
}

#[derive(Deserialize)]
struct ManifestRow {
    digest: String,
    media_type: String,
    artifact_type: Option<String>,
    subject: Option<String>,
    created_at: i64,
    own_size: u64,
    /// An index's bytes when kept inline, for its platforms.
    index_content: Option<String>,
}

#[derive(Deserialize)]
struct EdgeRow {
    manifest: String,
    target: String,
}

#[derive(Deserialize)]
struct TagPullsRow {
    tag: String,
    digest: String,
    updated_at: i64,
    pulls: i64,
}

#[derive(Deserialize)]
struct RepoRow {
    created_at: i64,
    immutable_tags: String,
    upstream_error: Option<String>,
    upstream_error_at: Option<i64>,
}

impl RepoRow {
    fn upstream_failure(&self) -> Option<UpstreamFailure> {
        Some(UpstreamFailure {
            error: self.upstream_error.clone()?,
            at: self.upstream_error_at?,
        })
    }
}

/// The platforms an index's JSON lists.
fn platforms(content: &str) -> Vec<Platform> {
    #[derive(Deserialize)]
    struct Index {
        #[serde(default)]
        manifests: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        digest: String,
        platform: Option<PlatformJson>,
    }
    #[derive(Deserialize)]
    struct PlatformJson {
        os: Option<String>,
        architecture: Option<String>,
        variant: Option<String>,
    }
    let Ok(index) = serde_json::from_str::<Index>(content) else {
        return Vec::new();
    };
    index
        .manifests
        .into_iter()
        .map(|e| {
            let p = e.platform;
            Platform {
                digest: e.digest,
                os: p.as_ref().and_then(|p| p.os.clone()),
                architecture: p.as_ref().and_then(|p| p.architecture.clone()),
                variant: p.and_then(|p| p.variant),
            }
        })
        .collect()
}

/// Assembles the versions of an artifact from its manifests, index edges and
/// tags; `visible` limits them to what a customer may read.
fn versions(
    rows: Vec<ManifestRow>,
    edges: &[EdgeRow],
    tags: &[TagPullsRow],
    visible: Option<&BTreeSet<String>>,
) -> Vec<ManifestDetails> {
    let own: BTreeMap<&str, u64> = rows
        .iter()
        .map(|r| (r.digest.as_str(), r.own_size))
        .collect();
    let children: BTreeSet<&str> = edges.iter().map(|e| e.target.as_str()).collect();
    let shown = |d: &str| visible.is_none_or(|v| v.contains(d));
    let referrers_of = |d: &str| -> Vec<Referrer> {
        rows.iter()
            .filter(|r| r.subject.as_deref() == Some(d) && shown(&r.digest))
            .map(|r| Referrer {
                digest: r.digest.clone(),
                kind: artifact_kind::of(&r.media_type, r.artifact_type.as_deref()),
                artifact_type: r.artifact_type.clone(),
                created_at: r.created_at,
            })
            .collect()
    };
    rows.iter()
        .filter(|r| r.subject.is_none() && !children.contains(r.digest.as_str()))
        .filter(|r| shown(&r.digest))
        .map(|r| {
            let platform_sizes: u64 = edges
                .iter()
                .filter(|e| e.manifest == r.digest)
                .filter_map(|e| own.get(e.target.as_str()))
                .sum();
            ManifestDetails {
                digest: r.digest.clone(),
                media_type: r.media_type.clone(),
                kind: artifact_kind::of(&r.media_type, r.artifact_type.as_deref()),
                artifact_type: r.artifact_type.clone(),
                created_at: r.created_at,
                size: r.own_size + platform_sizes,
                tags: tags
                    .iter()
                    .filter(|t| t.digest == r.digest)
                    .map(|t| t.tag.clone())
                    .collect(),
                platforms: r
                    .index_content
                    .as_deref()
                    .map(platforms)
                    .unwrap_or_default(),
                referrers: referrers_of(&r.digest),
            }
        })
        .collect()
}

/// The digests reachable from `seeds` through index edges and subjects: what a
/// customer whose readable tags point at `seeds` may read.
fn reachable(seeds: Vec<String>, rows: &[ManifestRow], edges: &[EdgeRow]) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo = seeds;
    while let Some(d) = todo.pop() {
        if !seen.insert(d.clone()) {
            continue;
        }
        todo.extend(
            edges
                .iter()
                .filter(|e| e.manifest == d)
                .map(|e| e.target.clone()),
        );
        todo.extend(
            rows.iter()
                .filter(|r| r.subject.as_deref() == Some(d.as_str()))
                .map(|r| r.digest.clone()),
        );
    }
    seen
}

/// Tags of one artifact a view looks at, at most.
const MAX_TAGS: u32 = 10_000;

pub struct Artifacts<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Artifacts<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Artifacts { sql }
    }

    /// A page of the artifacts `query` asks for, with their kind (that of the
    /// most recently tagged manifest that refers to no other) and pull figures;
    /// for a `customer`, only those it holds a license in force for (an unexpired
    /// one, or an expired one keeping versions: `license_in_force_sql!`), with its own
    /// pulls, and the kind and last push (and the order by it) worked out over the
    /// versions it may read: nothing of an unlicensed version shows. Every order but by name puts the largest first, then names in order;
    /// the cursor carries the sort key and the name, so pages never skip or repeat.
    /// Only the sort key is worked out for every artifact (nothing, by name); the
    /// figures only for the page.
    pub async fn list(
        &self,
        query: &ArtifactQuery,
        customer: Option<&str>,
        now: i64,
    ) -> Result<Page<Artifact>> {
        let (after_key, after_name) = match &query.after {
            Some(cursor) => parse_cursor(cursor)?,
            None => (i64::MAX, String::new()),
        };
        let readable = match customer {
            Some(customer) => Some(self.newest_readable(customer, now).await?),
            None => None,
        };
        let rows: Vec<ArtifactRow> = self
            .sql
            .query(stmt!(
                concat!(
                    "WITH readable AS (SELECT key AS repo, json_extract(value, '$[0]') AS at,
                     json_extract(value, '$[1]') AS digest FROM json_each(COALESCE(?8, '{}'))),
                 candidates AS (SELECT r.name, r.created_at, CASE ?6
                     WHEN 'pulls' THEN (SELECT COALESCE(SUM(pulls), 0) FROM pulls_daily
                       WHERE repo = r.name AND (?3 IS NULL OR customer_id = ?3))
                     WHEN 'last_pull' THEN COALESCE((SELECT MAX(at) FROM downloads
                       WHERE repo = r.name AND (?3 IS NULL OR customer_id = ?3)), 0)
                     WHEN 'last_push' THEN CASE WHEN ?8 IS NULL THEN MAX(
                       COALESCE((SELECT MAX(created_at) FROM manifests WHERE repo = r.name), 0),
                       COALESCE((SELECT MAX(updated_at) FROM tags WHERE repo = r.name), 0))
                       ELSE COALESCE((SELECT at FROM readable WHERE repo = r.name), 0) END
                     ELSE 0 END AS sort_key
                   FROM repositories r
                   WHERE instr(r.name, ?5) > 0 AND (?3 IS NULL OR r.name IN (
                     SELECT i.repo FROM licenses l JOIN license_items i ON i.license_id = l.id
                     WHERE l.customer_id = ?3 AND ",
                    license_in_force_sql!("?4"),
                    "))),
                 page AS (SELECT * FROM candidates
                   WHERE sort_key < ?7 OR (sort_key = ?7 AND name > ?1)
                   ORDER BY sort_key DESC, name LIMIT ?2)
                 SELECT p.name, p.created_at, p.sort_key, k.media_type, k.artifact_type,
                   CASE WHEN ?8 IS NULL THEN NULLIF(MAX(
                     COALESCE((SELECT MAX(created_at) FROM manifests WHERE repo = p.name), 0),
                     COALESCE((SELECT MAX(updated_at) FROM tags WHERE repo = p.name), 0)), 0)
                     ELSE (SELECT at FROM readable WHERE repo = p.name) END AS last_push,
                   (SELECT MAX(at) FROM downloads
                     WHERE repo = p.name AND (?3 IS NULL OR customer_id = ?3)) AS last_pull,
                   (SELECT COALESCE(SUM(pulls), 0) FROM pulls_daily
                     WHERE repo = p.name AND (?3 IS NULL OR customer_id = ?3)) AS pulls,
                   (SELECT COUNT(DISTINCT user_id) FROM downloads
                     WHERE repo = p.name AND (?3 IS NULL OR customer_id = ?3)) AS users,
                   (SELECT COUNT(DISTINCT customer_id) FROM downloads
                     WHERE repo = p.name AND (?3 IS NULL OR customer_id = ?3)) AS customers,
                   CASE WHEN ?3 IS NULL THEN (SELECT last_error_at FROM upstreams
                     WHERE repo = p.name) END AS upstream_failed_at
                 FROM page p
                 LEFT JOIN manifests k ON k.repo = p.name AND k.digest = CASE WHEN ?8 IS NULL THEN (
                   SELECT m.digest FROM tags t JOIN manifests m
                     ON m.repo = t.repo AND m.digest = t.digest
                   WHERE t.repo = p.name AND m.subject IS NULL
                   ORDER BY t.updated_at DESC, t.tag LIMIT 1)
                   ELSE (SELECT digest FROM readable WHERE repo = p.name) END
                 ORDER BY p.sort_key DESC, p.name"
                ),
                after_name,
                i64::from(query.limit) + 1,
                customer,
                now,
                query.search.as_str(),
                query.order.as_str(),
                after_key,
                readable
            ))
            .await?;
        let items: Vec<(i64, Artifact)> = rows
            .into_iter()
            .map(|r| (r.sort_key, Artifact::from(r)))
            .collect();
        Ok(Page::keyed(items, query.limit.into(), |(key, a)| {
            format!("{key}|{}", a.name)
        })
        .map(|(_, a)| a))
    }

    /// `{artifact: [set at, digest]}` of the newest version `customer` may read of
    /// each artifact it holds a license in force for: what its artifact list shows.
    async fn newest_readable(&self, customer: &str, now: i64) -> Result<String> {
        let newest = Licenses::new(self.sql)
            .newest_readable(customer, usize::MAX, now)
            .await?;
        let map: serde_json::Map<String, serde_json::Value> = newest
            .into_iter()
            .filter_map(|(artifact, tag)| {
                let tag = tag?;
                Some((artifact, serde_json::json!([tag.updated_at, tag.digest])))
            })
            .collect();
        Ok(serde_json::Value::Object(map).to_string())
    }

    /// For each artifact `customer` holds a license in force for: its last pull, the
    /// newest version it may read (`licensing::newest`: by semver precedence when
    /// it has semver-looking tags, else the most recently set), and its status,
    /// where a last pull before `since` counts as none. Three
    /// round trips however many artifacts, two of them at once.
    pub async fn dashboard(
        &self,
        customer: &str,
        since: i64,
        now: i64,
    ) -> Result<Vec<CustomerArtifact>> {
        /// Artifacts one customer's dashboard shows at most.
        const MAX_ARTIFACTS: usize = 200;
        let licenses = Licenses::new(self.sql);
        let (newest, mut last_pulls) = futures::try_join!(
            licenses.newest_readable(customer, MAX_ARTIFACTS, now),
            self.last_pulls(customer, since)
        )?;
        Ok(newest
            .into_iter()
            .map(|(artifact, newest)| {
                let newest = newest.map(|t| Version {
                    tag: t.tag,
                    digest: t.digest,
                    at: t.updated_at,
                });
                let last_pull = last_pulls.remove(&artifact);
                CustomerArtifact {
                    status: status(last_pull.as_ref(), newest.as_ref()),
                    artifact,
                    last_pull,
                    newest,
                }
            })
            .collect())
    }

    /// The artifact's versions (with their tags, sizes, platforms and referrers)
    /// and its tags with their pulls; for a `customer`, what its licenses let it
    /// read and its own pulls, and `None` when it holds no license for it. One
    /// round trip, after the license check for a customer.
    pub async fn details(
        &self,
        repo: &RepoName,
        customer: Option<&str>,
        now: i64,
    ) -> Result<Option<Details>> {
        // A customer's license check comes first: nothing of an artifact it may not
        // read is read, so the answer and its time match a missing artifact's.
        let readable = match customer {
            None => None,
            Some(customer) => {
                let licenses = Licenses::new(self.sql);
                match licenses
                    .readable_tags(customer, repo, None, u64::from(MAX_TAGS), now)
                    .await?
                {
                    Some(readable) => Some(readable),
                    None => return Ok(None),
                }
            }
        };
        let name = repo.as_str();
        let mut results = self
            .sql
            .query_all(vec![
                stmt!(
                    "SELECT r.created_at, r.immutable_tags, u.last_error AS upstream_error,
                       u.last_error_at AS upstream_error_at
                     FROM repositories r LEFT JOIN upstreams u ON u.repo = r.name
                     WHERE r.name = ?1",
                    name
                ),
                stmt!(
                    "SELECT m.digest, m.media_type, m.artifact_type, m.subject, m.created_at,
                       m.size + COALESCE((SELECT SUM(b.size) FROM manifest_refs r
                         JOIN blobs b ON b.digest = r.target
                         WHERE r.repo = m.repo AND r.manifest = m.digest AND r.kind = 'blob'), 0)
                         AS own_size,
                       CASE WHEN m.media_type IN (?2, ?3) THEN m.content END AS index_content
                     FROM manifests m WHERE m.repo = ?1 ORDER BY m.created_at DESC, m.digest",
                    name,
                    crate::oci::manifest::OCI_INDEX,
                    crate::oci::manifest::DOCKER_LIST
                ),
                stmt!(
                    "SELECT manifest, target FROM manifest_refs WHERE repo = ?1 AND kind = 'child'",
                    name
                ),
                stmt!(
                    "SELECT t.tag, t.digest, t.updated_at, COALESCE((SELECT SUM(p.pulls)
                       FROM pulls_daily p WHERE p.repo = t.repo AND p.tag = t.tag
                         AND (?2 IS NULL OR p.customer_id = ?2)), 0) AS pulls
                     FROM tags t WHERE t.repo = ?1 ORDER BY t.tag",
                    name,
                    customer
                ),
            ])
            .await?
            .into_iter();
        let mut next = || results.next().unwrap_or_default();
        let Some(repo_row) = decode::<RepoRow>(next())?.into_iter().next() else {
            return Ok(None);
        };
        let rows: Vec<ManifestRow> = decode(next())?;
        let edges: Vec<EdgeRow> = decode(next())?;
        let mut tags: Vec<TagPullsRow> = decode(next())?;
        let visible = readable.map(|readable| {
            let readable: BTreeSet<&str> = readable.iter().map(|r| r.tag.as_str()).collect();
            tags.retain(|t| readable.contains(t.tag.as_str()));
            let seeds = tags.iter().map(|t| t.digest.clone()).collect();
            reachable(seeds, &rows, &edges)
        });
        // As in the list: the kind of the most recently tagged manifest that
        // refers to no other.
        let kind = tags
            .iter()
            .filter_map(|t| {
                let row = rows
                    .iter()
                    .find(|r| r.digest == t.digest && r.subject.is_none())?;
                Some((t.updated_at, row))
            })
            .max_by_key(|(at, _)| *at)
            .map_or(ArtifactKind::Artifact, |(_, r)| {
                artifact_kind::of(&r.media_type, r.artifact_type.as_deref())
            });
        let manifests = versions(rows, &edges, &tags, visible.as_ref());
        let (immutable_tags, upstream_failure) = match customer {
            None => (
                Some(ImmutableTags::from_stored(&repo_row.immutable_tags)?),
                repo_row.upstream_failure(),
            ),
            Some(_) => (None, None),
        };
        Ok(Some(Details {
            name: name.to_owned(),
            kind,
            created_at: repo_row.created_at,
            immutable_tags,
            upstream_failure,
            tags: tags
                .into_iter()
                .map(|t| TagDetails {
                    tag: t.tag,
                    digest: t.digest,
                    updated_at: t.updated_at,
                    pulls: t.pulls,
                })
                .collect(),
            manifests,
        }))
    }

    /// `customer`'s last pull of each artifact since `since`: SQLite gives the
    /// bare columns of the row that holds `MAX(id)`, the newest event.
    async fn last_pulls(&self, customer: &str, since: i64) -> Result<BTreeMap<String, LastPull>> {
        #[derive(Deserialize)]
        struct Row {
            repo: String,
            at: i64,
            reference: String,
            digest: String,
        }
        let rows: Vec<Row> = self
            .sql
            .query(stmt!(
                "SELECT repo, MAX(id) AS id, at, reference, digest FROM downloads
                 WHERE customer_id = ?1 AND child = 0 AND at >= ?2 GROUP BY repo",
                customer,
                since
            ))
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let pull = LastPull {
                    at: r.at,
                    reference: r.reference,
                    digest: r.digest,
                };
                (r.repo, pull)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_compares_the_last_pull_with_the_newest_version() {
        let pull = |d: &str| LastPull {
            at: 1,
            reference: "v1".into(),
            digest: d.into(),
        };
        let version = |d: &str| Version {
            tag: "v2".into(),
            digest: d.into(),
            at: 1,
        };
        assert_eq!(status(None, Some(&version("a"))), Status::NoPulls);
        assert_eq!(
            status(Some(&pull("a")), Some(&version("a"))),
            Status::UpToDate
        );
        assert_eq!(
            status(Some(&pull("a")), Some(&version("b"))),
            Status::Behind
        );
        assert_eq!(status(Some(&pull("a")), None), Status::UpToDate);
    }
}

//! Bundles in D1: turning a selection into a plan — tags resolved to digests now,
//! every version checked against the customer's licenses (the licensing rules'
//! own grant query), each version's closure gathered — storing it, and reading
//! back what an archive's bytes come from. A selection naming anything missing or
//! unlicensed is refused whole, as "version not found", so nothing about what the
//! customer may not read shows through.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::bundles::plan::{Content, Plan, Referrer, Selection, Version, MAX_VERSIONS};
use crate::error::{Error, Result};
use crate::licensing::license::Access;
use crate::licensing::license_store::Licenses;
use crate::oci::digest::Digest;
use crate::oci::name::RepoName;
use crate::stmt;
use crate::storage::sql::{decode, Sql, Statement};

/// Tags a bundle of "everything licensed" reads per artifact.
const MAX_TAGS: u64 = 10_000;
/// Artifacts a bundle of "everything licensed" reads.
const MAX_ARTIFACTS: u64 = 1_000;

/// A stored bundle.
#[derive(Clone, Debug, PartialEq)]
pub struct Bundle {
    pub id: String,
    pub customer_id: String,
    pub created_at: i64,
    pub plan: Plan,
}

#[derive(Deserialize)]
struct BundleRow {
    id: String,
    customer_id: String,
    created_at: i64,
    plan: String,
}

/// Where a manifest's or blob's bytes are: inline (a manifest kept in D1) or
/// under an object key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Inline(String),
    Object(String),
}

#[derive(Deserialize)]
struct BodyRow {
    digest: String,
    content: Option<String>,
    object_key: Option<String>,
}

/// A manifest (with its media type) or blob (without) of a closure.
#[derive(Deserialize)]
struct ClosureRow {
    digest: String,
    size: u64,
    media_type: Option<String>,
    subject: Option<String>,
    artifact_type: Option<String>,
}

/// A version asked for: artifact, tag if named by one, digest.
type Wanted = (RepoName, Option<String>, Digest);

fn not_found<T>(_: T) -> Error {
    Error::NotFound("version")
}

pub struct Bundles<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Bundles<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Bundles { sql }
    }

    /// The plan of `selection` for `customer` at `now`; refused whole if any
    /// version is missing or not licensed to the customer.
    pub async fn plan(&self, customer: &str, selection: &Selection, now: i64) -> Result<Plan> {
        selection.check()?;
        let wanted = if selection.all {
            self.everything(customer, now).await?
        } else {
            self.named(selection).await?
        };
        if wanted.is_empty() {
            return Err(Error::NotFound("version"));
        }
        if wanted.len() > MAX_VERSIONS {
            return Err(Error::Invalid(format!(
                "a bundle holds at most {MAX_VERSIONS} versions; name the ones to bundle"
            )));
        }
        if !self.licensed(customer, &wanted, now).await? {
            return Err(Error::NotFound("version"));
        }
        self.closure(wanted).await
    }

    /// What `customer`'s read of each version of `plan` is at `now`, caps
    /// included (`bundles::counting` judges a download by it).
    pub async fn access(&self, customer: &str, plan: &Plan, now: i64) -> Result<Vec<Access>> {
        let wanted = plan
            .versions
            .iter()
            .map(|v| Ok((v.artifact.parse()?, None, v.digest.parse()?)))
            .collect::<Result<Vec<Wanted>>>()?;
        self.access_each(customer, &wanted, now).await
    }

    /// Whether every version of `wanted` is granted to `customer` at `now`,
    /// whatever its caps: a bundle over a cap may be planned, not downloaded.
    async fn licensed(&self, customer: &str, wanted: &[Wanted], now: i64) -> Result<bool> {
        let access = self.access_each(customer, wanted, now).await?;
        Ok(!access.contains(&Access::Refused))
    }

    async fn access_each(
        &self,
        customer: &str,
        wanted: &[Wanted],
        now: i64,
    ) -> Result<Vec<Access>> {
        let manifests: Vec<(RepoName, Digest)> = wanted
            .iter()
            .map(|(r, _, d)| (r.clone(), d.clone()))
            .collect();
        Licenses::new(self.sql)
            .access_each(customer, &manifests, now)
            .await
    }

    /// The versions a selection names, tags resolved now.
    async fn named(&self, selection: &Selection) -> Result<Vec<Wanted>> {
        let licenses = Licenses::new(self.sql);
        let mut wanted = Vec::new();
        for item in &selection.items {
            let artifact: RepoName = item.artifact.parse().map_err(not_found)?;
            let digests =
                licenses
                    .resolve_tags(&artifact, &item.tags)
                    .await
                    .map_err(|e| match e {
                        Error::Invalid(_) => Error::NotFound("version"),
                        other => other,
                    })?;
            for (tag, digest) in item.tags.iter().zip(digests) {
                wanted.push((artifact.clone(), Some(tag.clone()), digest));
            }
            for digest in &item.digests {
                let digest: Digest = digest.parse()?;
                wanted.push((artifact.clone(), None, digest));
            }
        }
        Ok(wanted)
    }

    /// Every tag of every artifact `customer`'s licenses cover now.
    async fn everything(&self, customer: &str, now: i64) -> Result<Vec<Wanted>> {
        let licenses = Licenses::new(self.sql);
        let artifacts = licenses
            .licensed_artifacts(customer, None, None, MAX_ARTIFACTS, now)
            .await?;
        let mut wanted = Vec::new();
        for name in artifacts {
            let artifact: RepoName = name.parse()?;
            let tags = licenses
                .readable_tags(customer, &artifact, None, MAX_TAGS, now)
                .await?
                .unwrap_or_default();
            for t in tags {
                wanted.push((artifact.clone(), Some(t.tag), t.digest.parse()?));
            }
        }
        Ok(wanted)
    }

    /// The plan of `wanted`: each version with every manifest and blob it
    /// reaches. One round trip; a version that is no manifest is refused.
    async fn closure(&self, wanted: Vec<Wanted>) -> Result<Plan> {
        let mut roots: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (artifact, _, digest) in &wanted {
            roots
                .entry(artifact.as_str())
                .or_default()
                .push(digest.as_str());
        }
        let artifacts: Vec<&str> = roots.keys().copied().collect();
        let queries = roots
            .iter()
            .map(|(artifact, digests)| closure_query(artifact, digests))
            .collect();
        let mut results = self.sql.query_all(queries).await?.into_iter();
        let mut manifests: BTreeMap<(String, String), ClosureRow> = BTreeMap::new();
        let mut contents = Vec::new();
        let mut referrers = Vec::new();
        for artifact in artifacts {
            let rows: Vec<ClosureRow> = decode(results.next().unwrap_or_default())?;
            let (found, blobs): (Vec<_>, Vec<_>) =
                rows.into_iter().partition(|r| r.media_type.is_some());
            for m in found {
                if m.subject.is_some() {
                    referrers.push(Referrer {
                        digest: m.digest.clone(),
                        media_type: m.media_type.clone().unwrap_or_default(),
                        size: m.size,
                        artifact_type: m.artifact_type.clone(),
                    });
                }
                contents.push(Content {
                    digest: m.digest.clone(),
                    size: m.size,
                    artifact: Some(artifact.to_owned()),
                });
                manifests.insert((artifact.to_owned(), m.digest.clone()), m);
            }
            contents.extend(blobs.into_iter().map(|b| Content {
                digest: b.digest,
                size: b.size,
                artifact: None,
            }));
        }
        let versions = wanted
            .into_iter()
            .map(|(artifact, tag, digest)| {
                let key = (artifact.as_str().to_owned(), digest.as_str().to_owned());
                let m = manifests.get(&key).ok_or(Error::NotFound("version"))?;
                Ok(Version {
                    artifact: key.0,
                    tag,
                    digest: key.1,
                    media_type: m.media_type.clone().unwrap_or_default(),
                    size: m.size,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Plan::new(versions, referrers, contents)
    }

    /// Stores `plan` as bundle `id` of `customer`, asked for by `created_by`.
    pub async fn save(
        &self,
        id: &str,
        customer: &str,
        created_by: &str,
        plan: &Plan,
        now: i64,
    ) -> Result<()> {
        let json = serde_json::to_string(plan).map_err(|e| Error::Internal(e.to_string()))?;
        self.sql
            .batch(vec![stmt!(
                "INSERT INTO bundles (id, customer_id, created_by, created_at, size, plan)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                id,
                customer,
                created_by,
                now,
                plan.layout().len(),
                json
            )])
            .await?;
        Ok(())
    }

    pub async fn show(&self, id: &str) -> Result<Option<Bundle>> {
        let row: Option<BundleRow> = self
            .sql
            .one(stmt!(
                "SELECT id, customer_id, created_at, plan FROM bundles WHERE id = ?1",
                id
            ))
            .await?;
        row.map(|r| {
            let plan = serde_json::from_str(&r.plan)
                .map_err(|e| Error::Internal(format!("bundle plan: {e}")))?;
            Ok(Bundle {
                id: r.id,
                customer_id: r.customer_id,
                created_at: r.created_at,
                plan,
            })
        })
        .transpose()
    }

    /// Where each content of `plan` is read from, by digest; one round trip.
    /// Content deleted since the plan was made is missing from the answer.
    pub async fn bodies(&self, plan: &Plan) -> Result<BTreeMap<String, Body>> {
        let manifests: Vec<[&str; 2]> = plan
            .contents
            .iter()
            .filter_map(|c| c.artifact.as_deref().map(|a| [a, c.digest.as_str()]))
            .collect();
        let blobs: Vec<&str> = plan
            .contents
            .iter()
            .filter(|c| c.artifact.is_none())
            .map(|c| c.digest.as_str())
            .collect();
        let (m, b): (Vec<BodyRow>, Vec<BodyRow>) = self
            .sql
            .query_both(
                stmt!(
                    "SELECT m.digest, m.content, m.object_key FROM json_each(?1) j
                       JOIN manifests m ON m.repo = json_extract(j.value, '$[0]')
                        AND m.digest = json_extract(j.value, '$[1]')",
                    json(&manifests)
                ),
                stmt!(
                    "SELECT b.digest, NULL AS content, b.object_key FROM json_each(?1) j
                       JOIN blobs b ON b.digest = j.value",
                    json(&blobs)
                ),
            )
            .await?;
        Ok(m.into_iter()
            .chain(b)
            .filter_map(|r| {
                let body = match (r.content, r.object_key) {
                    (Some(text), _) => Body::Inline(text),
                    (None, Some(key)) => Body::Object(key),
                    (None, None) => return None,
                };
                Some((r.digest, body))
            })
            .collect())
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("strings")
}

/// The manifests and blobs reached from `digests` of `artifact`: down through
/// index entries and to every manifest whose `subject` is one reached (the
/// referrers: signatures, SBOMs, attestations). Blobs come with no media type.
fn closure_query(artifact: &str, digests: &[&str]) -> Statement {
    stmt!(
        "WITH RECURSIVE down(d) AS (
           SELECT value FROM json_each(?2)
           UNION SELECT r.target FROM down JOIN manifest_refs r
             ON r.repo = ?1 AND r.manifest = down.d AND r.kind = 'child'
           UNION SELECT m.digest FROM down JOIN manifests m
             ON m.repo = ?1 AND m.subject = down.d)
         SELECT m.digest, m.size, m.media_type, m.subject, m.artifact_type FROM down
           JOIN manifests m ON m.repo = ?1 AND m.digest = down.d
         UNION SELECT b.digest, b.size, NULL, NULL, NULL FROM down
           JOIN manifest_refs r ON r.repo = ?1 AND r.manifest = down.d AND r.kind = 'blob'
           JOIN blobs b ON b.digest = r.target",
        artifact,
        json(&digests)
    )
}

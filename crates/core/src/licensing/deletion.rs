//! The deletion rules: what may be deleted so that no deletion breaks a
//! customer's licensed access, applied the same way whether the request comes
//! through the management API, the dashboard or OCI `DELETE` (docs/licensing.md).
//!
//! A tag deletion succeeds only when the tag exists (else not found); when its
//! digest is licensed, another named tag of the artifact points at that digest
//! (else [`Refusal::LastTagOfLicensedDigest`]); every license that covers the
//! digest still covers it without this tag — for a tag pattern, another tag of the
//! digest that the pattern matches remains (else [`Refusal::LastMatchingTag`]);
//! and it is not the artifact's last named tag (else [`Refusal::LastTag`]).
//! Digest-shaped tags (`sha256-…`) are never "another tag". A manifest deleted by
//! digest takes its tags with it, so it may not take the artifact's last named
//! tag, and a manifest a license covers, or a blob such a manifest references, is
//! not deleted. For versions, "licensed" counts every license, expired or not: a
//! lapsed license that is renewed must still find its versions, and one that keeps
//! what was released still grants them. An artifact goes when no license in force
//! names it (unexpired, or expired under `keep_released` with versions it keeps);
//! other expired licenses lose their item for it. Before all of these, a tag the
//! artifact's immutable-tag setting covers is never deleted, nor a manifest such a
//! tag points at, nor an artifact with such a tag (licensing/immutable.rs).

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::error::{Error, Refusal, Result};
use crate::licensing::immutable::ImmutableTags;
use crate::licensing::license::{covering_licenses, grants, GrantRow, ProtectionRow};
use crate::licensing::license_store::{protection_query, Licenses, Target};
use crate::oci::digest::Digest;
use crate::oci::name::RepoName;
use crate::oci::reference::{is_digest_shaped, Reference, Tag};
use crate::storage::sql::{Sql, Statement};
use crate::storage::store::Store;
use crate::{license_in_force_sql, named_tag_sql, stmt};

/// What the tag rules look at for the deletion of `tag`.
#[derive(Clone, Debug)]
pub struct TagFacts<'a> {
    pub tag: &'a str,
    /// Every tag on the tag's digest, this one included.
    pub digest_tags: &'a [String],
    /// The artifact's named (not digest-shaped) tags, this one included if named.
    pub artifact_named_tags: u64,
    /// The items of every license covering the digest (of any license, expired or not).
    pub licenses: &'a [ProtectionRow],
}

/// The tag rules, in the order docs/licensing.md states them.
pub fn tag_deletion(facts: &TagFacts) -> std::result::Result<(), Refusal> {
    let before = covering_licenses(facts.licenses, None);
    let other_named = facts
        .digest_tags
        .iter()
        .any(|t| t != facts.tag && !is_digest_shaped(t));
    if !before.is_empty() && !other_named {
        return Err(Refusal::LastTagOfLicensedDigest);
    }
    let after: BTreeSet<&str> = covering_licenses(facts.licenses, Some(facts.tag));
    if !before.is_subset(&after) {
        return Err(Refusal::LastMatchingTag);
    }
    if !is_digest_shaped(facts.tag) && facts.artifact_named_tags < 2 {
        return Err(Refusal::LastTag);
    }
    Ok(())
}

/// The manifest rule: deleting the manifest whose tags are `digest_tags` may not
/// take the artifact's last named tag with it.
pub fn manifest_deletion(
    digest_tags: &[String],
    artifact_named_tags: u64,
) -> std::result::Result<(), Refusal> {
    let named_here = digest_tags.iter().filter(|t| !is_digest_shaped(t)).count() as u64;
    if named_here > 0 && artifact_named_tags <= named_here {
        return Err(Refusal::LastTag);
    }
    Ok(())
}

/// The tags of one digest and the count of the artifact's named tags, as the
/// rules read them.
#[derive(Deserialize, PartialEq)]
struct TagsRow {
    digest: String,
    /// The digest's tags joined by `,` in name order (tags cannot hold a comma):
    /// also the fingerprint a conditional delete compares.
    digest_tags: Option<String>,
    artifact_named_tags: u64,
}

impl TagsRow {
    fn tags(&self) -> Vec<String> {
        self.digest_tags
            .as_deref()
            .map(|s| s.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

/// How often a deletion reads its facts again when they changed under it.
const TAG_ATTEMPTS: usize = 3;

/// The tags of the digest `?2` and the artifact's named tags and license items,
/// as the rules read them and a conditional delete compares them.
macro_rules! tags_of_digest {
    ($digest:literal) => {
        concat!(
            "(SELECT group_concat(tag, ',') FROM (SELECT tag FROM tags
                WHERE repo = ?1 AND digest = ",
            $digest,
            " ORDER BY tag)) AS digest_tags,
             (SELECT COUNT(*) FROM tags WHERE repo = ?1 AND ",
            named_tag_sql!("tag"),
            ")
               AS artifact_named_tags,
             (SELECT COUNT(*) FROM license_items WHERE repo = ?1) AS license_items,
             (SELECT immutable_tags FROM repositories WHERE name = ?1) AS immutable_tags"
        )
    };
}

/// [`TagsRow`] plus the count of the artifact's license items and its
/// immutable-tag setting: a change to any of them between the read and the
/// delete sends the deletion round again.
#[derive(Deserialize, PartialEq)]
struct Fenced {
    #[serde(flatten)]
    tags: TagsRow,
    license_items: u64,
    immutable_tags: Option<String>,
}

impl Fenced {
    /// The first of `tags` the artifact's setting makes immutable, as the refusal.
    fn immutable<'t>(&self, mut tags: impl Iterator<Item = &'t str>) -> Result<()> {
        let setting = match &self.immutable_tags {
            Some(stored) => ImmutableTags::from_stored(stored)?,
            None => ImmutableTags::default(),
        };
        match tags.find(|t| setting.covers(t)) {
            Some(tag) => Err(Error::ImmutableTag(tag.to_owned())),
            None => Ok(()),
        }
    }
}

pub struct Deletions<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Deletions<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Deletions { sql }
    }

    /// Deletes a tag under the rules. The delete repeats what the rules read —
    /// the digest's tags, the artifact's named tags, its license items — as its
    /// condition, so a concurrent deletion of another tag (or a new license)
    /// cannot slip between the check and the write.
    pub async fn tag(&self, repo: &RepoName, tag: &Tag) -> Result<()> {
        for _ in 0..TAG_ATTEMPTS {
            let (read, licenses) = self.tag_facts(repo, tag).await?;
            read.immutable(std::iter::once(tag.as_str()))?;
            let digest_tags = read.tags.tags();
            tag_deletion(&TagFacts {
                tag: tag.as_str(),
                digest_tags: &digest_tags,
                artifact_named_tags: read.tags.artifact_named_tags,
                licenses: &licenses,
            })
            .map_err(Error::Refused)?;
            let changes = self
                .sql
                .batch(vec![stmt!(
                    concat!(
                        "DELETE FROM tags WHERE repo = ?1 AND tag = ?3 AND digest = ?2
                           AND (SELECT digest_tags || '/' || artifact_named_tags || '/' || license_items
                                  || '/' || immutable_tags
                                FROM (SELECT ", tags_of_digest!("?2"), ")) = ?4"
                    ),
                    repo.as_str(),
                    read.tags.digest.as_str(),
                    tag.as_str(),
                    format!(
                        "{}/{}/{}/{}",
                        read.tags.digest_tags.as_deref().unwrap_or_default(),
                        read.tags.artifact_named_tags,
                        read.license_items,
                        read.immutable_tags.as_deref().unwrap_or_default()
                    )
                )])
                .await?;
            if changes.first().is_some_and(|&n| n > 0) {
                return Ok(());
            }
        }
        Err(Error::Conflict(format!(
            "tag {tag} changed while it was being deleted; try again"
        )))
    }

    /// The digest the tag points at, what the rules look at, and the items of
    /// the licenses covering the digest.
    async fn tag_facts(&self, repo: &RepoName, tag: &Tag) -> Result<(Fenced, Vec<ProtectionRow>)> {
        let (rows, licenses): (Vec<Fenced>, Vec<ProtectionRow>) = self
            .sql
            .query_both(
                stmt!(
                    concat!(
                        "SELECT t.digest, ",
                        tags_of_digest!("t.digest"),
                        " FROM tags t WHERE t.repo = ?1 AND t.tag = ?2"
                    ),
                    repo.as_str(),
                    tag.as_str()
                ),
                protection_query(repo, Target::Manifest(&Reference::Tag(tag.clone()))),
            )
            .await?;
        let row = rows.into_iter().next().ok_or(Error::ManifestUnknown)?;
        Ok((row, licenses))
    }

    /// Why deleting the manifest `digest` is refused, if it is, and the stored
    /// immutable-tag setting and tags of the digest the answer was read with.
    async fn manifest_facts(&self, repo: &RepoName, digest: &Digest) -> Result<Option<Fenced>> {
        let reference = Reference::Digest(digest.clone());
        // The license items and the tags in one round trip.
        let (licenses, rows): (Vec<GrantRow>, Vec<Fenced>) = self
            .sql
            .query_both(
                protection_query(repo, Target::Manifest(&reference)),
                stmt!(
                    concat!("SELECT ?2 AS digest, ", tags_of_digest!("?2")),
                    repo.as_str(),
                    digest.as_str()
                ),
            )
            .await?;
        if grants(&licenses) {
            return Err(Error::Refused(Refusal::LicensedManifest));
        }
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let tags = row.tags.tags();
        row.immutable(tags.iter().map(String::as_str))?;
        manifest_deletion(&tags, row.tags.artifact_named_tags).map_err(Error::Refused)?;
        Ok(Some(row))
    }

    /// Deletes a manifest, its references and every tag on it, unless a license
    /// covers it, one of its tags is immutable, or its tags are the artifact's last
    /// named ones. Licenses naming the digest or all versions, and the last-tag
    /// rule, are checked again in the deleting batch itself, which also aborts
    /// when the digest's tags or the immutable-tag setting changed since the read;
    /// then the rules are read again (three rounds, then `409`).
    pub async fn manifest(&self, repo: &RepoName, digest: &Digest) -> Result<()> {
        let mut read = self.manifest_facts(repo, digest).await?;
        for _ in 0..TAG_ATTEMPTS {
            match self.sql.batch(manifest_batch(repo, digest, &read)).await {
                Ok(changes) if changes.get(1).is_some_and(|&n| n > 0) => return Ok(()),
                Ok(_) => return Err(Error::ManifestUnknown),
                // The guard aborted: a refusal now, or what it read changed —
                // read again — or the batch failed on its own.
                Err(e) => {
                    let again = self.manifest_facts(repo, digest).await?;
                    if again == read {
                        return Err(e);
                    }
                    read = again;
                }
            }
        }
        Err(Error::Conflict(format!(
            "manifest {digest} changed while it was being deleted; try again"
        )))
    }

    /// Unlinks a blob from a repository unless a license covers a manifest of the
    /// repository that references it; the bytes go with garbage collection.
    pub async fn blob(&self, repo: &RepoName, digest: &Digest) -> Result<()> {
        if Licenses::new(self.sql)
            .protects(repo, Target::Blob(digest))
            .await?
        {
            return Err(Error::Refused(Refusal::LicensedBlob));
        }
        match Store::new(self.sql).unlink_blob(repo, digest).await? {
            true => Ok(()),
            false => Err(Error::BlobUnknown),
        }
    }

    /// Deletes an artifact with all its manifests, tags, blob links and download
    /// history, unless a license in force at `now` names it — unexpired, or
    /// expired but still granting the versions it kept — or its immutable-tag
    /// setting covers one of its tags: deleting the artifact would delete that tag
    /// too. Other expired licenses keep their record, without their items for it.
    /// Blob bytes go with garbage collection. The deleting batch repeats both
    /// checks as its guard: a license in force, the setting changed, or a tag not
    /// among those read (a push since) aborts it, and the rules are read again.
    pub async fn artifact(&self, repo: &RepoName, now: i64) -> Result<()> {
        let licenses = Licenses::new(self.sql);
        for _ in 0..TAG_ATTEMPTS {
            if licenses.references_artifact(repo, now).await? {
                return Err(Error::Refused(Refusal::LicensedArtifact));
            }
            let read = self.artifact_tags(repo).await?;
            read.immutable()?;
            match self.sql.batch(artifact_batch(repo, now, &read)).await {
                Ok(changes) if changes.last().is_some_and(|&n| n > 0) => return Ok(()),
                Ok(_) => return Err(Error::NotFound("artifact")),
                // An abort by the guard is a change since the read: read again.
                Err(_) if self.artifact_tags(repo).await? != read => {}
                Err(_) if licenses.references_artifact(repo, now).await? => {
                    return Err(Error::Refused(Refusal::LicensedArtifact))
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!(
            "artifact {repo} changed while it was being deleted; try again"
        )))
    }

    /// The artifact's immutable-tag setting and its tags, as one read.
    async fn artifact_tags(&self, repo: &RepoName) -> Result<ArtifactTags> {
        self.sql
            .one(stmt!(
                "SELECT immutable_tags,
                        (SELECT json_group_array(tag) FROM tags WHERE repo = ?1) AS tags
                   FROM repositories WHERE name = ?1",
                repo.as_str()
            ))
            .await?
            .ok_or(Error::NotFound("artifact"))
    }
}

/// What an artifact's deletion is judged by: its stored immutable-tag setting and
/// the JSON array of its tags.
#[derive(Deserialize, PartialEq)]
struct ArtifactTags {
    immutable_tags: String,
    tags: String,
}

impl ArtifactTags {
    /// The first tag the setting covers, as the refusal.
    fn immutable(&self) -> Result<()> {
        let setting = ImmutableTags::from_stored(&self.immutable_tags)?;
        let tags: Vec<String> =
            serde_json::from_str(&self.tags).map_err(|e| Error::Internal(e.to_string()))?;
        match tags.into_iter().find(|t| setting.covers(t)) {
            Some(tag) => Err(Error::ImmutableTag(tag)),
            None => Ok(()),
        }
    }
}

/// The batch deleting the manifest `digest` judged by `read` (`None`: it has no
/// tag), its guard first: the licenses and the last-tag rule checked again, the
/// setting and the digest's tags as they were read.
fn manifest_batch(repo: &RepoName, digest: &Digest, read: &Option<Fenced>) -> Vec<Statement> {
    let (tags, setting) = match read {
        Some(row) => (row.tags.digest_tags.clone(), row.immutable_tags.clone()),
        None => (None, None),
    };
    vec![
        stmt!(
            concat!(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM license_items WHERE repo = ?1
                   AND (kind = 'all' OR (kind = 'digest' AND value = ?2)))
                 OR (EXISTS (SELECT 1 FROM tags WHERE repo = ?1 AND digest = ?2 AND ",
                named_tag_sql!("tag"),
                ") AND NOT EXISTS (SELECT 1 FROM tags WHERE repo = ?1 AND digest <> ?2 AND ",
                named_tag_sql!("tag"),
                "))
                 OR (SELECT immutable_tags FROM repositories WHERE name = ?1) IS NOT ?3
                 OR (SELECT group_concat(tag, ',') FROM (SELECT tag FROM tags
                     WHERE repo = ?1 AND digest = ?2 ORDER BY tag)) IS NOT ?4
                 THEN json('refused') END AS guard"
            ),
            repo.as_str(),
            digest.as_str(),
            setting,
            tags
        ),
        stmt!(
            "DELETE FROM manifests WHERE repo = ?1 AND digest = ?2",
            repo.as_str(),
            digest.as_str()
        ),
        stmt!(
            "DELETE FROM manifest_refs WHERE repo = ?1 AND manifest = ?2",
            repo.as_str(),
            digest.as_str()
        ),
        stmt!(
            "DELETE FROM tags WHERE repo = ?1 AND digest = ?2",
            repo.as_str(),
            digest.as_str()
        ),
    ]
}

/// The batch deleting an artifact judged by `read`, its guard first.
fn artifact_batch(repo: &RepoName, now: i64, read: &ArtifactTags) -> Vec<Statement> {
    let name = repo.as_str();
    vec![
        stmt!(
            concat!(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM license_items i
                   JOIN licenses l ON l.id = i.license_id WHERE i.repo = ?1 AND ",
                license_in_force_sql!("?2"),
                ") THEN json('licensed') END AS guard"
            ),
            name,
            now
        ),
        stmt!(
            "SELECT CASE WHEN (SELECT immutable_tags FROM repositories WHERE name = ?1) IS NOT ?2
                 OR EXISTS (SELECT 1 FROM tags WHERE repo = ?1
                              AND tag NOT IN (SELECT value FROM json_each(?3)))
               THEN json('changed') END AS guard",
            name,
            read.immutable_tags.as_str(),
            read.tags.as_str()
        ),
        stmt!("DELETE FROM license_items WHERE repo = ?1", name),
        stmt!("DELETE FROM tags WHERE repo = ?1", name),
        stmt!("DELETE FROM manifest_refs WHERE repo = ?1", name),
        stmt!("DELETE FROM manifests WHERE repo = ?1", name),
        stmt!("DELETE FROM repo_blobs WHERE repo = ?1", name),
        // The artifact's download history (docs/analytics.md) goes with it.
        stmt!("DELETE FROM downloads WHERE repo = ?1", name),
        stmt!("DELETE FROM pulls_daily WHERE repo = ?1", name),
        // Its upstream setting too: a new artifact of the same name starts bare.
        stmt!("DELETE FROM upstreams WHERE repo = ?1", name),
        stmt!("DELETE FROM repositories WHERE name = ?1", name),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(license: &str, kind: &str, value: &str, tag: Option<&str>) -> ProtectionRow {
        ProtectionRow {
            license_id: license.into(),
            item: crate::licensing::license::GrantRow {
                kind: kind.into(),
                value: value.into(),
                tag: tag.map(Into::into),
                ..Default::default()
            },
        }
    }

    fn check(
        tag: &str,
        digest_tags: &[&str],
        artifact_named_tags: u64,
        licenses: &[ProtectionRow],
    ) -> std::result::Result<(), Refusal> {
        let digest_tags: Vec<String> = digest_tags.iter().map(|t| t.to_string()).collect();
        tag_deletion(&TagFacts {
            tag,
            digest_tags: &digest_tags,
            artifact_named_tags,
            licenses,
        })
    }

    #[test]
    fn tag_rules_in_order() {
        let digest = [row("l1", "digest", "sha256:x", None)];
        // docs/licensing.md, worked example 1: v1.0.1 unlicensed, three tags on three digests.
        assert_eq!(check("v1.0.1", &["v1.0.1"], 3, &[]), Ok(()));
        // Example 2: the only tag of a licensed digest.
        assert_eq!(
            check("v1.0.0", &["v1.0.0"], 3, &digest),
            Err(Refusal::LastTagOfLicensedDigest)
        );
        // Example 3: the artifact's only tag, no licenses.
        assert_eq!(check("v1.0.0", &["v1.0.0"], 1, &[]), Err(Refusal::LastTag));
        // A licensed digest with a second tag.
        assert_eq!(check("v1", &["stable", "v1"], 2, &digest), Ok(()));
        // The licensing rule comes first.
        assert_eq!(
            check("v1", &["v1"], 1, &digest),
            Err(Refusal::LastTagOfLicensedDigest)
        );
        assert_eq!(check("a", &["a", "b"], 2, &[]), Ok(()));
    }

    #[test]
    fn digest_shaped_tags_never_count_as_another_tag() {
        let sig = format!("sha256-{}.sig", "ab".repeat(32));
        let all = [row("l1", "all", "", None)];
        assert_eq!(
            check("v1", &[&sig, "v1"], 1, &all),
            Err(Refusal::LastTagOfLicensedDigest)
        );
        assert_eq!(check("v1", &[&sig, "v1"], 1, &[]), Err(Refusal::LastTag));
        assert_eq!(
            check(&sig, &[&sig, "v1"], 1, &all),
            Ok(()),
            "a digest-shaped tag is not the artifact's last tag"
        );
    }

    #[test]
    fn a_pattern_license_needs_another_matching_tag() {
        let pattern = |tag| row("l1", "pattern", "v1.*", Some(tag));
        let licenses = [pattern("v1.2"), pattern("edge")];
        assert_eq!(
            check("v1.2", &["edge", "v1.2"], 3, &licenses),
            Err(Refusal::LastMatchingTag),
            "edge keeps the digest tagged but not licensed"
        );
        assert_eq!(check("edge", &["edge", "v1.2"], 3, &licenses), Ok(()));
        let two = [pattern("v1.2"), pattern("v1.2.0"), pattern("edge")];
        assert_eq!(check("v1.2", &["edge", "v1.2", "v1.2.0"], 3, &two), Ok(()));
        let also_digest = [pattern("v1.2"), row("l1", "digest", "sha256:x", None)];
        assert_eq!(
            check("v1.2", &["edge", "v1.2"], 3, &also_digest),
            Ok(()),
            "the same license covers the digest by digest too"
        );
        let other_license = [pattern("v1.2"), row("l2", "all", "", None)];
        assert_eq!(
            check("v1.2", &["edge", "v1.2"], 3, &other_license),
            Err(Refusal::LastMatchingTag),
            "another customer's license does not keep l1's access"
        );
    }

    #[test]
    fn a_manifest_may_not_take_the_last_named_tag() {
        let tags = |t: &[&str]| t.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert_eq!(manifest_deletion(&tags(&["v1"]), 1), Err(Refusal::LastTag));
        assert_eq!(
            manifest_deletion(&tags(&["a", "b"]), 2),
            Err(Refusal::LastTag)
        );
        assert_eq!(manifest_deletion(&tags(&["a"]), 2), Ok(()));
        assert_eq!(
            manifest_deletion(&tags(&[]), 0),
            Ok(()),
            "an untagged manifest"
        );
        let sig = format!("sha256-{}.sig", "ab".repeat(32));
        assert_eq!(manifest_deletion(&tags(&[&sig]), 1), Ok(()));
    }
}

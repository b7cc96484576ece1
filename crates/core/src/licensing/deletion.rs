//! The deletion rules: what may be deleted so that no deletion breaks a
//! customer's licensed access, applied the same way whether the request comes
//! through the management API, the dashboard or OCI `DELETE`.
//!
//! A tag deletion succeeds only when the tag exists (else not found); when its
//! digest is licensed, another tag of the artifact points at that digest (else
//! [`Refusal::LastTagOfLicensedDigest`]); and it is not the artifact's last tag
//! (else [`Refusal::LastTag`]). A manifest a license covers, a blob such a
//! manifest references, and an artifact a license names, are not deleted. "Licensed" counts every license, expired or
//! not: a lapsed license that is renewed must still find its versions.

use serde::Deserialize;

use crate::error::{Error, Refusal, Result};
use crate::licensing::license::{grants, GrantRow};
use crate::licensing::license_store::{protection_query, Licenses, Target};
use crate::oci::digest::Digest;
use crate::oci::name::RepoName;
use crate::oci::reference::{Reference, Tag};
use crate::stmt;
use crate::storage::sql::Sql;
use crate::storage::store::Store;

/// What the tag rules look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagFacts {
    /// A license covers the tag's digest.
    pub licensed: bool,
    /// Tags on the tag's digest, this one included.
    pub digest_tags: u64,
    /// Tags of the artifact, this one included.
    pub artifact_tags: u64,
}

/// The tag rules, in the order docs/licensing.md states them.
pub fn tag_deletion(facts: TagFacts) -> std::result::Result<(), Refusal> {
    if facts.licensed && facts.digest_tags < 2 {
        return Err(Refusal::LastTagOfLicensedDigest);
    }
    if facts.artifact_tags < 2 {
        return Err(Refusal::LastTag);
    }
    Ok(())
}

#[derive(Deserialize)]
struct TagRow {
    digest: String,
    digest_tags: u64,
    artifact_tags: u64,
}

/// How often a tag deletion re-reads its facts when the tags changed under it.
const TAG_ATTEMPTS: usize = 3;

pub struct Deletions<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Deletions<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Deletions { sql }
    }

    /// Deletes a tag under the rules. The delete repeats the rules' counts as its
    /// condition, so a concurrent deletion of the other tag cannot slip between
    /// the check and the write.
    pub async fn tag(&self, repo: &RepoName, tag: &Tag) -> Result<()> {
        for _ in 0..TAG_ATTEMPTS {
            let (digest, facts) = self.tag_facts(repo, tag).await?;
            tag_deletion(facts).map_err(Error::Refused)?;
            let changes = self
                .sql
                .batch(vec![stmt!(
                    "DELETE FROM tags WHERE repo = ?1 AND tag = ?2 AND digest = ?3
                       AND (SELECT COUNT(*) FROM tags WHERE repo = ?1) > 1
                       AND (?4 = 0 OR (SELECT COUNT(*) FROM tags WHERE repo = ?1 AND digest = ?3) > 1)",
                    repo.as_str(),
                    tag.as_str(),
                    digest.as_str(),
                    i64::from(facts.licensed)
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

    /// The digest the tag points at, and what the rules look at.
    async fn tag_facts(&self, repo: &RepoName, tag: &Tag) -> Result<(String, TagFacts)> {
        let (rows, licenses): (Vec<TagRow>, Vec<GrantRow>) = self
            .sql
            .query_both(
                stmt!(
                    "SELECT t.digest,
                       (SELECT COUNT(*) FROM tags WHERE repo = ?1 AND digest = t.digest) AS digest_tags,
                       (SELECT COUNT(*) FROM tags WHERE repo = ?1) AS artifact_tags
                     FROM tags t WHERE t.repo = ?1 AND t.tag = ?2",
                    repo.as_str(),
                    tag.as_str()
                ),
                protection_query(repo, Target::Manifest(&Reference::Tag(tag.clone()))),
            )
            .await?;
        let row = rows.into_iter().next().ok_or(Error::ManifestUnknown)?;
        let facts = TagFacts {
            licensed: grants(&licenses),
            digest_tags: row.digest_tags,
            artifact_tags: row.artifact_tags,
        };
        Ok((row.digest, facts))
    }

    /// Deletes a manifest, its references and every tag on it, unless a license
    /// covers it. Licenses naming the digest or all versions are checked again in
    /// the deleting batch itself.
    pub async fn manifest(&self, repo: &RepoName, digest: &Digest) -> Result<()> {
        let reference = Reference::Digest(digest.clone());
        let target = Target::Manifest(&reference);
        let licenses = Licenses::new(self.sql);
        if licenses.protects(repo, target).await? {
            return Err(Error::Refused(Refusal::LicensedManifest));
        }
        let batch = vec![
            stmt!(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM license_items WHERE repo = ?1
                   AND (kind = 'all' OR (kind = 'digest' AND value = ?2)))
                 THEN json('licensed') END AS guard",
                repo.as_str(),
                digest.as_str()
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
        ];
        match self.sql.batch(batch).await {
            Ok(changes) if changes.get(1).is_some_and(|&n| n > 0) => Ok(()),
            Ok(_) => Err(Error::ManifestUnknown),
            Err(_) if licenses.protects(repo, target).await? => {
                Err(Error::Refused(Refusal::LicensedManifest))
            }
            Err(e) => Err(e),
        }
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
    /// history, unless a license names it. Blob bytes go with garbage collection.
    pub async fn artifact(&self, repo: &RepoName) -> Result<()> {
        let licenses = Licenses::new(self.sql);
        if licenses.references_artifact(repo).await? {
            return Err(Error::Refused(Refusal::LicensedArtifact));
        }
        let name = repo.as_str();
        let batch = vec![
            stmt!(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM license_items WHERE repo = ?1)
                 THEN json('licensed') END AS guard",
                name
            ),
            stmt!("DELETE FROM tags WHERE repo = ?1", name),
            stmt!("DELETE FROM manifest_refs WHERE repo = ?1", name),
            stmt!("DELETE FROM manifests WHERE repo = ?1", name),
            stmt!("DELETE FROM repo_blobs WHERE repo = ?1", name),
            // The artifact's download history (docs/analytics.md) goes with it.
            stmt!("DELETE FROM downloads WHERE repo = ?1", name),
            stmt!("DELETE FROM pulls_daily WHERE repo = ?1", name),
            stmt!("DELETE FROM repositories WHERE name = ?1", name),
        ];
        match self.sql.batch(batch).await {
            Ok(changes) if changes.last().is_some_and(|&n| n > 0) => Ok(()),
            Ok(_) => Err(Error::NotFound("artifact")),
            Err(_) if licenses.references_artifact(repo).await? => {
                Err(Error::Refused(Refusal::LicensedArtifact))
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_rules_in_order() {
        let facts = |licensed, digest_tags, artifact_tags| TagFacts {
            licensed,
            digest_tags,
            artifact_tags,
        };
        let table = [
            // docs/licensing.md, worked example 1: v1.0.1 unlicensed, three tags on three digests.
            (facts(false, 1, 3), Ok(())),
            // Example 2: the only tag of a licensed digest.
            (facts(true, 1, 3), Err(Refusal::LastTagOfLicensedDigest)),
            // Example 3: the artifact's only tag, no licenses.
            (facts(false, 1, 1), Err(Refusal::LastTag)),
            // A licensed digest with a second tag.
            (facts(true, 2, 2), Ok(())),
            // The licensing rule comes first.
            (facts(true, 1, 1), Err(Refusal::LastTagOfLicensedDigest)),
            (facts(false, 2, 2), Ok(())),
        ];
        for (facts, expected) in table {
            assert_eq!(tag_deletion(facts), expected, "{facts:?}");
        }
    }
}

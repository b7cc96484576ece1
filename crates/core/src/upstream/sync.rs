//! The scheduled sync of upstream tags (docs/pull-through.md, "Tags stay
//! fresh"): which fetched tags a run re-resolves, bounded per run and per
//! artifact, when an artifact's turn ends, and the run's one-line summary. The
//! re-resolving itself is the pull's ([`Resolved`]), so a tag is kept fresh by
//! one rule whether a customer's pull or the schedule finds it due.

use std::fmt;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::oci::digest::Digest;
use crate::oci::name::RepoName;
use crate::oci::reference::Tag;
use crate::stmt;
use crate::storage::sql::Sql;
use crate::upstream::fetch::Resolved;

/// How many tags a run re-resolves at most, and of one artifact. A Workers
/// Free invocation may make 50 subrequests and as many D1 calls. A tag costs
/// up to 4 upstream requests (a `HEAD`; on a challenge the token exchange and
/// the `HEAD` again; a `GET` when it moved) and up to 4 D1 calls (a move the
/// immutable-tag rule refuses: the write, the tag's state, the failure, the
/// next due time); a run adds one call for the selection and one per artifact
/// for its setting. 8 tags: at most 32 requests and 41 calls. 4 per artifact
/// keep one artifact with many due tags from taking a whole run.
pub const BOUND: Bound = Bound {
    per_run: 8,
    per_artifact: 4,
};

#[derive(Clone, Copy, Debug)]
pub struct Bound {
    pub per_run: u32,
    pub per_artifact: u32,
}

/// An artifact with an upstream and the tags of it a run re-resolves, each
/// with the digest it names here, oldest due first.
#[derive(Debug, PartialEq)]
pub struct DueArtifact {
    pub repo: RepoName,
    pub tags: Vec<(Tag, Digest)>,
    /// Its upstream's refresh interval: how far a tag is put off when its turn
    /// fails.
    pub refresh_seconds: u32,
}

#[derive(Deserialize)]
struct DueRow {
    repo: String,
    tag: String,
    digest: String,
    refresh_seconds: u32,
}

/// The fetched tags due at `now` (by [`crate::upstream::fetch::due`]'s rule:
/// `refresh_at` passed; a pushed tag has none) of artifacts that have an
/// upstream, at most `bound` of them, the oldest due first, grouped per
/// artifact in the order of its oldest.
pub async fn due_tags(sql: &impl Sql, now: i64, bound: Bound) -> Result<Vec<DueArtifact>> {
    let rows: Vec<DueRow> = sql
        .query(stmt!(
            "SELECT repo, tag, digest, refresh_seconds FROM (
               SELECT t.repo, t.tag, t.digest, t.refresh_at, u.refresh_seconds,
                 ROW_NUMBER() OVER (PARTITION BY t.repo ORDER BY t.refresh_at, t.tag) AS nth
               FROM tags t JOIN upstreams u ON u.repo = t.repo
               WHERE t.refresh_at <= ?1)
             WHERE nth <= ?2
             ORDER BY refresh_at, repo, tag
             LIMIT ?3",
            now,
            i64::from(bound.per_artifact),
            i64::from(bound.per_run)
        ))
        .await?;
    let mut due: Vec<DueArtifact> = Vec::new();
    for row in rows {
        let repo: RepoName = row.repo.parse()?;
        let tag = (row.tag.parse()?, row.digest.parse()?);
        match due.iter_mut().find(|a| a.repo == repo) {
            Some(artifact) => artifact.tags.push(tag),
            None => due.push(DueArtifact {
                repo,
                tags: vec![tag],
                refresh_seconds: row.refresh_seconds,
            }),
        }
    }
    Ok(due)
}

/// Whether a tag re-resolved as `resolved` ends its artifact's turn in a run:
/// when the upstream failed, the artifact's other tags would most likely fail
/// too, each costing a timeout. A tag the immutable-tag rule kept is no failure
/// of the upstream.
pub fn ends_turn(resolved: &Resolved) -> bool {
    matches!(resolved, Resolved::Kept(Error::Upstream(_)))
}

/// What a run did, logged as one line.
#[derive(Debug, Default, PartialEq)]
pub struct Summary {
    pub artifacts: u32,
    pub unchanged: u32,
    pub moved: u32,
    /// Tags the immutable-tag rule kept from moving.
    pub refused: u32,
    /// Artifacts whose upstream failed, and their tags left for the next run.
    pub failed: u32,
    pub skipped: u32,
    /// Artifacts whose turn stopped on an error of Tollgate's own (D1, the
    /// upstream key), logged each.
    pub errors: u32,
}

impl Summary {
    /// Counts one tag's outcome.
    pub fn count(&mut self, resolved: &Resolved) {
        match resolved {
            Resolved::Unchanged => self.unchanged += 1,
            Resolved::Moved(_) => self.moved += 1,
            Resolved::Kept(Error::Upstream(_)) => self.failed += 1,
            Resolved::Kept(_) => self.refused += 1,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} artifacts: {} tags unchanged, {} moved, {} kept as immutable; \
             {} upstreams failed ({} tags left for the next run); {} errors",
            self.artifacts,
            self.unchanged,
            self.moved,
            self.refused,
            self.failed,
            self.skipped,
            self.errors
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_upstream_failure_ends_an_artifacts_turn() {
        let failed = Resolved::Kept(Error::Upstream("it answered 503".into()));
        let refused = Resolved::Kept(Error::ImmutableTag("v1".into()));
        assert!(ends_turn(&failed));
        assert!(!ends_turn(&refused));
        assert!(!ends_turn(&Resolved::Unchanged));
        let mut summary = Summary::default();
        for resolved in [&failed, &refused, &Resolved::Unchanged] {
            summary.count(resolved);
        }
        assert_eq!(
            (summary.failed, summary.refused, summary.unchanged),
            (1, 1, 1)
        );
    }
}

//! Immutable tags (docs/immutable-tags.md): per artifact, the tag patterns whose
//! tags, once pushed, never move to another digest and are never deleted — not by
//! a push, an OCI `DELETE` of the tag or of the manifest it points at, nor the
//! management API. A pattern is a license pattern (`pattern.rs`) or the reserved
//! `semver`, for semver-looking tags. This module owns the setting, its default
//! for new artifacts and the push rule; the deletion rules (`deletion.rs`) ask
//! [`ImmutableTags::covers`].
//!
//! A push carries a guard in its own write batch, so two pushes of one tag cannot
//! both pass a check made before either writes. SQL cannot match patterns, so the
//! first guard is coarse: it aborts the batch when the tag points at another
//! digest and the artifact has any pattern (but the default, for a tag the edge
//! sees is not semver-looking). The push then reads the patterns: a
//! covered tag is refused; an uncovered one is written again, fenced on the
//! patterns it was judged by.

use std::future::Future;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::licensing::pattern::{is_semver_tag, TagPattern};
use crate::oci::digest::Digest;
use crate::oci::name::RepoName;
use crate::oci::reference::Tag;
use crate::stmt;
use crate::storage::sql::{Sql, Statement};

/// The reserved entry: every semver-looking tag ([`is_semver_tag`]).
pub const SEMVER: &str = "semver";

/// The setting a repository starts with when it is created (by its first push,
/// blob upload or mount), as stored: the schema's column default
/// (migrations/0011_immutable_tags.sql), which a test holds to this.
pub const NEW_ARTIFACT_DEFAULT: &str = r#"["semver"]"#;

/// The most entries a setting may hold.
const MAX_ENTRIES: usize = 32;

/// How often a push is written again when the tag or the setting changed under it.
const ATTEMPTS: usize = 3;

/// One entry of the setting.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    Semver,
    Pattern(TagPattern),
}

/// An artifact's immutable-tag patterns; empty turns the rule off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImmutableTags(Vec<Entry>);

impl ImmutableTags {
    /// The setting as an admin writes it: each entry `semver` or a license pattern.
    pub fn parse(entries: &[String]) -> Result<Self> {
        if entries.len() > MAX_ENTRIES {
            return Err(Error::Invalid(format!(
                "at most {MAX_ENTRIES} immutable tag patterns"
            )));
        }
        let entries = entries
            .iter()
            .map(|e| match e.trim() {
                SEMVER => Ok(Entry::Semver),
                other => other.parse().map(Entry::Pattern),
            })
            .collect::<Result<_>>()?;
        Ok(ImmutableTags(entries))
    }

    /// The setting as the store keeps it (a JSON array of strings).
    pub fn from_stored(json: &str) -> Result<Self> {
        let entries: Vec<String> = serde_json::from_str(json)
            .map_err(|e| Error::Internal(format!("stored immutable tags {json:?}: {e}")))?;
        Self::parse(&entries)
    }

    /// The entries as written, `semver` for the reserved one.
    pub fn entries(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|e| match e {
                Entry::Semver => SEMVER.to_owned(),
                Entry::Pattern(p) => p.to_string(),
            })
            .collect()
    }

    pub fn to_stored(&self) -> String {
        serde_json::to_string(&self.entries()).expect("strings")
    }

    /// Whether `tag` is immutable under this setting.
    pub fn covers(&self, tag: &str) -> bool {
        self.0.iter().any(|e| match e {
            Entry::Semver => is_semver_tag(tag),
            Entry::Pattern(p) => p.matches(tag),
        })
    }
}

impl Serialize for ImmutableTags {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.entries().serialize(s)
    }
}

/// The guard a tagged push starts with: aborts its batch when `tag` points at
/// another digest and the artifact has any immutable-tag pattern — unless the
/// setting is the default and `tag` is not semver-looking, which the edge can
/// tell without the patterns: moving `latest` in a new artifact takes one write.
pub fn push_guard(repo: &RepoName, tag: &Tag, digest: &Digest) -> Statement {
    let free = if is_semver_tag(tag.as_str()) {
        "[]"
    } else {
        NEW_ARTIFACT_DEFAULT
    };
    stmt!(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM tags WHERE repo = ?1 AND tag = ?2 AND digest <> ?3)
           AND (SELECT immutable_tags FROM repositories WHERE name = ?1) NOT IN ('[]', ?4)
         THEN json('immutable tag') END AS guard",
        repo.as_str(),
        tag.as_str(),
        digest.as_str(),
        free
    )
}

/// The guard of a push judged under the stored setting `stored`: aborts its batch
/// when the setting changed since.
fn fence(repo: &RepoName, stored: &str) -> Statement {
    stmt!(
        "SELECT CASE WHEN (SELECT immutable_tags FROM repositories WHERE name = ?1) IS NOT ?2
         THEN json('immutable tags changed') END AS guard",
        repo.as_str(),
        stored
    )
}

#[derive(Deserialize)]
struct TagState {
    immutable_tags: String,
    digest: Option<String>,
}

pub struct Immutability<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Immutability<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Immutability { sql }
    }

    /// The artifact's setting; `None` when there is no such artifact.
    pub async fn setting(&self, repo: &RepoName) -> Result<Option<ImmutableTags>> {
        let row: Option<TagState> = self
            .sql
            .one(stmt!(
                "SELECT immutable_tags, NULL AS digest FROM repositories WHERE name = ?1",
                repo.as_str()
            ))
            .await?;
        row.map(|r| ImmutableTags::from_stored(&r.immutable_tags))
            .transpose()
    }

    /// Replaces the artifact's setting; false when there is no such artifact.
    pub async fn set(&self, repo: &RepoName, setting: &ImmutableTags) -> Result<bool> {
        let changes = self
            .sql
            .batch(vec![stmt!(
                "UPDATE repositories SET immutable_tags = ?2 WHERE name = ?1",
                repo.as_str(),
                setting.to_stored()
            )])
            .await?;
        Ok(changes.first().is_some_and(|&n| n > 0))
    }

    /// Pushes `digest` to `tag` under the rule: `write` stores the push with the
    /// guard it is given at the head of its batch. A push that would move a
    /// covered tag is refused with [`Error::ImmutableTag`] and stores nothing; the
    /// same digest again is no move. An abort that is not the rule's (a
    /// credential guard) is `write`'s own error.
    pub async fn push<T, F, Fut>(
        &self,
        repo: &RepoName,
        tag: &Tag,
        digest: &Digest,
        mut write: F,
    ) -> Result<T>
    where
        F: FnMut(Statement) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut guard = push_guard(repo, tag, digest);
        // The setting the last fence held the push to.
        let mut fenced: Option<String> = None;
        for _ in 0..ATTEMPTS {
            let e = match write(guard).await {
                Err(e @ Error::Internal(_)) => e,
                other => return other,
            };
            let state = self.tag_state(repo, tag).await?;
            // Not moved (no such tag, or ours already), or fenced on a setting that
            // still holds: the abort was not the rule's.
            let moved = state.filter(|s| {
                s.digest.as_deref().is_some_and(|d| d != digest.as_str())
                    && fenced.as_deref() != Some(s.immutable_tags.as_str())
            });
            let Some(state) = moved else {
                return Err(e);
            };
            if ImmutableTags::from_stored(&state.immutable_tags)?.covers(tag.as_str()) {
                return Err(Error::ImmutableTag(tag.to_string()));
            }
            guard = fence(repo, &state.immutable_tags);
            fenced = Some(state.immutable_tags);
        }
        Err(Error::Conflict(format!(
            "tag {tag} changed while it was being pushed; try again"
        )))
    }

    /// The artifact's stored setting and the digest `tag` points at.
    async fn tag_state(&self, repo: &RepoName, tag: &Tag) -> Result<Option<TagState>> {
        self.sql
            .one(stmt!(
                "SELECT r.immutable_tags, t.digest FROM repositories r
                 LEFT JOIN tags t ON t.repo = r.name AND t.tag = ?2 WHERE r.name = ?1",
                repo.as_str(),
                tag.as_str()
            ))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(entries: &[&str]) -> ImmutableTags {
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        ImmutableTags::parse(&entries).unwrap()
    }

    #[test]
    fn semver_and_patterns_cover_their_tags() {
        let s = setting(&["semver", "stable-*", ">=2, <3"]);
        for tag in ["v1.2.3", "1.0.0-rc.1", "stable-2024", "2.5"] {
            assert!(s.covers(tag), "{tag:?}");
        }
        for tag in ["latest", "v1.2", "stable", "3.0"] {
            assert!(!s.covers(tag), "{tag:?}");
        }
        assert!(!ImmutableTags::default().covers("v1.2.3"), "empty: off");
    }

    #[test]
    fn the_setting_round_trips_and_refuses_bad_patterns() {
        let s = setting(&[" semver ", "v1.*"]);
        assert_eq!(s.to_stored(), r#"["semver","v1.*"]"#);
        assert_eq!(ImmutableTags::from_stored(&s.to_stored()).unwrap(), s);
        assert_eq!(
            ImmutableTags::from_stored(NEW_ARTIFACT_DEFAULT).unwrap(),
            setting(&["semver"])
        );
        for bad in [
            vec!["a/b".to_string()],
            vec![String::new()],
            vec!["x".into(); 33],
        ] {
            assert!(
                matches!(ImmutableTags::parse(&bad), Err(Error::Invalid(_))),
                "{bad:?}"
            );
        }
    }
}

//! Which of the versions a customer may read is the newest: what the dashboard
//! compares a customer's last pull with (up to date or behind). An artifact
//! released with semver-looking tags ([`is_semver_tag`](crate::licensing::pattern::is_semver_tag))
//! has its newest version by semver precedence, releases before pre-releases, so
//! a patch to an old line pushed after a new major (`1.9.9` after `2.0.0`) does
//! not make `2.0.0` look old, and a `3.0.0-rc.1` does not put everyone on 2.x
//! behind. Without such tags, the newest is the most recently set tag (the larger
//! tag on a tie).

use std::cmp::Ordering;

use crate::licensing::pattern::tag_version;
use crate::storage::store::TagRow;

/// The newest of `tags`, the readable tags of one artifact (signature and other
/// referrer tags left out by the caller). A tag that is no version ranks below
/// every one that is, so it is newest only among tags none of which is.
pub fn newest(tags: Vec<TagRow>) -> Option<TagRow> {
    tags.into_iter()
        .map(|t| (tag_version(&t.tag).map(|v| (v.is_release(), v)), t))
        .max_by(newer)
        .map(|(_, t)| t)
}

/// Semver precedence first (releases above pre-releases), then when the tag was
/// set, then the tag: `1.2.3` and `v1.2.3` name one version, and the one set
/// last wins.
fn newer<K: Ord>((ka, a): &(K, TagRow), (kb, b): &(K, TagRow)) -> Ordering {
    ka.cmp(kb)
        .then(a.updated_at.cmp(&b.updated_at))
        .then_with(|| a.tag.cmp(&b.tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[(&str, i64)]) -> Vec<TagRow> {
        list.iter()
            .map(|(tag, at)| TagRow {
                tag: (*tag).into(),
                digest: format!("sha256:{tag}"),
                updated_at: *at,
            })
            .collect()
    }

    fn newest_tag(list: &[(&str, i64)]) -> Option<String> {
        newest(tags(list)).map(|t| t.tag)
    }

    #[test]
    fn semver_tags_rank_by_precedence_not_by_when_they_were_set() {
        let list = [("2.0.0", 1), ("1.9.9", 2), ("latest", 3), ("v1.10.0", 4)];
        assert_eq!(newest_tag(&list).as_deref(), Some("2.0.0"));
        let list = [("v1.2.10", 1), ("v1.2.9", 2)];
        assert_eq!(newest_tag(&list).as_deref(), Some("v1.2.10"));
    }

    #[test]
    fn releases_rank_above_pre_releases_which_count_only_alone() {
        let list = [("2.0.0", 1), ("3.0.0-rc.1", 2), ("2.1.0-beta", 3)];
        assert_eq!(newest_tag(&list).as_deref(), Some("2.0.0"));
        let list = [("3.0.0-rc.1", 1), ("3.0.0-rc.2", 2), ("nightly", 3)];
        assert_eq!(newest_tag(&list).as_deref(), Some("3.0.0-rc.2"));
    }

    #[test]
    fn one_version_under_two_tags_goes_to_the_tag_set_last() {
        let list = [("v1.2.3", 2), ("1.2.3_build.7", 5), ("1.2.3", 3)];
        assert_eq!(newest_tag(&list).as_deref(), Some("1.2.3_build.7"));
    }

    #[test]
    fn without_semver_tags_the_tag_set_last_is_newest() {
        let list = [("v1", 1), ("v2.0", 3), ("latest", 3), ("stable", 2)];
        assert_eq!(newest_tag(&list).as_deref(), Some("v2.0"));
        assert_eq!(newest_tag(&[]), None);
    }
}

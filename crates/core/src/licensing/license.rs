//! Licenses as vendors write them: a name, one customer, an optional expiry with
//! its [`ExpiryPolicy`] and items, each covering one artifact at all versions, at a
//! set of manifest digests, or at every tag a [`TagPattern`] matches (tags pushed
//! later too). Also the rule that turns the license items touching a manifest into
//! a yes or no and an end ([`granted_until`]), and with the licenses' usage caps
//! into an [`Access`]: granted through one license, over a cap, or refused.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::auth::account::text_field;
use crate::error::{Error, Result};
use crate::licensing::caps::{over_cap, Caps, OverCap, Usage, Used};
use crate::licensing::pattern::TagPattern;
use crate::oci::digest::Digest;
use crate::oci::name::RepoName;

/// The most items one license holds, and digests one item lists.
pub const MAX_ITEMS: usize = 100;
pub const MAX_DIGESTS: usize = 1000;

/// Which versions of an artifact an item covers.
#[derive(Clone, Debug, PartialEq)]
pub enum Versions {
    All,
    Digests(Vec<Digest>),
    Pattern(TagPattern),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub artifact: RepoName,
    pub versions: Versions,
}

/// An item as the API reads and writes it: `artifact` and exactly one of
/// `all_versions: true`, `digests`, `pattern` — or, on input only, `tags`, which
/// the worker resolves to digests when the license is written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemJson {
    pub artifact: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_versions: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digests: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing)]
    pub tags: Option<Vec<String>>,
}

/// What a license grants once it has expired: nothing (`revoke`), or the versions
/// it covered that were pushed before it expired, and nothing newer
/// (`keep_released`: a perpetual license whose updates were a subscription).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryPolicy {
    #[default]
    Revoke,
    KeepReleased,
}

impl ExpiryPolicy {
    /// The policy as the database stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryPolicy::Revoke => "revoke",
            ExpiryPolicy::KeepReleased => "keep_released",
        }
    }
}

/// A license as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct License {
    pub id: String,
    pub name: String,
    pub customer_id: String,
    pub expires_at: Option<i64>,
    pub expiry_policy: ExpiryPolicy,
    #[serde(flatten)]
    pub caps: Caps,
    pub usage: Usage,
    pub created_at: i64,
    pub items: Vec<ItemJson>,
}

/// A license as the API receives it (create, and full replace on update).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseInput {
    pub name: String,
    pub customer_id: String,
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub expiry_policy: ExpiryPolicy,
    #[serde(default)]
    pub max_pulls_per_month: Option<i64>,
    #[serde(default)]
    pub max_bytes_per_month: Option<i64>,
    pub items: Vec<ItemJson>,
}

/// What an item asks for before its tags are resolved.
pub enum Wanted {
    Ready(Item),
    /// Digests of these tags of the artifact, as they stand when the license is
    /// written.
    Tags(RepoName, Vec<String>),
}

impl ItemJson {
    /// Checks the item's shape; tags still need resolving.
    pub fn parse(&self) -> Result<Wanted> {
        let artifact: RepoName = self
            .artifact
            .parse()
            .map_err(|_| Error::Invalid(format!("invalid artifact name {:?}", self.artifact)))?;
        let item = |versions| {
            Ok(Wanted::Ready(Item {
                artifact: artifact.clone(),
                versions,
            }))
        };
        match (self.all_versions, &self.digests, &self.pattern, &self.tags) {
            (true, None, None, None) => item(Versions::All),
            (false, Some(digests), None, None) => item(Versions::Digests(parse_digests(digests)?)),
            (false, None, Some(pattern), None) => item(Versions::Pattern(pattern.parse()?)),
            (false, None, None, Some(tags)) if !tags.is_empty() && tags.len() <= MAX_DIGESTS => {
                Ok(Wanted::Tags(artifact.clone(), tags.clone()))
            }
            (false, None, None, Some(_)) => Err(Error::Invalid(format!(
                "tags must list 1 to {MAX_DIGESTS} tags"
            ))),
            _ => Err(Error::Invalid(format!(
                "item for {:?} must have exactly one of all_versions: true, digests, pattern, tags",
                self.artifact
            ))),
        }
    }
}

fn parse_digests(digests: &[String]) -> Result<Vec<Digest>> {
    if digests.is_empty() || digests.len() > MAX_DIGESTS {
        return Err(Error::Invalid(format!(
            "digests must list 1 to {MAX_DIGESTS} digests"
        )));
    }
    let mut parsed = digests
        .iter()
        .map(|d| {
            d.parse::<Digest>()
                .map_err(|_| Error::Invalid(format!("invalid digest {d:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    parsed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    parsed.dedup();
    Ok(parsed)
}

impl From<&Item> for ItemJson {
    fn from(item: &Item) -> Self {
        let artifact = item.artifact.to_string();
        match &item.versions {
            Versions::All => ItemJson {
                artifact,
                all_versions: true,
                ..Default::default()
            },
            Versions::Digests(ds) => ItemJson {
                artifact,
                digests: Some(ds.iter().map(Digest::to_string).collect()),
                ..Default::default()
            },
            Versions::Pattern(p) => ItemJson {
                artifact,
                pattern: Some(p.to_string()),
                ..Default::default()
            },
        }
    }
}

impl LicenseInput {
    /// The license's name, checked.
    pub fn checked_name(&self) -> Result<String> {
        text_field("name", &self.name, 200, true)
    }

    /// The license's usage caps, checked.
    pub fn checked_caps(&self) -> Result<Caps> {
        Caps {
            max_pulls_per_month: self.max_pulls_per_month,
            max_bytes_per_month: self.max_bytes_per_month,
        }
        .checked()
    }

    pub fn checked_item_count(&self) -> Result<()> {
        if self.items.is_empty() || self.items.len() > MAX_ITEMS {
            return Err(Error::Invalid(format!(
                "a license needs 1 to {MAX_ITEMS} items"
            )));
        }
        Ok(())
    }
}

/// One license item that touches a manifest, as the grant queries return it:
/// `kind` `all` or `digest` covers it outright; `pattern` covers it when `value`
/// matches `tag`, a tag of the manifest or of one it is reached through.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct GrantRow {
    pub kind: String,
    pub value: String,
    pub tag: Option<String>,
    /// When the item's license expires, its policy then, and when the version the
    /// item covers was pushed (for `all`, the earliest of the manifests the target
    /// is reached through), where the query reads them: the grant query does, so
    /// [`granted_until`] can apply the expiry rule; the deletion rules do not, as
    /// expired licenses protect as well.
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub expiry_policy: ExpiryPolicy,
    #[serde(default)]
    pub pushed: Option<i64>,
    /// The item's license, its caps and what it used this month, where the query
    /// reads them: the grant query does, for [`access`].
    #[serde(default)]
    pub license_id: Option<String>,
    #[serde(flatten)]
    pub caps: Caps,
    #[serde(flatten)]
    pub used: Used,
}

impl GrantRow {
    /// Whether the version stays granted past the license's expiry: the license
    /// keeps what was released, and this version was pushed before it expired.
    fn kept(&self) -> bool {
        self.expiry_policy == ExpiryPolicy::KeepReleased
            && self.pushed.zip(self.expires_at).is_some_and(|(p, e)| p < e)
    }

    /// Which versions the row's license grants at `now`: every one (`Some(None)`)
    /// while it is unexpired; once expired, under `keep_released` those pushed
    /// before its expiry (`Some(Some(expiry))`), under `revoke` none.
    pub fn versions_at(&self, now: i64) -> Option<Option<i64>> {
        match self.expires_at {
            Some(at) if at <= now => {
                (self.expiry_policy == ExpiryPolicy::KeepReleased).then_some(Some(at))
            }
            _ => Some(None),
        }
    }

    /// Whether the row grants what it covers at `now`.
    pub(crate) fn grants_at(&self, now: i64) -> bool {
        self.grants_until(now).is_some()
    }

    /// Until when the row grants what it covers, if it grants it at `now`:
    /// `Some(None)` for ever, `Some(Some(t))` until `t`.
    fn grants_until(&self, now: i64) -> Option<Option<i64>> {
        if !row_grants(self) {
            return None;
        }
        if self.kept() {
            return Some(None);
        }
        // Not kept: granted only while every version is.
        self.versions_at(now)?.is_none().then_some(self.expires_at)
    }
}

/// What a license check found: refused, or granted until the last license
/// granting it stops granting it (`None`: never; a version kept after expiry is
/// granted for ever).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    Refused,
    Until(Option<i64>),
}

impl Grant {
    pub fn granted(self) -> bool {
        matches!(self, Grant::Until(_))
    }
}

/// A [`GrantRow`] with the license it is an item of: the deletion rules ask
/// whether each license still covers a digest after a tag goes.
#[derive(Clone, Debug, Deserialize)]
pub struct ProtectionRow {
    pub license_id: String,
    #[serde(flatten)]
    pub item: GrantRow,
}

/// The licenses among `rows` that cover the manifest the rows were found for,
/// leaving out what the tag `without` matches (a tag about to be deleted).
pub fn covering_licenses<'r>(
    rows: &'r [ProtectionRow],
    without: Option<&str>,
) -> BTreeSet<&'r str> {
    rows.iter()
        .filter(|row| row.item.tag.is_none() || row.item.tag.as_deref() != without)
        .filter(|row| grants(std::slice::from_ref(&row.item)))
        .map(|row| row.license_id.as_str())
        .collect()
}

/// Whether any of `rows` covers the manifest they were found for, whatever the
/// expiry of their licenses (what the deletion rules protect).
pub fn grants(rows: &[GrantRow]) -> bool {
    rows.iter().any(row_grants)
}

fn row_grants(row: &GrantRow) -> bool {
    match (row.kind.as_str(), &row.tag) {
        ("all" | "digest", _) => true,
        ("pattern", Some(tag)) => pattern_matches(&row.value, tag),
        _ => false,
    }
}

/// Whether `rows` grant the manifest they were found for at `now`, and until
/// when: an item grants while its license is unexpired, and after that only a
/// version its `keep_released` license kept, for ever; the grant lasts until the
/// latest end among the rows that grant, as long as none of them lasts for ever.
pub fn granted_until(rows: &[GrantRow], now: i64) -> Grant {
    rows.iter()
        .filter_map(|row| row.grants_until(now))
        .reduce(|a, b| a.zip(b).map(|(a, b)| a.max(b)))
        .map_or(Grant::Refused, Grant::Until)
}

/// What a read is, usage caps (`licensing::caps`) included: granted and counted
/// against `license` (`None` for vendor staff); refused because every license
/// granting it is over a cap; or not granted. A granted read is attributed to one
/// license that grants it and has room, an uncapped one first, so capped allowance
/// is spent only when nothing else grants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    Granted { license: Option<String> },
    OverCap(OverCap),
    Refused,
}

impl Access {
    /// The license a granted read counts against; `unknown` (the error a read of
    /// something missing answers, so a refusal says nothing more) when refused, the
    /// cap's error at `now` when over a cap.
    pub fn allow(self, unknown: Error, now: i64) -> Result<Option<String>> {
        match self {
            Access::Granted { license } => Ok(license),
            Access::OverCap(over) => Err(over.error(now)),
            Access::Refused => Err(unknown),
        }
    }
}

/// The [`Access`] of grant `rows` at `now`, and until when it holds (`None`: until
/// something changes): a grant until its licenses expire, a cap until it resets.
pub fn access(rows: &[GrantRow], now: i64) -> (Access, Option<i64>) {
    let (room, full): (Vec<&GrantRow>, Vec<&GrantRow>) = rows
        .iter()
        .partition(|row| over_cap(row.caps, row.used, now).is_none());
    let owned = |rows: &[&GrantRow]| rows.iter().map(|&r| r.clone()).collect::<Vec<_>>();
    if let Grant::Until(until) = granted_until(&owned(&room), now) {
        let granting = room.iter().filter(|row| row.grants_at(now));
        let license = granting
            .min_by_key(|row| row.caps.any())
            .and_then(|row| row.license_id.clone());
        return (Access::Granted { license }, until);
    }
    let capped = full
        .iter()
        .filter(|row| row.grants_at(now))
        .find_map(|row| over_cap(row.caps, row.used, now));
    match capped {
        Some(over) => (Access::OverCap(over), Some(over.resets_at)),
        None => (Access::Refused, None),
    }
}

/// Whether a stored pattern matches `tag`. Patterns are checked when a license
/// is written, so one that no longer parses matches nothing.
pub fn pattern_matches(pattern: &str, tag: &str) -> bool {
    pattern.parse::<TagPattern>().is_ok_and(|p| p.matches(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(v: serde_json::Value) -> ItemJson {
        serde_json::from_value(v).unwrap()
    }

    fn row(kind: &str, tag: Option<&str>, expires_at: Option<i64>) -> GrantRow {
        GrantRow {
            kind: kind.into(),
            value: "v1.*".into(),
            tag: tag.map(Into::into),
            expires_at,
            expiry_policy: ExpiryPolicy::Revoke,
            pushed: Some(1),
            ..Default::default()
        }
    }

    fn keeping(kind: &str, tag: Option<&str>, expires_at: i64, pushed: i64) -> GrantRow {
        GrantRow {
            expiry_policy: ExpiryPolicy::KeepReleased,
            pushed: Some(pushed),
            ..row(kind, tag, Some(expires_at))
        }
    }

    #[test]
    fn a_grant_lasts_until_the_last_granting_license_expires() {
        assert_eq!(granted_until(&[], 5), Grant::Refused);
        let refused = row("pattern", Some("v2"), None);
        assert_eq!(
            granted_until(std::slice::from_ref(&refused), 5),
            Grant::Refused
        );
        let early = row("all", None, Some(10));
        let late = row("pattern", Some("v1.0"), Some(20));
        let rows = [early.clone(), late, refused.clone()];
        assert_eq!(granted_until(&rows, 5), Grant::Until(Some(20)));
        assert_eq!(granted_until(&rows, 10), Grant::Until(Some(20)));
        assert_eq!(granted_until(&rows, 20), Grant::Refused, "both expired");
        let forever = row("digest", None, None);
        assert_eq!(
            granted_until(&[early, forever, refused], 5),
            Grant::Until(None)
        );
    }

    #[test]
    fn keep_released_grants_versions_pushed_before_expiry_for_ever() {
        for kind in ["all", "digest", "pattern"] {
            let tag = (kind == "pattern").then_some("v1.0");
            let released = keeping(kind, tag, 10, 9);
            let newer = keeping(kind, tag, 10, 10);
            for now in [5, 10, 50] {
                assert_eq!(
                    granted_until(std::slice::from_ref(&released), now),
                    Grant::Until(None),
                    "{kind} released, at {now}"
                );
            }
            assert_eq!(
                granted_until(std::slice::from_ref(&newer), 5),
                Grant::Until(Some(10)),
                "{kind} pushed at expiry: granted until then"
            );
            for now in [10, 50] {
                assert_eq!(
                    granted_until(std::slice::from_ref(&newer), now),
                    Grant::Refused,
                    "{kind} pushed at expiry, at {now}"
                );
            }
            let revoke = GrantRow {
                expiry_policy: ExpiryPolicy::Revoke,
                ..released.clone()
            };
            assert_eq!(
                granted_until(std::slice::from_ref(&revoke), 5),
                Grant::Until(Some(10))
            );
            assert_eq!(
                granted_until(&[revoke], 10),
                Grant::Refused,
                "{kind} revoked"
            );
        }
        let unmatched = keeping("pattern", Some("v2.0"), 10, 9);
        assert_eq!(granted_until(&[unmatched], 50), Grant::Refused);
        let unknown = GrantRow {
            pushed: None,
            ..keeping("all", None, 10, 9)
        };
        assert_eq!(granted_until(&[unknown], 50), Grant::Refused, "no manifest");
    }

    #[test]
    fn items_have_exactly_one_kind_of_versions() {
        let d = format!("sha256:{}", "a".repeat(64));
        for ok in [
            serde_json::json!({"artifact": "acme/app", "all_versions": true}),
            serde_json::json!({"artifact": "acme/app", "digests": [d]}),
            serde_json::json!({"artifact": "acme/app", "pattern": "v1.*"}),
            serde_json::json!({"artifact": "acme/app", "tags": ["v1"]}),
        ] {
            assert!(json(ok.clone()).parse().is_ok(), "{ok}");
        }
        for bad in [
            serde_json::json!({"artifact": "acme/app"}),
            serde_json::json!({"artifact": "acme/app", "all_versions": false}),
            serde_json::json!({"artifact": "acme/app", "all_versions": true, "pattern": "v1"}),
            serde_json::json!({"artifact": "acme/app", "digests": []}),
            serde_json::json!({"artifact": "acme/app", "digests": ["sha256:nope"]}),
            serde_json::json!({"artifact": "acme/app", "pattern": "v1.["}),
            serde_json::json!({"artifact": "acme/app", "tags": []}),
            serde_json::json!({"artifact": "../etc", "all_versions": true}),
        ] {
            assert!(
                matches!(json(bad.clone()).parse(), Err(Error::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn items_round_trip_through_json() {
        let d = format!("sha256:{}", "b".repeat(64));
        let input = json(serde_json::json!({"artifact": "acme/app", "digests": [d, d]}));
        let Ok(Wanted::Ready(item)) = input.parse() else {
            panic!("digests item")
        };
        let out = serde_json::to_value(ItemJson::from(&item)).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"artifact": "acme/app", "digests": [d]})
        );
    }

    #[test]
    fn grant_rows_decide() {
        let row = |kind: &str, value: &str, tag: Option<&str>| GrantRow {
            kind: kind.into(),
            value: value.into(),
            tag: tag.map(Into::into),
            expires_at: None,
            expiry_policy: ExpiryPolicy::Revoke,
            pushed: None,
            ..Default::default()
        };
        assert!(!grants(&[]));
        assert!(grants(&[row("all", "", None)]));
        assert!(grants(&[row("digest", "sha256:x", None)]));
        assert!(grants(&[row("pattern", "v1.*", Some("v1.2"))]));
        assert!(!grants(&[row("pattern", "v1.*", Some("v2.0"))]));
        assert!(!grants(&[row("pattern", "v1.*", None)]));
        assert!(grants(&[
            row("pattern", ">=1.2, <2", Some("v1.1.0")),
            row("pattern", ">=1.2, <2", Some("v1.4.0")),
        ]));
    }
}

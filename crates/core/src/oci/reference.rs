//! Manifest references: a tag (`v1.2.3`) or a digest (`sha256:…`).

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::oci::digest::Digest;

/// A tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A tag that names a digest rather than a version — `sha256-<hex>` and what
    /// tools append to it (`.sig`, `.att`, `.sbom`), as cosign writes for the
    /// signatures it attaches. Such tags never count as "another tag" in the
    /// deletion rules (docs/licensing.md); [`named_tag_sql!`] says the same in SQL.
    pub fn is_digest_shaped(&self) -> bool {
        is_digest_shaped(&self.0)
    }
}

/// [`Tag::is_digest_shaped`] for a tag read back from the store.
pub fn is_digest_shaped(tag: &str) -> bool {
    tag.starts_with("sha256-") || tag.starts_with("sha512-")
}

/// The SQL condition on a `tag` column that holds for tags that are *not* digest
/// shaped: the same rule as [`is_digest_shaped`], for queries that count tags.
/// A macro so it can be spliced into `concat!`-built statements.
#[macro_export]
macro_rules! named_tag_sql {
    ($column:literal) => {
        concat!(
            "(",
            $column,
            " NOT GLOB 'sha256-*' AND ",
            $column,
            " NOT GLOB 'sha512-*')"
        )
    };
}

impl FromStr for Tag {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bytes = s.as_bytes();
        let first_ok = bytes
            .first()
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_');
        let rest_ok = bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !first_ok || !rest_ok || bytes.len() > 128 {
            return Err(Error::NameInvalid(format!("invalid tag {s:?}")));
        }
        Ok(Tag(s.to_owned()))
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    Tag(Tag),
    Digest(Digest),
}

impl FromStr for Reference {
    type Err = Error;

    /// Anything with a `:` is a digest (tags cannot contain one).
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.contains(':') {
            s.parse().map(Reference::Digest)
        } else {
            s.parse().map(Reference::Tag)
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => t.fmt(f),
            Reference::Digest(d) => d.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_and_digests() {
        assert!(matches!("v1.0.0".parse(), Ok(Reference::Tag(_))));
        assert!(matches!("_x-y.z".parse(), Ok(Reference::Tag(_))));
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert!(matches!(digest.parse(), Ok(Reference::Digest(_))));
    }

    #[test]
    fn digest_shaped_tags_are_those_cosign_writes() {
        let hex = "ab".repeat(32);
        for shaped in [
            format!("sha256-{hex}"),
            format!("sha256-{hex}.sig"),
            "sha512-x".into(),
        ] {
            assert!(
                shaped.parse::<Tag>().unwrap().is_digest_shaped(),
                "{shaped}"
            );
        }
        for named in ["v1.0.0", "latest", "sha256", "sha1-abc", "my-sha256-x"] {
            assert!(!named.parse::<Tag>().unwrap().is_digest_shaped(), "{named}");
        }
    }

    #[test]
    fn rejects_bad_tags() {
        let long = "a".repeat(129);
        for bad in ["", ".x", "-x", "a/b", "a b", "ä", long.as_str()] {
            assert!(bad.parse::<Tag>().is_err(), "{bad:?}");
        }
        assert!(matches!(
            "sha256:nothex".parse::<Reference>(),
            Err(Error::DigestInvalid(_))
        ));
    }
}

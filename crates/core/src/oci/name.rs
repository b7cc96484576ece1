//! Repository names (`vendor/app`), validated once against the spec's grammar:
//! lowercase alphanumeric components joined by `.`, `_`, `__` or runs of `-`,
//! separated by `/`.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Longest accepted name; many clients reject longer `host/name` strings.
pub const MAX_NAME_LEN: usize = 255;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn valid_separator(sep: &[u8]) -> bool {
    matches!(sep, b"." | b"_" | b"__") || (!sep.is_empty() && sep.iter().all(|&b| b == b'-'))
}

/// One path component: alphanumeric runs joined by valid separators.
fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    if bytes.is_empty() || !is_alnum(bytes[0]) || !is_alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && !is_alnum(bytes[i]) {
            i += 1;
        }
        if i > start && !valid_separator(&bytes[start..i]) {
            return false;
        }
        while i < bytes.len() && is_alnum(bytes[i]) {
            i += 1;
        }
    }
    true
}

impl FromStr for RepoName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if s.len() > MAX_NAME_LEN {
            return Err(Error::NameInvalid(format!(
                "name longer than {MAX_NAME_LEN} characters"
            )));
        }
        if !s.split('/').all(valid_component) {
            return Err(Error::NameInvalid(format!("invalid repository name {s:?}")));
        }
        Ok(RepoName(s.to_owned()))
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spec_names() {
        for ok in [
            "a",
            "library/ubuntu",
            "a.b_c__d---e/f0",
            "vendor/sub/deep/app",
            "9",
        ] {
            assert!(ok.parse::<RepoName>().is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_names() {
        let long = "a".repeat(256);
        for bad in [
            "",
            "A",
            "a/",
            "/a",
            "a//b",
            "..",
            "a/../b",
            "a/./b",
            "-a",
            "a-",
            "a___b",
            "a._b",
            "a b",
            "a%2fb",
            "é",
            long.as_str(),
        ] {
            assert!(
                matches!(bad.parse::<RepoName>(), Err(Error::NameInvalid(_))),
                "{bad:?}"
            );
        }
    }
}

//! Tag patterns: how a license names the tags it covers, including tags pushed
//! after it was issued. A pattern is a glob (`v1.*`, `nightly-????`) or a semver
//! range (`>=1.2, <2`, `^1.4`). This module owns their grammar, the version
//! precedence ranges compare by, and the rule for which tags a pattern matches.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The longest pattern accepted: as long as the longest tag.
const MAX_LEN: usize = 128;

/// A set of tags, named by a glob or a semver range. Built only by parsing, so a
/// pattern in hand is always valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagPattern {
    Glob(sealed::Glob),
    Range(sealed::Range),
}

/// The variants' contents. Public types in a private module: they can sit in a
/// public enum, yet no one outside can name or build them.
mod sealed {
    use super::Bound;

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Glob(pub(super) String);

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Range {
        pub(super) source: String,
        pub(super) bounds: Vec<Bound>,
    }
}

impl TagPattern {
    pub fn matches(&self, tag: &str) -> bool {
        match self {
            TagPattern::Glob(glob) => glob_matches(glob.0.as_bytes(), tag.as_bytes()),
            TagPattern::Range(range) => range_matches(&range.bounds, tag),
        }
    }
}

impl FromStr for TagPattern {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Error::Invalid("tag pattern is empty".into()));
        }
        if s.len() > MAX_LEN {
            return Err(Error::Invalid(format!(
                "tag pattern is longer than {MAX_LEN} characters"
            )));
        }
        // No tag starts with one of these, so they cannot begin a useful glob.
        if s.starts_with(['<', '>', '=', '~', '^']) {
            let bounds = parse_range(s)?;
            return Ok(TagPattern::Range(sealed::Range {
                source: s.to_owned(),
                bounds,
            }));
        }
        check_glob(s)?;
        Ok(TagPattern::Glob(sealed::Glob(s.to_owned())))
    }
}

impl fmt::Display for TagPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagPattern::Glob(glob) => f.write_str(&glob.0),
            TagPattern::Range(range) => f.write_str(&range.source),
        }
    }
}

fn check_glob(glob: &str) -> Result<(), Error> {
    match glob
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "._-*?".contains(c)))
    {
        Some(c) => Err(Error::Invalid(format!(
            "tag pattern {glob:?} contains {c:?}; a glob may hold only letters, digits, \
             '.', '_', '-', '*' and '?'"
        ))),
        None => Ok(()),
    }
}

/// Whether the whole of `tag` matches `glob`. On a mismatch only the most recent
/// `*` is retried, one character longer: an earlier star can never do better than
/// the later one, so this is O(pattern × tag) where naive backtracking is
/// exponential. Tags are ASCII, so bytes are characters.
fn glob_matches(glob: &[u8], tag: &[u8]) -> bool {
    let (mut g, mut t) = (0, 0);
    // Where to resume after the last star: the glob just past it, and the tag
    // position the star's run currently ends at.
    let mut star: Option<(usize, usize)> = None;
    while t < tag.len() {
        match glob.get(g) {
            Some(b'*') => {
                star = Some((g + 1, t));
                g += 1;
            }
            Some(&c) if c == b'?' || c == tag[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((after, end)) => {
                    star = Some((after, end + 1));
                    g = after;
                    t = end + 1;
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == b'*')
}

/// Whether `tag` looks like a semantic version: an optional `v`, exactly three
/// numbers, an optional `-pre.release` and optional build metadata. A tag cannot
/// hold semver's `+`, so build metadata follows `_` (as Helm writes `1.2.3+b1` in
/// a tag: `1.2.3_b1`); `+` is read the same way should it ever arrive.
pub fn is_semver_tag(tag: &str) -> bool {
    tag_version(tag).is_some()
}

/// The version a semver-looking tag ([`is_semver_tag`]) names, ordered by semver
/// precedence; build metadata plays no part, so `1.2.3` and `v1.2.3_b7` are equal.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TagVersion(Version);

impl TagVersion {
    /// Not a pre-release.
    pub fn is_release(&self) -> bool {
        self.0.pre.is_empty()
    }
}

/// The version `tag` names when it is semver-looking.
pub fn tag_version(tag: &str) -> Option<TagVersion> {
    let (version, build) = match tag.split_once(['_', '+']) {
        Some((version, build)) => (version, Some(build)),
        None => (tag, None),
    };
    if build.is_some_and(|b| parse_pre(b).is_err()) {
        return None;
    }
    match parse_version(version) {
        Ok(Written { version, given: 3 }) => Some(TagVersion(version)),
        _ => None,
    }
}

fn range_matches(bounds: &[Bound], tag: &str) -> bool {
    let Ok(Written { version, .. }) = parse_version(tag) else {
        return false;
    };
    // The npm rule: a pre-release is opted into only for its own release, by a
    // comparator naming a pre-release of it; `>=1, <2` must not pull in 1.5.0-rc.1.
    let pre_allowed = version.pre.is_empty()
        || bounds
            .iter()
            .any(|b| !b.version.pre.is_empty() && b.version.core == version.core);
    pre_allowed && bounds.iter().all(|b| b.holds(&version))
}

/// One comparison a version must pass. `~` and `^` expand into two.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Bound {
    op: Op,
    version: Version,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl Bound {
    fn new(op: Op, version: Version) -> Self {
        Bound { op, version }
    }

    fn holds(&self, version: &Version) -> bool {
        let ord = version.cmp(&self.version);
        match self.op {
            Op::Lt => ord.is_lt(),
            Op::Le => ord.is_le(),
            Op::Gt => ord.is_gt(),
            Op::Ge => ord.is_ge(),
            Op::Eq => ord.is_eq(),
        }
    }
}

/// Comparators are separated by commas and must all hold.
fn parse_range(range: &str) -> Result<Vec<Bound>, Error> {
    let mut bounds = Vec::new();
    for comparator in range.split(',') {
        bounds.extend(parse_comparator(comparator.trim())?);
    }
    Ok(bounds)
}

fn parse_comparator(comparator: &str) -> Result<Vec<Bound>, Error> {
    if comparator.is_empty() {
        return Err(Error::Invalid(
            "tag range has an empty comparator (a stray comma?)".into(),
        ));
    }
    // Take every operator-like character, so `=>` or `!=` is reported whole.
    let op_len = comparator
        .find(|c: char| !"<>=~^!".contains(c))
        .unwrap_or(comparator.len());
    let (op, text) = comparator.split_at(op_len);
    let text = text.trim_start();
    if !matches!(op, ">=" | "<=" | ">" | "<" | "=" | "~" | "^") {
        return Err(Error::Invalid(if op.is_empty() {
            format!(
                "comparator {comparator:?} has no operator; start it with one of \
                 >=, <=, >, <, =, ~, ^"
            )
        } else {
            format!(
                "comparator {comparator:?} has unknown operator {op:?}; use one of \
                 >=, <=, >, <, =, ~, ^"
            )
        }));
    }
    if text.is_empty() {
        return Err(Error::Invalid(format!(
            "comparator {comparator:?} has no version"
        )));
    }
    if text.contains(char::is_whitespace) {
        return Err(Error::Invalid(format!(
            "comparator {comparator:?} has a space in its version; separate comparators \
             with commas"
        )));
    }
    let written = parse_version(text)
        .map_err(|why| Error::Invalid(format!("version {text:?} in tag range {why}")))?;
    let version = written.version.clone();
    Ok(match op {
        ">=" => vec![Bound::new(Op::Ge, version)],
        "<=" => vec![Bound::new(Op::Le, version)],
        ">" => vec![Bound::new(Op::Gt, version)],
        "<" => vec![Bound::new(Op::Lt, version)],
        "=" => vec![Bound::new(Op::Eq, version)],
        "~" => tilde(written)?,
        _ => caret(written)?,
    })
}

/// `~`: the minor may not change, or the major when only it was written.
fn tilde(written: Written) -> Result<Vec<Bound>, Error> {
    let [major, minor, _] = written.version.core;
    let upper = if written.given == 1 {
        [bump(major)?, 0, 0]
    } else {
        [major, bump(minor)?, 0]
    };
    Ok(at_least_below(written.version, upper))
}

/// `^`: the first non-zero number written may not change, or the last number
/// written when all are zero (`^0.0` is below 0.1.0, `^0` below 1.0.0).
fn caret(written: Written) -> Result<Vec<Bound>, Error> {
    let core = written.version.core;
    let pinned = core[..written.given]
        .iter()
        .position(|&n| n != 0)
        .unwrap_or(written.given - 1);
    let mut upper = [0; 3];
    upper[..pinned].copy_from_slice(&core[..pinned]);
    upper[pinned] = bump(core[pinned])?;
    Ok(at_least_below(written.version, upper))
}

fn bump(n: u64) -> Result<u64, Error> {
    n.checked_add(1)
        .ok_or_else(|| Error::Invalid(format!("version number {n} is too large for ~ or ^")))
}

/// The upper bound is a release, so its own pre-releases fall outside unless
/// another comparator names one (see `range_matches`).
fn at_least_below(lower: Version, upper: [u64; 3]) -> Vec<Bound> {
    let upper = Version {
        core: upper,
        pre: Vec::new(),
    };
    vec![Bound::new(Op::Ge, lower), Bound::new(Op::Lt, upper)]
}

/// A semver version without build metadata (tags cannot hold a `+`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Version {
    core: [u64; 3],
    pre: Vec<Ident>,
}

/// A pre-release identifier. Numbers are kept as digits without leading zeros,
/// so any length compares correctly and equal values are equal.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ident {
    Num(String),
    Alpha(String),
}

/// Semver 2.0 precedence: numbers first; then a pre-release is lower than its
/// release; then identifier by identifier, a shorter list lower when it is a
/// prefix of the other (which is how `Vec` compares).
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core
            .cmp(&other.core)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Numeric identifiers compare as numbers and sort before alphanumeric ones,
/// which compare in ASCII order.
impl Ord for Ident {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Ident::Num(a), Ident::Num(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Ident::Num(_), Ident::Alpha(_)) => Ordering::Less,
            (Ident::Alpha(_), Ident::Num(_)) => Ordering::Greater,
            (Ident::Alpha(a), Ident::Alpha(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Ident {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A version as written, with how many of its numbers were (`~` and `^` read
/// that; everywhere else a missing number is 0).
struct Written {
    version: Version,
    given: usize,
}

/// `v` optional, one to three dot-separated numbers (leading zeros allowed), then
/// an optional `-pre.release`. The error completes "version … in tag range"; it is
/// static so rejecting a tag such as `latest` costs no allocation.
fn parse_version(text: &str) -> Result<Written, &'static str> {
    let text = text.strip_prefix('v').unwrap_or(text);
    let (numbers, pre) = match text.split_once('-') {
        Some((numbers, pre)) => (numbers, Some(pre)),
        None => (text, None),
    };
    let mut core = [0; 3];
    let mut given = 0;
    for part in numbers.split('.') {
        if given == core.len() {
            return Err("has more than three numbers");
        }
        core[given] = parse_number(part)?;
        given += 1;
    }
    let pre = match pre {
        Some(pre) => parse_pre(pre)?,
        None => Vec::new(),
    };
    Ok(Written {
        version: Version { core, pre },
        given,
    })
}

fn parse_number(part: &str) -> Result<u64, &'static str> {
    if part.is_empty() {
        return Err("has an empty number");
    }
    // Checked first because `u64::from_str` would also take a leading `+`.
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err("has a part that is not a number");
    }
    part.parse().map_err(|_| "has a number too large")
}

fn parse_pre(pre: &str) -> Result<Vec<Ident>, &'static str> {
    pre.split('.').map(parse_ident).collect()
}

fn parse_ident(ident: &str) -> Result<Ident, &'static str> {
    if ident.is_empty() {
        return Err("has an empty pre-release identifier");
    }
    if !ident
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err("has a pre-release identifier with other than letters, digits and '-'");
    }
    if !ident.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Ident::Alpha(ident.to_owned()));
    }
    let digits = ident.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    Ok(Ident::Num(digits.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn pattern(s: &str) -> TagPattern {
        s.parse()
            .unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn check(cases: &[(&str, &str, bool)]) {
        for &(pat, tag, expected) in cases {
            assert_eq!(pattern(pat).matches(tag), expected, "{pat:?} on {tag:?}");
        }
    }

    #[test]
    fn semver_tags_have_three_numbers_an_optional_pre_release_and_build() {
        for tag in [
            "1.2.3",
            "v1.2.3",
            "0.0.0",
            "v10.20.30",
            "1.2.3-rc.1",
            "v1.2.3-alpha-1.0",
            "1.2.3_build.5",
            "1.2.3-rc.1_build-7",
            "1.2.3+build",
        ] {
            assert!(is_semver_tag(tag), "{tag:?}");
        }
        for tag in [
            "latest",
            "1",
            "v1.2",
            "1.2.3.4",
            "V1.2.3",
            "vv1.2.3",
            "1.2.3-",
            "1.2.3-rc..1",
            "1.2.3_",
            "1.2.x",
            "-1.2.3",
            "1.2.3-rc_",
            "sha256-abc",
            "",
        ] {
            assert!(!is_semver_tag(tag), "{tag:?}");
        }
    }

    #[test]
    fn globs_match_whole_tags() {
        check(&[
            ("*", "latest", true),
            ("*", "v1.2.3", true),
            ("latest", "latest", true),
            ("latest", "latest2", false),
            ("latest", "Latest", false),
            ("v1.*", "v1.0", true),
            ("v1.*", "v1.2.3", true),
            ("v1.*", "v1.", true),
            ("v1.*", "v10.0", false),
            ("v1.*", "v2.1", false),
            ("v1.*", "1.0", false),
            ("1.*", "v1.0", false),
            ("1.*", "1.0", true),
            ("*-alpine", "3.19-alpine", true),
            ("*-alpine", "3.19-alpine3", false),
            ("*-alpine", "-alpine", true),
            ("v?", "v1", true),
            ("v?", "v", false),
            ("v?", "v12", false),
            ("nightly-????", "nightly-0412", true),
            ("nightly-????", "nightly-041", false),
            ("*.*.*", "1.2.3", true),
            ("*.*.*", "1.2", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYc-", false),
            ("**", "x", true),
            ("?*", "x", true),
            ("?*", "", false),
        ]);
    }

    #[test]
    fn ranges_compare_versions() {
        check(&[
            (">=1.2, <2", "1.2.0", true),
            (">=1.2, <2", "v1.9.9", true),
            (">=1.2, <2", "1.1.9", false),
            (">=1.2, <2", "2.0.0", false),
            (">=1.2, <2", "v2", false),
            (">=1.2, <2", "1.2", true),
            (">=1.2, <2", "v1.5", true),
            ("<2", "1.99.99", true),
            ("<2", "2.0.0", false),
            (">1", "1.0.0", false),
            (">1", "1.0.1", true),
            ("<=1.2", "1.2.0", true),
            ("<=1.2", "1.2.1", false),
            ("=1.2", "1.2.0", true),
            ("=1.2", "v1.2", true),
            ("=1.2", "1.2.1", false),
            ("= v1.2.3", "1.2.3", true),
            (">=v1", "1.0.0", true),
            (">=1.0.0", "01.02.03", true),
            ("=1.2.3", "01.02.03", true),
            (" >= 1.0 ,< 1.1 ", "1.0.7", true),
        ]);
    }

    #[test]
    fn tilde_and_caret_ranges() {
        check(&[
            ("~1.2", "1.2.0", true),
            ("~1.2", "1.2.9", true),
            ("~1.2", "1.3.0", false),
            ("~1.2", "1.1.9", false),
            ("~1.2.3", "1.2.2", false),
            ("~1.2.3", "1.2.3", true),
            ("~1.2.3", "1.3.0", false),
            ("~1", "1.9.9", true),
            ("~1", "2.0.0", false),
            ("~1", "0.9.9", false),
            ("^1.2.3", "1.2.3", true),
            ("^1.2.3", "1.9.0", true),
            ("^1.2.3", "1.2.2", false),
            ("^1.2.3", "2.0.0", false),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            ("^0.0.3", "0.0.3", true),
            ("^0.0.3", "0.0.4", false),
            ("^0.0", "0.0.9", true),
            ("^0.0", "0.1.0", false),
            ("^0", "0.9.9", true),
            ("^0", "1.0.0", false),
            ("^1.2", "1.9.9", true),
            ("^1.2", "1.1.0", false),
            ("^1", "v1.0", true),
            ("^1", "2.0", false),
            ("^1.2, <1.5", "1.6.0", false),
        ]);
    }

    #[test]
    fn pre_releases_need_a_comparator_naming_them() {
        check(&[
            (">=1.0.0, <2", "1.5.0-rc.1", false),
            (">=1.5.0-rc.0, <2", "1.5.0-rc.1", true),
            (">=1.5.0-rc.0, <2", "1.5.0", true),
            (">=1.5.0-rc.0, <2", "1.6.0-rc.1", false),
            (">=1.5.0-rc.2, <2", "1.5.0-rc.1", false),
            ("^1.2.3-beta.2", "1.2.3-beta.4", true),
            ("^1.2.3-beta.2", "1.2.3-beta.1", false),
            ("^1.2.3-beta.2", "1.2.4-beta.1", false),
            ("^1.2.3-beta.2", "1.2.4", true),
            ("~1.2.3-rc.1", "1.2.3", true),
            ("=1.2.3-rc.1", "1.2.3-rc.1", true),
            ("=1.2.3-rc.1", "v1.2.3-rc.01", true),
            ("=1.2.3-rc.1", "1.2.3", false),
            ("<2", "2.0.0-rc.1", false),
            ("<2", "1.0.0-rc.1", false),
            (">=1, <2.0.0-rc.1", "2.0.0-rc.0", true),
            (">=1, <2.0.0-rc.1", "2.0.0-rc.1", false),
            (">=1.2-rc.1", "1.2.0-rc.2", true),
        ]);
    }

    #[test]
    fn non_version_tags_never_match_ranges() {
        let cases: Vec<(&str, &str, bool)> = [
            "latest",
            "1.2.3.4",
            "1.x",
            "v",
            "",
            "V1.2",
            "1..2",
            "1.2.",
            "1.2.3-",
            "1.2.3-rc..1",
            "1.2.3-rc_1",
            "1.2.3+build",
            "1.2.3-alpine",
            "18446744073709551616",
            "vv1",
        ]
        .iter()
        .map(|&tag| (">=0", tag, false))
        .collect();
        check(&cases);
        // `-alpine` reads as a pre-release; it matches once a comparator names one.
        check(&[(">=1.2.3-a", "1.2.3-alpine", true)]);
    }

    #[test]
    fn precedence_follows_semver() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
            "10.0.0",
        ];
        let versions: Vec<Version> = order
            .iter()
            .map(|v| parse_version(v).unwrap().version)
            .collect();
        for pair in versions.windows(2) {
            assert!(pair[0] < pair[1], "{:?} < {:?}", pair[0], pair[1]);
        }
        let huge = |n: &str| parse_version(&format!("1.0.0-{n}")).unwrap().version;
        assert!(huge("99999999999999999999") < huge("100000000000000000000"));
        assert_eq!(huge("007"), huge("7"));
        assert!(huge("9") < huge("10"));
        assert!(huge("10") < huge("1a"));
    }

    #[test]
    fn rejects_invalid_patterns() {
        let long = "a".repeat(MAX_LEN + 1);
        for bad in [
            "",
            "   ",
            long.as_str(),
            "v1 .*",
            "a/b",
            "[ab]",
            "v1.+",
            "tag:1",
            "ä*",
            ">=",
            "<",
            ">=1,",
            ",>=1",
            ">=1,,<2",
            ">=1 <2",
            "=>1",
            "==1",
            ">==1",
            "~>1.2",
            "^~1",
            "<>1",
            ">=1, 2",
            ">=1, latest",
            ">=1.x",
            ">=x",
            ">=1.2.3.4",
            ">=1..2",
            ">=1.",
            ">=+1",
            ">=-1",
            ">=1.2.3-",
            ">=1.2.3-rc..1",
            ">=1.2.3-rc_1",
            ">=1.2.3+build",
            ">=18446744073709551616",
            "^18446744073709551615",
            "~1.18446744073709551615",
        ] {
            assert!(
                matches!(bad.parse::<TagPattern>(), Err(Error::Invalid(_))),
                "{bad:?}"
            );
        }
        let longest = "a".repeat(MAX_LEN);
        assert!(longest.parse::<TagPattern>().is_ok());
        assert!(">=18446744073709551615".parse::<TagPattern>().is_ok());
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let message = |s: &str| s.parse::<TagPattern>().unwrap_err().to_string();
        assert!(message("a b").contains("' '"));
        assert!(message("=>1").contains("unknown operator \"=>\""));
        assert!(message(">=1, 2").contains("no operator"));
        assert!(message(">=1,,<2").contains("empty comparator"));
        assert!(message(">=1.2.3.4").contains("more than three numbers"));
        assert!(message(">=1.x").contains("not a number"));
        assert!(message(">=99999999999999999999").contains("too large"));
        assert!(message(">=1 <2").contains("commas"));
    }

    #[test]
    fn display_round_trips() {
        for source in [
            "*",
            "v1.*",
            "nightly-????",
            ">=1.2, <2",
            "^0.2.3",
            "~1",
            "= v1.2.3-rc.1",
            ">=1.5.0-rc.0 ,<2",
        ] {
            let parsed = pattern(source);
            assert_eq!(parsed.to_string(), source);
            assert_eq!(pattern(&parsed.to_string()), parsed);
        }
        assert_eq!(pattern("  v1.*\t").to_string(), "v1.*");
        assert_eq!(pattern(" ^1.2 ").to_string(), "^1.2");
    }

    #[test]
    fn pathological_globs_finish_fast() {
        let glob = pattern(&format!("{}b", "*a".repeat(20)));
        let tag = "a".repeat(128);
        let start = Instant::now();
        assert!(!glob.matches(&tag));
        assert!(pattern(&format!("{}*", "*a".repeat(20))).matches(&tag));
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}

//! The paths of `/api/v1`, parsed once into a [`Route`]; `serve` in `mod.rs`
//! dispatches each route and method. The session and the OpenAPI document answer
//! before sign-in and are matched there, ahead of this table.
//!
//! An artifact's name keeps its slashes in the path (`/artifacts/acme/app/tags`);
//! a name that itself ends in a `tags` or `upstream` component is written escaped
//! (`acme%2Ftags`).

use percent_encoding::percent_decode_str;
use tollgate_core::{Error, RepoName, Result, Tag};

/// An endpoint of `/api/v1`; ids are the raw path segments.
#[derive(Debug, PartialEq)]
pub(super) enum Route<'a> {
    Me,
    Users,
    User(&'a str),
    Customers,
    Customer(&'a str),
    CustomerUsers(&'a str),
    Tokens,
    Token(&'a str),
    Sessions,
    Session(&'a str),
    Dashboard,
    Downloads,
    DownloadsCsv,
    DownloadsDaily,
    Audit,
    AuditCsv,
    Bundles,
    Bundle(&'a str),
    Licenses,
    License(&'a str),
    Artifacts,
    Artifact(RepoName),
    ArtifactTags(RepoName),
    ArtifactTag(RepoName, Tag),
    ArtifactUpstream(RepoName),
}

impl<'a> Route<'a> {
    /// `parts` is the path after `/api/v1/` split at `/`, not yet decoded. An
    /// unknown path is `NotFound("endpoint")`; an artifact name or tag that is none
    /// is `NotFound("artifact")` or `NotFound("tag")`.
    pub(super) fn parse(parts: &[&'a str]) -> Result<Self> {
        Ok(match *parts {
            ["me"] => Self::Me,
            ["users"] => Self::Users,
            ["users", id] => Self::User(id),
            ["customers"] => Self::Customers,
            ["customers", id] => Self::Customer(id),
            ["customers", id, "users"] => Self::CustomerUsers(id),
            ["tokens"] => Self::Tokens,
            ["tokens", id] => Self::Token(id),
            ["sessions"] => Self::Sessions,
            ["sessions", id] => Self::Session(id),
            ["dashboard"] => Self::Dashboard,
            ["downloads"] => Self::Downloads,
            ["downloads.csv"] => Self::DownloadsCsv,
            ["downloads", "daily"] => Self::DownloadsDaily,
            ["audit"] => Self::Audit,
            ["audit.csv"] => Self::AuditCsv,
            ["bundles"] => Self::Bundles,
            ["bundles", id] => Self::Bundle(id),
            ["licenses"] => Self::Licenses,
            ["licenses", id] => Self::License(id),
            ["artifacts"] | ["artifacts", ""] => Self::Artifacts,
            ["artifacts", ref rest @ ..] => artifact(rest)?,
            _ => return Err(Error::NotFound("endpoint")),
        })
    }
}

/// `parts` is the raw path after `artifacts/`: `tags` and `upstream` are markers
/// only where they are written unescaped.
fn artifact<'a>(parts: &[&str]) -> Result<Route<'a>> {
    let name = |parts: &[&str]| -> Result<RepoName> {
        let raw = parts.join("/");
        let decoded = percent_decode_str(&raw)
            .decode_utf8()
            .map_err(|_| Error::NotFound("artifact"))?;
        decoded.parse().map_err(|_| Error::NotFound("artifact"))
    };
    match parts {
        [rest @ .., "tags"] if !rest.is_empty() => Ok(Route::ArtifactTags(name(rest)?)),
        [rest @ .., "tags", tag] if !rest.is_empty() => Ok(Route::ArtifactTag(
            name(rest)?,
            tag.parse().map_err(|_| Error::NotFound("tag"))?,
        )),
        [rest @ .., "upstream"] if !rest.is_empty() => Ok(Route::ArtifactUpstream(name(rest)?)),
        _ => Ok(Route::Artifact(name(parts)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> Result<Route<'_>> {
        Route::parse(&path.split('/').collect::<Vec<_>>())
    }

    fn name(s: &str) -> RepoName {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_fixed_paths() {
        assert_eq!(route("me").unwrap(), Route::Me);
        assert_eq!(route("users/u1").unwrap(), Route::User("u1"));
        assert_eq!(
            route("customers/c1/users").unwrap(),
            Route::CustomerUsers("c1")
        );
        assert_eq!(route("downloads/daily").unwrap(), Route::DownloadsDaily);
        assert_eq!(route("audit.csv").unwrap(), Route::AuditCsv);
        assert_eq!(route("bundles").unwrap(), Route::Bundles);
        assert_eq!(route("bundles/b1").unwrap(), Route::Bundle("b1"));
        assert_eq!(route("users/").unwrap(), Route::User(""));
        for unknown in ["", "nope", "me/x", "customers/c1/tokens", "users/a/b"] {
            assert!(
                matches!(route(unknown), Err(Error::NotFound("endpoint"))),
                "{unknown:?}"
            );
        }
    }

    #[test]
    fn parses_artifact_names_escaped_or_raw() {
        assert_eq!(route("artifacts").unwrap(), Route::Artifacts);
        assert_eq!(route("artifacts/").unwrap(), Route::Artifacts);
        assert_eq!(
            route("artifacts/e2e%2Fa-b").unwrap(),
            Route::Artifact(name("e2e/a-b"))
        );
        assert_eq!(
            route("artifacts/acme/app").unwrap(),
            Route::Artifact(name("acme/app"))
        );
        assert_eq!(
            route("artifacts/a%2Fb%2Fc/tags").unwrap(),
            Route::ArtifactTags(name("a/b/c"))
        );
        assert_eq!(
            route("artifacts/acme/app/tags/v1").unwrap(),
            Route::ArtifactTag(name("acme/app"), "v1".parse().unwrap())
        );
        assert_eq!(
            route("artifacts/acme%2Ftags").unwrap(),
            Route::Artifact(name("acme/tags")),
            "an escaped `tags` is part of the name"
        );
        assert_eq!(
            route("artifacts/acme/app/upstream").unwrap(),
            Route::ArtifactUpstream(name("acme/app"))
        );
        assert_eq!(
            route("artifacts/acme%2Fupstream").unwrap(),
            Route::Artifact(name("acme/upstream")),
            "an escaped `upstream` is part of the name"
        );
        assert_eq!(
            route("artifacts/tags").unwrap(),
            Route::Artifact(name("tags")),
            "`tags` alone is a name"
        );
    }

    #[test]
    fn refuses_names_and_tags_that_are_none() {
        for path in [
            "artifacts/A",
            "artifacts//",
            "artifacts/%FF",
            "artifacts/a/tags/-x/y",
        ] {
            assert!(
                matches!(route(path), Err(Error::NotFound("artifact"))),
                "{path:?}"
            );
        }
        assert!(matches!(
            route("artifacts/a/tags/-x"),
            Err(Error::NotFound("tag"))
        ));
    }
}

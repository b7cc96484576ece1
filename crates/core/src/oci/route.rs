//! The `/v2/` URL space. Repository names contain slashes, so routes are found from
//! the end of the path (`…/manifests/<ref>`, `…/blobs/<digest>`, …) rather than by a
//! router pattern, and every part is parsed into its type here, once.

use crate::error::{Error, Result};
use crate::oci::digest::Digest;
use crate::oci::name::RepoName;
use crate::oci::reference::Reference;
use crate::oci::upload_session::UploadId;

/// The request methods the `/v2/` API tells apart; the edge maps its own to these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    /// A method no endpoint offers.
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/v2/`: the API version check.
    Base,
    Catalog,
    Tags(RepoName),
    Manifest(RepoName, Reference),
    /// A manifest path whose reference is no valid tag or digest: no read can find
    /// anything there (so reads answer unknown), and a push there is refused with
    /// the parse error.
    InvalidManifestReference(RepoName, Error),
    Blob(RepoName, Digest),
    /// `POST /v2/<name>/blobs/uploads/`.
    UploadStart(RepoName),
    Upload(RepoName, UploadId),
    Referrers(RepoName, Digest),
}

impl Route {
    /// The route for a request path, `Ok(None)` when the path is no registry endpoint.
    pub fn parse(path: &str) -> Result<Option<Route>> {
        let Some(rest) = path.strip_prefix("/v2") else {
            return Ok(None);
        };
        let rest = percent_decode(rest)?;
        let rest = match rest.as_str() {
            "" | "/" => return Ok(Some(Route::Base)),
            "/_catalog" => return Ok(Some(Route::Catalog)),
            r => r.strip_prefix('/').unwrap_or(r),
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let route = match parts.as_slice() {
            [name @ .., "tags", "list"] => Route::Tags(repo(name)?),
            [name @ .., "manifests", reference] => match reference.parse() {
                Ok(reference) => Route::Manifest(repo(name)?, reference),
                Err(e) => Route::InvalidManifestReference(repo(name)?, e),
            },
            [name @ .., "blobs", "uploads", ""] | [name @ .., "blobs", "uploads"] => {
                Route::UploadStart(repo(name)?)
            }
            [name @ .., "blobs", "uploads", id] => Route::Upload(repo(name)?, id.parse()?),
            [name @ .., "blobs", digest] => Route::Blob(repo(name)?, digest.parse()?),
            [name @ .., "referrers", digest] => Route::Referrers(repo(name)?, digest.parse()?),
            _ => return Ok(None),
        };
        Ok(Some(route))
    }
}

impl Route {
    /// The repository this route addresses, if any.
    pub fn repository(&self) -> Option<&RepoName> {
        match self {
            Route::Base | Route::Catalog => None,
            Route::Tags(name)
            | Route::Manifest(name, _)
            | Route::InvalidManifestReference(name, _)
            | Route::Blob(name, _)
            | Route::UploadStart(name)
            | Route::Upload(name, _)
            | Route::Referrers(name, _) => Some(name),
        }
    }

    /// The answer for a route the caller may not know about: the one a missing
    /// thing gets.
    pub fn hidden(&self) -> Error {
        match self {
            Route::Manifest(..) | Route::InvalidManifestReference(..) => Error::ManifestUnknown,
            Route::Blob(..) => Error::BlobUnknown,
            Route::Upload(..) => Error::BlobUploadUnknown,
            _ => Error::NameUnknown,
        }
    }
}

fn repo(components: &[&str]) -> Result<RepoName> {
    components.join("/").parse()
}

/// Decodes `%XX` escapes (clients may send `sha256%3A…`). Malformed escapes and
/// escaped slashes are refused: a name must not be smuggled past the split above.
fn percent_decode(s: &str) -> Result<String> {
    let bad = || Error::NameInvalid(format!("malformed path {s:?}"));
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hi = bytes
            .next()
            .and_then(|c| (c as char).to_digit(16))
            .ok_or_else(bad)?;
        let lo = bytes
            .next()
            .and_then(|c| (c as char).to_digit(16))
            .ok_or_else(bad)?;
        let decoded = (hi * 16 + lo) as u8;
        if decoded == b'/' {
            return Err(bad());
        }
        out.push(decoded);
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> String {
        format!("sha256:{}", "0".repeat(64))
    }

    #[test]
    fn parses_every_endpoint() {
        assert_eq!(Route::parse("/v2/").unwrap(), Some(Route::Base));
        assert_eq!(Route::parse("/v2").unwrap(), Some(Route::Base));
        assert_eq!(Route::parse("/v2/_catalog").unwrap(), Some(Route::Catalog));
        let name: RepoName = "a/manifests/b".parse().unwrap();
        assert_eq!(
            Route::parse("/v2/a/manifests/b/manifests/latest").unwrap(),
            Some(Route::Manifest(name.clone(), "latest".parse().unwrap()))
        );
        assert_eq!(
            Route::parse("/v2/a/manifests/b/tags/list").unwrap(),
            Some(Route::Tags(name))
        );
        let blob = Route::parse(&format!("/v2/x/y/blobs/{}", d())).unwrap();
        assert!(matches!(blob, Some(Route::Blob(n, _)) if n.as_str() == "x/y"));
        assert!(matches!(
            Route::parse("/v2/x/blobs/uploads/").unwrap(),
            Some(Route::UploadStart(_))
        ));
        let id = "0123456789abcdef0123456789abcdef";
        assert!(matches!(
            Route::parse(&format!("/v2/x/blobs/uploads/{id}")).unwrap(),
            Some(Route::Upload(_, _))
        ));
        let referrers = Route::parse(&format!("/v2/x/referrers/{}", d())).unwrap();
        assert!(matches!(referrers, Some(Route::Referrers(_, _))));
    }

    #[test]
    fn names_the_repository_and_the_answer_for_hidden_things() {
        let route = |p: &str| Route::parse(p).unwrap().unwrap();
        assert_eq!(route("/v2/a/tags/list").repository().unwrap().as_str(), "a");
        assert_eq!(route("/v2/a/manifests/v1").hidden(), Error::ManifestUnknown);
        assert_eq!(route("/v2/a/tags/list").hidden(), Error::NameUnknown);
    }

    #[test]
    fn decodes_escaped_digests() {
        let path = format!("/v2/x/blobs/{}", d().replace(':', "%3A"));
        assert!(matches!(
            Route::parse(&path).unwrap(),
            Some(Route::Blob(_, _))
        ));
    }

    #[test]
    fn refuses_bad_parts_with_spec_errors() {
        assert!(matches!(
            Route::parse("/v2/A/tags/list"),
            Err(Error::NameInvalid(_))
        ));
        assert!(matches!(
            Route::parse("/v2/../x/tags/list"),
            Err(Error::NameInvalid(_))
        ));
        assert!(matches!(
            Route::parse("/v2/a%2F..%2Fb/tags/list"),
            Err(Error::NameInvalid(_))
        ));
        assert!(matches!(
            Route::parse("/v2/x/blobs/sha256:zz"),
            Err(Error::DigestInvalid(_))
        ));
        assert!(matches!(
            Route::parse("/v2/x/manifests/-bad"),
            Ok(Some(Route::InvalidManifestReference(
                _,
                Error::NameInvalid(_)
            )))
        ));
        assert!(matches!(
            Route::parse("/v2/x/blobs/uploads/nope"),
            Err(Error::BlobUploadUnknown)
        ));
        assert_eq!(Route::parse("/v2/x/unknown/thing").unwrap(), None);
        assert_eq!(Route::parse("/api/v1/x").unwrap(), None);
    }
}

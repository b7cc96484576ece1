//! What a fetch from an upstream asks and what its answer means: the URLs of a
//! manifest and a blob in the upstream repository, the media types accepted, how
//! long Tollgate waits, which redirects carry credentials, what each status means
//! (a 404 is "not there", every other failure one upstream error), the check
//! that a fetched manifest is the one asked for, and when a fetched tag is due
//! to be re-resolved and what that came to.

use crate::error::{Error, Result};
use crate::oci::digest::Digest;
use crate::oci::reference::Reference;
use crate::storage::store::ManifestRow;
use crate::upstream::setting::Upstream;

/// The manifest media types Tollgate stores, as an `Accept` list.
/// (A literal: `concat!` takes no constants; a test checks it lists each.)
pub const MANIFEST_ACCEPT: &str =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// How long Tollgate waits for an upstream's response headers; a body then
/// streams for as long as it takes.
pub const HEADERS_TIMEOUT_MS: u32 = 10_000;

/// The most redirects a blob fetch follows (to the upstream's storage).
pub const MAX_REDIRECTS: usize = 3;

/// Whether a tag fetched from the upstream, to be re-resolved at
/// `refresh_at`, is due at `now`; a pushed tag (`None`) never is.
pub fn due(refresh_at: Option<i64>, now: i64) -> bool {
    refresh_at.is_some_and(|at| now >= at)
}

/// When a tag fetched or re-resolved at `now` is next due.
pub fn next_refresh(upstream: &Upstream, now: i64) -> i64 {
    now + i64::from(upstream.refresh_seconds)
}

/// What re-resolving a due fetched tag upstream came to.
#[derive(Debug, PartialEq)]
pub enum Resolved {
    /// The tag names the same manifest upstream as here.
    Unchanged,
    /// It moved; the manifest it names now, fetched and stored.
    Moved(ManifestRow),
    /// It stays where it was because of this error: the upstream failed, or
    /// the immutable-tag rule refused the move. The cached tag is served
    /// (stale-if-error) and the error recorded on the upstream setting.
    Kept(Error),
}

impl Resolved {
    /// What asking the upstream came to (`None`: the tag has not moved). An
    /// error of Tollgate's own is no outcome but that error.
    pub fn of(asked: Result<Option<ManifestRow>>) -> Result<Resolved> {
        match asked {
            Ok(Some(row)) => Ok(Resolved::Moved(row)),
            Ok(None) => Ok(Resolved::Unchanged),
            Err(e @ (Error::Upstream(_) | Error::ImmutableTag(_))) => Ok(Resolved::Kept(e)),
            Err(e) => Err(e),
        }
    }
}

/// The upstream URL of `reference` in the upstream repository.
pub fn manifest_url(upstream: &Upstream, reference: &Reference) -> String {
    format!(
        "{}/v2/{}/manifests/{reference}",
        upstream.url, upstream.repository
    )
}

/// The upstream URL of the blob `digest`.
pub fn blob_url(upstream: &Upstream, digest: &Digest) -> String {
    format!("{}/v2/{}/blobs/{digest}", upstream.url, upstream.repository)
}

/// Whether a request to `url` may carry the upstream's credentials: only to the
/// upstream itself. A redirect elsewhere (object storage) is followed without.
pub fn carries_credentials(upstream: &Upstream, url: &str) -> bool {
    url.strip_prefix(upstream.url.as_str())
        .is_some_and(|rest| rest.starts_with('/'))
}

/// What an upstream answer with `status` means: found, missing (`missing`,
/// the error a local miss answers), or an upstream failure.
pub fn outcome(status: u16, missing: Error) -> Result<()> {
    match status {
        200..=299 => Ok(()),
        404 => Err(missing),
        401 | 403 => Err(Error::Upstream(format!(
            "it refused Tollgate's credentials ({status})"
        ))),
        _ => Err(Error::Upstream(format!("it answered {status}"))),
    }
}

/// The failure of a fetch that got no answer.
pub fn unreachable(why: &str) -> Error {
    Error::Upstream(format!("it could not be reached ({why})"))
}

/// Checks a fetched manifest whose bytes hash to `actual`: the digest asked for,
/// when asked by digest, and the one the upstream announced in
/// `Docker-Content-Digest`, when it did. Bytes that match neither are stored
/// nowhere.
pub fn check_manifest(
    reference: &Reference,
    actual: &Digest,
    announced: Option<&str>,
) -> Result<()> {
    let expected = match reference {
        Reference::Digest(d) => Some(d.as_str()),
        Reference::Tag(_) => None,
    };
    for wanted in [expected, announced].into_iter().flatten() {
        if wanted != actual.as_str() {
            return Err(Error::Upstream(format!(
                "it served a manifest of digest {actual} for {wanted}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::digest::Algorithm;
    use crate::oci::manifest::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
    use crate::upstream::setting::{AuthKind, Upstream};

    fn upstream() -> Upstream {
        Upstream {
            url: "https://registry.example:5000".parse().unwrap(),
            repository: "acme/app".parse().unwrap(),
            auth: AuthKind::None,
            login: None,
            refresh_seconds: 300,
        }
    }

    #[test]
    fn urls_name_the_upstream_repository() {
        let tag: Reference = "v1".parse().unwrap();
        assert_eq!(
            manifest_url(&upstream(), &tag),
            "https://registry.example:5000/v2/acme/app/manifests/v1"
        );
        let d = Digest::of(Algorithm::Sha256, b"x");
        assert_eq!(
            blob_url(&upstream(), &d),
            format!("https://registry.example:5000/v2/acme/app/blobs/{d}")
        );
        for media_type in [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST] {
            assert!(MANIFEST_ACCEPT.contains(media_type), "{media_type}");
        }
    }

    #[test]
    fn a_fetched_tag_is_due_after_its_interval_and_a_pushed_one_never() {
        assert_eq!(next_refresh(&upstream(), 100), 400);
        assert!(!due(Some(400), 399));
        assert!(due(Some(400), 400));
        assert!(!due(None, i64::MAX));
    }

    #[test]
    fn an_upstream_failure_or_an_immutable_tag_keeps_the_tag_and_nothing_else_does() {
        assert_eq!(Resolved::of(Ok(None)), Ok(Resolved::Unchanged));
        for kept in [
            Error::Upstream("it answered 503".into()),
            Error::ImmutableTag("v1".into()),
        ] {
            assert_eq!(Resolved::of(Err(kept.clone())), Ok(Resolved::Kept(kept)));
        }
        let own = Error::Internal("D1 failed".into());
        assert_eq!(Resolved::of(Err(own.clone())), Err(own));
    }

    #[test]
    fn credentials_go_to_the_upstream_only() {
        let up = upstream();
        assert!(carries_credentials(
            &up,
            "https://registry.example:5000/v2/x"
        ));
        for elsewhere in [
            "https://storage.example/blob",
            "https://registry.example:5000.evil.example/v2/x",
            "http://registry.example:5000/v2/x",
            "https://registry.example/v2/x",
        ] {
            assert!(!carries_credentials(&up, elsewhere), "{elsewhere}");
        }
    }

    #[test]
    fn a_404_is_missing_and_every_other_failure_the_upstreams() {
        assert_eq!(outcome(200, Error::ManifestUnknown), Ok(()));
        assert_eq!(outcome(404, Error::BlobUnknown), Err(Error::BlobUnknown));
        for status in [401, 403, 429, 500, 502, 503, 418] {
            assert!(
                matches!(outcome(status, Error::BlobUnknown), Err(Error::Upstream(_))),
                "{status}"
            );
        }
    }

    #[test]
    fn a_manifest_must_hash_to_what_was_asked_and_announced() {
        let actual = Digest::of(Algorithm::Sha256, b"m");
        let other = Digest::of(Algorithm::Sha256, b"n");
        let tag: Reference = "v1".parse().unwrap();
        let by_digest = Reference::Digest(actual.clone());
        assert_eq!(check_manifest(&tag, &actual, None), Ok(()));
        assert_eq!(
            check_manifest(&by_digest, &actual, Some(actual.as_str())),
            Ok(())
        );
        for (reference, announced) in [
            (&tag, Some(other.as_str())),
            (&Reference::Digest(other.clone()), None),
            (&by_digest, Some(other.as_str())),
        ] {
            assert!(matches!(
                check_manifest(reference, &actual, announced),
                Err(Error::Upstream(_))
            ));
        }
    }
}

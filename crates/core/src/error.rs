//! Everything that can go wrong in a registry operation, named as the OCI
//! Distribution Specification names it, and why the deletion rules
//! (licensing/deletion.rs) or immutable tags (licensing/immutable.rs) refuse a
//! change. Every module returns these, so this one imports none. The worker's error table (src/error.rs) gives each variant its
//! OCI error code and HTTP status; the core never speaks HTTP.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    BlobUnknown,
    BlobUploadInvalid(String),
    BlobUploadUnknown,
    DigestInvalid(String),
    ManifestBlobUnknown(String),
    ManifestInvalid(String),
    ManifestUnknown,
    NameInvalid(String),
    NameUnknown,
    SizeInvalid(String),
    /// A manifest body over the size limit.
    ManifestTooLarge(usize),
    /// A chunk that does not continue the upload where it stands; `offset` is
    /// where the upload stands.
    ChunkOutOfOrder {
        offset: u64,
    },
    /// A blob `Range` outside the blob.
    RangeNotSatisfiable {
        size: u64,
    },
    Unauthorized,
    Denied,
    Unsupported(String),
    /// A method the endpoint does not offer.
    MethodNotAllowed,
    /// A path that is no registry endpoint.
    UnknownEndpoint,
    /// Too many failed credential checks; try again after this many seconds.
    TooManyRequests(u64),
    /// A read that every license granting it refuses for a usage cap reached
    /// (licensing/caps.rs): what the message says, again after this many seconds.
    CapReached {
        message: String,
        retry_after: u64,
    },
    /// A management request with a field that breaks a rule (the message says which).
    Invalid(String),
    /// A management request whose body is not of the media type the endpoint reads.
    UnsupportedMediaType(&'static str),
    /// A management request for something that does not exist (or is hidden).
    NotFound(&'static str),
    /// A management request that clashes with what is stored.
    Conflict(String),
    /// A deletion the deletion rules forbid.
    Refused(Refusal),
    /// A push that would move, or a deletion that would remove, this tag, which
    /// the artifact's immutable-tag setting covers (licensing/immutable.rs).
    ImmutableTag(String),
    /// An artifact's upstream registry (docs/pull-through.md) failed what a pull
    /// needed from it: unreachable, too slow, a 5xx, credentials it refused, or
    /// content that does not match its digest. The message says which.
    Upstream(String),
    /// A failure of a store (D1, R2, SQLite); never the client's fault.
    Internal(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BlobUnknown => f.write_str("blob unknown to registry"),
            Error::BlobUploadUnknown => f.write_str("blob upload unknown to registry"),
            Error::ManifestUnknown => f.write_str("manifest unknown to registry"),
            Error::NameUnknown => f.write_str("repository name not known to registry"),
            Error::Unauthorized => f.write_str("authentication required"),
            Error::Denied => f.write_str("requested access to the resource is denied"),
            Error::TooManyRequests(_) => f.write_str("too many failed attempts; try again later"),
            Error::NotFound(what) => write!(f, "{what} not found"),
            Error::UnsupportedMediaType(wanted) => write!(f, "the body must be {wanted}"),
            Error::MethodNotAllowed => f.write_str("method not allowed on this endpoint"),
            Error::UnknownEndpoint => f.write_str("no such endpoint"),
            Error::Refused(refusal) => refusal.fmt(f),
            Error::ImmutableTag(tag) => write!(
                f,
                "tag {tag} is immutable for this artifact: it cannot be moved to another \
                 digest or deleted, nor the manifest it points at (docs/immutable-tags.md)"
            ),
            Error::Upstream(why) => write!(f, "the upstream registry failed: {why}"),
            Error::ManifestBlobUnknown(d) => write!(f, "manifest references unknown blob {d}"),
            Error::ManifestTooLarge(limit) => write!(f, "manifest exceeds the {limit}-byte limit"),
            Error::ChunkOutOfOrder { offset } => {
                write!(f, "chunk does not start at the upload's offset {offset}")
            }
            Error::RangeNotSatisfiable { size } => {
                write!(f, "requested range is outside the blob of {size} bytes")
            }
            Error::BlobUploadInvalid(m)
            | Error::DigestInvalid(m)
            | Error::ManifestInvalid(m)
            | Error::NameInvalid(m)
            | Error::SizeInvalid(m)
            | Error::Unsupported(m)
            | Error::Invalid(m)
            | Error::Conflict(m)
            | Error::Internal(m)
            | Error::CapReached { message: m, .. } => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// Why a deletion was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The tag is the only named one on a digest a license covers.
    LastTagOfLicensedDigest,
    /// The digest is licensed through a tag pattern that no other tag of it matches.
    LastMatchingTag,
    /// The tag (or the manifest's tags) are the artifact's last named ones.
    LastTag,
    /// A license covers the manifest.
    LicensedManifest,
    /// A license covers a manifest that references the blob.
    LicensedBlob,
    /// An active license names the artifact.
    LicensedArtifact,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::LastTagOfLicensedDigest => {
                "cannot delete the last tag of a licensed digest: tag the digest again first"
            }
            Refusal::LastMatchingTag => {
                "a license covers this digest through a tag pattern only this tag matches: \
                 add another matching tag or change the license first"
            }
            Refusal::LastTag => "at least one tag must remain: this is the artifact's last tag",
            Refusal::LicensedManifest => "a license covers this manifest: change the license first",
            Refusal::LicensedBlob => {
                "a license covers a manifest that references this blob: change the license first"
            }
            Refusal::LicensedArtifact => {
                "an active license references this artifact: delete or change the license first"
            }
        })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

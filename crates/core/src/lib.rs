//! Tollgate's registry core: every OCI Distribution rule that can be decided without
//! a Cloudflare binding — names, references, digests, manifests, the upload life cycle,
//! request routing, accounts, tokens, the access policy, licenses and the deletion
//! rules — and the SQL store. It knows nothing of HTTP or Workers; the worker crates
//! translate between those and this.

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod bundles;
pub mod cache;
pub mod error;
pub mod licensing;
pub mod oci;
pub mod storage;
pub mod time;
pub mod upstream;

pub use error::{Error, Result};
pub use oci::digest::{Algorithm, Digest, Hasher};
pub use oci::name::RepoName;
pub use oci::reference::{Reference, Tag};

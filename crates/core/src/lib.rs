//! Tollgate's registry core: every OCI Distribution rule that can be decided without
//! a Cloudflare binding — names, references, digests, manifests, the upload life cycle,
//! request routing, accounts, tokens, the access policy, licenses and the deletion
//! rules — and the SQL store. It knows nothing of HTTP or Workers; the worker crates
//! translate between those and this.

pub mod account;
pub mod accounts;
pub mod artifacts;
pub mod credentials;
pub mod deletion;
pub mod digest;
pub mod downloads;
pub mod error;
pub mod gc;
pub mod jwt;
pub mod kind;
pub mod license;
pub mod licenses;
pub mod manifest;
pub mod manifest_objects;
pub mod name;
pub mod objects;
pub mod pattern;
pub mod policy;
pub mod range;
pub mod reference;
pub mod route;
pub mod scope;
pub mod secret;
pub mod sessions;
pub mod sql;
pub mod store;
pub mod time;
pub mod upload;
pub mod uploads;

pub use digest::{Algorithm, Digest, Hasher};
pub use error::{Error, Result};
pub use name::RepoName;
pub use reference::{Reference, Tag};

//! The OCI Distribution protocol's vocabulary and rules, with no storage behind
//! them: content digests and the resumable hasher, repository names, references,
//! manifest parsing, upload sessions and how chunks continue them, byte ranges of
//! blobs, and the `/v2/` URL space. Everything else in the core builds on these.

pub mod digest;
pub mod manifest;
pub mod name;
pub mod range;
pub mod reference;
pub mod route;
pub mod upload_session;

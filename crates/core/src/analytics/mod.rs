//! What vendors learn about their artifacts (docs/analytics.md): download events and
//! daily pull counts, the artifact views built from them, and the kind of artifact a
//! manifest is.

pub mod artifact_kind;
pub mod artifacts;
pub mod downloads;

//! What customers may pull and what may be deleted (docs/licensing.md): licenses
//! (`license` for the rules and types, `license_store` for their SQL and the grant
//! queries), the tag patterns licenses name versions by, which readable version
//! is the newest, the deletion rules
//! that keep every license's versions in place, and immutable tags, which keep
//! the tags an artifact's setting names where they were first pushed, and usage
//! caps (`caps`), which stop a license from granting once a month's pulls or bytes
//! reach them.

pub mod caps;
pub mod deletion;
pub mod immutable;
pub mod license;
pub mod license_store;
pub mod newest;
pub mod pattern;

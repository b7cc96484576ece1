//! Pull-through from an upstream registry (docs/pull-through.md): an artifact may
//! be backed by a repository of another registry, whose content Tollgate fetches
//! when a pull asks for what is not stored. This module owns what such a setting
//! may say ([`setting`]: the registry URL, the repository, the credentials) and how
//! it is kept ([`store`]: the credentials sealed with a key the core never sees),
//! how Tollgate logs in there ([`login`]: Basic, or the Docker token flow) and
//! what a fetch asks and its answer means ([`fetch`]), and which fetched tags a
//! scheduled sync re-resolves ([`sync`]).

pub mod fetch;
pub mod login;
pub mod setting;
pub mod store;
pub mod sync;

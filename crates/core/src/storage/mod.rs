//! How registry content is kept: the SQL interface (D1 in the worker, SQLite in the
//! tests) and the registry's tables over it, the object store (R2, or memory) and
//! what lives in it — the blob upload life cycle and large manifests — and garbage
//! collection of what nothing references any more.

pub mod gc;
pub mod manifest_objects;
pub mod object_store;
pub mod paging;
pub mod sql;
pub mod store;
pub mod uploads;

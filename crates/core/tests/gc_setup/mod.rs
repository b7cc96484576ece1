//! What the garbage-collection tests share: the settings they collect with and the
//! clock they place everything relative to.

use std::time::{SystemTime, UNIX_EPOCH};

use tollgate_core::storage::gc::Settings;
use tollgate_core::RepoName;

pub const GRACE: i64 = 100;
pub const TTL: i64 = 1000;

pub fn settings() -> Settings {
    Settings::new(GRACE, TTL)
}

/// Now, as the deletion trigger's clock sees it: the tests place everything relative
/// to it.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn repo(s: &str) -> RepoName {
    s.parse().unwrap()
}

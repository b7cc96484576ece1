//! Usage caps (docs/licensing.md): the most pulls and blob bytes a license gives
//! per UTC calendar month, what a license used, and when it is over a cap: once
//! its counted use this month has reached the cap, until the month ends.
//! `licensing::license::access` applies them to a read.

use serde::{Deserialize, Serialize};

/// A license's caps; `None` is no cap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caps {
    #[serde(default)]
    pub max_pulls_per_month: Option<i64>,
    #[serde(default)]
    pub max_bytes_per_month: Option<i64>,
}

impl Caps {
    /// Whether any cap is set.
    pub fn any(self) -> bool {
        self.max_pulls_per_month.is_some() || self.max_bytes_per_month.is_some()
    }

    /// The caps, refused unless each set one is positive.
    pub fn checked(self) -> crate::error::Result<Caps> {
        let bad = [self.max_pulls_per_month, self.max_bytes_per_month]
            .into_iter()
            .flatten()
            .any(|cap| cap < 1);
        match bad {
            true => Err(crate::error::Error::Invalid(
                "max_pulls_per_month and max_bytes_per_month must be at least 1".into(),
            )),
            false => Ok(self),
        }
    }
}

/// What a license has used in a month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Used {
    pub pulls: i64,
    pub bytes: i64,
}

/// What a license used in the current UTC month (`YYYY-MM`), as counted so far
/// (counting lags the reads: docs/licensing.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub month: String,
    pub pulls: i64,
    pub bytes: i64,
}

/// Which cap a license reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    Pulls,
    Bytes,
}

/// A cap reached: which, its limit, and when it resets (Unix seconds: the start of
/// the next UTC month).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverCap {
    pub cap: Cap,
    pub limit: i64,
    pub resets_at: i64,
}

impl std::fmt::Display for OverCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.cap {
            Cap::Pulls => "pulls",
            Cap::Bytes => "bytes",
        };
        write!(
            f,
            "the license's cap of {} {what} per month is reached; it resets at {}",
            self.limit,
            crate::time::rfc3339(self.resets_at)
        )
    }
}

impl OverCap {
    /// The error a read refused for this cap at `now` answers.
    pub fn error(self, now: i64) -> crate::error::Error {
        crate::error::Error::CapReached {
            message: self.to_string(),
            retry_after: (self.resets_at - now).max(1) as u64,
        }
    }
}

/// The cap `caps` has reached with `used` at `now`, if any.
pub fn over_cap(caps: Caps, used: Used, now: i64) -> Option<OverCap> {
    let reached = |cap, limit: Option<i64>, used| {
        limit.filter(|&limit| used >= limit).map(|limit| OverCap {
            cap,
            limit,
            resets_at: crate::time::next_month(now),
        })
    };
    reached(Cap::Pulls, caps.max_pulls_per_month, used.pulls)
        .or_else(|| reached(Cap::Bytes, caps.max_bytes_per_month, used.bytes))
}

//! What a request handler works with: the D1 store, the R2 bucket, the clock and
//! the configuration read from the environment.

use tollgate_core::store::Store;
use tollgate_core::{Error, Result};
use worker::{Bucket, Date, Env};

use crate::d1::D1;
use crate::error::internal;

/// Upload sessions idle longer than this are gone (`BLOB_UPLOAD_UNKNOWN`).
const DEFAULT_UPLOAD_TTL_SECONDS: i64 = 24 * 60 * 60;

pub struct App {
    pub db: D1,
    pub bucket: Bucket,
    /// Unix seconds at the start of the request.
    pub now: i64,
    pub upload_ttl: i64,
}

impl App {
    pub fn new(env: &Env) -> Result<Self> {
        let upload_ttl = match env.var("UPLOAD_TTL_SECONDS") {
            Ok(v) => v
                .to_string()
                .parse()
                .map_err(|_| Error::Internal("UPLOAD_TTL_SECONDS is not a number".into()))?,
            Err(_) => DEFAULT_UPLOAD_TTL_SECONDS,
        };
        Ok(App {
            db: D1(env.d1("DB").map_err(internal)?),
            bucket: env.bucket("BLOBS").map_err(internal)?,
            now: now(),
            upload_ttl,
        })
    }

    pub fn store(&self) -> Store<'_, D1> {
        Store::new(&self.db)
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    (Date::now().as_millis() / 1000) as i64
}

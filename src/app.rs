//! What a request handler works with: the D1 store, the R2 bucket, the isolate's
//! caches, the clock, the configuration read from the environment, and who is
//! calling.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tollgate_core::auth::account_store::{Accounts, Limits};
use tollgate_core::auth::jwt::Signer;
use tollgate_core::auth::sessions::Sessions;
use tollgate_core::cache::read_path::TargetKey;
use tollgate_core::licensing::deletion::Deletions;
use tollgate_core::licensing::immutable::Immutability;
use tollgate_core::licensing::license::Access;
use tollgate_core::licensing::license_store::{Licenses, Target};
use tollgate_core::storage::store::Store;
use tollgate_core::storage::uploads::{Platform, Uploads};
use tollgate_core::{Error, RepoName, Result};
use tollgate_d1::D1;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{js_sys, Env, EnvBinding};

use crate::auth::Caller;
use crate::cache::RequestCache;
use crate::error::internal;
use crate::r2::R2;

/// Upload sessions idle longer than this are gone (`BLOB_UPLOAD_UNKNOWN`).
const DEFAULT_UPLOAD_TTL_SECONDS: i64 = 24 * 60 * 60;

/// The largest request body Cloudflare's edge passes to a worker on the Free and Pro
/// plans (100 MB; Business 200 MB, Enterprise 500 MB). Upload responses advertise it
/// as `OCI-Chunk-Max-Length`, so clients that read it cut their chunks to fit.
const DEFAULT_UPLOAD_CHUNK_MAX_BYTES: i64 = 100_000_000;

/// How long a pull may serve what an earlier pull read (docs/edge.md): a write
/// made elsewhere is seen at most this long after it. 0 caches nothing.
const DEFAULT_CACHE_TTL_SECONDS: i64 = 5;

/// The largest blob whose bytes go into the colo cache: Cloudflare's Cache API
/// holds objects up to 512 MB on every plan.
const DEFAULT_BLOB_CACHE_MAX_BYTES: i64 = 512_000_000;

/// Failed credential checks allowed per account from one client address, and per
/// client address, before that key answers 429; the window is how far apart
/// failures may be to count together, and the first refusal's length (see
/// `Limits`).
const DEFAULT_LIMITS: Limits = Limits {
    per_account: 10,
    per_address: 100,
    window: 15 * 60,
};

pub struct App {
    pub db: D1,
    pub objects: R2,
    /// Unix seconds at the start of the request.
    pub now: i64,
    pub upload_ttl: i64,
    pub upload_chunk_max: i64,
    pub limits: Limits,
    pub cache: RequestCache,
    pub blob_cache_max: u64,
    pub env: Env,
    /// Who is calling, once authenticated.
    pub caller: Option<Caller>,
}

/// The variable `name` as a number, `default` when it is not set.
pub fn number(env: &Env, name: &str, default: i64) -> Result<i64> {
    match env.var(name) {
        Ok(v) => v
            .to_string()
            .parse()
            .map_err(|_| Error::Internal(format!("{name} is not a number"))),
        Err(_) => Ok(default),
    }
}

/// What the environment's variables configure. They cannot change while an
/// isolate lives, so they are read once per isolate, not on every request.
#[derive(Clone, Copy)]
struct Config {
    upload_ttl: i64,
    upload_chunk_max: i64,
    limits: Limits,
    cache_ttl: u64,
    blob_cache_max: u64,
}

impl Config {
    fn of(env: &Env) -> Result<Config> {
        thread_local! {
            static READ: Cell<Option<Config>> = const { Cell::new(None) };
        }
        if let Some(config) = READ.get() {
            return Ok(config);
        }
        let number = |name: &str, default: i64| number(env, name, default);
        let config = Config {
            upload_ttl: number("UPLOAD_TTL_SECONDS", DEFAULT_UPLOAD_TTL_SECONDS)?,
            upload_chunk_max: number("UPLOAD_CHUNK_MAX_BYTES", DEFAULT_UPLOAD_CHUNK_MAX_BYTES)?,
            limits: Limits {
                per_account: number("AUTH_FAILURES_PER_ACCOUNT", DEFAULT_LIMITS.per_account)?,
                per_address: number("AUTH_FAILURES_PER_ADDRESS", DEFAULT_LIMITS.per_address)?,
                window: number("AUTH_FAILURE_WINDOW_SECONDS", DEFAULT_LIMITS.window)?,
            },
            cache_ttl: number("CACHE_TTL_SECONDS", DEFAULT_CACHE_TTL_SECONDS)?.max(0) as u64,
            blob_cache_max: number("BLOB_CACHE_MAX_BYTES", DEFAULT_BLOB_CACHE_MAX_BYTES)?.max(0)
                as u64,
        };
        READ.set(Some(config));
        Ok(config)
    }
}

impl App {
    pub fn new(env: &Env) -> Result<Self> {
        let config = Config::of(env)?;
        let started = now_ms();
        Ok(App {
            db: D1::new(binding(env, "DB")?),
            objects: R2::new(binding(env, "BLOBS")?),
            now: (started / 1000) as i64,
            upload_ttl: config.upload_ttl,
            upload_chunk_max: config.upload_chunk_max,
            limits: config.limits,
            cache: RequestCache::begin(config.cache_ttl, started),
            blob_cache_max: config.blob_cache_max,
            env: env.clone(),
            caller: None,
        })
    }

    pub fn store(&self) -> Store<'_, D1> {
        Store::new(&self.db)
    }

    /// The blob upload life cycle, over D1 and R2.
    pub fn uploads(&self) -> Uploads<'_, D1, R2> {
        let platform = Platform {
            clock: now,
            random: random::<16>,
        };
        Uploads::new(&self.db, &self.objects, platform, self.upload_ttl)
    }

    pub fn accounts(&self) -> Accounts<'_, D1> {
        Accounts::new(&self.db)
    }

    pub fn sessions(&self) -> Sessions<'_, D1> {
        Sessions::new(&self.db)
    }

    pub fn licenses(&self) -> Licenses<'_, D1> {
        Licenses::new(&self.db)
    }

    pub fn deletions(&self) -> Deletions<'_, D1> {
        Deletions::new(&self.db)
    }

    pub fn immutability(&self) -> Immutability<'_, D1> {
        Immutability::new(&self.db)
    }

    /// What the caller's read of `target` in `repo` is: granted to vendor staff
    /// always (the policy has let them this far); for a customer, what its
    /// licenses and their caps say (`licensing::license::access`). `known` is that
    /// answer when it already came with an earlier round trip.
    pub async fn access(
        &self,
        repo: &RepoName,
        target: Target<'_>,
        known: Option<Access>,
    ) -> Result<Access> {
        match (self.caller()?.customer(), known) {
            (None, _) => Ok(Access::Granted { license: None }),
            (Some(_), Some(verdict)) => Ok(verdict),
            (Some(customer), None) => {
                let key = TargetKey::new(repo, target);
                if let Some(verdict) = self.cache.verdict(customer, &key) {
                    return Ok(verdict);
                }
                let licenses = self.licenses();
                let found = licenses.access(customer, repo, target, self.now).await?;
                self.cache.keep_verdict(customer, key, found.clone());
                Ok(found.0)
            }
        }
    }

    /// The `Server-Timing` value of this request so far: D1 round trips and R2
    /// calls with the time spent waiting on them, and what each cache answered.
    pub fn server_timing(&self) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(96);
        for (name, m) in [("d1", &self.db.meter), ("r2", &self.objects.meter)] {
            // Tenths of a millisecond in integers: float formatting was most of
            // this header's cost.
            let tenths = (m.millis() * 10.0).round() as u64;
            let (whole, tenth) = (tenths / 10, tenths % 10);
            let sep = if out.is_empty() { "" } else { ", " };
            let _ = write!(out, "{sep}{name};count={};dur={whole}.{tenth}", m.calls());
        }
        let cache = self.cache.report();
        if !cache.is_empty() {
            let _ = write!(out, ", cache;desc=\"{cache}\"");
        }
        out
    }

    /// A secret's value, empty when unset.
    pub fn secret(&self, name: &str) -> String {
        self.env
            .secret(name)
            .map(|s| s.to_string())
            .unwrap_or_default()
    }

    /// The token signer for the `TOLLGATE_JWT_KEY` secret, derived once per isolate.
    pub fn signer(&self) -> Result<Rc<Signer>> {
        thread_local! {
            static CACHE: RefCell<Option<(String, Rc<Signer>)>> = const { RefCell::new(None) };
        }
        let seed = self.secret("TOLLGATE_JWT_KEY");
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            if let Some((cached_seed, signer)) = cache.as_ref() {
                if *cached_seed == seed {
                    return Ok(signer.clone());
                }
            }
            let signer = Rc::new(Signer::from_seed_hex(&seed)?);
            *cache = Some((seed, signer.clone()));
            Ok(signer)
        })
    }

    /// The caller; handlers behind authentication always have one.
    pub fn caller(&self) -> Result<&Caller> {
        self.caller.as_ref().ok_or(Error::Unauthorized)
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    (now_ms() / 1000) as i64
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    // The static `Date.now()`: `worker::Date::now()` builds a `Date` object
    // first, a cost every request paid several times.
    js_sys::Date::now() as u64
}

/// `N` bytes from the platform's cryptographic random source.
pub fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(bytes)
}

/// The environment's binding `name`, looked up and type-checked once per isolate:
/// bindings are fixed for the worker version an isolate runs, and the check reads
/// the binding's constructor name through JavaScript, a cost every pull would pay.
pub fn binding<T: EnvBinding>(env: &Env, name: &'static str) -> Result<T> {
    thread_local! {
        static FOUND: RefCell<Vec<(&'static str, JsValue)>> = const { RefCell::new(Vec::new()) };
    }
    let found = FOUND.with_borrow(|found| {
        found
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.clone())
    });
    if let Some(value) = found {
        return Ok(value.unchecked_into());
    }
    let value: T = env.get_binding(name).map_err(internal)?;
    FOUND.with_borrow_mut(|found| found.push((name, value.as_ref().clone())));
    Ok(value)
}

//! The isolate's read-path caches (the core's `cache::read_path`, one per isolate)
//! and blob bytes in the colo's Cache API: what one request took from them, for
//! `Server-Timing`. The rules — what may be kept, how long, which writes empty
//! them — are the core's; docs/edge.md tells the consistency model.

use std::cell::RefCell;
use std::collections::HashSet;

use tollgate_core::auth::account::Identity;
use tollgate_core::cache::read_path::{CredentialKey, ReadCache, TargetKey, Ticket, Written};
use tollgate_core::licensing::license::Access;
use tollgate_core::licensing::license_store::Readable;
use tollgate_core::storage::store::{BlobRow, ManifestRow};
use tollgate_core::{Digest, RepoName, Result};
use worker::{Bucket, Cache, Context, Response, ResponseBody};

use crate::app::now_ms;
use crate::error::internal;
use crate::http::headers;

thread_local! {
    static READS: RefCell<ReadCache> = RefCell::new(ReadCache::default());
    /// Blobs whose bytes this isolate is copying into the colo cache now.
    static FILLING: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
}

/// A request finished in this isolate: nothing it changed that was read before it
/// is served after it.
pub fn written(written: &Written) {
    READS.with(|reads| reads.borrow_mut().written(written));
}

/// One request's view of the caches: the ticket its reads are kept under, and
/// what it found in each cache it asked.
pub struct RequestCache {
    ticket: Ticket,
    outcomes: RefCell<Vec<(&'static str, &'static str)>>,
}

impl RequestCache {
    /// A request beginning at `now_ms`, with entries living `ttl_seconds`.
    pub fn begin(ttl_seconds: u64, now_ms: u64) -> Self {
        let ticket = READS.with(|reads| {
            let mut reads = reads.borrow_mut();
            reads.set_ttl(ttl_seconds);
            reads.ticket(now_ms)
        });
        RequestCache {
            ticket,
            outcomes: RefCell::new(Vec::new()),
        }
    }

    /// Notes what the cache `name` answered: `hit`, `miss` or `skip`.
    pub fn note(&self, name: &'static str, outcome: &'static str) {
        self.outcomes.borrow_mut().push((name, outcome));
    }

    /// `name=outcome …` for every cache this request asked.
    pub fn report(&self) -> String {
        let outcomes = self.outcomes.borrow();
        let parts: Vec<String> = outcomes.iter().map(|(n, o)| format!("{n}={o}")).collect();
        parts.join(" ")
    }

    fn ask<T>(
        &self,
        name: &'static str,
        get: impl FnOnce(&mut ReadCache, u64) -> Option<T>,
    ) -> Option<T> {
        let found = READS.with(|reads| get(&mut reads.borrow_mut(), now_ms()));
        self.note(name, if found.is_some() { "hit" } else { "miss" });
        found
    }

    fn keep(&self, put: impl FnOnce(&mut ReadCache, Ticket)) {
        READS.with(|reads| put(&mut reads.borrow_mut(), self.ticket));
    }

    pub fn identity(&self, key: &CredentialKey) -> Option<Identity> {
        self.ask("credential", |reads, now| reads.identity(key, now))
    }

    pub fn keep_identity(&self, key: CredentialKey, identity: Identity, expires_at: Option<i64>) {
        self.keep(|reads, ticket| reads.keep_identity(ticket, key, identity, expires_at));
    }

    pub fn verdict(&self, customer: &str, target: &TargetKey) -> Option<Access> {
        self.ask("verdict", |reads, now| reads.verdict(customer, target, now))
    }

    pub fn keep_verdict(&self, customer: &str, target: TargetKey, found: (Access, Option<i64>)) {
        self.keep(|reads, ticket| reads.keep_verdict(ticket, customer, target, found));
    }

    pub fn readable(&self, customer: &str, repo: &RepoName) -> Option<Readable> {
        self.ask("licenses", |reads, now| reads.readable(customer, repo, now))
    }

    pub fn keep_readable(&self, customer: &str, repo: &RepoName, readable: Readable) {
        self.keep(|reads, ticket| reads.keep_readable(ticket, customer, repo, readable));
    }
}

/// A manifest or blob row, as the read-path cache keeps it.
pub trait Row: Clone + Sized {
    fn cached(cache: &RequestCache, target: &TargetKey) -> Option<Self>;
    fn keep(self, cache: &RequestCache, target: TargetKey);
}

impl Row for ManifestRow {
    fn cached(cache: &RequestCache, target: &TargetKey) -> Option<Self> {
        cache.ask("row", |reads, now| reads.manifest(target, now))
    }

    fn keep(self, cache: &RequestCache, target: TargetKey) {
        cache.keep(|reads, ticket| reads.keep_manifest(ticket, target, self));
    }
}

impl Row for BlobRow {
    fn cached(cache: &RequestCache, target: &TargetKey) -> Option<Self> {
        cache.ask("row", |reads, now| reads.blob(target, now))
    }

    fn keep(self, cache: &RequestCache, target: TargetKey) {
        cache.keep(|reads, ticket| reads.keep_blob(ticket, target, self));
    }
}

/// A blob's bytes in the colo's Cache API, under a URL of this origin named by its
/// digest: content-addressed bytes never change, so an entry is never stale. The
/// cache holds bytes only; whether a caller may read them is decided before it
/// is asked, on every request.
pub struct BlobBytes {
    key: String,
    digest: String,
    size: u64,
}

/// Marks an entry as this worker's copy of the blob it names.
const DIGEST_HEADER: &str = "Tollgate-Blob-Digest";

/// Far in the future: the colo may still evict an entry at any time.
const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

impl BlobBytes {
    /// The cache entry of `digest` (`size` bytes) on `origin`; `None` when the blob
    /// is larger than `max_bytes`, the most the cache is asked to hold.
    pub fn new(origin: &str, digest: &Digest, size: u64, max_bytes: u64) -> Option<Self> {
        (size <= max_bytes).then(|| BlobBytes {
            key: format!("{origin}/__tollgate/blob-cache/{digest}"),
            digest: digest.to_string(),
            size,
        })
    }

    /// The cached bytes, if the colo has all of them as this worker stored them.
    pub async fn get(&self) -> Result<Option<ResponseBody>> {
        let found = Cache::default().get(self.key.as_str(), false).await;
        let Some(found) = found.map_err(internal)? else {
            return Ok(None);
        };
        let header = |name| found.headers().get(name).ok().flatten();
        let length = header("Content-Length").and_then(|l| l.parse::<u64>().ok());
        if length != Some(self.size) || header(DIGEST_HEADER).as_ref() != Some(&self.digest) {
            return Ok(None);
        }
        Ok(Some(found.into_parts().1))
    }

    /// Copies the object `key` of `bucket` into the cache once the response is on
    /// its way. The copy reads R2 again rather than splitting the client's
    /// stream: a split buffers whatever one side reads faster than the other, in
    /// the isolate's memory. One copy per blob per isolate at a time.
    pub fn fill_later(self, ctx: &Context, bucket: Bucket, object_key: String) {
        let started = FILLING.with(|f| f.borrow_mut().insert(self.key.clone()));
        if !started {
            return;
        }
        ctx.wait_until(async move {
            if let Err(e) = self.fill(&bucket, &object_key).await {
                worker::console_error!("caching {}: {e}", self.key);
            }
            FILLING.with(|f| f.borrow_mut().remove(&self.key));
        });
    }

    async fn fill(&self, bucket: &Bucket, object_key: &str) -> Result<()> {
        let object = bucket.get(object_key).execute().await.map_err(internal)?;
        let Some(body) = object.as_ref().and_then(|o| o.body()) else {
            return Ok(());
        };
        let length = self.size.to_string();
        let pairs = [
            ("Content-Length", length.as_str()),
            ("Cache-Control", CACHE_CONTROL),
            (DIGEST_HEADER, self.digest.as_str()),
        ];
        let body = body.response_body().map_err(internal)?;
        let response = Response::from_body(body).map_err(internal)?;
        let response = response.with_headers(headers(&pairs));
        Cache::default()
            .put(self.key.as_str(), response)
            .await
            .map_err(internal)
    }
}

//! What a pull may take from the isolate's memory instead of the database: who a
//! credential is, whether a customer's licenses grant a manifest or blob, what
//! they grant of an artifact (for its tag list), and the manifest and blob rows
//! themselves.
//!
//! The consistency model (docs/edge.md): a write made through this isolate — any
//! request that is not a GET or HEAD, unless it was refused — empties what it may
//! have changed when it finishes (see [`Written`]), so the isolate's next read
//! sees it; a write made elsewhere (another isolate,
//! another colo, a direct database change) is seen once the entries read before it
//! expire, at most `ttl` after the read that cached them began. Expiry is exact
//! all the same: an entry about a token or license lives no longer than it does.
//! Only what exists is cached: an unknown credential is looked up (and its failure
//! counted) every time, and a missing manifest or blob is asked for again.

use crate::auth::account::Identity;
use crate::licensing::license::Access;
use crate::licensing::license_store::{Readable, Target};
use crate::oci::name::RepoName;
use crate::oci::reference::Reference;
use crate::oci::route::{Method, Route};
use crate::storage::store::{BlobRow, ManifestRow};

use super::bounded::Bounded;

/// When and under which generation a read began; what it found may be kept only
/// if no write finished since, and for no longer than the TTL from its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    generation: u64,
    /// Milliseconds on the caller's clock.
    started_ms: u64,
}

/// What a token or bearer token is looked up by: never the secret itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CredentialKey {
    /// An account's email and the hash of its personal access token.
    Token { email: String, hash: String },
    /// A bearer token's account, and the personal access token it was issued for.
    Bearer {
        user_id: String,
        token_id: Option<String>,
    },
}

/// What a finished request may have changed, as far as the caches are concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    Nothing,
    /// A registry write: a push, upload or deletion changes its repository's
    /// manifests, tags and blobs, and with them which of its versions a license
    /// grants; never an account or a license.
    Repository(RepoName),
    /// A personal access token revoked: its account's cached credentials may name
    /// it, and no license, row or verdict changes.
    Credentials,
    /// Anything else that is not a read (the rest of the management API): it may
    /// change accounts, tokens and licenses.
    Everything,
}

/// Writes that change nothing the caches hold, so that any account — a customer
/// user included — may make them at will without sending every following pull
/// of the isolate to the database: a bearer token issued at `/token`, a dashboard
/// session opened, closed or revoked (sessions are never cached), a personal
/// access token created (only credentials that exist are cached).
const CHANGING_NOTHING_CACHED: [(&str, Method); 4] = [
    ("/token", Method::Post),
    ("/api/v1/session", Method::Post),
    ("/api/v1/session", Method::Delete),
    ("/api/v1/tokens", Method::Post),
];

impl Written {
    pub fn of(path: &str, method: Method) -> Written {
        if matches!(method, Method::Get | Method::Head)
            || CHANGING_NOTHING_CACHED.contains(&(path, method))
        {
            return Written::Nothing;
        }
        if method == Method::Delete {
            if let Some(id) = path.strip_prefix("/api/v1/") {
                match id.split_once('/') {
                    Some(("sessions", id)) if !id.contains('/') => return Written::Nothing,
                    Some(("tokens", id)) if !id.contains('/') => return Written::Credentials,
                    _ => {}
                }
            }
        }
        let route = Route::parse(path).ok().flatten();
        match route.as_ref().and_then(Route::repository) {
            Some(repo) => Written::Repository(repo.clone()),
            None => Written::Everything,
        }
    }
}

/// A manifest (by tag or digest) or blob in a repository.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TargetKey {
    repo: String,
    blob: bool,
    value: String,
}

impl TargetKey {
    pub fn new(repo: &RepoName, target: Target) -> Self {
        let (blob, value) = match target {
            Target::Manifest(Reference::Tag(tag)) => (false, tag.as_str().to_owned()),
            Target::Manifest(Reference::Digest(digest)) => (false, digest.as_str().to_owned()),
            Target::Blob(digest) => (true, digest.as_str().to_owned()),
        };
        TargetKey {
            repo: repo.as_str().to_owned(),
            blob,
            value,
        }
    }

    fn weight(&self) -> usize {
        ENTRY_OVERHEAD + self.repo.len() + self.value.len()
    }
}

/// What an entry costs beyond its strings: map slots, lengths, timestamps.
const ENTRY_OVERHEAD: usize = 128;
/// Bytes each cache may hold in one isolate (a worker has 128 MB in all).
const CREDENTIALS_CAPACITY: usize = 2 << 20;
const VERDICTS_CAPACITY: usize = 2 << 20;
const MANIFESTS_CAPACITY: usize = 16 << 20;
const BLOBS_CAPACITY: usize = 2 << 20;
const READABLE_CAPACITY: usize = 4 << 20;

pub struct ReadCache {
    generation: u64,
    ttl_ms: u64,
    credentials: Bounded<CredentialKey, Identity>,
    verdicts: Bounded<(String, TargetKey), Access>,
    manifests: Bounded<TargetKey, ManifestRow>,
    blobs: Bounded<TargetKey, BlobRow>,
    readable: Bounded<(String, String), Readable>,
}

impl Default for ReadCache {
    fn default() -> Self {
        ReadCache {
            generation: 0,
            ttl_ms: 0,
            credentials: Bounded::new(CREDENTIALS_CAPACITY),
            verdicts: Bounded::new(VERDICTS_CAPACITY),
            manifests: Bounded::new(MANIFESTS_CAPACITY),
            blobs: Bounded::new(BLOBS_CAPACITY),
            readable: Bounded::new(READABLE_CAPACITY),
        }
    }
}

impl ReadCache {
    /// Sets how long entries live; a change empties the caches, so no entry
    /// outlives the bound in force when it is read.
    pub fn set_ttl(&mut self, ttl_seconds: u64) {
        let ttl_ms = ttl_seconds.saturating_mul(1000);
        if ttl_ms != self.ttl_ms {
            self.ttl_ms = ttl_ms;
            self.written(&Written::Everything);
        }
    }

    /// A read beginning now: what it finds is kept under this ticket.
    pub fn ticket(&self, now_ms: u64) -> Ticket {
        Ticket {
            generation: self.generation,
            started_ms: now_ms,
        }
    }

    /// A write finished: nothing it may have changed that was read before it is
    /// served after it, and no read still running keeps what it found.
    pub fn written(&mut self, written: &Written) {
        match written {
            Written::Nothing => return,
            Written::Repository(repo) => {
                let repo = repo.as_str();
                self.verdicts.retain(|(_, target)| target.repo != repo);
                self.manifests.retain(|target| target.repo != repo);
                self.blobs.retain(|target| target.repo != repo);
                self.readable.retain(|(_, of)| of != repo);
            }
            Written::Credentials => self.credentials.clear(),
            Written::Everything => {
                self.credentials.clear();
                self.verdicts.clear();
                self.manifests.clear();
                self.blobs.clear();
                self.readable.clear();
            }
        }
        self.generation += 1;
    }

    pub fn identity(&mut self, key: &CredentialKey, now_ms: u64) -> Option<Identity> {
        self.credentials.get(key, now_ms)
    }

    /// Until when an entry read under `ticket` may be served: `None` when it may
    /// not be kept at all — caching is off, or a write finished while the read
    /// ran, so what it found may already be stale. `not_after` (Unix seconds) is
    /// when what it says stops being true, such as an expiry.
    fn expiry(&self, ticket: Ticket, not_after: Option<i64>) -> Option<u64> {
        if self.ttl_ms == 0 || ticket.generation != self.generation {
            return None;
        }
        let bound = ticket.started_ms + self.ttl_ms;
        let not_after = not_after.map_or(u64::MAX, |s| s.max(0) as u64 * 1000);
        Some(bound.min(not_after))
    }

    /// Keeps the account a credential named, `expires_at` the credential's own
    /// expiry.
    pub fn keep_identity(
        &mut self,
        ticket: Ticket,
        key: CredentialKey,
        identity: Identity,
        expires_at: Option<i64>,
    ) {
        let weight = ENTRY_OVERHEAD * 2 + identity.email.len();
        if let Some(until) = self.expiry(ticket, expires_at) {
            let now = ticket.started_ms;
            self.credentials.put(key, identity, weight, until, now);
        }
    }

    /// Whether `customer`'s licenses grant `target`, as last read.
    pub fn verdict(&mut self, customer: &str, target: &TargetKey, now_ms: u64) -> Option<Access> {
        let key = (customer.to_owned(), target.clone());
        self.verdicts.get(&key, now_ms)
    }

    /// Keeps a license check's answer until `not_after` (see
    /// `licensing::license::access`): a grant until the last license granting it
    /// stops granting it — its expiry, or never for a version a `keep_released`
    /// license keeps; a cap until it resets. Within the TTL all the same, so usage
    /// counted since is seen that late at most.
    pub fn keep_verdict(
        &mut self,
        ticket: Ticket,
        customer: &str,
        target: TargetKey,
        (verdict, not_after): (Access, Option<i64>),
    ) {
        let weight = target.weight() + customer.len() + ENTRY_OVERHEAD;
        if let Some(until) = self.expiry(ticket, not_after) {
            let key = (customer.to_owned(), target);
            self.verdicts
                .put(key, verdict, weight, until, ticket.started_ms);
        }
    }

    pub fn manifest(&mut self, target: &TargetKey, now_ms: u64) -> Option<ManifestRow> {
        self.manifests.get(target, now_ms)
    }

    pub fn keep_manifest(&mut self, ticket: Ticket, target: TargetKey, row: ManifestRow) {
        let content = row.content.as_ref().map_or(0, String::len);
        let weight = target.weight() + ENTRY_OVERHEAD + row.media_type.len() + content;
        if let Some(until) = self.expiry(ticket, None) {
            self.manifests
                .put(target, row, weight, until, ticket.started_ms);
        }
    }

    /// What `customer`'s licenses grant of `repo`, as last read.
    pub fn readable(&mut self, customer: &str, repo: &RepoName, now_ms: u64) -> Option<Readable> {
        let key = (customer.to_owned(), repo.as_str().to_owned());
        self.readable.get(&key, now_ms)
    }

    pub fn keep_readable(
        &mut self,
        ticket: Ticket,
        customer: &str,
        repo: &RepoName,
        readable: Readable,
    ) {
        let seeds: usize = readable.seeds.iter().map(String::len).sum();
        let weight = ENTRY_OVERHEAD * (2 + readable.seeds.len()) + seeds + customer.len();
        if let Some(until) = self.expiry(ticket, readable.until) {
            let key = (customer.to_owned(), repo.as_str().to_owned());
            self.readable
                .put(key, readable, weight, until, ticket.started_ms);
        }
    }

    pub fn blob(&mut self, target: &TargetKey, now_ms: u64) -> Option<BlobRow> {
        self.blobs.get(target, now_ms)
    }

    pub fn keep_blob(&mut self, ticket: Ticket, target: TargetKey, row: BlobRow) {
        let weight = target.weight() + ENTRY_OVERHEAD * 2;
        if let Some(until) = self.expiry(ticket, None) {
            self.blobs
                .put(target, row, weight, until, ticket.started_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::account::Role;
    use crate::oci::digest::Digest;

    fn identity(customer: Option<&str>) -> Identity {
        Identity {
            user_id: "u1".into(),
            email: "a@b.test".into(),
            role: if customer.is_some() {
                Role::Customer
            } else {
                Role::ReadOnly
            },
            customer_id: customer.map(str::to_owned),
            token_id: Some("t1".into()),
        }
    }

    fn token() -> CredentialKey {
        CredentialKey::Token {
            email: "a@b.test".into(),
            hash: "h".into(),
        }
    }

    fn repo() -> RepoName {
        "acme/app".parse().unwrap()
    }

    fn tag(name: &str) -> Reference {
        Reference::Tag(name.parse().unwrap())
    }

    fn granted(until: Option<i64>) -> (Access, Option<i64>) {
        (Access::Granted { license: None }, until)
    }

    fn yes() -> Option<Access> {
        Some(Access::Granted { license: None })
    }

    fn cache(ttl_seconds: u64) -> ReadCache {
        let mut cache = ReadCache::default();
        cache.set_ttl(ttl_seconds);
        cache
    }

    #[test]
    fn entries_expire_ttl_after_their_read_began() {
        let mut cache = cache(5);
        let ticket = cache.ticket(10_000);
        cache.keep_identity(ticket, token(), identity(None), None);
        assert_eq!(cache.identity(&token(), 14_999), Some(identity(None)));
        assert_eq!(cache.identity(&token(), 15_000), None);
    }

    #[test]
    fn a_write_through_the_isolate_empties_every_cache() {
        let mut cache = cache(5);
        let ticket = cache.ticket(0);
        let latest = TargetKey::new(&repo(), Target::Manifest(&tag("latest")));
        cache.keep_identity(ticket, token(), identity(Some("c1")), None);
        cache.keep_verdict(ticket, "c1", latest.clone(), granted(None));
        cache.written(&Written::Everything);
        assert_eq!(cache.identity(&token(), 1), None);
        assert_eq!(cache.verdict("c1", &latest, 1), None);
    }

    #[test]
    fn a_registry_write_empties_only_its_repository() {
        let mut cache = cache(5);
        let ticket = cache.ticket(0);
        let other: RepoName = "acme/other".parse().unwrap();
        let mine = TargetKey::new(&repo(), Target::Manifest(&tag("latest")));
        let theirs = TargetKey::new(&other, Target::Manifest(&tag("latest")));
        cache.keep_identity(ticket, token(), identity(Some("c1")), None);
        for key in [&mine, &theirs] {
            cache.keep_verdict(ticket, "c1", key.clone(), granted(None));
        }
        let push = Written::of("/v2/acme/app/manifests/latest", Method::Put);
        assert_eq!(push, Written::Repository(repo()));
        let readable = Readable {
            all: true,
            pushed_before: None,
            seeds: vec![],
            until: Some(3),
        };
        cache.keep_readable(ticket, "c1", &repo(), readable.clone());
        cache.keep_readable(ticket, "c1", &other, readable.clone());
        cache.written(&push);
        assert_eq!(cache.readable("c1", &repo(), 1), None);
        assert_eq!(cache.readable("c1", &other, 2_999), Some(readable));
        assert_eq!(
            cache.readable("c1", &other, 3_000),
            None,
            "past the license's expiry"
        );
        assert_eq!(cache.verdict("c1", &mine, 1), None);
        assert_eq!(cache.verdict("c1", &theirs, 1), yes());
        assert!(
            cache.identity(&token(), 1).is_some(),
            "accounts are not the registry's"
        );
        // A read that began before the push keeps nothing, whatever it read.
        cache.keep_verdict(ticket, "c1", mine.clone(), granted(None));
        assert_eq!(cache.verdict("c1", &mine, 1), None);
    }

    #[test]
    fn reads_change_nothing_and_everything_else_may_change_anything() {
        assert_eq!(
            Written::of("/v2/acme/app/manifests/latest", Method::Get),
            Written::Nothing
        );
        assert_eq!(
            Written::of("/v2/acme/app/blobs/uploads/", Method::Head),
            Written::Nothing
        );
        for (path, method) in [
            ("/api/v1/licenses", Method::Post),
            ("/api/v1/tokens/t1/x", Method::Delete),
            ("/api/v1/sessions", Method::Delete),
            ("/api/v1/session", Method::Put),
            ("/api/v1/users/u1", Method::Delete),
            ("/token", Method::Put),
            ("/v2/", Method::Post),
        ] {
            assert_eq!(Written::of(path, method), Written::Everything, "{path}");
        }
    }

    #[test]
    fn signing_in_and_out_and_making_tokens_change_nothing_cached() {
        for (path, method) in [
            ("/token", Method::Post),
            ("/api/v1/session", Method::Post),
            ("/api/v1/session", Method::Delete),
            ("/api/v1/tokens", Method::Post),
            ("/api/v1/sessions/s1", Method::Delete),
        ] {
            assert_eq!(Written::of(path, method), Written::Nothing, "{path}");
        }
        assert_eq!(
            Written::of("/api/v1/tokens/t1", Method::Delete),
            Written::Credentials
        );
    }

    #[test]
    fn a_revoked_token_empties_only_the_credentials() {
        let mut cache = cache(5);
        let ticket = cache.ticket(0);
        let mine = TargetKey::new(&repo(), Target::Manifest(&tag("1.0")));
        cache.keep_identity(ticket, token(), identity(None), None);
        cache.keep_verdict(ticket, "c1", mine.clone(), granted(None));
        cache.written(&Written::Credentials);
        assert_eq!(cache.identity(&token(), 1), None);
        assert_eq!(cache.verdict("c1", &mine, 1), yes());
    }

    #[test]
    fn a_read_that_began_before_a_write_is_not_kept() {
        let mut cache = cache(5);
        let before = cache.ticket(0);
        cache.written(&Written::Everything);
        cache.keep_identity(before, token(), identity(None), None);
        assert_eq!(cache.identity(&token(), 1), None);
        let after = cache.ticket(1);
        cache.keep_identity(after, token(), identity(None), None);
        assert!(cache.identity(&token(), 2).is_some());
    }

    #[test]
    fn a_zero_ttl_caches_nothing_and_a_changed_ttl_empties() {
        let mut cache = cache(0);
        cache.keep_identity(cache.ticket(0), token(), identity(None), None);
        assert_eq!(cache.identity(&token(), 0), None);
        cache.set_ttl(60);
        cache.keep_identity(cache.ticket(0), token(), identity(None), None);
        cache.set_ttl(1);
        assert_eq!(
            cache.identity(&token(), 0),
            None,
            "kept under the longer bound"
        );
    }

    #[test]
    fn nothing_is_served_past_the_expiry_of_what_it_rests_on() {
        let mut cache = cache(5);
        let ticket = cache.ticket(10_000);
        cache.keep_identity(ticket, token(), identity(None), Some(12));
        let latest = TargetKey::new(&repo(), Target::Manifest(&tag("latest")));
        cache.keep_verdict(ticket, "c1", latest.clone(), granted(Some(13)));
        assert!(cache.identity(&token(), 11_999).is_some());
        assert_eq!(cache.identity(&token(), 12_000), None);
        assert_eq!(cache.verdict("c1", &latest, 12_999), yes());
        assert_eq!(cache.verdict("c1", &latest, 13_000), None);
        // Already expired when read: not kept at all.
        cache.keep_identity(cache.ticket(20_000), token(), identity(None), Some(12));
        assert_eq!(cache.identity(&token(), 20_000), None);
    }

    #[test]
    fn a_kept_version_is_served_past_the_expiry_and_a_newer_one_is_not() {
        use crate::licensing::license::access;
        use crate::licensing::license::{ExpiryPolicy, GrantRow};
        let mut cache = cache(5);
        let ticket = cache.ticket(10_000);
        let row = |pushed| GrantRow {
            kind: "all".into(),
            expires_at: Some(12),
            expiry_policy: ExpiryPolicy::KeepReleased,
            pushed: Some(pushed),
            ..Default::default()
        };
        let (old, new) = (
            TargetKey::new(&repo(), Target::Manifest(&tag("v1"))),
            TargetKey::new(&repo(), Target::Manifest(&tag("v2"))),
        );
        cache.keep_verdict(ticket, "c1", old.clone(), access(&[row(11)], 10));
        cache.keep_verdict(ticket, "c1", new.clone(), access(&[row(12)], 10));
        assert_eq!(cache.verdict("c1", &old, 14_999), yes(), "until the TTL");
        assert_eq!(cache.verdict("c1", &old, 15_000), None);
        assert_eq!(cache.verdict("c1", &new, 11_999), yes());
        assert_eq!(cache.verdict("c1", &new, 12_000), None, "at the expiry");
    }

    #[test]
    fn verdicts_are_per_customer_and_per_target() {
        let mut cache = cache(5);
        let ticket = cache.ticket(0);
        let latest = TargetKey::new(&repo(), Target::Manifest(&tag("latest")));
        let digest = format!("sha256:{}", "a".repeat(64))
            .parse::<Digest>()
            .unwrap();
        let blob = TargetKey::new(&repo(), Target::Blob(&digest));
        let by_digest = TargetKey::new(
            &repo(),
            Target::Manifest(&Reference::Digest(digest.clone())),
        );
        cache.keep_verdict(ticket, "c1", latest.clone(), (Access::Refused, None));
        cache.keep_verdict(ticket, "c1", blob.clone(), granted(None));
        assert_eq!(cache.verdict("c1", &latest, 1), Some(Access::Refused));
        assert_eq!(cache.verdict("c2", &latest, 1), None);
        assert_eq!(cache.verdict("c1", &blob, 1), yes());
        assert_eq!(
            cache.verdict("c1", &by_digest, 1),
            None,
            "a blob is not its manifest"
        );
    }
}

//! `/v2/<name>/manifests/<reference>`: pushing (validated, stored byte-exact),
//! reading by tag or digest, and deleting tags and manifests.

use futures::StreamExt;
use tollgate_core::oci::manifest::{self, Manifest, MAX_MANIFEST_SIZE};
use tollgate_core::oci::reference::{Reference, Tag};
use tollgate_core::storage::manifest_objects::{self, Origin, INLINE_LIMIT};
use tollgate_core::storage::object_store::ObjectStore;
use tollgate_core::storage::sql::Statement;
use tollgate_core::storage::store::{ManifestBytes, ManifestRow, NewManifest};
use tollgate_core::{Algorithm, Digest, Error, RepoName, Result};
use worker::Response;

use crate::app::{self, App};
use crate::http::{content_length, empty, header, Reply};
use crate::request::Request;

/// `GET`/`HEAD` of the manifest `found` by its tag or digest.
pub async fn get(app: &App, found: Option<ManifestRow>, with_body: bool) -> Result<Reply> {
    let row = found.ok_or(Error::ManifestUnknown)?;
    let pairs = [
        ("Content-Type", row.media_type.as_str()),
        ("Docker-Content-Digest", row.digest.as_str()),
    ];
    if !with_body {
        let length = row.size.to_string();
        let head = [pairs[0], pairs[1], ("Content-Length", length.as_str())];
        return Reply::small(200, &head, None);
    }
    let body = match (row.content, row.object_key) {
        (Some(text), _) => text.into_bytes(),
        (None, Some(key)) => read_object(app, &key).await?,
        (None, None) => {
            return Err(Error::Internal(format!(
                "manifest {} has no content",
                row.digest
            )))
        }
    };
    // The runtime states the body's length itself.
    Reply::small(200, &pairs, Some(body))
}

async fn read_object(app: &App, key: &str) -> Result<Vec<u8>> {
    let object = app.objects.get(key).await?;
    object.ok_or_else(|| Error::Internal(format!("{key} missing from R2")))
}

/// Reads a manifest body, refusing (413) anything over the limit before holding it.
async fn read_capped(req: &mut Request) -> Result<Vec<u8>> {
    if content_length(req).is_some_and(|n| n > MAX_MANIFEST_SIZE as u64) {
        return Err(Error::ManifestTooLarge(MAX_MANIFEST_SIZE));
    }
    let mut body = Vec::new();
    let Ok(mut stream) = req.stream() else {
        return Ok(body);
    };
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Error::ManifestInvalid(format!("reading the body failed: {e}")))?;
        if body.len() + chunk.len() > MAX_MANIFEST_SIZE {
            return Err(Error::ManifestTooLarge(MAX_MANIFEST_SIZE));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A manifest push as its request brought it: validated and hashed, not yet
/// stored.
pub struct Pushed {
    digest: Digest,
    tag: Option<Tag>,
    parsed: Manifest,
    text: String,
}

/// Whether the request declares a manifest small enough to be kept inline: the
/// most a push reads before its credential is checked.
pub fn inline_sized(req: &Request) -> bool {
    content_length(req).is_some_and(|n| n <= INLINE_LIMIT as u64)
}

/// Reads and validates the manifest a `PUT` to `reference` carries.
pub async fn read(req: &mut Request, reference: &Reference) -> Result<Pushed> {
    let body = read_capped(req).await?;
    validate(body, header(req, "Content-Type").as_deref(), reference)
}

/// Validates `body`, of `content_type`, as the manifest `reference` names: one
/// pushed, or one fetched from an upstream.
pub fn validate(
    body: Vec<u8>,
    content_type: Option<&str>,
    reference: &Reference,
) -> Result<Pushed> {
    let parsed = manifest::parse(&body, content_type)?;
    let (digest, tag) = match reference {
        Reference::Digest(claimed) => {
            let actual = Digest::of(claimed.algorithm(), &body);
            if &actual != claimed {
                return Err(Error::DigestInvalid(format!(
                    "manifest digest is {actual}, not {claimed}"
                )));
            }
            (actual, None)
        }
        Reference::Tag(tag) => (Digest::of(Algorithm::Sha256, &body), Some(tag.clone())),
    };
    let text = String::from_utf8(body)
        .map_err(|_| Error::ManifestInvalid("manifest is not UTF-8".into()))?;
    Ok(Pushed {
        digest,
        tag,
        parsed,
        text,
    })
}

impl Pushed {
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Whether the manifest is small enough to be kept inline in D1.
    pub fn inline(&self) -> bool {
        self.text.len() <= INLINE_LIMIT
    }

    /// This manifest as a write to `name`, its bytes kept as `bytes` says.
    fn new_manifest<'a>(
        &'a self,
        app: &App,
        name: &'a RepoName,
        bytes: ManifestBytes<'a>,
    ) -> NewManifest<'a> {
        NewManifest {
            repo: name,
            digest: &self.digest,
            manifest: &self.parsed,
            size: self.text.len() as u64,
            bytes,
            tag: self.tag.as_ref(),
            now: app.now,
        }
    }
}

/// Stores a pushed manifest — inline in D1, or in the object store when large —
/// with `guards` (the pusher's credential check) at the head of its one write
/// batch: the one path every manifest push takes. A push by tag adds the
/// immutable-tag guard (licensing/immutable.rs). The batch stores nothing when a
/// guard or a missing reference aborts it.
pub async fn put(
    app: &App,
    name: &RepoName,
    pushed: &Pushed,
    guards: Vec<Statement>,
) -> Result<Response> {
    let write = |guard: Option<Statement>| {
        let mut guards = guards.clone();
        guards.extend(guard);
        store(app, name, pushed, guards)
    };
    match &pushed.tag {
        Some(tag) => {
            let immutability = app.immutability();
            immutability
                .push(name, tag, &pushed.digest, |guard| write(Some(guard)))
                .await?
        }
        None => write(None).await?,
    }
    created(name, pushed)
}

/// One try at writing a pushed manifest behind `guards`.
async fn store(app: &App, name: &RepoName, pushed: &Pushed, guards: Vec<Statement>) -> Result<()> {
    let text = pushed.text.as_str();
    let new = pushed.new_manifest(app, name, ManifestBytes::Inline(text));
    if pushed.inline() {
        app.store().put_manifest(guards, new).await?;
    } else {
        put_object(app, guards, new, text, Origin::Pushed).await?;
    }
    Ok(())
}

/// Stores a manifest too large for D1 in the object store, its row behind `guards`.
async fn put_object(
    app: &App,
    guards: Vec<Statement>,
    new: NewManifest<'_>,
    text: &str,
    origin: Origin,
) -> Result<()> {
    let attempt = app::random()?;
    let store = app.store();
    manifest_objects::put(&store, &app.objects, guards, new, text, attempt, origin).await
}

/// Stores a manifest fetched from `name`'s upstream as if pushed (its
/// blobs are fetched when pulled; a tag under the immutable-tag rule, as a push
/// would) and answers its row, as a pull reads it. A tag is re-resolved
/// upstream from `refresh_at` on.
pub async fn keep_fetched(
    app: &App,
    name: &RepoName,
    fetched: &Pushed,
    refresh_at: i64,
) -> Result<ManifestRow> {
    let text = fetched.text.as_str();
    let new = fetched.new_manifest(app, name, ManifestBytes::Inline(text));
    let store = app.store();
    let store = &store;
    let write = move |guards: Vec<Statement>| async move {
        if fetched.inline() {
            store.put_fetched_manifest(guards, new, refresh_at).await?;
        } else {
            put_object(app, guards, new, text, Origin::Fetched { refresh_at }).await?;
        }
        Ok(())
    };
    match &fetched.tag {
        Some(tag) => {
            let immutability = app.immutability();
            immutability
                .push(name, tag, &fetched.digest, |guard| write(vec![guard]))
                .await?
        }
        None => write(Vec::new()).await?,
    };
    Ok(ManifestRow {
        digest: fetched.digest.to_string(),
        media_type: fetched.parsed.media_type.clone(),
        size: text.len() as u64,
        content: Some(fetched.text.clone()),
        object_key: None,
        refresh_at: fetched.tag.as_ref().map(|_| refresh_at),
    })
}

fn created(name: &RepoName, pushed: &Pushed) -> Result<Response> {
    let digest = &pushed.digest;
    let location = format!("/v2/{name}/manifests/{digest}");
    let subject = pushed.parsed.subject.as_ref().map(Digest::to_string);
    let mut pairs = vec![
        ("Location", location.as_str()),
        ("Docker-Content-Digest", digest.as_str()),
        ("Content-Length", "0"),
    ];
    if let Some(subject) = subject.as_deref() {
        pairs.push(("OCI-Subject", subject));
    }
    empty(201, &pairs)
}

/// Deleting by tag removes the tag; by digest, the manifest and its tags — each
/// under the deletion rules.
pub async fn delete(app: &App, name: &RepoName, reference: &Reference) -> Result<Response> {
    match reference {
        Reference::Tag(tag) => app.deletions().tag(name, tag).await?,
        Reference::Digest(digest) => app.deletions().manifest(name, digest).await?,
    }
    empty(202, &[("Content-Length", "0")])
}

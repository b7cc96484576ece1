//! Manifests too large to keep inline in D1 (docs/registry.md, "Manifests") are kept
//! in the object store, pushed or fetched from an upstream alike. Storing one: a
//! pushed one's references are checked first, so a refused push leaves no object; the bytes go to the object store, which verifies them
//! against the digest; then the row is written. Each push writes a key of its own,
//! so no push rewrites an object garbage collection has decided is unused and is
//! about to delete (docs/gc.md).

use crate::error::{Error, Result};
use crate::oci::digest::Digest;
use crate::oci::reference::Reference;
use crate::storage::object_store::ObjectStore;
use crate::storage::sql::{Sql, Statement};
use crate::storage::store::{ManifestBytes, NewManifest, Store};

/// Manifests up to this size are kept in D1 next to their metadata, so a pull is one
/// query; larger ones (up to the 4 MiB limit) go to the object store.
pub const INLINE_LIMIT: usize = 512 * 1024;

/// Where one push (`attempt` is random) keeps a large manifest's bytes.
pub fn object_key(digest: &Digest, attempt: [u8; 16]) -> String {
    format!("manifests/{digest}/{}", hex::encode(attempt))
}

/// Where a manifest comes from, which decides how its row is written.
#[derive(Clone, Copy, Debug)]
pub enum Origin {
    /// Pushed: everything it references must be stored already.
    Pushed,
    /// Fetched from the artifact's upstream (docs/pull-through.md): what it
    /// references is fetched when pulled; a tag is re-resolved from `refresh_at`.
    Fetched { refresh_at: i64 },
}

/// Stores the large manifest `new` (its `bytes` are replaced) with `text` as its
/// bytes, under this write's `attempt`, its row written after `guards`.
pub async fn put<S: Sql, O: ObjectStore>(
    store: &Store<'_, S>,
    objects: &O,
    guards: Vec<Statement>,
    new: NewManifest<'_>,
    text: &str,
    attempt: [u8; 16],
    origin: Origin,
) -> Result<()> {
    if let Origin::Pushed = origin {
        let missing = store.missing_references(new.repo, new.manifest).await?;
        if let Some(digest) = missing.into_iter().next() {
            return Err(Error::ManifestBlobUnknown(digest));
        }
    }
    let key = object_key(new.digest, attempt);
    objects
        .put(&key, text.as_bytes().to_vec(), Some(new.digest))
        .await?;
    let new = NewManifest {
        bytes: ManifestBytes::Object(&key),
        ..new
    };
    let written = match origin {
        Origin::Pushed => store.put_manifest(guards, new).await,
        Origin::Fetched { refresh_at } => store.put_fetched_manifest(guards, new, refresh_at).await,
    };
    match written {
        Ok(true) => Ok(()),
        // The repository held the manifest already, under its own object.
        Ok(false) => discard(objects, &key, Ok(())).await,
        Err(e @ Error::ManifestBlobUnknown(_)) => discard(objects, &key, Err(e)).await,
        // A guard refused the write (a credential, an immutable tag), or it was
        // stored with only its answer lost: the row tells which.
        Err(e) => match named_by_row(store, &new, &key).await {
            Ok(false) => discard(objects, &key, Err(e)).await,
            _ => Err(e),
        },
    }
}

/// Whether the stored row of `new`'s manifest keeps its bytes under `key`.
async fn named_by_row<S: Sql>(
    store: &Store<'_, S>,
    new: &NewManifest<'_>,
    key: &str,
) -> Result<bool> {
    let reference = Reference::Digest(new.digest.clone());
    let row = store.manifest(new.repo, &reference).await?;
    Ok(row.is_some_and(|r| r.object_key.as_deref() == Some(key)))
}

/// Deletes this push's object, which no row names, and answers `result`.
async fn discard<O: ObjectStore>(objects: &O, key: &str, result: Result<()>) -> Result<()> {
    let _ = objects.delete(key).await;
    result
}

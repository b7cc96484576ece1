//! Every read and write of registry metadata, as SQL over the [`Sql`] trait.
//! Hot paths (manifest and blob reads) are one query each; writes that belong
//! together go in one batch so a crash never leaves half of them.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::oci::digest::Digest;
use crate::oci::manifest::Manifest;
use crate::oci::name::RepoName;
use crate::oci::reference::{Reference, Tag};
use crate::oci::upload_session::{UploadId, UploadSession};
use crate::stmt;
use crate::storage::paging::Page;
use crate::storage::sql::{Sql, Statement};

/// A blob as a repository sees it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct BlobRow {
    pub digest: String,
    pub size: u64,
    pub object_key: String,
}

/// A stored manifest; the bytes are in `content` or in R2 under `object_key`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ManifestRow {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub content: Option<String>,
    pub object_key: Option<String>,
    /// For a tag fetched from the artifact's upstream, when it is to be
    /// re-resolved there (Unix seconds); `None` for a pushed tag or a digest.
    #[serde(default)]
    pub refresh_at: Option<i64>,
}

/// A manifest whose `subject` is the digest asked about.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ReferrerRow {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub artifact_type: Option<String>,
    pub annotations: Option<String>,
}

/// A tag and the manifest it points at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TagRow {
    pub tag: String,
    pub digest: String,
    pub updated_at: i64,
}

/// Where a manifest's bytes are kept.
#[derive(Clone, Copy)]
pub enum ManifestBytes<'a> {
    Inline(&'a str),
    Object(&'a str),
}

#[derive(Deserialize)]
struct NameRow {
    name: String,
}

/// The query behind [`Store::blob`], for sending with another in one round trip.
pub fn blob_query(repo: &RepoName, digest: &Digest) -> Statement {
    stmt!(
        "SELECT b.digest, b.size, b.object_key FROM repo_blobs r JOIN blobs b ON b.digest = r.digest
         WHERE r.repo = ?1 AND r.digest = ?2",
        repo.as_str(),
        digest.as_str()
    )
}

/// The query behind [`Store::manifest`], for sending with another in one round
/// trip.
pub fn manifest_query(repo: &RepoName, reference: &Reference) -> Statement {
    match reference {
        Reference::Tag(tag) => stmt!(
            "SELECT m.digest, m.media_type, m.size, m.content, m.object_key, t.refresh_at
             FROM tags t JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
             WHERE t.repo = ?1 AND t.tag = ?2",
            repo.as_str(),
            tag.as_str()
        ),
        Reference::Digest(digest) => stmt!(
            "SELECT m.digest, m.media_type, m.size, m.content, m.object_key
             FROM manifests m WHERE m.repo = ?1 AND m.digest = ?2",
            repo.as_str(),
            digest.as_str()
        ),
    }
}

/// A validated manifest to store in `repo`, with its tag if pushed by one.
#[derive(Clone, Copy)]
pub struct NewManifest<'a> {
    pub repo: &'a RepoName,
    pub digest: &'a Digest,
    pub manifest: &'a Manifest,
    pub size: u64,
    pub bytes: ManifestBytes<'a>,
    pub tag: Option<&'a Tag>,
    pub now: i64,
}

/// A manifest's references as a JSON array, for `json_each`.
fn targets(ds: &[Digest]) -> String {
    serde_json::to_string(&ds.iter().map(Digest::as_str).collect::<Vec<_>>()).expect("strings")
}

/// The batch behind [`Store::put_manifest`]: it aborts, storing nothing, when
/// `repo` lacks a blob or child the manifest references. For sending behind
/// other statements (a credential guard) in the same round trip.
pub fn manifest_batch(new: &NewManifest<'_>) -> Vec<Statement> {
    let manifest = new.manifest;
    let mut statements = vec![
        // Aborts the batch (json() of a non-JSON string raises an error) when a
        // reference is missing; [`Store::put_manifest`] then asks which.
        stmt!(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM json_each(?2)
                 WHERE NOT EXISTS (SELECT 1 FROM repo_blobs WHERE repo = ?1 AND digest = value))
               OR EXISTS (SELECT 1 FROM json_each(?3)
                 WHERE NOT EXISTS (SELECT 1 FROM manifests WHERE repo = ?1 AND digest = value))
             THEN json('missing reference') END AS guard",
            new.repo.as_str(),
            targets(&manifest.blobs),
            targets(&manifest.children)
        ),
    ];
    statements.extend(manifest_writes(new));
    statements
}

/// The writes of a manifest: the repository, its row, its references (what the
/// license checks of its blobs and children follow) and its tag.
fn manifest_writes(new: &NewManifest<'_>) -> Vec<Statement> {
    let NewManifest {
        repo,
        digest,
        manifest,
        size,
        bytes,
        tag,
        now,
    } = *new;
    let (content, object_key) = match bytes {
        ManifestBytes::Inline(text) => (Some(text), None),
        ManifestBytes::Object(key) => (None, Some(key)),
    };
    let mut statements = vec![
        stmt!("INSERT OR IGNORE INTO repositories (name, created_at) VALUES (?1, ?2)", repo.as_str(), now),
        stmt!(
            "INSERT INTO manifests (repo, digest, media_type, artifact_type, subject, annotations, size,
               content, object_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (repo, digest) DO NOTHING",
            repo.as_str(),
            digest.as_str(),
            manifest.media_type.as_str(),
            manifest.artifact_type.clone(),
            manifest.subject.as_ref().map(Digest::to_string),
            manifest.annotations.clone(),
            size,
            content,
            object_key,
            now
        ),
        stmt!(
            "INSERT OR IGNORE INTO manifest_refs (repo, manifest, target, kind)
             SELECT ?1, ?2, value, 'blob' FROM json_each(?3)
             UNION ALL SELECT ?1, ?2, value, 'child' FROM json_each(?4)",
            repo.as_str(),
            digest.as_str(),
            targets(&manifest.blobs),
            targets(&manifest.children)
        ),
    ];
    if let Some(tag) = tag {
        statements.push(stmt!(
            "INSERT INTO tags (repo, tag, digest, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at,
               refresh_at = NULL",
            repo.as_str(),
            tag.as_str(),
            digest.as_str(),
            now
        ));
    }
    statements
}

/// Sets when the tag `tag`, still naming `digest`, is next re-resolved upstream.
fn refresh_statement(repo: &RepoName, tag: &Tag, digest: &Digest, refresh_at: i64) -> Statement {
    stmt!(
        "UPDATE tags SET refresh_at = ?4 WHERE repo = ?1 AND tag = ?2 AND digest = ?3",
        repo.as_str(),
        tag.as_str(),
        digest.as_str(),
        refresh_at
    )
}

/// The writes that record the blob `digest` (kept under `object_key`) as linked
/// into `repo`; the first inserts the blob row, and changes nothing when the
/// content is stored already.
fn blob_links(
    repo: &RepoName,
    digest: &Digest,
    size: u64,
    object_key: &str,
    now: i64,
) -> Vec<Statement> {
    vec![
        stmt!(
            "INSERT OR IGNORE INTO blobs (digest, size, object_key, created_at) VALUES (?1, ?2, ?3, ?4)",
            digest.as_str(),
            size,
            object_key,
            now
        ),
        stmt!("INSERT OR IGNORE INTO repositories (name, created_at) VALUES (?1, ?2)", repo.as_str(), now),
        // A link made again restarts its grace period before garbage collection.
        stmt!(
            "INSERT INTO repo_blobs (repo, digest, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (repo, digest) DO UPDATE SET created_at = excluded.created_at",
            repo.as_str(),
            digest.as_str(),
            now
        ),
    ]
}

pub struct Store<'a, S> {
    sql: &'a S,
}

impl<'a, S: Sql> Store<'a, S> {
    pub fn new(sql: &'a S) -> Self {
        Store { sql }
    }

    /// The blob if it is linked into `repo`.
    pub async fn blob(&self, repo: &RepoName, digest: &Digest) -> Result<Option<BlobRow>> {
        self.sql.one(blob_query(repo, digest)).await
    }

    /// The blob with this digest if it is stored at all, in any repository.
    pub async fn stored_blob(&self, digest: &Digest) -> Result<Option<BlobRow>> {
        self.sql
            .one(stmt!(
                "SELECT digest, size, object_key FROM blobs WHERE digest = ?1",
                digest.as_str()
            ))
            .await
    }

    /// Links a blob of `from` into `to` without moving bytes; `None` if `from`
    /// does not hold it.
    pub async fn mount(
        &self,
        from: &RepoName,
        to: &RepoName,
        digest: &Digest,
        now: i64,
    ) -> Result<Option<BlobRow>> {
        let Some(blob) = self.blob(from, digest).await? else {
            return Ok(None);
        };
        let changes = self
            .sql
            .batch(vec![
                stmt!(
                    "INSERT OR IGNORE INTO repositories (name, created_at) VALUES (?1, ?2)",
                    to.as_str(),
                    now
                ),
                // A link made again restarts its grace period before garbage
                // collection; none is made if collection removed the blob meanwhile.
                stmt!(
                    "INSERT INTO repo_blobs (repo, digest, created_at)
                     SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM blobs WHERE digest = ?2)
                     ON CONFLICT (repo, digest) DO UPDATE SET created_at = excluded.created_at",
                    to.as_str(),
                    digest.as_str(),
                    now
                ),
            ])
            .await?;
        Ok(changes.get(1).is_some_and(|&n| n > 0).then_some(blob))
    }

    /// Records a finished upload as the blob `digest` in `repo` and ends the session.
    /// Returns false when the content was already stored under another object, in
    /// which case the caller's object is a duplicate to delete.
    pub async fn commit_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
        object_key: &str,
        upload: &UploadId,
        now: i64,
    ) -> Result<bool> {
        let mut statements = blob_links(repo, digest, size, object_key, now);
        statements.push(stmt!("DELETE FROM uploads WHERE id = ?1", upload.as_str()));
        let changes = self.sql.batch(statements).await?;
        Ok(changes.first() == Some(&1))
    }

    /// Queues `object_key`, about to be written by a fetch, for garbage
    /// collection at `due`: should the fetch die before its row is written, the
    /// object is deleted then; once a row names it, collection leaves it.
    pub async fn queue_unlinked(&self, object_key: &str, due: i64) -> Result<()> {
        self.sql
            .batch(vec![stmt!(
                "INSERT OR REPLACE INTO gc_objects (object_key, kind, multipart_id, queued_at)
                 VALUES (?1, 'blob', NULL, ?2)",
                object_key,
                due
            )])
            .await?;
        Ok(())
    }

    /// Stores a manifest fetched from `repo`'s upstream "as if pushed", behind
    /// `guards` (the immutable-tag rule): its row, references and tag, without
    /// the push's demand that its blobs and children be stored here already —
    /// they are fetched when pulled. The tag is re-resolved upstream from
    /// `refresh_at` on. Returns false when `repo` held the manifest already.
    pub async fn put_fetched_manifest(
        &self,
        guards: Vec<Statement>,
        new: NewManifest<'_>,
        refresh_at: i64,
    ) -> Result<bool> {
        let inserted_by = guards.len() + 1;
        let mut statements = guards;
        statements.extend(manifest_writes(&new));
        if let Some(tag) = new.tag {
            statements.push(refresh_statement(new.repo, tag, new.digest, refresh_at));
        }
        let changes = self.sql.batch(statements).await?;
        Ok(changes.get(inserted_by).is_some_and(|&n| n > 0))
    }

    /// Records that the fetched tag still names `digest` upstream: it is next
    /// re-resolved at `refresh_at`.
    pub async fn tag_resolved(
        &self,
        repo: &RepoName,
        tag: &Tag,
        digest: &Digest,
        refresh_at: i64,
    ) -> Result<()> {
        let statement = refresh_statement(repo, tag, digest, refresh_at);
        self.sql.batch(vec![statement]).await?;
        Ok(())
    }

    /// Removes a blob from a repository; the bytes stay until garbage collection.
    pub async fn unlink_blob(&self, repo: &RepoName, digest: &Digest) -> Result<bool> {
        let changes = self
            .sql
            .batch(vec![stmt!(
                "DELETE FROM repo_blobs WHERE repo = ?1 AND digest = ?2",
                repo.as_str(),
                digest.as_str()
            )])
            .await?;
        Ok(changes.first() == Some(&1))
    }

    pub async fn create_upload(&self, s: &UploadSession) -> Result<()> {
        self.sql
            .batch(vec![stmt!(
                "INSERT INTO uploads (id, repo, byte_offset, hash_state, multipart_id, parts, tail_key,
                   created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                s.id.as_str(),
                s.repo.as_str(),
                s.byte_offset,
                s.hash_state.as_str(),
                s.multipart_id.clone(),
                s.parts.as_str(),
                s.tail_key.clone(),
                s.created_at,
                s.updated_at
            )])
            .await?;
        Ok(())
    }

    /// The session if it exists *in this repository* and no request is finishing
    /// it: an id from elsewhere is unknown.
    pub async fn upload(&self, repo: &RepoName, id: &UploadId) -> Result<Option<UploadSession>> {
        self.sql
            .one(stmt!(
                "SELECT id, repo, byte_offset, hash_state, multipart_id, parts, tail_key, created_at,
                   updated_at
                 FROM uploads WHERE id = ?1 AND repo = ?2 AND finishing = 0",
                id.as_str(),
                repo.as_str()
            ))
            .await
    }

    /// Saves session `s`, which a request advanced from `before`. Returns false
    /// when another request saved or claimed the session meanwhile: this request's
    /// bytes must not count.
    pub async fn save_upload(&self, s: &UploadSession, before: &UploadSession) -> Result<bool> {
        let changes = self
            .sql
            .batch(vec![stmt!(
                "UPDATE uploads SET byte_offset = ?4, hash_state = ?5, multipart_id = ?6, parts = ?7,
                   tail_key = ?8, updated_at = ?9
                 WHERE id = ?1 AND byte_offset = ?2 AND tail_key IS ?3 AND finishing = 0",
                s.id.as_str(),
                before.byte_offset,
                before.tail_key.clone(),
                s.byte_offset,
                s.hash_state.as_str(),
                s.multipart_id.clone(),
                s.parts.as_str(),
                s.tail_key.clone(),
                s.updated_at
            )])
            .await?;
        Ok(changes.first() == Some(&1))
    }

    /// Claims session `s`, as loaded, for the one request that finishes it. False
    /// when another request saved or claimed it since: only the claimant may
    /// write the blob's object.
    pub async fn claim_upload(&self, s: &UploadSession, now: i64) -> Result<bool> {
        let changes = self
            .sql
            .batch(vec![stmt!(
                "UPDATE uploads SET finishing = 1, updated_at = ?4
                 WHERE id = ?1 AND byte_offset = ?2 AND tail_key IS ?3 AND finishing = 0",
                s.id.as_str(),
                s.byte_offset,
                s.tail_key.clone(),
                now
            )])
            .await?;
        Ok(changes.first() == Some(&1))
    }

    pub async fn delete_upload(&self, id: &UploadId) -> Result<()> {
        self.sql
            .batch(vec![stmt!(
                "DELETE FROM uploads WHERE id = ?1",
                id.as_str()
            )])
            .await?;
        Ok(())
    }

    /// The references of `manifest` that `repo` does not hold, in one query.
    pub async fn missing_references(
        &self,
        repo: &RepoName,
        manifest: &Manifest,
    ) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Row {
            digest: String,
        }
        let rows: Vec<Row> = self
            .sql
            .query(stmt!(
                "SELECT value AS digest FROM json_each(?2)
                   WHERE NOT EXISTS (SELECT 1 FROM repo_blobs WHERE repo = ?1 AND digest = value)
                 UNION ALL
                 SELECT value AS digest FROM json_each(?3)
                   WHERE NOT EXISTS (SELECT 1 FROM manifests WHERE repo = ?1 AND digest = value)",
                repo.as_str(),
                targets(&manifest.blobs),
                targets(&manifest.children)
            ))
            .await?;
        Ok(rows.into_iter().map(|r| r.digest).collect())
    }

    /// Stores a validated manifest, its references and (if pushed by tag) its tag —
    /// or nothing, with `ManifestBlobUnknown`, when `repo` lacks a blob or child it
    /// references. The check rides in the same batch, after `guards` (statements
    /// that abort the batch: the pusher's credential check), so a push is one
    /// round trip. Returns false when `repo` held the manifest already: its row,
    /// and the bytes it names, stay as they were.
    pub async fn put_manifest(&self, guards: Vec<Statement>, new: NewManifest<'_>) -> Result<bool> {
        let inserted_by = guards.len() + 2;
        let mut statements = guards;
        statements.extend(manifest_batch(&new));
        match self.sql.batch(statements).await {
            // After the guards, the third statement inserts the manifest row.
            Ok(changes) => Ok(changes.get(inserted_by).is_some_and(|&n| n > 0)),
            Err(e) => {
                let missing = self.missing_references(new.repo, new.manifest).await?;
                match missing.into_iter().next() {
                    Some(digest) => Err(Error::ManifestBlobUnknown(digest)),
                    None => Err(e),
                }
            }
        }
    }

    /// The manifest a tag or digest names in `repo`, in one query.
    pub async fn manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<Option<ManifestRow>> {
        self.sql.one(manifest_query(repo, reference)).await
    }

    pub async fn repository_exists(&self, repo: &RepoName) -> Result<bool> {
        let row: Option<NameRow> = self
            .sql
            .one(stmt!(
                "SELECT name FROM repositories WHERE name = ?1",
                repo.as_str()
            ))
            .await?;
        Ok(row.is_some())
    }

    /// Tags of `repo` in lexical order after `last`, at most `n`.
    pub async fn tags(&self, repo: &RepoName, last: Option<&str>, n: u64) -> Result<Page<String>> {
        let rows: Vec<NameRow> = self
            .sql
            .query(stmt!(
                "SELECT tag AS name FROM tags WHERE repo = ?1 AND tag > ?2 ORDER BY tag LIMIT ?3",
                repo.as_str(),
                last.unwrap_or(""),
                n + 1
            ))
            .await?;
        Ok(Page::of_names(
            rows.into_iter().map(|r| r.name).collect(),
            n,
        ))
    }

    /// Repository names in lexical order after `last`, at most `n`.
    pub async fn catalog(&self, last: Option<&str>, n: u64) -> Result<Page<String>> {
        let rows: Vec<NameRow> = self
            .sql
            .query(stmt!(
                "SELECT name FROM repositories WHERE name > ?1 ORDER BY name LIMIT ?2",
                last.unwrap_or(""),
                n + 1
            ))
            .await?;
        Ok(Page::of_names(
            rows.into_iter().map(|r| r.name).collect(),
            n,
        ))
    }

    /// Tags of `repo` with their digests, in order after `after`, at most
    /// `limit + 1`.
    pub async fn tag_rows(
        &self,
        repo: &RepoName,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TagRow>> {
        self.sql
            .query(stmt!(
                "SELECT tag, digest, updated_at FROM tags WHERE repo = ?1 AND tag > ?2
                 ORDER BY tag LIMIT ?3",
                repo.as_str(),
                after.unwrap_or(""),
                i64::from(limit) + 1
            ))
            .await
    }

    /// Manifests in `repo` whose subject is `digest`, optionally of one artifact type.
    pub async fn referrers(
        &self,
        repo: &RepoName,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<ReferrerRow>> {
        self.sql
            .query(stmt!(
                "SELECT digest, media_type, size, artifact_type, annotations FROM manifests
                 WHERE repo = ?1 AND subject = ?2 AND (?3 IS NULL OR artifact_type = ?3)
                 ORDER BY created_at, digest",
                repo.as_str(),
                digest.as_str(),
                artifact_type
            ))
            .await
    }
}

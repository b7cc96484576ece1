-- Registry metadata: repositories, content-addressed blobs and their links into
-- repositories, manifests with what they reference, tags, and upload sessions.
-- Bytes live in R2; this database maps digests to R2 objects.

CREATE TABLE repositories (
  name        TEXT PRIMARY KEY,
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per distinct blob content, whichever repositories hold it.
CREATE TABLE blobs (
  digest      TEXT PRIMARY KEY,
  size        INTEGER NOT NULL,
  object_key  TEXT NOT NULL,
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- A repository may serve a blob only when it is linked here.
CREATE TABLE repo_blobs (
  repo        TEXT NOT NULL,
  digest      TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (repo, digest)
) WITHOUT ROWID;
CREATE INDEX repo_blobs_digest ON repo_blobs (digest);

-- Manifest bytes are kept exactly as pushed: inline in `content` when small, else in
-- R2 under `object_key`.
CREATE TABLE manifests (
  repo          TEXT NOT NULL,
  digest        TEXT NOT NULL,
  media_type    TEXT NOT NULL,
  artifact_type TEXT,
  subject       TEXT,
  annotations   TEXT,
  size          INTEGER NOT NULL,
  content       TEXT,
  object_key    TEXT,
  created_at    INTEGER NOT NULL,
  PRIMARY KEY (repo, digest)
) WITHOUT ROWID;
CREATE INDEX manifests_subject ON manifests (repo, subject) WHERE subject IS NOT NULL;

-- What each manifest points at: 'blob' (config, layers) or 'child' (index entries).
CREATE TABLE manifest_refs (
  repo        TEXT NOT NULL,
  manifest    TEXT NOT NULL,
  target      TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('blob', 'child')),
  PRIMARY KEY (repo, manifest, target)
) WITHOUT ROWID;
CREATE INDEX manifest_refs_target ON manifest_refs (target);

CREATE TABLE tags (
  repo        TEXT NOT NULL,
  tag         TEXT NOT NULL,
  digest      TEXT NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (repo, tag)
) WITHOUT ROWID;
CREATE INDEX tags_digest ON tags (repo, digest);

CREATE TABLE uploads (
  id            TEXT PRIMARY KEY,
  repo          TEXT NOT NULL,
  byte_offset   INTEGER NOT NULL,
  hash_state    TEXT NOT NULL,
  multipart_id  TEXT,
  parts         TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX uploads_updated ON uploads (updated_at);

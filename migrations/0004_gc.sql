-- Garbage collection (docs/gc.md). A run removes garbage in two phases: one D1 batch
-- deletes the rows of what is garbage and queues the R2 work in `gc_objects`; then the
-- job does that R2 work and deletes each queued row it finished. A crash between the
-- two leaves the queue, which the next run works off first.

-- R2 work decided on and not yet done: delete `object_key`, and first abort the
-- multipart upload `multipart_id` when there is one.
CREATE TABLE gc_objects (
  object_key    TEXT PRIMARY KEY,
  kind          TEXT NOT NULL CHECK (kind IN ('blob', 'manifest', 'upload', 'tail')),
  multipart_id  TEXT,
  queued_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX gc_objects_queued ON gc_objects (queued_at);

-- R2 objects of deleted large manifests. The key `manifests/<digest>` is shared by
-- every repository holding that digest, so such an object is garbage only once no
-- manifest row names it any more; the job decides that after the grace period.
CREATE TABLE gc_manifest_objects (
  object_key  TEXT PRIMARY KEY,
  deleted_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX manifests_object_key ON manifests (object_key) WHERE object_key IS NOT NULL;

-- Deleting a large manifest thus writes two rows, and D1 may count both in the
-- statement's changes: test those with `> 0`, not `== 1`.
CREATE TRIGGER gc_manifest_deleted AFTER DELETE ON manifests
WHEN old.object_key IS NOT NULL
BEGIN
  INSERT OR REPLACE INTO gc_manifest_objects (object_key, deleted_at)
  VALUES (old.object_key, CAST(strftime('%s', 'now') AS INTEGER));
END;

-- Phase 2 skips a queued object that a blob or manifest row uses again: an upload
-- that found its content stored just before collection removed that blob records
-- the old object; a large manifest pushed again writes its object anew.
CREATE INDEX blobs_object_key ON blobs (object_key);

-- A link needs its blob: a mount that read the blob just before collection removed
-- it fails rather than link a blob that is gone.
CREATE TRIGGER gc_link_needs_blob BEFORE INSERT ON repo_blobs
WHEN NOT EXISTS (SELECT 1 FROM blobs WHERE digest = new.digest)
BEGIN
  SELECT RAISE(ABORT, 'no such blob');
END;

-- Pull-through (docs/pull-through.md, crates/core/src/upstream/): an artifact's
-- upstream registry. `secret` is the password or token sealed with AES-GCM under
-- the TOLLGATE_UPSTREAM_KEY secret (hex of IV and ciphertext), bound to `repo`;
-- NULL for anonymous pulls. Deleting the artifact deletes its row
-- (licensing/deletion.rs).
CREATE TABLE upstreams (
  repo       TEXT PRIMARY KEY,
  url        TEXT NOT NULL,
  repository TEXT NOT NULL,
  auth       TEXT NOT NULL CHECK (auth IN ('none', 'basic', 'token')),
  username   TEXT,
  secret     TEXT,
  updated_at INTEGER NOT NULL,
  CHECK ((auth = 'none') = (username IS NULL AND secret IS NULL))
);

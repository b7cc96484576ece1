-- Sessions (docs/accounts.md, "Sessions and refresh tokens"): a dashboard sign-in
-- or a refresh token from `/token`, each a record its owner can list and revoke. A
-- refresh token names its record by a random secret inside it; like a session
-- cookie, only that secret's SHA-256 is stored (`id_hash`). `id` is the public
-- name the API lists and revokes by.
CREATE TABLE sessions_v2 (
  id_hash       TEXT PRIMARY KEY,
  id            TEXT NOT NULL UNIQUE,
  user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind          TEXT NOT NULL CHECK (kind IN ('dashboard', 'refresh')),
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  last_used_at  INTEGER,
  user_agent    TEXT NOT NULL DEFAULT '',
  address       TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
-- Sessions signed in before this keep working; their ids are made as new ones are:
-- creation time in hex, then 12 random hex digits.
INSERT INTO sessions_v2 (id_hash, id, user_id, kind, created_at, expires_at)
  SELECT id_hash, printf('%08x', created_at) || lower(hex(randomblob(6))), user_id,
         'dashboard', created_at, expires_at
  FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v2 RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id, id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

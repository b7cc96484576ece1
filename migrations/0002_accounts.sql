-- Accounts: customers, users (vendor staff and customer users), personal access
-- tokens, dashboard sessions and the failed-sign-in counters behind the rate limits.
-- Secrets are never stored: tokens and session ids as SHA-256, passwords as PBKDF2.

CREATE TABLE customers (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
  contact     TEXT NOT NULL DEFAULT '',
  notes       TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- `customer_id` is set exactly for role 'customer'.
CREATE TABLE users (
  id             TEXT PRIMARY KEY,
  email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
  role           TEXT NOT NULL CHECK (role IN ('admin', 'read_write', 'read_only', 'customer')),
  customer_id    TEXT REFERENCES customers (id) ON DELETE CASCADE,
  password_hash  TEXT,
  created_at     INTEGER NOT NULL,
  CHECK ((role = 'customer') = (customer_id IS NOT NULL))
) WITHOUT ROWID;
CREATE INDEX users_customer ON users (customer_id);

CREATE TABLE tokens (
  id            TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  secret_hash   TEXT NOT NULL UNIQUE,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER,
  last_used_at  INTEGER,
  revoked_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE sessions (
  id_hash     TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed credential checks in the current fixed window, per account
-- ('account:<email>') and per client address ('ip:<address>').
CREATE TABLE auth_failures (
  key           TEXT PRIMARY KEY,
  window_start  INTEGER NOT NULL,
  count         INTEGER NOT NULL
) WITHOUT ROWID;

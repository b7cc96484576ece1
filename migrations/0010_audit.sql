-- The audit log: every change made through /api/v1 or the dashboard and every OCI
-- DELETE, appended once and never changed (crates/core/src/audit.rs, docs/audit.md).
CREATE TABLE audit_events (
  id          TEXT PRIMARY KEY,      -- creation time in hex, then random: ordered by age
  at          INTEGER NOT NULL,      -- Unix seconds
  actor_id    TEXT,                  -- the user, when the request authenticated
  actor_email TEXT,
  role        TEXT,
  action      TEXT NOT NULL,         -- the HTTP method: POST, PUT, DELETE
  target      TEXT NOT NULL,         -- the path acted on
  status      INTEGER NOT NULL,      -- the answer's status: refusals are recorded too
  address     TEXT,
  user_agent  TEXT
);
CREATE INDEX audit_events_actor ON audit_events (actor_id, id);

-- Append-only in the database itself: no row is ever changed, and none is deleted
-- before it is 30 days old (the shortest retention AUDIT_RETENTION_DAYS may set).
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_early_delete BEFORE DELETE ON audit_events
  WHEN OLD.at > unixepoch() - 30 * 86400
BEGIN
  SELECT RAISE(ABORT, 'audit events are kept at least 30 days');
END;

-- Failed credential checks (docs/accounts.md, "Limits on failed attempts"), per
-- account and address ('pair:<address> <email>') and per address ('ip:<address>'),
-- no longer per account alone: failures from one address must not lock the account
-- out of every other. `count` failures in a row, none more than the window apart;
-- once a key reaches its limit it is refused until `blocked_until`, a wait that
-- doubles with each failure after that. The row is forgotten at `expires_at`, and
-- the scheduled job deletes it then. The old counters are dropped: at worst a few
-- attempts more for whoever was failing when this was applied.
DROP TABLE auth_failures;
CREATE TABLE auth_failures (
  key            TEXT PRIMARY KEY,
  count          INTEGER NOT NULL,
  blocked_until  INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX auth_failures_expiry ON auth_failures (expires_at);

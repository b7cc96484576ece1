-- Download analytics: one row per successful manifest GET, written by the analytics
-- worker from the Queue (event ids make redelivery harmless), and pull counts per
-- day, which stay when old events are pruned.

CREATE TABLE downloads (
  id          TEXT PRIMARY KEY,
  at          INTEGER NOT NULL,
  repo        TEXT NOT NULL,
  reference   TEXT NOT NULL,
  digest      TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  customer_id TEXT,
  ip          TEXT,
  user_agent  TEXT,
  country     TEXT,
  colo        TEXT,
  -- 1 for a platform manifest of an index the same user pulled just before: part of
  -- that pull, not a pull of its own.
  child       INTEGER NOT NULL DEFAULT 0,
  -- 1 once the event is in pulls_daily.
  counted     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX downloads_at ON downloads (at);
CREATE INDEX downloads_repo ON downloads (repo, id);
CREATE INDEX downloads_customer ON downloads (customer_id, id);
CREATE INDEX downloads_user ON downloads (user_id, at);

-- Pulls (events that are not children) per UTC day (Unix day number), artifact,
-- digest, tag ('' when pulled by digest) and customer ('' for vendor staff).
CREATE TABLE pulls_daily (
  day         INTEGER NOT NULL,
  repo        TEXT NOT NULL,
  digest      TEXT NOT NULL,
  tag         TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  pulls       INTEGER NOT NULL,
  PRIMARY KEY (day, repo, digest, tag, customer_id)
) WITHOUT ROWID;
CREATE INDEX pulls_daily_repo ON pulls_daily (repo, day);
CREATE INDEX pulls_daily_customer ON pulls_daily (customer_id, day);

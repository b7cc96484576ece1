-- Licenses: which customer may pull which versions of which artifacts. A license
-- belongs to one customer and lists items; each item covers one artifact (a
-- repository name) at all versions, at one manifest digest, or at every tag a
-- pattern matches (also tags pushed later). Expiry is checked at request time.

CREATE TABLE licenses (
  id          TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  expires_at  INTEGER,
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX licenses_customer ON licenses (customer_id);

-- One row per covered thing: `item` groups the digests of one "digests" item, so the
-- API gives back the items as they were written. `value` is the digest ('digest'),
-- the pattern ('pattern') or empty ('all').
CREATE TABLE license_items (
  license_id  TEXT NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
  item        INTEGER NOT NULL,
  repo        TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('all', 'digest', 'pattern')),
  value       TEXT NOT NULL,
  PRIMARY KEY (license_id, item, value)
) WITHOUT ROWID;
CREATE INDEX license_items_repo ON license_items (repo, kind, value);

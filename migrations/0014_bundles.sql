-- Air-gap bundles (docs/bundles.md): the plan of each bundle, fixed when it was
-- asked for — its versions and every manifest and blob they reach, as JSON — so
-- every download of it gives the same bytes. `size` is the archive's length.
CREATE TABLE bundles (
  id          TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  size        INTEGER NOT NULL,
  plan        TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX bundles_customer ON bundles (customer_id, created_at);

-- A download event of a version that was part of a bundle's download.
ALTER TABLE downloads ADD COLUMN bundle_id TEXT;

-- Usage caps (docs/licensing.md): the most pulls and blob bytes a license gives per
-- UTC calendar month (NULL: no cap), and what each license has used per month.
-- The analytics worker attributes each stored event to the license that granted it
-- and adds it to license_usage in the batch that stores it, only when the event is
-- new (the `counted` flags), so redelivery never counts twice.

ALTER TABLE licenses ADD COLUMN max_pulls_per_month INTEGER
  CHECK (max_pulls_per_month > 0);
ALTER TABLE licenses ADD COLUMN max_bytes_per_month INTEGER
  CHECK (max_bytes_per_month > 0);

-- The license a customer's manifest GET was granted through (NULL for vendor staff).
ALTER TABLE downloads ADD COLUMN license_id TEXT;

-- One row per customer blob GET: the bytes of the body answered (the range's for a
-- 206), and the license that granted it.
CREATE TABLE blob_reads (
  id          TEXT PRIMARY KEY,
  at          INTEGER NOT NULL,
  license_id  TEXT NOT NULL,
  bytes       INTEGER NOT NULL,
  counted     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX blob_reads_at ON blob_reads (at);

-- Pulls (download events that are not children) and blob bytes per license and UTC
-- month ('YYYYMM'): what the grant query compares with the caps, one row per
-- license and month. No foreign key: an event of a license deleted since is still
-- stored, not retried for ever.
CREATE TABLE license_usage (
  license_id  TEXT NOT NULL,
  month       TEXT NOT NULL,
  pulls       INTEGER NOT NULL DEFAULT 0,
  bytes       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (license_id, month)
) WITHOUT ROWID;

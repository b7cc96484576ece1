-- The scheduled sync of upstream tags (docs/pull-through.md, "Tags stay fresh";
-- crates/core/src/upstream/sync.rs) looks up the fetched tags that are due every
-- few minutes: this index reads only those, not every tag (D1 bills rows read).
-- Pushed tags (refresh_at NULL) are left out of it.
CREATE INDEX tags_refresh_at ON tags (refresh_at) WHERE refresh_at IS NOT NULL;

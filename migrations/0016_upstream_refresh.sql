-- Pull-through freshness (docs/pull-through.md, crates/core/src/upstream/): how
-- long a tag fetched from an artifact's upstream is served before it is
-- re-resolved there, and the upstream's last failure, shown by the API.
-- tags.refresh_at: when a fetched tag is next re-resolved (Unix seconds); NULL
-- for a pushed tag, which never is.
ALTER TABLE upstreams ADD COLUMN refresh_seconds INTEGER NOT NULL DEFAULT 300;
ALTER TABLE upstreams ADD COLUMN last_error TEXT;
ALTER TABLE upstreams ADD COLUMN last_error_at INTEGER;
ALTER TABLE tags ADD COLUMN refresh_at INTEGER;

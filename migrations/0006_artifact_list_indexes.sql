-- The artifact list sorts every artifact by its pulls or its last pull (for a
-- customer: its own). These indexes make each artifact's figure one index read
-- instead of a visit to every one of its rows: with 1,000 artifacts and 100,000
-- download events, 0.19 s → 0.02 s (pulls) and 0.40 s → 0.03 s (last pull) in
-- SQLite.
CREATE INDEX downloads_repo_customer_at ON downloads (repo, customer_id, at);
CREATE INDEX pulls_daily_repo_customer ON pulls_daily (repo, customer_id, pulls);

-- Upload sessions that cannot be corrupted by racing requests (docs/registry.md,
-- "Uploads"). Each request parks its tail under a key of its own, and the
-- compare-and-swap that saves the session records which one is the session's: a
-- request that loses the swap can no longer overwrite the winner's tail.
ALTER TABLE uploads ADD COLUMN tail_key TEXT;
-- Sessions parked before this kept their tail under one key per session.
UPDATE uploads SET tail_key = 'tails/' || id WHERE byte_offset > 0;

-- Set by the one request that finishes the session, before it writes the blob's
-- object: no other request may write that object or save the session any more.
ALTER TABLE uploads ADD COLUMN finishing INTEGER NOT NULL DEFAULT 0;

-- What a license grants once it has expired (docs/licensing.md): 'revoke' nothing,
-- as before; 'keep_released' the versions it covered that were pushed (a manifest's
-- created_at) before it expired, and nothing newer.

ALTER TABLE licenses ADD COLUMN expiry_policy TEXT NOT NULL DEFAULT 'revoke'
  CHECK (expiry_policy IN ('revoke', 'keep_released'));

-- Immutable tags (docs/immutable-tags.md, crates/core/src/licensing/immutable.rs):
-- per artifact, a JSON array of tag patterns whose tags, once pushed, never move to
-- another digest and are never deleted. A repository created from now on — by its
-- first push, blob upload or mount — starts with `["semver"]` (the column default,
-- which the core's NEW_ARTIFACT_DEFAULT names and a core test holds to); every
-- artifact that exists already gets `[]`, so nothing pushed before changes
-- behaviour. An admin turns it off by setting the list to `[]` through the API.
ALTER TABLE repositories ADD COLUMN immutable_tags TEXT NOT NULL DEFAULT '["semver"]';
UPDATE repositories SET immutable_tags = '[]';

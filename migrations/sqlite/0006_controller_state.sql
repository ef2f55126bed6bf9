-- What the controller knows must survive a restart (issue 9): a shard's whole
-- health state, not only its effective health, and when each member cluster
-- last answered.

-- The stabilisation machine of each shard: whether it was ever published
-- healthy, and since when a recovered shard has been waiting out its window.
ALTER TABLE shards ADD COLUMN ever_healthy INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shards ADD COLUMN recovering_since TEXT;
-- Whether the member has shown this shard once (its Service with a load-balancer
-- answer, or a definite reason it never will): a new service fails open only
-- after every placed cluster reported. Shards stored before this count as reported.
ALTER TABLE shards ADD COLUMN reported INTEGER NOT NULL DEFAULT 1;
-- The owner of the member object when another federation owns it (the shard is
-- then never published and fedns leaves the object alone).
ALTER TABLE shards ADD COLUMN conflict TEXT;
UPDATE shards SET ever_healthy = healthy;

-- When each member cluster last answered, and whether it counted as Ready then:
-- after a restart an unreachable member keeps its shards for its grace period.
CREATE TABLE member_state (
  cluster   TEXT PRIMARY KEY,
  last_seen TEXT NOT NULL,            -- ISO 8601
  ready     INTEGER NOT NULL
);

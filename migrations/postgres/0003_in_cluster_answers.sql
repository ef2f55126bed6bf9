-- In-cluster answers (issue 12); the same tables as SQLite's 0009.

-- What a shard offers its own cluster's pods: cluster IPs, ready endpoints (headless), local
-- health with its stabilisation state. NULL: not observed yet.
ALTER TABLE shards ADD COLUMN local json;

-- The head of the in-cluster answers: one row, locked FOR UPDATE by every commit of them.
-- `compacted`: the highest seq of a deletion forgotten (a follower behind it reloads).
CREATE TABLE cluster_answer_head (
  id        boolean PRIMARY KEY DEFAULT true CHECK (id),
  seq       bigint NOT NULL,
  compacted bigint NOT NULL DEFAULT 0
);
INSERT INTO cluster_answer_head (seq) VALUES (0);

-- Each member cluster's private answer for each federated service; never part of the zone, its
-- journal or its transfers. A NULL answer records a deletion at `seq`.
CREATE TABLE cluster_answers (
  cluster   text COLLATE "C" NOT NULL,
  namespace text COLLATE "C" NOT NULL,
  service   text COLLATE "C" NOT NULL,
  seq       bigint NOT NULL,
  answer    json,
  PRIMARY KEY (cluster, namespace, service)
);
CREATE INDEX cluster_answers_by_seq ON cluster_answers (seq);
CREATE INDEX cluster_answers_by_service ON cluster_answers (namespace, service);

-- In-cluster answers (issue 12).

-- What a shard offers its own cluster's pods: the member Service's cluster IPs, its ready
-- endpoint addresses (headless Services) and its local health with its stabilisation state,
-- as JSON. NULL: not observed yet.
ALTER TABLE shards ADD COLUMN local TEXT;

-- Each member cluster's private answer for each federated service. Never part of the zone, its
-- journal or its transfers. `seq` is the commit that wrote the row; a NULL answer records a
-- deletion at `seq` (kept for a while, so followers learn of it; meta cluster_answers_compacted
-- is the highest seq of a deletion forgotten since). meta cluster_answers_seq is the head.
CREATE TABLE cluster_answers (
  cluster   TEXT NOT NULL,
  namespace TEXT NOT NULL,
  service   TEXT NOT NULL,
  seq       INTEGER NOT NULL,
  answer    TEXT,
  PRIMARY KEY (cluster, namespace, service)
);
CREATE INDEX cluster_answers_by_seq ON cluster_answers (seq);
CREATE INDEX cluster_answers_by_service ON cluster_answers (namespace, service);
INSERT INTO meta (key, value) VALUES ('cluster_answers_seq', '0') ON CONFLICT(key) DO NOTHING;
INSERT INTO meta (key, value) VALUES ('cluster_answers_compacted', '0') ON CONFLICT(key) DO NOTHING;

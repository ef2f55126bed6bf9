-- Traffic policy (issue 14).

-- The per-shard variants of an A/AAAA record set under weights or routing by
-- client location (JSON RecordPolicy; NULL when the set answers as published).
ALTER TABLE record_sets ADD COLUMN policy json;

-- Probes from outside: every controller, leader or standby, probes and keeps
-- rows of its own, keyed by its identity (--id). Written without a fence: they
-- are each prober's observations, not the federation's state; the leader
-- counts the fresh ones, judged by this database's clock.
CREATE TABLE probers (
  prober  text COLLATE "C" PRIMARY KEY,
  seen_at timestamptz NOT NULL
);
CREATE TABLE probe_verdicts (
  prober    text COLLATE "C" NOT NULL REFERENCES probers (prober) ON DELETE CASCADE,
  cluster   text COLLATE "C" NOT NULL,
  namespace text COLLATE "C" NOT NULL,
  service   text COLLATE "C" NOT NULL,
  target    text NOT NULL,
  addresses json NOT NULL,
  ok        boolean NOT NULL,
  since     text NOT NULL,
  message   text NOT NULL,
  PRIMARY KEY (prober, cluster, namespace, service)
);
CREATE INDEX probe_verdicts_by_service ON probe_verdicts (namespace, service);
-- Moves with every verdict put or removed: a leader polls it instead of the rows.
CREATE TABLE probe_head (
  revision bigint NOT NULL
);
INSERT INTO probe_head (revision) VALUES (0);

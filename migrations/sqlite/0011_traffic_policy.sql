-- Traffic policy (issue 14).

-- The per-shard variants of an A/AAAA record set under weights or routing by
-- client location (JSON RecordPolicy; NULL when the set answers as published).
ALTER TABLE record_sets ADD COLUMN policy TEXT;

-- Probes from outside: every controller, leader or standby, probes and keeps
-- rows of its own, keyed by its identity (--id). Written without a fence: they
-- are each prober's observations, not the federation's state; the leader
-- counts the fresh ones.
CREATE TABLE probers (
  prober  TEXT PRIMARY KEY,
  seen_at INTEGER NOT NULL             -- ms since the epoch, the store's clock: when it last recorded
);
CREATE TABLE probe_verdicts (
  prober    TEXT NOT NULL REFERENCES probers (prober) ON DELETE CASCADE,
  cluster   TEXT NOT NULL,
  namespace TEXT NOT NULL,
  service   TEXT NOT NULL,
  target    TEXT NOT NULL,              -- the probe as written, e.g. tcp:443
  addresses TEXT NOT NULL,              -- JSON array: what was probed
  ok        INTEGER NOT NULL,           -- the prober's verdict after its thresholds
  since     TEXT NOT NULL,              -- when ok last changed (ISO 8601)
  message   TEXT NOT NULL,
  PRIMARY KEY (prober, cluster, namespace, service)
);
CREATE INDEX probe_verdicts_by_service ON probe_verdicts (namespace, service);
-- Moves with every verdict put or removed: a leader polls it instead of the rows.
INSERT INTO meta (key, value) VALUES ('probe_revision', '0') ON CONFLICT (key) DO NOTHING;

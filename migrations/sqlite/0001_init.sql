-- fedns store, first schema. One SQLite file (WAL) is the single source of truth.

-- Key/value facts about this data directory (resource version counter, zone serial).
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Federated services as the API stored them (the full Kubernetes object as JSON).
CREATE TABLE services (
  namespace        TEXT NOT NULL,
  name             TEXT NOT NULL,
  uid              TEXT NOT NULL UNIQUE,
  resource_version INTEGER NOT NULL,
  object           TEXT NOT NULL,
  PRIMARY KEY (namespace, name)
);

-- Member clusters. Credentials are stored encrypted (see packages/store README).
CREATE TABLE clusters (
  name             TEXT PRIMARY KEY,
  uid              TEXT NOT NULL UNIQUE,
  resource_version INTEGER NOT NULL,
  object           TEXT NOT NULL,
  credentials      BLOB
);

-- One member cluster's copy of a federated service, as last observed.
CREATE TABLE shards (
  cluster         TEXT NOT NULL,
  namespace       TEXT NOT NULL,
  service         TEXT NOT NULL,
  addresses       TEXT NOT NULL,          -- JSON array of IP literals
  ready_endpoints INTEGER NOT NULL,
  healthy         INTEGER NOT NULL,       -- effective health (grace/stabilisation applied)
  since           TEXT NOT NULL,          -- when `healthy` last changed (ISO 8601)
  message         TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (cluster, namespace, service)
);

-- The published zone content: one row per RRset.
CREATE TABLE record_sets (
  name      TEXT NOT NULL,
  type      TEXT NOT NULL,
  ttl       INTEGER NOT NULL,
  data      TEXT NOT NULL,                -- JSON array
  level     TEXT NOT NULL,
  namespace TEXT NOT NULL,
  service   TEXT NOT NULL,
  region    TEXT,
  zone      TEXT,
  PRIMARY KEY (name, type)
);
CREATE INDEX record_sets_by_service ON record_sets (namespace, service);

-- One row per committed serial: what changed and why. Feeds IXFR, history and followers.
CREATE TABLE journal (
  seq         INTEGER PRIMARY KEY,        -- commit number, only grows (the SOA serial wraps)
  soa_serial  INTEGER NOT NULL,
  prev_soa    INTEGER NOT NULL,
  at          TEXT NOT NULL,
  cause       TEXT NOT NULL,
  deleted     TEXT NOT NULL,              -- JSON RecordSet[] (old content)
  added       TEXT NOT NULL               -- JSON RecordSet[] (new content)
);

-- fedns store on PostgreSQL, first schema: today's SQLite schema (migrations 0001…0006)
-- in PostgreSQL types, plus what several processes need (leases, served serials).
-- Applied by packages/store/src/postgres/migrate.ts in one transaction under an
-- advisory lock. Key columns use COLLATE "C" so every ORDER BY is byte order, as in SQLite.

-- Facts about this installation (installation_id, the credentials key check).
CREATE TABLE meta (
  key   text COLLATE "C" PRIMARY KEY,
  value text NOT NULL
);
INSERT INTO meta (key, value) VALUES ('installation_id', gen_random_uuid()::text);

-- The resourceVersion counter: one row. Every object write takes its row lock
-- (UPDATE … RETURNING) inside its own transaction, so rv order is commit order.
-- `compacted`: the highest rv pruned from object_log (a watch from below it is 410).
CREATE TABLE object_revision (
  id        boolean PRIMARY KEY DEFAULT true CHECK (id),
  rv        bigint NOT NULL,
  compacted bigint NOT NULL DEFAULT 0
);
INSERT INTO object_revision (rv) VALUES (1);

-- Services, clusters and namespaces as the API stored them (the whole Kubernetes
-- object as JSON, key order kept); one table, the kind a column. namespace is ''
-- for cluster-scoped kinds. Cluster credentials are sealed (AES-256-GCM, key outside the database).
CREATE TABLE objects (
  kind             text COLLATE "C" NOT NULL CHECK (kind IN ('services', 'clusters', 'namespaces')),
  namespace        text COLLATE "C" NOT NULL,
  name             text COLLATE "C" NOT NULL,
  uid              text NOT NULL,
  resource_version bigint NOT NULL,
  object           json NOT NULL,
  credentials      bytea,
  PRIMARY KEY (kind, namespace, name),
  UNIQUE (kind, uid)
);

-- Every object change, appended in the write's own transaction; rv is the
-- resourceVersion the write produced. Pruned to a bounded number of rows.
CREATE TABLE object_log (
  rv        bigint PRIMARY KEY,
  kind      text COLLATE "C" NOT NULL CHECK (kind IN ('services', 'clusters', 'namespaces')),
  namespace text COLLATE "C" NOT NULL,
  name      text COLLATE "C" NOT NULL,
  type      text NOT NULL CHECK (type IN ('ADDED', 'MODIFIED', 'DELETED')),
  actor     text NOT NULL,
  at        timestamptz NOT NULL DEFAULT now(),
  object    json NOT NULL               -- after the change; before it, for DELETED
);
CREATE INDEX object_log_by_object ON object_log (kind, namespace, name, rv);

-- One member cluster's copy of a federated service, with its whole health state.
-- Timestamps the controller supplies stay text (ISO 8601, returned as given).
CREATE TABLE shards (
  cluster          text COLLATE "C" NOT NULL,
  namespace        text COLLATE "C" NOT NULL,
  service          text COLLATE "C" NOT NULL,
  addresses        json NOT NULL,         -- JSON array of IP literals
  ready_endpoints  integer NOT NULL,
  healthy          boolean NOT NULL,
  since            text NOT NULL,
  message          text NOT NULL DEFAULT '',
  ever_healthy     boolean NOT NULL DEFAULT false,
  recovering_since text,
  reported         boolean NOT NULL DEFAULT true,
  conflict         text,
  PRIMARY KEY (cluster, namespace, service)
);
CREATE INDEX shards_by_service ON shards (namespace, service);

-- When each member cluster last answered, and whether it counted as Ready then.
CREATE TABLE member_state (
  cluster   text COLLATE "C" PRIMARY KEY,
  last_seen text NOT NULL,
  ready     boolean NOT NULL
);

-- The zone head: one row, locked FOR UPDATE by every zone commit. The SOA serial
-- starts from the clock (seconds, 32 bits) so a re-created store still looks newer to secondaries.
CREATE TABLE zone_head (
  id         boolean PRIMARY KEY DEFAULT true CHECK (id),
  soa_serial bigint NOT NULL CHECK (soa_serial >= 0 AND soa_serial < 4294967296),
  seq        bigint NOT NULL
);
INSERT INTO zone_head (soa_serial, seq) VALUES (floor(extract(epoch FROM now()))::bigint % 4294967296, 0);

-- The published zone content: one row per RRset.
CREATE TABLE record_sets (
  name      text COLLATE "C" NOT NULL,
  type      text COLLATE "C" NOT NULL,
  ttl       integer NOT NULL,
  data      json NOT NULL,              -- JSON array of strings
  level     text NOT NULL,
  namespace text COLLATE "C" NOT NULL,
  service   text COLLATE "C" NOT NULL,
  region    text,
  zone      text,
  PRIMARY KEY (name, type)
);
CREATE INDEX record_sets_by_service ON record_sets (namespace, service);

-- One row per commit: the stored old content of every RRset it replaced or
-- deleted, the new content of every one it wrote, and the cause. Feeds IXFR,
-- history and followers.
CREATE TABLE journal (
  seq        bigint PRIMARY KEY,
  soa_serial bigint NOT NULL,
  prev_soa   bigint NOT NULL,
  at         timestamptz NOT NULL DEFAULT now(),
  cause      text NOT NULL,
  deleted    json NOT NULL,
  added      json NOT NULL
);
CREATE INDEX journal_by_prev_soa ON journal (prev_soa, seq);

-- Which services each journal entry touched (`fedns history`).
CREATE TABLE journal_services (
  seq       bigint NOT NULL REFERENCES journal (seq) ON DELETE CASCADE,
  namespace text COLLATE "C" NOT NULL,
  service   text COLLATE "C" NOT NULL,
  PRIMARY KEY (namespace, service, seq)
);
CREATE INDEX journal_services_by_seq ON journal_services (seq);

-- The serial each nameserver last reported serving: a zone commit's serial is
-- above every one of them (RFC 1982), so no serial is served with two contents.
CREATE TABLE served_serials (
  server text COLLATE "C" PRIMARY KEY,
  serial bigint NOT NULL CHECK (serial >= 0 AND serial < 4294967296),
  at     timestamptz NOT NULL DEFAULT now()
);

-- Leader-election leases, judged by the database's clock. The row stays after a
-- release (expired), so epochs only grow and an old fence never matches again.
-- UNIQUE (name, epoch) makes epoch a key column: a fenced write holds the row
-- FOR KEY SHARE, which a takeover (an UPDATE that changes the epoch) waits for,
-- while a renewal (only the times change) does not.
CREATE TABLE leases (
  name        text COLLATE "C" PRIMARY KEY,
  holder      text NOT NULL,
  epoch       bigint NOT NULL,
  acquired_at timestamptz NOT NULL,
  renewed_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  UNIQUE (name, epoch)
);

-- lz4 for the large JSON values (a full build's journal entry is tens of MB) where the server has it:
-- several times faster than the default pglz at a similar ratio.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    ALTER TABLE journal ALTER COLUMN deleted SET COMPRESSION lz4, ALTER COLUMN added SET COMPRESSION lz4;
    ALTER TABLE object_log ALTER COLUMN object SET COMPRESSION lz4;
    ALTER TABLE objects ALTER COLUMN object SET COMPRESSION lz4;
  END IF;
END $$;

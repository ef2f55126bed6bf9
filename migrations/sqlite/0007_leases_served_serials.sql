-- Issue 11: the store interface is one contract for SQLite and PostgreSQL.
-- SQLite has one writer by construction (the writer lock), so it never needs
-- an election, but it keeps the same records: leases (so the same code and
-- tests run on both engines) and the serials nameservers report serving (a
-- commit's serial is always above every one of them).
CREATE TABLE leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  epoch      INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,            -- ms since the epoch, by this machine's clock
  renewed_at INTEGER NOT NULL
);

CREATE TABLE served_serials (
  server TEXT PRIMARY KEY,
  serial INTEGER NOT NULL,
  at     TEXT NOT NULL
);

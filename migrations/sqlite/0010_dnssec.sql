-- DNSSEC (issue 15). Signing keys of the zone: the private key (PKCS#8) sealed
-- with the credentials key (AES-256-GCM), never in clear; state: published,
-- active or retired.
CREATE TABLE dnssec_keys (
  zone        TEXT NOT NULL,
  id          TEXT NOT NULL,
  flags       INTEGER NOT NULL,
  algorithm   INTEGER NOT NULL,
  private_key BLOB NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('published', 'active', 'retired')),
  created     TEXT NOT NULL,
  PRIMARY KEY (zone, id)
);
-- The zone's signing state (JSON): signed or not, a rollover in progress with its
-- timestamps, a DS withdrawal; so a rollover resumes across restarts.
CREATE TABLE dnssec_state (
  zone  TEXT PRIMARY KEY,
  state TEXT NOT NULL
);

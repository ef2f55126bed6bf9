-- DNSSEC (issue 15). Signing keys of the zone: the private key (PKCS#8) sealed
-- with the credentials key (AES-256-GCM), never in clear; state: published,
-- active or retired.
CREATE TABLE dnssec_keys (
  zone        text COLLATE "C" NOT NULL,
  id          text COLLATE "C" NOT NULL,
  flags       integer NOT NULL,
  algorithm   integer NOT NULL,
  private_key bytea NOT NULL,
  state       text NOT NULL CHECK (state IN ('published', 'active', 'retired')),
  created     text NOT NULL,
  PRIMARY KEY (zone, id)
);
-- The zone's signing state (JSON): signed or not, a rollover in progress with its
-- timestamps, a DS withdrawal; so a rollover resumes across restarts.
CREATE TABLE dnssec_state (
  zone  text COLLATE "C" PRIMARY KEY,
  state json NOT NULL
);

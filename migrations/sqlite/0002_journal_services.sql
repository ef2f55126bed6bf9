-- Which services each journal entry touched, so `fedns history SERVICE` does not
-- scan the whole journal. Backfilled from the entries already there.
CREATE TABLE journal_services (
  seq       INTEGER NOT NULL REFERENCES journal (seq) ON DELETE CASCADE,
  namespace TEXT NOT NULL,
  service   TEXT NOT NULL,
  PRIMARY KEY (namespace, service, seq)
);

INSERT OR IGNORE INTO journal_services (seq, namespace, service)
  SELECT j.seq, json_extract(e.value, '$.namespace'), json_extract(e.value, '$.service')
  FROM journal j, json_each(j.added) e
  UNION
  SELECT j.seq, json_extract(e.value, '$.namespace'), json_extract(e.value, '$.service')
  FROM journal j, json_each(j.deleted) e;

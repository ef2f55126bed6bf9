-- Every change of an object the federation API serves (services, clusters,
-- namespaces), whoever made it: through the API (actor = the authenticated user,
-- system:anonymous when authentication is off) or directly (system:fedns: the
-- controller's status writes, fedns join). Appended in the transaction of the
-- write it records; `rv` is the resourceVersion that write produced, so rows are
-- in commit order and a watch can one day resume from it. Pruned to a bounded
-- number of rows by the store.
CREATE TABLE object_log (
  rv        INTEGER PRIMARY KEY,
  kind      TEXT NOT NULL CHECK (kind IN ('services', 'clusters', 'namespaces')),
  namespace TEXT NOT NULL,                -- '' for cluster-scoped kinds
  name      TEXT NOT NULL,
  type      TEXT NOT NULL CHECK (type IN ('ADDED', 'MODIFIED', 'DELETED')),
  actor     TEXT NOT NULL,
  at        TEXT NOT NULL,                -- ISO 8601
  object    TEXT NOT NULL                 -- JSON: the object after the change (before it, for DELETED)
);
CREATE INDEX object_log_by_object ON object_log (kind, namespace, name, rv);

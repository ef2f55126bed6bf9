-- core/v1 Namespaces of the federation API (the whole Kubernetes object as JSON,
-- like services and clusters). Services name their namespace; the API creates
-- a namespace on first use and deleting one deletes its services.
CREATE TABLE namespaces (
  name             TEXT PRIMARY KEY,
  uid              TEXT NOT NULL UNIQUE,
  resource_version INTEGER NOT NULL,
  object           TEXT NOT NULL
);

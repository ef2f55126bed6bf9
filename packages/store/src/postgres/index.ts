export { POSTGRES_MIGRATIONS_DIR, type PostgresStoreOptions, redactUrl } from './options.js';
export type { ReplicationStatus } from './replication.js';
export { PostgresStore } from './store.js';

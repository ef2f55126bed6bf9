export * from './types.js';
export { openStore, defaultStoreUrl, StoreUrlError, type OpenStoreOptions } from './open.js';
export { SqliteStore, SQLITE_MIGRATIONS_DIR, type SqliteOptions } from './sqlite/engine.js';
export { POSTGRES_MIGRATIONS_DIR, PostgresStore, type PostgresStoreOptions, type ReplicationStatus } from './postgres/index.js';
export { migrate, readMigrations, SchemaTooNewError, type Migration } from './sqlite/migrate.js';
export { OBJECT_LOG_SIZE } from './sqlite/object-log.js';
export { acquireWriterLock, WriterLockHeldError, type WriterHolder, type WriterLock } from './sqlite/writer-lock.js';
export { SecretBox } from './secrets.js';
export { followObjects, type ObjectFeed, type ObjectFeedOptions } from './feed.js';

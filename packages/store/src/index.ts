export * from './store.js';
export { migrate, readMigrations, SchemaTooNewError, type Migration } from './migrate.js';
export { SecretBox } from './secrets.js';
export { acquireWriterLock, WriterLockHeldError, type WriterHolder, type WriterLock } from './writer-lock.js';
export { OBJECT_LOG_SIZE, SYSTEM_ACTOR, type ObjectChangeSummary, type ObjectChangeType, type ObjectKind, type ObjectLogEntry } from './object-log.js';

export * from './store.js';
export { migrate, readMigrations, SchemaTooNewError, type Migration } from './migrate.js';
export { SecretBox } from './secrets.js';
export { acquireWriterLock, WriterLockHeldError, type WriterHolder, type WriterLock } from './writer-lock.js';

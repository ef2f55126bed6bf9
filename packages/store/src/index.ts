export * from './store.js';
export { migrate, readMigrations, SchemaTooNewError, type Migration } from './migrate.js';
export { SecretBox } from './secrets.js';

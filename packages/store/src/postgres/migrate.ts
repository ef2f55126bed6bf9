/**
 * The PostgreSQL migration runner: every pending `migrations/postgres/NNNN_name.sql`
 * in one transaction under a transaction-level advisory lock (two processes
 * starting at once: the second waits, then finds nothing to do), recorded in
 * schema_migrations; a database newer than the code is refused.
 */
import type pg from 'pg';
import { type Migration, SchemaTooNewError } from '../sqlite/migrate.js';
import { inTransaction } from './tx.js';

/** pg_advisory_xact_lock key of the runner ('fedns' in ASCII). */
const MIGRATION_LOCK = 0x6665646e73;

/** A migration may rewrite big tables: the client waits far longer than for everyday statements. */
const MIGRATION_TIMEOUT_MS = 6 * 3600_000;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

export async function migratePostgres(pool: pg.Pool, migrations: Migration[]): Promise<{ from: number; to: number }> {
  return inTransaction(pool, async (c) => {
    // A migration may take longer than the per-session limits meant for everyday statements.
    await c.query("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = '120s'");
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await c.query(CREATE_TABLE);
    const from = Number((await c.query('SELECT coalesce(max(version), 0) AS v FROM schema_migrations')).rows[0].v);
    const latest = migrations.length;
    if (from > latest) throw new SchemaTooNewError(from, latest);
    for (const mig of migrations.slice(from)) {
      // query_timeout per query is honoured by pg, though its types do not list it.
      await c.query({ text: mig.sql, query_timeout: MIGRATION_TIMEOUT_MS } as pg.QueryConfig);
      await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [mig.version, mig.name]);
    }
    return { from, to: latest };
  });
}

/** A read-only store checks the schema without changing it: present, and not newer than the code. */
export async function checkSchema(pool: pg.Pool, migrations: Migration[]): Promise<number> {
  const exists = await pool.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS ok");
  if (!exists.rows[0].ok) throw new Error('store: the database has no fedns schema yet (start a writer such as `fedns serve` or `fedns controller` first)');
  const version = Number((await pool.query('SELECT coalesce(max(version), 0) AS v FROM schema_migrations')).rows[0].v);
  if (version > migrations.length) throw new SchemaTooNewError(version, migrations.length);
  if (version < migrations.length) {
    throw new Error(`store: the database schema (version ${version}) is older than this fedns (${migrations.length}); let a writer migrate it first`);
  }
  return version;
}

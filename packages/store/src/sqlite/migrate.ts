import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { StoreConfigError } from '../types.js';
import { transaction } from './tx.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads `NNNN_name.sql` files in version order; refuses gaps and duplicates. */
export function readMigrations(dir: string): Migration[] {
  const migrations = readdirSync(dir)
    .map((file) => ({ file, m: FILE_RE.exec(file) }))
    .filter((x): x is { file: string; m: RegExpExecArray } => x.m !== null)
    .map(({ file, m }) => ({ version: Number(m[1]), name: m[2] ?? file, sql: readFileSync(join(dir, file), 'utf8') }))
    .sort((a, b) => a.version - b.version);
  migrations.forEach((mig, i) => {
    if (mig.version !== i + 1) throw new Error(`migrations in ${dir}: expected version ${i + 1}, found ${mig.version}_${mig.name}`);
  });
  return migrations;
}

export class SchemaTooNewError extends StoreConfigError {
  constructor(
    readonly databaseVersion: number,
    readonly codeVersion: number,
  ) {
    super(
      `database schema version ${databaseVersion} is newer than this fedns knows (${codeVersion}); ` +
        'run a fedns release at least as new as the one that last wrote this data directory',
    );
  }
}

/** Applies every pending migration, each in its own transaction, recording it in schema_migrations. */
export function migrate(db: DatabaseSync, migrations: Migration[]): { from: number; to: number } {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  const from = row.v ?? 0;
  const latest = migrations.length;
  if (from > latest) throw new SchemaTooNewError(from, latest);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const mig of migrations.slice(from)) {
    transaction(db, () => {
      db.exec(mig.sql);
      record.run(mig.version, mig.name, new Date().toISOString());
    });
  }
  return { from, to: latest };
}

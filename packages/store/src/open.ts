/**
 * Opens a store by URL (kine's driver registry): `sqlite:PATH` (the embedded
 * default, `<data-dir>/fedns.db`) or `postgres://…` (high availability).
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PostgresStore } from './postgres/index.js';
import { SqliteStore } from './sqlite/engine.js';
import { type Store, StoreConfigError } from './types.js';

export interface OpenStoreOptions {
  /** `sqlite:PATH` or `postgres://…`; default `sqlite:<dataDir>/fedns.db`. */
  url?: string;
  dataDir?: string;
  /** A follower that never writes (a nameserver): no migrations, no credentials key. */
  readonly?: boolean;
  /** Key for credentials at rest; default `secret.key` beside the SQLite file, or in `dataDir`. */
  keyFile?: string;
  /** Object log rows kept. */
  objectLogSize?: number;
  /** PostgreSQL: a file holding the password (else PGPASSWORD). */
  passwordFile?: string;
}

/** A store URL or option the operator gave that cannot work: one line for the CLI. */
export class StoreUrlError extends StoreConfigError {}

export function defaultStoreUrl(dataDir: string): string {
  return `sqlite:${join(dataDir, 'fedns.db')}`;
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const url = opts.url ?? defaultStoreUrl(opts.dataDir ?? './data');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new StoreUrlError('store: sqlite: needs a file path (sqlite:/var/lib/fedns/fedns.db)');
    return SqliteStore.open({ path, readonly: opts.readonly, keyFile: opts.keyFile, objectLogSize: opts.objectLogSize });
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    // The credentials key: given, or `secret.key` in the data dir, created when missing by a writer.
    // Every process of an installation needs the same one: a different key is refused at open.
    const keyFile = opts.keyFile ?? (opts.readonly ? undefined : join(opts.dataDir ?? './data', 'secret.key'));
    if (keyFile && !opts.readonly) mkdirSync(dirname(keyFile), { recursive: true });
    return PostgresStore.open({
      url,
      readonly: opts.readonly,
      keyFile,
      createKeyFile: !opts.readonly,
      objectLogSize: opts.objectLogSize,
      passwordFile: opts.passwordFile,
    });
  }
  throw new StoreUrlError(`store: "${url}" is not sqlite:PATH or postgres://…`);
}

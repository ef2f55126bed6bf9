/**
 * Options of the PostgreSQL engine and the `pg` pool configuration built from
 * them: per-session settings sent at connection start-up (no extra round
 * trip), the password from a file or the environment (never the command line),
 * bigints as numbers, and the URL with its password removed for logs.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';

/** The top-level migrations/postgres/ folder of the workspace. */
export const POSTGRES_MIGRATIONS_DIR = fileURLToPath(new URL('../../../../migrations/postgres/', import.meta.url));

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database?sslmode=…` (a password in it works, but prefer the two below). */
  url: string;
  /** A file holding the password (read at every new connection, so a rotated one is picked up). Else PGPASSWORD. */
  passwordFile?: string;
  /** Key file for cluster credentials at rest (32 bytes, base64); every process of an installation needs the same one. */
  keyFile?: string;
  /** Create `keyFile` with a fresh key when it does not exist (one-machine setups and tests; never in HA). */
  createKeyFile?: boolean;
  /** A follower (nameserver, possibly on a hot standby): no migrations, no writes (`default_transaction_read_only`). */
  readonly?: boolean;
  migrationsDir?: string;
  /** Object log rows kept (default 100,000; older ones are pruned in batches). */
  objectLogSize?: number;
  /** Pool size (default 10). */
  poolSize?: number;
  /** Per-session `lock_timeout` (default 5 s): a writer never waits long behind a stuck one. */
  lockTimeoutMs?: number;
  /** Per-session `statement_timeout` (default 60 s: a full zone build of 180,000 RRsets takes seconds). */
  statementTimeoutMs?: number;
  /** Per-session `idle_in_transaction_session_timeout` (default 5 s, below a lease): a paused leader loses its locks. */
  idleInTransactionTimeoutMs?: number;
  /** Connect timeout (default 5 s). */
  connectTimeoutMs?: number;
  /** Learn of other processes' commits through LISTEN/NOTIFY (default true); polling while it is down, or always when false. */
  listen?: boolean;
  /** Polling interval of the change feed when LISTEN is not available (default 500 ms). */
  pollIntervalMs?: number;
  /** application_name of the sessions (default `fedns`). */
  applicationName?: string;
}

export const DEFAULTS = {
  objectLogSize: 100_000,
  poolSize: 10,
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 60_000,
  idleInTransactionTimeoutMs: 5_000,
  connectTimeoutMs: 5_000,
  pollIntervalMs: 500,
  applicationName: 'fedns',
} as const;

/** The URL without its password (for logs and `Store.location`). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    for (const key of [...u.searchParams.keys()]) if (key.toLowerCase() === 'password') u.searchParams.set(key, 'xxx');
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/** `-c name=value` start-up options: every session of the pool, the LISTEN one included, runs with them. */
export function sessionOptions(o: PostgresStoreOptions): string {
  const settings: Record<string, string | number> = {
    lock_timeout: o.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
    statement_timeout: o.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs,
    idle_in_transaction_session_timeout: o.idleInTransactionTimeoutMs ?? DEFAULTS.idleInTransactionTimeoutMs,
    // Every timestamp the store hands out is read back as UTC.
    TimeZone: 'UTC',
    // Short indexed statements only: JIT compilation (triggered by cost estimates, e.g. stale
    // statistics after a bulk load) costs a flap hundreds of milliseconds and never pays back.
    jit: 'off',
  };
  if (o.readonly) settings.default_transaction_read_only = 'on';
  return Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
}

/** bigint (int8) columns as JS numbers: rvs, seqs, serials and epochs stay far below 2^53. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8 && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/**
 * The `pg` client configuration (pool and LISTEN connection alike). The URL is
 * parsed here rather than handed to `pg` as a connectionString, which would
 * override the options below; `-c` settings given in the URL's `options`
 * parameter come last, so an operator's win.
 */
export function clientConfig(o: PostgresStoreOptions): pg.ClientConfig {
  const fromUrl = parseIntoClientConfig(o.url);
  const statementTimeout = o.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs;
  const config: pg.ClientConfig = {
    ...fromUrl,
    options: [sessionOptions(o), fromUrl.options].filter(Boolean).join(' '),
    application_name: fromUrl.application_name ?? o.applicationName ?? DEFAULTS.applicationName,
    connectionTimeoutMillis: o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    // A server cut off by a partition cannot end a statement: the client gives up a little after it would have.
    ...(statementTimeout > 0 ? { query_timeout: statementTimeout + 10_000 } : {}),
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    types,
  };
  // No password in the URL: the file when given (read at every connection, so a rotated one is picked
  // up), else `pg` falls back to PGPASSWORD.
  if (!config.password) delete config.password;
  const file = o.passwordFile;
  if (file && !config.password) config.password = () => readFileSync(file, 'utf8').trim();
  return config;
}

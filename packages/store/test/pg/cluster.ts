/**
 * PostgreSQL setups for tests: one server, or a primary with streaming
 * standbys (`pg_basebackup -R`, an application_name per standby, synchronous
 * `ANY 1 (s1, s2)` by default) behind an optional proxy that moves with the
 * primary. Promote a standby, kill -9 any server, re-clone a dead one.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TcpProxy } from './proxy.js';
import { freePort, initServer, makeBaseDir, PgServer, type PgServerOptions, pgTool, removeBase } from './server.js';

export class PgHarness {
  /** A file holding the superuser's password (pass it as `passwordFile`, or its content as PGPASSWORD). */
  readonly passwordFile: string;
  standbys: PgServer[] = [];
  proxy: TcpProxy | undefined;

  constructor(
    readonly base: string,
    public primary: PgServer,
  ) {
    this.passwordFile = join(base, 'client.pw');
    writeFileSync(this.passwordFile, `${primary.password}\n`, { mode: 0o600 });
    chmodSync(this.passwordFile, 0o600);
  }

  get password(): string {
    return this.primary.password;
  }

  /** The current primary's URL: through the proxy when there is one. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.proxy?.port ?? this.primary.port}/${database}`;
  }

  /** A fresh database on the primary; its URL. */
  async createDatabase(name: string): Promise<string> {
    await this.primary.query(`CREATE DATABASE "${name.replaceAll('"', '')}"`);
    return this.url(name);
  }

  /** Stops every server (fast), the proxy, and removes the directory. */
  async destroy(): Promise<void> {
    await this.proxy?.close();
    for (const s of [this.primary, ...this.standbys]) {
      await s.stop().catch(() => s.kill());
    }
    removeBase(this.base);
  }
}

/** One PostgreSQL server on a free loopback port. */
export async function startPostgres(opts: PgServerOptions = {}): Promise<PgHarness> {
  const base = makeBaseDir();
  try {
    const primary = await initServer(base, 'primary', opts);
    await primary.start();
    return new PgHarness(base, primary);
  } catch (err) {
    removeBase(base);
    throw err;
  }
}

export interface ReplicatedOptions extends PgServerOptions {
  /** Standby names (their application_name); default s1, s2. */
  standbys?: string[];
  /** synchronous_standby_names; default `ANY 1 (s1, s2)` over the standbys; '' for asynchronous. */
  synchronous?: string;
  /** Put a proxy in front of the primary (default true): `url()` survives a promotion. */
  proxy?: boolean;
}

/** A replicated cluster: promote, re-clone, and the servers' start/stop/kill. */
export class PgCluster extends PgHarness {
  /** Whether commits wait for a quorum of standbys (then a promotion names the new quorum). */
  synchronous = true;

  /**
   * Promotes `standby`, re-points the other running standbys at it, makes every
   * other node (the old primary included, once re-cloned) a synchronous
   * candidate of the new primary, as a failover manager does, and moves the proxy.
   */
  async promote(standby: PgServer): Promise<void> {
    await standby.promote();
    for (let i = 0; i < 100 && (await standby.query('SELECT pg_is_in_recovery() AS r'))[0]?.r; i++) await sleep(100);
    const others = this.standbys.filter((s) => s !== standby);
    if (this.synchronous) {
      const names = [this.primary, ...others].map((s) => s.name);
      await standby.query(`ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (${names.join(', ')})'`);
      await standby.query('SELECT pg_reload_conf()');
    }
    for (const s of others.filter((o) => o.running())) {
      await s.query(`ALTER SYSTEM SET primary_conninfo = '${conninfo(standby.port, s.name, this.password)}'`);
      await s.query('SELECT pg_reload_conf()');
    }
    this.primary = standby;
    this.standbys = others;
    this.proxy?.retarget(standby.port);
  }

  /** The running standby that has received the most WAL (the one a failover manager promotes). */
  async mostAdvancedStandby(): Promise<PgServer> {
    let best: { s: PgServer; lsn: bigint } | undefined;
    for (const s of this.standbys.filter((x) => x.running())) {
      const [row] = await s.query<{ lsn: string | null }>('SELECT pg_last_wal_receive_lsn()::text AS lsn');
      const lsn = parseLsn(row?.lsn ?? '0/0');
      if (!best || lsn > best.lsn) best = { s, lsn };
    }
    if (!best) throw new Error('no running standby');
    return best.s;
  }

  /** Waits until every running standby streams from the primary (and, when synchronous, counts for the quorum). */
  async waitForStandbys(timeoutMs = 30_000): Promise<void> {
    const want = this.standbys.filter((s) => s.running()).map((s) => s.name);
    const deadline = Date.now() + timeoutMs;
    const ok = (r: { state: string; sync_state: string }) => r.state === 'streaming' && (!this.synchronous || r.sync_state === 'quorum' || r.sync_state === 'sync');
    for (;;) {
      const rows = await this.primary.query<{ application_name: string; state: string; sync_state: string }>(
        'SELECT application_name, state, sync_state FROM pg_stat_replication',
      );
      if (want.every((n) => rows.some((r) => r.application_name === n && ok(r)))) return;
      if (Date.now() > deadline) throw new Error(`standbys not streaming: want ${want.join(', ')}, have ${JSON.stringify(rows)}`);
      await sleep(100);
    }
  }

  /** Makes `server` (stopped or killed, e.g. the old primary) a fresh standby of the current primary. */
  async reclone(server: PgServer): Promise<PgServer> {
    if (server.running()) await server.kill();
    const fresh = new PgServer(server.name, this.base, server.port, this.password);
    removeDataDir(fresh);
    await basebackup(this.primary, fresh, this.password);
    await fresh.start();
    this.standbys = [...this.standbys.filter((s) => s.name !== server.name), fresh];
    return fresh;
  }
}

/** A primary and streaming standbys (default s1, s2; synchronous ANY 1) behind a proxy. */
export async function startReplicated(opts: ReplicatedOptions = {}): Promise<PgCluster> {
  const names = opts.standbys ?? ['s1', 's2'];
  const synchronous = opts.synchronous ?? `ANY 1 (${names.join(', ')})`;
  const base = makeBaseDir();
  let cluster: PgCluster | undefined;
  try {
    const primary = await initServer(base, 'primary', { settings: { synchronous_standby_names: synchronous, ...opts.settings } });
    await primary.start();
    cluster = new PgCluster(base, primary);
    cluster.synchronous = synchronous !== '';
    for (const name of names) {
      const standby = new PgServer(name, base, await freePort(), primary.password);
      await basebackup(primary, standby, primary.password);
      await standby.start();
      cluster.standbys.push(standby);
    }
    await cluster.waitForStandbys();
    if (opts.proxy ?? true) cluster.proxy = await TcpProxy.start(primary.port);
    return cluster;
  } catch (err) {
    if (cluster) await cluster.destroy();
    else removeBase(base);
    throw err;
  }
}

function conninfo(port: number, applicationName: string, password: string): string {
  return `host=127.0.0.1 port=${port} user=postgres password=${password} application_name=${applicationName}`;
}

/** pg_basebackup -R: the copy starts as a standby of `from`, named by its application_name. */
async function basebackup(from: PgServer, to: PgServer, password: string): Promise<void> {
  await pgTool('pg_basebackup', ['-d', conninfo(from.port, to.name, password), '-D', to.dataDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'], {
    PGPASSWORD: password,
  });
}

function removeDataDir(s: PgServer): void {
  removeBase(s.dataDir);
}

function parseLsn(lsn: string): bigint {
  const [hi = '0', lo = '0'] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

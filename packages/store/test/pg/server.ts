/**
 * One throwaway PostgreSQL server for tests: Debian's PostgreSQL 15
 * (/usr/lib/postgresql/15/bin, or $PG_BIN) in a temporary directory, on a free
 * loopback port, run as the `postgres` user when the tests run as root
 * (PostgreSQL refuses root). Password authentication on TCP (scram-sha-256),
 * trust on its private Unix socket. Stopped (and its directory removed) by
 * `destroy()`, or at process exit if a test forgot.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** argv to run a PostgreSQL tool, as `postgres` when we are root. */
export function pgCommand(tool: string, args: string[]): [string, string[]] {
  const bin = join(PG_BIN, tool);
  return asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

export async function pgTool(tool: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const [cmd, argv] = pgCommand(tool, args);
  try {
    const { stdout } = await run(cmd, argv, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')}: ${e.stderr || e.message}`);
  }
}

/**
 * A port free for TCP and UDP on 127.0.0.1 now, for a server a test starts
 * later. Chosen below the kernel's ephemeral range: a port from inside it can
 * be taken meanwhile by any outgoing connection on the machine (a database
 * client, another test), and the server then fails to bind.
 */
export async function freePort(): Promise<number> {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const top = Math.min((low ?? 32768) - 1, 32767);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (top - 10_000));
    if ((await bindable('tcp', port)) && (await bindable('udp', port))) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

function bindable(proto: 'tcp' | 'udp', port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
      return;
    }
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A directory owned by postgres (mode 0700) for data directories, sockets and logs. */
export function makeBaseDir(): string {
  const base = mkdtempSync(join(tmpdir(), 'fedns-pg-'));
  if (asRoot) {
    const { uid, gid } = postgresIds();
    chownSync(base, uid, gid);
  }
  return base;
}

const running = new Set<PgServer>();
process.on('exit', () => {
  for (const s of running) s.killNow();
  for (const base of new Set([...running].map((s) => s.base))) rmSync(base, { recursive: true, force: true });
});

export interface PgServerOptions {
  /** Extra postgresql.conf lines (name → value, written as name = 'value'). */
  settings?: Record<string, string | number>;
}

/** One PostgreSQL server: a data directory, a port, a log. */
export class PgServer {
  readonly dataDir: string;
  readonly socketDir: string;
  readonly logFile: string;

  constructor(
    readonly name: string,
    readonly base: string,
    readonly port: number,
    readonly password: string,
  ) {
    this.dataDir = join(base, name);
    this.socketDir = join(base, `${name}.sock`);
    this.logFile = join(base, `${name}.log`);
  }

  /** Where a client connects (the password comes from PGPASSWORD or a file, never the URL). */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** The postmaster's pid from postmaster.pid, when there is one. */
  pid(): number | undefined {
    const file = join(this.dataDir, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  running(): boolean {
    const pid = this.pid();
    return pid !== undefined && alive(pid);
  }

  async start(): Promise<void> {
    if (!existsSync(this.socketDir)) {
      mkdirSync(this.socketDir);
      if (asRoot) chownSync(this.socketDir, postgresIds().uid, postgresIds().gid);
    }
    const opts = `-p ${this.port} -k ${this.socketDir} -c listen_addresses=127.0.0.1`;
    try {
      await pgTool('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-o', opts, '-w', '-t', '120', 'start']);
    } catch (err) {
      const log = existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`${(err as Error).message}\n${this.name}'s log ends:\n${log}`);
    }
    running.add(this);
  }

  /** A clean (fast) shutdown. */
  async stop(): Promise<void> {
    if (this.running()) await pgTool('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    running.delete(this);
  }

  /**
   * kill -9 of the postmaster and every process it started, as a machine dying
   * would. Waits until they are gone, then removes the lock files they left
   * (this machine's init may leave them as zombies, whose pids would make a
   * restart think the old postmaster still runs).
   */
  async kill(): Promise<void> {
    const pid = this.pid();
    if (!pid) return;
    const pids = [pid, ...childrenOf(pid)];
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    running.delete(this);
    for (let i = 0; i < 500 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 10));
    for (const f of [join(this.dataDir, 'postmaster.pid'), join(this.socketDir, `.s.PGSQL.${this.port}.lock`), join(this.socketDir, `.s.PGSQL.${this.port}`)]) {
      rmSync(f, { force: true });
    }
  }

  /** Ends a standby's recovery: it becomes a primary on a new timeline. */
  async promote(): Promise<void> {
    await pgTool('pg_ctl', ['-D', this.dataDir, '-w', '-t', '60', 'promote']);
  }

  /** One query as the superuser over TCP with the password (a short-lived connection). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<R[]> {
    const c = new pg.Client({ host: '127.0.0.1', port: this.port, user: 'postgres', password: this.password, database });
    await c.connect();
    try {
      return (await c.query<R>(sql, params)).rows;
    } finally {
      await c.end();
    }
  }

  /** Synchronous last resort at process exit. */
  killNow(): void {
    if (!this.running()) return;
    const [cmd, argv] = pgCommand('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
    spawnSync(cmd, argv, { stdio: 'ignore' });
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A process that exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** initdb of a new server in `base` (not started). */
export async function initServer(base: string, name: string, opts: PgServerOptions = {}): Promise<PgServer> {
  if (!existsSync(join(PG_BIN, 'initdb'))) throw new Error(`PostgreSQL 15 is not installed (${PG_BIN}/initdb missing): run scripts/setup.sh, or set PG_BIN`);
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(base, `${name}.pw`);
  writeFileSync(pwfile, password, { mode: 0o600 });
  if (asRoot) chownSync(pwfile, postgresIds().uid, postgresIds().gid);
  const server = new PgServer(name, base, await freePort(), password);
  await pgTool('initdb', ['-D', server.dataDir, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync']);
  rmSync(pwfile);
  const settings = { wal_keep_size: '256MB', max_wal_senders: 10, ...opts.settings };
  const conf = Object.entries(settings)
    .map(([k, v]) => `${k} = '${v}'`)
    .join('\n');
  appendConf(server, conf);
  return server;
}

/** Appends lines to a server's postgresql.conf (later lines win). */
export function appendConf(server: PgServer, lines: string): void {
  const file = join(server.dataDir, 'postgresql.conf');
  writeFileSync(file, `${readFileSync(file, 'utf8')}\n# fedns test harness\n${lines}\n`);
}

/** Removes everything under `base` (servers must be stopped or killed). */
export function removeBase(base: string): void {
  rmSync(base, { recursive: true, force: true });
}

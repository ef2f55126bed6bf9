/**
 * The nameserver role's wiring: the zone index following the store, the
 * DNS server (in process, or N cluster workers sharing the port), transfers
 * from the store's journal, and NOTIFY to secondaries on every serial change.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { compareSerial } from '@fedns/model';
import { DnsMetrics, type Follower, type MetricsSnapshot, Notifier, type TransferOptions, ZoneIndex, followStore, startDnsServer } from '@fedns/nameserver';
import type { Store } from '@fedns/store';
import type { Registry } from 'prom-client';
import { type Config, federationConfig, storeUrlOf, UsageError } from './config.js';
import type { Running } from './roles.js';

/** What the primary sends a DNS worker (over IPC, so secrets stay out of argv and the environment). */
export interface WorkerInit {
  /** The store to follow, read-only (workers open their own connection), and where its password is. */
  storeUrl: string;
  storePasswordFile?: string;
  federation: ReturnType<typeof federationConfig>;
  listen: string;
  logLevel: string;
  xfrAllow: string[];
  tsigKeys: { name: string; secret: string }[];
  rrl: Config['dns']['rrl'];
  cookieSecret: string;
}

export type WorkerMessage =
  | { type: 'hello' }
  | { type: 'ready'; serial: number }
  | { type: 'serial'; serial: number }
  | { type: 'metrics'; snapshot: MetricsSnapshot }
  | { type: 'error'; message: string; code?: string };

export function transfersFor(c: Pick<Config, 'dns'>, follower: Follower): TransferOptions {
  return { allow: c.dns.xfrAllow, tsigKeys: c.dns.tsigKeys, journal: (from) => follower.journalFromSoa(from) };
}

const listenOf = (c: Config) => `${c.dnsListen.host.includes(':') ? `[${c.dnsListen.host}]` : c.dnsListen.host}:${c.dnsListen.port}`;

/**
 * Where several controllers may lead in turn (PostgreSQL), each nameserver
 * records the serial it serves in the store, so a new leader's first commit
 * takes a serial above every one already served: after a failover that lost
 * the last commits, no secondary ever sees one serial with two contents.
 */
function servedSerialRecorder(c: Config, store: Store, log: { debug: (o: object, m?: string) => void }): (serial: number) => void {
  if (!store.needsLeaderElection) return () => {};
  const id = `nameserver/${c.id ?? `${hostname()}-${process.pid}`}`;
  return (serial) => {
    store.recordServedSerial(id, serial).catch((err) => log.debug({ err: String(err), serial }, 'cannot record the served serial (a read-only standby?)'));
  };
}

/** Starts DNS for a role that has a store: in process (dns-workers 1) or as cluster workers. */
export async function startDns(c: Config, run: Running, store: Store, registry: Registry): Promise<void> {
  const index = new ZoneIndex(federationConfig(c));
  const metrics = new DnsMetrics(registry);
  const log = run.logger.child({ role: 'dns' });
  const notifier = c.dns.notify.length
    ? new Notifier({ index, targets: c.dns.notify, keys: c.dns.tsigKeys, source: c.dnsListen.host, logger: log, onEvent: (e) => metrics.recordNotify(e) })
    : undefined;
  if (notifier) run.closers.push(() => notifier.close());
  const cookieSecret = c.dns.cookieSecret ?? randomBytes(16);
  const served = servedSerialRecorder(c, store, log);

  if (c.dns.workers <= 1) {
    const follower = followStore(store, index, {
      logger: run.logger,
      onSerial: (s) => {
        notifier?.notify(s);
        served(s);
      },
    });
    run.closers.push(() => follower.stop());
    await follower.loaded;
    const dns = await startDnsServer({
      index,
      listen: listenOf(c),
      registry,
      metrics,
      transfers: transfersFor(c, follower),
      rrl: c.dns.rrl,
      cookies: { secret: cookieSecret },
      logger: log,
    });
    run.closers.push(() => dns.close());
    run.logger.info({ address: dns.address, port: dns.udpPort, serial: index.serial, rrl: c.dns.rrl.responsesPerSecond || 'off', notify: c.dns.notify.length }, 'nameserver listening (UDP and TCP)');
    return;
  }
  await startWorkers(c, run, store, index, metrics, notifier, cookieSecret, served);
}

/**
 * N worker processes (node:cluster) share the DNS port; each follows the
 * store itself. The primary keeps its own index only to know the serial: it
 * sends NOTIFY once every worker serves that serial, so a secondary that asks
 * right away never sees the old one.
 */
async function startWorkers(c: Config, run: Running, store: Store, index: ZoneIndex, metrics: DnsMetrics, notifier: Notifier | undefined, cookieSecret: Buffer, served: (serial: number) => void): Promise<void> {
  if (c.dnsListen.port === 0) throw new UsageError('dns-workers: more than one worker needs a fixed dns-listen port (not 0)');
  const log = run.logger.child({ role: 'dns' });
  const init: WorkerInit = {
    storeUrl: storeUrlOf(c),
    ...(c.storePasswordFile ? { storePasswordFile: c.storePasswordFile } : {}),
    federation: federationConfig(c),
    listen: listenOf(c),
    logLevel: c.logLevel,
    xfrAllow: c.dns.xfrAllow.map((e) => e.text),
    tsigKeys: c.dns.tsigKeys.map((k) => ({ name: k.name, secret: k.secret.toString('base64') })),
    rrl: c.dns.rrl,
    cookieSecret: cookieSecret.toString('hex'),
  };
  const serials = new Map<number, number>();
  // What the port answers with: the lowest serial any live worker serves (RFC 1982 order).
  metrics.servedSerial(index.zone, () => {
    let low: number | undefined;
    for (const s of serials.values()) if (low === undefined || (compareSerial(s, low) ?? 0) < 0) low = s;
    return low;
  });
  let announce: number | undefined;
  const maybeNotify = () => {
    if (announce === undefined || !notifier) return;
    const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w));
    if (live.length === 0) return;
    for (const w of live) {
      const s = serials.get(w.id);
      if (s === undefined || (compareSerial(s, announce) ?? -1) < 0) return;
    }
    notifier.notify(announce);
    announce = undefined;
  };
  const follower = followStore(store, index, {
    logger: run.logger,
    onSerial: (s) => {
      announce = s;
      maybeNotify();
      served(s);
    },
  });
  run.closers.push(() => follower.stop());

  cluster.setupPrimary({ exec: fileURLToPath(new URL('./dns-worker.ts', import.meta.url)), execArgv: process.execArgv, silent: false });
  let stopping = false;
  const fork = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const w = cluster.fork();
      w.on('message', (m: WorkerMessage) => {
        if (m.type === 'hello') w.send({ type: 'init', init });
        else if (m.type === 'ready') {
          serials.set(w.id, m.serial);
          resolve();
        } else if (m.type === 'serial') {
          serials.set(w.id, m.serial);
          served(m.serial);
          maybeNotify();
        } else if (m.type === 'metrics') metrics.setRemote(String(w.id), m.snapshot);
        else if (m.type === 'error') {
          const err = Object.assign(new Error(m.message), { code: m.code });
          reject(err);
        }
      });
      w.on('exit', (code, signal) => {
        serials.delete(w.id);
        reject(new Error(`dns worker exited (${signal ?? code}) before it was ready`));
        if (stopping) return;
        log.warn({ worker: w.id, code, signal }, 'dns worker exited; starting another');
        setTimeout(() => void fork().catch((err) => log.error({ err }, 'dns worker failed to start')), 500).unref();
      });
    });
  run.closers.push(async () => {
    stopping = true;
    const ws = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w));
    await Promise.all(
      ws.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            const t = setTimeout(() => w.process.kill('SIGKILL'), 3000);
            w.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
  });
  try {
    await Promise.all(Array.from({ length: c.dns.workers }, () => fork()));
  } catch (err) {
    stopping = true;
    throw err;
  }
  run.logger.info({ address: c.dnsListen.host, port: c.dnsListen.port, workers: c.dns.workers, serial: index.serial, rrl: c.dns.rrl.responsesPerSecond || 'off' }, 'nameserver listening (UDP and TCP) in worker processes');
}

/**
 * The nameserver role's wiring: the zone index following the store, the
 * DNS server (in process, or N worker processes each binding the port with
 * SO_REUSEPORT), transfers from the store's journal, and NOTIFY to
 * secondaries on every serial change.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { compareSerial } from '@fedns/model';
import { readFileSync } from 'node:fs';
import { builtinRegionLocation } from '@fedns/model';
import { ClientLocator, ClientNetworkError, ClusterView, DnsMetrics, type Follower, type MetricsSnapshot, Notifier, type TransferOptions, ZoneIndex, addSnapshot, type FollowAnswersOptions, followClusterView, followSerial, followStore, parseNetwork, probePort, startDnsServer } from '@fedns/nameserver';
import type { Store } from '@fedns/store';
import type { Registry } from 'prom-client';
import { type Config, federationConfig, storeUrlOf, UsageError } from './config.js';
import type { Running } from './roles.js';

/** What the primary sends a DNS worker (over IPC, so secrets stay out of argv and the environment). */
export interface WorkerInit {
  /** The worker's slot, 0..N-1 (a replacement takes the slot of the worker it replaces). */
  slot: number;
  /** The store to follow, read-only (workers open their own connection), and where its password is. */
  storeUrl: string;
  storePasswordFile?: string;
  federation: ReturnType<typeof federationConfig>;
  /** host:port with the port already chosen (the primary probed it). */
  listen: string;
  logLevel: string;
  xfrAllow: string[];
  tsigKeys: { name: string; secret: string }[];
  rrl: Config['dns']['rrl'];
  cookieSecret: string;
  /** Client location (issue 14): each worker builds its own locator (and reads the database itself). */
  clientNetworks: Config['dns']['clientNetworks'];
  geoipDatabase?: string;
  /** --dnstap-socket: each worker keeps its own Frame Streams connection to the collector. */
  dnstapSocket?: string;
  /** In-cluster answers (issue 12): the private view's federation, suffix and client networks; absent: off. */
  clusterDns?: ClusterViewInit;
}

export interface ClusterViewInit {
  federation: string;
  suffix: string;
  allow: string[];
}

/** The in-cluster view's settings, when in-cluster answers are on (--cluster-dns-allow). */
export function clusterViewInit(c: Config): ClusterViewInit | undefined {
  return c.clusterDns.allow.length ? { federation: c.federation, suffix: c.clusterDns.suffix, allow: c.clusterDns.allowText } : undefined;
}

/** The in-cluster view following the store (a worker or the in-process server each keep one). */
export function startClusterView(init: ClusterViewInit | undefined, store: Store, logger: FollowAnswersOptions['logger']): { view: ClusterView; stop(): void; loaded: Promise<void> } | undefined {
  if (!init) return undefined;
  const view = new ClusterView({ federation: init.federation, suffix: init.suffix, allow: init.allow.map(parseNetwork) });
  const follower = followClusterView(store, view, { ...(logger ? { logger } : {}) });
  return { view, stop: () => follower.stop(), loaded: follower.loaded };
}

/** Worker → primary. */
export type WorkerMessage =
  | { type: 'hello' }
  | { type: 'ready'; serial: number }
  | { type: 'serial'; serial: number }
  | { type: 'metrics'; snapshot: MetricsSnapshot; serial: number }
  | { type: 'error'; message: string; code?: string };

/** Primary → worker: its configuration; "the store changed, catch up now"; "send your counters". */
export type PrimaryMessage = { type: 'init'; init: WorkerInit } | { type: 'wake' } | { type: 'scrape' };

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

/**
 * Where clients are (issue 14): the configured networks and the GeoIP database, read now. A file
 * that cannot be read or is no MaxMind DB is a usage error (one line, exit 2).
 */
export function clientLocator(dns: Pick<Config['dns'], 'clientNetworks' | 'geoipDatabase'>): ClientLocator {
  let db: Buffer | undefined;
  if (dns.geoipDatabase) {
    try {
      db = readFileSync(dns.geoipDatabase);
    } catch (err) {
      throw new UsageError(`geoip-database: cannot read ${dns.geoipDatabase}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  try {
    return new ClientLocator(dns.clientNetworks, db);
  } catch (err) {
    if (err instanceof ClientNetworkError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * Starts DNS for a role that has a store: in process (dns-workers 0) or in worker processes.
 * With workers the main process's index stays empty: NOTIFY needs only the zone's SOA settings.
 */
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
  const locator = clientLocator(c.dns);
  for (const n of c.dns.clientNetworks) {
    if (!n.location && !builtinRegionLocation(n.region)) {
      log.warn({ network: n.cidr, region: n.region }, 'client network: its region is not in the built-in table and has no latitude/longitude; its clients get that region’s shards when it has healthy ones, else every shard');
    }
  }
  if (locator.enabled) log.info({ clientNetworks: locator.networks, geoipDatabase: c.dns.geoipDatabase ?? null }, 'answers routed by client location: ECS, else the source address');

  if (c.dns.workers === 0) {
    const follower = followStore(store, index, {
      logger: run.logger,
      onSerial: (s) => {
        notifier?.notify(s);
        served(s);
      },
    });
    run.closers.push(() => follower.stop());
    await follower.loaded;
    const inCluster = startClusterView(clusterViewInit(c), store, run.logger);
    if (inCluster) {
      run.closers.push(() => inCluster.stop());
      await inCluster.loaded;
    }
    const dns = await startDnsServer({
      index,
      listen: listenOf(c),
      registry,
      metrics,
      transfers: transfersFor(c, follower),
      rrl: c.dns.rrl,
      cookies: { secret: cookieSecret },
      locator,
      ...(c.dns.dnstapSocket ? { dnstap: { socketPath: c.dns.dnstapSocket } } : {}),
      logger: log,
      ...(inCluster ? { clusterView: inCluster.view } : {}),
    });
    run.closers.push(() => dns.close());
    run.logger.info({ address: dns.address, port: dns.udpPort, serial: index.serial, rrl: c.dns.rrl.responsesPerSecond || 'off', notify: c.dns.notify.length, dnstap: c.dns.dnstapSocket ?? 'off' }, 'nameserver listening (UDP and TCP)');
    return;
  }
  await startWorkers(c, run, store, index, metrics, notifier, cookieSecret, served);
}

interface Slot {
  index: number;
  child?: ChildProcess;
  /** The SOA serial the slot's live worker serves; undefined until it is ready. */
  serial?: number;
  /** Counters of the slot's earlier workers plus its live worker's latest. */
  retired?: MetricsSnapshot;
  current?: MetricsSnapshot;
  startedAt: number;
  /** Consecutive workers that died young: the restart back-off. */
  quickDeaths: number;
  scrape?: () => void;
}

const WORKER_FILE = fileURLToPath(new URL('./dns-worker.ts', import.meta.url));
const SCRAPE_TIMEOUT_MS = 500;

/**
 * N worker processes (child_process.fork), each binding the DNS port itself
 * with SO_REUSEPORT: the kernel spreads queries over their sockets. Each
 * follows the store through its own read-only connection; the primary follows
 * only the store's serial, wakes every worker over IPC as soon as it moves
 * (workers poll only as a fallback), sends NOTIFY once every worker serves the
 * new serial, replaces a worker that dies, and sums the workers' counters into
 * its /metrics (asking them for fresh ones on each scrape).
 */
async function startWorkers(c: Config, run: Running, store: Store, index: ZoneIndex, metrics: DnsMetrics, notifier: Notifier | undefined, cookieSecret: Buffer, served: (serial: number) => void): Promise<void> {
  const log = run.logger.child({ role: 'dns' });
  // The port must be free (a second fedns on it would otherwise join the SO_REUSEPORT group and
  // take half the queries); port 0 picks one free for UDP and TCP, which every worker then binds.
  const port = await probePort(listenOf(c));
  const host = c.dnsListen.host.includes(':') ? `[${c.dnsListen.host}]` : c.dnsListen.host;
  const base: Omit<WorkerInit, 'slot'> = {
    storeUrl: storeUrlOf(c),
    ...(c.storePasswordFile ? { storePasswordFile: c.storePasswordFile } : {}),
    federation: federationConfig(c),
    listen: `${host}:${port}`,
    logLevel: c.logLevel,
    xfrAllow: c.dns.xfrAllow.map((e) => e.text),
    tsigKeys: c.dns.tsigKeys.map((k) => ({ name: k.name, secret: k.secret.toString('base64') })),
    rrl: c.dns.rrl,
    cookieSecret: cookieSecret.toString('hex'),
    clientNetworks: c.dns.clientNetworks,
    ...(c.dns.geoipDatabase ? { geoipDatabase: c.dns.geoipDatabase } : {}),
    ...(clusterViewInit(c) ? { clusterDns: clusterViewInit(c) } : {}),
    ...(c.dns.dnstapSocket ? { dnstapSocket: c.dns.dnstapSocket } : {}),
  };
  const slots: Slot[] = Array.from({ length: c.dns.workers }, (_, index) => ({ index, startedAt: 0, quickDeaths: 0 }));
  const live = () => slots.filter((s) => s.child && s.serial !== undefined);
  const send = (s: Slot, m: PrimaryMessage) => {
    if (s.child?.connected) s.child.send(m, (err) => err && log.debug({ err, worker: s.index }, 'dns worker IPC send failed'));
  };

  // What the port answers with: the lowest serial any live worker serves (RFC 1982 order).
  metrics.servedSerial(index.zone, () => {
    let low: number | undefined;
    for (const s of live()) if (low === undefined || (compareSerial(s.serial as number, low) ?? 0) < 0) low = s.serial;
    return low;
  });
  const publish = (s: Slot) => {
    let sum = s.retired ? addSnapshot(undefined, s.retired) : undefined;
    if (s.current) sum = addSnapshot(sum, s.current);
    if (sum) metrics.setRemote(String(s.index), sum);
  };
  // A scrape asks every live worker for its counters and waits (briefly) for the answers.
  metrics.refreshWith(async () => {
    await Promise.all(
      live().map(
        (s) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(done, SCRAPE_TIMEOUT_MS);
            function done() {
              clearTimeout(t);
              if (s.scrape === done) s.scrape = undefined;
              resolve();
            }
            s.scrape = done;
            send(s, { type: 'scrape' });
          }),
      ),
    );
  });

  let announce: number | undefined;
  const maybeNotify = () => {
    if (announce === undefined || !notifier) return;
    const ws = live();
    if (ws.length === 0) return;
    for (const s of ws) if ((compareSerial(s.serial as number, announce) ?? -1) < 0) return;
    notifier.notify(announce);
    announce = undefined;
  };
  // Wake the workers once per turn of the event loop, after the commit that moved the serial has
  // finished (a commit inside an outer transaction fires its event before the outer COMMIT).
  let wakePending = false;
  const wakeAll = () => {
    if (wakePending) return;
    wakePending = true;
    setImmediate(() => {
      wakePending = false;
      for (const s of slots) send(s, { type: 'wake' });
    });
  };
  // The serial alone: the workers hold the records.
  const follower = followSerial(store, {
    logger: run.logger,
    onSerial: (s) => {
      wakeAll();
      announce = s;
      maybeNotify();
      served(s);
    },
  });
  run.closers.push(() => follower.stop());
  await follower.loaded;
  // As in process: the serial served at start is announced too, once every worker serves it.
  announce = follower.serial();

  let stopping = false;
  const start = (slot: Slot): Promise<void> =>
    new Promise((resolve, reject) => {
      // execArgv carries --import tsx (and --cpu-prof when profiling) to the worker; not --inspect,
      // whose port the main process holds.
      const child = fork(WORKER_FILE, [], { execArgv: process.execArgv.filter((a) => !a.startsWith('--inspect')), stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
      slot.child = child;
      slot.serial = undefined;
      slot.startedAt = Date.now();
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'hello') child.send({ type: 'init', init: { ...base, slot: slot.index } } satisfies PrimaryMessage);
        else if (m.type === 'ready') {
          slot.serial = m.serial;
          log.debug({ worker: slot.index, pid: child.pid, serial: m.serial }, 'dns worker ready');
          resolve();
          maybeNotify();
        } else if (m.type === 'serial') {
          slot.serial = m.serial;
          maybeNotify();
        } else if (m.type === 'metrics') {
          slot.current = m.snapshot;
          if (slot.serial !== undefined) slot.serial = m.serial;
          publish(slot);
          slot.scrape?.();
        } else if (m.type === 'error') reject(Object.assign(new Error(m.message), { code: m.code }));
      });
      child.on('error', (err) => log.warn({ err, worker: slot.index }, 'dns worker process error'));
      child.on('exit', (code, signal) => {
        if (slot.child !== child) return;
        slot.child = undefined;
        slot.serial = undefined;
        slot.scrape?.();
        // Its counts stay in the slot's total, so the summed counters never go backwards.
        if (slot.current) slot.retired = addSnapshot(slot.retired, slot.current);
        slot.current = undefined;
        publish(slot);
        reject(new Error(`dns worker exited (${signal ?? code}) before it was ready`));
        if (stopping) return;
        slot.quickDeaths = Date.now() - slot.startedAt < 10_000 ? slot.quickDeaths + 1 : 0;
        const delay = Math.min(30_000, 100 * 2 ** Math.min(slot.quickDeaths, 9));
        log.warn({ worker: slot.index, pid: child.pid, code, signal, restartInMs: delay }, 'dns worker exited; starting another');
        maybeNotify();
        setTimeout(() => {
          if (!stopping) start(slot).catch((err) => log.error({ err, worker: slot.index }, 'dns worker failed to start'));
        }, delay).unref();
      });
    });

  run.closers.push(async () => {
    stopping = true;
    await Promise.all(
      slots.map(
        (s) =>
          new Promise<void>((resolve) => {
            const child = s.child;
            if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
            const t = setTimeout(() => child.kill('SIGKILL'), 3000);
            child.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  });
  try {
    await Promise.all(slots.map(start));
  } catch (err) {
    stopping = true;
    for (const s of slots) s.child?.kill('SIGKILL');
    throw err;
  }
  log.info({ address: c.dnsListen.host, port, workers: c.dns.workers, pids: slots.map((s) => s.child?.pid), serial: follower.serial(), rrl: c.dns.rrl.responsesPerSecond || 'off', dnstap: c.dns.dnstapSocket ?? 'off' }, 'nameserver listening (UDP and TCP) in worker processes, one SO_REUSEPORT socket each');
}

/**
 * One DNS worker process (--dns-workers N): forked by dns-role.ts and
 * configured over IPC. It binds the DNS port itself with SO_REUSEPORT (the
 * kernel spreads queries over the workers' sockets), follows the store through
 * its own read-only connection — at once when the primary wakes it, by
 * polling as a fallback — and reports its serial and counters to the primary.
 */
import { DnsMetrics, parseAclEntry, makeKey, startDnsServer, followStore, ZoneIndex, type DnsServer } from '@fedns/nameserver';
import { openStore, type Store } from '@fedns/store';
import { destination, pino } from 'pino';
import { Registry } from 'prom-client';
import { clientLocator, type PrimaryMessage, startClusterView, type WorkerInit, type WorkerMessage } from './dns-role.js';

/** How often a worker polls the store on its own: only a fallback, the primary wakes it on every change. */
const WORKER_POLL_MS = 250;

const send = (m: WorkerMessage) => process.send?.(m);

let started: { catchUp(): void; report(): void } | undefined;

async function start(init: WorkerInit): Promise<void> {
  const logger = pino({ level: init.logLevel, base: { pid: process.pid, role: 'dns-worker', worker: init.slot } }, destination(2));
  let store: Store;
  try {
    store = await openStore({ url: init.storeUrl, readonly: true, ...(init.storePasswordFile ? { passwordFile: init.storePasswordFile } : {}) });
  } catch (err) {
    send({ type: 'error', message: `cannot open the store: ${(err as Error).message}` });
    process.exit(1);
  }
  const index = new ZoneIndex(init.federation);
  const metrics = new DnsMetrics(new Registry());
  const follower = followStore(store, index, { logger, resyncMs: WORKER_POLL_MS, onSerial: (serial) => send({ type: 'serial', serial }) });
  await follower.loaded;
  // The in-cluster answers (issue 12): a view of their own, following the store's private table.
  const inCluster = startClusterView(init.clusterDns, store, logger);
  await inCluster?.loaded;
  let server: DnsServer;
  try {
    const tsigKeys = init.tsigKeys.map((k) => makeKey(k.name, k.secret));
    server = await startDnsServer({
      index,
      listen: init.listen,
      metrics,
      reusePort: true,
      transfers: { allow: init.xfrAllow.map(parseAclEntry), tsigKeys, journal: (from) => follower.journalFromSoa(from) },
      rrl: init.rrl,
      cookies: { secret: Buffer.from(init.cookieSecret, 'hex') },
      locator: clientLocator({ clientNetworks: init.clientNetworks, ...(init.geoipDatabase ? { geoipDatabase: init.geoipDatabase } : {}) }),
      ...(init.dnstapSocket ? { dnstap: { socketPath: init.dnstapSocket } } : {}),
      logger,
      ...(inCluster ? { clusterView: inCluster.view } : {}),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    send({ type: 'error', message: e.message, ...(e.code ? { code: e.code } : {}) });
    process.exit(1);
  }
  const report = () => send({ type: 'metrics', snapshot: metrics.snapshot(), serial: index.serial });
  started = { catchUp: follower.catchUp, report };
  send({ type: 'ready', serial: index.serial });
  // Pushed every second too, so the counts of a worker that dies are mostly kept.
  const timer = setInterval(report, 1000);
  const stop = async () => {
    clearInterval(timer);
    follower.stop();
    inCluster?.stop();
    await server.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => {}); // the primary decides when workers stop
}

process.on('message', (m: PrimaryMessage) => {
  if (m?.type === 'wake') started?.catchUp();
  else if (m?.type === 'scrape') started?.report();
  else if (m?.type === 'init' && m.init && !started) void start(m.init);
});
// Without the primary there is nobody to stop or replace this worker: leave.
process.on('disconnect', () => process.exit(0));
// Ask for the configuration only now: a message sent before this module was loaded would be lost.
send({ type: 'hello' });

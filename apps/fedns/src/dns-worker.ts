/**
 * One DNS worker process (--dns-workers N): started by dns-role.ts through
 * node:cluster, configured over IPC. It follows the store through its own
 * read-only connection (the store's change feed), serves the shared UDP/TCP
 * port and reports its serial and metrics to the primary.
 */
import { DnsMetrics, parseAclEntry, makeKey, startDnsServer, followStore, ZoneIndex, type DnsServer } from '@fedns/nameserver';
import { openStore, type Store } from '@fedns/store';
import { destination, pino } from 'pino';
import { Registry } from 'prom-client';
import type { WorkerInit, WorkerMessage } from './dns-role.js';

const send = (m: WorkerMessage) => process.send?.(m);

async function start(init: WorkerInit): Promise<void> {
  const logger = pino({ level: init.logLevel, base: { pid: process.pid, role: 'dns-worker' } }, destination(2));
  let store: Store;
  try {
    store = await openStore({ url: init.storeUrl, readonly: true, ...(init.storePasswordFile ? { passwordFile: init.storePasswordFile } : {}) });
  } catch (err) {
    send({ type: 'error', message: `cannot open the store: ${(err as Error).message}` });
    process.exit(1);
  }
  const index = new ZoneIndex(init.federation);
  const metrics = new DnsMetrics(new Registry());
  const follower = followStore(store, index, { logger, onSerial: (serial) => send({ type: 'serial', serial }) });
  await follower.loaded;
  let server: DnsServer;
  try {
    const tsigKeys = init.tsigKeys.map((k) => makeKey(k.name, k.secret));
    server = await startDnsServer({
      index,
      listen: init.listen,
      metrics,
      shared: true,
      transfers: { allow: init.xfrAllow.map(parseAclEntry), tsigKeys, journal: (from) => follower.journalFromSoa(from) },
      rrl: init.rrl,
      cookies: { secret: Buffer.from(init.cookieSecret, 'hex') },
      logger,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    send({ type: 'error', message: e.message, ...(e.code ? { code: e.code } : {}) });
    process.exit(1);
  }
  send({ type: 'ready', serial: index.serial });
  const timer = setInterval(() => send({ type: 'metrics', snapshot: metrics.snapshot() }), 1000);
  const stop = async () => {
    clearInterval(timer);
    follower.stop();
    await server.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => {}); // the primary decides when workers stop
}

process.on('message', (m: { type?: string; init?: WorkerInit }) => {
  if (m?.type === 'init' && m.init) void start(m.init);
});
process.on('disconnect', () => process.exit(0));
// Ask for the configuration only now: a message sent before this module was loaded would be lost.
send({ type: 'hello' });

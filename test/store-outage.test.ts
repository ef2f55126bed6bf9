/**
 * Issue 11, "the store is unreachable for the nameservers": a `fedns nameserver`
 * following PostgreSQL through a proxy that is then pointed at nothing keeps
 * answering its last good zone (ready, never SERVFAIL, never an older serial)
 * while the zone moves on without it; one started during the outage stays
 * unready and answers nothing it does not have; both catch up when the store
 * is back. The test itself is the zone writer (a commit straight to the store).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RecordSet } from '@fedns/model';
import { openStore, type Store } from '@fedns/store';
import { startPostgres, type PgHarness, TcpProxy } from '../packages/store/test/pg-harness.js';
import { dig, type FednsProcess, freePort, spawnFedns, tempDir, waitFor } from './helpers.js';

const dir = tempDir('fedns-outage-');
const dataDir = join(dir, 'data');
let pg: PgHarness;
let proxy: TcpProxy;
let store: Store;
let proxied = '';
const nameservers: FednsProcess[] = [];

const rs = (name: string, ip: string): RecordSet => ({ name: `${name}.example.com.`, type: 'A', ttl: 30, data: [ip], level: 'global', namespace: 'outage', service: name });
const serial = async (port: number) => {
  const a = await dig(port, 'example.com.', 'SOA');
  return a.status === 'NOERROR' ? Number(a.answer[0]?.data.split(' ')[2]) : undefined;
};
const ready = async (ops: string) => {
  try {
    const r = await fetch(`${ops}/readyz`, { signal: AbortSignal.timeout(2000) });
    return r.ok;
  } catch {
    return false;
  }
};

async function startNameserver(id: string): Promise<{ port: number; ops: string; proc: FednsProcess }> {
  const port = await freePort();
  const ops = `http://127.0.0.1:${await freePort()}`;
  const proc = spawnFedns([
    'nameserver', '--store', proxied, '--store-password-file', pg.passwordFile, '--data-dir', dataDir, '--federation', 'myfed', '--id', id,
    '--dns-listen', `127.0.0.1:${port}`, '--api-listen', ops.replace('http://', ''), '--dns-workers', '1', '--rrl-rate', 'off', '--log-level', 'info',
  ]);
  nameservers.push(proc);
  return { port, ops, proc };
}

before(async () => {
  pg = await startPostgres();
  const direct = await pg.createDatabase('fedns');
  proxy = await TcpProxy.start(pg.primary.port);
  proxied = direct.replace(`:${pg.primary.port}/`, `:${proxy.port}/`);
  store = await openStore({ url: direct, passwordFile: pg.passwordFile, dataDir });
});

after(async () => {
  await Promise.all(nameservers.map((n) => n.stop()));
  await store?.close();
  await proxy?.close();
  await pg?.destroy();
});

test('the store unreachable: a running nameserver keeps its last zone (ready, never SERVFAIL, never an older serial); a new one stays unready; both catch up', async () => {
  const first = await store.commitZone({ upserts: [rs('before', '192.0.2.1')], deletes: [] }, 'before the outage');
  assert.ok(first);
  const ns1 = await startNameserver('ns1');
  await waitFor(`ns1 to serve serial ${first.soaSerial}\n${ns1.proc.output()}`, async () => (await serial(ns1.port)) === first.soaSerial || undefined, 60_000, 200);

  // The outage: new connections go nowhere, open ones are cut.
  const nowhere = await freePort();
  proxy.retarget(nowhere);
  const second = await store.commitZone({ upserts: [rs('during', '192.0.2.2')], deletes: [] }, 'during the outage');
  assert.ok(second && second.soaSerial > first.soaSerial);
  const ns2 = await startNameserver('ns2');

  const seen: string[] = [];
  const until = Date.now() + 6000;
  while (Date.now() < until) {
    const a = await dig(ns1.port, 'before.example.com.', 'A');
    const s = await serial(ns1.port);
    if (a.status !== 'NOERROR' || a.answer[0]?.data !== '192.0.2.1' || s !== first.soaSerial) seen.push(`${a.status} ${a.answer[0]?.data} serial ${s}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(seen, [], 'ns1 answered its last good zone throughout the outage');
  assert.equal(await ready(ns1.ops), true, 'ns1 stays ready: it has a zone to serve');
  assert.equal(await ready(ns2.ops), false, 'ns2, started during the outage, has no zone and is not ready');
  assert.notEqual((await dig(ns2.port, 'before.example.com.', 'A').catch(() => undefined))?.status, 'NOERROR', 'ns2 answers nothing it does not have');

  // Back: both reach the zone as it is now.
  proxy.retarget(pg.primary.port);
  for (const ns of [ns1, ns2]) {
    await waitFor(`${ns.proc.output()}\ncatching up to serial ${second.soaSerial}`, async () => (await serial(ns.port)) === second.soaSerial || undefined, 60_000, 200);
    assert.equal((await dig(ns.port, 'during.example.com.', 'A')).answer[0]?.data, '192.0.2.2');
    await waitFor('ready', async () => (await ready(ns.ops)) || undefined, 20_000, 200);
  }
});

/**
 * Issue 5: fedns as the primary of REAL secondaries. `fedns nameserver`
 * (two DNS worker processes) follows a data directory this test writes; NSD
 * (TSIG key) and Knot (address ACL) transfer the zone from it, follow a
 * change through NOTIFY + IXFR, and then answer exactly as fedns does.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RecordSet } from '@fedns/model';
import type { Store } from '@fedns/store';
import { type DigAnswer, dig, type FednsProcess, freePort, spawnFedns, tempDir, waitFor, waitReady, openTestStore } from './helpers.js';
import { type Secondaries, startNsdAndKnot } from './nsd-knot.js';

const P = 'nginx.prod.myfed.svc';
const Z = 'example.com.';
const SECRET = randomBytes(32).toString('base64');
const dir = tempDir('fedns-secondaries-');
const dataDir = join(dir, 'data');
let store: Store;
let fedns: FednsProcess;
let ops = '';
let port = 0;
let nsdPort = 0;
let knotPort = 0;
let secondaries: Secondaries;

const rs = (name: string, type: RecordSet['type'], data: string[], level: RecordSet['level'] = 'global'): RecordSet => ({ name, type, ttl: 30, data, level, namespace: 'prod', service: 'nginx' });
const zoneData = (): RecordSet[] => [
  rs(`${P}.${Z}`, 'A', ['198.51.100.5', '203.0.113.10']),
  rs(`${P}.${Z}`, 'AAAA', ['2001:db8::10']),
  rs(`${P}.us-east1.${Z}`, 'A', ['203.0.113.10'], 'region'),
  rs(`${P}.us-east1-b.us-east1.${Z}`, 'A', ['203.0.113.10'], 'zone'),
  rs(`${P}.us-east1-c.us-east1.${Z}`, 'CNAME', [`${P}.us-east1.${Z}`], 'zone'),
  rs(`${P}.europe-west1.${Z}`, 'A', ['198.51.100.5'], 'region'),
  rs(`${P}.europe-west1-b.europe-west1.${Z}`, 'A', ['198.51.100.5'], 'zone'),
  rs(`${P}.asia-east1.${Z}`, 'CNAME', [`${P}.${Z}`], 'region'),
  rs(`${P}.asia-east1-a.asia-east1.${Z}`, 'CNAME', [`${P}.asia-east1.${Z}`], 'zone'),
  rs(`txt.${Z}`, 'TXT', ['hello world']),
];

/** What a resolver sees of one question: status and the answer RRs, sorted. */
const view = (a: DigAnswer) => `${a.status}\n${a.answer.map((r) => `${r.name} ${r.ttl} ${r.type} ${r.data}`).sort().join('\n')}`;
const QUESTIONS: [string, string][] = [
  [`${P}.${Z}`, 'A'],
  [`${P}.${Z}`, 'AAAA'],
  [`${P}.us-east1.${Z}`, 'A'],
  [`${P}.us-east1-b.us-east1.${Z}`, 'A'],
  [`${P}.us-east1-c.us-east1.${Z}`, 'A'],
  [`${P}.europe-west1-b.europe-west1.${Z}`, 'A'],
  [`${P}.asia-east1-a.asia-east1.${Z}`, 'A'],
  [`${P}.asia-east1-a.asia-east1.${Z}`, 'CNAME'],
  [`txt.${Z}`, 'TXT'],
  [`missing.${Z}`, 'A'],
  [`svc.${Z}`, 'A'],
  [Z, 'SOA'],
  [Z, 'NS'],
];


const serialAt = async (p: number) => Number((await dig(p, Z, 'SOA')).answer[0]?.data.split(' ')[2] ?? Number.NaN);

before(async () => {
  store = await openTestStore(dataDir);
  await store.commitZone({ upserts: zoneData(), deletes: [] }, 'initial zone');
  [port, nsdPort, knotPort] = [await freePort(), await freePort(), await freePort()];
  const opsPort = await freePort();
  ops = `http://127.0.0.1:${opsPort}`;
  fedns = spawnFedns([
    'nameserver',
    '--data-dir', dataDir,
    '--dns-listen', `127.0.0.1:${port}`,
    '--api-listen', `127.0.0.1:${opsPort}`,
    '--dns-workers', '2',
    '--tsig-keys', `hmac-sha256:xfr-key:${SECRET}`,
    // NSD proves its key; Knot comes from 127.0.0.2 and needs none.
    '--xfr-allow', '127.0.0.1/32 xfr-key,127.0.0.2/32',
    '--notify', `127.0.0.1:${nsdPort} xfr-key,127.0.0.1:${knotPort}`,
    '--log-level', 'info',
  ]);
  await waitReady(ops, fedns);

  secondaries = startNsdAndKnot({ dir, primaryPort: port, nsdPort, knotPort, tsigSecret: SECRET });
});

after(async () => {
  await secondaries?.stop();
  await fedns?.stop();
  store?.close();
});

const diag = () => `${secondaries.logs()}\n--- fedns ---\n${fedns.output().slice(-4000)}`;

test('NSD and Knot transfer the zone from fedns and answer exactly as fedns does', async () => {
  const serial = await serialAt(port);
  for (const [name, p] of [['NSD', nsdPort], ['Knot', knotPort]] as const) {
    await waitFor(`${name} to load serial ${serial}${diag()}`, async () => (await serialAt(p)) === serial, 15_000, 100);
    for (const [q, t] of QUESTIONS) assert.equal(view(await dig(p, q, t)), view(await dig(port, q, t)), `${name}: ${q} ${t}`);
  }
});

test('a change reaches both through NOTIFY and IXFR within seconds, and they agree again', async () => {
  const before = await serialAt(port);
  // The US east zone loses its last healthy shard: the zone name falls back to the region, which falls back to global.
  await store.commitZone(
    {
      upserts: [rs(`${P}.us-east1-b.us-east1.${Z}`, 'CNAME', [`${P}.us-east1.${Z}`], 'zone'), rs(`${P}.us-east1.${Z}`, 'CNAME', [`${P}.${Z}`], 'region'), rs(`${P}.${Z}`, 'A', ['198.51.100.5'])],
      deletes: [rs(`${P}.us-east1-b.us-east1.${Z}`, 'A', []), rs(`${P}.us-east1.${Z}`, 'A', []), rs(`txt.${Z}`, 'TXT', [])],
    },
    'us-east1 down',
  );
  const next = (before + 1) >>> 0;
  await waitFor('fedns to serve the new serial', async () => (await serialAt(port)) === next, 5000, 20);
  const t0 = Date.now();
  for (const [name, p] of [['NSD', nsdPort], ['Knot', knotPort]] as const) {
    // Their refresh timer is an hour away: only a NOTIFY brings the change this fast.
    await waitFor(`${name} to follow to serial ${next}${diag()}`, async () => (await serialAt(p)) === next, 10_000, 50);
    for (const [q, t] of QUESTIONS) assert.equal(view(await dig(p, q, t)), view(await dig(port, q, t)), `${name}: ${q} ${t}`);
  }
  assert.ok(Date.now() - t0 < 10_000);
  const zoneName = await dig(nsdPort, `${P}.us-east1-b.us-east1.${Z}`, 'A');
  assert.deepEqual(zoneName.answer.map((r) => r.type), ['CNAME', 'CNAME', 'A'], 'the chain zone → region → global');

  const metrics = await (await fetch(`${ops}/metrics`)).text();
  const count = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? 0);
  assert.ok(count(/fedns_dns_transfers_total\{type="IXFR",result="incremental"[^}]*\} (\d+)/) >= 2, `both secondaries took an IXFR, not a full transfer:\n${metrics}`);
  assert.ok(count(/fedns_dns_notify_total\{event="acked"[^}]*\} (\d+)/) >= 4, 'NOTIFY acknowledged at start-up and after the change, by both');
  assert.ok(count(/fedns_dns_queries_total\{qtype="SOA",rcode="NOERROR",protocol="udp"[^}]*\} (\d+)/) >= 1);
});

/**
 * Issue 15: plain secondaries serve the signed zone. NSD (TSIG) and Knot (no
 * keys of any kind) transfer `fedns serve --dnssec`'s zone, follow a change
 * through NOTIFY + IXFR, and answer what delv, with the zone's DS as trust
 * anchor, fully validates — before and after the change.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { anchorFile, delv, zoneDs } from './dnssec-helpers.js';
import { dig, type FednsProcess, changeShard, freePort, seedWorkedExample, spawnFedns, tempDir, touchService, waitFor, waitReady } from './helpers.js';
import { type Secondaries, startNsdAndKnot } from './nsd-knot.js';

const P = 'nginx.prod.myfed.svc';
const Z = 'example.com';
const SECRET = randomBytes(32).toString('base64');
const dir = tempDir('fedns-dnssec-sec-');
const dataDir = join(dir, 'data');
let serve: FednsProcess;
let api = '';
let port = 0;
let nsdPort = 0;
let knotPort = 0;
let anchors = '';
let secondaries: Secondaries;


const serialAt = async (p: number) => Number((await dig(p, Z, 'SOA')).answer[0]?.data.split(' ')[2] ?? Number.NaN);
const diag = () => `${secondaries.logs()}\n--- fedns ---\n${serve.output().slice(-4000)}`;

const QUESTIONS: [string, string][] = [
  [`${P}.${Z}`, 'A'],
  [`${P}.us-east1-b.us-east1.${Z}`, 'A'],
  [`${P}.us-east1.${Z}`, 'A'],
  [`${P}.asia-east1-a.asia-east1.${Z}`, 'A'],
  [`${P}.us-west1.${Z}`, 'A'],
  [`svc.${Z}`, 'A'],
  [`${P}.${Z}`, 'TXT'],
];

before(async () => {
  const apiPort = await freePort();
  [port, nsdPort, knotPort] = [await freePort(), await freePort(), await freePort()];
  api = `http://127.0.0.1:${apiPort}`;
  serve = spawnFedns([
    'serve', '--dnssec', '--data-dir', dataDir, '--federation', 'myfed', '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${port}`,
    '--cluster-grace', '600s', '--tsig-keys', `hmac-sha256:xfr-key:${SECRET}`, '--xfr-allow', '127.0.0.1/32 xfr-key,127.0.0.2/32',
    '--notify', `127.0.0.1:${nsdPort} xfr-key,127.0.0.1:${knotPort}`, '--log-level', 'warn',
  ]);
  await waitReady(api, serve);
  await seedWorkedExample(dataDir, api);
  await waitFor('the signed chain', async () => (await dig(port, `${P}.asia-east1-a.asia-east1.${Z}`, 'A', ['+dnssec'])).answer.filter((r) => r.type === 'RRSIG').length === 3);
  anchors = anchorFile(dir, await zoneDs(dataDir));

  secondaries = startNsdAndKnot({ dir, primaryPort: port, nsdPort, knotPort, tsigSecret: SECRET });
});

after(async () => {
  await secondaries?.stop();
  await serve?.stop();
});

async function allValidate(p: number, who: string): Promise<void> {
  for (const [q, t] of QUESTIONS) {
    const r = await delv(p, anchors, q, t);
    assert.ok(r.validated, `${who}: ${q} ${t} fully validated\n${r.out}${diag()}`);
  }
}

test('NSD and Knot serve the signed zone and delv validates their answers, before and after a change (NOTIFY + IXFR)', async () => {
  const serial = await serialAt(port);
  for (const [name, p] of [['NSD', nsdPort], ['Knot', knotPort]] as const) {
    await waitFor(`${name} to load serial ${serial}${diag()}`, async () => (await serialAt(p)) === serial, 15_000, 100);
    await allValidate(p, name);
  }
  await changeShard(dataDir, 'c1', { healthy: false, readyEndpoints: 0 });
  await touchService(api, { 'test.example/failover': 'now' });
  await waitFor('fedns to serve the failed-over chain', async () => (await dig(port, `${P}.us-east1-b.us-east1.${Z}`)).answer[0]?.type === 'CNAME', 5000, 20);
  const next = await serialAt(port);
  for (const [name, p] of [['NSD', nsdPort], ['Knot', knotPort]] as const) {
    await waitFor(`${name} to follow to serial ${next}${diag()}`, async () => (await serialAt(p)) === next, 10_000, 50);
    await allValidate(p, name);
    const chain = await dig(p, `${P}.us-east1-b.us-east1.${Z}`, 'A', ['+dnssec']);
    assert.deepEqual(chain.answer.filter((r) => r.type !== 'RRSIG').map((r) => r.type), ['CNAME', 'CNAME', 'A'], `${name}\n${chain.raw}`);
  }
  const metrics = await (await fetch(`${api}/metrics`)).text();
  assert.ok(Number(/fedns_dns_transfers_total\{type="IXFR",result="incremental"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0) >= 2, `both took an IXFR:\n${metrics}`);
});

/**
 * Issue 14 item 4 in the highly available shape: two `fedns controller`
 * processes on a real PostgreSQL 15 — one on this machine, one in a network
 * namespace of its own — both probing (the standby too), each recording its
 * own verdicts under its --id. The load balancers are TCP listeners on this
 * machine's loopback, which the namespaced controller cannot reach: its
 * verdict is "failed" throughout. One failing prober of two is not more than
 * half, so the shards stay; when a load balancer really closes, both say so
 * and its shard leaves the zone; when it opens again, it comes back.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { recordJoin } from '@fedns/controller';
import { buildKubeconfig, type SimCluster, startSimCluster } from '@fedns/kube-sim';
import { openStore, type Store } from '@fedns/store';
import { startPostgres, type PgHarness } from '../packages/store/test/pg-harness.js';
import { TcpProxy } from '../packages/store/test/pg/proxy.js';
import { TestNet } from './chaos/netns.js';

import { freePort, ROOT, tempDir, waitFor } from './helpers.js';

const MAIN = join(ROOT, 'apps/fedns/src/main.ts');
const dir = tempDir('fedns-probes-ha-');
let net: TestNet;
let pg: PgHarness;
let pgFromNetns: TcpProxy;
let storeUrl = '';
let store: Store;
let probePort = 0;
const sims: SimCluster[] = [];
const listeners = new Map<string, Server>();
const procs: { id: string; proc: ChildProcess; ops: string; log: () => string }[] = [];

const TOPOLOGY = [
  { name: 'c1', region: 'us-east1', zones: ['us-east1-b'], lbPool: '127.88.1.0/28', lb: '127.88.1.1' },
  { name: 'c2', region: 'europe-west1', zones: ['europe-west1-b'], lbPool: '127.88.2.0/28', lb: '127.88.2.1' },
];
const GLOBAL = 'web.default.myfed.svc.example.com.';

function openLb(lb: string): Promise<void> {
  const srv = createServer((s) => s.destroy());
  listeners.set(lb, srv);
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(probePort, lb, () => resolve());
  });
}
const closeLb = (lb: string) => new Promise<void>((resolve) => {
  const srv = listeners.get(lb);
  listeners.delete(lb);
  if (srv) srv.close(() => resolve());
  else resolve();
});

function startController(id: string, inNetns: boolean, ops: string): void {
  const url = inNetns ? storeUrl.replace(`127.0.0.1:${pg.primary.port}/`, `${net.hostIp}:${pgFromNetns.port}/`) : storeUrl;
  const args = ['--import', 'tsx', MAIN, 'controller', '--store', url, '--store-password-file', pg.passwordFile, '--data-dir', join(dir, 'data'), '--federation', 'myfed', '--id', id, '--api-listen', ops.replace('http://', ''), '--stabilization', '200ms', '--log-level', 'info'];
  const proc = inNetns ? net.spawn(process.execPath, args, { env: process.env, cwd: ROOT }) : spawn(process.execPath, args, { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-500_000)));
  proc.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-500_000)));
  procs.push({ id, proc, ops, log: () => out });
}

const published = async () => (await store.recordSetsOfService('default', 'web')).find((r) => r.name === GLOBAL && r.type === 'A')?.data ?? [];
const verdicts = async () => Object.fromEntries((await store.probeVerdicts('default', 'web')).map((v) => [`${v.cluster} ${v.prober}`, v.ok]));

before(async () => {
  // A /30 no other link uses (TestNet picks one): the chaos tests may run beside this one.
  net = await TestNet.create();
  pg = await startPostgres();
  pgFromNetns = await TcpProxy.start(pg.primary.port, net.hostIp);
  storeUrl = await pg.createDatabase('probes');
  store = await openStore({ url: storeUrl, passwordFile: pg.passwordFile, dataDir: join(dir, 'data') });
  probePort = await freePort();
  for (const t of TOPOLOGY) {
    sims.push(await startSimCluster({ name: t.name, region: t.region, zones: t.zones, lbPool: t.lbPool, host: net.hostIp, kubeletDelayMs: 20, lbDelayMs: 10 }));
    await openLb(t.lb);
  }
  for (const s of sims) await recordJoin(store, s.name, buildKubeconfig([{ name: s.name, server: s.url }]), s.url);
  startController('ctl-host', false, `http://127.0.0.1:${await freePort()}`);
  startController('ctl-netns', true, `http://${net.nsIp}:9465`);
  for (const p of procs) {
    await waitFor(`${p.id} ready`, async () => (await fetch(`${p.ops}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.text()).catch(() => '')).startsWith('ok'), 60_000, 200).catch((err) => {
      throw new Error(`${err}\n${p.log()}`);
    });
  }
  const annotations = { 'federation.fedns.io/probe': `tcp:${probePort}`, 'federation.fedns.io/probe-interval': '1s', 'federation.fedns.io/probe-failure-threshold': '2' };
  await store.createObject({ kind: 'services', namespace: 'default', name: 'web', uid: 'uid-web', object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', creationTimestamp: new Date().toISOString(), annotations }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] } } });
  for (const s of sims) s.runPods({ namespace: 'default', labels: { app: 'web' }, count: 1 });
});

after(async () => {
  for (const p of procs) {
    if (p.proc.exitCode === null && p.proc.signalCode === null) {
      const exited = new Promise((r) => p.proc.once('exit', r));
      p.proc.kill('SIGKILL');
      await exited;
    }
  }
  await Promise.all(sims.map((s) => s.close()));
  for (const lb of [...listeners.keys()]) await closeLb(lb);
  await store?.close();
  await pgFromNetns?.close();
  await pg?.destroy();
  await net?.destroy();
});

test('every controller probes and records its own verdicts; one failing prober of two does not take a shard out', async () => {
  await waitFor(`both shards published\n${procs.map((p) => p.log().slice(-3000)).join('\n---\n')}`, async () => (await published()).length === 2, 60_000, 200);
  await waitFor('a verdict from each controller on each shard', async () => Object.keys(await verdicts()).length === 4, 20_000, 200);
  // This machine reaches the listeners; the namespace has loopbacks of its own, with nothing on them.
  assert.deepEqual(await verdicts(), { 'c1 ctl-host': true, 'c1 ctl-netns': false, 'c2 ctl-host': true, 'c2 ctl-netns': false });
  const lease = await store.readLease('fedns-controller');
  assert.ok(lease && ['ctl-host', 'ctl-netns'].includes(lease.holder), 'one of them leads, the other stands by and probes all the same');
  // Stays published while only one of two says failed (not more than half).
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual((await published()).sort(), TOPOLOGY.map((t) => t.lb).sort());
  const shard = await store.getShard('c1', 'default', 'web');
  assert.equal(shard?.healthy, true);
});

test('a load balancer that closes: both controllers fail it, its shard leaves; it opens again: the shard returns', async () => {
  const [c1] = TOPOLOGY;
  if (!c1) throw new Error('topology');
  await closeLb(c1.lb);
  const closedAt = Date.now();
  await waitFor('c1 out of the global name', async () => JSON.stringify(await published()) === JSON.stringify([TOPOLOGY[1]?.lb]), 15_000, 50);
  const outAfter = Date.now() - closedAt;
  assert.deepEqual(await verdicts(), { 'c1 ctl-host': false, 'c1 ctl-netns': false, 'c2 ctl-host': true, 'c2 ctl-netns': false });
  const shard = await store.getShard('c1', 'default', 'web');
  assert.match(shard?.message ?? '', new RegExp(`^probe tcp:${probePort} failed from 2 of 2 controller\\(s\\)`));
  // Interval 1 s × threshold 2, plus up to a second for the leader to read the other's verdict (PostgreSQL, polled).
  assert.ok(outAfter <= 1000 * 2 + 1000 + 500, `out after ${outAfter} ms`);
  process.stdout.write(`# probe failover with two controllers on PostgreSQL: out of the zone ${outAfter} ms after the port closed\n`);
  await openLb(c1.lb);
  await waitFor('c1 back', async () => (await published()).length === 2, 15_000, 50);
});

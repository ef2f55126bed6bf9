/**
 * Issue 9 item 2, end to end with a real kill -9: a restart during a member's
 * network blip keeps what was known. The zone served right after the restart
 * equals the zone served before it; the unreachable member's shards keep their
 * last state for a grace period counted from the restart, then drop.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type SimCluster, startSimCluster } from '@fedns/kube-sim';
import { dig, type FednsProcess, freePort, joinSims, lines, spawnFedns, tempDir, waitFor, waitReady } from './helpers.js';

const dataDir = tempDir();
const sims: SimCluster[] = [];
let serve: FednsProcess | undefined;
let apiPort = 0;
let dnsPort = 0;
const P = 'web.default.myfed.svc';
const NAMES = [`${P}.example.com.`, `${P}.us-east1.example.com.`, `${P}.us-east1-b.us-east1.example.com.`, `${P}.europe-west1.example.com.`, `${P}.europe-west1-b.europe-west1.example.com.`];
const GRACE_MS = 4000;

async function startServe(): Promise<FednsProcess> {
  const p = spawnFedns(['serve', '--data-dir', dataDir, '--federation', 'myfed', '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--cluster-grace', `${GRACE_MS}ms`, '--stabilization', '200ms', '--log-level', 'warn']);
  await waitReady(`http://127.0.0.1:${apiPort}`, p);
  return p;
}

/** Every cascade name, answered with CNAMEs followed: one comparable picture of the zone. */
async function zonePicture(): Promise<string[]> {
  const out: string[] = [];
  for (const n of NAMES) out.push(...lines(await dig(dnsPort, n)));
  return out.sort();
}

before(async () => {
  apiPort = await freePort();
  dnsPort = await freePort();
  sims.push(await startSimCluster({ name: 'c1', region: 'us-east1', zones: ['us-east1-b'], lbPool: '198.51.100.0/28', kubeletDelayMs: 20, lbDelayMs: 10 }));
  sims.push(await startSimCluster({ name: 'c2', region: 'europe-west1', zones: ['europe-west1-b'], lbPool: '198.51.100.16/28', kubeletDelayMs: 20, lbDelayMs: 10 }));
  await joinSims(dataDir, 'myfed', sims);
  serve = await startServe();
});

after(async () => {
  await serve?.stop('SIGKILL');
  await Promise.all(sims.map((s) => s.close()));
});

test('kill -9 and restart while a member is unreachable: the same zone is served until its grace period ends', async () => {
  const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/namespaces/default/services`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ metadata: { name: 'web' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] } }),
  });
  assert.equal(res.status, 201);
  for (const s of sims) {
    await waitFor(`web in ${s.name}`, async () => s.lbAssignments().has('default/web'));
    s.runPods({ namespace: 'default', name: 'web', labels: { app: 'web' }, count: 2 });
  }
  const both = sims.map((s) => s.lbAssignments().get('default/web')).sort();
  await waitFor('both shards in the global name', async () => {
    const a = (await dig(dnsPort, NAMES[0] as string)).answer.filter((r) => r.type === 'A').map((r) => r.data).sort();
    return JSON.stringify(a) === JSON.stringify(both);
  });
  const beforeKill = await zonePicture();

  // kill -9, a member drops off the network, fedns comes back.
  serve?.child.kill('SIGKILL');
  await serve?.stop();
  sims[1]?.faults.unreachable(true);
  const restartedAt = Date.now();
  serve = await startServe();
  // Right after the restart, and for most of the grace period, the zone is exactly what it was.
  while (Date.now() - restartedAt < GRACE_MS - 1500) {
    assert.deepEqual(await zonePicture(), beforeKill, `${Date.now() - restartedAt} ms after the restart`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const cluster = (await (await fetch(`http://127.0.0.1:${apiPort}/apis/federation.fedns.io/v1/clusters/c2`)).json()) as { status: { conditions: { type: string; status: string; reason: string }[] } };
  assert.deepEqual(cluster.status.conditions.find((c) => c.type === 'Ready'), { ...cluster.status.conditions.find((c) => c.type === 'Ready'), status: 'True', reason: 'ClusterUnreachableInGrace' });

  // Past the grace period (counted from the restart), new evidence: c2's shard drops.
  const c1 = sims[0]?.lbAssignments().get('default/web');
  await waitFor('c2 dropped after its grace period', async () => lines(await dig(dnsPort, NAMES[0] as string)).join() === `${NAMES[0]} A ${c1}`, GRACE_MS + 3000);
  assert.ok(Date.now() - restartedAt >= GRACE_MS - 200, 'not before the grace period ran out');
  assert.equal((await dig(dnsPort, NAMES[3] as string, 'CNAME')).answer[0]?.data, NAMES[0], 'europe-west1 falls back to the global name');

  // The member comes back: its shard returns after the stabilisation window.
  sims[1]?.faults.clear();
  await waitFor('c2 back', async () => JSON.stringify((await dig(dnsPort, NAMES[0] as string)).answer.filter((r) => r.type === 'A').map((r) => r.data).sort()) === JSON.stringify(both), 10_000);
});

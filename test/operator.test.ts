/**
 * Issue 6 operator controls over a small simulated federation: drain a cluster
 * or a zone, placement, minReadyEndpoints, fail-closed, TTL — each visible in
 * DNS and in status.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ClusterObject } from '@fedns/model';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { dig, type FednsProcess, freePort, kubeRequest, lines, runFedns, spawnFedns, tempDir, waitFor, openTestStore, waitDemoUp } from './helpers.js';

const dataDir = tempDir();
let demo: FednsProcess;
let dnsPort = 0;
let api = '';
const servers = new Map<string, string>();
/** The demo's API asks for its token over HTTPS: requests go through the kubeconfig's credentials. */
const apiFetch = async (url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
  const r = await kubeRequest(join(dataDir, 'kubeconfig'), url.slice(api.length), { method: init.method, body: init.body });
  return { status: r.status, ok: r.status < 300, text: async () => r.text, json: async () => r.json() };
};

// c1 spans two zones; c2 and c3 have one each, in two regions.
const SCENARIO = `federation: ops
zone: example.com.
clusters:
  - { name: c1, region: r1, zones: [r1-a, r1-b], lbPool: 198.51.100.0/28 }
  - { name: c2, region: r1, zones: [r1-c], lbPool: 198.51.100.16/28 }
  - { name: c3, region: r2, zones: [r2-a], lbPool: 198.51.100.32/28 }
`;

const names = (svc: string) => {
  const P = `${svc}.default.ops.svc`;
  return { global: `${P}.example.com.`, region: (r: string) => `${P}.${r}.example.com.`, zone: (z: string, r: string) => `${P}.${z}.${r}.example.com.` };
};
const cnameOf = async (name: string) => (await dig(dnsPort, name, 'CNAME')).answer[0]?.data;
const addrs = async (name: string) => (await dig(dnsPort, name)).answer.filter((r) => r.type === 'A').map((r) => r.data).sort();

async function createService(name: string, annotations: Record<string, string> = {}): Promise<void> {
  const res = await apiFetch(`${api}/api/v1/namespaces/default/services`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ metadata: { name, annotations }, spec: { type: 'LoadBalancer', selector: { run: name }, ports: [{ port: 80 }] } }),
  });
  assert.equal(res.status, 201, await res.text());
}
async function runPods(cluster: string, app: string, count: number): Promise<void> {
  const res = await fetch(`${servers.get(cluster)}/sim/pods/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ namespace: 'default', labels: { run: app }, count, ready: true }) });
  assert.ok(res.ok);
}
/** An operator's edit of a Cluster's spec, from another process (as `kubectl patch cluster` would commit it). */
async function editClusterSpec(name: string, spec: Record<string, unknown>): Promise<void> {
  const store = await openTestStore(dataDir);
  try {
    const cur = await store.getObject<ClusterObject & { spec?: Record<string, unknown> }>('clusters', '', name);
    assert.ok(cur);
    await store.updateObject({ ...cur, object: { ...cur.object, spec: { ...cur.object.spec, ...spec } } }, cur.resourceVersion);
  } finally {
    await store.close();
  }
}
async function clusterCondition(name: string, type: string): Promise<{ status: string; message: string } | undefined> {
  const c = (await (await apiFetch(`${api}/apis/federation.fedns.io/v1/clusters/${name}`)).json()) as { status?: { conditions?: { type: string; status: string; message: string }[] } };
  return c.status?.conditions?.find((x) => x.type === type);
}

before(async () => {
  const scenario = join(dataDir, 'scenario.yaml');
  writeFileSync(scenario, SCENARIO);
  dnsPort = await freePort();
  const apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  demo = spawnFedns(['demo', '--scenario', scenario, '--data-dir', dataDir, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--stabilization', '0s', '--log-level', 'warn']);
  await waitDemoUp(demo);
  const kc = parse(readFileSync(join(dataDir, 'kubeconfig'), 'utf8')) as { clusters: { name: string; cluster: { server: string } }[] };
  for (const c of kc.clusters) servers.set(c.name, c.cluster.server);
  await createService('web');
  for (const c of ['c1', 'c2', 'c3']) await runPods(c, 'web', 2);
  const n = names('web');
  await waitFor('web healthy everywhere', async () => (await addrs(n.global)).length === 3, 15000);
});

after(async () => {
  await demo?.stop();
});

test('a multi-zone cluster answers in each of its zones', async () => {
  const n = names('web');
  const a = await addrs(n.zone('r1-a', 'r1'));
  assert.equal(a.length, 1);
  assert.deepEqual(await addrs(n.zone('r1-b', 'r1')), a, 'the same shard in both of c1 zones');
});

test('draining a cluster takes its shards out of every level, and status says so', async () => {
  const n = names('web');
  const before = await addrs(n.zone('r1-c', 'r1'));
  await editClusterSpec('c2', { drained: true });
  await waitFor('r1-c to CNAME', async () => (await cnameOf(n.zone('r1-c', 'r1'))) === n.region('r1'), 5000, 50);
  assert.ok(!(await addrs(n.region('r1'))).includes(before[0] as string));
  assert.ok(!(await addrs(n.global)).includes(before[0] as string));
  await waitFor('Drained=True', async () => (await clusterCondition('c2', 'Drained'))?.status === 'True');
  await editClusterSpec('c2', { drained: false });
  await waitFor('r1-c back', async () => JSON.stringify(await addrs(n.zone('r1-c', 'r1'))) === JSON.stringify(before) && (await cnameOf(n.zone('r1-c', 'r1'))) === undefined, 5000, 50);
  await waitFor('Drained=False', async () => (await clusterCondition('c2', 'Drained'))?.status === 'False');
});

test('a drain through the API is attributed: history names the cluster, the drain and the user', async () => {
  const n = names('web');
  const patch = (drained: boolean) => kubeRequest(join(dataDir, 'kubeconfig'), '/apis/federation.fedns.io/v1/clusters/c3', { method: 'PATCH', body: { spec: { drained } }, contentType: 'application/merge-patch+json' });
  assert.equal((await patch(true)).status, 200);
  await waitFor('r2 falls back', async () => (await cnameOf(n.region('r2'))) === n.global, 5000, 50);
  const history = async () => (await runFedns(['history', 'default/web', '--data-dir', dataDir, '--federation', 'ops'])).stdout;
  await waitFor('the drain in history, by the demo admin', async () => /cluster c3 drained \(spec\.drained: true\) by demo-admin/.test(await history()));
  assert.equal((await patch(false)).status, 200);
  await waitFor('the undrain in history', async () => /cluster c3 undrained \(spec\.drained: false\) by demo-admin/.test(await history()));
});

test('draining one zone of a multi-zone cluster affects only that zone', async () => {
  const n = names('web');
  await editClusterSpec('c1', { drainedZones: ['r1-a'] });
  await waitFor('r1-a to CNAME', async () => (await cnameOf(n.zone('r1-a', 'r1'))) === n.region('r1'), 5000, 50);
  assert.equal((await addrs(n.zone('r1-b', 'r1'))).length, 1, 'r1-b still served by c1');
  await editClusterSpec('c1', { drainedZones: [] });
  await waitFor('r1-a back', async () => (await cnameOf(n.zone('r1-a', 'r1'))) === undefined, 5000, 50);
});

test('placement: a service placed on some clusters only reaches those and names only their topology', async () => {
  await createService('placed', { 'federation.fedns.io/clusters': 'c3' });
  const n = names('placed');
  await waitFor('placed to be published', async () => (await dig(dnsPort, n.region('r2'), 'CNAME')).status === 'NOERROR', 10000);
  assert.equal((await dig(dnsPort, n.region('r1'))).status, 'NXDOMAIN', 'no names in regions where it is not placed');
  const inC1 = await fetch(`${servers.get('c1')}/api/v1/namespaces/default/services/placed`);
  assert.equal(inC1.status, 404, 'not propagated to c1');
  const inC3 = await fetch(`${servers.get('c3')}/api/v1/namespaces/default/services/placed`);
  assert.equal(inC3.status, 200);
});

test('minReadyEndpoints: a shard with fewer ready endpoints is not healthy', async () => {
  await createService('strict', { 'federation.fedns.io/min-ready-endpoints': '2' });
  await runPods('c1', 'strict', 1);
  await runPods('c3', 'strict', 2);
  const n = names('strict');
  await waitFor('c3 healthy', async () => (await addrs(n.region('r2'))).length === 1, 10000);
  assert.equal(await cnameOf(n.region('r1')), n.global, 'c1 has 1 of 2 required endpoints');
  const svc = (await (await apiFetch(`${api}/api/v1/namespaces/default/services/strict`)).json()) as { metadata: { annotations: Record<string, string> } };
  assert.match(svc.metadata.annotations['federation.fedns.io/shards'] ?? '', /c1=unhealthy\(1 ready endpoint\(s\), fewer than 2\)/);
});

test('fail-closed: with no healthy shard the global name answers NODATA, and status says so', async () => {
  await createService('closed', { 'federation.fedns.io/fail-mode': 'closed' });
  const n = names('closed');
  await waitFor('closed published', async () => (await dig(dnsPort, n.global, 'TXT')).answer.length === 1, 10000);
  const a = await dig(dnsPort, n.global, 'A');
  assert.equal(a.status, 'NOERROR');
  assert.equal(a.answer.length, 0, 'NODATA, not every known address');
  const chain = await dig(dnsPort, n.zone('r2-a', 'r2'), 'A');
  assert.deepEqual(chain.answer.map((r) => r.type), ['CNAME', 'CNAME'], 'the chain ends at an existing name');
  await waitFor('status FailClosed', async () => {
    const svc = (await (await apiFetch(`${api}/api/v1/namespaces/default/services/closed`)).json()) as { status?: { conditions?: { reason: string; message: string }[] } };
    return svc.status?.conditions?.[0]?.reason === 'FailClosed';
  });
  // The default fails open: every known address at the global name.
  await createService('open');
  await waitFor('open fails open', async () => (await addrs(names('open').global)).length === 3, 10000);
});

test('per-service TTL', async () => {
  await createService('shortttl', { 'federation.fedns.io/ttl': '5' });
  await runPods('c3', 'shortttl', 1);
  const n = names('shortttl');
  await waitFor('published', async () => (await addrs(n.region('r2'))).length === 1, 10000);
  const a = await dig(dnsPort, n.region('r2'));
  assert.deepEqual(a.answer.map((r) => r.ttl), [5]);
  assert.deepEqual(lines(a).length, 1);
  const bad = await apiFetch(`${api}/api/v1/namespaces/default/services`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ metadata: { name: 'badttl', annotations: { 'federation.fedns.io/ttl': 'soon' } }, spec: { ports: [{ port: 80 }] } }),
  });
  assert.equal(bad.status, 422);
  assert.match(await bad.text(), /federation\.fedns\.io\/ttl/);
});

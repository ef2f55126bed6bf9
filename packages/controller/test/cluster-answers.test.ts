/**
 * In-cluster answers in the controller, with fakes: the shard reconciler records what each shard
 * offers its own cluster (cluster IPs, local health without a load balancer, headless endpoints,
 * the time rules), and the answers reconciler commits the cascade's answers to the store's private
 * table — never the zone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore, type Store } from '@fedns/store';
import { Registry } from 'prom-client';
import { ClusterAnswersReconciler } from '../src/cluster-answers.js';
import type { ClusterConnections, Connection } from '../src/connections.js';
import { SILENT } from '../src/logger.js';
import { controllerMetrics } from '../src/metrics.js';
import { FEDERATION_LABEL, OWNER_ANNOTATION } from '../src/ownership.js';
import { ShardReconciler } from '../src/shards.js';

const me = { federation: 'myfed', installationId: 'id-a' };
const fed = { name: 'myfed', zone: 'example.com.' };

async function storeWith(clusters: { name: string; region: string; zones: string[] }[], service: Record<string, unknown> = {}): Promise<Store> {
  const store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'fedns-answers-')) });
  for (const c of clusters) await store.createObject({ kind: 'clusters', namespace: '', name: c.name, uid: `u-${c.name}`, object: { metadata: { name: c.name }, status: { region: c.region, zones: c.zones } } });
  await store.createObject({ kind: 'services', namespace: 'default', name: 'web', uid: 'u-web', object: { metadata: { name: 'web', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }], ...service } } });
  return store;
}

function member(opts: { clusterIP?: string; lb?: string; ready: string[] }) {
  const svc = {
    metadata: { name: 'web', namespace: 'default', labels: { [FEDERATION_LABEL]: me.federation }, annotations: { [OWNER_ANNOTATION]: me.installationId } },
    spec: { type: 'LoadBalancer', clusterIP: opts.clusterIP ?? '10.96.0.20', clusterIPs: [opts.clusterIP ?? '10.96.0.20'] },
    status: { loadBalancer: opts.lb ? { ingress: [{ ip: opts.lb }] } : {} },
  };
  const state = { ready: opts.ready };
  return {
    name: 'c1',
    hasSynced: true,
    state,
    getService: () => svc,
    slicesOf: () => [{ endpoints: state.ready.map((a) => ({ addresses: [a], conditions: { ready: true } })) }],
  };
}

function connections(m: ReturnType<typeof member>): ClusterConnections {
  const conn = { name: 'c1', reachable: true, countsReady: true, unmanaged: false, fingerprint: 'x', spec: {}, lastPersisted: 0, member: m } as unknown as Connection;
  return { get: (n: string) => (n === 'c1' ? conn : undefined), names: () => ['c1'], observable: () => true } as unknown as ClusterConnections;
}

function shards(store: Store, conns: ClusterConnections, local: string[], stabilizationMs = 200) {
  return new ShardReconciler({
    store,
    connections: conns,
    flattener: { addresses: () => [] } as never,
    owner: me,
    timing: { stabilizationMs, clusterGraceMs: 40_000 },
    metrics: controllerMetrics(new Registry()),
    fence: () => undefined,
    onShardChanged: () => undefined,
    onStatusStale: () => undefined,
    onLocalChanged: (ns, n) => local.push(`${ns}/${n}`),
  });
}

test('shards: cluster IPs and local health are recorded; no load balancer is needed for local health', async () => {
  const store = await storeWith([{ name: 'c1', region: 'r1', zones: ['r1-a'] }]);
  const m = member({ ready: ['10.244.0.5'] });
  const local: string[] = [];
  await shards(store, connections(m), local).reconcile('c1/default/web');
  const s = await store.getShard('c1', 'default', 'web');
  assert.equal(s?.healthy, false, 'publicly: no load-balancer address yet');
  assert.deepEqual({ ...s?.local, since: undefined }, { clusterIPs: ['10.96.0.20'], headless: false, endpoints: [], healthy: true, since: undefined, message: '1 ready endpoint(s)', everHealthy: true });
  assert.deepEqual(local, ['default/web']);
});

test('shards: local health fails at once and recovers after the stabilisation window', async () => {
  const store = await storeWith([{ name: 'c1', region: 'r1', zones: ['r1-a'] }]);
  const m = member({ lb: '203.0.113.9', ready: ['10.244.0.5'] });
  const local: string[] = [];
  const rec = shards(store, connections(m), local, 150);
  await rec.reconcile('c1/default/web');
  m.state.ready = [];
  await rec.reconcile('c1/default/web');
  assert.equal((await store.getShard('c1', 'default', 'web'))?.local?.healthy, false);
  m.state.ready = ['10.244.0.6'];
  const again = await rec.reconcile('c1/default/web');
  assert.equal((await store.getShard('c1', 'default', 'web'))?.local?.healthy, false, 'stabilising');
  assert.ok(again?.requeueAfterMs && again.requeueAfterMs <= 150);
  await new Promise((r) => setTimeout(r, 160));
  await rec.reconcile('c1/default/web');
  assert.equal((await store.getShard('c1', 'default', 'web'))?.local?.healthy, true);
  assert.equal(local.length, 3, 'healthy, unhealthy, healthy again');
});

test('answers: committed to the private table, the zone untouched; the CNAME when the local shard fails; removed with the service', async () => {
  const store = await storeWith([
    { name: 'c1', region: 'r1', zones: ['r1-a'] },
    { name: 'c2', region: 'r1', zones: ['r1-b'] },
  ]);
  const m = member({ ready: ['10.244.0.5'] });
  const rec = shards(store, connections(m), []);
  await rec.reconcile('c1/default/web');
  const answers = new ClusterAnswersReconciler({ store, federation: fed, enabled: true, fence: () => undefined, log: SILENT });
  const zone = await store.zoneSnapshot();
  await answers.reconcile('default/web');
  assert.deepEqual(await store.clusterAnswersOfService('default', 'web'), [
    { cluster: 'c1', namespace: 'default', service: 'web', ttl: 5, addresses: ['10.96.0.20'] },
    { cluster: 'c2', namespace: 'default', service: 'web', ttl: 5, target: 'web.default.myfed.svc.r1-b.r1.example.com.' },
  ]);
  assert.equal((await store.zoneSnapshot()).seq, zone.seq, 'no zone commit');
  m.state.ready = [];
  await rec.reconcile('c1/default/web');
  await answers.reconcile('default/web');
  assert.equal((await store.clusterAnswersOfService('default', 'web'))[0]?.target, 'web.default.myfed.svc.r1-a.r1.example.com.');
  await store.deleteObject('services', 'default', 'web');
  await answers.reconcile('default/web');
  assert.deepEqual(await store.clusterAnswersOfService('default', 'web'), []);
});

test('answers: headless services answer local ready endpoints; off removes every answer', async () => {
  const store = await storeWith([{ name: 'c1', region: 'r1', zones: ['r1-a'] }], { clusterIP: 'None' });
  const m = member({ clusterIP: 'None', ready: ['10.244.0.7', '10.244.0.5'] });
  await shards(store, connections(m), []).reconcile('c1/default/web');
  const on = new ClusterAnswersReconciler({ store, federation: fed, enabled: true, fence: () => undefined, log: SILENT });
  await on.reconcile('default/web');
  assert.deepEqual((await store.clusterAnswersOfService('default', 'web'))[0]?.addresses, ['10.244.0.5', '10.244.0.7']);
  const off = new ClusterAnswersReconciler({ store, federation: fed, enabled: false, fence: () => undefined, log: SILENT });
  assert.deepEqual(await off.keys(), ['default/web']);
  await off.reconcile('default/web');
  assert.deepEqual(await store.clusterAnswersOfService('default', 'web'), []);
});

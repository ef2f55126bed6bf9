/**
 * The reconcilers with fakes (sample-controller's controller_test.go shape):
 * a real store in a temp dir, fake member clusters, and assertions on what
 * each reconciler writes — to the store, and to the member.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore, type Store } from '@fedns/store';
import { Registry } from 'prom-client';
import type { ClusterConnections, Connection } from '../src/connections.js';
import { lastSeenAtStart } from '../src/health.js';
import { controllerMetrics } from '../src/metrics.js';
import { FEDERATION_LABEL, OWNER_ANNOTATION } from '../src/ownership.js';
import { PropagationReconciler } from '../src/propagation.js';
import { RecordsReconciler } from '../src/records.js';
import { ShardReconciler } from '../src/shards.js';
import { SILENT } from '../src/logger.js';

const me = { federation: 'fed-a', installationId: 'id-a' };
const timing = { stabilizationMs: 1000, clusterGraceMs: 40_000 };

async function storeWith(services: { name: string; annotations?: Record<string, string>; created?: string }[], clusters = ['c1']): Promise<Store> {
  const store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'fedns-rec-')) });
  for (const c of clusters) {
    await store.createObject({ kind: 'clusters', namespace: '', name: c, uid: `u-${c}`, object: { metadata: { name: c }, status: { region: 'r1', zones: ['r1-a'] } } });
  }
  for (const s of services) await addService(store, s.name, s.annotations, s.created);
  return store;
}

async function addService(store: Store, name: string, annotations: Record<string, string> = {}, created = '2026-01-01T00:00:00Z'): Promise<void> {
  const object = { metadata: { name, namespace: 'default', creationTimestamp: created, annotations }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } };
  await store.createObject({ kind: 'services', namespace: 'default', name, uid: `u-${name}-${Math.random()}`, object });
}

interface FakeService {
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

/** A member cluster as the reconcilers see it: caches, and a core client that records its calls. */
function fakeMember(name: string, services: FakeService[] = [], readyEndpoints = 0) {
  const calls: { verb: string; args: Record<string, unknown> }[] = [];
  const rec = (verb: string) => async (args: Record<string, unknown>) => {
    calls.push({ verb, args });
    return {};
  };
  return {
    name,
    hasSynced: true,
    calls,
    services,
    getService: (ns: string, n: string) => services.find((s) => s.metadata.namespace === ns && s.metadata.name === n),
    slicesOf: () => (readyEndpoints ? [{ addressType: 'IPv4', endpoints: Array.from({ length: readyEndpoints }, (_, i) => ({ addresses: [`10.0.0.${i + 1}`] })) }] : []),
    core: {
      createNamespacedService: rec('create'),
      replaceNamespacedService: rec('replace'),
      deleteNamespacedService: rec('delete'),
      createNamespace: rec('createNamespace'),
      readNamespacedService: rec('read'),
    },
  };
}

function fakeConnections(conns: Record<string, Omit<Partial<Connection>, 'member'> & { member?: ReturnType<typeof fakeMember> }>): ClusterConnections {
  const all = new Map(Object.entries(conns).map(([name, c]) => [name, { name, reachable: true, countsReady: true, unmanaged: false, fingerprint: 'x', spec: {}, lastPersisted: 0, ...c } as Connection]));
  return { get: (n: string) => all.get(n), names: () => [...all.keys()], observable: (c: Connection) => c.reachable && c.member?.hasSynced === true } as unknown as ClusterConnections;
}

const flattener = { addresses: () => [] } as never;
const metrics = () => controllerMetrics(new Registry());

function shardReconciler(store: Store, connections: ClusterConnections, changes: string[] = []) {
  return new ShardReconciler({ store, connections, flattener, owner: me, timing, metrics: metrics(), fence: () => undefined, onShardChanged: (_ns, _n, cause) => changes.push(cause), onStatusStale: () => undefined });
}

const lbService = (name: string, ip: string, marks: { id?: string; federation?: string } = { id: me.installationId, federation: me.federation }): FakeService => ({
  metadata: {
    name,
    namespace: 'default',
    uid: `member-${name}`,
    resourceVersion: '7',
    labels: marks.federation ? { [FEDERATION_LABEL]: marks.federation } : {},
    annotations: marks.id ? { [OWNER_ANNOTATION]: marks.id } : {},
  },
  spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
  status: { loadBalancer: { ingress: [{ ip }] } },
});

test('shards: a member not observable yet (just restarted, unreachable in grace) keeps the stored shard untouched', async () => {
  const store = await storeWith([{ name: 'web' }]);
  await store.putShard({ cluster: 'c1', namespace: 'default', service: 'web', addresses: ['192.0.2.1'], readyEndpoints: 2, healthy: true, since: '2026-01-01T00:00:00.000Z', message: '2 ready endpoint(s)', everHealthy: true, reported: true });
  const before = (await store.getShard('c1', 'default', 'web'));
  const changes: string[] = [];
  // Reachable but not listed yet, then unreachable within its grace period: both leave the row alone.
  for (const conn of [{ member: { ...fakeMember('c1'), hasSynced: false } }, { reachable: false, member: fakeMember('c1') }]) {
    await shardReconciler(store, fakeConnections({ c1: conn }), changes).reconcile('c1/default/web');
    assert.deepEqual((await store.getShard('c1', 'default', 'web')), before);
  }
  assert.deepEqual(changes, []);
});

test('shards: past the grace period a shard turns unhealthy but keeps its last addresses', async () => {
  const store = await storeWith([{ name: 'web' }]);
  await store.putShard({ cluster: 'c1', namespace: 'default', service: 'web', addresses: ['192.0.2.1'], readyEndpoints: 2, healthy: true, since: '2026-01-01T00:00:00.000Z', message: 'ok', everHealthy: true });
  const changes: string[] = [];
  await shardReconciler(store, fakeConnections({ c1: { reachable: false, countsReady: false } }), changes).reconcile('c1/default/web');
  const s = (await store.getShard('c1', 'default', 'web'));
  assert.equal(s?.healthy, false);
  assert.deepEqual(s?.addresses, ['192.0.2.1']);
  assert.match(s?.message ?? '', /cluster not ready/);
  assert.equal(changes.length, 1);
});

test('shards: a member Service another federation owns is a conflict, never published', async () => {
  const store = await storeWith([{ name: 'web' }]);
  const member = fakeMember('c1', [lbService('web', '192.0.2.9', { id: 'id-b', federation: 'fed-b' })], 3);
  const reg = new Registry();
  const m = controllerMetrics(reg);
  const r = new ShardReconciler({ store, connections: fakeConnections({ c1: { member } }), flattener, owner: me, timing, metrics: m, fence: () => undefined, onShardChanged: () => undefined, onStatusStale: () => undefined });
  await r.reconcile('c1/default/web');
  const s = (await store.getShard('c1', 'default', 'web'));
  assert.equal(s?.healthy, false);
  assert.deepEqual(s?.addresses, []);
  assert.equal(s?.conflict, 'fed-b/id-b');
  assert.match(s?.message ?? '', /belongs to federation fed-b\/id-b/);
});

test('shards: published only when readiness and the probes from outside both say healthy (issue 14)', async () => {
  const store = await storeWith([{ name: 'web', annotations: { 'federation.fedns.io/probe': 'tcp:443' } }, { name: 'plain' }]);
  const member = fakeMember('c1', [lbService('web', '192.0.2.1'), lbService('plain', '192.0.2.1')], 2);
  const asked: string[] = [];
  let failed = true;
  const r = new ShardReconciler({
    store, connections: fakeConnections({ c1: { member } }), flattener, owner: me, timing, metrics: metrics(), fence: () => undefined, onShardChanged: () => undefined, onStatusStale: () => undefined,
    probes: (cluster, ns, name, target, addresses) => {
      asked.push(`${cluster}/${ns}/${name} ${target} ${addresses.join(',')}`);
      return failed ? { failed: true, counted: 2, failing: 2, message: 'probe tcp:443 failed from 2 of 2 controller(s) (a: refused; b: refused)' } : { failed: false, counted: 2, failing: 0, message: '' };
    },
  });
  await r.reconcile('c1/default/web');
  const s = await store.getShard('c1', 'default', 'web');
  assert.deepEqual([s?.healthy, s?.message], [false, 'probe tcp:443 failed from 2 of 2 controller(s) (a: refused; b: refused)']);
  assert.deepEqual(asked, ['c1/default/web tcp:443 192.0.2.1']);
  // A service without a probe is never asked about.
  await r.reconcile('c1/default/plain');
  assert.equal((await store.getShard('c1', 'default', 'plain'))?.healthy, true);
  assert.equal(asked.length, 1);
  failed = false;
  await r.reconcile('c1/default/web');
  assert.equal((await store.getShard('c1', 'default', 'web'))?.healthy, true, 'first time healthy: no stabilisation window');
});

test('shards: the stabilisation state lives in the store, so a new reconciler (a restart) continues the window', async () => {
  const store = await storeWith([{ name: 'web' }]);
  const healthy = fakeMember('c1', [lbService('web', '192.0.2.1')], 2);
  const sick = fakeMember('c1', [lbService('web', '192.0.2.1')], 0);
  await shardReconciler(store, fakeConnections({ c1: { member: healthy } })).reconcile('c1/default/web');
  assert.equal((await store.getShard('c1', 'default', 'web'))?.healthy, true);
  await shardReconciler(store, fakeConnections({ c1: { member: sick } })).reconcile('c1/default/web');
  assert.equal((await store.getShard('c1', 'default', 'web'))?.healthy, false);
  const recheck = await shardReconciler(store, fakeConnections({ c1: { member: healthy } })).reconcile('c1/default/web');
  const waiting = (await store.getShard('c1', 'default', 'web'));
  assert.equal(waiting?.healthy, false, 'a recovered shard waits');
  assert.ok(waiting?.recoveringSince, 'the window start is stored');
  assert.ok((recheck?.requeueAfterMs ?? 0) > 0, 'the queue is asked to look again when the window ends');
  // A fresh reconciler (as after a restart) neither forgets nor restarts the window.
  await shardReconciler(store, fakeConnections({ c1: { member: healthy } })).reconcile('c1/default/web');
  assert.equal((await store.getShard('c1', 'default', 'web'))?.recoveringSince, waiting?.recoveringSince);
});

test('propagation: never touches what another federation owns; deletes only its own copies; adopts unowned ones', async () => {
  const store = await storeWith([{ name: 'web' }, { name: 'api', annotations: { 'federation.fedns.io/clusters': 'c2' } }]);
  const foreign = fakeMember('c1', [lbService('web', '192.0.2.9', { id: 'id-b', federation: 'fed-b' })]);
  const prop = (member: ReturnType<typeof fakeMember>) => new PropagationReconciler({ store, connections: fakeConnections({ c1: { member } }), owner: me, metrics: metrics(), log: SILENT, onMemberDeleted: () => undefined });
  await prop(foreign).reconcile('c1/default/web');
  await store.deleteObject('services', 'default', 'web');
  await prop(foreign).reconcile('c1/default/web');
  assert.deepEqual(foreign.calls, [], 'no write to another federation’s object, even after our service is gone');

  // Our copy of a service that is no longer placed here: deleted, guarded by its uid.
  const ours = fakeMember('c1', [lbService('api', '192.0.2.1')]);
  await prop(ours).reconcile('c1/default/api');
  assert.deepEqual(ours.calls.map((c) => c.verb), ['delete']);
  assert.deepEqual((ours.calls[0]?.args.body as { preconditions?: unknown } | undefined)?.preconditions, { uid: 'member-api' });

  // An unowned pre-existing Service is adopted: replaced with our marks, its resourceVersion kept for the CAS.
  await addService(store, 'web');
  const unowned = fakeMember('c1', [lbService('web', '192.0.2.1', {})]);
  await prop(unowned).reconcile('c1/default/web');
  assert.deepEqual(unowned.calls.map((c) => c.verb), ['replace']);
  const body = unowned.calls[0]?.args.body as FakeService;
  assert.equal(body.metadata.annotations?.[OWNER_ANNOTATION], me.installationId);
  assert.equal(body.metadata.labels?.[FEDERATION_LABEL], me.federation);
  assert.equal(body.metadata.resourceVersion, '7');
});

test('records: a new service does not fail open on a transient subset; it waits for its clusters, then for a timeout', async () => {
  const now = new Date().toISOString();
  const store = await storeWith([{ name: 'web', created: now }], ['c1', 'c2']);
  await store.putShard({ cluster: 'c1', namespace: 'default', service: 'web', addresses: ['192.0.2.1'], readyEndpoints: 0, healthy: false, since: now, message: 'no endpoints', reported: true });
  const records = new RecordsReconciler({ store, federation: { name: 'f', zone: 'example.com.' }, firstReportTimeoutMs: 300 });
  const globalOf = async () => (await store.recordSetsOfService('default', 'web')).find((r) => r.level === 'global');
  records.enqueueAll('t');
  await records.flush();
  assert.equal((await globalOf())?.type, 'TXT', 'c2 has not reported: no address yet');
  // c2 reports (no address ever coming) → fail open with every known address.
  await store.putShard({ cluster: 'c2', namespace: 'default', service: 'web', addresses: [], readyEndpoints: 0, healthy: false, since: now, message: 'cluster not ready', reported: true });
  records.enqueue('default', 'web', 'c2 reported');
  await records.flush();
  assert.deepEqual((await globalOf())?.data, ['192.0.2.1']);
  // Without c2's report the timeout ends the wait by itself.
  await store.putShard({ cluster: 'c2', namespace: 'default', service: 'web', addresses: [], readyEndpoints: 0, healthy: false, since: now, message: 'pending', reported: false });
  records.enqueue('default', 'web', 'again');
  await records.flush();
  assert.equal((await globalOf())?.type, 'TXT');
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual((await globalOf())?.data, ['192.0.2.1'], 'the recheck after the timeout failed open');
  records.stop();
});

test('restart: a member Ready before the restart keeps its grace from the later of last-seen and the restart', () => {
  const start = Date.parse('2026-12-01T10:00:00Z');
  assert.equal(lastSeenAtStart({ lastSeen: '2026-12-01T09:59:50Z', ready: true }, start), start);
  assert.equal(lastSeenAtStart({ lastSeen: '2026-12-01T10:00:05Z', ready: true }, start), start + 5000);
  assert.equal(lastSeenAtStart({ lastSeen: '2026-12-01T09:00:00Z', ready: false }, start), undefined, 'already past its grace: stays not Ready');
  assert.equal(lastSeenAtStart(undefined, start), undefined, 'never seen');
});

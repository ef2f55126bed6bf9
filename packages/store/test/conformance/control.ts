/** Conformance: controller state (shards, member state) and the installation's identity. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredShard } from '../../src/types.js';
import { type Opener, uniq, withStores } from './helpers.js';

export function controlTests(open: Opener): void {
  test('shards round trip with their whole health state', () =>
    withStores(open, 2, async (a, b) => {
      const ns = uniq('ns');
      const [c1, c2] = [uniq('c1'), uniq('c2')];
      const full: StoredShard = {
        cluster: c1,
        namespace: ns,
        service: 'web',
        addresses: ['203.0.113.10', '2001:db8::1'],
        readyEndpoints: 3,
        healthy: false,
        since: '2026-01-02T03:04:05.678Z',
        message: 'no ready endpoints',
        everHealthy: true,
        recoveringSince: '2026-01-02T03:04:00.000Z',
        reported: false,
        conflict: 'otherfed/1234',
        local: { clusterIPs: ['10.96.0.20', 'fd00::20'], headless: false, endpoints: [], healthy: true, since: '2026-01-02T03:04:05.000Z', message: '3 ready endpoint(s)', everHealthy: true },
      };
      await a.putShard(full);
      assert.deepEqual(await b.getShard(c1, ns, 'web'), full);
      const bare: StoredShard = { cluster: c2, namespace: ns, service: 'web', addresses: [], readyEndpoints: 0, healthy: true, since: 'then', message: '' };
      await a.putShard(bare);
      assert.deepEqual(await b.getShard(c2, ns, 'web'), { ...bare, everHealthy: true, reported: true }, 'defaults: everHealthy = healthy, reported');
      const updated = { ...full, healthy: true, message: '', recoveringSince: undefined, conflict: undefined, local: undefined };
      await a.putShard(updated);
      const { recoveringSince: _r, conflict: _c, local: _l, ...expected } = updated;
      assert.deepEqual(await b.getShard(c1, ns, 'web'), expected, 'cleared optional fields are absent');
      await a.putShard({ ...bare, service: 'api' });
      assert.deepEqual((await a.shardsOfService(ns, 'web')).map((s) => s.cluster), [c1, c2]);
      assert.deepEqual((await a.shardsOfCluster(c2)).map((s) => s.service), ['api', 'web']);
      assert.deepEqual((await a.listShards()).filter((s) => s.namespace === ns).map((s) => `${s.service}/${s.cluster}`), [`api/${c2}`, `web/${c1}`, `web/${c2}`]);
      await a.deleteShard(c1, ns, 'web');
      assert.equal(await b.getShard(c1, ns, 'web'), undefined);
      await a.deleteShardsOfCluster(c2);
      assert.deepEqual(await b.shardsOfCluster(c2), []);
      assert.deepEqual(await b.shardsOfService(ns, 'web'), []);
    }));

  test('member state: set, overwrite, delete', () =>
    withStores(open, 2, async (a, b) => {
      const c = uniq('member');
      assert.equal(await a.memberState(c), undefined);
      await a.setMemberState(c, { lastSeen: '2026-01-02T03:04:05.000Z', ready: true });
      assert.deepEqual(await b.memberState(c), { lastSeen: '2026-01-02T03:04:05.000Z', ready: true });
      await a.setMemberState(c, { lastSeen: '2026-01-02T03:05:00.000Z', ready: false });
      assert.deepEqual(await b.memberState(c), { lastSeen: '2026-01-02T03:05:00.000Z', ready: false });
      await a.setMemberState(c, undefined);
      assert.equal(await b.memberState(c), undefined);
    }));

  test('load: objects keep their resourceVersions (logged, the counter moves past them), shards and member state', () =>
    withStores(open, 2, async (a, b) => {
      const ns = uniq('ns');
      const [member, c1] = [uniq('member'), uniq('c1')];
      const base = (await a.revision()) + 1000;
      const web = { kind: 'services' as const, namespace: ns, name: 'web', uid: uniq('uid'), resourceVersion: base, object: { v: 1 }, actor: 'alice' };
      const cluster = { kind: 'clusters' as const, namespace: '', name: member, uid: uniq('uid'), resourceVersion: base + 7, object: { kind: 'Cluster' }, credentials: 'loaded-secret' };
      const shard: StoredShard = { cluster: c1, namespace: ns, service: 'web', addresses: ['192.0.2.1'], readyEndpoints: 1, healthy: true, since: 'then', message: '' };
      await a.load({ objects: [web, cluster], shards: [shard], memberStates: [{ cluster: c1, state: { lastSeen: 'then', ready: true } }] });
      const { actor: _a, ...stored } = web;
      assert.deepEqual(await b.getObject('services', ns, 'web'), stored);
      assert.equal((await b.getObject('clusters', '', member))?.resourceVersion, base + 7);
      assert.equal(await b.clusterCredentials(member), 'loaded-secret');
      assert.ok((await b.revision()) >= base + 7, 'the counter moves past the highest loaded resourceVersion');
      assert.deepEqual((await b.objectHistory('services', ns, 'web')).map((c) => [c.rv, c.type, c.actor]), [[base, 'ADDED', 'alice']]);
      assert.deepEqual(await b.getShard(c1, ns, 'web'), { ...shard, everHealthy: true, reported: true });
      assert.deepEqual(await b.memberState(c1), { lastSeen: 'then', ready: true });
      const next = await b.createObject({ kind: 'services', namespace: ns, name: 'after', uid: uniq('uid'), object: {} });
      assert.ok(next.resourceVersion > base + 7);
    }));

  test('one installation id, generated once, the same from every store', () =>
    withStores(open, 2, async (a, b) => {
      assert.match(a.installationId, /\S{8,}/);
      assert.equal(a.installationId, b.installationId);
      assert.equal(a.engine, b.engine);
      assert.equal(typeof a.needsLeaderElection, 'boolean');
      assert.equal(typeof a.location, 'string');
    }));
}

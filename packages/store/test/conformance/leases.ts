/** Conformance: leases judged by the database's clock, and fenced writes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Fence, FencedError, type Store } from '../../src/types.js';
import { type ConformanceOptions, type Opener, rrset, sleep, uniq, withStores } from './helpers.js';

const fenced = (p: Promise<unknown>) => assert.rejects(p, (err: unknown) => err instanceof FencedError);

async function lease(s: Store, name: string, holder: string, ms: number): Promise<Fence> {
  const l = await s.acquireLease(name, holder, ms);
  assert.ok(l, `${holder} acquires ${name}`);
  return { lease: name, holder, epoch: l.epoch };
}

export function leaseTests(open: Opener, opts: ConformanceOptions): void {
  const noLeases = opts.leases ? false : 'this engine has no leases (one writer by construction)';
  const noFencing = opts.fencing ? false : 'this engine does not fence writes (one writer by construction)';

  test('leases: acquire, renew at the same epoch, refused while held, released', { skip: noLeases }, () =>
    withStores(open, 2, async (a, b) => {
      const name = uniq('lease');
      const l1 = await a.acquireLease(name, 'A', 10_000);
      assert.ok(l1 && l1.holder === 'A' && l1.name === name && Number.isInteger(l1.epoch) && l1.epoch >= 1);
      const span = Date.parse(l1.expiresAt) - Date.parse(l1.renewedAt);
      assert.ok(Math.abs(span - 10_000) <= 5, `expiry is renewal + duration by one clock (${span} ms)`);
      await sleep(20);
      const l2 = await a.acquireLease(name, 'A', 10_000, l1.epoch);
      assert.ok(l2);
      assert.equal(l2.epoch, l1.epoch, 'a renewal keeps the epoch');
      assert.equal(await a.acquireLease(name, 'A', 10_000), undefined, 'the same identity without the epoch (a restarted process) does not inherit it');
      assert.equal(await a.acquireLease(name, 'A', 10_000, l1.epoch + 1), undefined, 'nor with another epoch');
      assert.ok(Date.parse(l2.expiresAt) > Date.parse(l1.expiresAt));
      assert.equal(await b.acquireLease(name, 'B', 10_000), undefined, 'held by A');
      const read = await b.readLease(name);
      assert.ok(read && read.remainingMs !== undefined && read.remainingMs > 9_000 && read.remainingMs <= 10_000, `time left by the database's clock (${read?.remainingMs} ms)`);
      const { remainingMs: _, ...rest } = read;
      assert.deepEqual(rest, l2);
      await b.releaseLease(name, 'B');
      assert.equal(await b.acquireLease(name, 'B', 10_000), undefined, 'only the holder releases');
      await a.releaseLease(name, 'A');
      const l3 = await b.acquireLease(name, 'B', 10_000);
      assert.ok(l3 && l3.holder === 'B' && l3.epoch > l1.epoch, 'released: B takes it at a higher epoch');
      assert.equal(await b.readLease(uniq('none')), undefined);
    }));

  test('leases: an expired lease is taken over at a higher epoch', { skip: noLeases }, () =>
    withStores(open, 2, async (a, b) => {
      const name = uniq('lease');
      const l1 = await a.acquireLease(name, 'A', 300);
      assert.ok(l1);
      assert.equal(await b.acquireLease(name, 'B', 5_000), undefined);
      await sleep(600);
      const l2 = await b.acquireLease(name, 'B', 5_000);
      assert.ok(l2 && l2.holder === 'B' && l2.epoch === l1.epoch + 1);
      const own = uniq('lease');
      const o1 = await a.acquireLease(own, 'A', 200);
      await sleep(400);
      const o2 = await a.acquireLease(own, 'A', 5_000);
      assert.ok(o1 && o2 && o2.epoch === o1.epoch + 1, 'its own expired lease too: a new epoch');
    }));

  test('fences: writes carrying a deposed epoch are refused and change nothing', { skip: noFencing || noLeases }, () =>
    withStores(open, 2, async (a, b) => {
      const name = uniq('leader');
      const svc = uniq('svc');
      const cluster = uniq('member');
      const old = await lease(a, name, 'A', 10_000);
      const shard = { cluster, namespace: 'conformance', service: svc, addresses: ['192.0.2.1'], readyEndpoints: 1, healthy: true, since: 'then', message: '' };
      assert.ok(await a.commitZone({ upserts: [rrset(svc, `${svc}.example.com.`, ['192.0.2.1'])], deletes: [] }, 'leader A', old));
      await a.putShard(shard, old);
      await a.setMemberState(cluster, { lastSeen: 'then', ready: true }, old);
      const w = { kind: 'services' as const, namespace: uniq('ns'), name: 'web', uid: uniq('uid'), object: { v: 1 } };
      const o = await a.createObject(w);
      const u = await a.updateObject({ ...w, object: { v: 2 } }, o.resourceVersion, old);

      await a.releaseLease(name, 'A');
      const current = await lease(b, name, 'B', 10_000);
      assert.ok(current.epoch > old.epoch);
      const snap = await b.zoneSnapshot();
      await fenced(a.commitZone({ upserts: [rrset(svc, `${svc}.example.com.`, ['203.0.113.66'])], deletes: [] }, 'deposed', old));
      await fenced(a.putShard({ ...shard, healthy: false }, old));
      await fenced(a.deleteShard(cluster, 'conformance', svc, old));
      await fenced(a.deleteShardsOfCluster(cluster, old));
      await fenced(a.setMemberState(cluster, { lastSeen: 'later', ready: false }, old));
      await fenced(a.setMemberState(cluster, undefined, old));
      await fenced(a.updateObject({ ...w, object: { v: 3 } }, u.resourceVersion, old));
      await fenced(a.commitZone({ upserts: [rrset(svc, `${svc}.example.com.`, ['203.0.113.66'])], deletes: [] }, 'wrong holder', { ...current, holder: 'A' }));
      const after = await b.zoneSnapshot();
      assert.deepEqual([after.soaSerial, after.seq], [snap.soaSerial, snap.seq], 'no commit landed');
      assert.deepEqual((await b.recordSetsOfService('conformance', svc)).map((r) => r.data), [['192.0.2.1']]);
      assert.equal((await b.getShard(cluster, 'conformance', svc))?.healthy, true);
      assert.deepEqual(await b.memberState(cluster), { lastSeen: 'then', ready: true });
      assert.deepEqual((await b.getObject('services', w.namespace, 'web'))?.object, { v: 2 });

      assert.ok(await b.commitZone({ upserts: [rrset(svc, `${svc}.example.com.`, ['192.0.2.2'])], deletes: [] }, 'leader B', current));
      await b.putShard({ ...shard, healthy: false }, current);
      await b.updateObject({ ...w, object: { v: 3 } }, u.resourceVersion, current);
      await b.deleteShardsOfCluster(cluster, current);
      await b.setMemberState(cluster, undefined, current);
      assert.deepEqual(await a.shardsOfCluster(cluster), []);
    }));

  test('fences: an expired lease fences its holder even before anyone takes over', { skip: noFencing || noLeases }, () =>
    withStores(open, 1, async (s) => {
      const svc = uniq('svc');
      const f = await lease(s, uniq('leader'), 'C', 300);
      await sleep(600);
      await fenced(s.commitZone({ upserts: [rrset(svc, `${svc}.example.com.`, ['192.0.2.1'])], deletes: [] }, 'expired', f));
      await fenced(s.putShard({ cluster: uniq('c'), namespace: 'conformance', service: svc, addresses: [], readyEndpoints: 0, healthy: false, since: 'x', message: '' }, f));
    }));

  test('fences are accepted and ignored by an engine that does not fence', { skip: opts.fencing ? 'this engine fences' : false }, () =>
    withStores(open, 1, async (s) => {
      const svc = uniq('svc');
      const f: Fence = { lease: uniq('none'), holder: 'nobody', epoch: 1 };
      assert.ok(await s.commitZone({ upserts: [rrset(svc, `${svc}.example.com.`, ['192.0.2.1'])], deletes: [] }, 'unfenced', f));
      await s.putShard({ cluster: uniq('c'), namespace: 'conformance', service: svc, addresses: [], readyEndpoints: 0, healthy: false, since: 'x', message: '' }, f);
    }));
}

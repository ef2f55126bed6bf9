/** Conformance: objects, compare-and-swap, the object log and 'compacted'. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError, type StoredObject, SYSTEM_ACTOR } from '../../src/types.js';
import { type ConformanceOptions, type Opener, uniq, withStores } from './helpers.js';

const svc = (namespace: string, name: string, spec: Record<string, unknown> = {}) => ({
  kind: 'services' as const,
  namespace,
  name,
  uid: uniq('uid'),
  object: { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec },
});

async function conflict(p: Promise<unknown>, reason: ConflictError['reason']): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof ConflictError && err.reason === reason);
}

export function objectTests(open: Opener, opts: ConformanceOptions): void {
  test('createObject stores an object at a new resourceVersion; creating it again is a conflict', () =>
    withStores(open, 1, async (s) => {
      const before = await s.revision();
      const w = svc(uniq('ns'), 'web', { ports: [80] });
      const o = await s.createObject(w);
      assert.ok(o.resourceVersion > before);
      assert.equal(await s.revision(), o.resourceVersion);
      assert.deepEqual(o, { kind: 'services', namespace: w.namespace, name: 'web', uid: w.uid, resourceVersion: o.resourceVersion, object: w.object });
      assert.deepEqual(await s.getObject('services', w.namespace, 'web'), o);
      await conflict(s.createObject({ ...w, uid: uniq('uid') }), 'exists');
      const cluster = await s.createObject({ kind: 'clusters', namespace: '', name: uniq('c'), uid: uniq('uid'), object: { kind: 'Cluster' } });
      assert.equal(cluster.namespace, '');
      assert.deepEqual(await s.getObject('clusters', '', cluster.name), cluster);
      assert.equal(await s.getObject('services', w.namespace, 'absent'), undefined);
    }));

  test('updateObject compares and swaps the resourceVersion', () =>
    withStores(open, 2, async (a, b) => {
      const w = svc(uniq('ns'), 'web');
      const o = await a.createObject(w);
      const u = await a.updateObject({ ...w, object: { ...w.object, spec: { v: 2 } } }, o.resourceVersion);
      assert.ok(u.resourceVersion > o.resourceVersion);
      assert.deepEqual(u.object, { ...w.object, spec: { v: 2 } });
      await conflict(a.updateObject({ ...w, object: { stale: true } }, o.resourceVersion), 'stale');
      await conflict(a.updateObject({ ...w, name: 'absent' }, o.resourceVersion), 'missing');
      assert.deepEqual(await b.getObject('services', w.namespace, 'web'), u, 'a lost swap changes nothing');
      assert.equal((await a.objectHistory('services', w.namespace, 'web')).length, 2, 'a lost swap is not logged');
      // Two stores racing on the same resourceVersion: exactly one wins.
      const race = await Promise.allSettled([a, b].map((s, i) => s.updateObject({ ...w, object: { winner: i } }, u.resourceVersion)));
      assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1);
      const lost = race.find((r) => r.status === 'rejected');
      assert.ok(lost?.status === 'rejected' && lost.reason instanceof ConflictError && lost.reason.reason === 'stale');
    }));

  test('deleteObject honours expectedRv and returns the object at the deletion resourceVersion', () =>
    withStores(open, 1, async (s) => {
      const w = svc(uniq('ns'), 'web');
      const o = await s.createObject(w);
      await conflict(s.deleteObject('services', w.namespace, 'web', { expectedRv: o.resourceVersion - 1 }), 'stale');
      assert.ok(await s.getObject('services', w.namespace, 'web'), 'a delete with a stale expectedRv deletes nothing');
      const d = await s.deleteObject('services', w.namespace, 'web', { expectedRv: o.resourceVersion, actor: 'bob' });
      assert.ok(d && d.resourceVersion > o.resourceVersion);
      assert.deepEqual(d, { ...o, resourceVersion: d.resourceVersion });
      assert.equal(await s.revision(), d.resourceVersion);
      assert.equal(await s.getObject('services', w.namespace, 'web'), undefined);
      assert.equal(await s.deleteObject('services', w.namespace, 'web'), undefined);
      const h = await s.objectHistory('services', w.namespace, 'web');
      assert.deepEqual(h.map((c) => [c.type, c.actor]), [['DELETED', 'bob'], ['ADDED', SYSTEM_ACTOR]]);
      assert.deepEqual(h[0]?.object, w.object, 'DELETED carries the object before the delete');
    }));

  test('listObjects: by kind and namespace, sorted, with the revision it is consistent at', () =>
    withStores(open, 1, async (s) => {
      const [n1, n2] = [uniq('ns-a'), uniq('ns-b')];
      for (const [ns, name] of [[n1, 'b'], [n1, 'a'], [n2, 'a'], [n1, 'c']] as const) await s.createObject(svc(ns, name));
      const one = await s.listObjects('services', n1);
      assert.deepEqual(one.items.map((o) => o.name), ['a', 'b', 'c']);
      assert.equal(one.revision, await s.revision());
      const all = (await s.listObjects('services')).items.filter((o) => o.namespace === n1 || o.namespace === n2);
      assert.deepEqual(all.map((o) => `${o.namespace}/${o.name}`), [`${n1}/a`, `${n1}/b`, `${n1}/c`, `${n2}/a`]);
      assert.ok(!(await s.listObjects('clusters')).items.some((o) => o.namespace === n1), 'kinds are apart');
      assert.deepEqual((await s.listObjects('services', uniq('empty'))).items, []);
    }));

  test('the object log: every write in rv order, with type, actor and object; limit; history newest first', () =>
    withStores(open, 1, async (s) => {
      const r0 = await s.revision();
      const w = svc(uniq('ns'), 'web');
      const o = await s.createObject({ ...w, actor: 'alice' });
      const u = await s.updateObject({ ...w, object: { v: 2 } }, o.resourceVersion);
      const d = await s.deleteObject('services', w.namespace, 'web', { actor: 'bob' });
      const log = await s.objectChangesSince(r0);
      assert.ok(Array.isArray(log));
      assert.deepEqual(
        log.map((c) => [c.rv, c.type, c.kind, c.namespace, c.name, c.actor]),
        [
          [o.resourceVersion, 'ADDED', 'services', w.namespace, 'web', 'alice'],
          [u.resourceVersion, 'MODIFIED', 'services', w.namespace, 'web', SYSTEM_ACTOR],
          [d?.resourceVersion, 'DELETED', 'services', w.namespace, 'web', 'bob'],
        ],
      );
      assert.deepEqual(log.map((c) => c.object), [w.object, { v: 2 }, { v: 2 }]);
      for (const c of log) assert.ok(!Number.isNaN(Date.parse(c.at)), `at is a time: ${c.at}`);
      assert.deepEqual(await s.objectChangesSince(r0, 2), log.slice(0, 2));
      assert.deepEqual(await s.objectChangesSince(await s.revision()), []);
      const h = await s.objectHistory('services', w.namespace, 'web', 2);
      assert.deepEqual(h, [log[2], log[1]]);
    }));

  test('rv order is commit order: a watcher reading the log never misses a smaller rv committed later', () =>
    withStores(open, 3, async (a, b, reader) => {
      const ns = uniq('ns');
      const perStore = Math.max(5, Math.min(40, Math.floor(opts.objectLogSize / 8)));
      const start = await reader.revision();
      const seen: number[] = [];
      let done = false;
      const follow = (async () => {
        let last = start;
        while (!done || last < (await reader.revision())) {
          const batch = await reader.objectChangesSince(last);
          assert.notEqual(batch, 'compacted');
          if (batch === 'compacted') return;
          for (const c of batch) {
            assert.ok(c.rv > last, `rv ${c.rv} after ${last}`);
            seen.push((last = c.rv));
          }
        }
      })();
      await Promise.all(
        [a, b].flatMap((s, i) => Array.from({ length: perStore }, (_, k) => s.createObject(svc(ns, `o-${i}-${k}`)))),
      );
      done = true;
      await follow;
      const all = await reader.objectChangesSince(start);
      assert.ok(Array.isArray(all));
      assert.deepEqual(seen, all.map((c) => c.rv));
      assert.equal(all.filter((c) => c.namespace === ns).length, 2 * perStore);
    }));

  test("objectChangesSince answers 'compacted' once the log no longer reaches back", () =>
    withStores(open, 1, async (s) => {
      const w = svc(uniq('ns'), 'churn');
      let o: StoredObject<unknown> = await s.createObject<unknown>(w);
      const first = o.resourceVersion;
      for (let i = 0; i < 2 * opts.objectLogSize + 10; i++) o = await s.updateObject({ ...w, object: { i } }, o.resourceVersion);
      assert.equal(await s.objectChangesSince(first - 1), 'compacted');
      const head = await s.revision();
      const recent = await s.objectChangesSince(head - 5);
      assert.ok(Array.isArray(recent));
      assert.deepEqual(recent.map((c) => c.rv), [head - 4, head - 3, head - 2, head - 1, head]);
    }));

  test('cluster credentials are sealed: only clusterCredentials returns them, never in clear at rest', () =>
    withStores(open, 2, async (a, b) => {
      const secret = `kubeconfig-${uniq('SECRET')}`;
      const name = uniq('member');
      const w = { kind: 'clusters' as const, namespace: '', name, uid: uniq('uid'), object: { kind: 'Cluster', metadata: { name } } };
      const o = await a.createObject({ ...w, credentials: secret });
      assert.equal(await a.clusterCredentials(name), secret);
      assert.equal(await b.clusterCredentials(name), secret, 'another store of the installation opens them');
      assert.ok(!JSON.stringify(await a.getObject('clusters', '', name)).includes(secret));
      const u = await a.updateObject({ ...w, object: { kind: 'Cluster', v: 2 } }, o.resourceVersion);
      assert.equal(await a.clusterCredentials(name), secret, 'an update without credentials keeps them');
      const rotated = `${secret}-rotated`;
      await a.updateObject({ ...w, credentials: rotated }, u.resourceVersion);
      assert.equal(await b.clusterCredentials(name), rotated);
      assert.ok(!JSON.stringify(await a.objectHistory('clusters', '', name)).includes('SECRET'), 'never in the object log');
      assert.equal(await a.clusterCredentials(uniq('absent')), undefined);
      if (opts.rawContents) {
        const raw = await opts.rawContents();
        assert.ok(raw.includes(name), 'the raw contents are the real thing (they hold the cluster name)');
        assert.ok(!raw.includes(secret), 'credentials never in clear at rest');
      }
    }));
}

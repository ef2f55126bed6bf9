/** Conformance: the change feed, within this store and from another one. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoreChange } from '../../src/types.js';
import { type ConformanceOptions, type Opener, rrset, sleep, uniq, waitFor, withStores } from './helpers.js';

export function feedTests(open: Opener, opts: ConformanceOptions): void {
  const bound = opts.feedBoundMs ?? 3000;

  test(`watch: another store's object and zone commits arrive within ${bound} ms; its own at once`, () =>
    withStores(open, 2, async (watcher, writer) => {
      const seen: StoreChange[] = [];
      const stop = watcher.watch((c) => seen.push(c));
      try {
        const has = (pred: (c: StoreChange) => boolean) => () => seen.some(pred);
        const ns = uniq('ns');
        const o = await writer.createObject({ kind: 'services', namespace: ns, name: 'web', uid: uniq('uid'), object: {} });
        await waitFor(has((c) => c.what === 'objects' && c.rv >= o.resourceVersion), bound, `objects change rv ${o.resourceVersion}`);
        const svc = uniq('svc');
        const e = await writer.commitZone({ upserts: [rrset(svc, `${svc}.example.com.`, ['192.0.2.1'])], deletes: [] }, 'feed');
        assert.ok(e);
        await waitFor(has((c) => c.what === 'zone' && c.seq >= e.seq), bound, `zone change seq ${e.seq}`);
        const own = await watcher.createObject({ kind: 'services', namespace: ns, name: 'own', uid: uniq('uid'), object: {} });
        await waitFor(has((c) => c.what === 'objects' && c.rv >= own.resourceVersion), 100, 'its own commit, at once');
        const e2 = await watcher.commitZone({ upserts: [rrset(svc, `${svc}.example.com.`, ['192.0.2.2'])], deletes: [] }, 'own');
        assert.ok(e2);
        await waitFor(has((c) => c.what === 'zone' && c.seq >= e2.seq), 100, 'its own zone commit, at once');
      } finally {
        stop();
      }
      const count = seen.length;
      await writer.createObject({ kind: 'services', namespace: uniq('ns'), name: 'late', uid: uniq('uid'), object: {} });
      await sleep(Math.min(bound, 1000));
      assert.equal(seen.length, count, 'nothing after unsubscribing');
    }));

  test('watch: several listeners each get every change; one unsubscribing leaves the others', () =>
    withStores(open, 2, async (watcher, writer) => {
      const one: StoreChange[] = [];
      const two: StoreChange[] = [];
      const stopOne = watcher.watch((c) => one.push(c));
      const stopTwo = watcher.watch((c) => two.push(c));
      try {
        const o = await writer.createObject({ kind: 'services', namespace: uniq('ns'), name: 'a', uid: uniq('uid'), object: {} });
        const got = (list: StoreChange[], rv: number) => () => list.some((c) => c.what === 'objects' && c.rv >= rv);
        await waitFor(got(one, o.resourceVersion), bound, 'first listener');
        await waitFor(got(two, o.resourceVersion), bound, 'second listener');
        stopOne();
        const p = await writer.createObject({ kind: 'services', namespace: uniq('ns'), name: 'b', uid: uniq('uid'), object: {} });
        await waitFor(got(two, p.resourceVersion), bound, 'the remaining listener');
      } finally {
        stopOne();
        stopTwo();
      }
    }));
}

/** Conformance: the in-cluster answers (issue 12) — their own rows, sequence, changes after a seq, feed, fences. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterAnswer } from '@fedns/model';
import type { StoreChange } from '../../src/types.js';
import { FencedError } from '../../src/types.js';
import { type ConformanceOptions, type Opener, uniq, waitFor, withStores } from './helpers.js';

export function answerTests(open: Opener, opts: ConformanceOptions): void {
  const bound = opts.feedBoundMs ?? 3000;

  test('commit, snapshot, per service, and the changes after a sequence (deletions included)', () =>
    withStores(open, 2, async (a, b) => {
      const ns = uniq('ns');
      const local: ClusterAnswer = { cluster: 'c1', namespace: ns, service: 'web', ttl: 5, addresses: ['10.96.0.20', 'fd00::20'] };
      const away: ClusterAnswer = { cluster: 'c2', namespace: ns, service: 'web', ttl: 5, target: 'web.x.myfed.svc.zone-b.r1.example.com.' };
      const nodata: ClusterAnswer = { cluster: 'c1', namespace: ns, service: 'hl', ttl: 7 };
      const before = (await a.clusterAnswersSnapshot()).seq;
      assert.equal(await a.commitClusterAnswers({ upserts: [], deletes: [] }), undefined, 'an empty diff commits nothing');
      const s1 = await a.commitClusterAnswers({ upserts: [local, away, nodata], deletes: [] });
      assert.equal(s1, before + 1);
      const snap = await b.clusterAnswersSnapshot();
      assert.equal(snap.seq, s1);
      assert.deepEqual(snap.answers.filter((x) => x.namespace === ns), [nodata, local, away]);
      assert.deepEqual(await b.clusterAnswersOfService(ns, 'web'), [local, away]);
      const changed = { ...away, target: undefined, addresses: ['10.96.0.30'] };
      delete changed.target;
      const s2 = await a.commitClusterAnswers({ upserts: [changed], deletes: [{ cluster: 'c1', namespace: ns, service: 'hl' }] });
      assert.equal(s2, (s1 as number) + 1);
      const since = await b.clusterAnswersSince(s1 as number);
      assert.notEqual(since, 'compacted');
      if (since === 'compacted') return;
      assert.equal(since.seq, s2);
      assert.deepEqual(since.upserts, [changed]);
      assert.deepEqual(since.deletes, [{ cluster: 'c1', namespace: ns, service: 'hl' }]);
      const all = await b.clusterAnswersSince(before);
      assert.ok(all !== 'compacted' && all.upserts.some((x) => x.cluster === 'c1' && x.service === 'web' && x.namespace === ns));
      assert.deepEqual(await b.clusterAnswersSince(s2 as number), { seq: s2, upserts: [], deletes: [] });
      assert.equal(await b.clusterAnswersSince((s2 as number) + 5), 'compacted', 'a position past the head is another history');
      assert.deepEqual(await b.clusterAnswersOfService(ns, 'hl'), []);
      // Deleting what is not there changes nothing but the sequence.
      const s3 = await a.commitClusterAnswers({ upserts: [], deletes: [{ cluster: 'c9', namespace: ns, service: 'web' }] });
      const nothing = await b.clusterAnswersSince(s2 as number);
      assert.deepEqual(nothing, { seq: s3, upserts: [], deletes: [] });
    }));

  test('the zone knows nothing of them: its snapshot, journal and serial do not move', () =>
    withStores(open, 1, async (a) => {
      const zone = await a.zoneSnapshot();
      await a.commitClusterAnswers({ upserts: [{ cluster: 'c1', namespace: uniq('ns'), service: 'web', ttl: 5, addresses: ['10.96.1.1'] }], deletes: [] });
      const after = await a.zoneSnapshot();
      assert.equal(after.soaSerial, zone.soaSerial);
      assert.equal(after.seq, zone.seq);
      assert.ok(!JSON.stringify(after.recordSets).includes('10.96.1.1'));
      assert.deepEqual(await a.zoneChangesSince(zone.seq), []);
    }));

  test(`watch: another store's commit of answers arrives within ${bound} ms`, () =>
    withStores(open, 2, async (watcher, writer) => {
      const seen: StoreChange[] = [];
      const stop = watcher.watch((c) => seen.push(c));
      try {
        const seq = await writer.commitClusterAnswers({ upserts: [{ cluster: 'c1', namespace: uniq('ns'), service: 'web', ttl: 5, addresses: ['10.96.2.2'] }], deletes: [] });
        await waitFor(() => seen.some((c) => c.what === 'clusterAnswers' && c.seq >= (seq as number)), bound, `clusterAnswers seq ${seq}`);
      } finally {
        stop();
      }
    }));

  test('a commit carrying a stale fence is refused', { skip: opts.fencing ? false : 'no leader election on this engine' }, () =>
    withStores(open, 1, async (a) => {
      const lease = uniq('lease');
      const held = await a.acquireLease(lease, 'me', 60_000);
      assert.ok(held);
      await a.releaseLease(lease, 'me');
      await a.acquireLease(lease, 'other', 60_000);
      const ns = uniq('ns');
      await assert.rejects(a.commitClusterAnswers({ upserts: [{ cluster: 'c1', namespace: ns, service: 'web', ttl: 5 }], deletes: [] }, { lease, holder: 'me', epoch: held.epoch }), FencedError);
      assert.deepEqual(await a.clusterAnswersOfService(ns, 'web'), []);
    }));
}

/** Conformance: traffic policy (issue 14) — record set policies, and each prober's verdicts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordPolicy } from '@fedns/model';
import type { ProbeVerdict } from '../../src/types.js';
import { type Opener, rrset, sleep, sorted, uniq, withStores } from './helpers.js';

const policy = (weights: [string, number][]): RecordPolicy => ({
  routing: 'nearest',
  weighted: true,
  variants: weights.map(([cluster, weight], i) => ({ cluster, region: i % 2 ? 'us-east1' : 'asia-east1', location: { latitude: 24.07, longitude: 120.54 }, weight, data: [`192.0.2.${i + 1}`] })),
});

const verdict = (service: string, cluster: string, ok: boolean, extra: Partial<ProbeVerdict> = {}): ProbeVerdict => ({
  cluster,
  namespace: 'conformance',
  service,
  target: 'tcp:443',
  addresses: ['192.0.2.1'],
  ok,
  since: '2026-01-01T00:00:00.000Z',
  message: ok ? 'connected' : 'ECONNREFUSED',
  ...extra,
});

export function trafficTests(open: Opener): void {
  test('a record set policy round trips: sets, snapshot, journal (old and new), history, bulk load', () =>
    withStores(open, 2, async (s, other) => {
      const svc = uniq('svc');
      const name = `${svc}.example.com.`;
      const a1 = rrset(svc, name, ['192.0.2.1', '192.0.2.2'], { policy: policy([['c1', 1], ['c2', 3]]) });
      const e1 = await s.commitZone({ upserts: [a1], deletes: [] }, 'weighted');
      assert.deepEqual(e1?.added, [a1]);
      assert.deepEqual(await other.recordSetsOfService('conformance', svc), [a1]);
      assert.deepEqual((await other.listRecordSets()).filter((r) => r.service === svc), [a1]);
      assert.deepEqual((await other.zoneSnapshot()).recordSets.filter((r) => r.service === svc), [a1]);
      // A change of policy alone (same data) is a change: the journal keeps the old policy in `deleted`.
      const a2 = { ...a1, policy: policy([['c1', 1], ['c2', 1]]) };
      const e2 = await s.commitZone({ upserts: [a2], deletes: [] }, 'reweighted');
      assert.deepEqual(e2?.deleted, [a1]);
      assert.deepEqual(e2?.added, [a2]);
      assert.deepEqual(await other.zoneChangesSince((e1?.seq ?? 1) - 1), [e1, e2]);
      assert.deepEqual((await other.historyOf('conformance', svc))[0], e2);
      // No policy: absent, not null.
      const a3 = { ...a1 };
      delete a3.policy;
      await s.commitZone({ upserts: [a3], deletes: [] }, 'plain');
      const [back] = await other.recordSetsOfService('conformance', svc);
      assert.equal(back && 'policy' in back, false);
      const bulk = uniq('bulk');
      const b = rrset(bulk, `${bulk}.example.com.`, ['192.0.2.9', '192.0.2.10'], { policy: policy([['c9', 2], ['c10', 5]]) });
      const head = await s.zoneSnapshot();
      await s.load({ zone: { soaSerial: head.soaSerial, seq: head.seq, recordSets: sorted([...head.recordSets, b]), journal: [] } });
      assert.deepEqual(await other.recordSetsOfService('conformance', bulk), [b]);
    }));

  test('probe verdicts: each prober its own rows, read back with how fresh the prober is, by the store clock', () =>
    withStores(open, 2, async (a, b) => {
      const svc = uniq('probed');
      const [pa, pb] = [uniq('prober-a'), uniq('prober-b')];
      const rev0 = await a.probeRevision();
      await a.recordProbes(pa, [verdict(svc, 'c1', true), verdict(svc, 'c2', false, { addresses: ['2001:db8::1', '192.0.2.7'] })], []);
      await b.recordProbes(pb, [verdict(svc, 'c1', false)], []);
      const rev1 = await b.probeRevision();
      assert.ok(rev1 > rev0, 'a put moves the revision');
      const got = await b.probeVerdicts('conformance', svc);
      const c1Rows: [string, string, boolean, string, string[], string][] = [
        ['c1', pa, true, 'tcp:443', ['192.0.2.1'], 'connected'],
        ['c1', pb, false, 'tcp:443', ['192.0.2.1'], 'ECONNREFUSED'],
      ];
      c1Rows.sort((x, y) => (x[1] < y[1] ? -1 : 1));
      assert.deepEqual(
        got.map((v) => [v.cluster, v.prober, v.ok, v.target, v.addresses, v.message]),
        [...c1Rows, ['c2', pa, false, 'tcp:443', ['2001:db8::1', '192.0.2.7'], 'ECONNREFUSED']],
        'ordered by service, cluster, prober; addresses kept as given',
      );
      for (const v of got) {
        assert.equal(v.since, '2026-01-01T00:00:00.000Z');
        assert.ok(v.proberAgeMs >= 0 && v.proberAgeMs < 5000, `age ${v.proberAgeMs}`);
      }
      assert.ok((await a.probeVerdicts()).filter((v) => v.service === svc).length === 3, 'all services when none is named');
      // A put replaces the prober's row for that shard; the other prober's row stays.
      await a.recordProbes(pa, [verdict(svc, 'c1', false, { since: '2026-01-02T00:00:00.000Z', message: 'timeout' })], []);
      const c1 = (await b.probeVerdicts('conformance', svc)).filter((v) => v.cluster === 'c1');
      assert.deepEqual(c1.map((v) => [v.prober, v.ok, v.message]).sort(), [[pa, false, 'timeout'], [pb, false, 'ECONNREFUSED']].sort());
      // A heartbeat (nothing put or removed) refreshes the prober and leaves the revision alone.
      await sleep(120);
      const before = (await b.probeVerdicts('conformance', svc)).find((v) => v.prober === pa)?.proberAgeMs ?? 0;
      assert.ok(before >= 100, `the prober ages by the store's clock (${before} ms)`);
      const rev2 = await a.probeRevision();
      const t0 = Date.now();
      await a.recordProbes(pa, [], []);
      assert.equal(await b.probeRevision(), rev2);
      const after = (await b.probeVerdicts('conformance', svc)).find((v) => v.prober === pa)?.proberAgeMs ?? 9999;
      // The heartbeat came after t0: its age is at most the time since (a busy machine may stall us anywhere).
      assert.ok(after <= Date.now() - t0 + 50, `a heartbeat makes it fresh again (${after} ms, ${Date.now() - t0} ms since it was sent)`);
      // Removing a verdict moves the revision.
      await a.recordProbes(pa, [], [{ cluster: 'c2', namespace: 'conformance', service: svc }]);
      assert.ok((await b.probeRevision()) > rev2);
      assert.deepEqual((await b.probeVerdicts('conformance', svc)).map((v) => [v.cluster, v.prober]).sort(), [['c1', pa], ['c1', pb]].sort());
    }));

  test('forgetProbers removes probers not heard from, with their verdicts', () =>
    withStores(open, 2, async (a, b) => {
      const svc = uniq('forget');
      const [old, live] = [uniq('gone'), uniq('live')];
      await a.recordProbes(old, [verdict(svc, 'c1', false)], []);
      await sleep(300);
      await b.recordProbes(live, [verdict(svc, 'c1', true)], []);
      const rev = await a.probeRevision();
      const gone = await a.forgetProbers(200);
      assert.ok(gone.includes(old), `${old} forgotten (${gone.join(', ')})`);
      assert.ok(!gone.includes(live));
      assert.ok((await a.probeRevision()) > rev);
      assert.deepEqual((await b.probeVerdicts('conformance', svc)).map((v) => v.prober), [live]);
      // It comes back when it records again.
      await a.recordProbes(old, [verdict(svc, 'c1', false)], []);
      assert.deepEqual((await b.probeVerdicts('conformance', svc)).map((v) => v.prober).sort(), [old, live].sort());
    }));
}

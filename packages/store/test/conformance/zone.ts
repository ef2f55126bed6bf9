/** Conformance: the zone — record sets, SOA serial, journal, IXFR, history, pruning, served serials. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextSerial, type RecordSet } from '@fedns/model';
import type { Store } from '../../src/types.js';
import { type Opener, rrset, sorted, uniq, withStores } from './helpers.js';

const SERVER = 'conformance-nameserver';
const TOP = 2 ** 32 - 1;

/** One commit of `upserts`; fails the test when nothing was committed. */
async function commit(s: Store, upserts: RecordSet[], deletes: RecordSet[] = [], cause = 'conformance') {
  const e = await s.commitZone({ upserts, deletes }, cause);
  assert.ok(e, 'a non-empty diff commits');
  return e;
}

export function zoneTests(open: Opener): void {
  test('an empty diff commits nothing', () =>
    withStores(open, 1, async (s) => {
      const before = await s.zoneSnapshot();
      assert.equal(await s.commitZone({ upserts: [], deletes: [] }, 'nothing'), undefined);
      const after = await s.zoneSnapshot();
      assert.deepEqual([after.soaSerial, after.seq], [before.soaSerial, before.seq]);
    }));

  test('commitZone applies the diff, bumps the serial once (RFC 1982) and journals it', () =>
    withStores(open, 2, async (s, other) => {
      const svc = uniq('svc');
      const snap0 = await s.zoneSnapshot();
      const a = rrset(svc, `${svc}.example.com.`, ['192.0.2.1', '192.0.2.2']);
      const b = rrset(svc, `${svc}.us-east1.example.com.`, ['2001:db8::1'], { type: 'AAAA', level: 'region', region: 'us-east1' });
      const e = await commit(s, [a, b], [], 'created');
      assert.deepEqual([e.seq, e.prevSoaSerial, e.soaSerial, e.cause], [snap0.seq + 1, snap0.soaSerial, nextSerial(snap0.soaSerial), 'created']);
      assert.deepEqual(e.deleted, []);
      assert.deepEqual(sorted(e.added), sorted([a, b]));
      const snap1 = await other.zoneSnapshot();
      assert.deepEqual([snap1.soaSerial, snap1.seq], [e.soaSerial, e.seq]);
      assert.deepEqual(sorted(snap1.recordSets.filter((r) => r.service === svc)), sorted([a, b]));
      assert.deepEqual(await other.zoneChangesSince(snap0.seq), [e]);
    }));

  test('the journal holds the stored old content of every RRset replaced or deleted', () =>
    withStores(open, 1, async (s) => {
      const svc = uniq('svc');
      const [a1, b1] = [rrset(svc, `a.${svc}.example.com.`, ['192.0.2.1']), rrset(svc, `b.${svc}.example.com.`, ['192.0.2.2'])];
      await commit(s, [a1, b1]);
      const a2 = { ...a1, data: ['192.0.2.9'], ttl: 60 };
      // The caller's idea of b is stale: the journal records what was stored, so IXFR deletes exactly it.
      const staleB = { ...b1, data: ['198.51.100.1'] };
      const absent = rrset(svc, `gone.${svc}.example.com.`, ['192.0.2.3']);
      const e = await commit(s, [a2], [staleB, absent]);
      assert.deepEqual(sorted(e.deleted), sorted([a1, b1]));
      assert.deepEqual(e.added, [a2]);
      assert.deepEqual(await s.recordSetsOfService('conformance', svc), [a2]);
    }));

  test('record sets by service and in full, sorted by name and type; optional fields round trip', () =>
    withStores(open, 1, async (s) => {
      const svc = uniq('svc');
      const sets = [
        rrset(svc, `${svc}.example.com.`, ['2001:db8::2'], { type: 'AAAA' }),
        rrset(svc, `${svc}.example.com.`, ['192.0.2.7']),
        rrset(svc, `${svc}.b-zone.region.example.com.`, [`${svc}.region.example.com.`], { type: 'CNAME', level: 'zone', region: 'region', zone: 'b-zone' }),
        rrset(svc, `${svc}.a-zone.region.example.com.`, ['192.0.2.8'], { level: 'zone', region: 'region', zone: 'a-zone' }),
        rrset(svc, `${svc}.txt.example.com.`, ['v=1; "quoted" \\ back'], { type: 'TXT' }),
      ];
      await commit(s, sets);
      const mine = await s.recordSetsOfService('conformance', svc);
      assert.deepEqual(mine, sorted(sets));
      assert.ok(!('region' in (mine.find((r) => r.level === 'global') ?? {})), 'an absent region stays absent');
      assert.deepEqual((await s.listRecordSets()).filter((r) => r.service === svc), sorted(sets));
    }));

  test('journalFromSoa: from a serial to the head for IXFR; [] when current; undefined when unknown', () =>
    withStores(open, 1, async (s) => {
      const svc = uniq('svc');
      const e1 = await commit(s, [rrset(svc, `${svc}.example.com.`, ['192.0.2.1'])]);
      const e2 = await commit(s, [rrset(svc, `${svc}.example.com.`, ['192.0.2.2'])]);
      const e3 = await commit(s, [], [rrset(svc, `${svc}.example.com.`, [])]);
      assert.deepEqual(await s.journalFromSoa(e1.prevSoaSerial), [e1, e2, e3]);
      assert.deepEqual(await s.journalFromSoa(e2.prevSoaSerial), [e2, e3]);
      assert.deepEqual(await s.journalFromSoa(e3.soaSerial), []);
      assert.equal(await s.journalFromSoa(nextSerial(e3.soaSerial + 1000)), undefined);
    }));

  test('historyOf: the commits that touched a service, newest first', () =>
    withStores(open, 1, async (s) => {
      const [x, y] = [uniq('x'), uniq('y')];
      const e1 = await commit(s, [rrset(x, `${x}.example.com.`, ['192.0.2.1'])]);
      await commit(s, [rrset(y, `${y}.example.com.`, ['192.0.2.2'])]);
      const e3 = await commit(s, [rrset(y, `${y}.example.com.`, ['192.0.2.3'])], [rrset(x, `${x}.example.com.`, [])]);
      assert.deepEqual((await s.historyOf('conformance', x)).map((e) => e.seq), [e3.seq, e1.seq], 'a delete counts');
      assert.deepEqual(await s.historyOf('conformance', x, 1), [e3]);
      assert.deepEqual(await s.historyOf('conformance', uniq('none')), []);
    }));

  test('one commit of 5,000 RRsets is one transaction, and so is deleting them', () =>
    withStores(open, 1, async (s) => {
      const svc = uniq('bulk');
      const sets = Array.from({ length: 5000 }, (_, i) => rrset(svc, `r${i}.${svc}.example.com.`, [`10.${(i >> 8) & 255}.${i & 255}.1`]));
      const before = await s.zoneSnapshot();
      const e = await commit(s, sets);
      assert.equal(e.seq, before.seq + 1);
      assert.equal(e.added.length, 5000);
      assert.equal((await s.recordSetsOfService('conformance', svc)).length, 5000);
      const d = await commit(s, [], sets);
      assert.equal(d.deleted.length, 5000);
      assert.deepEqual(await s.recordSetsOfService('conformance', svc), []);
      assert.equal((await s.zoneChangesSince(before.seq))?.length, 2);
    }));

  test('a commit goes above every serial a nameserver reported serving', () =>
    withStores(open, 2, async (s, ns) => {
      const svc = uniq('svc');
      const snap = await s.zoneSnapshot();
      const served = (snap.soaSerial + 1000) % 2 ** 32;
      await ns.recordServedSerial(SERVER, served);
      const e = await commit(s, [rrset(svc, `${svc}.example.com.`, ['192.0.2.1'])]);
      assert.equal(e.prevSoaSerial, snap.soaSerial);
      assert.equal(e.soaSerial, nextSerial(served));
      assert.equal(await s.journalFromSoa(served), undefined, 'a serial that was never committed here has no journal');
      const next = await commit(s, [rrset(svc, `${svc}.example.com.`, ['192.0.2.2'])]);
      assert.equal(next.soaSerial, nextSerial(e.soaSerial));
    }));

  test('the serial wraps from 2^32 - 1 to 0 (RFC 1982), and IXFR crosses the wrap', () =>
    withStores(open, 1, async (s) => {
      const svc = uniq('wrap');
      const name = `${svc}.example.com.`;
      let n = 0;
      // Drive the serial to 2^32 - 1 through served serials, in steps of at most 2^30 (each one newer than the last, RFC 1982).
      for (let cur = (await s.zoneSnapshot()).soaSerial; cur !== TOP; cur = (await s.zoneSnapshot()).soaSerial) {
        const d = (TOP - 1 - cur + 2 ** 32) % 2 ** 32;
        if (d !== 0) await s.recordServedSerial(SERVER, d <= 2 ** 30 ? TOP - 1 : (cur + 2 ** 30) % 2 ** 32);
        await commit(s, [rrset(svc, name, [`192.0.2.${++n}`])]);
        assert.ok(n < 8, 'reached 2^32 - 1 in a few commits');
      }
      const w0 = await commit(s, [rrset(svc, name, ['198.51.100.1'])]);
      const w1 = await commit(s, [rrset(svc, name, ['198.51.100.2'])]);
      assert.deepEqual([w0.prevSoaSerial, w0.soaSerial, w1.soaSerial], [TOP, 0, 1]);
      assert.deepEqual(await s.journalFromSoa(TOP), [w0, w1]);
      assert.deepEqual(await s.journalFromSoa(0), [w1]);
    }));

  test('a position beyond the head (a store that lost commits in a failover, a restored backup) means relist or reload', () =>
    withStores(open, 1, async (s) => {
      // A follower that saw rv/seq N must not wait for "N + 1" of another history: 'compacted' makes a
      // watch answer 410 and relist; undefined makes a nameserver reload the zone in full.
      assert.equal(await s.objectChangesSince((await s.revision()) + 10), 'compacted');
      assert.equal(await s.zoneChangesSince((await s.zoneSnapshot()).seq + 5), undefined);
    }));

  test('zoneChangesSince and pruneJournal: undefined once the journal no longer reaches back', () =>
    withStores(open, 1, async (s) => {
      const svc = uniq('svc');
      const e1 = await commit(s, [rrset(svc, `${svc}.example.com.`, ['192.0.2.1'])]);
      const e2 = await commit(s, [rrset(svc, `${svc}.example.com.`, ['192.0.2.2'])]);
      const e3 = await commit(s, [rrset(svc, `${svc}.example.com.`, ['192.0.2.3'])]);
      assert.deepEqual(await s.zoneChangesSince(e1.seq - 1), [e1, e2, e3]);
      assert.deepEqual(await s.zoneChangesSince(e3.seq), []);
      await s.pruneJournal(1);
      assert.equal(await s.zoneChangesSince(e1.seq - 1), undefined);
      assert.equal(await s.zoneChangesSince(e1.seq), undefined);
      assert.deepEqual(await s.zoneChangesSince(e2.seq), [e3]);
      assert.equal(await s.journalFromSoa(e1.prevSoaSerial), undefined);
      assert.deepEqual(await s.journalFromSoa(e3.prevSoaSerial), [e3]);
      assert.deepEqual((await s.zoneSnapshot()).recordSets.filter((r) => r.service === svc).map((r) => r.data), [['192.0.2.3']], 'pruning keeps the zone');
    }));
}

/** Conformance: DNSSEC keys (sealed at rest), the signing state, and the zone commit's serial hook (issue 15). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { RecordSet } from '@fedns/model';
import type { StoredDnssecKey } from '../../src/types.js';
import { type ConformanceOptions, type Opener, rrset, sorted, uniq, withStores } from './helpers.js';

export function dnssecTests(open: Opener, opts: ConformanceOptions): void {
  test('DNSSEC keys: put, list (private key opened), replace, delete; never in clear at rest', () =>
    withStores(open, 2, async (s, other) => {
      const zone = `${uniq('zone')}.example.`;
      const secret = randomBytes(48);
      const k: StoredDnssecKey = { id: uniq('key'), flags: 257, algorithm: 13, privateKey: secret, state: 'published', created: '2026-01-01T00:00:00.000Z' };
      await s.putDnssecKey(zone, k);
      assert.deepEqual(await other.dnssecKeys(zone), [k]);
      const k2 = { ...k, id: uniq('key'), created: '2026-01-02T00:00:00.000Z', privateKey: randomBytes(48) };
      await s.putDnssecKey(zone, k2);
      await s.putDnssecKey(zone, { ...k, state: 'active' });
      assert.deepEqual(await other.dnssecKeys(zone), [{ ...k, state: 'active' }, k2], 'oldest first, replaced by id');
      assert.deepEqual(await other.dnssecKeys(`other-${zone}`), []);
      if (opts.rawContents) {
        const raw = await opts.rawContents();
        assert.ok(raw.includes(k.id), 'the raw contents are the real thing');
        assert.ok(!raw.includes(secret) && !raw.includes(secret.toString('base64')) && !raw.includes(secret.toString('hex')), 'private keys never in clear at rest');
      }
      await s.deleteDnssecKey(zone, k.id);
      assert.deepEqual((await other.dnssecKeys(zone)).map((x) => x.id), [k2.id]);
    }));

  test('the DNSSEC state round-trips as JSON, per zone', () =>
    withStores(open, 2, async (s, other) => {
      const zone = `${uniq('zone')}.example.`;
      assert.equal(await other.dnssecState(zone), undefined);
      const st = { signed: true, rollover: { phase: 'published', newKey: 'b', oldKey: 'a', published: 1700000000 } };
      await s.putDnssecState(zone, st);
      assert.deepEqual(await other.dnssecState(zone), st);
      await s.putDnssecState(zone, { signed: false });
      assert.deepEqual(await other.dnssecState(zone), { signed: false });
    }));

  test('commitZone calls the serial hook with the new serial; its sets replace the diff’s and are journaled', () =>
    withStores(open, 2, async (s, other) => {
      const svc = uniq('svc');
      const a = rrset(svc, `${svc}.example.com.`, ['192.0.2.1']);
      const sig = (serial: number): RecordSet => ({ name: `${svc}.example.com.`, type: 'RRSIG', ttl: 30, data: [`A 13 3 30 20260101000000 20251201000000 1 example.com. c2VyaWFs${serial}`], level: 'global', namespace: '', service: '' });
      const seen: number[] = [];
      const placeholder = { ...sig(0), data: ['placeholder'] };
      const e = await s.commitZone({ upserts: [a, placeholder], deletes: [] }, 'signed', undefined, (serial) => {
        seen.push(serial);
        return [sig(serial)];
      });
      assert.ok(e);
      assert.deepEqual(seen, [e.soaSerial]);
      assert.deepEqual(sorted(e.added), sorted([a, sig(e.soaSerial)]));
      const stored = (await other.zoneSnapshot()).recordSets.filter((r) => r.name === `${svc}.example.com.`);
      assert.deepEqual(sorted(stored), sorted([a, sig(e.soaSerial)]));
      assert.deepEqual(await other.recordSetsOfService('conformance', svc), [a], 'the zone’s own sets belong to no service');
      assert.deepEqual((await other.historyOf('', '')).length, 0, 'nor to the history index');
    }));

  test('a throwing serial hook rolls the whole commit back', () =>
    withStores(open, 1, async (s) => {
      const svc = uniq('svc');
      const before = await s.zoneSnapshot();
      await assert.rejects(
        s.commitZone({ upserts: [rrset(svc, `${svc}.example.com.`, ['192.0.2.1'])], deletes: [] }, 'fails', undefined, () => {
          throw new Error('signer failed');
        }),
        /signer failed/,
      );
      const after = await s.zoneSnapshot();
      assert.deepEqual([after.soaSerial, after.seq], [before.soaSerial, before.seq]);
      assert.deepEqual(await s.recordSetsOfService('conformance', svc), []);
    }));
}

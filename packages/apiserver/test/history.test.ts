/**
 * The history timeline's order (pure): newest first, and events of the same
 * millisecond in a consistent order — the comparator once answered "a first"
 * for any two zone changes of the same instant, so two commits in one
 * millisecond came out oldest first (a rare failure of console.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JournalEntry, ObjectChange } from '@fedns/store';
import { serviceHistory } from '../src/history.js';

const entry = (seq: number, at: string, cause: string): JournalEntry => ({ seq, soaSerial: 1000 + seq, prevSoaSerial: 999 + seq, at, cause, deleted: [], added: [] });
const change = (rv: number, at: string, type: ObjectChange['type']): ObjectChange => ({ rv, at, type, kind: 'services', namespace: 'prod', name: 'web', actor: 'alice', object: { metadata: { name: 'web' }, spec: { rv } } });

describe('serviceHistory order', () => {
  it('two commits of the same millisecond stay newest first, for any number of them', () => {
    const at = '2026-12-01T09:00:00.123Z';
    for (const n of [2, 3, 11, 40]) {
      const journal = Array.from({ length: n }, (_, i) => entry(n - i, at, `commit ${n - i}`)); // newest first, as the store reads it
      const h = serviceHistory('prod', 'web', journal, [], 100);
      assert.deepEqual(
        h.items.map((e) => (e.kind === 'ZoneChange' ? e.serial : -1)),
        journal.map((e) => e.soaSerial),
        `${n} commits in one millisecond`,
      );
    }
  });

  it('mixed: newer times first; at one instant the zone change before the object change that caused it', () => {
    const journal = [entry(3, '2026-12-01T09:00:02.000Z', 'c3'), entry(2, '2026-12-01T09:00:01.000Z', 'c2 by alice'), entry(1, '2026-12-01T09:00:00.000Z', 'c1')];
    const log = [change(12, '2026-12-01T09:00:01.000Z', 'MODIFIED'), change(11, '2026-12-01T09:00:01.000Z', 'MODIFIED'), change(10, '2026-12-01T08:59:59.000Z', 'ADDED')];
    const h = serviceHistory('prod', 'web', journal, log, 100);
    assert.deepEqual(
      h.items.map((e) => (e.kind === 'ZoneChange' ? `z${e.serial - 1000}` : `o${e.resourceVersion}`)),
      ['z3', 'z2', 'o12', 'o11', 'z1', 'o10'],
    );
    assert.deepEqual(serviceHistory('prod', 'web', journal, log, 2).items.length, 2);
  });
});

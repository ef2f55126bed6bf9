import type { RecordPolicy, RecordSet, RecordSetDiff, RecordVariant } from '@fedns/model';
import { compareRecordSets, recordSetKey } from './order.js';

function byKey(sets: readonly RecordSet[]): Map<string, RecordSet> {
  const map = new Map<string, RecordSet>();
  for (const rs of sets) map.set(recordSetKey(rs), rs);
  return map;
}

/** Same published content: ttl, data (kept sorted by the builder, so order counts) and traffic policy. */
function sameContent(a: RecordSet, b: RecordSet): boolean {
  if (a.ttl !== b.ttl || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  if (a.policy === undefined || b.policy === undefined) return a.policy === b.policy;
  return samePolicy(a.policy, b.policy);
}

function samePolicy(a: RecordPolicy, b: RecordPolicy): boolean {
  if (a.routing !== b.routing || Boolean(a.weighted) !== Boolean(b.weighted) || a.variants.length !== b.variants.length) return false;
  return a.variants.every((v, i) => {
    const w = b.variants[i] as RecordVariant;
    return (
      v.cluster === w.cluster &&
      v.region === w.region &&
      v.weight === w.weight &&
      v.location?.latitude === w.location?.latitude &&
      v.location?.longitude === w.location?.longitude &&
      v.data.length === w.data.length &&
      v.data.every((d, j) => d === w.data[j])
    );
  });
}

/**
 * The minimal change from `current` to `desired`, keyed by (name, type):
 * new or changed RRsets in `upserts` (new content), vanished ones in `deletes`
 * (old content). Unchanged RRsets appear in neither. Both lists are sorted.
 */
export function diffRecordSets(current: readonly RecordSet[], desired: readonly RecordSet[]): RecordSetDiff {
  const before = byKey(current);
  const after = byKey(desired);
  const upserts: RecordSet[] = [];
  const deletes: RecordSet[] = [];
  for (const [key, rs] of after) {
    const old = before.get(key);
    if (!old || !sameContent(old, rs)) upserts.push(rs);
  }
  for (const [key, rs] of before) if (!after.has(key)) deletes.push(rs);
  return { upserts: upserts.sort(compareRecordSets), deletes: deletes.sort(compareRecordSets) };
}

/** `current` with a diff applied (what a store or a secondary ends up holding), sorted. */
export function applyRecordSetDiff(current: readonly RecordSet[], diff: RecordSetDiff): RecordSet[] {
  const state = byKey(current);
  for (const rs of diff.deletes) state.delete(recordSetKey(rs));
  for (const rs of diff.upserts) state.set(recordSetKey(rs), rs);
  return [...state.values()].sort(compareRecordSets);
}

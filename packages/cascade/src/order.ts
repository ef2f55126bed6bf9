import type { RecordSet } from '@fedns/model';

/** Code-unit order, not locale order: the same on every machine and fast. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The order every output of this package is in: by name, then type. */
export function compareRecordSets(a: RecordSet, b: RecordSet): number {
  return compareStrings(a.name, b.name) || compareStrings(a.type, b.type);
}

/** The identity of an RRset within the zone: (name, type), name compared case-insensitively. */
export function recordSetKey(rs: Pick<RecordSet, 'name' | 'type'>): string {
  return `${rs.name.toLowerCase()}\u0000${rs.type}`;
}

/**
 * `GET /api/v1/namespaces/NS/services/NAME/history`: a service's timeline, newest
 * first — every zone commit that touched its records (serial, cause, the users
 * the cause names, the record changes) and every change of the Service object
 * by a user (the object log; the controller's own status writes left out).
 * Pure: the caller reads the journal (`historyOf`) and the object log
 * (`objectHistory`).
 */
import type { ObjectEvent, RecordChange, RecordSet, ServiceHistory, ZoneEvent } from '@fedns/model';
import { CONTROLLER_ACTOR, type JournalEntry, type ObjectChange } from '@fedns/store';
import { FEDERATION_GROUP } from './recordsets.js';

export type { HistoryEvent, ObjectEvent, RecordChange, ServiceHistory, ZoneEvent } from '@fedns/model';

/** The users a journal cause names: each `… by USER` clause (causes are joined with `; `). */
export function usersOfCause(cause: string): string[] {
  const users = new Set<string>();
  for (const m of cause.matchAll(/ by ([^\s;,()]+)/g)) users.add(m[1] as string);
  return [...users];
}

/** The record changes of one journal entry that belong to a service. */
export function recordChanges(e: JournalEntry, namespace: string, name: string): RecordChange[] {
  const mine = (r: RecordSet) => r.namespace === namespace && r.service === name;
  const key = (r: RecordSet) => `${r.name}/${r.type}`;
  const before = new Map(e.deleted.filter(mine).map((r) => [key(r), r]));
  const out: RecordChange[] = [];
  for (const r of e.added.filter(mine)) {
    const old = before.get(key(r));
    before.delete(key(r));
    out.push(old ? { op: 'replace', name: r.name, type: r.type, data: r.data, ttl: r.ttl, oldData: old.data, oldTtl: old.ttl } : { op: 'add', name: r.name, type: r.type, data: r.data, ttl: r.ttl });
  }
  for (const r of before.values()) out.push({ op: 'remove', name: r.name, type: r.type, data: r.data, ttl: r.ttl });
  return out;
}

type Meta = { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: unknown };
const json = (v: unknown) => JSON.stringify(v ?? null);

/** One change of the Service object in words: created, deleted, or which parts a user changed. */
export function describeObjectChange(c: ObjectChange, before: ObjectChange | undefined): string {
  if (c.type === 'ADDED') return `service created by ${c.actor}`;
  if (c.type === 'DELETED') return `service deleted by ${c.actor}`;
  const now = c.object as Meta;
  const was = before?.object as Meta | undefined;
  if (!was) return `service updated by ${c.actor}`;
  const parts: string[] = [];
  if (json(was.spec) !== json(now.spec)) parts.push('spec');
  for (const field of ['labels', 'annotations'] as const) {
    const a = was.metadata?.[field] ?? {};
    const b = now.metadata?.[field] ?? {};
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k] && k !== 'kubectl.kubernetes.io/last-applied-configuration' && !k.startsWith('federation.fedns.io/shards'));
    if (keys.length) parts.push(`${field} ${keys.join(', ')}`);
  }
  return `service ${parts.length ? `${parts.join('; ')} changed` : 'updated'} by ${c.actor}`;
}

/**
 * Newest first, and consistent for events of the same millisecond: two of a kind keep the order they came in (the
 * journal and the object log are read newest first; the sort is stable), and a zone change comes before (is newer
 * than) an object change of the same instant, which caused it.
 */
function newestFirst(a: ZoneEvent | ObjectEvent, b: ZoneEvent | ObjectEvent): number {
  if (a.time !== b.time) return a.time < b.time ? 1 : -1;
  if (a.kind === b.kind) return 0;
  return a.kind === 'ZoneChange' ? -1 : 1;
}

/** The timeline, newest first, at most `limit` events. */
export function serviceHistory(namespace: string, name: string, journal: JournalEntry[], objectLog: ObjectChange[], limit: number): ServiceHistory {
  const zone: ZoneEvent[] = journal.map((e) => ({ kind: 'ZoneChange', time: e.at, serial: e.soaSerial, cause: e.cause, users: usersOfCause(e.cause), changes: recordChanges(e, namespace, name) }));
  // The log comes newest first: an entry's predecessor is the next one (status writes included, so diffs stay exact).
  const objects: ObjectEvent[] = [];
  objectLog.forEach((c, i) => {
    if (c.actor === CONTROLLER_ACTOR) return;
    objects.push({ kind: 'ObjectChange', time: c.at, resourceVersion: String(c.rv), type: c.type, user: c.actor, cause: describeObjectChange(c, objectLog[i + 1]) });
  });
  const items = [...zone, ...objects].sort(newestFirst).slice(0, limit);
  return { apiVersion: `${FEDERATION_GROUP}/v1`, kind: 'ServiceHistory', metadata: { name, namespace }, items };
}

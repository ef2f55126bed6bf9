/** Rows as both engines read them, and their mapping to the interface's types. */
import type { ClusterAnswer, LocalShard, RecordPolicy, RecordSet } from '@fedns/model';
import { compareSerial, nextSerial } from '@fedns/model';
import type { JournalEntry, StoredProbeVerdict, StoredShard } from './types.js';

export interface RecordRow {
  name: string;
  type: string;
  ttl: number;
  data: string;
  level: string;
  namespace: string;
  service: string;
  region: string | null;
  zone: string | null;
  /** JSON RecordPolicy (issue 14), or null. */
  policy?: string | unknown | null;
}

export interface JournalRow {
  seq: number;
  soa_serial: number;
  prev_soa: number;
  at: string;
  cause: string;
  deleted: string;
  added: string;
  epoch?: number | string | null;
}

export interface ShardRow {
  cluster: string;
  namespace: string;
  service: string;
  addresses: string;
  ready_endpoints: number;
  healthy: number | boolean;
  since: string;
  message: string;
  ever_healthy: number | boolean;
  recovering_since: string | null;
  reported: number | boolean;
  conflict: string | null;
  local?: string | LocalShard | null;
}

export interface ClusterAnswerRow {
  cluster: string;
  namespace: string;
  service: string;
  seq: number | string;
  answer: string | ClusterAnswer | null;
}

/** A stored answer (its key columns win over the JSON's). */
export function rowToAnswer(r: ClusterAnswerRow): ClusterAnswer {
  const a = typeof r.answer === 'string' ? (JSON.parse(r.answer) as ClusterAnswer) : (r.answer as ClusterAnswer);
  return { ...a, cluster: r.cluster, namespace: r.namespace, service: r.service };
}

/** How many commits of in-cluster answers a deletion is remembered for (followers further behind reload). */
export const ANSWER_TOMBSTONE_KEEP = 2000;

export function rowToRecordSet(r: RecordRow): RecordSet {
  const rs: RecordSet = {
    name: r.name,
    type: r.type as RecordSet['type'],
    ttl: Number(r.ttl),
    data: typeof r.data === 'string' ? (JSON.parse(r.data) as string[]) : (r.data as string[]),
    level: r.level as RecordSet['level'],
    namespace: r.namespace,
    service: r.service,
  };
  if (r.region !== null) rs.region = r.region;
  if (r.zone !== null) rs.zone = r.zone;
  if (r.policy !== null && r.policy !== undefined) rs.policy = (typeof r.policy === 'string' ? JSON.parse(r.policy) : r.policy) as RecordPolicy;
  return rs;
}

export interface ProbeRow {
  prober: string;
  cluster: string;
  namespace: string;
  service: string;
  target: string;
  addresses: string | string[];
  ok: number | boolean;
  since: string;
  message: string;
  age_ms: number | string;
}

export function rowToProbe(r: ProbeRow): StoredProbeVerdict {
  return {
    prober: r.prober,
    cluster: r.cluster,
    namespace: r.namespace,
    service: r.service,
    target: r.target,
    addresses: typeof r.addresses === 'string' ? (JSON.parse(r.addresses) as string[]) : r.addresses,
    ok: r.ok === 1 || r.ok === true,
    since: r.since,
    message: r.message,
    proberAgeMs: Math.max(0, Math.round(Number(r.age_ms))),
  };
}

export function rowToEntry(r: JournalRow): JournalEntry {
  const parse = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as RecordSet[]) : (v as RecordSet[]));
  return {
    seq: Number(r.seq),
    soaSerial: Number(r.soa_serial),
    prevSoaSerial: Number(r.prev_soa),
    at: typeof r.at === 'string' ? r.at : new Date(r.at as unknown as Date).toISOString(),
    cause: r.cause,
    deleted: parse(r.deleted),
    added: parse(r.added),
    ...(r.epoch !== null && r.epoch !== undefined ? { epoch: Number(r.epoch) } : {}),
  };
}

export function rowToShard(r: ShardRow): StoredShard {
  const s: StoredShard = {
    cluster: r.cluster,
    namespace: r.namespace,
    service: r.service,
    addresses: typeof r.addresses === 'string' ? (JSON.parse(r.addresses) as string[]) : (r.addresses as string[]),
    readyEndpoints: Number(r.ready_endpoints),
    healthy: r.healthy === 1 || r.healthy === true,
    since: r.since,
    message: r.message,
    everHealthy: r.ever_healthy === 1 || r.ever_healthy === true,
    reported: r.reported === 1 || r.reported === true,
  };
  if (r.recovering_since !== null) s.recoveringSince = r.recovering_since;
  if (r.conflict !== null) s.conflict = r.conflict;
  if (r.local !== null && r.local !== undefined) s.local = typeof r.local === 'string' ? (JSON.parse(r.local) as LocalShard) : r.local;
  return s;
}

/** The shard's columns in the order both engines' upserts take them. */
export function shardParams(s: StoredShard): (string | number | null)[] {
  return [
    s.cluster,
    s.namespace,
    s.service,
    JSON.stringify(s.addresses),
    s.readyEndpoints,
    s.healthy ? 1 : 0,
    s.since,
    s.message,
    (s.everHealthy ?? s.healthy) ? 1 : 0,
    s.recoveringSince ?? null,
    (s.reported ?? true) ? 1 : 0,
    s.conflict ?? null,
    s.local ? JSON.stringify(s.local) : null,
  ];
}

/**
 * The serial of the next commit: one above the current serial, or above the
 * highest serial a nameserver reported serving if that one is ahead (RFC 1982),
 * so no serial is ever served with two contents (issue 11).
 */
export function nextCommitSerial(current: number, served: readonly number[]): number {
  let base = current >>> 0;
  for (const s of served) if ((compareSerial(s >>> 0, base) ?? 0) > 0) base = s >>> 0;
  return nextSerial(base);
}

/**
 * What a zone diff journals: the stored old content of every deleted or
 * replaced RRset (so IXFR removes exactly it) and the new content of every
 * upserted one, given a lookup of what is stored now.
 */
export function journalContent(diff: { upserts: RecordSet[]; deletes: RecordSet[] }, stored: (name: string, type: string) => RecordSet | undefined): { deleted: RecordSet[]; added: RecordSet[]; deleteKeys: RecordSet[] } {
  const deleted: RecordSet[] = [];
  const deleteKeys: RecordSet[] = [];
  for (const rs of diff.deletes) {
    const prior = stored(rs.name, rs.type);
    if (!prior) continue;
    deleted.push(prior);
    deleteKeys.push(prior);
  }
  const byKey = new Map<string, RecordSet>();
  for (const rs of diff.upserts) {
    const prior = stored(rs.name, rs.type);
    if (prior) deleted.push(prior);
    byKey.set(`${rs.name}/${rs.type}`, rs);
  }
  return { deleted, added: [...byKey.values()], deleteKeys };
}

/** A diff with the record sets a serial hook returned: they replace any of the same key. */
export function withHookSets(diff: { upserts: RecordSet[]; deletes: RecordSet[] }, sets: RecordSet[]): { upserts: RecordSet[]; deletes: RecordSet[] } {
  if (!sets.length) return diff;
  const keys = new Set(sets.map((r) => `${r.name}/${r.type}`));
  const keep = (r: RecordSet) => !keys.has(`${r.name}/${r.type}`);
  return { upserts: [...diff.upserts.filter(keep), ...sets], deletes: diff.deletes.filter(keep) };
}

/** The services a journal entry touched (for the history index); the zone's own DNSSEC sets (service '') are not a service. */
export function touchedServices(entry: { deleted: RecordSet[]; added: RecordSet[] }): [string, string][] {
  const keys = new Set([...entry.deleted, ...entry.added].filter((r) => r.service !== '').map((r) => `${r.namespace}\u0000${r.service}`));
  return [...keys].map((k) => k.split('\u0000') as [string, string]);
}

/** Rows of the PostgreSQL schema to the interface's values. */
import type { RecordSet } from '@fedns/model';
import type { JournalEntry, LeaseRecord, ObjectChange, ObjectChangeType, ObjectKind, StoredObject, StoredShard } from '../types.js';

const iso = (t: Date | string): string => (t instanceof Date ? t.toISOString() : new Date(t).toISOString());

export interface ObjectRow {
  kind: ObjectKind;
  namespace: string;
  name: string;
  uid: string;
  resource_version: number;
  object: unknown;
}

export function toObject<T>(r: ObjectRow): StoredObject<T> {
  return { kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid, resourceVersion: r.resource_version, object: r.object as T };
}

export interface LogRow {
  rv: number;
  kind: ObjectKind;
  namespace: string;
  name: string;
  type: ObjectChangeType;
  actor: string;
  at: Date;
  object: unknown;
}

export function toChange(r: LogRow): ObjectChange {
  return {
    rv: r.rv,
    type: r.type,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    actor: r.actor,
    at: iso(r.at),
    object: r.object as Record<string, unknown>,
  };
}

export interface ShardRow {
  cluster: string;
  namespace: string;
  service: string;
  addresses: string[];
  ready_endpoints: number;
  healthy: boolean;
  since: string;
  message: string;
  ever_healthy: boolean;
  recovering_since: string | null;
  reported: boolean;
  conflict: string | null;
}

export function toShard(r: ShardRow): StoredShard {
  const s: StoredShard = {
    cluster: r.cluster,
    namespace: r.namespace,
    service: r.service,
    addresses: r.addresses,
    readyEndpoints: r.ready_endpoints,
    healthy: r.healthy,
    since: r.since,
    message: r.message,
    everHealthy: r.ever_healthy,
    reported: r.reported,
  };
  if (r.recovering_since !== null) s.recoveringSince = r.recovering_since;
  if (r.conflict !== null) s.conflict = r.conflict;
  return s;
}

export interface RecordRow {
  name: string;
  type: string;
  ttl: number;
  data: string[];
  level: string;
  namespace: string;
  service: string;
  region: string | null;
  zone: string | null;
}

export const RECORD_COLUMNS = 'name, type, ttl, data, level, namespace, service, region, zone';

export function toRecordSet(r: RecordRow): RecordSet {
  const rs: RecordSet = {
    name: r.name,
    type: r.type as RecordSet['type'],
    ttl: r.ttl,
    data: r.data,
    level: r.level as RecordSet['level'],
    namespace: r.namespace,
    service: r.service,
  };
  if (r.region !== null) rs.region = r.region;
  if (r.zone !== null) rs.zone = r.zone;
  return rs;
}

export interface JournalRow {
  seq: number;
  soa_serial: number;
  prev_soa: number;
  at: Date;
  cause: string;
  deleted: RecordSet[];
  added: RecordSet[];
}

export function toEntry(r: JournalRow): JournalEntry {
  return { seq: r.seq, soaSerial: r.soa_serial, prevSoaSerial: r.prev_soa, at: iso(r.at), cause: r.cause, deleted: r.deleted, added: r.added };
}

export interface LeaseRow {
  name: string;
  holder: string;
  epoch: number;
  expires_at: Date;
  renewed_at: Date;
}

export function toLease(r: LeaseRow): LeaseRecord {
  return { name: r.name, holder: r.holder, epoch: r.epoch, expiresAt: iso(r.expires_at), renewedAt: iso(r.renewed_at) };
}

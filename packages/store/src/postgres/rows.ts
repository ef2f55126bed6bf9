/** Rows of the PostgreSQL-only tables to the interface's values (shards, record sets and journal: ../rows.ts, shared). */
import type { LeaseRecord, ObjectChange, ObjectChangeType, ObjectKind, StoredObject } from '../types.js';

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

/** The columns of record_sets, in the order the shared RecordRow lists them. */
export const RECORD_COLUMNS = 'name, type, ttl, data, level, namespace, service, region, zone, policy';

export interface LeaseRow {
  name: string;
  holder: string;
  epoch: number;
  expires_at: Date;
  renewed_at: Date;
  remaining_ms?: number;
}

export function toLease(r: LeaseRow): LeaseRecord {
  return {
    name: r.name,
    holder: r.holder,
    epoch: r.epoch,
    expiresAt: iso(r.expires_at),
    renewedAt: iso(r.renewed_at),
    ...(r.remaining_ms !== undefined ? { remainingMs: Math.round(Number(r.remaining_ms)) } : {}),
  };
}

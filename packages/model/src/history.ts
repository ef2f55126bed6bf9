/**
 * The shape of a Service's `history` subresource (ServiceHistory): the API
 * server builds it and `kubectl fedns history` reads it, from one definition.
 */

export interface RecordChange {
  op: 'add' | 'remove' | 'replace';
  name: string;
  type: string;
  data: string[];
  ttl: number;
  /** What a replaced RRset held before. */
  oldData?: string[];
  oldTtl?: number;
}

export interface ZoneEvent {
  kind: 'ZoneChange';
  time: string;
  serial: number;
  cause: string;
  /** Who the cause names (`… by USER`); empty for what the controller saw happen (a shard's health). */
  users: string[];
  changes: RecordChange[];
}

export interface ObjectEvent {
  kind: 'ObjectChange';
  time: string;
  resourceVersion: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  user: string;
  cause: string;
}

export type HistoryEvent = ZoneEvent | ObjectEvent;

export interface ServiceHistory {
  apiVersion: string;
  kind: 'ServiceHistory';
  metadata: { name: string; namespace: string };
  items: HistoryEvent[];
}

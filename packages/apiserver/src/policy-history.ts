/**
 * `GET /api/v1/namespaces/NS/services/NAME/policyhistory` (issue 14): every
 * version of a service's traffic policy — the federation.fedns.io/*
 * annotations operators set (placement, weights, routing, probes, TTL, fail
 * mode, ready endpoints) — with who changed what from which previous value,
 * numbered oldest first; and the drains of the clusters it is placed in. From
 * the store's object log (pure: the caller reads it), so it reaches as far
 * back as the log keeps. `kubectl fedns policy rollback --to N` patches a
 * version's annotations back through the API.
 */
import { ANNOTATIONS, placementClusters, POLICY_ANNOTATIONS } from '@fedns/model';
import type { ObjectChange } from '@fedns/store';
import { FEDERATION_GROUP } from './recordsets.js';

export interface PolicyChange {
  key: string;
  /** The value before; absent: it was not set. */
  from?: string;
  /** The value after; absent: it was removed. */
  to?: string;
}

export interface PolicyVersion {
  version: number;
  resourceVersion: string;
  time: string;
  user: string;
  type: ObjectChange['type'];
  /** The policy annotations as of this version (for DELETED: as the service was deleted). */
  policy: Record<string, string>;
  changes: PolicyChange[];
}

export interface DrainEvent {
  time: string;
  user: string;
  cluster: string;
  resourceVersion: string;
  change: string;
}

export interface ServicePolicyHistory {
  apiVersion: string;
  kind: 'ServicePolicyHistory';
  metadata: { name: string; namespace: string };
  /** Oldest first. */
  items: PolicyVersion[];
  /** Drains and undrains of the clusters the service is placed in (all clusters without a placement), oldest first. */
  drains: DrainEvent[];
}

type Meta = { metadata?: { annotations?: Record<string, string> | null }; spec?: { drained?: boolean; drainedZones?: string[] } };

/** The policy annotations of an object. */
export function policyOf(object: unknown): Record<string, string> {
  const a = (object as Meta | undefined)?.metadata?.annotations ?? {};
  const out: Record<string, string> = {};
  for (const k of POLICY_ANNOTATIONS) if (a[k] !== undefined) out[k] = a[k];
  return out;
}

function changesBetween(before: Record<string, string>, after: Record<string, string>): PolicyChange[] {
  const out: PolicyChange[] = [];
  for (const key of POLICY_ANNOTATIONS) {
    const from = before[key];
    const to = after[key];
    if (from === to) continue;
    out.push({ key, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
  }
  return out;
}

/** What a cluster change did to drains, in words ('' when nothing). */
function drainChange(before: Meta['spec'], after: Meta['spec']): string {
  const parts: string[] = [];
  if (Boolean(before?.drained) !== Boolean(after?.drained)) parts.push(after?.drained ? 'drained (spec.drained: true)' : 'undrained (spec.drained: false)');
  const was = before?.drainedZones ?? [];
  const now = after?.drainedZones ?? [];
  const added = now.filter((z) => !was.includes(z));
  const removed = was.filter((z) => !now.includes(z));
  if (added.length) parts.push(`zone(s) ${added.join(', ')} drained`);
  if (removed.length) parts.push(`zone(s) ${removed.join(', ')} undrained`);
  return parts.join(', ');
}

/**
 * The versions of a service's policy from its object log (newest first, as
 * `objectHistory` returns it), and the drains from its clusters' logs.
 */
export function policyHistory(namespace: string, name: string, serviceLog: readonly ObjectChange[], clusterLogs: ReadonlyMap<string, readonly ObjectChange[]>): ServicePolicyHistory {
  const items: PolicyVersion[] = [];
  let prev: Record<string, string> = {};
  for (const c of [...serviceLog].reverse()) {
    const policy = policyOf(c.object);
    const changes = c.type === 'DELETED' ? [] : changesBetween(c.type === 'ADDED' ? {} : prev, policy);
    if (c.type === 'MODIFIED' && changes.length === 0) continue; // spec, labels, status: not policy
    items.push({ version: items.length + 1, resourceVersion: String(c.rv), time: c.at, user: c.actor, type: c.type, policy, changes });
    prev = c.type === 'DELETED' ? {} : policy;
  }
  const current = serviceLog[0] && serviceLog[0].type !== 'DELETED' ? policyOf(serviceLog[0].object) : {};
  const placed = current[ANNOTATIONS.clusters] !== undefined ? new Set(placementClusters(current[ANNOTATIONS.clusters] as string)) : undefined;
  const drains: DrainEvent[] = [];
  for (const [cluster, log] of clusterLogs) {
    if (placed && !placed.has(cluster)) continue;
    let before: Meta['spec'] = {};
    for (const c of [...log].reverse()) {
      const spec = c.type === 'DELETED' ? {} : ((c.object as Meta).spec ?? {});
      const change = c.type === 'DELETED' ? '' : drainChange(before, spec);
      if (change) drains.push({ time: c.at, user: c.actor, cluster, resourceVersion: String(c.rv), change });
      before = spec;
    }
  }
  drains.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : Number(a.resourceVersion) - Number(b.resourceVersion)));
  return { apiVersion: `${FEDERATION_GROUP}/v1`, kind: 'ServicePolicyHistory', metadata: { name, namespace }, items, drains };
}

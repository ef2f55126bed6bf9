/**
 * What an object change means for the zone, in words for `fedns history`:
 * who changed which service's policy or which cluster's drains and topology
 * overrides, from the store's object log. Pure: the previous object and the
 * change in, a line (or nothing worth saying) out.
 */
import { type ClusterObject, DEFAULT_POLICY, type PolicyDefaults, policyFromService } from '@fedns/model';
import type { ObjectChange } from '@fedns/store';
import { type ClusterSpecView, describeSpecChange } from './connections.js';

interface ServiceMeta {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> | null };
}

const EVERY = '(every cluster)';

function policyWords(svc: ServiceMeta, defaults: PolicyDefaults) {
  const p = policyFromService(svc.metadata ?? {}, defaults);
  return { ttl: String(p.ttl), 'fail-mode': p.failMode, 'min-ready-endpoints': String(p.minReadyEndpoints), placement: p.clusters?.join(',') ?? EVERY };
}

/**
 * One change of a service or cluster in words, or undefined when nothing the
 * zone depends on changed (a label, status). `clusters` are the joined
 * clusters (what "every cluster" means for a placement change).
 */
export function describeChange(change: ObjectChange, before: unknown, clusters: string[], defaults: PolicyDefaults = DEFAULT_POLICY): string | undefined {
  const by = ` by ${change.actor}`;
  if (change.kind === 'services') {
    const what = `service ${change.namespace}/${change.name}`;
    if (change.type === 'ADDED') return `${what} created${by}`;
    if (change.type === 'DELETED') return `${what} deleted${by}`;
    if (!before) return undefined;
    const was = policyWords(before as ServiceMeta, defaults);
    const now = policyWords(change.object as ServiceMeta, defaults);
    const parts = (Object.keys(now) as (keyof typeof now)[]).filter((f) => was[f] !== now[f]).map((f) => `${f} ${was[f]} → ${now[f]}`);
    if (was.placement !== now.placement) {
      // Narrowing deletes member copies: their load balancers (and addresses) are gone for good.
      const placed = (p: string) => (p === EVERY ? clusters : p.split(','));
      const left = placed(was.placement).filter((c) => !placed(now.placement).includes(c));
      if (left.length) parts.push(`member Services in ${left.join(', ')} are deleted, releasing their load balancers`);
    }
    return parts.length ? `${what}: ${parts.join(', ')}${by}` : undefined;
  }
  if (change.kind === 'clusters') {
    const what = `cluster ${change.name}`;
    if (change.type === 'ADDED') return `${what} joined${by}`;
    if (change.type === 'DELETED') return `${what} left the federation${by}`;
    const spec = (o: unknown): ClusterSpecView => ((o as ClusterObject | undefined)?.spec ?? {}) as ClusterSpecView;
    const words = before ? describeSpecChange(spec(before), spec(change.object)) : '';
    return words ? `${what} ${words}${by}` : undefined;
  }
  return undefined;
}

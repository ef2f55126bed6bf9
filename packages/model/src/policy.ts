import type { ClusterTopology, FailMode, ServicePolicy } from './types.js';

/** Annotations through which operators set per-service policy (kubectl-visible). */
export const ANNOTATIONS = {
  ttl: 'federation.fedns.io/ttl',
  failMode: 'federation.fedns.io/fail-mode',
  minReadyEndpoints: 'federation.fedns.io/min-ready-endpoints',
  clusters: 'federation.fedns.io/clusters',
} as const;

export interface PolicyDefaults {
  ttl: number;
  failMode: FailMode;
  minReadyEndpoints: number;
}

export const DEFAULT_POLICY: PolicyDefaults = { ttl: 30, failMode: 'open', minReadyEndpoints: 1 };

interface ObjectMeta {
  name?: string;
  namespace?: string;
  annotations?: Record<string, string> | null;
}

/** Problems with the policy annotations, as (field path, message) pairs; [] when valid. */
export function policyProblems(meta: ObjectMeta): { field: string; value: string; message: string }[] {
  const a = meta.annotations ?? {};
  const out: { field: string; value: string; message: string }[] = [];
  const field = (k: string) => `metadata.annotations[${k}]`;
  const ttl = a[ANNOTATIONS.ttl];
  if (ttl !== undefined && !(/^\d+$/.test(ttl) && Number(ttl) >= 1 && Number(ttl) <= 86400)) {
    out.push({ field: field(ANNOTATIONS.ttl), value: ttl, message: `must be a whole number of seconds from 1 to 86400, got "${ttl}"` });
  }
  const fm = a[ANNOTATIONS.failMode];
  if (fm !== undefined && fm !== 'open' && fm !== 'closed') {
    out.push({ field: field(ANNOTATIONS.failMode), value: fm, message: `must be "open" or "closed", got "${fm}"` });
  }
  const mre = a[ANNOTATIONS.minReadyEndpoints];
  if (mre !== undefined && !(/^\d+$/.test(mre) && Number(mre) >= 1)) {
    out.push({ field: field(ANNOTATIONS.minReadyEndpoints), value: mre, message: `must be a whole number >= 1, got "${mre}"` });
  }
  return out;
}

/** The cascade's view of a federated Service object (annotations over defaults). */
export function policyFromService(meta: ObjectMeta, defaults: PolicyDefaults = DEFAULT_POLICY): ServicePolicy {
  const a = meta.annotations ?? {};
  const ttl = a[ANNOTATIONS.ttl];
  const fm = a[ANNOTATIONS.failMode];
  const mre = a[ANNOTATIONS.minReadyEndpoints];
  const clusters = a[ANNOTATIONS.clusters];
  const policy: ServicePolicy = {
    namespace: meta.namespace ?? 'default',
    name: meta.name ?? '',
    ttl: ttl !== undefined && /^\d+$/.test(ttl) ? Number(ttl) : defaults.ttl,
    failMode: fm === 'closed' || fm === 'open' ? fm : defaults.failMode,
    minReadyEndpoints: mre !== undefined && /^\d+$/.test(mre) ? Math.max(1, Number(mre)) : defaults.minReadyEndpoints,
  };
  if (clusters !== undefined) {
    policy.clusters = clusters
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c.length > 0);
  }
  return policy;
}

/** A Cluster object of federation.fedns.io/v1 as far as the cascade cares. */
export interface ClusterObject {
  metadata: { name: string; annotations?: Record<string, string> | null };
  spec?: { region?: string; zones?: string[]; drained?: boolean; drainedZones?: string[] };
  status?: { region?: string; zones?: string[] };
}

/** Topology: spec overrides win over what was read from the member cluster's nodes. */
export function topologyFromCluster(c: ClusterObject): ClusterTopology {
  const t: ClusterTopology = {
    name: c.metadata.name,
    region: c.spec?.region ?? c.status?.region ?? '',
    zones: c.spec?.zones ?? c.status?.zones ?? [],
  };
  if (c.spec?.drained) t.drained = true;
  if (c.spec?.drainedZones?.length) t.drainedZones = [...c.spec.drainedZones];
  return t;
}

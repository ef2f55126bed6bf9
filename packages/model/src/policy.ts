import { locationProblem } from './regions.js';
import { PROBE_DEFAULTS, PROBE_LIMITS, parseDurationMs, parseProbeTarget, parseRouting, parseWeights } from './traffic.js';
import type { ClusterTopology, FailMode, GeoPoint, ProbeSpec, ServicePolicy } from './types.js';

/** Annotations through which operators set per-service policy (kubectl-visible). */
export const ANNOTATIONS = {
  ttl: 'federation.fedns.io/ttl',
  failMode: 'federation.fedns.io/fail-mode',
  minReadyEndpoints: 'federation.fedns.io/min-ready-endpoints',
  clusters: 'federation.fedns.io/clusters',
  weights: 'federation.fedns.io/weights',
  routing: 'federation.fedns.io/routing',
  probe: 'federation.fedns.io/probe',
  probeInterval: 'federation.fedns.io/probe-interval',
  probeTimeout: 'federation.fedns.io/probe-timeout',
  probeFailureThreshold: 'federation.fedns.io/probe-failure-threshold',
  probeSuccessThreshold: 'federation.fedns.io/probe-success-threshold',
  /** TTL of the in-cluster answers (issue 12), default 5 s. */
  clusterTtl: 'federation.fedns.io/cluster-ttl',
} as const;

/** TTL of in-cluster answers: the kubernetes plugin's default, and Lighthouse's. */
export const DEFAULT_CLUSTER_TTL = 5;

/** The policy annotations: what `kubectl fedns policy history` shows and `rollback` restores. */
export const POLICY_ANNOTATIONS: readonly string[] = Object.values(ANNOTATIONS);

/** Annotations fedns writes itself on a federated Service (the per-cluster shard summary). */
export const SERVER_ANNOTATIONS = {
  shards: 'federation.fedns.io/shards',
} as const;

export const ANNOTATION_PREFIX = 'federation.fedns.io/';

/** Every federation.fedns.io/* annotation key a Service may carry; any other key under the prefix is rejected. */
export const KNOWN_ANNOTATIONS: readonly string[] = [...Object.values(ANNOTATIONS), ...Object.values(SERVER_ANNOTATIONS)];

/** The cluster names of a placement annotation value (`c1, c2`), in order, without blanks. */
export function placementClusters(value: string): string[] {
  return value
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
}

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

/**
 * Problems with the policy annotations, as (field path, message) pairs; [] when valid. Unknown
 * federation.fedns.io/* keys are problems. With `clusters` (the member cluster names), a placement
 * naming another cluster is one too.
 */
export function policyProblems(meta: ObjectMeta, clusters?: readonly string[]): { field: string; value: string; message: string }[] {
  const a = meta.annotations ?? {};
  const out: { field: string; value: string; message: string }[] = [];
  const field = (k: string) => `metadata.annotations[${k}]`;
  for (const k of Object.keys(a)) {
    if (k.startsWith(ANNOTATION_PREFIX) && !KNOWN_ANNOTATIONS.includes(k)) {
      out.push({ field: field(k), value: k, message: `unknown ${ANNOTATION_PREFIX}* annotation (known: ${KNOWN_ANNOTATIONS.join(', ')})` });
    }
  }
  const placement = a[ANNOTATIONS.clusters];
  if (placement !== undefined && clusters) {
    for (const c of placementClusters(placement)) {
      if (!clusters.includes(c)) out.push({ field: field(ANNOTATIONS.clusters), value: c, message: `names no member cluster (clusters: ${clusters.join(', ') || 'none'})` });
    }
  }
  for (const key of [ANNOTATIONS.ttl, ANNOTATIONS.clusterTtl]) {
    const ttl = a[key];
    if (ttl !== undefined && !(/^\d+$/.test(ttl) && Number(ttl) >= 1 && Number(ttl) <= 86400)) {
      out.push({ field: field(key), value: ttl, message: `must be a whole number of seconds from 1 to 86400, got "${ttl}"` });
    }
  }
  const fm = a[ANNOTATIONS.failMode];
  if (fm !== undefined && fm !== 'open' && fm !== 'closed') {
    out.push({ field: field(ANNOTATIONS.failMode), value: fm, message: `must be "open" or "closed", got "${fm}"` });
  }
  const mre = a[ANNOTATIONS.minReadyEndpoints];
  if (mre !== undefined && !(/^\d+$/.test(mre) && Number(mre) >= 1)) {
    out.push({ field: field(ANNOTATIONS.minReadyEndpoints), value: mre, message: `must be a whole number >= 1, got "${mre}"` });
  }
  const weights = a[ANNOTATIONS.weights];
  if (weights !== undefined) {
    const w = parseWeights(weights);
    if (!w.ok) out.push({ field: field(ANNOTATIONS.weights), value: weights, message: w.message });
    else if (clusters) {
      for (const c of Object.keys(w.value)) {
        if (!clusters.includes(c)) out.push({ field: field(ANNOTATIONS.weights), value: c, message: `names no member cluster (clusters: ${clusters.join(', ') || 'none'})` });
      }
    }
  }
  const routing = a[ANNOTATIONS.routing];
  if (routing !== undefined) {
    const r = parseRouting(routing);
    if (!r.ok) out.push({ field: field(ANNOTATIONS.routing), value: routing, message: r.message });
  }
  out.push(...probeProblems(a).map((p) => ({ ...p, field: field(p.key) })));
  return out;
}

type ProbeTiming = 'intervalMs' | 'timeoutMs' | 'failureThreshold' | 'successThreshold';
const PROBE_TIMING: [key: string, prop: ProbeTiming, kind: 'duration' | 'count'][] = [
  [ANNOTATIONS.probeInterval, 'intervalMs', 'duration'],
  [ANNOTATIONS.probeTimeout, 'timeoutMs', 'duration'],
  [ANNOTATIONS.probeFailureThreshold, 'failureThreshold', 'count'],
  [ANNOTATIONS.probeSuccessThreshold, 'successThreshold', 'count'],
];

/** Reads the probe annotations: the spec (defaults filled in), and every problem with them. */
function readProbe(a: Record<string, string>): { spec?: ProbeSpec; problems: { key: string; value: string; message: string }[] } {
  const problems: { key: string; value: string; message: string }[] = [];
  const target = a[ANNOTATIONS.probe];
  if (target === undefined) {
    for (const [key] of PROBE_TIMING) if (a[key] !== undefined) problems.push({ key, value: a[key] as string, message: `only means something with ${ANNOTATIONS.probe} (e.g. "tcp:443")` });
    return { problems };
  }
  const t = parseProbeTarget(target);
  if (!t.ok) problems.push({ key: ANNOTATIONS.probe, value: target, message: t.message });
  const spec: ProbeSpec = { protocol: 'tcp', port: 1, ...PROBE_DEFAULTS, ...(t.ok ? t.value : {}) };
  for (const [key, prop, kind] of PROBE_TIMING) {
    const raw = a[key];
    if (raw === undefined) continue;
    if (kind === 'count') {
      const [lo, hi] = PROBE_LIMITS.threshold;
      if (!/^\d+$/.test(raw) || Number(raw) < lo || Number(raw) > hi) problems.push({ key, value: raw, message: `must be a whole number from ${lo} to ${hi}, got "${raw}"` });
      else spec[prop] = Number(raw);
      continue;
    }
    const d = parseDurationMs(raw);
    const [lo, hi] = prop === 'intervalMs' ? PROBE_LIMITS.intervalMs : PROBE_LIMITS.timeoutMs;
    if (!d.ok) problems.push({ key, value: raw, message: d.message });
    else if (d.value < lo || d.value > hi) problems.push({ key, value: raw, message: `must be from ${lo / 1000} s to ${hi / 1000} s, got "${raw}"` });
    else spec[prop] = d.value;
  }
  // Unset, the timeout is the default or the interval, whichever is shorter.
  if (a[ANNOTATIONS.probeTimeout] === undefined) spec.timeoutMs = Math.min(spec.timeoutMs, spec.intervalMs);
  if (spec.timeoutMs > spec.intervalMs) {
    problems.push({ key: ANNOTATIONS.probeTimeout, value: a[ANNOTATIONS.probeTimeout] ?? `${spec.timeoutMs}ms`, message: `must not be longer than the interval (${spec.intervalMs / 1000} s)` });
  }
  return problems.length ? { problems } : { spec, problems };
}

function probeProblems(a: Record<string, string>): { key: string; value: string; message: string }[] {
  return readProbe(a).problems;
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
  if (clusters !== undefined) policy.clusters = placementClusters(clusters);
  const weights = a[ANNOTATIONS.weights];
  if (weights !== undefined) {
    const w = parseWeights(weights);
    if (w.ok) policy.weights = w.value;
  }
  const routing = a[ANNOTATIONS.routing];
  if (routing !== undefined) {
    const r = parseRouting(routing);
    if (r.ok) policy.routing = r.value;
  }
  const probe = readProbe(a).spec;
  if (probe) policy.probe = probe;
  const clusterTtl = a[ANNOTATIONS.clusterTtl];
  if (clusterTtl !== undefined && /^\d+$/.test(clusterTtl)) policy.clusterTtl = Number(clusterTtl);
  return policy;
}

/** A Cluster object of federation.fedns.io/v1 as far as the cascade cares. */
export interface ClusterObject {
  metadata: { name: string; annotations?: Record<string, string> | null };
  spec?: { region?: string; zones?: string[]; drained?: boolean; drainedZones?: string[]; clusterDomain?: string; location?: GeoPoint };
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
  if (c.spec?.location !== undefined && locationProblem(c.spec.location) === undefined) t.location = { latitude: c.spec.location.latitude, longitude: c.spec.location.longitude };
  return t;
}

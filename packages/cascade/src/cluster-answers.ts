/**
 * In-cluster answers (issue 12), the pure part: for every member cluster and federated service,
 * what a pod in that cluster is answered for `<svc>.<ns>.<federation>.svc.<cluster-domain>`.
 *
 * - The local shard is healthy in its own cluster (the cluster Ready, at least minReadyEndpoints
 *   ready endpoints, not drained — no load balancer needed; `Shard.local.healthy` carries the
 *   controller's time rules) and the service is placed there: the member Service's cluster IPs.
 * - A headless service: the local ready endpoint addresses under the same rule, else nothing
 *   (NODATA) — a headless service has no address another cluster could serve.
 * - Otherwise, or when the service is not placed in the cluster: a CNAME to the public name nearest
 *   to the cluster — its zone's name, its region's for a cluster spanning several zones, the
 *   global name for a cluster without topology — the first of these the zone has; the nameserver
 *   follows that chain to its end inside the same answer.
 *
 * A service whose public names cannot be built (invalid) gets no answers (NXDOMAIN).
 */
import type { ClusterAnswer, ClusterAnswerDiff, ClusterAnswerKey, ClusterTopology, RecordSet, ServicePolicy, Shard } from '@fedns/model';
import { addressFamily, canonicalAddress, compareAddresses, DEFAULT_CLUSTER_TTL, globalName, regionName, servicePrefix, zoneName } from '@fedns/model';
import type { FederationRef } from './build.js';

function normalise(addrs: readonly string[]): string[] {
  return [...new Set(addrs.filter((a) => addressFamily(a) !== undefined).map(canonicalAddress))].sort(compareAddresses);
}

const lower = (s: string) => s.trim().toLowerCase();

/** Whether a cluster is out for its own pods: drained, or every zone of it drained. */
function drainedFor(c: ClusterTopology): boolean {
  if (c.drained) return true;
  const zones = c.zones.map(lower).filter(Boolean);
  const drained = new Set((c.drainedZones ?? []).map(lower));
  return zones.length > 0 && zones.every((z) => drained.has(z));
}

/**
 * The public name a cluster's pods fall back to: the most specific of zone (single-zone
 * cluster), region, global that the service's published sets have.
 */
export function nearestPublicName(federation: FederationRef, policy: Pick<ServicePolicy, 'namespace' | 'name'>, cluster: ClusterTopology, published: ReadonlySet<string>): string | undefined {
  const prefix = servicePrefix(policy.name, policy.namespace, federation.name);
  const region = lower(cluster.region);
  const zones = [...new Set(cluster.zones.map(lower).filter(Boolean))];
  const candidates: string[] = [];
  if (region && zones.length === 1) candidates.push(zoneName(prefix, zones[0] as string, region, federation.zone));
  if (region) candidates.push(regionName(prefix, region, federation.zone));
  candidates.push(globalName(prefix, federation.zone));
  return candidates.find((n) => published.has(n));
}

/**
 * One service's in-cluster answers, one per cluster (sorted by cluster). `published` are the
 * service's public record sets (buildServiceRecordSets) — the names a CNAME may point at.
 */
export function buildClusterAnswers(federation: FederationRef, policy: ServicePolicy, clusters: readonly ClusterTopology[], shards: readonly Shard[], published: readonly RecordSet[]): ClusterAnswer[] {
  const names = new Set(published.filter((rs) => rs.namespace === policy.namespace && rs.service === policy.name).map((rs) => rs.name));
  if (names.size === 0) return [];
  const ttl = policy.clusterTtl ?? DEFAULT_CLUSTER_TTL;
  const out: ClusterAnswer[] = [];
  for (const c of [...clusters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const key = { cluster: c.name, namespace: policy.namespace, service: policy.name };
    const placed = policy.clusters === undefined || policy.clusters.includes(c.name);
    const shard = shards.find((s) => s.cluster === c.name && s.namespace === policy.namespace && s.service === policy.name);
    const local = placed && !drainedFor(c) && !(shard as { conflict?: string } | undefined)?.conflict ? shard?.local : undefined;
    const headless = policy.headless ?? shard?.local?.headless ?? false;
    if (local?.healthy) {
      const addresses = normalise(local.headless ? local.endpoints : local.clusterIPs);
      if (addresses.length) {
        out.push({ ...key, ttl, addresses });
        continue;
      }
    }
    if (headless) {
      out.push({ ...key, ttl });
      continue;
    }
    const target = nearestPublicName(federation, policy, c, names);
    if (target) out.push({ ...key, ttl, target });
  }
  return out;
}

export const answerKey = (a: ClusterAnswerKey) => `${a.cluster}/${a.namespace}/${a.service}`;

function same(a: ClusterAnswer, b: ClusterAnswer): boolean {
  return a.ttl === b.ttl && a.target === b.target && (a.addresses ?? []).join() === (b.addresses ?? []).join();
}

/** The change from `current` to `desired`: new or changed answers, and the keys of the ones gone. */
export function diffClusterAnswers(current: readonly ClusterAnswer[], desired: readonly ClusterAnswer[]): ClusterAnswerDiff {
  const before = new Map(current.map((a) => [answerKey(a), a]));
  const after = new Map(desired.map((a) => [answerKey(a), a]));
  const upserts: ClusterAnswer[] = [];
  const deletes: ClusterAnswerKey[] = [];
  for (const [k, a] of after) {
    const old = before.get(k);
    if (!old || !same(old, a)) upserts.push(a);
  }
  for (const [k, a] of before) if (!after.has(k)) deletes.push({ cluster: a.cluster, namespace: a.namespace, service: a.service });
  const order = (x: ClusterAnswerKey, y: ClusterAnswerKey) => (answerKey(x) < answerKey(y) ? -1 : answerKey(x) > answerKey(y) ? 1 : 0);
  return { upserts: upserts.sort(order), deletes: deletes.sort(order) };
}

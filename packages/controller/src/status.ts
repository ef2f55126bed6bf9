import { type FederationRef, summarizeService } from '@fedns/cascade';
import type { ClusterObject, PolicyDefaults } from '@fedns/model';
import { policyFromService, topologyFromCluster } from '@fedns/model';
import { CONTROLLER_ACTOR, type Fence, type Store } from '@fedns/store';
import type { Connection } from './connections.js';
import type { InClusterDnsState } from './coredns.js';
import { topologyFromNodes } from './health.js';
import type { ControllerMetrics } from './metrics.js';
import type { FederatedService } from './propagate.js';
import { normaliseAddresses, placedIn } from './shards.js';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  lastProbeTime?: string;
}

export interface ClusterStatusView {
  region: string;
  zones: string[];
  lastSeen?: string;
  conditions: Condition[];
}

const rfc3339 = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const condKey = (cs: readonly Condition[]) => cs.map((c) => `${c.type}=${c.status}/${c.reason}/${c.message}`).join('|');

/** Keeps a condition's lastTransitionTime while its status stays the same. */
function carryTransitions(prev: readonly Condition[] | undefined, next: Condition[]): Condition[] {
  return next.map((c) => {
    const p = prev?.find((x) => x.type === c.type);
    return p && p.status === c.status ? { ...c, lastTransitionTime: p.lastTransitionTime } : c;
  });
}

export const SHARDS_ANNOTATION = 'federation.fedns.io/shards';

/**
 * Status, last and only when it changed (sample-controller's updateFooStatus):
 * a federated Service's status says which shards back it (placed clusters
 * only), how its global name answers, and which members another federation
 * holds; a Cluster's status says whether it is Ready, reachable and drained.
 */
export class StatusWriter {
  /** Services with no healthy shard, kept per key so the gauge costs nothing per write. */
  private readonly withoutHealthy = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly federation: FederationRef,
    private readonly defaults: PolicyDefaults,
    private readonly metrics: ControllerMetrics,
    private readonly fence: () => Fence | undefined,
    /** The InClusterDNS condition of a cluster (coredns.ts), when one is known. */
    private readonly inClusterDns: (cluster: string) => InClusterDnsState | undefined = () => undefined,
  ) {}

  /** Service status, key `namespace/name`. */
  async writeService(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const { store } = this;
    const cur = await store.getObject<FederatedService & { status?: { conditions?: Condition[] } }>('services', namespace, name);
    if (!cur) {
      this.noteHealthy(key, true);
      return;
    }
    const joined = new Map((await store.listObjects<ClusterObject>('clusters')).items.map((c) => [c.name, c.object]));
    // Shards of clusters the service left (placement, unjoin) are gone or going: never count them.
    const shards = (await store.shardsOfService(namespace, name)).filter((s) => joined.has(s.cluster) && placedIn(s.cluster, cur.object));
    const policy = policyFromService({ ...cur.object.metadata, namespace, name }, this.defaults);
    const clusters = [...joined.values()].map((c) => topologyFromCluster(c));
    const global = summarizeService(this.federation, policy, clusters, shards);
    const healthy = shards.filter((s) => s.healthy);
    const conflicts = shards.filter((s) => s.conflict);
    const ingress = normaliseAddresses(shards.filter((s) => !s.conflict).flatMap((s) => s.addresses));
    const note: Record<typeof global.state, string> = {
      healthy: `the global name serves ${global.servableClusters.length} cluster(s)`,
      'fail-open': 'no healthy shard: the global name fails open with every known shard address',
      'fail-closed': 'no healthy shard: the global name answers NODATA (fail-closed)',
      'no-address': 'no shard has a load-balancer address yet',
      pending: 'waiting for every placed cluster to report before failing open',
    };
    const now = rfc3339();
    const conditions: Condition[] = [
      {
        type: 'ShardsHealthy',
        status: healthy.length > 0 ? 'True' : 'False',
        reason: healthy.length > 0 ? 'HealthyShards' : global.state === 'fail-closed' ? 'FailClosed' : global.state === 'pending' ? 'WaitingForClusters' : 'FailOpen',
        message: `${healthy.length}/${shards.length} shards healthy, ${global.servableClusters.length} serving; ${note[global.state]}`,
        lastTransitionTime: now,
      },
    ];
    if (conflicts.length) {
      conditions.push({
        type: 'MemberConflict',
        status: 'True',
        reason: 'OwnedByAnotherFederation',
        message: `left alone, not published: ${conflicts.map((s) => `${s.cluster} (owned by ${s.conflict})`).join(', ')}`,
        lastTransitionTime: now,
      });
    }
    const status = { loadBalancer: ingress.length ? { ingress: ingress.map((ip) => ({ ip })) } : {}, conditions: carryTransitions(cur.object.status?.conditions, conditions) };
    const summary = shards.map((s) => `${s.cluster}=${s.healthy ? 'healthy' : 'unhealthy'}(${s.message})`).join(', ');
    this.noteHealthy(key, healthy.length > 0);
    const oldAnnotations = cur.object.metadata.annotations ?? {};
    if (JSON.stringify(status) === JSON.stringify(cur.object.status) && oldAnnotations[SHARDS_ANNOTATION] === summary) return;
    // Status on top of the object as read, compare-and-swap: a spec change made meanwhile fails it
    // (ConflictError), and the queue reconciles again on the new object.
    const annotations = { ...oldAnnotations, [SHARDS_ANNOTATION]: summary };
    await store.updateObject({ ...cur, object: { ...cur.object, metadata: { ...cur.object.metadata, annotations }, status }, actor: CONTROLLER_ACTOR }, cur.resourceVersion, this.fence());
  }

  private noteHealthy(key: string, healthy: boolean): void {
    if (healthy) this.withoutHealthy.delete(key);
    else this.withoutHealthy.add(key);
    this.metrics.failOpen.set(this.withoutHealthy.size);
  }

  /**
   * Cluster status: Ready, Reachable, Drained, topology from the member's nodes,
   * last seen. Returns the topology change in words when the nodes moved it.
   */
  async writeCluster(conn: Connection): Promise<string | undefined> {
    const { store } = this;
    const cur = await store.getObject<ClusterObject & { status?: ClusterStatusView }>('clusters', '', conn.name);
    if (!cur) return undefined;
    const before = cur.object.status;
    const topo = conn.member?.hasSynced ? topologyFromNodes(conn.member.nodes.list()) : { region: '', zones: [] as string[] };
    const now = rfc3339();
    const ready = conn.countsReady;
    const reason = conn.problem ? 'InvalidConnection' : conn.reachable ? 'ClusterReady' : ready ? 'ClusterUnreachableInGrace' : 'ClusterNotReachable';
    const message = conn.problem
      ? conn.problem
      : conn.reachable
        ? '/readyz ok'
        : ready
          ? 'not answering; shards keep their last known state during the grace period'
          : 'not answering past the grace period; its shards count as unhealthy';
    const spec = cur.object.spec ?? {};
    const drainedZones = spec.drainedZones ?? [];
    const drained = spec.drained || drainedZones.length ? 'True' : 'False';
    const conditions = carryTransitions(before?.conditions, [
      { type: 'Ready', status: ready ? 'True' : 'False', reason, message, lastTransitionTime: now },
      { type: 'Reachable', status: conn.reachable ? 'True' : 'False', reason: conn.reachable ? 'ProbeSucceeded' : 'ProbeFailed', message: conn.reachable ? 'the member API answers /readyz' : (conn.problem ?? 'the member API does not answer /readyz'), lastTransitionTime: now },
      {
        type: 'Drained',
        status: drained,
        reason: spec.drained ? 'ClusterDrained' : drainedZones.length ? 'ZonesDrained' : 'NotDrained',
        message: spec.drained ? 'spec.drained: no shard of this cluster is published' : drainedZones.length ? `spec.drainedZones: ${drainedZones.join(', ')} not published` : 'serving',
        lastTransitionTime: now,
      },
      ...(() => {
        const dns = this.inClusterDns(conn.name);
        return dns ? [{ type: 'InClusterDNS', status: dns.status, reason: dns.reason, message: dns.message, lastTransitionTime: now } as Condition] : [];
      })(),
    ]);
    const status: ClusterStatusView = {
      region: topo.region || (before?.region ?? ''),
      zones: topo.zones.length ? topo.zones : (before?.zones ?? []),
      ...(conn.lastOk !== undefined ? { lastSeen: rfc3339(conn.lastOk) } : before?.lastSeen ? { lastSeen: before.lastSeen } : {}),
      conditions,
    };
    const topoChanged = before?.region !== status.region || JSON.stringify(before?.zones) !== JSON.stringify(status.zones);
    // lastSeen moves every probe: written only along with a real change, so a healthy member costs no writes.
    if (!topoChanged && condKey(before?.conditions ?? []) === condKey(conditions)) return undefined;
    await store.updateObject({ ...cur, object: { ...cur.object, status }, actor: CONTROLLER_ACTOR }, cur.resourceVersion, this.fence());
    return topoChanged ? `cluster ${conn.name} topology from its nodes: ${status.region}/${status.zones.join(',')}` : undefined;
  }
}

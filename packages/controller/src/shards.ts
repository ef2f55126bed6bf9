import { addressFamily, canonicalAddress, compareAddresses, type LocalShard, policyFromService, probeTargetText } from '@fedns/model';
import type { Fence, Store, StoredShard } from '@fedns/store';
import type { ClusterConnections } from './connections.js';
import type { HostnameFlattener } from './flatten.js';
import { type HealthTiming, healthFromStored, healthToStored, judgeObservation, nextShardHealth } from './health.js';
import { clusterIPsOf, ingressOf, readyEndpointAddresses } from './member.js';
import type { ControllerMetrics } from './metrics.js';
import { type Owner, ownershipOf } from './ownership.js';
import type { FederatedService } from './propagate.js';
import type { ProbeJudgement } from './probe-judge.js';
import type { ReconcileResult } from './queue.js';

export interface ShardReconcilerOptions {
  store: Store;
  connections: ClusterConnections;
  flattener: HostnameFlattener;
  owner: Owner;
  timing: HealthTiming;
  metrics: ControllerMetrics;
  /** The leader's fence for every write (undefined when the engine needs no election). */
  fence: () => Fence | undefined;
  /** A shard's published state changed: the service's records and status look again. */
  onShardChanged(namespace: string, name: string, cause: string): void;
  /** Only the status-relevant parts changed (message, ready count). */
  onStatusStale(namespace: string, name: string): void;
  /** Every controller's probe verdicts on a shard, judged (issue 14); undefined when no verdict counts. */
  probes?: (cluster: string, namespace: string, name: string, target: string, addresses: readonly string[]) => ProbeJudgement | undefined;
  /** What the shard offers its own cluster changed (cluster IPs, local health, headless endpoints): the in-cluster answers look again. */
  onLocalChanged?(namespace: string, name: string): void;
}

/** What a shard offers its own cluster right now, before the time rules. */
interface LocalObservation {
  clusterIPs: string[];
  headless: boolean;
  endpoints: string[];
  judged: { ok: boolean; message: string };
}

export const shardKey = (cluster: string, namespace: string, name: string) => `${cluster}/${namespace}/${name}`;
export function parseShardKey(key: string): [cluster: string, namespace: string, name: string] {
  const [cluster = '', namespace = '', name = ''] = key.split('/');
  return [cluster, namespace, name];
}

/** Whether a federated service is placed in a cluster (federation.fedns.io/clusters; every cluster when unset). */
export function placedIn(cluster: string, fed: FederatedService | undefined): boolean {
  if (!fed) return false;
  const p = policyFromService(fed.metadata);
  return p.clusters === undefined || p.clusters.includes(cluster);
}

export function normaliseAddresses(addrs: string[]): string[] {
  return [...new Set(addrs.filter((a) => addressFamily(a) !== undefined).map(canonicalAddress))].sort(compareAddresses);
}

/**
 * One shard's health (DESIGN §4): reads the federated service, the member's
 * caches and the shard's stored state, applies the time rules, and writes
 * the shard row when it changed. The store row is the whole state, so a
 * restart continues where it stopped. A member that cannot be observed yet
 * (unreachable within its grace period, or not listed since it connected)
 * leaves the shard exactly as stored.
 */
export class ShardReconciler {
  /** Shards whose member object another federation owns, per cluster (for the metric). */
  private readonly conflicts = new Map<string, Set<string>>();

  constructor(private readonly opts: ShardReconcilerOptions) {}

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const [cluster, namespace, name] = parseShardKey(key);
    const { store, connections } = this.opts;
    const conn = connections.get(cluster);
    const fed = (await store.getObject<FederatedService>('services', namespace, name))?.object;
    const prev = await store.getShard(cluster, namespace, name);
    // A cluster that is stored but not connected yet (joined a moment ago, or this process just
    // started): its shards stay; the connection looks at them once it is up.
    if (!conn && (await store.getObject('clusters', '', cluster))) return undefined;
    // A cluster fedns cannot watch (no credentials): its shards are reported by other means; left as they are.
    if (conn?.unmanaged) return undefined;
    if (!conn || !fed || !placedIn(cluster, fed)) {
      this.noteConflict(cluster, key, undefined);
      if (prev) {
        await store.deleteShard(cluster, namespace, name, this.opts.fence());
        const why = !conn ? `cluster ${cluster} left the federation` : !fed ? `service ${namespace}/${name} deleted` : `service ${namespace}/${name} no longer placed in ${cluster}`;
        this.opts.onShardChanged(namespace, name, `shard ${cluster}/${namespace}/${name} removed: ${why}`);
      }
      return undefined;
    }
    const now = Date.now();
    let observed: Omit<StoredShard, 'healthy' | 'since' | 'message' | 'everHealthy' | 'recoveringSince'>;
    let judged: { ok: boolean; message: string };
    let local: LocalObservation;
    if (!conn.countsReady) {
      // Past its grace period: unhealthy, but its last known addresses stay known (fail-open may still need them).
      observed = { cluster, namespace, service: name, addresses: prev?.addresses ?? [], readyEndpoints: prev?.readyEndpoints ?? 0, reported: true };
      judged = { ok: false, message: `cluster not ready: ${conn.problem ?? 'unreachable past the grace period'}` };
      local = { clusterIPs: prev?.local?.clusterIPs ?? [], headless: prev?.local?.headless ?? false, endpoints: prev?.local?.endpoints ?? [], judged };
    } else if (!connections.observable(conn) || !conn.member) {
      return undefined; // keep the last known state; the member's next sync or readiness change looks again
    } else {
      const live = conn.member.getService(namespace, name);
      const owner = ownershipOf(live, this.opts.owner);
      if (owner.kind === 'foreign') {
        observed = { cluster, namespace, service: name, addresses: [], readyEndpoints: 0, reported: true, conflict: owner.owner };
        judged = { ok: false, message: `member Service ${namespace}/${name} belongs to federation ${owner.owner}; fedns leaves it alone` };
        local = { clusterIPs: [], headless: false, endpoints: [], judged };
      } else {
        const { ips, hostnames } = ingressOf(live);
        const flattened = hostnames.map((h) => this.opts.flattener.addresses(h));
        // A hostname not resolved yet (e.g. just after a restart): keep the addresses already known.
        const pendingLookup = flattened.some((a) => a === undefined);
        const addresses = pendingLookup && prev ? prev.addresses : normaliseAddresses([...ips, ...flattened.flatMap((a) => a ?? [])]);
        const ready = readyEndpointAddresses(conn.member.slicesOf(namespace, name));
        const readyEndpoints = ready.length;
        const policy = policyFromService({ ...fed.metadata, namespace, name });
        observed = { cluster, namespace, service: name, addresses, readyEndpoints, reported: (prev?.reported ?? false) || (live !== undefined && addresses.length > 0) };
        judged = judgeObservation({ serviceExists: live !== undefined, addresses, readyEndpoints }, policy.minReadyEndpoints);
        // Published only when readiness and the probes from outside both say healthy.
        if (judged.ok && policy.probe) {
          const probed = this.opts.probes?.(cluster, namespace, name, probeTargetText(policy.probe), addresses);
          if (probed?.failed) judged = { ok: false, message: probed.message };
        }
        const { clusterIPs, headless } = clusterIPsOf(live);
        local = { clusterIPs: normaliseAddresses(clusterIPs), headless, endpoints: headless ? normaliseAddresses(ready) : [], judged: judgeLocal(live !== undefined, clusterIPs.length > 0 || headless, readyEndpoints, policy.minReadyEndpoints) };
      }
    }
    this.noteConflict(cluster, key, observed.conflict);
    const { state, recheckAt } = nextShardHealth(prev && healthFromStored(prev), judged, now, this.opts.timing);
    // Local health (issue 12): the same time rules, on what the shard's own cluster sees.
    const localNext = nextShardHealth(prev?.local && healthFromStored(prev.local), local.judged, now, this.opts.timing);
    const localRow: LocalShard = { clusterIPs: local.clusterIPs, headless: local.headless, endpoints: local.endpoints, ...healthToStored(localNext.state) };
    const row: StoredShard = { ...observed, ...healthToStored(state), local: localRow };
    if (!prev || !sameShard(prev, row)) {
      await store.putShard(row, this.opts.fence());
      const published = !prev || prev.healthy !== row.healthy || prev.addresses.join() !== row.addresses.join() || prev.readyEndpoints !== row.readyEndpoints || prev.reported !== row.reported;
      if (prev && prev.healthy !== row.healthy) this.opts.metrics.transitions.inc({ cluster, state: row.healthy ? 'healthy' : 'unhealthy' });
      if (published) this.opts.onShardChanged(namespace, name, `shard ${cluster}/${namespace}/${name} ${row.healthy ? 'healthy' : 'unhealthy'}: ${row.message}`);
      else this.opts.onStatusStale(namespace, name);
      if (localAnswerChanged(prev?.local, localRow)) this.opts.onLocalChanged?.(namespace, name);
    }
    const recheck = [recheckAt, localNext.recheckAt].filter((t): t is number => t !== undefined);
    return recheck.length ? { requeueAfterMs: Math.max(Math.min(...recheck) - now, 1) } : undefined;
  }

  private noteConflict(cluster: string, key: string, owner: string | undefined): void {
    let set = this.conflicts.get(cluster);
    if (owner) {
      if (!set) this.conflicts.set(cluster, (set = new Set()));
      set.add(key);
    } else if (!set?.delete(key)) return;
    this.opts.metrics.conflicts.set({ cluster }, set?.size ?? 0);
  }

  forgetCluster(cluster: string): void {
    this.conflicts.delete(cluster);
    this.opts.metrics.conflicts.remove({ cluster });
  }
}

/** Local health needs no load balancer: the Service there, with a cluster IP (or headless), and enough ready endpoints. */
export function judgeLocal(serviceExists: boolean, addressable: boolean, readyEndpoints: number, minReadyEndpoints: number): { ok: boolean; message: string } {
  if (!serviceExists) return { ok: false, message: 'service missing in the member cluster' };
  if (!addressable) return { ok: false, message: 'no cluster IP' };
  if (readyEndpoints < minReadyEndpoints) return { ok: false, message: `${readyEndpoints} ready endpoint(s), fewer than ${minReadyEndpoints}` };
  return { ok: true, message: `${readyEndpoints} ready endpoint(s)` };
}

/** Whether what the in-cluster answers read from a shard changed. */
function localAnswerChanged(a: LocalShard | undefined, b: LocalShard): boolean {
  return !a || a.healthy !== b.healthy || a.headless !== b.headless || a.clusterIPs.join() !== b.clusterIPs.join() || a.endpoints.join() !== b.endpoints.join();
}

function sameShard(a: StoredShard, b: StoredShard): boolean {
  return (
    JSON.stringify(a.local ?? null) === JSON.stringify(b.local ?? null) &&
    a.healthy === b.healthy &&
    a.readyEndpoints === b.readyEndpoints &&
    a.message === b.message &&
    a.addresses.join() === b.addresses.join() &&
    a.since === b.since &&
    (a.everHealthy ?? a.healthy) === (b.everHealthy ?? b.healthy) &&
    a.recoveringSince === b.recoveringSince &&
    (a.reported ?? true) === (b.reported ?? true) &&
    a.conflict === b.conflict
  );
}

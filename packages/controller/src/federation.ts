import type { ClusterObject } from '@fedns/model';
import { summarizeService } from '@fedns/cascade';
import { addressFamily, canonicalAddress, compareAddresses, policyFromService, topologyFromCluster } from '@fedns/model';
import type { Store, StoredShard } from '@fedns/store';
import { Counter, Gauge, type Registry } from 'prom-client';
import { HostnameFlattener } from './flatten.js';
import {
  clusterCountsReady,
  DEFAULT_TIMING,
  type HealthTiming,
  judgeObservation,
  nextShardHealth,
  type ShardHealthState,
  topologyFromNodes,
} from './health.js';
import { apiCode, countReadyEndpoints, ingressOf, MANAGED_LABEL, MemberCluster, type MemberEvent } from './member.js';
import { desiredMemberService, type FederatedService, memberDrift, mergeForReplace } from './propagate.js';
import type { RecordsReconciler } from './records.js';

export interface FederationControllerOptions {
  store: Store;
  records: RecordsReconciler;
  timing?: HealthTiming;
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  /** Full resync period: every key looked at again, whatever the events said. */
  resyncMs?: number;
  resolverServers?: string[];
  registry?: Registry;
  logger?: { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void; error: (o: object, m?: string) => void; debug: (o: object, m?: string) => void };
}

export interface ClusterCondition {
  type: 'Ready' | 'Drained';
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
  lastProbeTime?: string;
}

export interface ClusterStatusView {
  region: string;
  zones: string[];
  conditions: ClusterCondition[];
}

interface ClusterRuntime {
  member: MemberCluster;
  reachable: boolean;
  lastOk?: number;
  countsReady: boolean;
  graceTimer?: NodeJS.Timeout;
}

const shardKey = (cluster: string, ns: string, name: string) => `${cluster}|${ns}|${name}`;
const svcKey = (ns: string, name: string) => `${ns}/${name}`;

/**
 * The member-cluster side of fedns: keeps one MemberCluster per joined
 * cluster, propagates federated Services into them, derives each shard's
 * health from their informers and probes, writes shard rows and cluster and
 * service status, and marks services dirty for the records reconciler.
 */
export class FederationController {
  private readonly clusters = new Map<string, ClusterRuntime>();
  private readonly health = new Map<string, ShardHealthState>();
  private readonly propagating = new Map<string, Promise<void>>();
  private readonly propagateAgain = new Set<string>();
  private readonly recheckTimers = new Map<string, NodeJS.Timeout>();
  private readonly statusDirty = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly flattener: HostnameFlattener;
  private readonly timing: HealthTiming;
  private readonly metrics;
  private stopped = false;

  constructor(private readonly opts: FederationControllerOptions) {
    this.timing = opts.timing ?? DEFAULT_TIMING;
    this.flattener = new HostnameFlattener({ servers: opts.resolverServers, onChange: () => this.evaluateAll() });
    const registers = opts.registry ? [opts.registry] : [];
    this.metrics = {
      propagations: new Counter({ name: 'fedns_propagations_total', help: 'Member Service writes by action and result', labelNames: ['action', 'result'], registers }),
      transitions: new Counter({ name: 'fedns_shard_transitions_total', help: 'Shard health changes (flaps) by new state', labelNames: ['state'], registers }),
      clustersReady: new Gauge({ name: 'fedns_clusters_ready', help: 'Member clusters counted Ready', registers }),
      failOpen: new Gauge({ name: 'fedns_services_without_healthy_shard', help: 'Federated services with no healthy shard (answered fail-open or fail-closed)', registers }),
    };
  }

  private get log() {
    return this.opts.logger;
  }

  async start(): Promise<void> {
    // syncClusters ends with a full resync: no second one here.
    await this.syncClusters();
    this.timers.push(setInterval(() => void this.probeAll(), this.opts.probeIntervalMs ?? 1000));
    this.timers.push(setInterval(() => this.resync(), this.opts.resyncMs ?? 30_000));
    for (const t of this.timers) t.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const t of this.recheckTimers.values()) clearTimeout(t);
    this.flattener.stop();
    await Promise.all([...this.clusters.values()].map((c) => c.member.stop()));
    this.clusters.clear();
  }

  /** Brings the set of running member clients in line with the store's clusters (join/unjoin). */
  async syncClusters(): Promise<void> {
    const { store } = this.opts;
    const wanted = new Map(store.listClusters<ClusterObject>().map((c) => [c.name, c]));
    for (const [name, rt] of this.clusters) {
      if (wanted.has(name)) continue;
      await rt.member.stop();
      clearTimeout(rt.graceTimer);
      this.clusters.delete(name);
      for (const k of [...this.health.keys()]) if (k.startsWith(`${name}|`)) this.health.delete(k);
      const affected = store.listShards().filter((s) => s.cluster === name);
      store.deleteShardsOfCluster(name);
      for (const s of affected) this.opts.records.enqueue(s.namespace, s.service, `cluster ${name} unjoined`);
      this.log?.info({ cluster: name }, 'member cluster removed');
    }
    for (const name of wanted.keys()) {
      if (this.clusters.has(name)) continue;
      const kubeconfig = store.clusterCredentials(name);
      if (!kubeconfig) {
        this.log?.warn({ cluster: name }, 'cluster has no credentials; not connecting');
        continue;
      }
      const member = new MemberCluster({ name, kubeconfig, onEvent: (c, ev) => this.onMemberEvent(c, ev), logger: this.opts.logger });
      const rt: ClusterRuntime = { member, reachable: false, countsReady: false };
      this.clusters.set(name, rt);
      await this.probe(name, rt);
      void member.start();
      this.log?.info({ cluster: name }, 'member cluster connected');
    }
    for (const name of this.clusters.keys()) this.writeClusterStatus(name);
    this.opts.records.enqueueAll('cluster set changed');
    this.resync();
  }

  /** Every federated service × placed cluster looked at again (level-triggered safety net). */
  resync(): void {
    for (const s of this.opts.store.listServices<FederatedService>()) this.onServiceChange(s.namespace, s.name);
    // Shards of services that no longer exist.
    for (const sh of this.opts.store.listShards()) {
      if (!this.opts.store.getService(sh.namespace, sh.service)) this.onServiceChange(sh.namespace, sh.service);
    }
  }

  /** A federated service was created, changed or deleted. */
  onServiceChange(namespace: string, name: string): void {
    for (const cluster of this.clusters.keys()) {
      this.propagate(cluster, namespace, name);
      this.evaluate(cluster, namespace, name);
    }
    const fed = this.opts.store.getService(namespace, name);
    if (!fed) {
      this.opts.store.deleteShardsOfService(namespace, name);
      for (const k of [...this.health.keys()]) if (k.endsWith(`|${namespace}|${name}`)) this.health.delete(k);
      this.opts.records.enqueue(namespace, name, `service ${namespace}/${name} deleted`);
    }
  }

  private onMemberEvent(cluster: string, ev: MemberEvent): void {
    if (this.stopped) return;
    switch (ev.kind) {
      case 'service':
        this.propagate(cluster, ev.namespace, ev.name);
        this.evaluate(cluster, ev.namespace, ev.name);
        break;
      case 'endpointslice':
        this.evaluate(cluster, ev.namespace, ev.name);
        break;
      case 'nodes':
        this.writeClusterStatus(cluster);
        break;
      case 'connection': {
        const rt = this.clusters.get(cluster);
        if (rt) void this.probe(cluster, rt);
        break;
      }
    }
  }

  private placed(cluster: string, fed: { metadata: { name: string; namespace: string; annotations?: Record<string, string> } } | undefined): boolean {
    if (!fed) return false;
    const p = policyFromService(fed.metadata);
    return p.clusters === undefined || p.clusters.includes(cluster);
  }

  // ---- propagation ------------------------------------------------------

  /** Serialised per key: a request while one runs makes it run once more afterwards. */
  private propagate(cluster: string, namespace: string, name: string): void {
    const key = shardKey(cluster, namespace, name);
    if (this.propagating.has(key)) {
      this.propagateAgain.add(key);
      return;
    }
    const run = async (attempt: number): Promise<void> => {
      try {
        await this.reconcileMember(cluster, namespace, name);
      } catch (err) {
        const delay = Math.min(200 * 2 ** attempt, 10_000);
        this.log?.warn({ cluster, service: svcKey(namespace, name), err: String(err), retryInMs: delay }, 'propagation failed; will retry');
        await new Promise((r) => setTimeout(r, delay).unref());
        if (!this.stopped && this.clusters.has(cluster)) return run(attempt + 1);
      }
    };
    const p = run(0).finally(() => {
      this.propagating.delete(key);
      if (this.propagateAgain.delete(key) && !this.stopped) this.propagate(cluster, namespace, name);
    });
    this.propagating.set(key, p);
  }

  private async reconcileMember(cluster: string, namespace: string, name: string): Promise<void> {
    const rt = this.clusters.get(cluster);
    if (!rt || this.stopped) return;
    const stored = this.opts.store.getService<FederatedService>(namespace, name);
    const fed = stored?.object;
    const live = rt.member.getService(namespace, name);
    const { core } = rt.member;
    const count = (action: string, result: string) => this.metrics.propagations.inc({ action, result });

    if (!fed || !this.placed(cluster, fed)) {
      if (live?.metadata?.labels?.[MANAGED_LABEL] === 'true') {
        await core.deleteNamespacedService({ namespace, name }).catch((err) => {
          if (apiCode(err) !== 404) throw err;
        });
        count('delete', 'ok');
        this.log?.info({ cluster, service: svcKey(namespace, name) }, 'member service deleted');
      }
      return;
    }
    const desired = desiredMemberService({ ...fed, metadata: { ...fed.metadata, namespace, name } });
    if (!live) {
      try {
        await core.createNamespacedService({ namespace, body: desired });
      } catch (err) {
        if (apiCode(err) === 404) {
          // The namespace does not exist in the member yet: create it, then retry.
          await core.createNamespace({ body: { metadata: { name: namespace } } }).catch((e) => {
            if (apiCode(e) !== 409) throw e;
          });
          await core.createNamespacedService({ namespace, body: desired });
        } else if (apiCode(err) === 409) {
          // Exists but our informer has not seen it yet: adopt it through a fresh read.
          const cur = await core.readNamespacedService({ namespace, name });
          await core.replaceNamespacedService({ namespace, name, body: mergeForReplace(cur, desired) });
          count('adopt', 'ok');
          return;
        } else throw err;
      }
      count('create', 'ok');
      this.log?.info({ cluster, service: svcKey(namespace, name) }, 'member service created');
      return;
    }
    const drift = memberDrift(live, desired);
    if (drift) {
      const adopting = live.metadata?.labels?.[MANAGED_LABEL] !== 'true';
      await core.replaceNamespacedService({ namespace, name, body: mergeForReplace(live, desired) }).catch(async (err) => {
        if (apiCode(err) !== 409) throw err;
        // Our cached copy was stale (e.g. the member's LB controller just wrote status): read, then replace once more.
        const fresh = await core.readNamespacedService({ namespace, name });
        if (memberDrift(fresh, desired)) await core.replaceNamespacedService({ namespace, name, body: mergeForReplace(fresh, desired) });
      });
      count(adopting ? 'adopt' : 'update', 'ok');
      this.log?.info({ cluster, service: svcKey(namespace, name), drift }, adopting ? 'member service adopted' : 'member service drift corrected');
    }
  }

  // ---- health -------------------------------------------------------------

  private evaluateAll(): void {
    for (const s of this.opts.store.listServices<FederatedService>()) for (const c of this.clusters.keys()) this.evaluate(c, s.namespace, s.name);
  }

  /** Recomputes one shard's effective health and publishes it when it changed. */
  private evaluate(cluster: string, namespace: string, name: string): void {
    const rt = this.clusters.get(cluster);
    const { store } = this.opts;
    const fed = store.getService<FederatedService>(namespace, name)?.object;
    const key = shardKey(cluster, namespace, name);
    if (!rt || !fed || !this.placed(cluster, fed)) {
      if (this.health.delete(key) || store.shardsOfService(namespace, name).some((s) => s.cluster === cluster)) {
        store.deleteShard(cluster, namespace, name);
        this.opts.records.enqueue(namespace, name, `shard ${cluster}/${namespace}/${name} removed`);
      }
      return;
    }
    const now = Date.now();
    const prev = this.health.get(key);
    if (!rt.reachable && rt.countsReady && prev) return; // within the grace period: keep the last known state
    const live = rt.member.getService(namespace, name);
    const { ips, hostnames } = ingressOf(live);
    const addresses = normaliseAddresses([...ips, ...hostnames.flatMap((h) => this.flattener.addresses(h))]);
    const readyEndpoints = countReadyEndpoints(rt.member.slicesOf(namespace, name));
    const policy = policyFromService({ ...fed.metadata, namespace, name });
    const judged = rt.countsReady
      ? judgeObservation({ serviceExists: Boolean(live), addresses, readyEndpoints }, policy.minReadyEndpoints)
      : { ok: false, message: 'cluster not ready (unreachable past the grace period)' };
    const { state, recheckAt } = nextShardHealth(prev, judged, now, this.timing);
    this.health.set(key, state);
    if (recheckAt !== undefined) this.scheduleRecheck(key, cluster, namespace, name, recheckAt - now);

    const row: StoredShard = { cluster, namespace, service: name, addresses, readyEndpoints, healthy: state.healthy, since: new Date(state.since).toISOString(), message: state.message };
    const old = store.shardsOfService(namespace, name).find((s) => s.cluster === cluster);
    if (old && sameShard(old, row)) return;
    store.putShard(row);
    this.statusChanged(namespace, name);
    if (!old || old.healthy !== row.healthy || old.addresses.join() !== row.addresses.join() || old.readyEndpoints !== row.readyEndpoints) {
      if (old && old.healthy !== row.healthy) this.metrics.transitions.inc({ state: row.healthy ? 'healthy' : 'unhealthy' });
      this.opts.records.enqueue(namespace, name, `shard ${cluster}/${namespace}/${name} ${row.healthy ? 'healthy' : 'unhealthy'}: ${row.message}`);
    }
  }

  private scheduleRecheck(key: string, cluster: string, namespace: string, name: string, inMs: number): void {
    if (this.recheckTimers.has(key)) return;
    const t = setTimeout(() => {
      this.recheckTimers.delete(key);
      if (!this.stopped) this.evaluate(cluster, namespace, name);
    }, Math.max(inMs, 1));
    t.unref();
    this.recheckTimers.set(key, t);
  }

  // ---- cluster probes and status -----------------------------------------

  private async probeAll(): Promise<void> {
    await Promise.all([...this.clusters.entries()].map(([name, rt]) => this.probe(name, rt)));
  }

  private async probe(name: string, rt: ClusterRuntime): Promise<void> {
    const ok = (await rt.member.probe(this.opts.probeTimeoutMs ?? 1000)) && !this.stopped;
    if (this.stopped || this.clusters.get(name) !== rt) return;
    const now = Date.now();
    const wasReady = rt.countsReady;
    const wasReachable = rt.reachable;
    rt.reachable = ok;
    if (ok) rt.lastOk = now;
    rt.countsReady = clusterCountsReady(rt.lastOk, ok, now, this.timing);
    if (!ok && rt.countsReady && !rt.graceTimer) {
      // Re-judge the moment the grace period ends, not at the next probe.
      rt.graceTimer = setTimeout(() => {
        rt.graceTimer = undefined;
        void this.probe(name, rt);
      }, this.timing.clusterGraceMs - (now - (rt.lastOk ?? now)) + 5);
      rt.graceTimer.unref();
    }
    if (ok) {
      clearTimeout(rt.graceTimer);
      rt.graceTimer = undefined;
    }
    this.metrics.clustersReady.set([...this.clusters.values()].filter((c) => c.countsReady).length);
    if (wasReady !== rt.countsReady || wasReachable !== ok) {
      this.log?.info({ cluster: name, reachable: ok, ready: rt.countsReady }, 'member cluster state changed');
      this.writeClusterStatus(name);
      for (const s of this.opts.store.listServices()) this.evaluate(name, s.namespace, s.name);
    } else if (ok && !rt.member.synced) {
      this.writeClusterStatus(name);
    }
  }

  private writeClusterStatus(name: string): void {
    const rt = this.clusters.get(name);
    const { store } = this.opts;
    const cur = store.getCluster<ClusterObject & { status?: ClusterStatusView }>(name);
    // A Cluster written by the API between our read and now is re-read next time; the row is the truth.
    if (!rt || !cur) return;
    const topo = topologyFromNodes(rt.member.nodes.list());
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const ready = rt.countsReady;
    const reason = rt.reachable ? 'ClusterReady' : ready ? 'ClusterUnreachableInGrace' : 'ClusterNotReachable';
    const message = rt.reachable ? '/readyz ok' : ready ? 'not answering; shards keep their last known state during the grace period' : 'not answering past the grace period; its shards count as unhealthy';
    const prevConds = cur.object.status?.conditions ?? [];
    const since = (type: string, status: string) => {
      const p = prevConds.find((c) => c.type === type);
      return p && p.status === status ? p.lastTransitionTime : now;
    };
    const readyStatus = ready ? 'True' : 'False';
    const spec = cur.object.spec ?? {};
    const drainedZones = spec.drainedZones ?? [];
    const drainStatus = spec.drained || drainedZones.length ? 'True' : 'False';
    const conditions: ClusterCondition[] = [
      { type: 'Ready', status: readyStatus, reason, message, lastTransitionTime: since('Ready', readyStatus), lastProbeTime: now },
      {
        type: 'Drained',
        status: drainStatus,
        reason: spec.drained ? 'ClusterDrained' : drainedZones.length ? 'ZonesDrained' : 'NotDrained',
        message: spec.drained ? 'spec.drained: no shard of this cluster is published' : drainedZones.length ? `spec.drainedZones: ${drainedZones.join(', ')} not published` : 'serving',
        lastTransitionTime: since('Drained', drainStatus),
      },
    ];
    const status: ClusterStatusView = {
      region: topo.region || (cur.object.status?.region ?? ''),
      zones: topo.zones.length ? topo.zones : (cur.object.status?.zones ?? []),
      conditions,
    };
    const before = cur.object.status;
    const topoChanged = before?.region !== status.region || JSON.stringify(before?.zones) !== JSON.stringify(status.zones);
    const condKey = (cs: ClusterCondition[]) => cs.map((c) => `${c.type}=${c.status}/${c.reason}`).join(',');
    const condChanged = condKey(prevConds) !== condKey(conditions);
    if (!topoChanged && !condChanged) return;
    store.tx(() => store.putCluster({ ...cur, resourceVersion: store.nextResourceVersion(), object: { ...cur.object, status } }));
    if (topoChanged) this.opts.records.enqueueAll(`cluster ${name} topology ${status.region}/${status.zones.join(',')}`);
  }

  /** Rewrites the federated Service's status: LB ingress of every shard, and a per-cluster summary. */
  private statusChanged(namespace: string, name: string): void {
    const key = svcKey(namespace, name);
    if (this.statusDirty.has(key)) return;
    this.statusDirty.add(key);
    setImmediate(() => {
      this.statusDirty.delete(key);
      this.writeServiceStatus(namespace, name);
    });
  }

  private writeServiceStatus(namespace: string, name: string): void {
    const { store } = this.opts;
    store.tx(() => {
      const cur = store.getService<FederatedService & { status?: Record<string, unknown> }>(namespace, name);
      if (!cur) return;
      const shards = store.shardsOfService(namespace, name);
      const ips = normaliseAddresses(shards.flatMap((s) => s.addresses));
      const healthy = shards.filter((s) => s.healthy);
      const summary = shards.map((s) => `${s.cluster}=${s.healthy ? 'healthy' : 'unhealthy'}(${s.message})`).join(', ');
      const conditionStatus = healthy.length > 0 ? 'True' : 'False';
      const policy = policyFromService({ ...cur.object.metadata, namespace, name });
      const clusters = store.listClusters<ClusterObject>().map((c) => topologyFromCluster(c.object));
      const global = summarizeService(this.opts.records.federation, policy, clusters, shards);
      const globalNote: Record<typeof global.state, string> = {
        healthy: `the global name serves ${global.servableClusters.length} cluster(s)`,
        'fail-open': 'no healthy shard: the global name fails open with every known shard address',
        'fail-closed': 'no healthy shard: the global name answers NODATA (fail-closed)',
        'no-address': 'no shard has a load-balancer address yet',
      };
      const oldCond = (cur.object.status?.conditions as { status: string; lastTransitionTime: string }[] | undefined)?.[0];
      const status = {
        loadBalancer: ips.length ? { ingress: ips.map((ip) => ({ ip })) } : {},
        conditions: [
          {
            type: 'ShardsHealthy',
            status: conditionStatus,
            reason: healthy.length > 0 ? 'HealthyShards' : global.state === 'fail-closed' ? 'FailClosed' : 'FailOpen',
            message: `${healthy.length}/${shards.length} shards healthy, ${global.servableClusters.length} serving; ${globalNote[global.state]}`,
            lastTransitionTime: oldCond && oldCond.status === conditionStatus ? oldCond.lastTransitionTime : new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        ],
      };
      const annotations = { ...(cur.object.metadata.annotations ?? {}), 'federation.fedns.io/shards': summary };
      if (JSON.stringify(status) === JSON.stringify(cur.object.status) && cur.object.metadata.annotations?.['federation.fedns.io/shards'] === summary) return;
      store.putService({ ...cur, resourceVersion: store.nextResourceVersion(), object: { ...cur.object, metadata: { ...cur.object.metadata, annotations }, status } });
    });
    const noHealthy = store.listServices().filter((s) => !store.shardsOfService(s.namespace, s.name).some((sh) => sh.healthy)).length;
    this.metrics.failOpen.set(noHealthy);
  }

  /** For `explain` and tests: the runtime view of one cluster. */
  clusterState(name: string): { reachable: boolean; countsReady: boolean; synced: boolean } | undefined {
    const rt = this.clusters.get(name);
    return rt && { reachable: rt.reachable, countsReady: rt.countsReady, synced: rt.member.synced };
  }
}

function normaliseAddresses(addrs: string[]): string[] {
  return [...new Set(addrs.filter((a) => addressFamily(a) !== undefined).map(canonicalAddress))].sort(compareAddresses);
}

function sameShard(a: StoredShard, b: StoredShard): boolean {
  return a.healthy === b.healthy && a.readyEndpoints === b.readyEndpoints && a.message === b.message && a.addresses.join() === b.addresses.join() && a.since === b.since;
}


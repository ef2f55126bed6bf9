import type { FederationRef } from '@fedns/cascade';
import type { PolicyDefaults } from '@fedns/model';
import { DEFAULT_POLICY } from '@fedns/model';
import { ConflictError, type Fence, FencedError, type Store } from '@fedns/store';
import type { Registry } from 'prom-client';
import { ClusterAnswersReconciler } from './cluster-answers.js';
import { ClusterConnections, type Connection } from './connections.js';
import { CoreDnsReconciler, type InClusterDnsSettings } from './coredns.js';
import { HostnameFlattener } from './flatten.js';
import { DEFAULT_TIMING, type HealthTiming } from './health.js';
import { type Logger, SILENT } from './logger.js';
import type { MemberEvent } from './member.js';
import { type ControllerMetrics, controllerMetrics } from './metrics.js';
import type { Owner } from './ownership.js';
import { Prober } from './prober.js';
import { ProbeView } from './probe-view.js';
import { PropagationReconciler } from './propagation.js';
import { type ReconcileResult, WorkQueue } from './queue.js';
import type { RecordsReconciler } from './records.js';
import { parseShardKey, ShardReconciler, shardKey } from './shards.js';
import { StatusWriter } from './status.js';

export interface FederationControllerOptions {
  store: Store;
  records: RecordsReconciler;
  /** The federation name and this installation's id, marked on every member object (ownership.ts). */
  owner: Owner;
  timing?: HealthTiming;
  defaults?: PolicyDefaults;
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  /** Full resync period: every key looked at again, whatever the events said. */
  resyncMs?: number;
  resolverServers?: string[];
  registry?: Registry;
  logger?: Logger;
  /** The leader's fence for every write (undefined when the engine needs no election). */
  fence?: () => Fence | undefined;
  metrics?: ControllerMetrics;
  /** In-cluster answers (issue 12): the server block kept in each member's CoreDNS; undefined = off (blocks removed). */
  inClusterDns?: InClusterDnsSettings;
  /**
   * Start as a standby (default: leading). A standby keeps its members
   * connected, watched and probed, and queues what it would reconcile; it
   * writes nothing until `lead()`, so a takeover costs one reconcile, not a
   * reconnect to every member (controller-runtime's caches run on every
   * replica, its reconcilers only on the leader).
   */
  standby?: boolean;
  /** A write was refused because this process's fence is no longer current. */
  onFenced?: () => void;
  /**
   * This process's identity as a prober (issue 14): every controller, leading
   * or not, probes shards whose service has a probe and records its verdicts
   * under it. Default `controller`.
   */
  proberId?: string;
  /** Tests: how a probe of one address is made. */
  probeCheck?: ConstructorParameters<typeof Prober>[0]['check'];
}

const svcKey = (ns: string, name: string) => `${ns}/${name}`;

/**
 * The member-cluster side of fedns, wired in one place (controller-runtime's
 * manager): one reconciler per concern, each behind its own work queue —
 * connections (cluster name), propagation and shard health (cluster/ns/name),
 * service status (ns/name) — fed by the API's change callbacks, the member
 * informers, the probes and a periodic resync. A reconcile that fails is
 * retried with back-off and never leaves its queue, so no object in the store
 * can take the process down.
 */
export class FederationController {
  private readonly log: Logger;
  private readonly metrics;
  private readonly connections: ClusterConnections;
  private readonly shards: ShardReconciler;
  private readonly propagation: PropagationReconciler;
  private readonly status: StatusWriter;
  private readonly flattener: HostnameFlattener;
  private readonly prober: Prober;
  private readonly probeView: ProbeView;
  private readonly coredns: CoreDnsReconciler;
  private readonly answers: ClusterAnswersReconciler;
  private readonly queues: { connections: WorkQueue; clusterStatus: WorkQueue; propagation: WorkQueue; shards: WorkQueue; status: WorkQueue; coredns: WorkQueue; answers: WorkQueue };
  /** Keys failing propagation, per cluster: logged when a cluster starts and stops failing, counted always. */
  private readonly failing = new Map<string, Set<string>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly defaults: PolicyDefaults;
  private leading: boolean;

  constructor(private readonly opts: FederationControllerOptions) {
    this.log = opts.logger ?? SILENT;
    this.metrics = opts.metrics ?? controllerMetrics(opts.registry);
    this.defaults = opts.defaults ?? DEFAULT_POLICY;
    this.leading = !opts.standby;
    const timing = opts.timing ?? DEFAULT_TIMING;
    const { store, records } = opts;
    const fence = () => opts.fence?.();
    this.flattener = new HostnameFlattener({ servers: opts.resolverServers, onChange: () => this.resyncShards() });
    this.connections = new ClusterConnections({
      store,
      timing,
      probeTimeoutMs: opts.probeTimeoutMs ?? 1000,
      persistEveryMs: 30_000,
      startedAt: Date.now(),
      metrics: this.metrics,
      log: this.log,
      fence,
      mayWrite: () => this.leading,
      hooks: {
        onMemberEvent: (cluster, ev) => this.onMemberEvent(cluster, ev),
        onStateChanged: (conn) => {
          this.queues.coredns.add(conn.name);
          this.background(() => this.clusterKeys(conn.name, conn.reachable));
        },
        // The records reconciler names these changes (and who made them) from the object log.
        onSpecChanged: () =>
          this.background(async () => {
            records.enqueueAll();
            await this.statusAll();
            await this.answersAll();
          }),
        onRemoved: (cluster) =>
          this.background(async () => {
            this.shards.forgetCluster(cluster);
            this.failing.delete(cluster);
            records.enqueueAll();
            for (const s of await store.shardsOfCluster(cluster)) this.queues.shards.add(shardKey(cluster, s.namespace, s.service));
            await this.statusAll();
            await this.answersAll();
          }),
        onStatusStale: (cluster) => this.queues.clusterStatus.add(cluster),
        onDetaching: (cluster, member) => {
          this.coredns.detach(cluster, member);
          this.queues.coredns.add(cluster);
        },
      },
    });
    this.coredns = new CoreDnsReconciler({
      store,
      connections: this.connections,
      owner: opts.owner,
      settings: opts.inClusterDns,
      log: this.log,
      onStateChanged: (cluster) => this.queues.clusterStatus.add(cluster),
      onConflict: (cluster) => this.metrics.memberDnsConflicts.inc({ cluster }),
    });
    const federation: FederationRef = records.federation;
    this.answers = new ClusterAnswersReconciler({ store, federation, defaults: this.defaults, enabled: opts.inClusterDns !== undefined, fence, log: this.log });
    this.status = new StatusWriter(store, federation, this.defaults, this.metrics, fence, (cluster) => this.coredns.state(cluster));
    this.probeView = new ProbeView({
      store,
      metrics: this.metrics,
      log: this.log,
      onChanged: (keys) => {
        for (const k of keys) this.queues.shards.add(k);
      },
    });
    this.prober = new Prober({
      store,
      identity: opts.proberId ?? 'controller',
      metrics: this.metrics,
      log: this.log,
      ...(opts.probeCheck ? { check: opts.probeCheck } : {}),
      // This process's own verdicts: a leader here looks at once rather than at the next poll.
      onRecorded: () => {
        if (this.leading) void this.probeView.refresh(true);
      },
    });
    this.shards = new ShardReconciler({
      store,
      probes: (cluster, ns, name, target, addresses) => this.probeView.judge(cluster, ns, name, target, addresses),
      connections: this.connections,
      flattener: this.flattener,
      owner: opts.owner,
      timing,
      metrics: this.metrics,
      fence,
      onShardChanged: (ns, name, cause) => {
        records.enqueue(ns, name, cause);
        this.queues.status.add(svcKey(ns, name));
      },
      onStatusStale: (ns, name) => this.queues.status.add(svcKey(ns, name)),
      onLocalChanged: (ns, name) => this.queues.answers.add(svcKey(ns, name)),
    });
    this.propagation = new PropagationReconciler({
      store,
      connections: this.connections,
      owner: opts.owner,
      metrics: this.metrics,
      log: this.log,
      onMemberDeleted: (ns, name, cause) => records.enqueue(ns, name, cause),
    });
    const queue = (name: string, reconcile: (key: string) => unknown, extra: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {}) =>
      new WorkQueue({
        name,
        reconcile,
        // Every queue but the connections' writes: a standby holds them until it leads.
        paused: name !== 'connections' && !this.leading,
        onError: (key, err, attempt, retryInMs) => {
          if (err instanceof FencedError) opts.onFenced?.();
          this.metrics.reconcileErrors.inc({ controller: name });
          this.log.error({ controller: name, key, attempt, retryInMs, err: String(err) }, 'reconcile failed; will retry');
        },
        ...extra,
      });
    this.queues = {
      connections: queue('connections', (key) => this.connections.reconcile(key)),
      clusterStatus: queue('cluster-status', (key) => retryOnConflict(() => this.writeClusterStatus(key)), { concurrency: 1 }),
      propagation: queue('propagation', (key) => this.propagation.reconcile(key), {
        concurrency: 32,
        onError: (key, err, _attempt, retryInMs) => {
          if (err instanceof FencedError) opts.onFenced?.();
          this.propagationFailed(key, err, retryInMs);
        },
        onRecovered: (key) => this.propagationRecovered(key),
      }),
      // Keys are independent (a key never runs twice at once): a takeover's backlog clears in parallel.
      shards: queue('shards', (key) => this.shards.reconcile(key), { concurrency: 8 }),
      status: queue('status', (key) => retryOnConflict(() => this.status.writeService(key)), { concurrency: 1 }),
      coredns: queue('coredns', (key) => this.coredns.reconcile(key), { concurrency: 4 }),
      answers: queue('cluster-answers', (key) => this.answers.reconcile(key), { concurrency: 1 }),
    };
  }

  /** Runs follow-up work off the caller's path; a failure is logged, never unhandled. */
  private background(fn: () => Promise<void>): void {
    fn().catch((err) => {
      this.metrics.reconcileErrors.inc({ controller: 'events' });
      this.log.error({ err: String(err) }, 'controller event handling failed; the next resync catches up');
    });
  }

  async start(): Promise<void> {
    await this.syncClusters();
    // Verdicts before the first reconcile: a leader never publishes a shard its probes failed.
    if (this.leading) await this.probeView.start();
    await this.prober.start();
    await this.resync();
    const probe = setInterval(() => void this.connections.probeAll(), this.opts.probeIntervalMs ?? 1000);
    const resync = setInterval(() => this.background(() => this.resync()), this.opts.resyncMs ?? 60_000);
    const depth = setInterval(() => {
      for (const q of Object.values(this.queues)) this.metrics.queueDepth.set({ controller: q.name }, q.depth);
    }, 5000);
    this.timers.push(probe, resync, depth);
    for (const t of this.timers) t.unref();
  }

  /** Starts writing: every queue held while standing by runs, and everything is looked at again. */
  async lead(): Promise<void> {
    this.leading = true;
    await this.probeView.start();
    // Shard health first: what changed while standing by reaches DNS before member objects are
    // brought in line (propagation shares the store's connections and would slow it), within a bound.
    this.queues.shards.resume();
    await Promise.race([this.queues.shards.whenUrgentDone(), new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.opts.records.flush().catch(() => undefined); // failures are logged and retried by the reconciler
    for (const q of this.writeQueues()) q.resume();
    await this.resync();
  }

  /** Stops writing (reconciles in flight finish, or are fenced); members stay watched. */
  standBy(): void {
    this.leading = false;
    this.probeView.stop();
    for (const q of this.writeQueues()) q.pause();
  }

  get isLeading(): boolean {
    return this.leading;
  }

  private writeQueues(): WorkQueue[] {
    const { connections: _, ...writers } = this.queues;
    return Object.values(writers);
  }

  async stop(): Promise<void> {
    this.probeView.stop();
    await this.prober.stop();
    for (const t of this.timers) clearInterval(t);
    for (const q of Object.values(this.queues)) q.stop();
    this.flattener.stop();
    await this.connections.stop();
  }

  /** Brings the member clients in line with the stored clusters (join, unjoin, changed credentials) and waits for it. */
  async syncClusters(): Promise<void> {
    const names = new Set([...(await this.opts.store.listObjects('clusters')).items.map((c) => c.name), ...this.connections.names()]);
    for (const n of names) this.queues.connections.add(n);
    await this.queues.connections.whenIdle();
  }

  /** A Cluster was written through the API (or by `fedns join`): reconnect, re-publish, rewrite status as needed. */
  onClusterChange(name?: string): void {
    if (name) {
      this.queues.connections.add(name);
      this.queues.coredns.add(name);
    } else void this.syncClusters();
  }

  /** A federated service was created, changed or deleted (the records reconciler names the change from the object log). */
  onServiceChange(namespace: string, name: string): void {
    const k = svcKey(namespace, name);
    this.background(() => this.prober.serviceChanged(namespace, name));
    this.opts.records.enqueue(namespace, name);
    this.queues.answers.add(k);
    for (const cluster of this.connections.names()) {
      this.queues.propagation.add(shardKey(cluster, namespace, name));
      this.queues.shards.add(shardKey(cluster, namespace, name));
    }
    this.queues.status.add(k);
  }

  /** Every federated service × cluster looked at again (the level-triggered safety net), behind any key an event queued. */
  async resync(): Promise<void> {
    const { store } = this.opts;
    await this.prober.resync();
    const keys = new Set((await store.listObjects('services')).items.map((s) => svcKey(s.namespace, s.name)));
    // Services gone but still with shards (deleted while this process was down), and shards of
    // clusters that left while it was down: their rows go.
    for (const sh of await store.listShards()) {
      keys.add(svcKey(sh.namespace, sh.service));
      this.queues.shards.add(shardKey(sh.cluster, sh.namespace, sh.service), 'low');
    }
    for (const k of keys) {
      const [ns = '', name = ''] = k.split('/');
      for (const cluster of this.connections.names()) {
        this.queues.propagation.add(shardKey(cluster, ns, name), 'low');
        this.queues.shards.add(shardKey(cluster, ns, name), 'low');
      }
      this.queues.status.add(k, 'low');
    }
    for (const cluster of this.connections.names()) this.queues.coredns.add(cluster, 'low');
    await this.answersAll();
  }

  /** Waits until every queue is idle (for tests and the demo). */
  async whenIdle(): Promise<void> {
    await Promise.all(Object.values(this.queues).map((q) => q.whenIdle()));
  }

  /** For `demo` and tests: the runtime view of one cluster. */
  clusterState(name: string): { reachable: boolean; countsReady: boolean; synced: boolean } | undefined {
    const c = this.connections.get(name);
    return c && { reachable: c.reachable, countsReady: c.countsReady, synced: c.member?.hasSynced ?? false };
  }

  private onMemberEvent(cluster: string, ev: MemberEvent): void {
    switch (ev.kind) {
      case 'service':
        this.queues.propagation.add(shardKey(cluster, ev.namespace, ev.name));
        this.queues.shards.add(shardKey(cluster, ev.namespace, ev.name));
        break;
      case 'endpointslice':
        this.queues.shards.add(shardKey(cluster, ev.namespace, ev.name));
        break;
      case 'nodes':
        this.queues.clusterStatus.add(cluster);
        break;
      case 'coredns':
        this.queues.coredns.add(cluster);
        break;
      case 'connection': {
        const conn = this.connections.get(cluster);
        if (conn) void this.connections.probe(conn);
        break;
      }
      case 'synced':
        this.background(() => this.clusterKeys(cluster, true));
        this.queues.clusterStatus.add(cluster);
        this.queues.coredns.add(cluster);
        break;
    }
  }

  /** Every service's keys in one cluster, after its readiness or its client changed. */
  private async clusterKeys(cluster: string, propagate: boolean): Promise<void> {
    for (const s of (await this.opts.store.listObjects('services')).items) {
      this.queues.shards.add(shardKey(cluster, s.namespace, s.name), 'low');
      if (propagate) this.queues.propagation.add(shardKey(cluster, s.namespace, s.name), 'low');
    }
    for (const s of await this.opts.store.shardsOfCluster(cluster)) this.queues.shards.add(shardKey(cluster, s.namespace, s.service), 'low');
  }

  private resyncShards(): void {
    this.background(async () => {
      for (const s of await this.opts.store.listShards()) this.queues.shards.add(shardKey(s.cluster, s.namespace, s.service), 'low');
    });
  }

  /** Every service's in-cluster answers looked at again (topology, drains, clusters joining or leaving). */
  private async answersAll(): Promise<void> {
    for (const k of await this.answers.keys()) this.queues.answers.add(k, 'low');
  }

  private async statusAll(): Promise<void> {
    for (const s of (await this.opts.store.listObjects('services')).items) this.queues.status.add(svcKey(s.namespace, s.name), 'low');
  }

  private async writeClusterStatus(cluster: string): Promise<void> {
    const conn: Connection | undefined = this.connections.get(cluster);
    if (!conn) return;
    const topologyChange = await this.status.writeCluster(conn);
    if (topologyChange) {
      this.opts.records.enqueueAll(topologyChange);
      await this.statusAll();
      await this.answersAll();
    }
  }

  private propagationFailed(key: string, err: unknown, retryInMs: number): void {
    const [cluster, ns, name] = parseShardKey(key);
    this.metrics.propagationFailures.inc({ cluster });
    let keys = this.failing.get(cluster);
    if (!keys) this.failing.set(cluster, (keys = new Set()));
    const first = keys.size === 0;
    keys.add(key);
    const fields = { cluster, service: svcKey(ns, name), err: String(err), retryInMs };
    if (first) this.log.warn(fields, 'propagation to member cluster failing; retrying with back-off (further failures are counted in fedns_propagation_failures_total)');
    else this.log.debug(fields, 'propagation failed; will retry');
  }

  private propagationRecovered(key: string): void {
    const [cluster] = parseShardKey(key);
    const keys = this.failing.get(cluster);
    if (!keys?.delete(key) || keys.size > 0) return;
    this.failing.delete(cluster);
    this.log.info({ cluster }, 'propagation to member cluster recovered');
  }
}

/** A status write that lost its compare-and-swap (the object changed meanwhile) is simply done again, at once. */
async function retryOnConflict(write: () => Promise<unknown>): Promise<ReconcileResult | undefined> {
  try {
    await write();
    return undefined;
  } catch (err) {
    if (err instanceof ConflictError && err.reason === 'stale') return { requeueAfterMs: 0 };
    throw err;
  }
}

import { createHash } from 'node:crypto';
import type { Fence, Store } from '@fedns/store';
import { clusterCountsReady, type HealthTiming, lastSeenAtStart } from './health.js';
import { MemberCluster, type MemberEvent } from './member.js';
import type { ControllerMetrics } from './metrics.js';
import type { Logger } from './logger.js';

/** The part of a Cluster's spec that changes what is published or how fedns connects. */
export interface ClusterSpecView {
  server?: string;
  /** The member's cluster domain (default cluster.local). */
  clusterDomain?: string;
  region?: string;
  zones?: string[];
  drained?: boolean;
  drainedZones?: string[];
}

/** One member cluster as the controller holds it: its client, and what it knows of its reachability. */
export interface Connection {
  readonly name: string;
  /** Hash of the credentials and server in use: a change reconnects. */
  fingerprint: string;
  member?: MemberCluster;
  /** Why there is no member client (unreadable or unusable credentials). */
  problem?: string;
  /**
   * No credentials at all: fedns cannot watch this member, so it leaves its
   * shards as stored (state reported by other means, e.g. tests and tools).
   */
  unmanaged: boolean;
  reachable: boolean;
  /** Whether a probe has answered yet (the first one is always news, logged and written). */
  probed: boolean;
  /** Last successful probe (ms), or the restart for a member Ready before it (health.ts lastSeenAtStart). */
  lastOk?: number;
  countsReady: boolean;
  spec: ClusterSpecView;
  graceTimer?: NodeJS.Timeout;
  lastPersisted: number;
}

export interface ConnectionHooks {
  onMemberEvent(cluster: string, ev: MemberEvent): void;
  /** Ready or reachable changed (or the client was replaced): shards and propagation look again. */
  onStateChanged(conn: Connection, why: string): void;
  /** The Cluster's spec changed what is published (drain, topology override). */
  onSpecChanged(cluster: string, change: string): void;
  onRemoved(cluster: string): void;
  /** The cluster is leaving: its member client, still able to write to the member, for the last clean-up. */
  onDetaching?(cluster: string, member: MemberCluster): void;
  /** Cluster status (conditions, topology) should be written again. */
  onStatusStale(cluster: string): void;
}

export interface ConnectionOptions {
  store: Store;
  timing: HealthTiming;
  probeTimeoutMs: number;
  /** While a member answers, its last-seen time is written at most this often. */
  persistEveryMs: number;
  startedAt: number;
  metrics: ControllerMetrics;
  log: Logger;
  hooks: ConnectionHooks;
  /** The leader's fence for every write (undefined when the engine needs no election). */
  fence: () => Fence | undefined;
  /** Whether this process may write (it leads): a standby keeps its members watched and probed, and writes nothing. */
  mayWrite: () => boolean;
}

const fingerprintOf = (kubeconfig: string | undefined, server: string | undefined) =>
  createHash('sha256')
    .update(kubeconfig ?? '')
    .update('\u0000')
    .update(server ?? '')
    .digest('hex');

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** What changed between two specs, in words for logs and `fedns history` ('' when nothing published changes). */
export function describeSpecChange(before: ClusterSpecView, after: ClusterSpecView): string {
  const parts: string[] = [];
  if (Boolean(before.drained) !== Boolean(after.drained)) parts.push(after.drained ? 'drained (spec.drained: true)' : 'undrained (spec.drained: false)');
  if (!same(before.drainedZones ?? [], after.drainedZones ?? [])) {
    const was = before.drainedZones ?? [];
    const now = after.drainedZones ?? [];
    const added = now.filter((z) => !was.includes(z));
    const removed = was.filter((z) => !now.includes(z));
    if (added.length) parts.push(`zone(s) ${added.join(', ')} drained`);
    if (removed.length) parts.push(`zone(s) ${removed.join(', ')} undrained`);
  }
  if (before.region !== after.region) parts.push(`spec.region ${before.region ?? '(from nodes)'} → ${after.region ?? '(from nodes)'}`);
  if (!same(before.zones, after.zones)) parts.push(`spec.zones ${before.zones?.join(',') ?? '(from nodes)'} → ${after.zones?.join(',') ?? '(from nodes)'}`);
  return parts.join(', ');
}

/**
 * The member clusters' connections: one reconciler keyed by cluster name that
 * brings the running client in line with the stored Cluster (join, unjoin, a
 * changed server or credentials reconnects), and the probes that say whether
 * each member answers. A member that stops answering keeps its shards for the
 * grace period; when it last answered survives a restart (issue 9).
 */
export class ClusterConnections {
  private readonly conns = new Map<string, Connection>();
  private stopped = false;

  constructor(private readonly opts: ConnectionOptions) {}

  get(name: string): Connection | undefined {
    return this.conns.get(name);
  }

  names(): string[] {
    return [...this.conns.keys()];
  }

  all(): Connection[] {
    return [...this.conns.values()];
  }

  /** The member's caches can be trusted now: it answers and every informer has listed. */
  observable(conn: Connection): boolean {
    return conn.reachable && conn.member?.hasSynced === true;
  }

  async reconcile(name: string): Promise<void> {
    if (this.stopped) return;
    const { store, log, hooks } = this.opts;
    const stored = await store.getObject<{ spec?: ClusterSpecView & { kubeconfig?: unknown } }>('clusters', '', name);
    let conn = this.conns.get(name);
    if (!stored) {
      if (!conn) return;
      this.conns.delete(name);
      clearTimeout(conn.graceTimer);
      if (conn.member) hooks.onDetaching?.(name, conn.member);
      await conn.member?.stop();
      if (this.opts.mayWrite()) await store.setMemberState(name, undefined, this.opts.fence());
      this.opts.metrics.clusterReady.remove({ cluster: name });
      this.opts.metrics.clusterReachable.remove({ cluster: name });
      this.updateReadyCount();
      log.info({ cluster: name }, 'member cluster removed');
      hooks.onRemoved(name);
      return;
    }
    const spec: ClusterSpecView = stored.object.spec ?? {};
    let kubeconfig: string | undefined;
    let problem: string | undefined;
    try {
      kubeconfig = await store.clusterCredentials(name);
      if (kubeconfig === undefined) problem = 'no credentials stored for this cluster';
    } catch (err) {
      problem = `credentials cannot be read: ${(err as Error).message}`;
    }
    const fingerprint = fingerprintOf(kubeconfig, spec.server);
    if (!conn) {
      const lastOk = lastSeenAtStart(await store.memberState(name), this.opts.startedAt);
      conn = { name, fingerprint: '', reachable: false, probed: false, countsReady: false, unmanaged: false, spec, lastPersisted: 0, ...(lastOk !== undefined ? { lastOk } : {}) };
      conn.countsReady = clusterCountsReady(conn.lastOk, false, Date.now(), this.opts.timing);
      this.conns.set(name, conn);
      this.armGraceTimer(conn, Date.now());
    } else {
      const change = describeSpecChange(conn.spec, spec);
      conn.spec = spec;
      if (change) hooks.onSpecChanged(name, change);
    }
    if (conn.fingerprint !== fingerprint) {
      const reconnect = conn.fingerprint !== '';
      await conn.member?.stop();
      conn.member = undefined;
      conn.problem = problem;
      conn.unmanaged = kubeconfig === undefined && problem === 'no credentials stored for this cluster';
      conn.fingerprint = fingerprint;
      if (kubeconfig !== undefined) {
        try {
          conn.member = new MemberCluster({ name, kubeconfig, ...(spec.server ? { server: spec.server } : {}), onEvent: (c, ev) => hooks.onMemberEvent(c, ev), logger: log });
        } catch (err) {
          conn.problem = `kubeconfig unusable: ${(err as Error).message}`;
        }
      }
      if (conn.problem) log.warn({ cluster: name, problem: conn.problem }, 'member cluster cannot be reached with its stored connection settings');
      else log.info({ cluster: name, server: conn.member?.kc.getCurrentCluster()?.server }, reconnect ? 'member cluster reconnecting: connection settings changed' : 'member cluster connecting');
      void conn.member?.start();
      await this.probe(conn);
      hooks.onStateChanged(conn, reconnect ? 'connection settings changed' : 'connected');
    }
    hooks.onStatusStale(name);
  }

  /** Probes every member once (the caller runs this on an interval). */
  async probeAll(): Promise<void> {
    await Promise.all([...this.conns.values()].map((c) => this.probe(c)));
  }

  async probe(conn: Connection): Promise<void> {
    const member = conn.member;
    const ok = member ? await member.probe(this.opts.probeTimeoutMs) : false;
    // The client was replaced or the cluster removed while the probe ran.
    if (this.stopped || this.conns.get(conn.name) !== conn || conn.member !== member) return;
    const now = Date.now();
    const wasReady = conn.countsReady;
    const wasReachable = conn.reachable;
    conn.reachable = ok;
    if (ok) conn.lastOk = now;
    conn.countsReady = clusterCountsReady(conn.lastOk, ok, now, this.opts.timing);
    this.armGraceTimer(conn, now);
    this.opts.metrics.clusterReachable.set({ cluster: conn.name }, ok ? 1 : 0);
    this.opts.metrics.clusterReady.set({ cluster: conn.name }, conn.countsReady ? 1 : 0);
    const changed = !conn.probed || wasReady !== conn.countsReady || wasReachable !== ok;
    conn.probed = true;
    if (changed || (ok && now - conn.lastPersisted >= this.opts.persistEveryMs)) await this.persist(conn, now);
    if (!changed) return;
    this.updateReadyCount();
    const { log } = this.opts;
    const fields = { cluster: conn.name, reachable: ok, ready: conn.countsReady };
    if (!ok && conn.countsReady) log.warn({ ...fields, graceMs: this.opts.timing.clusterGraceMs }, 'member cluster unreachable; its shards keep their last known state during the grace period');
    else if (!ok) log.warn(fields, `member cluster not ready: ${conn.problem ?? 'unreachable past the grace period'}; its shards count as unhealthy`);
    else log.info(fields, 'member cluster reachable');
    this.opts.hooks.onStatusStale(conn.name);
    this.opts.hooks.onStateChanged(conn, ok ? 'reachable' : conn.countsReady ? 'unreachable (in grace)' : 'not ready');
  }

  private async persist(conn: Connection, now: number): Promise<void> {
    if (conn.lastOk === undefined || !this.opts.mayWrite()) return;
    conn.lastPersisted = now;
    try {
      await this.opts.store.setMemberState(conn.name, { lastSeen: new Date(conn.lastOk).toISOString(), ready: conn.countsReady }, this.opts.fence());
    } catch (err) {
      this.opts.log.warn({ cluster: conn.name, err: String(err) }, 'cannot record when the member was last seen');
    }
  }

  /** Re-judges the moment the grace period ends, not at the next probe. */
  private armGraceTimer(conn: Connection, now: number): void {
    if (conn.reachable || !conn.countsReady) {
      clearTimeout(conn.graceTimer);
      conn.graceTimer = undefined;
      return;
    }
    if (conn.graceTimer) return;
    const left = this.opts.timing.clusterGraceMs - (now - (conn.lastOk ?? now));
    conn.graceTimer = setTimeout(() => {
      conn.graceTimer = undefined;
      void this.probe(conn);
    }, left + 5);
    conn.graceTimer.unref();
  }

  private updateReadyCount(): void {
    this.opts.metrics.clustersReady.set([...this.conns.values()].filter((c) => c.countsReady).length);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.conns.values()) clearTimeout(c.graceTimer);
    await Promise.all([...this.conns.values()].map((c) => c.member?.stop()));
    this.conns.clear();
  }
}

/**
 * The control loops of `serve` and `controller`, wired in one place
 * (controller-runtime's manager), with leader election as an option of that
 * place: on an engine with several writers (PostgreSQL) every process keeps
 * its members connected and watched, and only the leader writes, every write
 * fenced with the epoch it won; on SQLite (one writer by construction) the
 * loops simply run. Changes to services and
 * clusters reach the loops by following the store's object log, whoever made
 * them — this process's API, another API server, `fedns join`.
 */
import { hostname } from 'node:os';
import { FederationController, LeaderElector, type LeaderStatus, RecordsReconciler, ZoneSigning } from '@fedns/controller';
import { CONTROLLER_ACTOR, type Fence, followObjects, type ObjectFeed, type Store } from '@fedns/store';
import { Gauge, type Registry } from 'prom-client';
import type { Config } from './config.js';
import type { Running } from './roles.js';

const LEASE = 'fedns-controller';

export interface ControlPlane {
  /** Who leads, for /readyz and logs. */
  status(): LeaderStatus;
  /** The running controller while this process leads (the demo waits on it). */
  controller(): FederationController | undefined;
  stop(): Promise<void>;
}

/** In-cluster answers' settings for the controller (issue 12): on when --cluster-dns-allow names networks. */
function inClusterDns(c: Config): { inClusterDns?: { forwardTo: string[]; suffix: string; clustersetDomain?: string } } {
  const cd = c.clusterDns;
  if (!cd.allow.length) return {};
  return { inClusterDns: { forwardTo: cd.forwardTo, suffix: cd.suffix, ...(cd.clustersetDomain ? { clustersetDomain: cd.clustersetDomain } : {}) } };
}

export async function startControlPlane(c: Config, run: Running, store: Store, registry: Registry): Promise<ControlPlane> {
  const log = run.logger.child({ role: 'controller' });
  const defaults = { ttl: c.defaultTtl, failMode: 'open' as const, minReadyEndpoints: 1 };
  const elected = store.needsLeaderElection;
  const identity = c.id ?? `${hostname()}-${process.pid}`;
  // The fence of the latest leadership, kept after stepping down: a write still in flight then
  // carries the old epoch, which the store refuses once the lease has moved or expired.
  let fence: Fence | undefined;
  let elector: LeaderElector | undefined;
  const deposed = () => elector?.deposed('the store refused this process’s epoch');
  // DNSSEC (issue 15): every commit signed while on, or while a signed zone waits for its DS to be withdrawn (off).
  const dnssec = new ZoneSigning({
    store,
    zone: { zone: c.zone, soa: c.soa, nameservers: c.nameservers },
    enabled: c.dnssec,
    fence: () => fence,
    ...(c.dnssecRollover ? { rollover: c.dnssecRollover } : {}),
    logger: log,
    registry,
  });
  const records = new RecordsReconciler({
    store,
    dnssec,
    signingEveryMs: c.dnssecCheckMs,
    federation: { name: c.federation, zone: c.zone, regionFallback: c.regionFallback },
    defaults,
    registry,
    logger: run.logger,
    firstReportTimeoutMs: c.firstReportTimeoutMs,
    fence: () => fence,
    paused: elected,
    onFenced: deposed,
  });
  const controller = new FederationController({
    store,
    records,
    owner: { federation: c.federation, installationId: store.installationId },
    defaults,
    registry,
    timing: { clusterGraceMs: c.clusterGraceMs, stabilizationMs: c.stabilizationMs },
    logger: log,
    fence: () => fence,
    standby: elected,
    onFenced: deposed,
    // Every controller probes, leading or not, under its identity (issue 14).
    proberId: identity,
    ...inClusterDns(c),
  });
  // Members are connected and watched, and the object log followed, whether or not this process
  // leads: a standby that takes over has warm caches and one reconcile to do.
  const feed: ObjectFeed = await followObjects(store, {
    onChange: (ch) => {
      if (ch.actor === CONTROLLER_ACTOR) return; // its own status writes
      if (ch.kind === 'services') controller.onServiceChange(ch.namespace, ch.name);
      else if (ch.kind === 'clusters') controller.onClusterChange(ch.name);
    },
    onCompacted: () => {
      records.enqueueAll('object log compacted past this controller: looking at everything again');
      void controller.syncClusters().then(() => controller.resync());
    },
    onError: (err) => log.warn({ err: String(err) }, 'cannot read the object log; the periodic resync catches up'),
  });
  await controller.start();
  run.closers.push(async () => {
    feed.stop();
    records.stop();
    await controller.stop();
  });

  const lead = async (f: Fence | undefined): Promise<void> => {
    fence = f;
    // The signer starts from what the store holds now (another leader may have signed meanwhile).
    dnssec.failed();
    // What changed while standing by goes first: the services marked meanwhile, then the shard
    // changes (the controller runs those before anything else), each a small commit. Only then
    // the sweep over every service, one full recompute that at 10,000 services takes seconds.
    records.resume();
    await controller.lead();
    records.enqueueAll(f ? `started leading (epoch ${f.epoch})` : 'start-up');
    void records.checkSigning();
  };
  const standBy = async (): Promise<void> => {
    records.pause();
    controller.standBy();
  };

  watchReplication(store, registry, log, run);
  if (elected) {
    elector = new LeaderElector({
      store,
      lease: LEASE,
      identity,
      timing: { leaseDurationMs: c.leaseDurationMs, renewDeadlineMs: c.renewDeadlineMs, retryPeriodMs: c.retryPeriodMs },
      onStartedLeading: (f) => lead(f),
      onStoppedLeading: () => standBy(),
      logger: log,
      registry,
    });
    elector.start();
  } else {
    await lead(undefined);
  }
  const plane: ControlPlane = {
    status: () => elector?.status() ?? { leading: true, identity },
    controller: () => (controller.isLeading ? controller : undefined),
    async stop() {
      if (elector) await elector.stop();
      else await standBy();
    },
  };
  run.closers.push(() => plane.stop());
  return plane;
}

/**
 * Warns at start and keeps a gauge when the store replicates without waiting
 * for a standby: a failover could then lose acknowledged commits, and a new
 * leader would hand out a serial again (served serials guard only what
 * nameservers reported).
 */
function watchReplication(store: Store, registry: Registry, log: Running['logger'], run: Running): void {
  const status = store.replicationStatus?.bind(store);
  if (!status) return;
  const gauge = new Gauge({ name: 'fedns_store_synchronous_replication', help: 'Whether the store waits for a standby before a commit is acknowledged (1) or not (0)', registers: [registry] });
  const standbys = new Gauge({ name: 'fedns_store_sync_standbys', help: 'Standbys in sync or quorum state, as the store reports them', registers: [registry] });
  let warned: boolean | undefined;
  const check = async () => {
    try {
      const s = await status();
      gauge.set(s.synchronous ? 1 : 0);
      if (s.syncStandbys !== undefined) standbys.set(s.syncStandbys);
      if (!s.synchronous && warned !== true) {
        log.warn({ synchronousStandbyNames: s.synchronousStandbyNames, synchronousCommit: s.synchronousCommit }, 'PostgreSQL commits do not wait for a standby: a failover can lose acknowledged writes and reuse a zone serial; set synchronous_standby_names (e.g. ANY 1 (…)) and synchronous_commit = on');
        warned = true;
      } else if (s.synchronous) warned = false;
    } catch (err) {
      log.debug({ err: String(err) }, 'cannot read the store’s replication settings');
    }
  };
  void check();
  const timer = setInterval(() => void check(), 60_000);
  timer.unref();
  run.closers.push(() => clearInterval(timer));
}

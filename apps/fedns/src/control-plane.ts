/**
 * The control loops of `serve` and `controller`, wired in one place
 * (controller-runtime's manager), with leader election as an option of that
 * place: on an engine with several writers (PostgreSQL) the loops run only
 * while this process leads, every write fenced with the epoch it won; on
 * SQLite (one writer by construction) they simply run. Changes to services and
 * clusters reach the loops by following the store's object log, whoever made
 * them — this process's API, another API server, `fedns join`.
 */
import { hostname } from 'node:os';
import {
  type ControllerMetrics,
  controllerMetrics,
  FederationController,
  LeaderElector,
  type LeaderStatus,
  RecordsReconciler,
  type DnssecMetrics,
  dnssecMetrics,
  type ZoneMetrics,
  zoneMetrics,
  ZoneSigning,
} from '@fedns/controller';
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

interface Loops {
  controller: FederationController;
  records: RecordsReconciler;
  feed: ObjectFeed;
}

export async function startControlPlane(c: Config, run: Running, store: Store, registry: Registry): Promise<ControlPlane> {
  const log = run.logger.child({ role: 'controller' });
  const defaults = { ttl: c.defaultTtl, failMode: 'open' as const, minReadyEndpoints: 1 };
  const metrics: { controller: ControllerMetrics; zone: ZoneMetrics; dnssec: DnssecMetrics } = { controller: controllerMetrics(registry), zone: zoneMetrics(registry), dnssec: dnssecMetrics(registry) };
  let loops: Loops | undefined;

  const startLoops = async (fence: Fence | undefined): Promise<void> => {
    // The fence of this leadership, fixed: a write still in flight after stepping down carries
    // the old epoch, and the store refuses it.
    const fenced = () => fence;
    // DNSSEC: every commit signed while on, or while a signed zone waits for its DS to be withdrawn (off).
    const dnssec = new ZoneSigning({ store, zone: { zone: c.zone, soa: c.soa, nameservers: c.nameservers }, enabled: c.dnssec, fence: fenced, rollover: c.dnssecRollover, logger: log, metrics: metrics.dnssec });
    const records = new RecordsReconciler({ store, federation: { name: c.federation, zone: c.zone }, defaults, metrics: metrics.zone, logger: run.logger, firstReportTimeoutMs: c.firstReportTimeoutMs, fence: fenced, dnssec, signingEveryMs: c.dnssecCheckMs });
    const owner = { federation: c.federation, installationId: store.installationId };
    const timing = { clusterGraceMs: c.clusterGraceMs, stabilizationMs: c.stabilizationMs };
    const controller = new FederationController({ store, records, owner, defaults, metrics: metrics.controller, timing, logger: log, fence: fenced });
    const feed = await followObjects(store, {
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
    loops = { controller, records, feed };
    await controller.start();
    records.enqueueAll(fence ? `started leading (epoch ${fence.epoch})` : 'start-up');
    void records.checkSigning();
  };

  const stopLoops = async (): Promise<void> => {
    const l = loops;
    loops = undefined;
    if (!l) return;
    l.feed.stop();
    l.records.stop();
    await l.controller.stop();
  };

  watchReplication(store, registry, log, run);
  let elector: LeaderElector | undefined;
  if (store.needsLeaderElection) {
    elector = new LeaderElector({
      store,
      lease: LEASE,
      identity: c.id ?? `${hostname()}-${process.pid}`,
      timing: { leaseDurationMs: c.leaseDurationMs, renewDeadlineMs: c.renewDeadlineMs, retryPeriodMs: c.retryPeriodMs },
      onStartedLeading: (fence) => startLoops(fence),
      onStoppedLeading: () => stopLoops(),
      logger: log,
      registry,
    });
    elector.start();
  } else {
    await startLoops(undefined);
  }
  const plane: ControlPlane = {
    status: () => elector?.status() ?? { leading: true, identity: `${hostname()}-${process.pid}` },
    controller: () => loops?.controller,
    async stop() {
      if (elector) await elector.stop();
      else await stopLoops();
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

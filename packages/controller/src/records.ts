import { buildServiceRecordSets, diffRecordSets, type FederationRef } from '@fedns/cascade';
import type { ClusterObject, ClusterTopology, PolicyDefaults, RecordSet, RecordSetDiff, ServicePolicy } from '@fedns/model';
import { DEFAULT_POLICY, isDnssecType, policyFromService, topologyFromCluster } from '@fedns/model';
import { CONTROLLER_ACTOR, type Fence, FencedError, type JournalEntry, type Store, type StoredShard } from '@fedns/store';
import { describeChange } from './causes.js';
import type { Registry } from 'prom-client';
import { type Logger, SILENT } from './logger.js';
import { type ZoneMetrics, zoneMetrics } from './metrics.js';
import type { ZoneSigning } from './signing.js';

export interface RecordsReconcilerOptions {
  store: Store;
  federation: FederationRef;
  defaults?: PolicyDefaults;
  logger?: Logger;
  registry?: Registry;
  /** Called after each commit (for metrics and tests). */
  onCommit?: (entry: JournalEntry) => void;
  /** Journal entries kept for IXFR and history (older ones are pruned); default 50,000. */
  journalRetention?: number;
  /**
   * How long a new service waits for every placed cluster to report before it
   * fails open with what is known (default 10 s).
   */
  firstReportTimeoutMs?: number;
  /** The leader's fence for every commit (undefined when the engine needs no election). */
  fence?: () => Fence | undefined;
  /** The store refused a commit's fence: this process no longer leads (it pauses itself first). */
  onFenced?: (err: FencedError) => void;
  /** Start paused (a standby): marks collect, nothing commits until `resume`. */
  paused?: boolean;
  /** Series made once per process. */
  metrics?: ZoneMetrics;
  /** DNSSEC (issue 15): every commit signed by it; `signingEveryMs` how often it looks for refreshes and rollover steps. */
  dnssec?: ZoneSigning;
  signingEveryMs?: number;
}

const PRUNE_EVERY = 500;

interface ServiceMeta {
  metadata: { name: string; namespace: string; creationTimestamp?: string; annotations?: Record<string, string> };
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * Turns the stored state (services, clusters, shards) into published record
 * sets. Level-triggered: a key means "look at this service again", never
 * "apply this event"; reconciling twice changes nothing. Keys marked dirty in
 * the same tick are committed together, as one serial. A service whose
 * records cannot be computed keeps what is published; the others go on.
 */
export class RecordsReconciler {
  private readonly dirty = new Set<string>();
  /** Every cause since the last flush, in order (several may concern one service). */
  private readonly causes = new Set<string>();
  private readonly pendingTimers = new Map<string, NodeJS.Timeout>();
  private readonly metrics: ZoneMetrics;
  private readonly log: Logger;
  private scheduled = false;
  private all = false;
  /** Where this reconciler has read the object log to (causes), and the objects as of there. */
  private logRv: number | undefined;
  private readonly seen = new Map<string, unknown>();
  /** The commit in flight: flushes run one at a time, each on what the previous one committed. */
  private flushing: Promise<JournalEntry | undefined> | undefined;
  /** A signing commit is asked for (refreshes, a key change), with or without dirty services. */
  private signingDue = false;
  private signingTimer: NodeJS.Timeout | undefined;
  private paused: boolean;
  private stopped = false;

  constructor(private readonly opts: RecordsReconcilerOptions) {
    this.metrics = opts.metrics ?? zoneMetrics(opts.registry);
    this.log = opts.logger ?? SILENT;
    this.paused = opts.paused ?? false;
    if (opts.dnssec) {
      this.signingTimer = setInterval(() => void this.checkSigning(), opts.signingEveryMs ?? 60_000);
      this.signingTimer.unref();
    }
  }

  /** The periodic DNSSEC look (the leader's): rollover steps from the store, then a signing commit (refreshes). */
  async checkSigning(): Promise<void> {
    const dnssec = this.opts.dnssec;
    if (!dnssec || this.paused || this.stopped) return;
    try {
      while (this.flushing) await this.flushing.catch(() => undefined);
      if (this.paused || this.stopped) return;
      if (await dnssec.tick()) {
        this.signingDue = true;
        this.schedule();
      }
    } catch (err) {
      this.log.error({ err: String(err) }, 'DNSSEC check failed; trying again at the next one');
      dnssec.failed();
    }
  }

  /** Stops committing (a commit in flight finishes or is fenced); marks keep collecting. */
  pause(): void {
    this.paused = true;
  }

  /** Commits again, starting with everything marked while paused. */
  resume(): void {
    if (this.stopped || !this.paused) return;
    this.paused = false;
    if (this.dirty.size > 0 || this.signingDue) this.schedule();
  }

  get federation(): FederationRef {
    return this.opts.federation;
  }

  /**
   * Marks one service for reconciling. `cause` says why when the object log
   * does not (a shard's health, a timeout); changes to services and clusters
   * are named from the log at commit time, with who made them.
   */
  enqueue(namespace: string, name: string, cause?: string): void {
    this.dirty.add(key(namespace, name));
    if (cause) this.causes.add(cause);
    this.schedule();
  }

  /** Marks every service (and every service that has records but no longer exists). */
  enqueueAll(cause?: string): void {
    this.all = true;
    this.dirty.add('*');
    if (cause) this.causes.add(cause);
    this.schedule();
  }

  stop(): void {
    clearInterval(this.signingTimer);
    this.stopped = true;
    for (const t of this.pendingTimers.values()) clearTimeout(t);
    this.pendingTimers.clear();
  }

  private schedule(): void {
    if (this.scheduled || this.paused || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.paused || this.stopped) return;
      this.flush().catch((err) => {
        if (err instanceof FencedError) {
          // Deposed: retrying with this fence can never succeed. What was marked waits for the next leadership.
          this.paused = true;
          this.log.warn({ err: err.message }, 'zone commit refused: this process no longer leads');
          this.opts.onFenced?.(err);
          return;
        }
        this.log.error({ err: String(err) }, 'zone commit failed; retrying');
        setTimeout(() => this.enqueueAll('retry after a failed commit'), 500).unref();
      });
    });
  }

  /**
   * Reconciles everything marked so far and commits it as one serial; returns
   * the journal entry if anything changed. One flush at a time: a flush asked
   * for while one runs waits for it, then takes what was marked meanwhile.
   */
  async flush(): Promise<JournalEntry | undefined> {
    while (this.flushing) await this.flushing.catch(() => undefined);
    if ((this.dirty.size === 0 && !this.signingDue) || this.paused || this.stopped) return undefined;
    const run = this.commitMarked();
    this.flushing = run;
    try {
      return await run;
    } finally {
      this.flushing = undefined;
      if (this.dirty.size > 0) this.schedule();
    }
  }

  private async commitMarked(): Promise<JournalEntry | undefined> {
    const { store } = this.opts;
    const causes = [...this.causes];
    const keys = this.all ? undefined : [...this.dirty];
    const refresh = this.signingDue;
    this.dirty.clear();
    this.causes.clear();
    this.all = false;
    this.signingDue = false;
    const started = performance.now();
    let entry: JournalEntry | undefined;
    const dnssec = this.opts.dnssec;
    try {
      const diff = keys?.length === 0 ? { upserts: [], deletes: [] } : await this.computeDiff(keys);
      // Read after the state the diff came from: every object change it reflects is named.
      const named = [...(await this.objectCauses()), ...causes];
      const signed = dnssec ? await dnssec.prepare(diff, refresh) : undefined;
      if (signed?.cause) named.push(signed.cause);
      // Nothing named it (a store changed underneath, a resync): say what was looked at.
      const all = named.length ? named : [keys ? `reconciled ${keys.join(', ')}` : 'reconciled every service'];
      const cause = all.slice(0, 20).join('; ') + (all.length > 20 ? `; (+${all.length - 20} more)` : '');
      entry = await store.commitZone(signed?.diff ?? diff, cause, this.opts.fence?.(), signed?.onSerial);
      if (signed) await dnssec?.committed(entry);
    } catch (err) {
      dnssec?.failed();
      // Nothing was committed: mark it all again, so the retry loses no cause and no service.
      for (const c of causes) this.causes.add(c);
      if (refresh) this.signingDue = true;
      if (keys) for (const k of keys) this.dirty.add(k);
      else this.enqueueAll('retry after a failed commit');
      throw err;
    }
    if (entry) {
      this.metrics.commitSeconds.observe((performance.now() - started) / 1000);
      this.metrics.commits.inc();
      this.metrics.serial.set(entry.soaSerial);
      this.metrics.lastCommit.set(Date.parse(entry.at) / 1000);
      if (entry.seq % PRUNE_EVERY === 0) await store.pruneJournal(this.opts.journalRetention ?? 50_000);
      this.log.info({ serial: entry.soaSerial, added: entry.added.length, deleted: entry.deleted.length, cause: entry.cause }, 'zone updated');
      this.opts.onCommit?.(entry);
    }
    return entry;
  }

  /** Changes to services and clusters since the last commit, in words (who changed what). */
  private async objectCauses(): Promise<string[]> {
    const { store } = this.opts;
    if (this.logRv === undefined) return this.primeLog();
    const out: string[] = [];
    for (;;) {
      const changes = await store.objectChangesSince(this.logRv, 5000);
      if (changes === 'compacted') return this.primeLog();
      const clusters = [...this.seen.keys()].filter((k) => k.startsWith('clusters//')).map((k) => k.slice('clusters//'.length));
      for (const c of changes) {
        this.logRv = c.rv;
        const k = `${c.kind}/${c.namespace}/${c.name}`;
        const before = this.seen.get(k);
        if (c.type === 'DELETED') this.seen.delete(k);
        else if (c.kind !== 'namespaces') this.seen.set(k, c.object);
        if (c.actor === CONTROLLER_ACTOR) continue; // its own status writes
        const words = describeChange(c, before, clusters, this.opts.defaults ?? DEFAULT_POLICY);
        if (words) out.push(words);
      }
      if (changes.length < 5000) return out;
    }
  }

  /** Where the object log stands now and what every service and cluster looks like there. */
  private async primeLog(): Promise<string[]> {
    const { store } = this.opts;
    this.logRv = await store.revision();
    this.seen.clear();
    for (const kind of ['services', 'clusters'] as const) for (const o of (await store.listObjects(kind)).items) this.seen.set(`${kind}/${o.namespace}/${o.name}`, o.object);
    return [];
  }

  /** The change that brings the given services' records (all when undefined) to what the cascade says. */
  async computeDiff(keys?: string[]): Promise<RecordSetDiff> {
    const { store } = this.opts;
    const clusters = (await store.listObjects<ClusterObject>('clusters')).items.map((c) => topologyFromCluster(c.object));
    // A few dirty services read only their own rows: a flap's cost must not grow with the zone.
    const split = (k: string) => k.split('/') as [string, string];
    const services = keys
      ? (await Promise.all(keys.map((k) => store.getObject<ServiceMeta>('services', ...split(k))))).filter((s) => s !== undefined)
      : (await store.listObjects<ServiceMeta>('services')).items;
    const shardsByService = keys
      ? new Map(await Promise.all(keys.map(async (k) => [k, await store.shardsOfService(...split(k))] as const)))
      : groupByService(await store.listShards(), (sh) => sh.service);
    // The signer's own record sets (RRSIG, NSEC3, DNSKEY …) are not the cascade's to diff.
    const current = (keys ? (await Promise.all(keys.map((k) => store.recordSetsOfService(...split(k))))).flat() : await store.listRecordSets()).filter((rs) => !isDnssecType(rs.type));
    const currentByService = groupByService(current, (rs) => rs.service);
    const desired: RecordSet[] = [];
    const now = Date.now();
    for (const s of services) {
      const shards = shardsByService.get(key(s.namespace, s.name)) ?? [];
      try {
        const policy = this.policyOf(s, clusters, shards, now);
        for (const rs of buildServiceRecordSets(this.opts.federation, policy, clusters, shards)) desired.push(rs);
      } catch (err) {
        // One bad object must not hold back the zone: keep what this service has published.
        this.metrics.reconcileErrors.inc();
        this.log.error({ service: key(s.namespace, s.name), err: String(err) }, 'cannot compute the records of a service; keeping what is published');
        for (const rs of currentByService.get(key(s.namespace, s.name)) ?? []) desired.push(rs);
      }
    }
    return diffRecordSets(current, desired);
  }

  /**
   * The cascade's policy for a service, with `failOpenPending` while a new
   * service still waits for a placed cluster's first report (and a recheck
   * when that wait ends).
   */
  private policyOf(s: { namespace: string; name: string; object: ServiceMeta }, clusters: ClusterTopology[], shards: StoredShard[], now: number): ServicePolicy {
    const policy = policyFromService({ ...s.object.metadata, namespace: s.namespace, name: s.name }, this.opts.defaults ?? DEFAULT_POLICY);
    const created = Date.parse(s.object.metadata.creationTimestamp ?? '');
    const waitEnds = created + (this.opts.firstReportTimeoutMs ?? 10_000);
    if (!Number.isFinite(created) || now >= waitEnds) return policy;
    const placed = clusters.filter((c) => policy.clusters === undefined || policy.clusters.includes(c.name));
    const unreported = placed.filter((c) => !shards.some((sh) => sh.cluster === c.name && (sh.reported ?? true)));
    if (unreported.length === 0) return policy;
    const k = key(s.namespace, s.name);
    if (!this.pendingTimers.has(k)) {
      const t = setTimeout(() => {
        this.pendingTimers.delete(k);
        this.enqueue(s.namespace, s.name, `service ${k}: clusters ${unreported.map((c) => c.name).join(', ')} did not report within the first-report timeout`);
      }, waitEnds - now + 1);
      t.unref();
      this.pendingTimers.set(k, t);
    }
    return { ...policy, failOpenPending: true };
  }
}

/** Items grouped by their service (`namespace/name`). */
function groupByService<T extends { namespace: string }>(items: T[], serviceOf: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item.namespace, serviceOf(item));
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

import { buildRecordSets, buildServiceRecordSets, diffRecordSets } from '@fedns/cascade';
import type { ClusterObject, PolicyDefaults, RecordSet, RecordSetDiff } from '@fedns/model';
import { DEFAULT_POLICY, policyFromService, topologyFromCluster } from '@fedns/model';
import type { JournalEntry, Store } from '@fedns/store';

export interface RecordsReconcilerOptions {
  store: Store;
  federation: { name: string; zone: string };
  defaults?: PolicyDefaults;
  logger?: { info: (o: object, m?: string) => void; error: (o: object, m?: string) => void };
  /** Called after each commit (for metrics and tests). */
  onCommit?: (entry: JournalEntry) => void;
  /** Journal entries kept for IXFR and history (older ones are pruned); default 50,000. */
  journalRetention?: number;
}

const PRUNE_EVERY = 500;

interface ServiceMeta {
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * Turns the stored state (services, clusters, shards) into published record
 * sets. Level-triggered: a key means "look at this service again", never
 * "apply this event"; reconciling twice changes nothing. Keys marked dirty in
 * the same tick are committed together, as one serial.
 */
export class RecordsReconciler {
  private readonly dirty = new Set<string>();
  /** Every cause since the last flush, in order (several may concern one service). */
  private readonly causes = new Set<string>();
  private scheduled = false;
  private all = false;

  constructor(private readonly opts: RecordsReconcilerOptions) {}

  get federation(): { name: string; zone: string } {
    return this.opts.federation;
  }

  /** Marks one service for reconciling, with the cause recorded in the journal. */
  enqueue(namespace: string, name: string, cause: string): void {
    this.dirty.add(key(namespace, name));
    this.causes.add(cause);
    this.schedule();
  }

  /** Marks every service (and every service that has records but no longer exists). */
  enqueueAll(cause: string): void {
    this.all = true;
    this.dirty.add('*');
    this.causes.add(cause);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      try {
        this.flush();
      } catch (err) {
        this.opts.logger?.error({ err }, 'record reconcile failed; retrying');
        setTimeout(() => this.enqueueAll('retry after error'), 500).unref();
      }
    });
  }

  /** Reconciles everything marked so far in one transaction; returns the journal entry if anything changed. */
  flush(): JournalEntry | undefined {
    if (this.dirty.size === 0) return undefined;
    const { store } = this.opts;
    const causes = [...this.causes];
    const keys = this.all ? undefined : [...this.dirty];
    this.dirty.clear();
    this.causes.clear();
    this.all = false;
    const entry = store.tx(() => {
      const diff = this.computeDiff(keys);
      const cause = causes.slice(0, 20).join('; ') + (causes.length > 20 ? `; (+${causes.length - 20} more)` : '');
      return store.commitRecordDiff(diff, cause);
    });
    if (entry) {
      if (entry.seq % PRUNE_EVERY === 0) store.pruneJournal(this.opts.journalRetention ?? 50_000);
      this.opts.logger?.info({ serial: entry.soaSerial, added: entry.added.length, deleted: entry.deleted.length, cause: entry.cause }, 'zone updated');
      this.opts.onCommit?.(entry);
    }
    return entry;
  }

  /** The change that brings the given services' records (all when undefined) to what the cascade says. */
  computeDiff(keys?: string[]): RecordSetDiff {
    const { store, federation } = this.opts;
    const defaults = this.opts.defaults ?? DEFAULT_POLICY;
    const clusters = store.listClusters<ClusterObject>().map((c) => topologyFromCluster(c.object));
    const wanted = keys ? new Set(keys) : undefined;
    // A few dirty services read only their own rows: a flap's cost must not grow with the zone.
    const services = wanted
      ? [...wanted].flatMap((k) => {
          const [ns = '', name = ''] = k.split('/');
          const s = store.getService<ServiceMeta>(ns, name);
          return s ? [s] : [];
        })
      : store.listServices<ServiceMeta>();
    const policies = services.map((s) => policyFromService({ ...s.object.metadata, namespace: s.namespace, name: s.name }, defaults));
    const desired: RecordSet[] = wanted
      ? policies.flatMap((p) => buildServiceRecordSets(federation, p, clusters, store.shardsOfService(p.namespace, p.name)))
      : buildRecordSets({ federation, services: policies, clusters, shards: store.listShards() });
    const current = wanted
      ? [...wanted].flatMap((k) => {
          const [ns = '', name = ''] = k.split('/');
          return store.recordSetsOfService(ns, name);
        })
      : store.listRecordSets();
    return diffRecordSets(current, desired);
  }
}

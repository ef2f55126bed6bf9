/**
 * The read-only `DNSRecordSet` view (federation.fedns.io/v1): one object per
 * published RRset — name, type, level, data, TTL — with the shard states behind
 * it in `status.shards`. Its resourceVersions are journal sequence numbers (one
 * per zone commit), so a watch from N replays the commits after N.
 */
import { createHash } from 'node:crypto';
import {
  errors,
  type KubeObject,
  type ListOptions,
  type ResourceBackend,
  selectionOf,
  selects,
  type WatchHandle,
  type WatchOptions,
  type WatchSink,
  WatcherSet,
} from '@fedns/kubewire';
import type { ClusterObject, ClusterTopology, RecordSet } from '@fedns/model';
import { isDnssecType, topologyFromCluster } from '@fedns/model';
import type { JournalEntry, Store, StoredShard } from '@fedns/store';


export const FEDERATION_GROUP = 'federation.fedns.io';
const API_VERSION = `${FEDERATION_GROUP}/v1`;

/** A Kubernetes object name for an RRset: the DNS name (lower case, no final dot) and the type, e.g. `nginx.default.myfed.svc.example.com.a`. */
export function recordSetObjectName(name: string, type: string): string {
  const plain = `${name.replace(/\.$/, '').toLowerCase()}.${type.toLowerCase()}`;
  if (plain.length <= 253) return plain;
  const hash = createHash('sha256').update(plain).digest('hex').slice(0, 10);
  return `${plain.slice(0, 253 - 12).replace(/[.-]+$/, '')}-${hash}.${type.toLowerCase()}`.slice(0, 253);
}

interface Context {
  shards: Map<string, StoredShard[]>;
  topology: Map<string, ClusterTopology>;
}

function shardsBehind(rs: RecordSet, ctx: Context): StoredShard[] {
  const all = ctx.shards.get(`${rs.namespace}/${rs.service}`) ?? [];
  return all.filter((s) => {
    const t = ctx.topology.get(s.cluster);
    if (rs.level === 'global') return true;
    if (!t) return false;
    if (rs.level === 'region') return t.region === rs.region;
    return t.region === rs.region && t.zones.includes(rs.zone ?? '');
  });
}

function toObject(rs: RecordSet, rv: number, ctx: Context): KubeObject {
  const shards = shardsBehind(rs, ctx);
  return {
    apiVersion: API_VERSION,
    kind: 'DNSRecordSet',
    metadata: {
      name: recordSetObjectName(rs.name, rs.type),
      resourceVersion: String(rv),
      labels: {
        'federation.fedns.io/service': rs.service,
        'federation.fedns.io/namespace': rs.namespace,
        'federation.fedns.io/level': rs.level,
        'federation.fedns.io/type': rs.type,
      },
    },
    spec: {
      name: rs.name,
      type: rs.type,
      ttl: rs.ttl,
      data: rs.data,
      level: rs.level,
      service: `${rs.namespace}/${rs.service}`,
      ...(rs.region ? { region: rs.region } : {}),
      ...(rs.zone ? { zone: rs.zone } : {}),
      ...(rs.policy ? { policy: rs.policy } : {}),
    },
    status: {
      healthyShards: shards.filter((s) => s.healthy).length,
      totalShards: shards.length,
      shards: shards.map((s) => ({ cluster: s.cluster, healthy: s.healthy, addresses: s.addresses, readyEndpoints: s.readyEndpoints, since: s.since, message: s.message })),
    },
  };
}

/**
 * DNSRecordSet objects from the zone. Watches follow the zone journal through
 * the store's change feed (any process's commits); their resourceVersions are
 * journal sequence numbers.
 */
export class RecordSetBackend implements ResourceBackend {
  readonly watchers: WatcherSet<KubeObject>;
  readonly #store: Store;
  #seq = 0;
  #running: Promise<void> | undefined;
  #again = false;
  #unwatch: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  private constructor(store: Store, opts: { historySize?: number; bookmarkIntervalMs?: number }, seq: number) {
    this.#store = store;
    this.#seq = seq;
    this.watchers = new WatcherSet<KubeObject>({
      apiVersion: API_VERSION,
      kind: 'DNSRecordSet',
      namespaced: false,
      compactedRv: seq,
      historySize: opts.historySize,
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      bookmarkRv: (initialListRv) => initialListRv ?? this.#seq,
      lateChanges: true,
    });
  }

  static async start(store: Store, opts: { historySize?: number; bookmarkIntervalMs?: number } = {}): Promise<RecordSetBackend> {
    const b = new RecordSetBackend(store, opts, (await store.zoneSnapshot()).seq);
    b.#unwatch = store.watch((c) => {
      if (c.what === 'zone' && c.seq !== b.#seq) void b.sync();
    });
    b.#timer = setInterval(() => void b.sync(), 1000);
    b.#timer.unref();
    return b;
  }

  async #context(): Promise<Context> {
    const shards = new Map<string, StoredShard[]>();
    for (const s of await this.#store.listShards()) {
      const k = `${s.namespace}/${s.service}`;
      const list = shards.get(k) ?? [];
      list.push(s);
      shards.set(k, list);
    }
    const { items } = await this.#store.listObjects<ClusterObject>('clusters');
    const topology = new Map(items.map((c) => [c.name, topologyFromCluster(c.object)]));
    return { shards, topology };
  }

  async get(_namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    return (await this.list({ fieldSelector: `metadata.name=${name}` })).items[0];
  }

  async list(opts: ListOptions = {}): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const sel = selectionOf(opts);
    const { seq, recordSets } = await this.#store.zoneSnapshot();
    const ctx = await this.#context();
    const items = recordSets
      .filter((rs) => !isDnssecType(rs.type)) // the signer's RRSIG/NSEC3/DNSKEY sets are not the cascade's records
      .map((rs) => toObject(rs, seq, ctx))
      .filter((o) => selects(sel, o, false))
      .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
    return { items, resourceVersion: String(seq) };
  }

  create(): KubeObject {
    throw readOnly();
  }
  update(): KubeObject {
    throw readOnly();
  }
  delete(): KubeObject {
    throw readOnly();
  }

  async watch(opts: WatchOptions, sink: WatchSink<KubeObject>): Promise<WatchHandle> {
    const rv = opts.resourceVersion ?? '';
    const initial = rv === '' || rv === '0' || opts.sendInitialEvents === true ? await this.list({ labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector }) : undefined;
    return this.watchers.watch(opts, sink, () => initial ?? { items: [], resourceVersion: '0' });
  }

  /** One zone commit → ADDED / MODIFIED / DELETED per RRset it touched. */
  #publish(entry: JournalEntry, ctx: Context): void {
    this.#seq = entry.seq;
    const key = (rs: RecordSet) => `${rs.name}/${rs.type}`;
    const deleted = new Map(entry.deleted.filter((rs) => !isDnssecType(rs.type)).map((rs) => [key(rs), rs]));
    for (const rs of entry.added) if (!isDnssecType(rs.type)) this.watchers.publish({ type: deleted.has(key(rs)) ? 'MODIFIED' : 'ADDED', object: toObject(rs, entry.seq, ctx), rv: entry.seq });
    const added = new Set(entry.added.filter((rs) => !isDnssecType(rs.type)).map(key));
    for (const [k, rs] of deleted) if (!added.has(k)) this.watchers.publish({ type: 'DELETED', object: toObject(rs, entry.seq, ctx), rv: entry.seq });
  }

  /** Publishes the commits made since the last look (one look at a time). */
  async sync(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          const entries = await this.#store.zoneChangesSince(this.#seq);
          if (!entries) {
            const { seq } = await this.#store.zoneSnapshot();
            this.watchers.compact(seq);
            this.watchers.closeAll();
            this.#seq = seq;
          } else if (entries.length) {
            if (this.watchers.size === 0) {
              // Nobody watches: no shard read per commit; a later watch from before here gets 410 and relists.
              this.#seq = entries.at(-1)?.seq ?? this.#seq;
              this.watchers.compact(this.#seq);
            } else {
              const ctx = await this.#context();
              for (const e of entries) this.#publish(e, ctx);
            }
          }
        } catch {
          // The store is unreachable for now: the next change or tick tries again.
        }
      } while (this.#again);
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  close(): void {
    this.#unwatch?.();
    clearInterval(this.#timer);
    this.watchers.closeAll();
  }
}

const readOnly = () => errors.methodNotAllowed('write', 'dnsrecordsets');

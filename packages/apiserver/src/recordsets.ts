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
} from '@fedns/kubewire';
import type { ClusterObject, ClusterTopology, RecordSet } from '@fedns/model';
import { topologyFromCluster } from '@fedns/model';
import type { JournalEntry, Store, StoredShard } from '@fedns/store';
import { WatchHub } from './watch-hub.js';

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
    },
    status: {
      healthyShards: shards.filter((s) => s.healthy).length,
      totalShards: shards.length,
      shards: shards.map((s) => ({ cluster: s.cluster, healthy: s.healthy, addresses: s.addresses, readyEndpoints: s.readyEndpoints, since: s.since, message: s.message })),
    },
  };
}

export class RecordSetBackend implements ResourceBackend {
  readonly hub: WatchHub;
  readonly #store: Store;
  #seq: number;
  readonly #catchUp?: () => void;

  constructor(store: Store, opts: { historySize?: number; bookmarkIntervalMs?: number; catchUp?: () => void } = {}) {
    this.#store = store;
    this.#seq = store.headSeq();
    this.#catchUp = opts.catchUp;
    this.hub = new WatchHub({
      apiVersion: API_VERSION,
      kind: 'DNSRecordSet',
      namespaced: false,
      startRv: this.#seq,
      historySize: opts.historySize,
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      bookmarkRv: () => {
        opts.catchUp?.();
        return this.#seq;
      },
    });
  }

  #context(): Context {
    const shards = new Map<string, StoredShard[]>();
    for (const s of this.#store.listShards()) {
      const k = `${s.namespace}/${s.service}`;
      const list = shards.get(k) ?? [];
      list.push(s);
      shards.set(k, list);
    }
    const topology = new Map(this.#store.listClusters<ClusterObject>().map((c) => [c.name, topologyFromCluster(c.object)]));
    return { shards, topology };
  }

  get(_namespace: string | undefined, name: string): KubeObject | undefined {
    return this.list({ fieldSelector: `metadata.name=${name}` }).items[0];
  }

  list(opts: ListOptions = {}): { items: KubeObject[]; resourceVersion: string } {
    const sel = selectionOf(opts);
    return this.#store.tx(() => {
      const { seq, recordSets } = this.#store.zoneSnapshot();
      const ctx = this.#context();
      const items = recordSets
        .map((rs) => toObject(rs, seq, ctx))
        .filter((o) => selects(sel, o, false))
        .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
      return { items, resourceVersion: String(seq) };
    });
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

  watch(opts: WatchOptions, sink: WatchSink<KubeObject>): WatchHandle {
    this.#catchUp?.();
    return this.hub.watch(opts, sink, (labels, fields) => this.list({ labelSelector: labels, fieldSelector: fields }));
  }

  /** One zone commit → ADDED / MODIFIED / DELETED per RRset it touched. */
  publish(entry: JournalEntry): void {
    if (entry.seq <= this.#seq) return;
    this.#seq = entry.seq;
    const ctx = this.#context();
    const key = (rs: RecordSet) => `${rs.name}/${rs.type}`;
    const deleted = new Map(entry.deleted.map((rs) => [key(rs), rs]));
    for (const rs of entry.added) this.hub.publish({ type: deleted.has(key(rs)) ? 'MODIFIED' : 'ADDED', object: toObject(rs, entry.seq, ctx), rv: entry.seq });
    const added = new Set(entry.added.map(key));
    for (const [k, rs] of deleted) if (!added.has(k)) this.hub.publish({ type: 'DELETED', object: toObject(rs, entry.seq, ctx), rv: entry.seq });
  }

  /** Catches up with commits made by another process. */
  sync(): void {
    if (this.#store.headSeq() === this.#seq) return;
    const entries = this.#store.changesSince(this.#seq);
    if (!entries) {
      this.#seq = this.#store.headSeq();
      return;
    }
    for (const e of entries) this.publish(e);
  }
}

const readOnly = () => errors.methodNotAllowed('write', 'dnsrecordsets');

/**
 * The store interface (issue 11): one narrow, async contract that every
 * engine implements — SQLite (embedded default, one writer) and PostgreSQL
 * (high availability). Nothing above it runs SQL. Shaped like k3s's kine
 * Backend: objects with compare-and-swap on their resourceVersion, a durable
 * change log every write appends to in its own transaction (watches resume
 * from it on any API server; a compacted log is 410), and the zone commit as
 * one fenced transaction of any size.
 */
import type { ClusterAnswer, ClusterAnswerDiff, ClusterAnswerKey, ProbeVerdict, RecordSet, RecordSetDiff, Shard, StoredProbeVerdict } from '@fedns/model';

export type { ProbeVerdict, StoredProbeVerdict };

/** The object kinds the federation API stores. */
export type ObjectKind = 'services' | 'clusters' | 'namespaces';
export type ObjectChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Who wrote when nobody authenticated did: `fedns join`, tools. */
export const SYSTEM_ACTOR = 'system:fedns';
/** The controller's own writes (status): its object-log follower skips them. */
export const CONTROLLER_ACTOR = 'system:fedns-controller';

/** A stored object: its identity columns and the whole Kubernetes object as JSON (resourceVersion kept apart). */
export interface StoredObject<T = Record<string, unknown>> {
  kind: ObjectKind;
  /** '' for cluster-scoped kinds. */
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: number;
  object: T;
}

/** One entry of the object log: the change a resourceVersion made. */
export interface ObjectChange<T = Record<string, unknown>> {
  rv: number;
  type: ObjectChangeType;
  kind: ObjectKind;
  namespace: string;
  name: string;
  actor: string;
  at: string;
  /** The object after the change; before it, for DELETED. */
  object: T;
}

export interface ObjectChangeSummary {
  rv: number;
  type: ObjectChangeType;
  actor: string;
  at: string;
}

/** A write of one object. `expectedRv`: compare-and-swap (0 = must not exist). */
export interface ObjectWrite<T = unknown> {
  kind: ObjectKind;
  namespace: string;
  name: string;
  uid: string;
  object: T;
  actor?: string;
  /** Cluster credentials (e.g. a kubeconfig), sealed at rest; undefined keeps what is stored. */
  credentials?: string;
}

/** A shard as stored: the cascade's view plus its whole health state, so a restart keeps it. */
export interface StoredShard extends Shard {
  /** When `healthy` last changed (ISO 8601). */
  since: string;
  message: string;
  /** Whether it was ever published healthy (a first appearance needs no stabilisation). */
  everHealthy?: boolean;
  /** Set while a recovered shard waits out its stabilisation window (ISO 8601). */
  recoveringSince?: string;
  /** Whether the member has shown this shard once; default true. */
  reported?: boolean;
  /** `federation/installation-id` of another federation that owns the member object. */
  conflict?: string;
}

/** When a member cluster last answered and whether it counted as Ready then. */
export interface MemberState {
  lastSeen: string;
  ready: boolean;
}

export interface JournalEntry {
  seq: number;
  soaSerial: number;
  prevSoaSerial: number;
  at: string;
  cause: string;
  /** The leader epoch the commit was fenced with (absent without elections). */
  epoch?: number;
  deleted: RecordSet[];
  added: RecordSet[];
}

export interface ZoneSnapshot {
  soaSerial: number;
  seq: number;
  recordSets: RecordSet[];
}

/**
 * The proof of leadership a controller's writes carry: the lease it holds and
 * the epoch it won it at. The engine checks it inside each write's own
 * transaction, so a deposed leader (paused, partitioned, slow) can never
 * commit. Engines without leader election (SQLite's single writer) ignore it.
 */
export interface Fence {
  lease: string;
  holder: string;
  epoch: number;
}

export interface LeaseRecord {
  name: string;
  holder: string;
  epoch: number;
  /** Expiry by the database's clock (ISO 8601). */
  expiresAt: string;
  renewedAt: string;
  /**
   * From `readLease`: how long it has left, by the database's clock, when read (0 when expired).
   * A duration, so a candidate can time its next try without comparing two machines' clocks.
   */
  remainingMs?: number;
}

/**
 * Everything an installation holds, for tools that move it in bulk (`fedns
 * store migrate`, benchmarks): written by `load` in one transaction.
 */
export interface BulkData {
  /** Objects with their resourceVersions kept (the counter moves past the highest). */
  objects?: (StoredObject & { actor?: string; credentials?: string })[];
  shards?: StoredShard[];
  memberStates?: { cluster: string; state: MemberState }[];
  /** The zone as it stands, and its journal (oldest first): serials and history carry over. */
  zone?: { soaSerial: number; seq: number; recordSets: RecordSet[]; journal: JournalEntry[] };
}

export type ShardRef = Pick<ProbeVerdict, 'cluster' | 'namespace' | 'service'>;

/** A change any process committed: objects (with the highest rv seen), the zone (with its seq), or the in-cluster answers (their seq). */
export type StoreChange = { what: 'objects'; rv: number } | { what: 'zone'; seq: number } | { what: 'clusterAnswers'; seq: number };

/** What changed in the in-cluster answers after a seq: rows written, and keys deleted, up to `seq`. */
export interface ClusterAnswerChanges {
  seq: number;
  upserts: ClusterAnswer[];
  deletes: ClusterAnswerKey[];
}

/** A DNSSEC signing key of a zone (issue 15); the private key is sealed at rest. */
export interface StoredDnssecKey {
  id: string;
  flags: number;
  algorithm: number;
  /** PKCS#8 DER, in clear only in memory. */
  privateKey: Buffer;
  state: 'published' | 'active' | 'retired';
  /** ISO 8601. */
  created: string;
}

/**
 * Called inside a zone commit's transaction once its serial is chosen: record
 * sets to write with the diff (the signer's apex RRSIG set, the SOA signed for
 * that serial). Synchronous; a throw rolls the commit back.
 */
export type SerialHook = (serial: number) => RecordSet[];


/**
 * A store that cannot be used as configured (a bad URL, a schema newer than
 * this build, a credentials key that does not belong to the database): the
 * operator fixes it; retrying does not.
 */
export class StoreConfigError extends Error {}

/** An object write that lost its compare-and-swap, or a create of something that exists. */
export class ConflictError extends Error {
  constructor(
    readonly kind: ObjectKind,
    readonly namespace: string,
    readonly objectName: string,
    readonly reason: 'exists' | 'stale' | 'missing',
  ) {
    const what = `${kind} ${namespace ? `${namespace}/` : ''}${objectName}`;
    super(reason === 'exists' ? `${what} already exists` : reason === 'stale' ? `${what} was modified (resourceVersion changed)` : `${what} not found`);
  }
}

/** A write refused because the writer's fence (lease epoch) is no longer the current one. */
export class FencedError extends Error {
  constructor(readonly fence: Fence) {
    super(`lease ${fence.lease}: epoch ${fence.epoch} of ${fence.holder} is no longer current; this process is not the leader`);
  }
}

export interface Store {
  /** `sqlite` or `postgres`. */
  readonly engine: string;
  /** Where it is, with any password removed (for logs). */
  readonly location: string;
  /** Whether several writers may run against it (then they must elect a leader and fence their writes). */
  readonly needsLeaderElection: boolean;
  /** This installation's id, generated at its first start (ownership marks on member objects). */
  readonly installationId: string;
  close(): Promise<void>;

  // ---- objects: compare-and-swap writes, each appended to the object log in its transaction ----
  getObject<T = Record<string, unknown>>(kind: ObjectKind, namespace: string, name: string): Promise<StoredObject<T> | undefined>;
  /** Every object of a kind (in one namespace when given), and the revision the list is consistent at. */
  listObjects<T = Record<string, unknown>>(kind: ObjectKind, namespace?: string): Promise<{ items: StoredObject<T>[]; revision: number }>;
  /** ConflictError('exists') when it exists. */
  createObject<T = Record<string, unknown>>(w: ObjectWrite<T>): Promise<StoredObject<T>>;
  /** Replaces an object whose resourceVersion is still `expectedRv`; ConflictError('stale'|'missing') otherwise. */
  updateObject<T = Record<string, unknown>>(w: ObjectWrite<T>, expectedRv: number, fence?: Fence): Promise<StoredObject<T>>;
  /** Deletes it (when its resourceVersion is `expectedRv`, if given); the deleted object with the deletion's rv, or undefined. */
  deleteObject<T = Record<string, unknown>>(kind: ObjectKind, namespace: string, name: string, opts?: { expectedRv?: number; actor?: string }): Promise<StoredObject<T> | undefined>;
  /** The latest resourceVersion handed out. */
  revision(): Promise<number>;
  /**
   * The object log after `rv`, oldest first (at most `limit`); 'compacted' when
   * entries after `rv` were pruned (the caller relists: a watch answers 410).
   */
  objectChangesSince(rv: number, limit?: number): Promise<ObjectChange[] | 'compacted'>;
  /** The newest changes of one object, newest first (who changed what: `fedns history`, causes). */
  objectHistory(kind: ObjectKind, namespace: string, name: string, limit?: number): Promise<ObjectChange[]>;
  clusterCredentials(name: string): Promise<string | undefined>;

  // ---- controller state (fenced) ----
  putShard(s: StoredShard, fence?: Fence): Promise<void>;
  getShard(cluster: string, namespace: string, service: string): Promise<StoredShard | undefined>;
  listShards(): Promise<StoredShard[]>;
  shardsOfService(namespace: string, service: string): Promise<StoredShard[]>;
  shardsOfCluster(cluster: string): Promise<StoredShard[]>;
  deleteShard(cluster: string, namespace: string, service: string, fence?: Fence): Promise<void>;
  deleteShardsOfCluster(cluster: string, fence?: Fence): Promise<void>;
  memberState(cluster: string): Promise<MemberState | undefined>;
  setMemberState(cluster: string, state: MemberState | undefined, fence?: Fence): Promise<void>;

  // ---- the zone ----
  zoneSnapshot(): Promise<ZoneSnapshot>;
  listRecordSets(): Promise<RecordSet[]>;
  recordSetsOfService(namespace: string, service: string): Promise<RecordSet[]>;
  /**
   * Applies a record diff, bumps the SOA serial once (RFC 1982; above every
   * serial a nameserver reported serving) and journals it, all in one
   * transaction that first checks the fence. An empty diff commits nothing.
   */
  commitZone(diff: RecordSetDiff, cause: string, fence?: Fence, onSerial?: SerialHook): Promise<JournalEntry | undefined>;
  /** Journal entries after `seq`; undefined when entries after it were pruned (reload in full). */
  zoneChangesSince(seq: number): Promise<JournalEntry[] | undefined>;
  /** The journal from SOA serial `serial` to the head, for IXFR; [] when current; undefined when unknown or pruned. */
  journalFromSoa(serial: number): Promise<JournalEntry[] | undefined>;
  /** The newest journal entries that touched a service's records, newest first. */
  historyOf(namespace: string, service: string, limit?: number): Promise<JournalEntry[]>;
  pruneJournal(keep: number): Promise<void>;
  /** A nameserver records the serial it serves, so a new leader never reuses one (issue 11). */
  recordServedSerial(server: string, serial: number): Promise<void>;

  // ---- probes from outside (issue 14): each prober's own rows, never fenced ----
  /**
   * Records this prober's verdicts (one row per shard, replaced), removes the
   * ones named, and marks the prober alive — by the store's clock — in one
   * transaction. With nothing to put or remove it is the prober's heartbeat.
   * Not fenced: every controller, leading or standing by, records its own.
   */
  recordProbes(prober: string, put: ProbeVerdict[], remove: ShardRef[]): Promise<void>;
  /** Every prober's verdicts (of one service when given), ordered by service, cluster and prober. */
  probeVerdicts(namespace?: string, service?: string): Promise<StoredProbeVerdict[]>;
  /** A counter that moves whenever a verdict is put or removed (heartbeats leave it): cheap to poll. */
  probeRevision(): Promise<number>;
  /** Removes probers not heard from for `staleForMs` and their verdicts; returns who went. */
  forgetProbers(staleForMs: number): Promise<string[]>;
  // ---- in-cluster answers (issue 12): private, never in the zone, its journal or its transfers ----
  /** Every answer and the sequence they stand at (one consistent read). */
  clusterAnswersSnapshot(): Promise<{ seq: number; answers: ClusterAnswer[] }>;
  clusterAnswersOfService(namespace: string, service: string): Promise<ClusterAnswer[]>;
  /**
   * Writes and deletes answers in one transaction that first checks the fence; the sequence
   * moves by one. An empty diff commits nothing (undefined).
   */
  commitClusterAnswers(diff: ClusterAnswerDiff, fence?: Fence): Promise<number | undefined>;
  /** What changed after `seq`, up to the head; 'compacted' when that is no longer known (past the head, or deletions forgotten): reload the snapshot. */
  clusterAnswersSince(seq: number): Promise<ClusterAnswerChanges | 'compacted'>;
  // ---- DNSSEC keys and state (issue 15; the private keys sealed like member credentials) ----
  /** The zone's keys, private keys opened (needs the credentials key: not on a read-only store). */
  dnssecKeys(zone: string): Promise<StoredDnssecKey[]>;
  /** Creates or replaces a key (by zone and id). */
  putDnssecKey(zone: string, key: StoredDnssecKey, fence?: Fence): Promise<void>;
  deleteDnssecKey(zone: string, id: string, fence?: Fence): Promise<void>;
  /** The zone's signing state (JSON as written), or undefined. */
  dnssecState<T = Record<string, unknown>>(zone: string): Promise<T | undefined>;
  putDnssecState(zone: string, state: unknown, fence?: Fence): Promise<void>;

  // ---- leader election (engines that need it) ----
  /**
   * Takes the lease when it is free or expired (a new, higher epoch), or
   * renews it when `holder` holds it at `heldEpoch` (the epoch this process
   * won); undefined otherwise. Judged by the database's clock. A renewal names
   * its epoch so that a restarted process, or a second one started with the
   * same identity, never inherits a leadership it did not win.
   */
  acquireLease(name: string, holder: string, durationMs: number, heldEpoch?: number): Promise<LeaseRecord | undefined>;
  releaseLease(name: string, holder: string): Promise<void>;
  readLease(name: string): Promise<LeaseRecord | undefined>;

  // ---- durability ----
  /**
   * Engines with replication (PostgreSQL) say whether a commit waits for a
   * standby: without that, a failover can lose acknowledged commits.
   */
  replicationStatus?(): Promise<{ synchronous: boolean; synchronousStandbyNames: string; synchronousCommit: string; syncStandbys: number | undefined; inRecovery: boolean }>;

  // ---- bulk ----
  /** Writes many things in one transaction (a tool's import into an empty store; not for live use). */
  load(data: BulkData): Promise<void>;

  // ---- change feed ----
  /**
   * Calls `listener` when anything commits — in this process at once; from
   * other processes as the engine learns of it (LISTEN/NOTIFY, or polling).
   * Returns the unsubscribe function.
   */
  watch(listener: (change: StoreChange) => void): () => void;
}

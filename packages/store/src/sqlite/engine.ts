/**
 * The SQLite engine (the embedded default): one file in WAL mode with
 * synchronous=FULL, through node:sqlite. Calls are synchronous underneath — a
 * write is one short transaction on the event loop, so nothing interleaves —
 * and async at the interface. One writer process by construction (the writer
 * lock), so it needs no leader election; leases and fences are kept for the
 * same contract but the fences are not checked.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import type { ClusterAnswer, ClusterAnswerDiff, RecordSet, RecordSetDiff } from '@fedns/model';
import { type JournalRow, journalContent, nextCommitSerial, withHookSets, type RecordRow, rowToEntry, rowToRecordSet, rowToShard, type ShardRow, shardParams, touchedServices } from '../rows.js';
import { SqliteProbes } from './probes.js';
import { SecretBox } from '../secrets.js';
import {
  type BulkData,
  type ClusterAnswerChanges,
  ConflictError,
  type Fence,
  type JournalEntry,
  type LeaseRecord,
  type MemberState,
  type ObjectChange,
  type ObjectKind,
  type ObjectWrite,
  type ProbeVerdict,
  type SerialHook,
  type ShardRef,
  type Store,
  type StoredDnssecKey,
  type StoreChange,
  type StoredObject,
  type StoredProbeVerdict,
  type StoredShard,
  SYSTEM_ACTOR,
  type ZoneSnapshot,
} from '../types.js';
import { SqliteClusterAnswers } from './cluster-answers.js';
import { migrate, readMigrations } from './migrate.js';
import { ObjectLog } from './object-log.js';
import { prepareStatements } from './statements.js';
import { pluck, transaction } from './tx.js';

/** How long a connection waits for another one's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;
/** How often another process's commits are looked for (PRAGMA data_version). */
const POLL_MS = 50;

export const SQLITE_MIGRATIONS_DIR = fileURLToPath(new URL('../../../../migrations/sqlite/', import.meta.url));

export interface SqliteOptions {
  /** The database file (`<data-dir>/fedns.db` by default). */
  path: string;
  migrationsDir?: string;
  /** Key file for credentials at rest; default `secret.key` beside the database, created when missing. */
  keyFile?: string;
  /** Open an existing database without migrating or writing (a follower such as a lone nameserver). */
  readonly?: boolean;
  /** Object log rows kept (default 100,000). */
  objectLogSize?: number;
}

const TABLES: Record<ObjectKind, { table: string; namespaced: boolean }> = {
  services: { table: 'services', namespaced: true },
  clusters: { table: 'clusters', namespaced: false },
  namespaces: { table: 'namespaces', namespaced: false },
};

interface ObjRow {
  namespace?: string;
  name: string;
  uid: string;
  resource_version: number;
  object: string;
}

type Stmts = ReturnType<typeof prepareStatements>;

/** A record set's columns in the order the upsert takes them. */
const recordParams = (rs: RecordSet) =>
  [rs.name, rs.type, rs.ttl, JSON.stringify(rs.data), rs.level, rs.namespace, rs.service, rs.region ?? null, rs.zone ?? null, rs.policy ? JSON.stringify(rs.policy) : null] as const;

interface KeyRow {
  id: string;
  flags: number;
  algorithm: number;
  private_key: Uint8Array;
  state: StoredDnssecKey['state'];
  created: string;
}

export class SqliteStore implements Store {
  readonly engine = 'sqlite';
  readonly needsLeaderElection = false;
  readonly location: string;
  readonly installationId: string;
  readonly #db: DatabaseSync;
  readonly #secrets: SecretBox | undefined;
  readonly #s: Stmts;
  readonly #log: ObjectLog;
  #probes: SqliteProbes | undefined;
  readonly #answers: SqliteClusterAnswers;
  readonly #listeners = new Set<(c: StoreChange) => void>();
  #poll: NodeJS.Timeout | undefined;
  #seenVersion = -1;
  #seenRv = -1;
  #seenSeq = -1;
  #seenAnswers = -1;

  private constructor(db: DatabaseSync, path: string, secrets: SecretBox | undefined, objectLogSize: number | undefined, installationId: string) {
    this.#db = db;
    this.location = `sqlite:${path}`;
    this.#secrets = secrets;
    this.#s = prepareStatements(db);
    this.#log = new ObjectLog(db, objectLogSize);
    this.#answers = new SqliteClusterAnswers(db);
    this.installationId = installationId;
  }

  static open(opts: SqliteOptions): SqliteStore {
    const dir = join(opts.path, '..');
    if (opts.readonly && !existsSync(opts.path)) throw new Error(`store: ${opts.path} does not exist (a read-only store never creates one)`);
    mkdirSync(dir, { recursive: true });
    // A follower opens read-write all the same (a WAL reader may need to create the -shm index)
    // but never migrates or writes. timeout: busy_timeout, set before anything needs a lock.
    const db = new DatabaseSync(opts.path, { timeout: BUSY_TIMEOUT_MS });
    db.exec('PRAGMA journal_mode = WAL');
    // FULL: a commit acknowledged to a secondary or an API client survives power loss too.
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA foreign_keys = ON');
    if (!opts.readonly) migrate(db, readMigrations(opts.migrationsDir ?? SQLITE_MIGRATIONS_DIR));
    const secrets = opts.readonly ? undefined : SecretBox.fromKeyFile(opts.keyFile ?? join(dir, 'secret.key'), true);
    const meta = pluck<string>(db, 'SELECT value FROM meta WHERE key = ?');
    if (!opts.readonly) {
      const set = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING');
      transaction(db, () => {
        // The serial starts from the clock (seconds fit 32 bits until 2106), so a re-created data
        // directory still looks newer to secondaries that kept an older copy.
        set.run('soa_serial', String(Math.floor(Date.now() / 1000) >>> 0));
        set.run('resource_version', '1');
        set.run('journal_seq', '0');
        // Names this installation on every object it writes into a member cluster (ownership).
        set.run('installation_id', randomUUID());
      });
    }
    return new SqliteStore(db, opts.path, secrets, opts.objectLogSize, meta.get('installation_id') ?? '');
  }

  /** The connection's settings, for logs and tests: WAL, synchronous=FULL (2), foreign keys, busy timeout. */
  settings(): { journalMode: string; synchronous: number; foreignKeys: number; busyTimeoutMs: number } {
    const one = (pragma: string) => Object.values((this.#db.prepare(`PRAGMA ${pragma}`).get() as Record<string, unknown>) ?? {})[0];
    return { journalMode: String(one('journal_mode')), synchronous: Number(one('synchronous')), foreignKeys: Number(one('foreign_keys')), busyTimeoutMs: Number(one('busy_timeout')) };
  }

  async close(): Promise<void> {
    clearInterval(this.#poll);
    this.#poll = undefined;
    this.#listeners.clear();
    // node:sqlite throws on a second close.
    if (this.#db.isOpen) this.#db.close();
  }

  #meta(key: string): string | undefined {
    return this.#s.getMeta.get(key);
  }

  #setMeta(key: string, value: string): void {
    this.#s.setMeta.run(key, value);
  }

  #nextRv(): number {
    const rv = Number(this.#meta('resource_version') ?? '1') + 1;
    this.#setMeta('resource_version', String(rv));
    return rv;
  }

  #emit(change: StoreChange): void {
    for (const l of this.#listeners) {
      try {
        l(change);
      } catch {
        // A listener's failure is its own; the write is committed.
      }
    }
  }

  // ---- objects --------------------------------------------------------------------------------

  #row<T>(kind: ObjectKind, r: ObjRow): StoredObject<T> {
    return { kind, namespace: r.namespace ?? '', name: r.name, uid: r.uid, resourceVersion: Number(r.resource_version), object: JSON.parse(r.object) as T };
  }

  #get(kind: ObjectKind, namespace: string, name: string): ObjRow | undefined {
    const q = this.#s.objects[kind];
    return (TABLES[kind].namespaced ? q.get.get(namespace, name) : q.get.get(name)) as unknown as ObjRow | undefined;
  }

  async getObject<T>(kind: ObjectKind, namespace: string, name: string): Promise<StoredObject<T> | undefined> {
    const r = this.#get(kind, namespace, name);
    return r ? this.#row<T>(kind, r) : undefined;
  }

  async listObjects<T>(kind: ObjectKind, namespace?: string): Promise<{ items: StoredObject<T>[]; revision: number }> {
    return transaction(
      this.#db,
      () => {
        const q = this.#s.objects[kind];
        const rows = (namespace !== undefined && TABLES[kind].namespaced ? q.listIn.all(namespace) : q.list.all()) as unknown as ObjRow[];
        return { items: rows.map((r) => this.#row<T>(kind, r)), revision: Number(this.#meta('resource_version') ?? '1') };
      },
      'read',
    );
  }

  #put(kind: ObjectKind, w: ObjectWrite, rv: number): void {
    const q = this.#s.objects[kind];
    const json = JSON.stringify(w.object);
    if (TABLES[kind].namespaced) q.put.run(w.namespace, w.name, w.uid, rv, json);
    else q.put.run(w.name, w.uid, rv, json);
    if (w.credentials !== undefined) {
      if (kind !== 'clusters') throw new Error(`credentials belong to clusters, not ${kind}`);
      if (!this.#secrets) throw new Error('store opened read-only: cannot write credentials');
      this.#s.setCredentials.run(this.#secrets.seal(Buffer.from(w.credentials, 'utf8')), w.name);
    }
  }

  #written<T>(kind: ObjectKind, w: ObjectWrite<T>, type: 'ADDED' | 'MODIFIED'): StoredObject<T> {
    const rv = this.#nextRv();
    this.#put(kind, w, rv);
    this.#log.append({ rv, kind, namespace: w.namespace, name: w.name, type, actor: w.actor ?? SYSTEM_ACTOR, object: w.object });
    return { kind, namespace: w.namespace, name: w.name, uid: w.uid, resourceVersion: rv, object: w.object };
  }

  async createObject<T>(w: ObjectWrite<T>): Promise<StoredObject<T>> {
    const stored = transaction(this.#db, () => {
      if (this.#get(w.kind, w.namespace, w.name)) throw new ConflictError(w.kind, w.namespace, w.name, 'exists');
      return this.#written(w.kind, w, 'ADDED');
    });
    this.#emit({ what: 'objects', rv: stored.resourceVersion });
    return stored;
  }

  async updateObject<T>(w: ObjectWrite<T>, expectedRv: number): Promise<StoredObject<T>> {
    const stored = transaction(this.#db, () => {
      const cur = this.#get(w.kind, w.namespace, w.name);
      if (!cur) throw new ConflictError(w.kind, w.namespace, w.name, 'missing');
      if (Number(cur.resource_version) !== expectedRv) throw new ConflictError(w.kind, w.namespace, w.name, 'stale');
      return this.#written(w.kind, w, 'MODIFIED');
    });
    this.#emit({ what: 'objects', rv: stored.resourceVersion });
    return stored;
  }

  async deleteObject<T>(kind: ObjectKind, namespace: string, name: string, opts: { expectedRv?: number; actor?: string } = {}): Promise<StoredObject<T> | undefined> {
    const gone = transaction(this.#db, () => {
      const cur = this.#get(kind, namespace, name);
      if (!cur) return undefined;
      if (opts.expectedRv !== undefined && Number(cur.resource_version) !== opts.expectedRv) throw new ConflictError(kind, namespace, name, 'stale');
      const q = this.#s.objects[kind];
      if (TABLES[kind].namespaced) q.remove.run(namespace, name);
      else q.remove.run(name);
      const rv = this.#nextRv();
      const object = JSON.parse(cur.object) as T;
      this.#log.append({ rv, kind, namespace, name, type: 'DELETED', actor: opts.actor ?? SYSTEM_ACTOR, object });
      return { kind, namespace, name, uid: cur.uid, resourceVersion: rv, object };
    });
    if (gone) this.#emit({ what: 'objects', rv: gone.resourceVersion });
    return gone;
  }

  async revision(): Promise<number> {
    return Number(this.#meta('resource_version') ?? '1');
  }

  async objectChangesSince(rv: number, limit = 10_000): Promise<ObjectChange[] | 'compacted'> {
    // A position past the head is from a history this store does not have (a restored backup): relist.
    if (rv > Number(this.#meta('resource_version') ?? '1')) return 'compacted';
    return this.#log.since(rv, limit);
  }

  async objectHistory(kind: ObjectKind, namespace: string, name: string, limit = 100): Promise<ObjectChange[]> {
    return this.#log.changes(kind, namespace, name, limit);
  }

  async clusterCredentials(name: string): Promise<string | undefined> {
    const sealed = this.#s.getCredentials.get(name);
    if (!sealed) return undefined;
    if (!this.#secrets) throw new Error('store opened read-only: cannot read credentials');
    return this.#secrets.open(sealed).toString('utf8');
  }

  // ---- controller state ------------------------------------------------------------------------

  async putShard(s: StoredShard): Promise<void> {
    this.#s.putShard.run(...shardParams(s));
  }

  async getShard(cluster: string, namespace: string, service: string): Promise<StoredShard | undefined> {
    const r = this.#s.getShard.get(cluster, namespace, service) as unknown as ShardRow | undefined;
    return r ? rowToShard(r) : undefined;
  }

  async listShards(): Promise<StoredShard[]> {
    return (this.#s.listShards.all() as unknown as ShardRow[]).map(rowToShard);
  }

  async shardsOfService(namespace: string, service: string): Promise<StoredShard[]> {
    return (this.#s.shardsOfService.all(namespace, service) as unknown as ShardRow[]).map(rowToShard);
  }

  async shardsOfCluster(cluster: string): Promise<StoredShard[]> {
    return (this.#s.shardsOfCluster.all(cluster) as unknown as ShardRow[]).map(rowToShard);
  }

  async deleteShard(cluster: string, namespace: string, service: string): Promise<void> {
    this.#s.deleteShard.run(cluster, namespace, service);
  }

  async deleteShardsOfCluster(cluster: string): Promise<void> {
    this.#s.deleteShardsOfCluster.run(cluster);
  }

  async memberState(cluster: string): Promise<MemberState | undefined> {
    const r = this.#s.getMemberState.get(cluster) as { last_seen: string; ready: number } | undefined;
    return r ? { lastSeen: r.last_seen, ready: r.ready === 1 } : undefined;
  }

  async setMemberState(cluster: string, state: MemberState | undefined): Promise<void> {
    if (state) this.#s.putMemberState.run(cluster, state.lastSeen, state.ready ? 1 : 0);
    else this.#s.deleteMemberState.run(cluster);
  }

  // ---- the zone --------------------------------------------------------------------------------

  #soaSerial(): number {
    return Number(this.#meta('soa_serial'));
  }

  #headSeq(): number {
    return Number(this.#meta('journal_seq') ?? '0');
  }

  async zoneSnapshot(): Promise<ZoneSnapshot> {
    return transaction(this.#db, () => ({ soaSerial: this.#soaSerial(), seq: this.#headSeq(), recordSets: this.#records() }), 'read');
  }

  #records(): RecordSet[] {
    return (this.#s.listRecordSets.all() as unknown as RecordRow[]).map(rowToRecordSet);
  }

  async listRecordSets(): Promise<RecordSet[]> {
    return this.#records();
  }

  async recordSetsOfService(namespace: string, service: string): Promise<RecordSet[]> {
    return (this.#s.recordSetsOfService.all(namespace, service) as unknown as RecordRow[]).map(rowToRecordSet);
  }

  async commitZone(diff: RecordSetDiff, cause: string, fence?: Fence, onSerial?: SerialHook): Promise<JournalEntry | undefined> {
    if (diff.upserts.length === 0 && diff.deletes.length === 0) return undefined;
    const s = this.#s;
    const entry = transaction(this.#db, (): JournalEntry => {
      const stored = (name: string, type: string) => {
        const r = s.getRecordSet.get(name, type) as unknown as RecordRow | undefined;
        return r && rowToRecordSet(r);
      };
      const prevSoa = this.#soaSerial();
      const soaSerial = nextCommitSerial(prevSoa, s.servedSerials.all());
      const { deleted, added, deleteKeys } = journalContent(onSerial ? withHookSets(diff, onSerial(soaSerial)) : diff, stored);
      for (const rs of deleteKeys) s.deleteRecordSet.run(rs.name, rs.type);
      for (const rs of added) s.upsertRecordSet.run(...recordParams(rs));
      const seq = this.#headSeq() + 1;
      const at = new Date().toISOString();
      this.#setMeta('soa_serial', String(soaSerial));
      this.#setMeta('journal_seq', String(seq));
      s.appendJournal.run(seq, soaSerial, prevSoa, at, cause, JSON.stringify(deleted), JSON.stringify(added), fence?.epoch ?? null);
      for (const [ns, svc] of touchedServices({ deleted, added })) s.tagJournal.run(seq, ns, svc);
      return { seq, soaSerial, prevSoaSerial: prevSoa, at, cause, deleted, added, ...(fence ? { epoch: fence.epoch } : {}) };
    });
    this.#emit({ what: 'zone', seq: entry.seq });
    return entry;
  }

  async zoneChangesSince(seq: number): Promise<JournalEntry[] | undefined> {
    // Past the head: another history (a restored backup); the follower reloads.
    if (seq > this.#headSeq()) return undefined;
    const first = this.#s.firstSeq.get() ?? null;
    if (seq < this.#headSeq() && (first === null || first > seq + 1)) return undefined;
    return (this.#s.journalSince.all(seq) as unknown as JournalRow[]).map(rowToEntry);
  }

  async journalFromSoa(serial: number): Promise<JournalEntry[] | undefined> {
    return transaction(
      this.#db,
      () => {
        const s = serial >>> 0;
        const rows = (this.#s.journalFromPrevSoa.all(s) as unknown as JournalRow[]).map(rowToEntry);
        if (rows.length) return rows;
        return s === this.#soaSerial() ? [] : undefined;
      },
      'read',
    );
  }

  async historyOf(namespace: string, service: string, limit = 100): Promise<JournalEntry[]> {
    return (this.#s.historyOf.all(namespace, service, limit) as unknown as JournalRow[]).map(rowToEntry);
  }

  async pruneJournal(keep: number): Promise<void> {
    const cut = this.#headSeq() - keep;
    if (cut > 0) this.#s.pruneJournal.run(cut);
  }

  async recordServedSerial(server: string, serial: number): Promise<void> {
    this.#s.putServedSerial.run(server, serial >>> 0, new Date().toISOString());
  }

  // ---- probes (issue 14) -----------------------------------------------------------------------

  /** Prepared on first use: a read-only follower of an older schema never needs the tables. */
  get #probeRows(): SqliteProbes {
    this.#probes ??= new SqliteProbes(this.#db);
    return this.#probes;
  }

  async recordProbes(prober: string, put: ProbeVerdict[], remove: ShardRef[]): Promise<void> {
    this.#probeRows.record(prober, put, remove);
  }

  async probeVerdicts(namespace?: string, service?: string): Promise<StoredProbeVerdict[]> {
    return this.#probeRows.verdicts(namespace, service);
  }

  async probeRevision(): Promise<number> {
    return this.#probeRows.revision();
  }

  async forgetProbers(staleForMs: number): Promise<string[]> {
    return this.#probeRows.forget(staleForMs);
  }

  // ---- in-cluster answers ---------------------------------------------------------------------

  async clusterAnswersSnapshot(): Promise<{ seq: number; answers: ClusterAnswer[] }> {
    return this.#answers.snapshot();
  }

  async clusterAnswersOfService(namespace: string, service: string): Promise<ClusterAnswer[]> {
    return this.#answers.ofService(namespace, service);
  }

  async commitClusterAnswers(diff: ClusterAnswerDiff): Promise<number | undefined> {
    const seq = this.#answers.commit(diff);
    if (seq !== undefined) this.#emit({ what: 'clusterAnswers', seq });
    return seq;
  }

  async clusterAnswersSince(seq: number): Promise<ClusterAnswerChanges | 'compacted'> {
    return this.#answers.since(seq);
  }

  // ---- DNSSEC keys and state --------------------------------------------------------------------

  #box(): SecretBox {
    if (!this.#secrets) throw new Error('store opened read-only: cannot read or write DNSSEC private keys');
    return this.#secrets;
  }

  async dnssecKeys(zone: string): Promise<StoredDnssecKey[]> {
    const rows = this.#db.prepare('SELECT id, flags, algorithm, private_key, state, created FROM dnssec_keys WHERE zone = ? ORDER BY created, id').all(zone) as unknown as KeyRow[];
    return rows.map((r) => ({ id: r.id, flags: Number(r.flags), algorithm: Number(r.algorithm), privateKey: this.#box().open(r.private_key), state: r.state, created: r.created }));
  }

  async putDnssecKey(zone: string, k: StoredDnssecKey): Promise<void> {
    this.#db
      .prepare(
        `INSERT INTO dnssec_keys (zone, id, flags, algorithm, private_key, state, created) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(zone, id) DO UPDATE SET flags = excluded.flags, algorithm = excluded.algorithm, private_key = excluded.private_key, state = excluded.state, created = excluded.created`,
      )
      .run(zone, k.id, k.flags, k.algorithm, this.#box().seal(k.privateKey), k.state, k.created);
  }

  async deleteDnssecKey(zone: string, id: string): Promise<void> {
    this.#db.prepare('DELETE FROM dnssec_keys WHERE zone = ? AND id = ?').run(zone, id);
  }

  async dnssecState<T>(zone: string): Promise<T | undefined> {
    const v = pluck<string>(this.#db, 'SELECT state FROM dnssec_state WHERE zone = ?').get(zone);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }

  async putDnssecState(zone: string, state: unknown): Promise<void> {
    this.#db.prepare('INSERT INTO dnssec_state (zone, state) VALUES (?, ?) ON CONFLICT(zone) DO UPDATE SET state = excluded.state').run(zone, JSON.stringify(state));
  }

  // ---- leases ----------------------------------------------------------------------------------

  async acquireLease(name: string, holder: string, durationMs: number, heldEpoch?: number): Promise<LeaseRecord | undefined> {
    return transaction(this.#db, () => {
      const now = Date.now();
      const cur = this.#s.getLease.get(name) as { holder: string; epoch: number; expires_at: number } | undefined;
      const live = cur !== undefined && cur.expires_at > now;
      const renewal = live && cur.holder === holder && cur.epoch === heldEpoch;
      if (live && !renewal) return undefined;
      const epoch = renewal ? cur.epoch : (cur?.epoch ?? 0) + 1;
      this.#s.putLease.run(name, holder, epoch, now + durationMs, now);
      return { name, holder, epoch, expiresAt: new Date(now + durationMs).toISOString(), renewedAt: new Date(now).toISOString() };
    });
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.#s.expireLease.run(Date.now(), name, holder);
  }

  async readLease(name: string): Promise<LeaseRecord | undefined> {
    const r = this.#s.getLease.get(name) as { holder: string; epoch: number; expires_at: number; renewed_at: number } | undefined;
    return r && { name, holder: r.holder, epoch: r.epoch, expiresAt: new Date(r.expires_at).toISOString(), renewedAt: new Date(r.renewed_at).toISOString(), remainingMs: Math.max(0, r.expires_at - Date.now()) };
  }

  // ---- bulk ------------------------------------------------------------------------------------

  async load(data: BulkData): Promise<void> {
    const s = this.#s;
    transaction(this.#db, () => {
      let maxRv = Number(this.#meta('resource_version') ?? '1');
      for (const o of data.objects ?? []) {
        this.#put(o.kind, o, o.resourceVersion);
        this.#log.append({ rv: o.resourceVersion, kind: o.kind, namespace: o.namespace, name: o.name, type: 'ADDED', actor: o.actor ?? SYSTEM_ACTOR, object: o.object });
        maxRv = Math.max(maxRv, o.resourceVersion);
      }
      this.#setMeta('resource_version', String(maxRv));
      for (const sh of data.shards ?? []) s.putShard.run(...shardParams(sh));
      for (const m of data.memberStates ?? []) s.putMemberState.run(m.cluster, m.state.lastSeen, m.state.ready ? 1 : 0);
      const z = data.zone;
      if (z) {
        for (const rs of z.recordSets) s.upsertRecordSet.run(...recordParams(rs));
        for (const e of z.journal) {
          s.appendJournal.run(e.seq, e.soaSerial, e.prevSoaSerial, e.at, e.cause, JSON.stringify(e.deleted), JSON.stringify(e.added), e.epoch ?? null);
          for (const [ns, svc] of touchedServices(e)) s.tagJournal.run(e.seq, ns, svc);
        }
        this.#setMeta('soa_serial', String(z.soaSerial >>> 0));
        this.#setMeta('journal_seq', String(z.seq));
      }
    });
    this.#emit({ what: 'objects', rv: Number(this.#meta('resource_version') ?? '1') });
    if (data.zone) this.#emit({ what: 'zone', seq: data.zone.seq });
  }

  // ---- change feed -----------------------------------------------------------------------------

  watch(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#poll) this.#startPolling();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        clearInterval(this.#poll);
        this.#poll = undefined;
      }
    };
  }

  /** Other processes' commits: data_version moves only for other connections. */
  #startPolling(): void {
    this.#seenVersion = this.#s.dataVersion.get() ?? 0;
    this.#seenRv = Number(this.#meta('resource_version') ?? '1');
    this.#seenSeq = this.#headSeq();
    this.#seenAnswers = this.#answers.head();
    this.#poll = setInterval(() => {
      try {
        const v = this.#s.dataVersion.get() ?? 0;
        if (v === this.#seenVersion) return;
        this.#seenVersion = v;
        const rv = Number(this.#meta('resource_version') ?? '1');
        const seq = this.#headSeq();
        const answers = this.#answers.head();
        if (rv !== this.#seenRv) this.#emit({ what: 'objects', rv });
        if (seq !== this.#seenSeq) this.#emit({ what: 'zone', seq });
        if (answers !== this.#seenAnswers) this.#emit({ what: 'clusterAnswers', seq: answers });
        this.#seenRv = rv;
        this.#seenSeq = seq;
        this.#seenAnswers = answers;
      } catch {
        // The file may be briefly locked or gone; the next tick tries again.
      }
    }, POLL_MS);
    this.#poll.unref();
  }
}

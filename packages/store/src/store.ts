import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import type { RecordSet, RecordSetDiff, Shard } from '@fedns/model';
import { nextSerial } from '@fedns/model';
import { migrate, readMigrations } from './migrate.js';
import { type ObjectChangeSummary, type ObjectKind, ObjectLog, type ObjectLogEntry, SYSTEM_ACTOR } from './object-log.js';
import { SecretBox } from './secrets.js';
import { pluck, transaction } from './sqlite.js';

/** How long a connection waits for another one's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/** The top-level migrations/ folder of the workspace. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

export interface StoreOptions {
  dataDir: string;
  migrationsDir?: string;
  /** Key file for credentials at rest; default `<dataDir>/secret.key`, created when missing. */
  keyFile?: string;
  /** Open an existing database without migrating or writing (a follower such as a lone nameserver). */
  readonly?: boolean;
  /** Object log rows kept (default 100,000; older ones are pruned in batches). */
  objectLogSize?: number;
}

/** A Kubernetes object as stored: the JSON object plus its identity columns. */
export interface StoredObject<T = Record<string, unknown>> {
  uid: string;
  resourceVersion: number;
  object: T;
}

export interface StoredService<T = Record<string, unknown>> extends StoredObject<T> {
  namespace: string;
  name: string;
}

export interface StoredCluster<T = Record<string, unknown>> extends StoredObject<T> {
  name: string;
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
  /** Whether the member has shown this shard once (see migration 0006); default true. */
  reported?: boolean;
  /** `federation/installation-id` of another federation that owns the member object. */
  conflict?: string;
}

/** When a member cluster last answered and whether it counted as Ready then. */
export interface MemberState {
  lastSeen: string;
  ready: boolean;
}

/**
 * Emitted as `object` when a service or cluster row is written or deleted
 * through this Store (possibly inside a transaction that later rolls back:
 * listeners re-read and compare resourceVersions, they do not trust the event).
 */
export interface ObjectChange {
  kind: 'service' | 'cluster';
  namespace?: string;
  name: string;
}

export interface JournalEntry {
  seq: number;
  soaSerial: number;
  prevSoaSerial: number;
  at: string;
  cause: string;
  deleted: RecordSet[];
  added: RecordSet[];
}

interface RecordRow {
  name: string;
  type: string;
  ttl: number;
  data: string;
  level: string;
  namespace: string;
  service: string;
  region: string | null;
  zone: string | null;
}

interface JournalRow {
  seq: number;
  soa_serial: number;
  prev_soa: number;
  at: string;
  cause: string;
  deleted: string;
  added: string;
}

function rowToRecordSet(r: RecordRow): RecordSet {
  const rs: RecordSet = {
    name: r.name,
    type: r.type as RecordSet['type'],
    ttl: r.ttl,
    data: JSON.parse(r.data) as string[],
    level: r.level as RecordSet['level'],
    namespace: r.namespace,
    service: r.service,
  };
  if (r.region !== null) rs.region = r.region;
  if (r.zone !== null) rs.zone = r.zone;
  return rs;
}

function rowToEntry(r: JournalRow): JournalEntry {
  return {
    seq: r.seq,
    soaSerial: r.soa_serial,
    prevSoaSerial: r.prev_soa,
    at: r.at,
    cause: r.cause,
    deleted: JSON.parse(r.deleted) as RecordSet[],
    added: JSON.parse(r.added) as RecordSet[],
  };
}

/**
 * The one source of truth (DESIGN §2): services, clusters, shards, record sets,
 * the zone serial and the change journal, in one SQLite file in WAL mode.
 * Every multi-row write runs in one transaction. Emits `commit` (JournalEntry)
 * after a record diff is durably committed, for in-process followers, and
 * `object` (ObjectChange) when a service or cluster row changes.
 */
export class Store extends EventEmitter {
  readonly path: string;
  /** The SQLite connection; outside this package only `packages/apiserver/src/tables.ts` still uses it. */
  readonly db: DatabaseSync;
  private readonly secrets: SecretBox | undefined;
  private readonly stmts;
  private readonly objectLog: ObjectLog;

  private constructor(db: DatabaseSync, path: string, secrets: SecretBox | undefined, objectLogSize?: number) {
    super();
    this.db = db;
    this.path = path;
    this.secrets = secrets;
    this.objectLog = new ObjectLog(db, objectLogSize);
    this.stmts = {
      getMeta: pluck<string>(db, 'SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      getService: db.prepare('SELECT namespace, name, uid, resource_version, object FROM services WHERE namespace = ? AND name = ?'),
      listServices: db.prepare('SELECT namespace, name, uid, resource_version, object FROM services ORDER BY namespace, name'),
      putService: db.prepare(
        `INSERT INTO services (namespace, name, uid, resource_version, object) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(namespace, name) DO UPDATE SET uid = excluded.uid, resource_version = excluded.resource_version, object = excluded.object`,
      ),
      deleteService: db.prepare('DELETE FROM services WHERE namespace = ? AND name = ?'),
      hasService: db.prepare('SELECT 1 AS one FROM services WHERE namespace = ? AND name = ?'),
      getCluster: db.prepare('SELECT name, uid, resource_version, object FROM clusters WHERE name = ?'),
      listClusters: db.prepare('SELECT name, uid, resource_version, object FROM clusters ORDER BY name'),
      putCluster: db.prepare(
        `INSERT INTO clusters (name, uid, resource_version, object) VALUES (?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET uid = excluded.uid, resource_version = excluded.resource_version, object = excluded.object`,
      ),
      setCredentials: db.prepare('UPDATE clusters SET credentials = ? WHERE name = ?'),
      getCredentials: pluck<Uint8Array | null>(db, 'SELECT credentials FROM clusters WHERE name = ?'),
      deleteCluster: db.prepare('DELETE FROM clusters WHERE name = ?'),
      hasCluster: db.prepare('SELECT 1 AS one FROM clusters WHERE name = ?'),
      putShard: db.prepare(
        `INSERT INTO shards (cluster, namespace, service, addresses, ready_endpoints, healthy, since, message, ever_healthy, recovering_since, reported, conflict)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(cluster, namespace, service) DO UPDATE SET addresses = excluded.addresses,
           ready_endpoints = excluded.ready_endpoints, healthy = excluded.healthy, since = excluded.since, message = excluded.message,
           ever_healthy = excluded.ever_healthy, recovering_since = excluded.recovering_since, reported = excluded.reported, conflict = excluded.conflict`,
      ),
      getShard: db.prepare('SELECT * FROM shards WHERE cluster = ? AND namespace = ? AND service = ?'),
      listShards: db.prepare('SELECT * FROM shards ORDER BY namespace, service, cluster'),
      shardsOfService: db.prepare('SELECT * FROM shards WHERE namespace = ? AND service = ? ORDER BY cluster'),
      shardsOfCluster: db.prepare('SELECT * FROM shards WHERE cluster = ? ORDER BY namespace, service'),
      getMemberState: db.prepare('SELECT last_seen, ready FROM member_state WHERE cluster = ?'),
      putMemberState: db.prepare(
        'INSERT INTO member_state (cluster, last_seen, ready) VALUES (?, ?, ?) ON CONFLICT(cluster) DO UPDATE SET last_seen = excluded.last_seen, ready = excluded.ready',
      ),
      deleteMemberState: db.prepare('DELETE FROM member_state WHERE cluster = ?'),
      deleteShard: db.prepare('DELETE FROM shards WHERE cluster = ? AND namespace = ? AND service = ?'),
      deleteShardsOfCluster: db.prepare('DELETE FROM shards WHERE cluster = ?'),
      deleteShardsOfService: db.prepare('DELETE FROM shards WHERE namespace = ? AND service = ?'),
      getRecordSet: db.prepare('SELECT * FROM record_sets WHERE name = ? AND type = ?'),
      listRecordSets: db.prepare('SELECT * FROM record_sets ORDER BY name, type'),
      recordSetsOfService: db.prepare('SELECT * FROM record_sets WHERE namespace = ? AND service = ? ORDER BY name, type'),
      upsertRecordSet: db.prepare(
        `INSERT INTO record_sets (name, type, ttl, data, level, namespace, service, region, zone) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(name, type) DO UPDATE SET ttl = excluded.ttl, data = excluded.data, level = excluded.level,
           namespace = excluded.namespace, service = excluded.service, region = excluded.region, zone = excluded.zone`,
      ),
      deleteRecordSet: db.prepare('DELETE FROM record_sets WHERE name = ? AND type = ?'),
      appendJournal: db.prepare(
        'INSERT INTO journal (seq, soa_serial, prev_soa, at, cause, deleted, added) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      journalSince: db.prepare('SELECT * FROM journal WHERE seq > ? ORDER BY seq'),
      journalFromPrevSoa: db.prepare('SELECT * FROM journal WHERE seq >= (SELECT MAX(seq) FROM journal WHERE prev_soa = ?) ORDER BY seq'),
      tagJournal: db.prepare('INSERT OR IGNORE INTO journal_services (seq, namespace, service) VALUES (?, ?, ?)'),
      historyOf: db.prepare(
        `SELECT j.* FROM journal_services s JOIN journal j ON j.seq = s.seq
         WHERE s.namespace = ? AND s.service = ? ORDER BY j.seq DESC LIMIT ?`,
      ),
      firstSeq: pluck<number | null>(db, 'SELECT MIN(seq) FROM journal'),
      pruneJournal: db.prepare('DELETE FROM journal WHERE seq <= ?'),
      dataVersion: pluck<number>(db, 'PRAGMA data_version'),
    };
  }

  static open(opts: StoreOptions): Store {
    mkdirSync(opts.dataDir, { recursive: true });
    const path = join(opts.dataDir, 'fedns.db');
    // A follower opens read-write all the same (a WAL reader may need to create the -shm index)
    // but never migrates or writes, and never creates the file.
    if (opts.readonly && !existsSync(path)) throw new Error(`store: ${path} does not exist (a read-only store never creates one)`);
    // timeout: busy_timeout, set before anything else needs a lock (switching to WAL does).
    const db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
    db.exec('PRAGMA journal_mode = WAL');
    // FULL: a commit acknowledged to a secondary or an API client survives power loss too.
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA foreign_keys = ON');
    if (!opts.readonly) migrate(db, readMigrations(opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR));
    const secrets = opts.readonly ? undefined : SecretBox.fromKeyFile(opts.keyFile ?? join(opts.dataDir, 'secret.key'), true);
    const store = new Store(db, path, secrets, opts.objectLogSize);
    if (!opts.readonly) store.initMeta();
    return store;
  }

  close(): void {
    // Idempotent, as it was with better-sqlite3 (node:sqlite throws on a second close).
    if (this.db.isOpen) this.db.close();
  }

  /**
   * Runs `fn` in one write transaction (BEGIN IMMEDIATE … COMMIT); a nested call
   * runs in a savepoint inside the outer one, so its failure undoes only its own
   * writes. `fn` must be synchronous.
   */
  tx<T>(fn: () => T): T {
    return transaction(this.db, fn);
  }

  private initMeta(): void {
    this.tx(() => {
      if (this.meta('soa_serial') === undefined) {
        // Start from the clock (seconds fit 32 bits until 2106) so a re-created data
        // directory still looks newer to secondaries that kept an older copy.
        this.setMeta('soa_serial', String(Math.floor(Date.now() / 1000) >>> 0));
      }
      if (this.meta('resource_version') === undefined) this.setMeta('resource_version', '1');
      if (this.meta('journal_seq') === undefined) this.setMeta('journal_seq', '0');
      // Names this installation on every object it writes into a member cluster (issue 9: ownership).
      if (this.meta('installation_id') === undefined) this.setMeta('installation_id', randomUUID());
    });
  }

  /** The stable id of this installation, generated at its first start (like ExternalDNS's owner id). */
  installationId(): string {
    const id = this.meta('installation_id');
    if (!id) throw new Error('store has no installation id (opened read-only before its first start?)');
    return id;
  }

  meta(key: string): string | undefined {
    return this.stmts.getMeta.get(key);
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  /** A new cluster-wide resourceVersion for an API write (Kubernetes semantics: opaque, increasing). */
  nextResourceVersion(): number {
    return this.tx(() => {
      const rv = Number(this.meta('resource_version') ?? '1') + 1;
      this.setMeta('resource_version', String(rv));
      return rv;
    });
  }

  currentResourceVersion(): number {
    return Number(this.meta('resource_version') ?? '1');
  }

  // ---- services ---------------------------------------------------------

  getService<T = Record<string, unknown>>(namespace: string, name: string): StoredService<T> | undefined {
    const r = this.stmts.getService.get(namespace, name) as ObjRow | undefined;
    return r ? toService<T>(r) : undefined;
  }

  listServices<T = Record<string, unknown>>(): StoredService<T>[] {
    return (this.stmts.listServices.all() as unknown as ObjRow[]).map((r) => toService<T>(r));
  }

  /**
   * Writes a service row and records the change in the object log (one transaction). `actor`: who
   * made the change — the API passes its authenticated user; anything else is `system:fedns`.
   * `s.resourceVersion` must come from `nextResourceVersion()`.
   */
  putService(s: StoredService<unknown>, actor = SYSTEM_ACTOR): void {
    this.tx(() => {
      const existed = this.stmts.hasService.get(s.namespace, s.name) !== undefined;
      this.stmts.putService.run(s.namespace, s.name, s.uid, s.resourceVersion, JSON.stringify(s.object));
      this.logChange('services', s.namespace, s.name, existed ? 'MODIFIED' : 'ADDED', s.resourceVersion, actor, s.object);
    });
    this.emit('object', { kind: 'service', namespace: s.namespace, name: s.name } satisfies ObjectChange);
  }

  /** Deletes a service row; the deletion gets a new resourceVersion (`currentResourceVersion()` after it) and an object log entry. */
  deleteService(namespace: string, name: string, actor = SYSTEM_ACTOR): boolean {
    const gone = this.tx(() => {
      const prior = this.stmts.getService.get(namespace, name) as ObjRow | undefined;
      if (!prior || this.stmts.deleteService.run(namespace, name).changes === 0) return false;
      this.logChange('services', namespace, name, 'DELETED', this.nextResourceVersion(), actor, JSON.parse(prior.object));
      return true;
    });
    if (gone) this.emit('object', { kind: 'service', namespace, name } satisfies ObjectChange);
    return gone;
  }

  // ---- clusters ---------------------------------------------------------

  getCluster<T = Record<string, unknown>>(name: string): StoredCluster<T> | undefined {
    const r = this.stmts.getCluster.get(name) as ObjRow | undefined;
    return r ? toCluster<T>(r) : undefined;
  }

  listClusters<T = Record<string, unknown>>(): StoredCluster<T>[] {
    return (this.stmts.listClusters.all() as unknown as ObjRow[]).map((r) => toCluster<T>(r));
  }

  /** As putService, for a cluster row (credentials are not part of the object and never logged). */
  putCluster(c: StoredCluster<unknown>, actor = SYSTEM_ACTOR): void {
    this.tx(() => {
      const existed = this.stmts.hasCluster.get(c.name) !== undefined;
      this.stmts.putCluster.run(c.name, c.uid, c.resourceVersion, JSON.stringify(c.object));
      this.logChange('clusters', '', c.name, existed ? 'MODIFIED' : 'ADDED', c.resourceVersion, actor, c.object);
    });
    this.emit('object', { kind: 'cluster', name: c.name } satisfies ObjectChange);
  }

  /** As deleteService, for a cluster row. */
  deleteCluster(name: string, actor = SYSTEM_ACTOR): boolean {
    const gone = this.tx(() => {
      const prior = this.stmts.getCluster.get(name) as ObjRow | undefined;
      if (!prior || this.stmts.deleteCluster.run(name).changes === 0) return false;
      this.logChange('clusters', '', name, 'DELETED', this.nextResourceVersion(), actor, JSON.parse(prior.object));
      return true;
    });
    if (gone) this.emit('object', { kind: 'cluster', name } satisfies ObjectChange);
    return gone;
  }

  // ---- object log ---------------------------------------------------------

  /**
   * Records one object change in the object log, inside the caller's transaction. Used by the
   * put/delete methods above and by writers of kinds the Store does not own (the API's namespaces).
   * Keeps the resourceVersion counter at or above `rv`, so the log's order is the commit order.
   */
  logChange(kind: ObjectKind, namespace: string, name: string, type: ObjectLogEntry['type'], rv: number, actor: string, object: unknown): void {
    if (rv > this.currentResourceVersion()) this.setMeta('resource_version', String(rv));
    this.objectLog.append({ rv, kind, namespace, name, type, actor, object });
  }

  /** The newest recorded change of one object (namespace '' for clusters and namespaces), or undefined. */
  lastObjectChange(kind: ObjectKind, namespace: string, name: string): ObjectChangeSummary | undefined {
    return this.objectLog.last(kind, namespace, name);
  }

  /** The newest `limit` recorded changes of one object, newest first, with the object JSON. */
  objectChanges<T = Record<string, unknown>>(kind: ObjectKind, namespace: string, name: string, limit = 100): ObjectLogEntry<T>[] {
    return this.objectLog.changes<T>(kind, namespace, name, limit);
  }

  /** Stores a cluster's credentials (e.g. a kubeconfig) encrypted at rest. */
  setClusterCredentials(name: string, plain: string): void {
    if (!this.secrets) throw new Error('store opened read-only: cannot write credentials');
    this.stmts.setCredentials.run(this.secrets.seal(Buffer.from(plain, 'utf8')), name);
  }

  clusterCredentials(name: string): string | undefined {
    const sealed = this.stmts.getCredentials.get(name);
    if (!sealed) return undefined;
    if (!this.secrets) throw new Error('store opened read-only: cannot read credentials');
    return this.secrets.open(sealed).toString('utf8');
  }

  // ---- shards -----------------------------------------------------------

  putShard(s: StoredShard): void {
    this.stmts.putShard.run(
      s.cluster,
      s.namespace,
      s.service,
      JSON.stringify(s.addresses),
      s.readyEndpoints,
      s.healthy ? 1 : 0,
      s.since,
      s.message,
      (s.everHealthy ?? s.healthy) ? 1 : 0,
      s.recoveringSince ?? null,
      (s.reported ?? true) ? 1 : 0,
      s.conflict ?? null,
    );
  }

  getShard(cluster: string, namespace: string, service: string): StoredShard | undefined {
    const r = this.stmts.getShard.get(cluster, namespace, service) as unknown as ShardRow | undefined;
    return r ? rowToShard(r) : undefined;
  }

  shardsOfCluster(cluster: string): StoredShard[] {
    return (this.stmts.shardsOfCluster.all(cluster) as unknown as ShardRow[]).map(rowToShard);
  }

  memberState(cluster: string): MemberState | undefined {
    const r = this.stmts.getMemberState.get(cluster) as { last_seen: string; ready: number } | undefined;
    return r ? { lastSeen: r.last_seen, ready: r.ready === 1 } : undefined;
  }

  setMemberState(cluster: string, state: MemberState): void {
    this.stmts.putMemberState.run(cluster, state.lastSeen, state.ready ? 1 : 0);
  }

  deleteMemberState(cluster: string): void {
    this.stmts.deleteMemberState.run(cluster);
  }

  listShards(): StoredShard[] {
    return (this.stmts.listShards.all() as unknown as ShardRow[]).map(rowToShard);
  }

  shardsOfService(namespace: string, service: string): StoredShard[] {
    return (this.stmts.shardsOfService.all(namespace, service) as unknown as ShardRow[]).map(rowToShard);
  }
  deleteShard(cluster: string, namespace: string, service: string): void {
    this.stmts.deleteShard.run(cluster, namespace, service);
  }

  deleteShardsOfCluster(cluster: string): void {
    this.stmts.deleteShardsOfCluster.run(cluster);
  }

  deleteShardsOfService(namespace: string, service: string): void {
    this.stmts.deleteShardsOfService.run(namespace, service);
  }

  // ---- zone: record sets, serial, journal --------------------------------

  listRecordSets(): RecordSet[] {
    return (this.stmts.listRecordSets.all() as unknown as RecordRow[]).map(rowToRecordSet);
  }

  recordSetsOfService(namespace: string, service: string): RecordSet[] {
    return (this.stmts.recordSetsOfService.all(namespace, service) as unknown as RecordRow[]).map(rowToRecordSet);
  }

  soaSerial(): number {
    return Number(this.meta('soa_serial'));
  }

  /** The sequence number of the last commit (0 before the first). */
  headSeq(): number {
    return Number(this.meta('journal_seq') ?? '0');
  }

  /** A consistent view of the zone: serial, head sequence and every RRset, read in one transaction. */
  zoneSnapshot(): { soaSerial: number; seq: number; recordSets: RecordSet[] } {
    return transaction(this.db, () => ({ soaSerial: this.soaSerial(), seq: this.headSeq(), recordSets: this.listRecordSets() }), 'read');
  }

  /**
   * Applies a record diff, bumps the SOA serial once (RFC 1982) and journals it,
   * all in one transaction (DESIGN §4 rule 9). An empty diff commits nothing.
   * `extra` runs inside the same transaction (e.g. shard status updates).
   */
  commitRecordDiff(diff: RecordSetDiff, cause: string, extra?: () => void): JournalEntry | undefined {
    if (diff.upserts.length === 0 && diff.deletes.length === 0) {
      if (extra) this.tx(extra);
      return undefined;
    }
    const entry = this.tx((): JournalEntry => {
      extra?.();
      const s = this.stmts;
      const deleted: RecordSet[] = [];
      for (const rs of diff.deletes) {
        // Journal what was stored (not what the caller thinks was), so IXFR deletes exactly it.
        const prior = s.getRecordSet.get(rs.name, rs.type) as RecordRow | undefined;
        if (!prior) continue;
        s.deleteRecordSet.run(rs.name, rs.type);
        deleted.push(rowToRecordSet(prior));
      }
      const byKey = new Map<string, RecordSet>();
      for (const rs of diff.upserts) {
        // Journal the old content of a replaced RRset, so IXFR can delete exactly it.
        const prior = s.getRecordSet.get(rs.name, rs.type) as RecordRow | undefined;
        if (prior) deleted.push(rowToRecordSet(prior));
        s.upsertRecordSet.run(rs.name, rs.type, rs.ttl, JSON.stringify(rs.data), rs.level, rs.namespace, rs.service, rs.region ?? null, rs.zone ?? null);
        byKey.set(`${rs.name}/${rs.type}`, rs);
      }
      const prevSoa = this.soaSerial();
      const soaSerial = nextSerial(prevSoa);
      const seq = this.headSeq() + 1;
      const at = new Date().toISOString();
      this.setMeta('soa_serial', String(soaSerial));
      this.setMeta('journal_seq', String(seq));
      const added = [...byKey.values()];
      s.appendJournal.run(seq, soaSerial, prevSoa, at, cause, JSON.stringify(deleted), JSON.stringify(added));
      for (const key of new Set([...deleted, ...added].map((r) => `${r.namespace}\u0000${r.service}`))) {
        const [ns = '', svc = ''] = key.split('\u0000');
        s.tagJournal.run(seq, ns, svc);
      }
      return { seq, soaSerial, prevSoaSerial: prevSoa, at, cause, deleted, added };
    });
    this.emit('commit', entry);
    return entry;
  }

  /** Journal entries after `seq`; undefined when entries after it were pruned (reload in full). */
  changesSince(seq: number): JournalEntry[] | undefined {
    const first = this.stmts.firstSeq.get() ?? null;
    if (seq < this.headSeq() && (first === null || first > seq + 1)) return undefined;
    return (this.stmts.journalSince.all(seq) as unknown as JournalRow[]).map(rowToEntry);
  }

  /**
   * The journal from SOA serial `serial` to the head, for IXFR (RFC 1995): the
   * entries from the one whose prevSoaSerial is `serial` onward (the newest such
   * entry if a serial ever repeated). `[]` when `serial` is the current serial;
   * undefined when the journal does not reach back to it (unknown or pruned:
   * the caller sends the whole zone instead).
   */
  journalFromSoa(serial: number): JournalEntry[] | undefined {
    return transaction(
      this.db,
      () => {
        const s = serial >>> 0;
        const rows = (this.stmts.journalFromPrevSoa.all(s) as unknown as JournalRow[]).map(rowToEntry);
        if (rows.length) return rows;
        return s === this.soaSerial() ? [] : undefined;
      },
      'read',
    );
  }

  /** The newest `limit` journal entries that touched a service's records, newest first. */
  historyOf(namespace: string, service: string, limit = 100): JournalEntry[] {
    return (this.stmts.historyOf.all(namespace, service, limit) as unknown as JournalRow[]).map(rowToEntry);
  }

  /** Drops journal entries so that at most `keep` remain. */
  pruneJournal(keep: number): void {
    const cut = this.headSeq() - keep;
    if (cut > 0) this.stmts.pruneJournal.run(cut);
  }

  /** Changes whenever another connection commits: a cheap poll for cross-process followers. */
  dataVersion(): number {
    return this.stmts.dataVersion.get() ?? 0;
  }
}

interface ObjRow {
  namespace?: string;
  name: string;
  uid: string;
  resource_version: number;
  object: string;
}

interface ShardRow {
  cluster: string;
  namespace: string;
  service: string;
  addresses: string;
  ready_endpoints: number;
  healthy: number;
  since: string;
  message: string;
  ever_healthy: number;
  recovering_since: string | null;
  reported: number;
  conflict: string | null;
}

function rowToShard(r: ShardRow): StoredShard {
  const s: StoredShard = {
    cluster: r.cluster,
    namespace: r.namespace,
    service: r.service,
    addresses: JSON.parse(r.addresses) as string[],
    readyEndpoints: r.ready_endpoints,
    healthy: r.healthy === 1,
    since: r.since,
    message: r.message,
    everHealthy: r.ever_healthy === 1,
    reported: r.reported === 1,
  };
  if (r.recovering_since !== null) s.recoveringSince = r.recovering_since;
  if (r.conflict !== null) s.conflict = r.conflict;
  return s;
}

function toService<T>(r: ObjRow): StoredService<T> {
  return { namespace: r.namespace ?? '', name: r.name, uid: r.uid, resourceVersion: r.resource_version, object: JSON.parse(r.object) as T };
}

function toCluster<T>(r: ObjRow): StoredCluster<T> {
  return { name: r.name, uid: r.uid, resourceVersion: r.resource_version, object: JSON.parse(r.object) as T };
}

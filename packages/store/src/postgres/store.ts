/**
 * The PostgreSQL engine of the Store interface (issue 11): the engine for high
 * availability. A `pg` pool with per-session limits, migrations at open, the
 * object, controller-state, zone and lease parts in their own files, and the
 * change feed (LISTEN/NOTIFY, polling as the fallback).
 */
import type { ClusterAnswer, ClusterAnswerDiff, RecordSet, RecordSetDiff } from '@fedns/model';
import pg from 'pg';
import { readMigrations } from '../sqlite/migrate.js';
import { SecretBox } from '../secrets.js';
import type {
  BulkData,
  ClusterAnswerChanges,
  Fence,
  JournalEntry,
  LeaseRecord,
  MemberState,
  ObjectChange,
  ObjectKind,
  ObjectWrite,
  ProbeVerdict,
  SerialHook,
  ShardRef,
  Store,
  StoredDnssecKey,
  StoreChange,
  StoredObject,
  StoredProbeVerdict,
  StoredShard,
  ZoneSnapshot,
} from '../types.js';
import { StoreConfigError } from '../types.js';
import { PgClusterAnswers } from './cluster-answers.js';
import { PgDnssec } from './dnssec.js';
import { PgFeed } from './feed.js';
import { PgLeases } from './leases.js';
import { loadBulk } from './load.js';
import { checkSchema, migratePostgres } from './migrate.js';
import { PgObjects } from './objects.js';
import { clientConfig, DEFAULTS, POSTGRES_MIGRATIONS_DIR, type PostgresStoreOptions, redactUrl } from './options.js';
import { type ReplicationStatus, replicationStatus } from './replication.js';
import { PgProbes } from './probes.js';
import { PgShards } from './shards.js';
import { PgZone } from './zone.js';

/** Sealed at first start and opened at every start: a key file that does not belong to this database is refused. */
const KEY_CHECK = 'fedns credentials key check';

export class PostgresStore implements Store {
  readonly engine = 'postgres';
  readonly needsLeaderElection = true;
  readonly #pool: pg.Pool;
  readonly #feed: PgFeed;
  readonly #objects: PgObjects;
  readonly #shards: PgShards;
  readonly #zone: PgZone;
  readonly #leases: PgLeases;
  readonly #probes: PgProbes;
  readonly #answers: PgClusterAnswers;
  readonly #dnssec: PgDnssec;
  #leasePool: pg.Pool | undefined;
  #secrets: SecretBox | undefined;
  #closed = false;

  private constructor(
    readonly location: string,
    readonly installationId: string,
    pool: pg.Pool,
    config: pg.ClientConfig,
    opts: PostgresStoreOptions,
  ) {
    this.#pool = pool;
    this.#feed = new PgFeed(config, pool, { listen: opts.listen ?? true, pollMs: opts.pollIntervalMs ?? DEFAULTS.pollIntervalMs });
    const secrets = this.#secretBox;
    this.#objects = new PgObjects(pool, secrets, opts.objectLogSize ?? DEFAULTS.objectLogSize, (rv) => this.#feed.local({ what: 'objects', rv }));
    this.#shards = new PgShards(pool);
    this.#zone = new PgZone(pool, (seq) => this.#feed.local({ what: 'zone', seq }));
    this.#probes = new PgProbes(pool);
    this.#answers = new PgClusterAnswers(pool, (seq) => this.#feed.local({ what: 'clusterAnswers', seq }));
    // Leases get a connection of their own: a renewal must never queue behind the leader's own
    // work for a pooled connection, or a busy leader would miss its renew deadline.
    this.#leases = new PgLeases(() => {
      this.#leasePool ??= newPool(config, 1);
      return this.#leasePool;
    });
    this.#dnssec = new PgDnssec(pool, secrets);
  }

  /** Connects, migrates (unless read-only) and checks the credentials key. */
  static async open(opts: PostgresStoreOptions): Promise<PostgresStore> {
    if (!/^postgres(ql)?:\/\//.test(opts.url)) throw new Error(`store: ${redactUrl(opts.url)} is not a postgres:// URL`);
    const config = clientConfig(opts);
    const pool = newPool(config, opts.poolSize ?? DEFAULTS.poolSize);
    try {
      const migrations = readMigrations(opts.migrationsDir ?? POSTGRES_MIGRATIONS_DIR);
      if (opts.readonly) await checkSchema(pool, migrations);
      else await migratePostgres(pool, migrations);
      const id = await pool.query("SELECT value FROM meta WHERE key = 'installation_id'");
      if (!id.rows[0]) throw new Error('store: the database has no installation id');
      const store = new PostgresStore(redactUrl(opts.url), String(id.rows[0].value), pool, config, opts);
      if (opts.keyFile) store.#secrets = await checkedKey(pool, SecretBox.fromKeyFile(opts.keyFile, opts.createKeyFile ?? false), !opts.readonly);
      return store;
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
  }

  readonly #secretBox = (): SecretBox => {
    if (!this.#secrets) throw new Error('store: no keyFile configured, so cluster credentials can be neither sealed nor opened');
    return this.#secrets;
  };

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#feed.stop();
    await Promise.all([this.#pool.end(), this.#leasePool?.end()]);
  }

  // ---- objects ----
  getObject<T = Record<string, unknown>>(kind: ObjectKind, namespace: string, name: string): Promise<StoredObject<T> | undefined> {
    return this.#objects.get<T>(kind, namespace, name);
  }
  listObjects<T = Record<string, unknown>>(kind: ObjectKind, namespace?: string): Promise<{ items: StoredObject<T>[]; revision: number }> {
    return this.#objects.list<T>(kind, namespace);
  }
  createObject<T = Record<string, unknown>>(w: ObjectWrite<T>): Promise<StoredObject<T>> {
    return this.#objects.create(w);
  }
  updateObject<T = Record<string, unknown>>(w: ObjectWrite<T>, expectedRv: number, fence?: Fence): Promise<StoredObject<T>> {
    return this.#objects.update(w, expectedRv, fence);
  }
  deleteObject<T = Record<string, unknown>>(kind: ObjectKind, namespace: string, name: string, opts?: { expectedRv?: number; actor?: string }): Promise<StoredObject<T> | undefined> {
    return this.#objects.delete<T>(kind, namespace, name, opts);
  }
  revision(): Promise<number> {
    return this.#objects.revision();
  }
  objectChangesSince(rv: number, limit?: number): Promise<ObjectChange[] | 'compacted'> {
    return this.#objects.changesSince(rv, limit);
  }
  objectHistory(kind: ObjectKind, namespace: string, name: string, limit?: number): Promise<ObjectChange[]> {
    return this.#objects.history(kind, namespace, name, limit);
  }
  clusterCredentials(name: string): Promise<string | undefined> {
    return this.#objects.credentials(name);
  }

  // ---- controller state ----
  putShard(s: StoredShard, fence?: Fence): Promise<void> {
    return this.#shards.put(s, fence);
  }
  getShard(cluster: string, namespace: string, service: string): Promise<StoredShard | undefined> {
    return this.#shards.get(cluster, namespace, service);
  }
  listShards(): Promise<StoredShard[]> {
    return this.#shards.list();
  }
  shardsOfService(namespace: string, service: string): Promise<StoredShard[]> {
    return this.#shards.ofService(namespace, service);
  }
  shardsOfCluster(cluster: string): Promise<StoredShard[]> {
    return this.#shards.ofCluster(cluster);
  }
  deleteShard(cluster: string, namespace: string, service: string, fence?: Fence): Promise<void> {
    return this.#shards.delete(cluster, namespace, service, fence);
  }
  deleteShardsOfCluster(cluster: string, fence?: Fence): Promise<void> {
    return this.#shards.deleteOfCluster(cluster, fence);
  }
  memberState(cluster: string): Promise<MemberState | undefined> {
    return this.#shards.memberState(cluster);
  }
  setMemberState(cluster: string, state: MemberState | undefined, fence?: Fence): Promise<void> {
    return this.#shards.setMemberState(cluster, state, fence);
  }

  // ---- the zone ----
  zoneSnapshot(): Promise<ZoneSnapshot> {
    return this.#zone.snapshot();
  }
  listRecordSets(): Promise<RecordSet[]> {
    return this.#zone.list();
  }
  recordSetsOfService(namespace: string, service: string): Promise<RecordSet[]> {
    return this.#zone.ofService(namespace, service);
  }
  commitZone(diff: RecordSetDiff, cause: string, fence?: Fence, onSerial?: SerialHook): Promise<JournalEntry | undefined> {
    return this.#zone.commit(diff, cause, fence, onSerial);
  }
  zoneChangesSince(seq: number): Promise<JournalEntry[] | undefined> {
    return this.#zone.changesSince(seq);
  }
  journalFromSoa(serial: number): Promise<JournalEntry[] | undefined> {
    return this.#zone.journalFromSoa(serial);
  }
  historyOf(namespace: string, service: string, limit?: number): Promise<JournalEntry[]> {
    return this.#zone.historyOf(namespace, service, limit);
  }
  pruneJournal(keep: number): Promise<void> {
    return this.#zone.prune(keep);
  }
  recordServedSerial(server: string, serial: number): Promise<void> {
    return this.#zone.recordServed(server, serial);
  }

  // ---- in-cluster answers ----
  clusterAnswersSnapshot(): Promise<{ seq: number; answers: ClusterAnswer[] }> {
    return this.#answers.snapshot();
  }
  clusterAnswersOfService(namespace: string, service: string): Promise<ClusterAnswer[]> {
    return this.#answers.ofService(namespace, service);
  }
  commitClusterAnswers(diff: ClusterAnswerDiff, fence?: Fence): Promise<number | undefined> {
    return this.#answers.commit(diff, fence);
  }
  clusterAnswersSince(seq: number): Promise<ClusterAnswerChanges | 'compacted'> {
    return this.#answers.since(seq);
  }

  // ---- DNSSEC ----
  dnssecKeys(zone: string): Promise<StoredDnssecKey[]> {
    return this.#dnssec.keys(zone);
  }
  putDnssecKey(zone: string, key: StoredDnssecKey, fence?: Fence): Promise<void> {
    return this.#dnssec.putKey(zone, key, fence);
  }
  deleteDnssecKey(zone: string, id: string, fence?: Fence): Promise<void> {
    return this.#dnssec.deleteKey(zone, id, fence);
  }
  dnssecState<T = Record<string, unknown>>(zone: string): Promise<T | undefined> {
    return this.#dnssec.state<T>(zone);
  }
  putDnssecState(zone: string, state: unknown, fence?: Fence): Promise<void> {
    return this.#dnssec.putState(zone, state, fence);
  }

  // ---- leader election ----
  acquireLease(name: string, holder: string, durationMs: number, heldEpoch?: number): Promise<LeaseRecord | undefined> {
    return this.#leases.acquire(name, holder, durationMs, heldEpoch);
  }
  releaseLease(name: string, holder: string): Promise<void> {
    return this.#leases.release(name, holder);
  }
  readLease(name: string): Promise<LeaseRecord | undefined> {
    return this.#leases.read(name);
  }

  // ---- bulk ----
  recordProbes(prober: string, put: ProbeVerdict[], remove: ShardRef[]): Promise<void> {
    return this.#probes.record(prober, put, remove);
  }

  probeVerdicts(namespace?: string, service?: string): Promise<StoredProbeVerdict[]> {
    return this.#probes.verdicts(namespace, service);
  }

  probeRevision(): Promise<number> {
    return this.#probes.revision();
  }

  forgetProbers(staleForMs: number): Promise<string[]> {
    return this.#probes.forget(staleForMs);
  }

  async load(data: BulkData): Promise<void> {
    const { rv, seq } = await loadBulk(this.#pool, this.#secretBox, data);
    this.#feed.local({ what: 'objects', rv });
    if (seq !== undefined) this.#feed.local({ what: 'zone', seq });
  }

  // ---- change feed ----
  watch(listener: (change: StoreChange) => void): () => void {
    return this.#feed.watch(listener);
  }

  // ---- PostgreSQL only ----
  /** Whether commits wait for a standby (warn at start and in metrics when not). */
  replicationStatus(): Promise<ReplicationStatus> {
    return replicationStatus(this.#pool);
  }

  /** The per-session settings as the server applies them (for /readyz, logs and tests). */
  async sessionSettings(): Promise<Record<string, string>> {
    const r = await this.#pool.query(
      `SELECT name, setting FROM pg_settings WHERE name IN
       ('lock_timeout', 'statement_timeout', 'idle_in_transaction_session_timeout', 'default_transaction_read_only', 'TimeZone', 'application_name')`,
    );
    return Object.fromEntries(r.rows.map((row) => [row.name as string, row.setting as string]));
  }

  /** Whether the change feed's LISTEN connection is up (false while polling). */
  get feedListening(): boolean {
    return this.#feed.listening;
  }
}

/**
 * A pool whose connections never take the process down: an idle pooled
 * connection that breaks (server restart, failover) is dropped by the pool, and
 * one checked out that the server ends between statements (idle-in-transaction
 * timeout after a pause, a failover) fails its next statement instead of
 * raising an unhandled 'error' event; the transaction then discards it.
 */
function newPool(config: pg.ClientConfig, max: number): pg.Pool {
  const pool = new pg.Pool({ ...config, max });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

async function checkedKey(pool: pg.Pool, box: SecretBox, mayWrite: boolean): Promise<SecretBox> {
  if (mayWrite) {
    await pool.query("INSERT INTO meta (key, value) VALUES ('credentials_key_check', $1) ON CONFLICT (key) DO NOTHING", [
      box.seal(Buffer.from(KEY_CHECK)).toString('base64'),
    ]);
  }
  const r = await pool.query("SELECT value FROM meta WHERE key = 'credentials_key_check'");
  const sealed = r.rows[0]?.value as string | undefined;
  if (sealed === undefined) return box;
  try {
    if (box.open(Buffer.from(sealed, 'base64')).toString() === KEY_CHECK) return box;
  } catch {
    // falls through
  }
  throw new StoreConfigError('store: the credentials key file does not belong to this database (every process of an installation needs the same key)');
}

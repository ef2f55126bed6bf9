/**
 * Objects on PostgreSQL: compare-and-swap writes, each taking the next
 * resourceVersion under the counter's row lock and appending to the object log
 * in its own transaction, so rv order is commit order and a watcher reading the
 * log after rv X never misses a smaller rv committed later.
 */
import type pg from 'pg';
import type { SecretBox } from '../secrets.js';
import {
  ConflictError,
  type Fence,
  type ObjectChange,
  type ObjectChangeType,
  type ObjectKind,
  type ObjectWrite,
  type StoredObject,
  SYSTEM_ACTOR,
} from '../types.js';
import { type LogRow, type ObjectRow, toChange, toObject } from './rows.js';
import { type Conn, checkFence, inTransaction, NOTIFY_CHANNEL } from './tx.js';

const COLUMNS = 'kind, namespace, name, uid, resource_version, object';

/** Cluster-scoped kinds live under namespace ''. */
const scope = (kind: ObjectKind, namespace: string): string => (kind === 'services' ? namespace : '');

/** Thrown inside a transaction to roll it back and answer "nothing there". */
class Absent extends Error {}

export class PgObjects {
  /** Appends since the last prune: the log holds at most keep + batch rows. */
  #sincePrune = 0;
  readonly #batch: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly secrets: () => SecretBox,
    private readonly keep: number,
    private readonly committed: (rv: number) => void,
  ) {
    this.keep = Math.max(1, keep);
    this.#batch = Math.max(1, Math.min(1000, Math.ceil(this.keep / 10)));
  }

  async get<T>(kind: ObjectKind, namespace: string, name: string): Promise<StoredObject<T> | undefined> {
    const r = await this.pool.query<ObjectRow>(`SELECT ${COLUMNS} FROM objects WHERE kind = $1 AND namespace = $2 AND name = $3`, [kind, scope(kind, namespace), name]);
    return r.rows[0] ? toObject<T>(r.rows[0]) : undefined;
  }

  /** One statement, so the list and its revision come from one snapshot. */
  async list<T>(kind: ObjectKind, namespace?: string): Promise<{ items: StoredObject<T>[]; revision: number }> {
    const ns = namespace === undefined || kind !== 'services' ? null : namespace;
    const r = await this.pool.query<ObjectRow & { revision: number }>(
      `SELECT c.rv AS revision, o.kind, o.namespace, o.name, o.uid, o.resource_version, o.object
       FROM object_revision c LEFT JOIN objects o ON o.kind = $1 AND ($2::text IS NULL OR o.namespace = $2)
       ORDER BY o.namespace, o.name`,
      [kind, ns],
    );
    const revision = r.rows[0]?.revision ?? 0;
    return { items: r.rows.filter((row) => row.name !== null).map((row) => toObject<T>(row)), revision };
  }

  async revision(): Promise<number> {
    return Number((await this.pool.query('SELECT rv FROM object_revision')).rows[0].rv);
  }

  create<T>(w: ObjectWrite<T>): Promise<StoredObject<T>> {
    const ns = scope(w.kind, w.namespace);
    return this.#write(undefined, async (c, rv) => {
      const r = await c.query<ObjectRow>(
        `INSERT INTO objects (kind, namespace, name, uid, resource_version, object, credentials) VALUES ($1, $2, $3, $4, $5, $6::json, $7)
         ON CONFLICT (kind, namespace, name) DO NOTHING RETURNING ${COLUMNS}`,
        [w.kind, ns, w.name, w.uid, rv, JSON.stringify(w.object ?? {}), this.#sealed(w)],
      );
      if (!r.rows[0]) throw new ConflictError(w.kind, ns, w.name, 'exists');
      await this.#log(c, rv, 'ADDED', r.rows[0], w.actor);
      return toObject<T>(r.rows[0]);
    });
  }

  update<T>(w: ObjectWrite<T>, expectedRv: number, fence?: Fence): Promise<StoredObject<T>> {
    const ns = scope(w.kind, w.namespace);
    const sealed = this.#sealed(w);
    return this.#write(fence, async (c, rv) => {
      const r = await c.query<ObjectRow>(
        `UPDATE objects SET uid = $4, object = $5::json, resource_version = $6${sealed ? ', credentials = $8' : ''}
         WHERE kind = $1 AND namespace = $2 AND name = $3 AND resource_version = $7 RETURNING ${COLUMNS}`,
        [w.kind, ns, w.name, w.uid, JSON.stringify(w.object ?? {}), rv, expectedRv, ...(sealed ? [sealed] : [])],
      );
      if (!r.rows[0]) {
        const exists = await c.query('SELECT 1 FROM objects WHERE kind = $1 AND namespace = $2 AND name = $3', [w.kind, ns, w.name]);
        throw new ConflictError(w.kind, ns, w.name, exists.rowCount ? 'stale' : 'missing');
      }
      await this.#log(c, rv, 'MODIFIED', r.rows[0], w.actor);
      return toObject<T>(r.rows[0]);
    });
  }

  async delete<T>(kind: ObjectKind, namespace: string, name: string, opts: { expectedRv?: number; actor?: string } = {}): Promise<StoredObject<T> | undefined> {
    const ns = scope(kind, namespace);
    try {
      return await this.#write(undefined, async (c, rv) => {
        const r = await c.query<ObjectRow>(`DELETE FROM objects WHERE kind = $1 AND namespace = $2 AND name = $3 RETURNING ${COLUMNS}`, [kind, ns, name]);
        const prior = r.rows[0];
        if (!prior) throw new Absent();
        if (opts.expectedRv !== undefined && prior.resource_version !== opts.expectedRv) throw new ConflictError(kind, ns, name, 'stale');
        await this.#log(c, rv, 'DELETED', prior, opts.actor);
        return { ...toObject<T>(prior), resourceVersion: rv };
      });
    } catch (err) {
      if (err instanceof Absent) return undefined;
      throw err;
    }
  }

  /**
   * The log after `rv` and the compaction mark, in one statement (one snapshot).
   * 'compacted' when rows after `rv` were pruned, or when `rv` is beyond the
   * head (a resourceVersion from a store that lost commits, e.g. in a failover).
   */
  async changesSince(rv: number, limit?: number): Promise<ObjectChange[] | 'compacted'> {
    const r = await this.pool.query<LogRow & { compacted: number; head: number }>(
      `SELECT c.compacted, c.rv AS head, l.* FROM object_revision c
       LEFT JOIN LATERAL (SELECT * FROM object_log WHERE rv > $1 ORDER BY rv LIMIT $2) l ON true ORDER BY l.rv`,
      [rv, limit ?? null],
    );
    const first = r.rows[0];
    if (!first || rv < first.compacted || rv > first.head) return 'compacted';
    return r.rows.filter((row) => row.rv !== null).map(toChange);
  }

  async history(kind: ObjectKind, namespace: string, name: string, limit = 100): Promise<ObjectChange[]> {
    const r = await this.pool.query<LogRow>('SELECT * FROM object_log WHERE kind = $1 AND namespace = $2 AND name = $3 ORDER BY rv DESC LIMIT $4', [
      kind,
      scope(kind, namespace),
      name,
      limit,
    ]);
    return r.rows.map(toChange);
  }

  async credentials(name: string): Promise<string | undefined> {
    const r = await this.pool.query<{ credentials: Buffer | null }>("SELECT credentials FROM objects WHERE kind = 'clusters' AND namespace = '' AND name = $1", [name]);
    const sealed = r.rows[0]?.credentials;
    return sealed ? this.secrets().open(sealed).toString('utf8') : undefined;
  }

  #sealed(w: ObjectWrite<unknown>): Buffer | null {
    if (w.kind !== 'clusters' || w.credentials === undefined) return null;
    return this.secrets().seal(Buffer.from(w.credentials, 'utf8'));
  }

  /** One object write: fence, next rv (row lock held to commit), `fn`, prune when due; then the local feed. */
  async #write<T>(fence: Fence | undefined, fn: (c: Conn, rv: number) => Promise<T>): Promise<T> {
    let rv = 0;
    const result = await inTransaction(this.pool, async (c) => {
      await checkFence(c, fence);
      rv = Number((await c.query('UPDATE object_revision SET rv = rv + 1 RETURNING rv')).rows[0].rv);
      const out = await fn(c, rv);
      if (++this.#sincePrune >= this.#batch) await this.#prune(c);
      return out;
    });
    this.committed(rv);
    return result;
  }

  /** Appends the change and wakes LISTENers at commit (one round trip). */
  async #log(c: Conn, rv: number, type: ObjectChangeType, o: ObjectRow, actor: string | undefined): Promise<void> {
    await c.query(
      `WITH ins AS (INSERT INTO object_log (rv, kind, namespace, name, type, actor, object) VALUES ($1, $2, $3, $4, $5, $6, $7::json) RETURNING rv)
       SELECT pg_notify($8, 'objects ' || rv) FROM ins`,
      [rv, o.kind, o.namespace, o.name, type, actor || SYSTEM_ACTOR, JSON.stringify(o.object), NOTIFY_CHANNEL],
    );
  }

  /** Keeps the newest `keep` rows; raises the compaction mark to the highest rv removed. */
  async #prune(c: Conn): Promise<void> {
    this.#sincePrune = 0;
    await c.query(
      `WITH cut AS (SELECT rv FROM object_log ORDER BY rv DESC OFFSET $1 LIMIT 1),
            gone AS (DELETE FROM object_log WHERE rv <= (SELECT rv FROM cut) RETURNING rv)
       UPDATE object_revision SET compacted = greatest(compacted, (SELECT max(rv) FROM gone)) WHERE EXISTS (SELECT 1 FROM gone)`,
      [this.keep],
    );
  }
}

/** Controller state on PostgreSQL: shards and member state, each write fenced when a fence is given. */
import type pg from 'pg';
import type { Fence, MemberState, StoredShard } from '../types.js';
import { rowToShard as toShard, type ShardRow } from '../rows.js';
import { checkFence, inTransaction } from './tx.js';

export class PgShards {
  constructor(private readonly pool: pg.Pool) {}

  /** Unfenced writes are one statement; fenced ones check the lease in the same transaction. */
  async #exec(fence: Fence | undefined, sql: string, params: unknown[]): Promise<void> {
    if (!fence) {
      await this.pool.query(sql, params);
      return;
    }
    await inTransaction(this.pool, async (c) => {
      await checkFence(c, fence);
      await c.query(sql, params);
    });
  }

  put(s: StoredShard, fence?: Fence): Promise<void> {
    return this.#exec(
      fence,
      `INSERT INTO shards (cluster, namespace, service, addresses, ready_endpoints, healthy, since, message, ever_healthy, recovering_since, reported, conflict, local)
       VALUES ($1, $2, $3, $4::json, $5, $6, $7, $8, $9, $10, $11, $12, $13::json)
       ON CONFLICT (cluster, namespace, service) DO UPDATE SET addresses = excluded.addresses, ready_endpoints = excluded.ready_endpoints,
         healthy = excluded.healthy, since = excluded.since, message = excluded.message, ever_healthy = excluded.ever_healthy,
         recovering_since = excluded.recovering_since, reported = excluded.reported, conflict = excluded.conflict, local = excluded.local`,
      [
        s.cluster,
        s.namespace,
        s.service,
        JSON.stringify(s.addresses),
        s.readyEndpoints,
        s.healthy,
        s.since,
        s.message,
        s.everHealthy ?? s.healthy,
        s.recoveringSince ?? null,
        s.reported ?? true,
        s.conflict ?? null,
        s.local ? JSON.stringify(s.local) : null,
      ],
    );
  }

  async get(cluster: string, namespace: string, service: string): Promise<StoredShard | undefined> {
    const r = await this.pool.query<ShardRow>('SELECT * FROM shards WHERE cluster = $1 AND namespace = $2 AND service = $3', [cluster, namespace, service]);
    return r.rows[0] ? toShard(r.rows[0]) : undefined;
  }

  async list(): Promise<StoredShard[]> {
    return (await this.pool.query<ShardRow>('SELECT * FROM shards ORDER BY namespace, service, cluster')).rows.map(toShard);
  }

  async ofService(namespace: string, service: string): Promise<StoredShard[]> {
    return (await this.pool.query<ShardRow>('SELECT * FROM shards WHERE namespace = $1 AND service = $2 ORDER BY cluster', [namespace, service])).rows.map(toShard);
  }

  async ofCluster(cluster: string): Promise<StoredShard[]> {
    return (await this.pool.query<ShardRow>('SELECT * FROM shards WHERE cluster = $1 ORDER BY namespace, service', [cluster])).rows.map(toShard);
  }

  delete(cluster: string, namespace: string, service: string, fence?: Fence): Promise<void> {
    return this.#exec(fence, 'DELETE FROM shards WHERE cluster = $1 AND namespace = $2 AND service = $3', [cluster, namespace, service]);
  }

  deleteOfCluster(cluster: string, fence?: Fence): Promise<void> {
    return this.#exec(fence, 'DELETE FROM shards WHERE cluster = $1', [cluster]);
  }

  async memberState(cluster: string): Promise<MemberState | undefined> {
    const r = await this.pool.query<{ last_seen: string; ready: boolean }>('SELECT last_seen, ready FROM member_state WHERE cluster = $1', [cluster]);
    const row = r.rows[0];
    return row ? { lastSeen: row.last_seen, ready: row.ready } : undefined;
  }

  setMemberState(cluster: string, state: MemberState | undefined, fence?: Fence): Promise<void> {
    if (!state) return this.#exec(fence, 'DELETE FROM member_state WHERE cluster = $1', [cluster]);
    return this.#exec(
      fence,
      'INSERT INTO member_state (cluster, last_seen, ready) VALUES ($1, $2, $3) ON CONFLICT (cluster) DO UPDATE SET last_seen = excluded.last_seen, ready = excluded.ready',
      [cluster, state.lastSeen, state.ready],
    );
  }
}

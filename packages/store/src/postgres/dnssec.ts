/** DNSSEC keys and signing state on PostgreSQL (issue 15): private keys sealed like member credentials; writes fenced. */
import type pg from 'pg';
import type { SecretBox } from '../secrets.js';
import type { Fence, StoredDnssecKey } from '../types.js';
import { checkFence, inTransaction } from './tx.js';

export class PgDnssec {
  constructor(
    private readonly pool: pg.Pool,
    private readonly secrets: () => SecretBox,
  ) {}

  async keys(zone: string): Promise<StoredDnssecKey[]> {
    const r = await this.pool.query('SELECT id, flags, algorithm, private_key, state, created FROM dnssec_keys WHERE zone = $1 ORDER BY created, id', [zone]);
    return r.rows.map((row) => ({ id: row.id, flags: row.flags, algorithm: row.algorithm, privateKey: this.secrets().open(row.private_key), state: row.state, created: row.created }));
  }

  putKey(zone: string, k: StoredDnssecKey, fence?: Fence): Promise<void> {
    const sealed = this.secrets().seal(k.privateKey);
    return inTransaction(this.pool, async (c) => {
      await checkFence(c, fence);
      await c.query(
        `INSERT INTO dnssec_keys (zone, id, flags, algorithm, private_key, state, created) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (zone, id) DO UPDATE SET flags = excluded.flags, algorithm = excluded.algorithm, private_key = excluded.private_key, state = excluded.state, created = excluded.created`,
        [zone, k.id, k.flags, k.algorithm, sealed, k.state, k.created],
      );
    });
  }

  deleteKey(zone: string, id: string, fence?: Fence): Promise<void> {
    return inTransaction(this.pool, async (c) => {
      await checkFence(c, fence);
      await c.query('DELETE FROM dnssec_keys WHERE zone = $1 AND id = $2', [zone, id]);
    });
  }

  async state<T>(zone: string): Promise<T | undefined> {
    const r = await this.pool.query('SELECT state FROM dnssec_state WHERE zone = $1', [zone]);
    return r.rows[0]?.state as T | undefined;
  }

  putState(zone: string, state: unknown, fence?: Fence): Promise<void> {
    return inTransaction(this.pool, async (c) => {
      await checkFence(c, fence);
      await c.query('INSERT INTO dnssec_state (zone, state) VALUES ($1, $2::json) ON CONFLICT (zone) DO UPDATE SET state = excluded.state', [zone, JSON.stringify(state)]);
    });
  }
}

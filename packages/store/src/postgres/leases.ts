/**
 * Leader-election leases, judged by the database's clock. `acquire` reads it
 * with clock_timestamp(), not statement_timestamp(): a takeover may wait for a
 * lock (below), and a statement that waited must judge expiry, and start its
 * term, at the moment it acts — else two candidates that waited together both
 * see the lease expired, and the first is granted a term that already ran
 * out while it waited. `acquire` is one statement: renew a lease the
 * holder still holds at the epoch it names (only the times change), else insert a new one
 * (epoch 1) or take over an expired one (epoch + 1, its own expired lease too).
 * A takeover changes the epoch, a key column, so it waits for every transaction
 * that checked the old epoch's fence (they hold the row FOR KEY SHARE): the old
 * epoch's writes all land before the new epoch exists. A renewal never waits for
 * them. A takeover still waiting at lock_timeout answers "not acquired".
 */
import type pg from 'pg';
import type { LeaseRecord } from '../types.js';
import { type LeaseRow, toLease } from './rows.js';

const ACQUIRE = `
WITH renewed AS (
  UPDATE leases SET renewed_at = clock_timestamp(), expires_at = clock_timestamp() + $3 * interval '1 millisecond'
  WHERE name = $1 AND holder = $2 AND epoch = $4 AND expires_at > clock_timestamp()
  RETURNING name, holder, epoch, expires_at, renewed_at
), taken AS (
  INSERT INTO leases AS l (name, holder, epoch, acquired_at, renewed_at, expires_at)
  SELECT $1, $2, 1, clock_timestamp(), clock_timestamp(), clock_timestamp() + $3 * interval '1 millisecond'
  WHERE NOT EXISTS (SELECT 1 FROM renewed)
    AND NOT EXISTS (SELECT 1 FROM leases WHERE name = $1 AND expires_at > clock_timestamp())
  ON CONFLICT (name) DO UPDATE SET epoch = l.epoch + 1, holder = excluded.holder, acquired_at = clock_timestamp(),
    renewed_at = clock_timestamp(), expires_at = clock_timestamp() + $3 * interval '1 millisecond'
  -- Evaluated once the row is locked: the times of excluded.* were read before any wait.
  WHERE l.expires_at <= clock_timestamp()
  RETURNING name, holder, epoch, expires_at, renewed_at
)
SELECT * FROM renewed UNION ALL SELECT * FROM taken`;

export class PgLeases {
  /** `pool`: the connection leases use (opened at first use: only controllers take leases). */
  constructor(private readonly pool: () => pg.Pool) {}

  async acquire(name: string, holder: string, durationMs: number, heldEpoch?: number): Promise<LeaseRecord | undefined> {
    try {
      // Epoch 0 is never held: without one, only a free or expired lease is taken.
      const r = await this.pool().query<LeaseRow>(ACQUIRE, [name, holder, Math.max(1, Math.round(durationMs)), heldEpoch ?? 0]);
      return r.rows[0] ? toLease(r.rows[0]) : undefined;
    } catch (err) {
      // lock_not_available: a takeover still waiting for the old epoch's last commit.
      if ((err as { code?: string }).code === '55P03') return undefined;
      throw err;
    }
  }

  /** Ends the holder's lease now; the row stays (expired) so the next epoch is higher. Never waits for fenced writes. */
  async release(name: string, holder: string): Promise<void> {
    await this.pool().query('UPDATE leases SET expires_at = statement_timestamp() WHERE name = $1 AND holder = $2 AND expires_at > statement_timestamp()', [name, holder]);
  }

  async read(name: string): Promise<LeaseRecord | undefined> {
    const r = await this.pool().query<LeaseRow>(
      `SELECT name, holder, epoch, expires_at, renewed_at,
              greatest(0, extract(epoch FROM expires_at - statement_timestamp()) * 1000)::float8 AS remaining_ms
       FROM leases WHERE name = $1`,
      [name],
    );
    return r.rows[0] ? toLease(r.rows[0]) : undefined;
  }
}

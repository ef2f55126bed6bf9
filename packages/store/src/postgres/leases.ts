/**
 * Leader-election leases, judged by the database's clock (statement_timestamp(),
 * one instant per statement). `acquire` is one statement: insert a new lease
 * (epoch 1), renew one the holder still holds (same epoch), or take over an
 * expired one (epoch + 1). A takeover waits for any transaction that checked the
 * old epoch's fence (it holds the row FOR SHARE), so the old epoch's writes all
 * land before the new epoch exists.
 */
import type pg from 'pg';
import type { LeaseRecord } from '../types.js';
import { type LeaseRow, toLease } from './rows.js';

export class PgLeases {
  constructor(private readonly pool: pg.Pool) {}

  async acquire(name: string, holder: string, durationMs: number): Promise<LeaseRecord | undefined> {
    const r = await this.pool.query<LeaseRow>(
      `INSERT INTO leases AS l (name, holder, epoch, acquired_at, renewed_at, expires_at)
       VALUES ($1, $2, 1, statement_timestamp(), statement_timestamp(), statement_timestamp() + $3 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET
         epoch = CASE WHEN l.holder = excluded.holder AND l.expires_at > statement_timestamp() THEN l.epoch ELSE l.epoch + 1 END,
         acquired_at = CASE WHEN l.holder = excluded.holder AND l.expires_at > statement_timestamp() THEN l.acquired_at ELSE excluded.acquired_at END,
         holder = excluded.holder, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at
       WHERE (l.holder = excluded.holder AND l.expires_at > statement_timestamp()) OR l.expires_at <= statement_timestamp()
       RETURNING name, holder, epoch, expires_at, renewed_at`,
      [name, holder, Math.max(1, Math.round(durationMs))],
    );
    return r.rows[0] ? toLease(r.rows[0]) : undefined;
  }

  /** Ends the holder's lease now; the row stays (expired) so the next epoch is higher. */
  async release(name: string, holder: string): Promise<void> {
    await this.pool.query('UPDATE leases SET expires_at = statement_timestamp() WHERE name = $1 AND holder = $2 AND expires_at > statement_timestamp()', [name, holder]);
  }

  async read(name: string): Promise<LeaseRecord | undefined> {
    const r = await this.pool.query<LeaseRow>('SELECT name, holder, epoch, expires_at, renewed_at FROM leases WHERE name = $1', [name]);
    return r.rows[0] ? toLease(r.rows[0]) : undefined;
  }
}

/**
 * Transactions on the pool, and the fence check every fenced write runs first
 * inside its own transaction.
 */
import type pg from 'pg';
import { type Fence, FencedError } from '../types.js';

export type Conn = pg.PoolClient;

/** Server errors after which a pooled connection is not worth keeping (lost, shut down, or now on a read-only server). */
function isBroken(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P') || code === '25006');
}

/**
 * Runs `fn` in one transaction on one pooled connection: COMMIT when it returns,
 * ROLLBACK when it throws. `begin` picks the mode (read-only snapshots use
 * `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`). A COMMIT that fails on a
 * lost connection leaves the outcome unknown; the caller sees the error and
 * retries (object writes are CAS, zone commits are recomputed by the controller).
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: Conn) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const c = await pool.connect();
  let broken: Error | undefined;
  try {
    await c.query(begin);
    const result = await fn(c);
    await c.query('COMMIT');
    return result;
  } catch (err) {
    // Our own refusals (ConflictError, FencedError) and statement errors roll back and keep the
    // connection; a ROLLBACK that fails too (the socket is gone) discards it.
    if (isBroken(err)) broken = err as Error;
    else {
      try {
        await c.query('ROLLBACK');
      } catch (e) {
        broken = e as Error;
      }
    }
    throw err;
  } finally {
    c.release(broken);
  }
}

/** A consistent read of several statements (one snapshot; never takes a write lock). */
export function inSnapshot<T>(pool: pg.Pool, fn: (c: Conn) => Promise<T>): Promise<T> {
  return inTransaction(pool, fn, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
}

/**
 * Refuses the write unless `fence` is the current, unexpired lease by the
 * database's clock. FOR KEY SHARE keeps the lease row locked until this
 * transaction ends against any change of its key (name, epoch): a takeover,
 * which bumps the epoch, waits for this commit, so no write of an old epoch can
 * land after a new epoch begins; the holder's renewals (only the times change)
 * do not wait, so a long zone commit never holds up its own leader's renewal.
 */
export async function checkFence(c: Conn, fence: Fence | undefined): Promise<void> {
  if (!fence) return;
  const r = await c.query(
    'SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp() FOR KEY SHARE',
    [fence.lease, fence.holder, fence.epoch],
  );
  if (r.rowCount !== 1) throw new FencedError(fence);
}

/** Wakes LISTENers at commit. */
export const NOTIFY_CHANNEL = 'fedns_store';

export async function notify(c: Conn, what: 'objects' | 'zone', n: number): Promise<void> {
  await c.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, `${what} ${n}`]);
}

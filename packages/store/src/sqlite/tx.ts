/**
 * The few things node:sqlite leaves to its user that better-sqlite3 used to
 * do for us: plucked statements and nestable transactions.
 */
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';

/** A statement whose rows are their first column (better-sqlite3's `.pluck()`). */
export interface Plucked<T> {
  /** The first column of the first row; undefined when there is no row. */
  get(...params: SQLInputValue[]): T | undefined;
  all(...params: SQLInputValue[]): T[];
}

export function pluck<T = unknown>(db: DatabaseSync, sql: string): Plucked<T> {
  const stmt = db.prepare(sql);
  stmt.setReturnArrays(true);
  return {
    get: (...params) => (stmt.get(...params) as unknown as unknown[] | undefined)?.[0] as T | undefined,
    all: (...params) => (stmt.all(...params) as unknown as unknown[][]).map((row) => row[0] as T),
  };
}

/** One name for every nesting level: ROLLBACK TO and RELEASE act on the innermost savepoint of that name. */
const SAVEPOINT = 'fedns_tx';

/**
 * Runs `fn` in a transaction and returns its result; an exception rolls back
 * and is rethrown. Outermost: `BEGIN IMMEDIATE` (`BEGIN DEFERRED` for
 * `mode: 'read'`) … `COMMIT`/`ROLLBACK`. Inside another transaction: a
 * savepoint, so a failed inner call undoes only its own writes and the caller
 * may catch the error and carry on (better-sqlite3's `db.transaction()`).
 *
 * Writers take the write lock at BEGIN: a deferred transaction that reads and
 * later writes can fail with SQLITE_BUSY_SNAPSHOT in WAL mode when another
 * process committed in between (busy_timeout does not help there), whereas
 * BEGIN IMMEDIATE waits up to busy_timeout for the lock and then sees the
 * latest data.
 */
export function transaction<T>(db: DatabaseSync, fn: () => T, mode: 'write' | 'read' = 'write'): T {
  const nested = db.isTransaction;
  db.exec(nested ? `SAVEPOINT ${SAVEPOINT}` : mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN DEFERRED');
  const undo = () => {
    // SQLite may already have rolled the whole transaction back (e.g. SQLITE_FULL);
    // a failing rollback must not hide the error that caused it.
    if (!db.isTransaction) return;
    try {
      db.exec(nested ? `ROLLBACK TO ${SAVEPOINT}; RELEASE ${SAVEPOINT}` : 'ROLLBACK');
    } catch {}
  };
  let result: T;
  try {
    result = fn();
    if (typeof (result as { then?: unknown } | null)?.then === 'function') {
      throw new TypeError('a transaction function must be synchronous; it returned a promise');
    }
  } catch (err) {
    undo();
    throw err;
  }
  try {
    db.exec(nested ? `RELEASE ${SAVEPOINT}` : 'COMMIT');
  } catch (err) {
    undo();
    throw err;
  }
  return result;
}

import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** Who holds a data directory's writer lock (as written beside the lock when it was taken). */
export interface WriterHolder {
  pid: number;
  host: string;
  role: string;
  since: string;
}

export class WriterLockHeldError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: WriterHolder | undefined,
  ) {
    const who = holder ? `fedns ${holder.role} (pid ${holder.pid} on ${holder.host}, since ${holder.since})` : 'another fedns process';
    super(`data-dir: ${dataDir} is already written by ${who}; stop it first, or run \`fedns nameserver\` for a read-only follower`);
  }
}

export interface WriterLock {
  release(): void;
}

const LOCK_FILE = 'writer.lock';
const HOLDER_FILE = 'writer.json';

/**
 * One zone writer per data directory (issue 9). The lock is SQLite's own
 * exclusive lock on a small side file, held by an open transaction for the
 * life of the process: the kernel drops it when the process dies, even by
 * kill -9, so there is no stale lock to clean up and no heartbeat to judge.
 * Read-only followers never take it.
 */
export function acquireWriterLock(dataDir: string, role: string): WriterLock {
  const db = new DatabaseSync(join(dataDir, LOCK_FILE), { timeout: 0 });
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1))');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('INSERT OR REPLACE INTO holder (id) VALUES (1)');
  } catch (err) {
    db.close();
    if (isBusy(err)) throw new WriterLockHeldError(dataDir, readHolder(dataDir));
    throw err;
  }
  const holder: WriterHolder = { pid: process.pid, host: hostname(), role, since: new Date().toISOString() };
  writeFileSync(join(dataDir, HOLDER_FILE), `${JSON.stringify(holder)}\n`, { mode: 0o644 });
  return {
    release() {
      if (!db.isOpen) return;
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

/** SQLITE_BUSY (5) or SQLITE_LOCKED (6), as node:sqlite reports them. */
function isBusy(err: unknown): boolean {
  const e = err as { errcode?: number; message?: string };
  const primary = (e.errcode ?? 0) & 0xff;
  return primary === 5 || primary === 6 || /database is locked/.test(e.message ?? '');
}

function readHolder(dataDir: string): WriterHolder | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, HOLDER_FILE), 'utf8')) as WriterHolder;
  } catch {
    return undefined;
  }
}

/**
 * The object log (migration 0005): one row per change of a service, cluster
 * or namespace, keyed by the resourceVersion the change produced, with who
 * made it and the object JSON. Appended inside the transaction of the write it
 * records; pruned to the newest `keep` rows in batches, remembering how far it
 * pruned so a reader asking from before that point is told 'compacted'.
 */
import type { DatabaseSync } from 'node:sqlite';
import { type ObjectChange, type ObjectChangeType, type ObjectKind, SYSTEM_ACTOR } from '../types.js';
import { pluck } from './tx.js';

interface LogRow {
  rv: number;
  kind: ObjectKind;
  namespace: string;
  name: string;
  type: ObjectChangeType;
  actor: string;
  at: string;
  object: string;
}

/** Rows kept by default. */
export const OBJECT_LOG_SIZE = 100_000;

function prepareLog(db: DatabaseSync) {
  return {
    append: db.prepare('INSERT INTO object_log (rv, kind, namespace, name, type, actor, at, object) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    since: db.prepare('SELECT * FROM object_log WHERE rv > ? ORDER BY rv LIMIT ?'),
    changes: db.prepare('SELECT * FROM object_log WHERE kind = ? AND namespace = ? AND name = ? ORDER BY rv DESC LIMIT ?'),
    cutoff: pluck<number>(db, 'SELECT rv FROM object_log ORDER BY rv DESC LIMIT 1 OFFSET ?'),
    prune: db.prepare('DELETE FROM object_log WHERE rv <= ?'),
    prunedThrough: pluck<string>(db, "SELECT value FROM meta WHERE key = 'object_log_pruned_through'"),
    setPrunedThrough: db.prepare("INSERT INTO meta (key, value) VALUES ('object_log_pruned_through', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
  };
}

const toChange = (r: LogRow): ObjectChange => ({
  rv: Number(r.rv),
  type: r.type,
  kind: r.kind,
  namespace: r.namespace,
  name: r.name,
  actor: r.actor,
  at: r.at,
  object: JSON.parse(r.object) as Record<string, unknown>,
});

export class ObjectLog {
  readonly #keep: number;
  /** Appends between prunes: the table holds at most keep + batch rows. */
  readonly #batch: number;
  #sincePrune = 0;
  readonly #db: DatabaseSync;
  #prepared: ReturnType<typeof prepareLog> | undefined;

  constructor(db: DatabaseSync, keep = OBJECT_LOG_SIZE) {
    this.#db = db;
    this.#keep = Math.max(1, keep);
    this.#batch = Math.max(1, Math.min(1000, Math.ceil(this.#keep / 10)));
  }

  /** Prepared on first use: a read-only follower may open a database not yet migrated to 0005. */
  get #stmts() {
    this.#prepared ??= prepareLog(this.#db);
    return this.#prepared;
  }

  /** Records one change; call inside the transaction of the write. */
  append(e: { rv: number; kind: ObjectKind; namespace: string; name: string; type: ObjectChangeType; actor: string; object: unknown }): void {
    this.#stmts.append.run(e.rv, e.kind, e.namespace, e.name, e.type, e.actor || SYSTEM_ACTOR, new Date().toISOString(), JSON.stringify(e.object ?? {}));
    if (++this.#sincePrune >= this.#batch) this.prune();
  }

  /** Keeps the newest `keep` rows. */
  prune(): void {
    this.#sincePrune = 0;
    const cut = this.#stmts.cutoff.get(this.#keep);
    if (cut === undefined) return;
    this.#stmts.prune.run(cut);
    this.#stmts.setPrunedThrough.run(String(cut));
  }

  /** Changes after `rv`, oldest first; 'compacted' when some of them were pruned. */
  since(rv: number, limit: number): ObjectChange[] | 'compacted' {
    if (rv < Number(this.#stmts.prunedThrough.get() ?? '0')) return 'compacted';
    return (this.#stmts.since.all(rv, limit) as unknown as LogRow[]).map(toChange);
  }

  changes(kind: ObjectKind, namespace: string, name: string, limit: number): ObjectChange[] {
    return (this.#stmts.changes.all(kind, namespace, name, limit) as unknown as LogRow[]).map(toChange);
  }
}

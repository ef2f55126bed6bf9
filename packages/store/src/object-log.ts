/**
 * The object log (migration 0005): one row per change of a service, cluster
 * or namespace, keyed by the resourceVersion the change produced, with who
 * made it and the object JSON. Appended by the Store inside the transaction of
 * the write it records; pruned to the newest `keep` rows in batches.
 */
import type { DatabaseSync } from 'node:sqlite';

export type ObjectKind = 'services' | 'clusters' | 'namespaces';
export type ObjectChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Who wrote when nobody authenticated did: the controller's status writes, `fedns join`. */
export const SYSTEM_ACTOR = 'system:fedns';

/** One recorded change, as `lastObjectChange` returns it. */
export interface ObjectChangeSummary {
  rv: number;
  type: ObjectChangeType;
  actor: string;
  at: string;
}

/** One recorded change with its object (after the change; before it, for DELETED). */
export interface ObjectLogEntry<T = Record<string, unknown>> extends ObjectChangeSummary {
  kind: ObjectKind;
  namespace: string;
  name: string;
  object: T;
}

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

function prepareLog(db: DatabaseSync) {
  return {
    // A caller that reuses a resourceVersion replaces that row rather than failing its write.
    append: db.prepare(
      `INSERT INTO object_log (rv, kind, namespace, name, type, actor, at, object) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(rv) DO UPDATE SET kind = excluded.kind, namespace = excluded.namespace, name = excluded.name,
         type = excluded.type, actor = excluded.actor, at = excluded.at, object = excluded.object`,
    ),
    last: db.prepare('SELECT rv, type, actor, at FROM object_log WHERE kind = ? AND namespace = ? AND name = ? ORDER BY rv DESC LIMIT 1'),
    changes: db.prepare('SELECT * FROM object_log WHERE kind = ? AND namespace = ? AND name = ? ORDER BY rv DESC LIMIT ?'),
    cutoff: db.prepare('SELECT rv FROM object_log ORDER BY rv DESC LIMIT 1 OFFSET ?'),
    prune: db.prepare('DELETE FROM object_log WHERE rv <= ?'),
  };
}

/** Rows kept by default. */
export const OBJECT_LOG_SIZE = 100_000;

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
    const row = this.#stmts.cutoff.get(this.#keep) as unknown as { rv: number } | undefined;
    if (row) this.#stmts.prune.run(row.rv);
  }

  last(kind: ObjectKind, namespace: string, name: string): ObjectChangeSummary | undefined {
    const r = this.#stmts.last.get(kind, namespace, name) as unknown as ObjectChangeSummary | undefined;
    return r ? { rv: r.rv, type: r.type, actor: r.actor, at: r.at } : undefined;
  }

  changes<T>(kind: ObjectKind, namespace: string, name: string, limit: number): ObjectLogEntry<T>[] {
    return (this.#stmts.changes.all(kind, namespace, name, limit) as unknown as LogRow[]).map((r) => ({
      rv: r.rv,
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      type: r.type,
      actor: r.actor,
      at: r.at,
      object: JSON.parse(r.object) as T,
    }));
  }
}

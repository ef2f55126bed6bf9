/** Probe verdicts on SQLite (issue 14): each prober's rows and its heartbeat, by this process's clock. */
import type { DatabaseSync } from 'node:sqlite';
import { type ProbeRow, rowToProbe } from '../rows.js';
import type { ProbeVerdict, ShardRef, StoredProbeVerdict } from '../types.js';
import { pluck, transaction } from './tx.js';

const SELECT = `SELECT v.prober, v.cluster, v.namespace, v.service, v.target, v.addresses, v.ok, v.since, v.message, ? - p.seen_at AS age_ms
  FROM probe_verdicts v JOIN probers p ON p.prober = v.prober`;
const ORDER = 'ORDER BY v.namespace, v.service, v.cluster, v.prober';

export class SqliteProbes {
  readonly #db: DatabaseSync;
  readonly #s;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#s = {
      seen: db.prepare('INSERT INTO probers (prober, seen_at) VALUES (?, ?) ON CONFLICT (prober) DO UPDATE SET seen_at = excluded.seen_at'),
      put: db.prepare(
        `INSERT INTO probe_verdicts (prober, cluster, namespace, service, target, addresses, ok, since, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (prober, cluster, namespace, service) DO UPDATE SET target = excluded.target, addresses = excluded.addresses,
           ok = excluded.ok, since = excluded.since, message = excluded.message`,
      ),
      remove: db.prepare('DELETE FROM probe_verdicts WHERE prober = ? AND cluster = ? AND namespace = ? AND service = ?'),
      bump: db.prepare("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'probe_revision'"),
      revision: pluck<string>(db, "SELECT value FROM meta WHERE key = 'probe_revision'"),
      all: db.prepare(`${SELECT} ${ORDER}`),
      ofService: db.prepare(`${SELECT} WHERE v.namespace = ? AND v.service = ? ${ORDER}`),
      stale: pluck<string>(db, 'SELECT prober FROM probers WHERE seen_at < ? ORDER BY prober'),
      forget: db.prepare('DELETE FROM probers WHERE prober = ?'),
    };
  }

  record(prober: string, put: ProbeVerdict[], remove: ShardRef[]): void {
    const s = this.#s;
    transaction(this.#db, () => {
      s.seen.run(prober, Date.now());
      for (const v of put) s.put.run(prober, v.cluster, v.namespace, v.service, v.target, JSON.stringify(v.addresses), v.ok ? 1 : 0, v.since, v.message);
      for (const r of remove) s.remove.run(prober, r.cluster, r.namespace, r.service);
      if (put.length || remove.length) s.bump.run();
    });
  }

  verdicts(namespace?: string, service?: string): StoredProbeVerdict[] {
    const now = Date.now();
    const rows = namespace !== undefined && service !== undefined ? this.#s.ofService.all(now, namespace, service) : this.#s.all.all(now);
    return (rows as unknown as ProbeRow[]).map(rowToProbe);
  }

  revision(): number {
    return Number(this.#s.revision.get() ?? '0');
  }

  forget(staleForMs: number): string[] {
    return transaction(this.#db, () => {
      const gone = this.#s.stale.all(Date.now() - staleForMs);
      for (const p of gone) this.#s.forget.run(p);
      if (gone.length) this.#s.bump.run();
      return gone;
    });
  }
}

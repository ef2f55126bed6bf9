/**
 * Probe verdicts on PostgreSQL (issue 14): each prober's rows and its
 * heartbeat, stamped and aged by the database's clock, so controllers on
 * machines whose clocks disagree are judged alike. Never fenced.
 */
import type pg from 'pg';
import { type ProbeRow, rowToProbe } from '../rows.js';
import type { ProbeVerdict, ShardRef, StoredProbeVerdict } from '../types.js';
import { inTransaction } from './tx.js';

const SELECT = `SELECT v.prober, v.cluster, v.namespace, v.service, v.target, v.addresses, v.ok, v.since, v.message,
  extract(epoch FROM clock_timestamp() - p.seen_at) * 1000 AS age_ms
  FROM probe_verdicts v JOIN probers p ON p.prober = v.prober`;
const ORDER = 'ORDER BY v.namespace, v.service, v.cluster, v.prober';

export class PgProbes {
  constructor(private readonly pool: pg.Pool) {}

  record(prober: string, put: ProbeVerdict[], remove: ShardRef[]): Promise<void> {
    return inTransaction(this.pool, async (c) => {
      await c.query('INSERT INTO probers (prober, seen_at) VALUES ($1, clock_timestamp()) ON CONFLICT (prober) DO UPDATE SET seen_at = excluded.seen_at', [prober]);
      if (put.length) {
        const rows = put.map((v) => ({ prober, cluster: v.cluster, namespace: v.namespace, service: v.service, target: v.target, addresses: v.addresses, ok: v.ok, since: v.since, message: v.message }));
        await c.query(
          `INSERT INTO probe_verdicts (prober, cluster, namespace, service, target, addresses, ok, since, message)
           SELECT * FROM json_to_recordset($1::json) AS x(prober text, cluster text, namespace text, service text, target text, addresses json, ok boolean, since text, message text)
           ON CONFLICT (prober, cluster, namespace, service) DO UPDATE SET target = excluded.target, addresses = excluded.addresses,
             ok = excluded.ok, since = excluded.since, message = excluded.message`,
          [JSON.stringify(rows)],
        );
      }
      if (remove.length) {
        await c.query(
          `DELETE FROM probe_verdicts v USING unnest($2::text[], $3::text[], $4::text[]) AS k(cluster, namespace, service)
           WHERE v.prober = $1 AND v.cluster = k.cluster AND v.namespace = k.namespace AND v.service = k.service`,
          [prober, remove.map((r) => r.cluster), remove.map((r) => r.namespace), remove.map((r) => r.service)],
        );
      }
      if (put.length || remove.length) await c.query('UPDATE probe_head SET revision = revision + 1');
    });
  }

  async verdicts(namespace?: string, service?: string): Promise<StoredProbeVerdict[]> {
    const r =
      namespace !== undefined && service !== undefined
        ? await this.pool.query<ProbeRow>(`${SELECT} WHERE v.namespace = $1 AND v.service = $2 ${ORDER}`, [namespace, service])
        : await this.pool.query<ProbeRow>(`${SELECT} ${ORDER}`);
    return r.rows.map(rowToProbe);
  }

  async revision(): Promise<number> {
    return Number((await this.pool.query('SELECT revision FROM probe_head')).rows[0]?.revision ?? 0);
  }

  forget(staleForMs: number): Promise<string[]> {
    return inTransaction(this.pool, async (c) => {
      const gone = (await c.query<{ prober: string }>(`DELETE FROM probers WHERE seen_at < clock_timestamp() - $1 * interval '1 millisecond' RETURNING prober`, [staleForMs])).rows.map((r) => r.prober).sort();
      if (gone.length) await c.query('UPDATE probe_head SET revision = revision + 1');
      return gone;
    });
  }
}

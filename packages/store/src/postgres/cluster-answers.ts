/**
 * In-cluster answers on PostgreSQL (issue 12), as on SQLite: their own table and head row,
 * never the zone's. A commit locks the head (commits serialise), checks the fence, writes its
 * rows at the next sequence (a deletion as a row without an answer), prunes deletions older than
 * ANSWER_TOMBSTONE_KEEP commits now and then, and NOTIFYs `clusterAnswers <seq>`.
 */
import type { ClusterAnswer, ClusterAnswerDiff } from '@fedns/model';
import type pg from 'pg';
import { ANSWER_TOMBSTONE_KEEP, type ClusterAnswerRow, rowToAnswer } from '../rows.js';
import type { ClusterAnswerChanges, Fence } from '../types.js';
import { checkFence, inSnapshot, inTransaction, NOTIFY_CHANNEL } from './tx.js';

export class PgClusterAnswers {
  constructor(
    private readonly pool: pg.Pool,
    private readonly onCommit: (seq: number) => void,
  ) {}

  snapshot(): Promise<{ seq: number; answers: ClusterAnswer[] }> {
    return inSnapshot(this.pool, async (c) => {
      const head = await c.query('SELECT seq FROM cluster_answer_head');
      const rows = await c.query<ClusterAnswerRow>('SELECT * FROM cluster_answers WHERE answer IS NOT NULL ORDER BY namespace, service, cluster');
      return { seq: Number(head.rows[0]?.seq ?? 0), answers: rows.rows.map(rowToAnswer) };
    });
  }

  async ofService(namespace: string, service: string): Promise<ClusterAnswer[]> {
    const r = await this.pool.query<ClusterAnswerRow>('SELECT * FROM cluster_answers WHERE namespace = $1 AND service = $2 AND answer IS NOT NULL ORDER BY cluster', [namespace, service]);
    return r.rows.map(rowToAnswer);
  }

  async commit(diff: ClusterAnswerDiff, fence?: Fence): Promise<number | undefined> {
    if (diff.upserts.length === 0 && diff.deletes.length === 0) return undefined;
    const seq = await inTransaction(this.pool, async (c) => {
      await checkFence(c, fence);
      const head = await c.query('SELECT seq FROM cluster_answer_head FOR UPDATE');
      const next = Number(head.rows[0]?.seq ?? 0) + 1;
      if (diff.deletes.length) {
        await c.query(
          `UPDATE cluster_answers a SET seq = $1, answer = NULL FROM json_to_recordset($2::json) AS d(cluster text, namespace text, service text)
           WHERE a.cluster = d.cluster AND a.namespace = d.namespace AND a.service = d.service AND a.answer IS NOT NULL`,
          [next, JSON.stringify(diff.deletes.map((k) => ({ cluster: k.cluster, namespace: k.namespace, service: k.service })))],
        );
      }
      if (diff.upserts.length) {
        await c.query(
          `INSERT INTO cluster_answers (cluster, namespace, service, seq, answer)
           SELECT x.cluster, x.namespace, x.service, $1, x.answer FROM json_to_recordset($2::json) AS x(cluster text, namespace text, service text, answer json)
           ON CONFLICT (cluster, namespace, service) DO UPDATE SET seq = excluded.seq, answer = excluded.answer`,
          [next, JSON.stringify(diff.upserts.map((a) => ({ cluster: a.cluster, namespace: a.namespace, service: a.service, answer: a })))],
        );
      }
      const cut = next - ANSWER_TOMBSTONE_KEEP;
      if (cut > 0 && next % 100 === 0) {
        await c.query(
          `WITH gone AS (DELETE FROM cluster_answers WHERE answer IS NULL AND seq <= $1 RETURNING seq)
           UPDATE cluster_answer_head SET compacted = greatest(compacted, coalesce((SELECT max(seq) FROM gone), compacted))`,
          [cut],
        );
      }
      await c.query('UPDATE cluster_answer_head SET seq = $1', [next]);
      await c.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, `clusterAnswers ${next}`]);
      return next;
    });
    this.onCommit(seq);
    return seq;
  }

  since(seq: number): Promise<ClusterAnswerChanges | 'compacted'> {
    return inSnapshot(this.pool, async (c) => {
      const head = (await c.query('SELECT seq, compacted FROM cluster_answer_head')).rows[0] as { seq: string | number; compacted: string | number };
      if (seq > Number(head.seq) || seq < Number(head.compacted)) return 'compacted' as const;
      const out: ClusterAnswerChanges = { seq: Number(head.seq), upserts: [], deletes: [] };
      const rows = await c.query<ClusterAnswerRow>('SELECT * FROM cluster_answers WHERE seq > $1 ORDER BY seq, namespace, service, cluster', [seq]);
      for (const r of rows.rows) {
        if (r.answer === null) out.deletes.push({ cluster: r.cluster, namespace: r.namespace, service: r.service });
        else out.upserts.push(rowToAnswer(r));
      }
      return out;
    });
  }
}

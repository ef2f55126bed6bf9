/**
 * In-cluster answers on SQLite (issue 12): their own table, never the zone's. A commit writes
 * its rows with the next sequence number; a deletion leaves a row without an answer at that
 * sequence, so a follower reading the changes after its sequence learns of it. Deletions older
 * than ANSWER_TOMBSTONE_KEEP commits are forgotten (a follower that far behind reloads).
 */
import type { DatabaseSync } from 'node:sqlite';
import type { ClusterAnswer, ClusterAnswerDiff } from '@fedns/model';
import { ANSWER_TOMBSTONE_KEEP, type ClusterAnswerRow, rowToAnswer } from '../rows.js';
import type { ClusterAnswerChanges } from '../types.js';
import { pluck, transaction } from './tx.js';

const SEQ = 'cluster_answers_seq';
const COMPACTED = 'cluster_answers_compacted';

export class SqliteClusterAnswers {
  readonly #db: DatabaseSync;
  readonly #s;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#s = {
      meta: pluck<string>(db, 'SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      live: db.prepare('SELECT * FROM cluster_answers WHERE answer IS NOT NULL ORDER BY namespace, service, cluster'),
      ofService: db.prepare('SELECT * FROM cluster_answers WHERE namespace = ? AND service = ? AND answer IS NOT NULL ORDER BY cluster'),
      since: db.prepare('SELECT * FROM cluster_answers WHERE seq > ? ORDER BY seq, namespace, service, cluster'),
      put: db.prepare(
        `INSERT INTO cluster_answers (cluster, namespace, service, seq, answer) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(cluster, namespace, service) DO UPDATE SET seq = excluded.seq, answer = excluded.answer`,
      ),
      tombstone: db.prepare('UPDATE cluster_answers SET seq = ?, answer = NULL WHERE cluster = ? AND namespace = ? AND service = ? AND answer IS NOT NULL'),
      maxTombstone: pluck<number | null>(db, 'SELECT max(seq) FROM cluster_answers WHERE answer IS NULL AND seq <= ?'),
      prune: db.prepare('DELETE FROM cluster_answers WHERE answer IS NULL AND seq <= ?'),
    };
  }

  #num(key: string): number {
    return Number(this.#s.meta.get(key) ?? '0');
  }

  snapshot(): { seq: number; answers: ClusterAnswer[] } {
    return transaction(this.#db, () => ({ seq: this.#num(SEQ), answers: (this.#s.live.all() as unknown as ClusterAnswerRow[]).map(rowToAnswer) }), 'read');
  }

  ofService(namespace: string, service: string): ClusterAnswer[] {
    return (this.#s.ofService.all(namespace, service) as unknown as ClusterAnswerRow[]).map(rowToAnswer);
  }

  commit(diff: ClusterAnswerDiff): number | undefined {
    if (diff.upserts.length === 0 && diff.deletes.length === 0) return undefined;
    return transaction(this.#db, () => {
      const seq = this.#num(SEQ) + 1;
      for (const k of diff.deletes) this.#s.tombstone.run(seq, k.cluster, k.namespace, k.service);
      for (const a of diff.upserts) this.#s.put.run(a.cluster, a.namespace, a.service, seq, JSON.stringify(a));
      this.#s.setMeta.run(SEQ, String(seq));
      const cut = seq - ANSWER_TOMBSTONE_KEEP;
      if (cut > 0 && seq % 100 === 0) {
        const forgotten = this.#s.maxTombstone.get(cut);
        if (forgotten !== null && forgotten !== undefined) {
          this.#s.prune.run(cut);
          this.#s.setMeta.run(COMPACTED, String(Math.max(this.#num(COMPACTED), Number(forgotten))));
        }
      }
      return seq;
    });
  }

  since(seq: number): ClusterAnswerChanges | 'compacted' {
    return transaction(
      this.#db,
      () => {
        const head = this.#num(SEQ);
        if (seq > head || seq < this.#num(COMPACTED)) return 'compacted' as const;
        const out: ClusterAnswerChanges = { seq: head, upserts: [], deletes: [] };
        for (const r of this.#s.since.all(seq) as unknown as ClusterAnswerRow[]) {
          if (r.answer === null) out.deletes.push({ cluster: r.cluster, namespace: r.namespace, service: r.service });
          else out.upserts.push(rowToAnswer(r));
        }
        return out;
      },
      'read',
    );
  }

  head(): number {
    return this.#num(SEQ);
  }
}

/**
 * The zone on PostgreSQL. `commit` is one transaction of any size: fence check,
 * the zone head row locked FOR UPDATE (zone commits serialise), the record diff
 * applied in a few batched statements (key arrays and json_to_recordset, not a
 * round trip per RRset), the serial bumped above every served serial, the journal and its
 * service index appended, and a NOTIFY delivered at commit.
 */
import type { RecordSet, RecordSetDiff } from '@fedns/model';
import type pg from 'pg';
import type { Fence, JournalEntry, SerialHook, ZoneSnapshot } from '../types.js';
import { type JournalRow, nextCommitSerial, withHookSets, type RecordRow, rowToEntry as toEntry, rowToRecordSet as toRecordSet } from '../rows.js';
import { RECORD_COLUMNS } from './rows.js';
import { type Conn, checkFence, inSnapshot, inTransaction, NOTIFY_CHANNEL } from './tx.js';

const key = (rs: { name: string; type: string }) => `${rs.name}\u0000${rs.type}`;

/** RRsets as json_to_recordset columns. */
const RS_TYPE = 'name text, type text, ttl int, data json, level text, namespace text, service text, region text, zone text, policy json';

export class PgZone {
  constructor(
    private readonly pool: pg.Pool,
    private readonly committed: (seq: number) => void,
  ) {}

  snapshot(): Promise<ZoneSnapshot> {
    return inSnapshot(this.pool, async (c) => {
      const head = (await c.query('SELECT soa_serial, seq FROM zone_head')).rows[0];
      const rows = await c.query<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM record_sets ORDER BY name, type`);
      return { soaSerial: head.soa_serial, seq: head.seq, recordSets: rows.rows.map(toRecordSet) };
    });
  }

  async list(): Promise<RecordSet[]> {
    return (await this.pool.query<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM record_sets ORDER BY name, type`)).rows.map(toRecordSet);
  }

  async ofService(namespace: string, service: string): Promise<RecordSet[]> {
    const r = await this.pool.query<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM record_sets WHERE namespace = $1 AND service = $2 ORDER BY name, type`, [namespace, service]);
    return r.rows.map(toRecordSet);
  }

  async commit(given: RecordSetDiff, cause: string, fence?: Fence, onSerial?: SerialHook): Promise<JournalEntry | undefined> {
    if (given.upserts.length === 0 && given.deletes.length === 0) return undefined;
    const entry = await inTransaction(this.pool, async (c) => {
      await checkFence(c, fence);
      const head = (await c.query('SELECT soa_serial, seq FROM zone_head FOR UPDATE')).rows[0] as { soa_serial: number; seq: number };
      const served = (await c.query('SELECT serial FROM served_serials')).rows.map((r) => Number(r.serial));
      const soaSerial = nextCommitSerial(head.soa_serial, served);
      const diff = onSerial ? withHookSets(given, onSerial(soaSerial)) : given;
      const added = dedupe(diff.upserts);
      const deleted = [...(await deleteSets(c, diff.deletes)), ...(await upsertSets(c, added))];
      const seq = head.seq + 1;
      await c.query('UPDATE zone_head SET soa_serial = $1, seq = $2', [soaSerial, seq]);
      const j = await c.query<{ at: Date }>('INSERT INTO journal (seq, soa_serial, prev_soa, cause, deleted, added, epoch) VALUES ($1, $2, $3, $4, $5::json, $6::json, $7) RETURNING at', [
        seq,
        soaSerial,
        head.soa_serial,
        cause,
        JSON.stringify(deleted),
        JSON.stringify(added),
        fence?.epoch ?? null,
      ]);
      const services = new Map([...deleted, ...added].filter((r) => r.service !== '').map((r) => [`${r.namespace}\u0000${r.service}`, r]));
      await c.query(
        `INSERT INTO journal_services (seq, namespace, service) SELECT $1, ns, svc FROM unnest($2::text[], $3::text[]) AS u(ns, svc) ON CONFLICT DO NOTHING`,
        [seq, [...services.values()].map((r) => r.namespace), [...services.values()].map((r) => r.service)],
      );
      await c.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, `zone ${seq}`]);
      return { seq, soaSerial, prevSoaSerial: head.soa_serial, at: (j.rows[0]?.at ?? new Date()).toISOString(), cause, deleted, added, ...(fence ? { epoch: fence.epoch } : {}) } satisfies JournalEntry;
    });
    this.committed(entry.seq);
    return entry;
  }

  /** undefined when entries after `seq` were pruned, or `seq` is beyond the head (a store that lost commits). */
  changesSince(seq: number): Promise<JournalEntry[] | undefined> {
    return inSnapshot(this.pool, async (c) => {
      const r = (await c.query('SELECT seq, (SELECT min(seq) FROM journal) AS first FROM zone_head')).rows[0] as { seq: number; first: number | null };
      if (seq > r.seq) return undefined;
      if (seq < r.seq && (r.first === null || r.first > seq + 1)) return undefined;
      return (await c.query<JournalRow>('SELECT * FROM journal WHERE seq > $1 ORDER BY seq', [seq])).rows.map(toEntry);
    });
  }

  /** From the newest entry whose prevSoaSerial is `serial` to the head; [] when current; undefined when unknown or pruned. */
  journalFromSoa(serial: number): Promise<JournalEntry[] | undefined> {
    const s = serial >>> 0;
    return inSnapshot(this.pool, async (c) => {
      const rows = await c.query<JournalRow>('SELECT * FROM journal WHERE seq >= (SELECT max(seq) FROM journal WHERE prev_soa = $1) ORDER BY seq', [s]);
      if (rows.rows.length) return rows.rows.map(toEntry);
      const head = (await c.query('SELECT soa_serial FROM zone_head')).rows[0] as { soa_serial: number };
      return head.soa_serial === s ? [] : undefined;
    });
  }

  async historyOf(namespace: string, service: string, limit = 100): Promise<JournalEntry[]> {
    const r = await this.pool.query<JournalRow>(
      `SELECT j.* FROM journal_services s JOIN journal j ON j.seq = s.seq WHERE s.namespace = $1 AND s.service = $2 ORDER BY j.seq DESC LIMIT $3`,
      [namespace, service, limit],
    );
    return r.rows.map(toEntry);
  }

  async prune(keep: number): Promise<void> {
    await this.pool.query('DELETE FROM journal WHERE seq <= (SELECT seq FROM zone_head) - $1', [Math.max(0, keep)]);
  }

  /** Keeps each server's newest serial (RFC 1982: a late, older report never lowers it). */
  async recordServed(server: string, serial: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO served_serials AS s (server, serial) VALUES ($1, $2)
       ON CONFLICT (server) DO UPDATE SET serial = excluded.serial, at = now()
       WHERE (excluded.serial - s.serial + 4294967296) % 4294967296 BETWEEN 1 AND 2147483647`,
      [server, serial >>> 0],
    );
  }
}

/** Later upserts of one key win; the first one's position is kept (as the SQLite engine's journal does). */
export function dedupe(sets: RecordSet[]): RecordSet[] {
  const byKey = new Map<string, RecordSet>();
  for (const rs of sets) byKey.set(key(rs), rs);
  return [...byKey.values()];
}

/**
 * Deletes the RRsets named by `sets` (one per key); returns the stored content of
 * each one that existed, in the order of `sets`. Keys travel as two text arrays.
 */
async function takeOut(c: Conn, sets: RecordSet[]): Promise<RecordSet[]> {
  if (!sets.length) return [];
  const r = await c.query<RecordRow & { ord: number }>(
    `DELETE FROM record_sets r USING unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(name, type, ord)
     WHERE r.name = k.name AND r.type = k.type RETURNING k.ord, ${RECORD_COLUMNS.replace(/(\w+)/g, 'r.$1')}`,
    [sets.map((rs) => rs.name), sets.map((rs) => rs.type)],
  );
  return r.rows.sort((a, b) => a.ord - b.ord).map(toRecordSet);
}

/** Deletes the RRsets named in `sets` (first mention of each key); their stored content, in diff order. */
function deleteSets(c: Conn, sets: RecordSet[]): Promise<RecordSet[]> {
  const seen = new Set<string>();
  return takeOut(
    c,
    sets.filter((rs) => !seen.has(key(rs)) && seen.add(key(rs))),
  );
}

/**
 * Writes `sets` (one per key): the old rows out (their content is what the
 * journal's `deleted` needs), then one plain INSERT of them all — measured
 * faster than INSERT … ON CONFLICT for a full build or rebuild. Zone commits
 * hold the zone head lock, so nobody writes these keys in between.
 */
export async function upsertSets(c: Conn, sets: RecordSet[]): Promise<RecordSet[]> {
  if (!sets.length) return [];
  const prior = await takeOut(c, sets);
  const rows = sets.map((rs) => ({ name: rs.name, type: rs.type, ttl: rs.ttl, data: rs.data, level: rs.level, namespace: rs.namespace, service: rs.service, region: rs.region, zone: rs.zone, policy: rs.policy ?? null }));
  await c.query(`INSERT INTO record_sets (${RECORD_COLUMNS}) SELECT ${RECORD_COLUMNS} FROM json_to_recordset($1::json) AS x(${RS_TYPE})`, [JSON.stringify(rows)]);
  return prior;
}

/**
 * `load` on PostgreSQL: a tool's bulk import (`fedns store migrate`) in one
 * transaction — objects with their resourceVersions kept and logged as ADDED
 * (the counter moves past the highest), shards, member state, the zone and its
 * journal with serials and history carried over. Rows travel in batches
 * (json_to_recordset), journal entries in chunks of bounded size.
 */
import type pg from 'pg';
import { touchedServices } from '../rows.js';
import type { SecretBox } from '../secrets.js';
import { type BulkData, type JournalEntry, SYSTEM_ACTOR } from '../types.js';
import { type Conn, inTransaction, NOTIFY_CHANNEL } from './tx.js';
import { dedupe, upsertSets } from './zone.js';

/** Journal JSON per statement (a full build's entry alone can be tens of MB). */
const CHUNK_BYTES = 16 * 1024 * 1024;

export async function loadBulk(pool: pg.Pool, secrets: () => SecretBox, data: BulkData): Promise<{ rv: number; seq: number | undefined }> {
  const loaded = await inTransaction(pool, async (c) => {
    const rv = await loadObjects(c, secrets, data.objects ?? []);
    await loadControllerState(c, data);
    const z = data.zone;
    if (z) {
      await upsertSets(c, dedupe(z.recordSets));
      await loadJournal(c, z.journal);
      await c.query('UPDATE zone_head SET soa_serial = $1, seq = $2', [z.soaSerial >>> 0, z.seq]);
      await c.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, `zone ${z.seq}`]);
    }
    return { rv, seq: z?.seq };
  });
  // Fresh statistics for the tables just filled, so the planner uses their indexes at once rather
  // than after autovacuum's next look.
  await pool.query('ANALYZE objects, object_log, shards, member_state, record_sets, journal, journal_services');
  return loaded;
}

async function loadObjects(c: Conn, secrets: () => SecretBox, objects: NonNullable<BulkData['objects']>): Promise<number> {
  if (objects.length) {
    const rows = objects.map((o) => {
      if (o.credentials !== undefined && o.kind !== 'clusters') throw new Error(`credentials belong to clusters, not ${o.kind}`);
      return {
        kind: o.kind,
        namespace: o.kind === 'services' ? o.namespace : '',
        name: o.name,
        uid: o.uid,
        rv: o.resourceVersion,
        object: o.object ?? {},
        actor: o.actor || SYSTEM_ACTOR,
        credentials: o.credentials === undefined ? null : secrets().seal(Buffer.from(o.credentials, 'utf8')).toString('base64'),
      };
    });
    const json = JSON.stringify(rows);
    const cols = 'kind text, namespace text, name text, uid text, rv bigint, object json, actor text, credentials text';
    await c.query(
      `INSERT INTO objects (kind, namespace, name, uid, resource_version, object, credentials)
       SELECT kind, namespace, name, uid, rv, object, decode(credentials, 'base64') FROM json_to_recordset($1::json) AS x(${cols})
       ON CONFLICT (kind, namespace, name) DO UPDATE SET uid = excluded.uid, resource_version = excluded.resource_version,
         object = excluded.object, credentials = coalesce(excluded.credentials, objects.credentials)`,
      [json],
    );
    await c.query(
      `INSERT INTO object_log (rv, kind, namespace, name, type, actor, object)
       SELECT rv, kind, namespace, name, 'ADDED', actor, object FROM json_to_recordset($1::json) AS x(${cols})
       ON CONFLICT (rv) DO UPDATE SET kind = excluded.kind, namespace = excluded.namespace, name = excluded.name,
         type = excluded.type, actor = excluded.actor, object = excluded.object, at = now()`,
      [json],
    );
  }
  const max = objects.reduce((m, o) => Math.max(m, o.resourceVersion), 0);
  const rv = Number((await c.query('UPDATE object_revision SET rv = greatest(rv, $1) RETURNING rv', [max])).rows[0].rv);
  await c.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, `objects ${rv}`]);
  return rv;
}

async function loadControllerState(c: Conn, data: BulkData): Promise<void> {
  const shards = data.shards ?? [];
  if (shards.length) {
    const rows = shards.map((s) => ({
      cluster: s.cluster,
      namespace: s.namespace,
      service: s.service,
      addresses: s.addresses,
      ready_endpoints: s.readyEndpoints,
      healthy: s.healthy,
      since: s.since,
      message: s.message,
      ever_healthy: s.everHealthy ?? s.healthy,
      recovering_since: s.recoveringSince ?? null,
      reported: s.reported ?? true,
      conflict: s.conflict ?? null,
      local: s.local ?? null,
    }));
    await c.query(
      `INSERT INTO shards (cluster, namespace, service, addresses, ready_endpoints, healthy, since, message, ever_healthy, recovering_since, reported, conflict, local)
       SELECT * FROM json_to_recordset($1::json) AS x(cluster text, namespace text, service text, addresses json,
         ready_endpoints integer, healthy boolean, since text, message text, ever_healthy boolean, recovering_since text, reported boolean, conflict text, local json)
       ON CONFLICT (cluster, namespace, service) DO UPDATE SET addresses = excluded.addresses, ready_endpoints = excluded.ready_endpoints,
         healthy = excluded.healthy, since = excluded.since, message = excluded.message, ever_healthy = excluded.ever_healthy,
         recovering_since = excluded.recovering_since, reported = excluded.reported, conflict = excluded.conflict, local = excluded.local`,
      [JSON.stringify(rows)],
    );
  }
  const members = data.memberStates ?? [];
  if (members.length) {
    await c.query(
      `INSERT INTO member_state (cluster, last_seen, ready) SELECT * FROM json_to_recordset($1::json) AS x(cluster text, last_seen text, ready boolean)
       ON CONFLICT (cluster) DO UPDATE SET last_seen = excluded.last_seen, ready = excluded.ready`,
      [JSON.stringify(members.map((m) => ({ cluster: m.cluster, last_seen: m.state.lastSeen, ready: m.state.ready })))],
    );
  }
}

async function loadJournal(c: Conn, journal: JournalEntry[]): Promise<void> {
  let chunk: string[] = [];
  let bytes = 0;
  const flush = async () => {
    if (!chunk.length) return;
    await c.query(
      `INSERT INTO journal (seq, soa_serial, prev_soa, at, cause, deleted, added, epoch)
       SELECT seq, soa_serial, prev_soa, at, cause, deleted, added, epoch FROM json_to_recordset($1::json)
         AS x(seq bigint, soa_serial bigint, prev_soa bigint, at timestamptz, cause text, deleted json, added json, epoch bigint)`,
      [`[${chunk.join(',')}]`],
    );
    chunk = [];
    bytes = 0;
  };
  for (const e of journal) {
    const json = JSON.stringify({ seq: e.seq, soa_serial: e.soaSerial >>> 0, prev_soa: e.prevSoaSerial >>> 0, at: e.at, cause: e.cause, deleted: e.deleted, added: e.added, epoch: e.epoch ?? null });
    if (bytes + json.length > CHUNK_BYTES) await flush();
    chunk.push(json);
    bytes += json.length;
  }
  await flush();
  const tags = journal.flatMap((e) => touchedServices(e).map(([ns, svc]) => [e.seq, ns, svc] as const));
  if (tags.length) {
    await c.query('INSERT INTO journal_services (seq, namespace, service) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING', [
      tags.map((t) => t[0]),
      tags.map((t) => t[1]),
      tags.map((t) => t[2]),
    ]);
  }
}

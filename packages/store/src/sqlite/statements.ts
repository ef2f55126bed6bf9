/** Every statement the SQLite engine runs, prepared once per connection. */
import type { DatabaseSync } from 'node:sqlite';
import { pluck } from './tx.js';

function objectStatements(db: DatabaseSync, table: string, namespaced: boolean) {
  const cols = namespaced ? 'namespace, name, uid, resource_version, object' : 'name, uid, resource_version, object';
  const key = namespaced ? 'namespace = ? AND name = ?' : 'name = ?';
  const conflict = namespaced ? '(namespace, name)' : '(name)';
  return {
    get: db.prepare(`SELECT ${cols} FROM ${table} WHERE ${key}`),
    list: db.prepare(`SELECT ${cols} FROM ${table} ORDER BY ${namespaced ? 'namespace, name' : 'name'}`),
    listIn: db.prepare(`SELECT ${cols} FROM ${table} ${namespaced ? 'WHERE namespace = ? ORDER BY name' : 'ORDER BY name'}`),
    put: db.prepare(
      `INSERT INTO ${table} (${cols}) VALUES (${namespaced ? '?, ?, ?, ?, ?' : '?, ?, ?, ?'})
       ON CONFLICT${conflict} DO UPDATE SET uid = excluded.uid, resource_version = excluded.resource_version, object = excluded.object`,
    ),
    remove: db.prepare(`DELETE FROM ${table} WHERE ${key}`),
  };
}

export function prepareStatements(db: DatabaseSync) {
  return {
    getMeta: pluck<string>(db, 'SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    objects: {
      services: objectStatements(db, 'services', true),
      clusters: objectStatements(db, 'clusters', false),
      namespaces: objectStatements(db, 'namespaces', false),
    },
    setCredentials: db.prepare('UPDATE clusters SET credentials = ? WHERE name = ?'),
    getCredentials: pluck<Uint8Array | null>(db, 'SELECT credentials FROM clusters WHERE name = ?'),
    putShard: db.prepare(
      `INSERT INTO shards (cluster, namespace, service, addresses, ready_endpoints, healthy, since, message, ever_healthy, recovering_since, reported, conflict, local)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(cluster, namespace, service) DO UPDATE SET addresses = excluded.addresses,
         ready_endpoints = excluded.ready_endpoints, healthy = excluded.healthy, since = excluded.since, message = excluded.message,
         ever_healthy = excluded.ever_healthy, recovering_since = excluded.recovering_since, reported = excluded.reported, conflict = excluded.conflict,
         local = excluded.local`,
    ),
    getShard: db.prepare('SELECT * FROM shards WHERE cluster = ? AND namespace = ? AND service = ?'),
    listShards: db.prepare('SELECT * FROM shards ORDER BY namespace, service, cluster'),
    shardsOfService: db.prepare('SELECT * FROM shards WHERE namespace = ? AND service = ? ORDER BY cluster'),
    shardsOfCluster: db.prepare('SELECT * FROM shards WHERE cluster = ? ORDER BY namespace, service'),
    deleteShard: db.prepare('DELETE FROM shards WHERE cluster = ? AND namespace = ? AND service = ?'),
    deleteShardsOfCluster: db.prepare('DELETE FROM shards WHERE cluster = ?'),
    getMemberState: db.prepare('SELECT last_seen, ready FROM member_state WHERE cluster = ?'),
    putMemberState: db.prepare(
      'INSERT INTO member_state (cluster, last_seen, ready) VALUES (?, ?, ?) ON CONFLICT(cluster) DO UPDATE SET last_seen = excluded.last_seen, ready = excluded.ready',
    ),
    deleteMemberState: db.prepare('DELETE FROM member_state WHERE cluster = ?'),
    getRecordSet: db.prepare('SELECT * FROM record_sets WHERE name = ? AND type = ?'),
    listRecordSets: db.prepare('SELECT * FROM record_sets ORDER BY name, type'),
    recordSetsOfService: db.prepare('SELECT * FROM record_sets WHERE namespace = ? AND service = ? ORDER BY name, type'),
    upsertRecordSet: db.prepare(
      `INSERT INTO record_sets (name, type, ttl, data, level, namespace, service, region, zone, policy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(name, type) DO UPDATE SET ttl = excluded.ttl, data = excluded.data, level = excluded.level,
         namespace = excluded.namespace, service = excluded.service, region = excluded.region, zone = excluded.zone, policy = excluded.policy`,
    ),
    deleteRecordSet: db.prepare('DELETE FROM record_sets WHERE name = ? AND type = ?'),
    appendJournal: db.prepare('INSERT INTO journal (seq, soa_serial, prev_soa, at, cause, deleted, added, epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    journalSince: db.prepare('SELECT * FROM journal WHERE seq > ? ORDER BY seq'),
    journalFromPrevSoa: db.prepare('SELECT * FROM journal WHERE seq >= (SELECT MAX(seq) FROM journal WHERE prev_soa = ?) ORDER BY seq'),
    tagJournal: db.prepare('INSERT OR IGNORE INTO journal_services (seq, namespace, service) VALUES (?, ?, ?)'),
    historyOf: db.prepare(
      `SELECT j.* FROM journal_services s JOIN journal j ON j.seq = s.seq
       WHERE s.namespace = ? AND s.service = ? ORDER BY j.seq DESC LIMIT ?`,
    ),
    firstSeq: pluck<number | null>(db, 'SELECT MIN(seq) FROM journal'),
    pruneJournal: db.prepare('DELETE FROM journal WHERE seq <= ?'),
    servedSerials: pluck<number>(db, 'SELECT serial FROM served_serials'),
    putServedSerial: db.prepare('INSERT INTO served_serials (server, serial, at) VALUES (?, ?, ?) ON CONFLICT(server) DO UPDATE SET serial = excluded.serial, at = excluded.at'),
    getLease: db.prepare('SELECT holder, epoch, expires_at, renewed_at FROM leases WHERE name = ?'),
    putLease: db.prepare(
      'INSERT INTO leases (name, holder, epoch, expires_at, renewed_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at, renewed_at = excluded.renewed_at',
    ),
    expireLease: db.prepare('UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?'),
    dataVersion: pluck<number>(db, 'PRAGMA data_version'),
  };
}

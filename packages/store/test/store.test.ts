import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RecordSet } from '@fedns/model';
import { DEFAULT_MIGRATIONS_DIR, migrate, readMigrations, SchemaTooNewError, Store } from '../src/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'fedns-store-'));

const rs = (name: string, data: string[], type: RecordSet['type'] = 'A'): RecordSet => ({
  name, type, ttl: 30, data, level: 'global', namespace: 'default', service: 'nginx',
});

test('a fresh store applies every migration and records it', () => {
  const dir = tmp();
  const store = Store.open({ dataDir: dir });
  const versions = store.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
  const files = readdirSync(DEFAULT_MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'));
  assert.equal(versions.length, files.length);
  assert.equal(store.db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
  assert.equal(store.db.prepare('PRAGMA synchronous').get()?.synchronous, 2, 'synchronous = FULL');
  assert.equal(store.db.prepare('PRAGMA foreign_keys').get()?.foreign_keys, 1);
  assert.equal(store.db.prepare('PRAGMA busy_timeout').get()?.timeout, 5000);
  store.close();
});

test('upgrading a database created by an earlier migration set', () => {
  const dir = tmp();
  const oldMigrations = join(dir, 'old-migrations');
  mkdirSync(oldMigrations);
  copyFileSync(join(DEFAULT_MIGRATIONS_DIR, '0001_init.sql'), join(oldMigrations, '0001_init.sql'));
  const data = join(dir, 'data');
  mkdirSync(data);
  // What a release with only 0001 wrote: raw SQL, so this test does not depend on today's Store code.
  const old = new DatabaseSync(join(data, 'fedns.db'));
  migrate(old, readMigrations(oldMigrations));
  old.prepare('INSERT INTO services (namespace, name, uid, resource_version, object) VALUES (?, ?, ?, ?, ?)').run('default', 'nginx', 'u1', 2, '{"kind":"Service"}');
  old.prepare("INSERT INTO meta (key, value) VALUES ('soa_serial', '7'), ('resource_version', '2'), ('journal_seq', '1')").run();
  const set = JSON.stringify([rs('a.example.com.', ['192.0.2.1'])]);
  old.prepare("INSERT INTO record_sets (name, type, ttl, data, level, namespace, service) VALUES ('a.example.com.', 'A', 30, '[\"192.0.2.1\"]', 'global', 'default', 'nginx')").run();
  old.prepare("INSERT INTO journal (seq, soa_serial, prev_soa, at, cause, deleted, added) VALUES (1, 7, 6, 'then', 'created under 0001', '[]', ?)").run(set);
  old.close();

  // The current migration set plus one more file standing for a future schema change.
  const newer = join(dir, 'new-migrations');
  mkdirSync(newer);
  for (const f of readdirSync(DEFAULT_MIGRATIONS_DIR)) copyFileSync(join(DEFAULT_MIGRATIONS_DIR, f), join(newer, f));
  const next = readdirSync(newer).filter((f) => f.endsWith('.sql')).length + 1;
  writeFileSync(join(newer, `${String(next).padStart(4, '0')}_add_note.sql`), 'ALTER TABLE services ADD COLUMN note TEXT;');
  const upgraded = Store.open({ dataDir: data, migrationsDir: newer });
  assert.equal(upgraded.getService('default', 'nginx')?.uid, 'u1');
  assert.deepEqual(upgraded.listRecordSets().map((r) => r.name), ['a.example.com.']);
  assert.equal(upgraded.soaSerial(), 7);
  assert.deepEqual(upgraded.historyOf('default', 'nginx').map((e) => e.cause), ['created under 0001'], 'journal backfilled into the history index');
  const cols = upgraded.db.prepare('PRAGMA table_info(services)').all() as { name: string }[];
  assert.ok(cols.some((c) => c.name === 'note'));
  const e = upgraded.commitRecordDiff({ upserts: [rs('a.example.com.', ['192.0.2.9'])], deletes: [] }, 'after upgrade');
  assert.equal(e?.soaSerial, 8);
  upgraded.close();
});

test('refuses a database newer than the code', () => {
  const dir = tmp();
  Store.open({ dataDir: dir }).close();
  const db = new DatabaseSync(join(dir, 'fedns.db'));
  db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, ?)').run('future', 'x');
  db.close();
  assert.throws(() => Store.open({ dataDir: dir }), SchemaTooNewError);
});

test('a failing migration leaves the database unchanged', () => {
  const dir = tmp();
  const migs = join(dir, 'm');
  mkdirSync(migs);
  copyFileSync(join(DEFAULT_MIGRATIONS_DIR, '0001_init.sql'), join(migs, '0001_init.sql'));
  writeFileSync(join(migs, '0002_broken.sql'), 'CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;');
  assert.throws(() => Store.open({ dataDir: join(dir, 'd'), migrationsDir: migs }));
  const db = new DatabaseSync(join(dir, 'd', 'fedns.db'));
  assert.equal(db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()?.v, 1);
  assert.equal(db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'half'").get()?.n, 0);
  db.close();
});

test('commits bump the serial once and journal old and new content', () => {
  const store = Store.open({ dataDir: tmp() });
  const s0 = store.soaSerial();
  const e1 = store.commitRecordDiff({ upserts: [rs('a.example.com.', ['192.0.2.1']), rs('b.example.com.', ['192.0.2.2'])], deletes: [] }, 'create');
  assert.equal(e1?.soaSerial, (s0 + 1) >>> 0);
  const e2 = store.commitRecordDiff({ upserts: [rs('a.example.com.', ['192.0.2.9'])], deletes: [rs('b.example.com.', ['192.0.2.2'])] }, 'flap');
  assert.equal(e2?.soaSerial, (s0 + 2) >>> 0);
  assert.deepEqual(e2?.deleted.map((r) => `${r.name} ${r.data}`).sort(), ['a.example.com. 192.0.2.1', 'b.example.com. 192.0.2.2']);
  assert.deepEqual(e2?.added.map((r) => `${r.name} ${r.data}`), ['a.example.com. 192.0.2.9']);
  assert.equal(store.commitRecordDiff({ upserts: [], deletes: [] }, 'noop'), undefined);
  assert.equal(store.soaSerial(), (s0 + 2) >>> 0);
  assert.deepEqual(store.changesSince(0)?.map((e) => e.seq), [1, 2]);
  assert.deepEqual(store.changesSince(1)?.map((e) => e.cause), ['flap']);
  store.pruneJournal(1);
  assert.equal(store.changesSince(0), undefined, 'a follower behind the pruned journal must reload');
  assert.deepEqual(store.changesSince(1)?.map((e) => e.seq), [2]);
  store.close();
});

test('journalFromSoa: the entries from a SOA serial to the head, for IXFR', () => {
  const store = Store.open({ dataDir: tmp() });
  const s0 = store.soaSerial();
  assert.deepEqual(store.journalFromSoa(s0), [], 'the current serial needs no entries');
  store.commitRecordDiff({ upserts: [rs('a.example.com.', ['192.0.2.1'])], deletes: [] }, 'one');
  store.commitRecordDiff({ upserts: [rs('a.example.com.', ['192.0.2.2'])], deletes: [] }, 'two');
  store.commitRecordDiff({ upserts: [], deletes: [rs('a.example.com.', ['192.0.2.2'])] }, 'three');
  assert.deepEqual(store.journalFromSoa(s0)?.map((e) => e.cause), ['one', 'two', 'three']);
  const from1 = store.journalFromSoa((s0 + 1) >>> 0);
  assert.deepEqual(from1?.map((e) => [e.prevSoaSerial, e.soaSerial]), [[(s0 + 1) >>> 0, (s0 + 2) >>> 0], [(s0 + 2) >>> 0, (s0 + 3) >>> 0]]);
  assert.deepEqual(from1?.[0]?.deleted.map((r) => r.data), [['192.0.2.1']], 'old content, so IXFR can delete it');
  assert.deepEqual(store.journalFromSoa((s0 + 3) >>> 0), []);
  assert.equal(store.journalFromSoa((s0 + 77) >>> 0), undefined, 'an unknown serial');
  store.pruneJournal(1);
  assert.equal(store.journalFromSoa(s0), undefined, 'a pruned serial');
  assert.deepEqual(store.journalFromSoa((s0 + 2) >>> 0)?.map((e) => e.cause), ['three']);
  store.close();
});

test('the serial wraps by RFC 1982', () => {
  const store = Store.open({ dataDir: tmp() });
  store.setMeta('soa_serial', String(2 ** 32 - 1));
  const e = store.commitRecordDiff({ upserts: [rs('a.example.com.', ['192.0.2.1'])], deletes: [] }, 'wrap');
  assert.equal(e?.soaSerial, 0);
  store.close();
});

test('a failed transaction changes nothing', () => {
  const store = Store.open({ dataDir: tmp() });
  const before = store.soaSerial();
  assert.throws(() =>
    store.commitRecordDiff({ upserts: [rs('a.example.com.', ['192.0.2.1'])], deletes: [] }, 'x', () => {
      throw new Error('boom');
    }),
  );
  assert.equal(store.soaSerial(), before);
  assert.deepEqual(store.listRecordSets(), []);
  store.close();
});

test('cluster credentials are encrypted at rest', () => {
  const dir = tmp();
  const store = Store.open({ dataDir: dir });
  store.putCluster({ name: 'c1', uid: 'u', resourceVersion: 1, object: {} });
  store.setClusterCredentials('c1', 'token: very-secret-token');
  assert.equal(store.clusterCredentials('c1'), 'token: very-secret-token');
  store.close();
  assert.ok(!readFileSync(join(dir, 'fedns.db')).includes('very-secret-token'));
  const reopened = Store.open({ dataDir: dir });
  assert.equal(reopened.clusterCredentials('c1'), 'token: very-secret-token');
  reopened.close();
});

test('another connection sees commits through data_version', () => {
  const dir = tmp();
  const writer = Store.open({ dataDir: dir });
  const reader = Store.open({ dataDir: dir, readonly: true });
  const v0 = reader.dataVersion();
  writer.commitRecordDiff({ upserts: [rs('a.example.com.', ['192.0.2.1'])], deletes: [] }, 'x');
  assert.notEqual(reader.dataVersion(), v0);
  assert.equal(reader.zoneSnapshot().recordSets.length, 1);
  writer.close();
  reader.close();
});

test('history lists the commits that touched one service, newest first', () => {
  const store = Store.open({ dataDir: tmp() });
  const other = { ...rs('b.example.com.', ['192.0.2.2']), service: 'other' };
  store.commitRecordDiff({ upserts: [rs('a.example.com.', ['192.0.2.1'])], deletes: [] }, 'nginx created');
  store.commitRecordDiff({ upserts: [other], deletes: [] }, 'other created');
  store.commitRecordDiff({ upserts: [], deletes: [rs('a.example.com.', ['192.0.2.1'])] }, 'nginx deleted');
  assert.deepEqual(store.historyOf('default', 'nginx').map((e) => e.cause), ['nginx deleted', 'nginx created']);
  assert.deepEqual(store.historyOf('default', 'other').map((e) => e.cause), ['other created']);
  store.pruneJournal(1);
  assert.deepEqual(store.historyOf('default', 'nginx').map((e) => e.cause), ['nginx deleted']);
  store.close();
});

test('nested transactions are savepoints: an inner failure undoes only its own writes', () => {
  const store = Store.open({ dataDir: tmp() });
  store.tx(() => {
    store.setMeta('outer', 'before');
    assert.throws(() =>
      store.tx(() => {
        store.setMeta('inner', 'x');
        store.setMeta('outer', 'clobbered');
        throw new Error('inner fails');
      }),
    );
    assert.equal(store.meta('inner'), undefined, 'the inner writes are gone at once');
    assert.equal(store.meta('outer'), 'before');
    store.tx(() => store.setMeta('second', 'kept'));
    store.setMeta('after', 'y');
  });
  assert.deepEqual([store.meta('outer'), store.meta('inner'), store.meta('second'), store.meta('after')], ['before', undefined, 'kept', 'y']);

  // An outer failure undoes everything, released savepoints included.
  assert.throws(() =>
    store.tx(() => {
      store.tx(() => store.setMeta('inner2', 'x'));
      store.setMeta('outer2', 'x');
      throw new Error('outer fails');
    }),
  );
  assert.equal(store.meta('inner2'), undefined);
  assert.equal(store.meta('outer2'), undefined);
  assert.equal(store.db.isTransaction, false);
  store.close();
});

test('a transaction function must be synchronous', () => {
  const store = Store.open({ dataDir: tmp() });
  assert.throws(
    () =>
      store.tx(async () => {
        store.setMeta('k', 'v');
      }),
    /synchronous/,
  );
  assert.equal(store.meta('k'), undefined, 'rolled back');
  assert.equal(store.db.isTransaction, false);
  store.close();
});

test('a read-only store never creates a database', () => {
  const dir = tmp();
  assert.throws(() => Store.open({ dataDir: dir, readonly: true }), /does not exist/);
  assert.deepEqual(readdirSync(dir), []);
});

test('two processes writing one file: read-then-write transactions neither fail nor lose updates', async () => {
  // A deferred transaction that reads and then writes fails with SQLITE_BUSY_SNAPSHOT when the
  // other process commits in between; the store's write transactions take the lock first instead.
  const dir = tmp();
  const store = Store.open({ dataDir: dir });
  const rv0 = store.currentResourceVersion();
  const n = 300;
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./rv-writer.ts', import.meta.url)), dir, String(n)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    seen.add(store.nextResourceVersion());
    if (i % 20 === 0) await new Promise((r) => setImmediate(r)); // let the other writer in between
  }
  assert.equal(await exited, 0, stderr);
  assert.equal(seen.size, n, 'every resourceVersion handed out once');
  assert.equal(store.currentResourceVersion(), rv0 + 2 * n, 'no update lost');
  store.close();
});

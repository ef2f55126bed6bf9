/**
 * What only the SQLite engine does: the file (pragmas, migrations, upgrades,
 * refusal of a newer schema), its transactions (savepoints, synchronous only),
 * two processes on one file. Everything the interface promises is in the
 * conformance suite, run on SQLite at the end of this file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RecordSet } from '@fedns/model';
import { migrate, openStore, readMigrations, SchemaTooNewError, SQLITE_MIGRATIONS_DIR, SqliteStore } from '../src/index.js';
import { transaction } from '../src/sqlite/tx.js';
import { storeConformance } from './conformance.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'fedns-store-'));
const open = (dir: string, extra: { migrationsDir?: string; readonly?: boolean } = {}) => SqliteStore.open({ path: join(dir, 'fedns.db'), ...extra });

const rs = (name: string, data: string[], type: RecordSet['type'] = 'A'): RecordSet => ({
  name, type, ttl: 30, data, level: 'global', namespace: 'default', service: 'nginx',
});

test('a fresh store applies every migration, in WAL with synchronous=FULL', async () => {
  const dir = tmp();
  const store = open(dir);
  assert.deepEqual(store.settings(), { journalMode: 'wal', synchronous: 2, foreignKeys: 1, busyTimeoutMs: 5000 });
  await store.close();
  const db = new DatabaseSync(join(dir, 'fedns.db'));
  const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
  const files = readdirSync(SQLITE_MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'));
  assert.equal(versions.length, files.length);
  db.close();
});

test('the object log: every write with its actor, in resourceVersion order; pruned, then compacted for readers behind', async () => {
  const store = SqliteStore.open({ path: join(tmp(), 'fedns.db'), objectLogSize: 20 });
  const a = await store.createObject({ kind: 'services', namespace: 'prod', name: 'web', uid: 'u1', object: { spec: { x: 1 } }, actor: 'alice' });
  const b = await store.updateObject({ kind: 'services', namespace: 'prod', name: 'web', uid: 'u1', object: { status: { y: 2 } } }, a.resourceVersion);
  const c = await store.deleteObject('services', 'prod', 'web', { actor: 'bob' });
  assert.ok(c && c.resourceVersion > b.resourceVersion, 'a deletion gets a resourceVersion of its own');
  const h = await store.objectHistory('services', 'prod', 'web');
  assert.deepEqual(h.map((x) => [x.rv, x.type, x.actor]), [[c?.resourceVersion, 'DELETED', 'bob'], [b.resourceVersion, 'MODIFIED', 'system:fedns'], [a.resourceVersion, 'ADDED', 'alice']]);
  assert.deepEqual(h[0]?.object, { status: { y: 2 } }, 'DELETED keeps the object as it was');
  assert.equal(await store.deleteObject('services', 'prod', 'web'), undefined, 'deleting what is not there records nothing');
  await store.createObject({ kind: 'clusters', namespace: '', name: 'c1', uid: 'c', object: {}, credentials: 'token: secret' });
  assert.ok(!JSON.stringify(await store.objectHistory('clusters', '', 'c1')).includes('secret'), 'credentials are never logged');
  const since = await store.objectChangesSince(0);
  assert.ok(Array.isArray(since) && since.length === 4);
  for (let i = 0; i < 60; i++) await store.createObject({ kind: 'namespaces', namespace: '', name: `n${i}`, uid: `n${i}`, object: {} });
  assert.equal(await store.objectChangesSince(0), 'compacted', 'a reader behind the pruned log must relist');
  const head = await store.revision();
  const recent = await store.objectChangesSince(head - 5);
  assert.deepEqual(Array.isArray(recent) && recent.map((x) => x.rv), [head - 4, head - 3, head - 2, head - 1, head]);
  await store.close();
});

test('upgrading a database created by an earlier migration set', async () => {
  const dir = tmp();
  const oldMigrations = join(dir, 'old-migrations');
  mkdirSync(oldMigrations);
  copyFileSync(join(SQLITE_MIGRATIONS_DIR, '0001_init.sql'), join(oldMigrations, '0001_init.sql'));
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
  for (const f of readdirSync(SQLITE_MIGRATIONS_DIR)) copyFileSync(join(SQLITE_MIGRATIONS_DIR, f), join(newer, f));
  const next = readdirSync(newer).filter((f) => f.endsWith('.sql')).length + 1;
  writeFileSync(join(newer, `${String(next).padStart(4, '0')}_add_note.sql`), 'ALTER TABLE services ADD COLUMN note TEXT;');
  const upgraded = open(data, { migrationsDir: newer });
  assert.equal((await upgraded.getObject('services', 'default', 'nginx'))?.uid, 'u1');
  assert.deepEqual((await upgraded.listRecordSets()).map((r) => r.name), ['a.example.com.']);
  assert.equal((await upgraded.zoneSnapshot()).soaSerial, 7);
  assert.deepEqual((await upgraded.historyOf('default', 'nginx')).map((e) => e.cause), ['created under 0001'], 'journal backfilled into the history index');
  assert.ok(upgraded.installationId, 'an installation id is made for an installation that had none');
  const e = await upgraded.commitZone({ upserts: [rs('a.example.com.', ['192.0.2.9'])], deletes: [] }, 'after upgrade');
  assert.equal(e?.soaSerial, 8);
  await upgraded.close();
  const db = new DatabaseSync(join(data, 'fedns.db'));
  assert.ok((db.prepare('PRAGMA table_info(services)').all() as { name: string }[]).some((c) => c.name === 'note'));
  db.close();
});

test('refuses a database newer than the code', async () => {
  const dir = tmp();
  await open(dir).close();
  const db = new DatabaseSync(join(dir, 'fedns.db'));
  db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, ?)').run('future', 'x');
  db.close();
  assert.throws(() => open(dir), SchemaTooNewError);
});

test('a failing migration leaves the database unchanged', () => {
  const dir = tmp();
  const migs = join(dir, 'm');
  mkdirSync(migs);
  copyFileSync(join(SQLITE_MIGRATIONS_DIR, '0001_init.sql'), join(migs, '0001_init.sql'));
  writeFileSync(join(migs, '0002_broken.sql'), 'CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;');
  assert.throws(() => open(join(dir, 'd'), { migrationsDir: migs }));
  const db = new DatabaseSync(join(dir, 'd', 'fedns.db'));
  assert.equal(db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()?.v, 1);
  assert.equal(db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'half'").get()?.n, 0);
  db.close();
});

test('cluster credentials are encrypted at rest', async () => {
  const dir = tmp();
  const store = open(dir);
  await store.createObject({ kind: 'clusters', namespace: '', name: 'c1', uid: 'u', object: {}, credentials: 'token: very-secret-token' });
  assert.equal(await store.clusterCredentials('c1'), 'token: very-secret-token');
  await store.close();
  assert.ok(!readFileSync(join(dir, 'fedns.db')).includes('very-secret-token'));
  const reopened = open(dir);
  assert.equal(await reopened.clusterCredentials('c1'), 'token: very-secret-token');
  await reopened.close();
});

test('nested transactions are savepoints: an inner failure undoes only its own writes', () => {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)');
  const set = (k: string, v: string) => db.prepare('INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v').run(k, v);
  const get = (k: string) => (db.prepare('SELECT v FROM kv WHERE k = ?').get(k) as { v: string } | undefined)?.v;
  transaction(db, () => {
    set('outer', 'before');
    assert.throws(() =>
      transaction(db, () => {
        set('inner', 'x');
        set('outer', 'clobbered');
        throw new Error('inner fails');
      }),
    );
    assert.equal(get('inner'), undefined, 'the inner writes are gone at once');
    assert.equal(get('outer'), 'before');
    transaction(db, () => set('second', 'kept'));
    set('after', 'y');
  });
  assert.deepEqual([get('outer'), get('inner'), get('second'), get('after')], ['before', undefined, 'kept', 'y']);
  // An outer failure undoes everything, released savepoints included.
  assert.throws(() =>
    transaction(db, () => {
      transaction(db, () => set('inner2', 'x'));
      set('outer2', 'x');
      throw new Error('outer fails');
    }),
  );
  assert.equal(get('inner2'), undefined);
  assert.equal(get('outer2'), undefined);
  assert.equal(db.isTransaction, false);
  // A transaction function must be synchronous.
  assert.throws(() => transaction(db, async () => set('k', 'v')), /synchronous/);
  assert.equal(get('k'), undefined, 'rolled back');
  db.close();
});

test('a read-only store never creates a database', async () => {
  const dir = tmp();
  await assert.rejects(openStore({ url: `sqlite:${join(dir, 'fedns.db')}`, readonly: true }), /does not exist/);
  assert.deepEqual(readdirSync(dir), []);
});

test('two processes writing one file: compare-and-swap writes neither fail nor lose updates', async () => {
  // A deferred transaction that reads and then writes fails with SQLITE_BUSY_SNAPSHOT when the
  // other process commits in between; the store's write transactions take the lock first instead.
  const dir = tmp();
  const store = open(dir);
  const rv0 = await store.revision();
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
    seen.add((await store.createObject({ kind: 'namespaces', namespace: '', name: `parent-${i}`, uid: `p${i}`, object: {} })).resourceVersion);
    if (i % 20 === 0) await new Promise((r) => setImmediate(r)); // let the other writer in between
  }
  assert.equal(await exited, 0, stderr);
  assert.equal(seen.size, n, 'every resourceVersion handed out once');
  assert.equal(await store.revision(), rv0 + 2 * n, 'no update lost');
  await store.close();
});

// Everything the interface promises, on SQLite: one writer by construction, so fences are not checked.
const conformanceDir = tmp();
storeConformance('sqlite', async () => SqliteStore.open({ path: join(conformanceDir, 'fedns.db'), objectLogSize: 200 }), {
  fencing: false,
  leases: true,
  objectLogSize: 200,
  rawContents: async () => Buffer.concat(readdirSync(conformanceDir).filter((f) => f.startsWith('fedns.db')).map((f) => readFileSync(join(conformanceDir, f)))),
});

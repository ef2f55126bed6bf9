/**
 * The PostgreSQL engine on a throwaway PostgreSQL 15: the conformance suite,
 * then what only this engine has (migrations under an advisory lock, session
 * settings, password handling, the credentials key check, LISTEN/polling).
 */
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { openStore, SchemaTooNewError } from '../src/index.js';
import { POSTGRES_MIGRATIONS_DIR, PostgresStore, type PostgresStoreOptions } from '../src/postgres/index.js';
import { checkFence } from '../src/postgres/tx.js';
import type { JournalEntry, LeaseRecord, StoreChange } from '../src/types.js';
import type { RecordSet } from '@fedns/model';
import { storeConformance } from './conformance.js';
import { sleep, waitFor } from './conformance/helpers.js';
import { type PgHarness, startPostgres } from './pg-harness.js';
import { pgTool } from './pg/server.js';

let pgh: PgHarness;
const dir = mkdtempSync(join(tmpdir(), 'fedns-pgstore-'));
const keyFile = join(dir, 'secret.key');
let databases = 0;
const base = (url: string, extra: Partial<PostgresStoreOptions> = {}): PostgresStoreOptions => ({ url, passwordFile: pgh.passwordFile, keyFile, createKeyFile: true, ...extra });
const freshDatabase = () => pgh.createDatabase(`t${++databases}`);

before(async () => {
  pgh = await startPostgres();
});
after(async () => {
  await pgh?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** pg_dump of a database, with every bytea value also decoded, so a secret stored in clear as bytes would show. */
async function dump(database: string): Promise<Buffer> {
  const text = await pgTool('pg_dump', ['-h', pgh.primary.socketDir, '-p', String(pgh.primary.port), '-U', 'postgres', '--data-only', database]);
  const decoded = [...text.matchAll(/\\\\x([0-9a-f]+)/g)].map((m) => Buffer.from(m[1] ?? '', 'hex'));
  return Buffer.concat([Buffer.from(text), ...decoded]);
}

let conformanceUrl = '';
describe('postgres', () => {
  before(async () => {
    conformanceUrl = await pgh.createDatabase('conformance');
  });
  storeConformance('postgres', () => PostgresStore.open(base(conformanceUrl, { objectLogSize: 200 })), {
    fencing: true,
    leases: true,
    objectLogSize: 200,
    rawContents: () => dump('conformance'),
  });
});

describe('postgres engine', () => {
  test('migrations: several processes opening a fresh database at once apply the schema once', async () => {
    const url = await freshDatabase();
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresStore.open(base(url))));
    try {
      assert.equal(new Set(stores.map((s) => s.installationId)).size, 1);
      const rows = await pgh.primary.query('SELECT version FROM schema_migrations', [], url.split('/').pop());
      assert.equal(rows.length, readdirSync(POSTGRES_MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).length, 'each migration once');
      assert.ok(stores.every((s) => s.needsLeaderElection && s.engine === 'postgres'));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('migrations: a database newer than the code is refused, read-only too', async () => {
    const url = await freshDatabase();
    await (await PostgresStore.open(base(url))).close();
    await pgh.primary.query("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')", [], url.split('/').pop());
    await assert.rejects(PostgresStore.open(base(url)), SchemaTooNewError);
    await assert.rejects(PostgresStore.open(base(url, { readonly: true })), SchemaTooNewError);
  });

  test('migrations: a failing one leaves the database unchanged; a later one upgrades and keeps the data', async () => {
    const migs = join(dir, 'migs');
    mkdirSync(migs, { recursive: true });
    copyFileSync(join(POSTGRES_MIGRATIONS_DIR, '0001_init.sql'), join(migs, '0001_init.sql'));
    writeFileSync(join(migs, '0002_broken.sql'), 'CREATE TABLE half (x integer); SELECT * FROM no_such_table;');
    const url = await freshDatabase();
    const db = url.split('/').pop();
    await assert.rejects(PostgresStore.open(base(url, { migrationsDir: migs })), /no_such_table/);
    const [gone] = await pgh.primary.query("SELECT to_regclass('half') AS half, to_regclass('objects') AS objects", [], db);
    assert.deepEqual(gone, { half: null, objects: null });

    rmSync(join(migs, '0002_broken.sql'));
    const s1 = await PostgresStore.open(base(url, { migrationsDir: migs }));
    const o = await s1.createObject({ kind: 'services', namespace: 'default', name: 'web', uid: 'u1', object: { v: 1 } });
    await s1.close();
    writeFileSync(join(migs, '0002_add_note.sql'), 'ALTER TABLE objects ADD COLUMN note text;');
    const s2 = await PostgresStore.open(base(url, { migrationsDir: migs }));
    try {
      assert.deepEqual(await s2.getObject('services', 'default', 'web'), o);
      const cols = await pgh.primary.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'objects' AND column_name = 'note'", [], db);
      assert.equal(cols.length, 1);
    } finally {
      await s2.close();
    }
  });

  test('session settings: defaults, overrides, and a read-only follower that cannot write', async () => {
    const url = await freshDatabase();
    const s = await PostgresStore.open(base(url));
    const custom = await PostgresStore.open(base(url, { lockTimeoutMs: 1234, statementTimeoutMs: 5678, idleInTransactionTimeoutMs: 910 }));
    const follower = await PostgresStore.open(base(url, { readonly: true }));
    try {
      const d = await s.sessionSettings();
      assert.deepEqual([d.lock_timeout, d.statement_timeout, d.idle_in_transaction_session_timeout, d.default_transaction_read_only, d.TimeZone], ['5000', '60000', '5000', 'off', 'UTC']);
      const c = await custom.sessionSettings();
      assert.deepEqual([c.lock_timeout, c.statement_timeout, c.idle_in_transaction_session_timeout], ['1234', '5678', '910']);
      assert.equal((await follower.sessionSettings()).default_transaction_read_only, 'on');
      await s.createObject({ kind: 'services', namespace: 'default', name: 'web', uid: 'u1', object: {} });
      assert.equal((await follower.getObject('services', 'default', 'web'))?.uid, 'u1');
      await assert.rejects(follower.createObject({ kind: 'services', namespace: 'default', name: 'x', uid: 'u2', object: {} }), { code: '25006' });
      await assert.rejects(follower.acquireLease('l', 'f', 1000), { code: '25006' });
      assert.equal(follower.installationId, s.installationId);
    } finally {
      await Promise.all([s.close(), custom.close(), follower.close()]);
    }
  });

  test('password: from a file or PGPASSWORD, never needed in the URL; location never shows one', async () => {
    const url = await freshDatabase();
    await (await PostgresStore.open(base(url))).close();
    await assert.rejects(PostgresStore.open({ url }), /password/i);
    const saved = process.env.PGPASSWORD;
    process.env.PGPASSWORD = pgh.password;
    try {
      const s = await PostgresStore.open({ url });
      assert.equal(s.location, url);
      await s.close();
    } finally {
      if (saved === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = saved;
    }
    const withPassword = url.replace('postgres@', `postgres:${encodeURIComponent(pgh.password)}@`);
    const s = await PostgresStore.open({ url: withPassword });
    try {
      assert.ok(!s.location.includes(pgh.password), s.location);
    } finally {
      await s.close();
    }
  });

  test('credentials key: a key file that does not belong to the database is refused', async () => {
    const url = await freshDatabase();
    await (await PostgresStore.open(base(url))).close();
    await assert.rejects(PostgresStore.open(base(url, { keyFile: join(dir, 'other.key') })), /does not belong/);
    const noKey = await PostgresStore.open({ url, passwordFile: pgh.passwordFile });
    try {
      await assert.rejects(noKey.createObject({ kind: 'clusters', namespace: '', name: 'c', uid: 'u', object: {}, credentials: 'x' }), /keyFile/);
    } finally {
      await noKey.close();
    }
  });

  test('change feed: polling alone delivers when LISTEN is off', async () => {
    const url = await freshDatabase();
    const writer = await PostgresStore.open(base(url));
    const poller = await PostgresStore.open(base(url, { listen: false, pollIntervalMs: 100 }));
    const seen: StoreChange[] = [];
    const stop = poller.watch((c) => seen.push(c));
    try {
      await sleep(300);
      assert.equal(poller.feedListening, false);
      const e = await writer.commitZone({ upserts: [{ name: 'a.example.com.', type: 'A', ttl: 30, data: ['192.0.2.1'], level: 'global', namespace: 'n', service: 's' }], deletes: [] }, 'poll');
      await waitFor(() => seen.some((c) => c.what === 'zone' && c.seq >= (e?.seq ?? 1)), 1000, 'polled zone change');
    } finally {
      stop();
      await Promise.all([writer.close(), poller.close()]);
    }
  });

  test('change feed: the LISTEN connection comes back after the server kills it, and nothing is missed', async () => {
    const url = await freshDatabase();
    const writer = await PostgresStore.open(base(url));
    const watcher = await PostgresStore.open(base(url, { applicationName: 'fedns-feedtest' }));
    const seen: StoreChange[] = [];
    const stop = watcher.watch((c) => seen.push(c));
    try {
      await waitFor(() => watcher.feedListening, 3000, 'LISTEN up');
      await pgh.primary.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fedns-feedtest-listen'");
      await waitFor(() => !watcher.feedListening, 3000, 'LISTEN noticed down');
      const o = await writer.createObject({ kind: 'services', namespace: 'default', name: 'web', uid: 'u1', object: {} });
      await waitFor(() => seen.some((c) => c.what === 'objects' && c.rv >= o.resourceVersion), 3000, 'change while LISTEN was down');
      await waitFor(() => watcher.feedListening, 5000, 'LISTEN back');
      const p = await writer.createObject({ kind: 'services', namespace: 'default', name: 'api', uid: 'u2', object: {} });
      await waitFor(() => seen.some((c) => c.what === 'objects' && c.rv >= p.resourceVersion), 1000, 'change after LISTEN came back');
    } finally {
      stop();
      await Promise.all([writer.close(), watcher.close()]);
    }
  });

  /** A commit of A's in flight on a connection of its own: A holds the lease (`ttlMs`), its fence is checked, nothing committed yet. */
  async function commitInFlight(url: string, s: PostgresStore, ttlMs: number): Promise<{ raw: pg.Client; lease: LeaseRecord }> {
    const raw = new pg.Client({ host: '127.0.0.1', port: pgh.primary.port, user: 'postgres', password: pgh.password, database: url.split('/').pop() });
    await raw.connect();
    try {
      const lease = await s.acquireLease('leader', 'A', ttlMs);
      assert.ok(lease);
      await raw.query('BEGIN');
      await checkFence(raw as unknown as pg.PoolClient, { lease: 'leader', holder: 'A', epoch: lease.epoch });
      return { raw, lease };
    } catch (err) {
      await raw.end();
      throw err;
    }
  }

  test('fencing: a takeover waits for a fenced commit in flight; the holder renews meanwhile', async () => {
    const url = await freshDatabase();
    const s = await PostgresStore.open(base(url));
    const { raw, lease: l } = await commitInFlight(url, s, 400);
    try {
      const t0 = Date.now();
      const renewed = await s.acquireLease('leader', 'A', 400, l.epoch);
      assert.equal(renewed?.epoch, l.epoch);
      assert.ok(Date.now() - t0 < 300, "the holder's renewal does not wait for its own commit");
      await sleep(600);
      let done = false;
      const takeover = s.acquireLease('leader', 'B', 10_000).finally(() => {
        done = true;
      });
      await sleep(400);
      assert.equal(done, false, "the takeover waits for the old epoch's commit");
      await raw.query('COMMIT');
      const t = await takeover;
      assert.ok(t && t.holder === 'B' && t.epoch === l.epoch + 1);
    } finally {
      await raw.end();
      await s.close();
    }
  });

  test('fencing: two candidates that waited behind the old epoch\'s commit: one takes the lease, for a full term', async () => {
    const url = await freshDatabase();
    const [s, b, c] = [await PostgresStore.open(base(url)), await PostgresStore.open(base(url)), await PostgresStore.open(base(url))];
    const { raw, lease: l } = await commitInFlight(url, s, 200);
    try {
      await sleep(300);
      // B asks first, C a lease term later; both wait for A's commit.
      const first = b.acquireLease('leader', 'B', 1000);
      await sleep(1200);
      const second = c.acquireLease('leader', 'C', 1000);
      await sleep(300);
      await raw.query('COMMIT');
      const got = (await Promise.all([first, second])).filter((x) => x !== undefined);
      assert.equal(got.length, 1, `one winner, not ${JSON.stringify(got)}`);
      const winner = got[0] as NonNullable<(typeof got)[number]>;
      assert.equal(winner.epoch, l.epoch + 1);
      // Its term starts when it is granted, not when it was asked for (which was over a term ago).
      assert.ok(Date.parse(winner.expiresAt) - Date.now() > 500, `expires ${winner.expiresAt}, now ${new Date().toISOString()}`);
      assert.equal((await s.readLease('leader'))?.holder, winner.holder);
    } finally {
      await raw.end();
      await Promise.all([s.close(), b.close(), c.close()]);
    }
  });

  test('fencing: a takeover that waits longer than lock_timeout answers "not acquired"', async () => {
    const url = await freshDatabase();
    const s = await PostgresStore.open(base(url, { lockTimeoutMs: 300 }));
    const { raw, lease: l } = await commitInFlight(url, s, 200);
    try {
      await sleep(400);
      assert.equal(await s.acquireLease('leader', 'B', 10_000), undefined);
      await raw.query('COMMIT');
      assert.equal((await s.acquireLease('leader', 'B', 10_000))?.epoch, l.epoch + 1);
    } finally {
      await raw.end();
      await s.close();
    }
  });

  test('load: a whole installation into an empty database, zone and journal carried over', async () => {
    const s = await PostgresStore.open(base(await freshDatabase()));
    try {
      const set = (name: string, ip: string): RecordSet => ({ name, type: 'A', ttl: 30, data: [ip], level: 'global', namespace: 'prod', service: 'web' });
      const e5: JournalEntry = { seq: 5, soaSerial: 4294967295, prevSoaSerial: 4294967294, at: '2026-01-01T00:00:00.000Z', cause: 'five', deleted: [], added: [set('a.example.com.', '192.0.2.1')] };
      const e6: JournalEntry = { seq: 6, soaSerial: 0, prevSoaSerial: 4294967295, at: '2026-01-01T00:00:01.000Z', cause: 'six', deleted: [set('a.example.com.', '192.0.2.1')], added: [set('a.example.com.', '192.0.2.2')] };
      await s.load({ zone: { soaSerial: 0, seq: 6, recordSets: [set('a.example.com.', '192.0.2.2'), set('b.example.com.', '192.0.2.3')], journal: [e5, e6] } });
      const snap = await s.zoneSnapshot();
      assert.deepEqual([snap.soaSerial, snap.seq, snap.recordSets.map((r) => r.data[0])], [0, 6, ['192.0.2.2', '192.0.2.3']]);
      assert.deepEqual(await s.zoneChangesSince(4), [e5, e6]);
      assert.deepEqual(await s.journalFromSoa(4294967294), [e5, e6]);
      assert.deepEqual((await s.historyOf('prod', 'web')).map((e) => e.seq), [6, 5]);
      const e7 = await s.commitZone({ upserts: [set('b.example.com.', '192.0.2.4')], deletes: [] }, 'seven');
      assert.deepEqual([e7?.seq, e7?.soaSerial, e7?.prevSoaSerial], [7, 1, 0]);
    } finally {
      await s.close();
    }
  });

  test('openStore: a postgres:// URL opens this engine, the key in the data dir', async () => {
    const url = await freshDatabase();
    const dataDir = join(dir, 'data-open');
    const s = await openStore({ url, dataDir, passwordFile: pgh.passwordFile });
    try {
      assert.equal(s.engine, 'postgres');
      assert.ok(existsSync(join(dataDir, 'secret.key')), 'a writer creates the credentials key in the data dir');
      await s.createObject({ kind: 'clusters', namespace: '', name: 'm', uid: 'u', object: {}, credentials: 'k' });
    } finally {
      await s.close();
    }
    const follower = await openStore({ url: url.replace('postgres://', 'postgresql://'), readonly: true, passwordFile: pgh.passwordFile });
    try {
      assert.equal((await follower.listObjects('clusters')).items.length, 1);
    } finally {
      await follower.close();
    }
  });

  test('replication status: a lone server is not synchronous', async () => {
    const s = await PostgresStore.open(base(await freshDatabase()));
    try {
      const r = await s.replicationStatus();
      assert.deepEqual([r.synchronous, r.synchronousStandbyNames, r.inRecovery, r.syncStandbys], [false, '', false, 0]);
    } finally {
      await s.close();
    }
  });
});

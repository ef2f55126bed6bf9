/**
 * The PostgreSQL engine on a replicated PostgreSQL 15 (the harness's primary
 * and two streaming standbys, synchronous ANY 1, a proxy standing for the
 * HA endpoint): synchronous replication is reported, a read-only follower on
 * a standby polls, and after kill -9 of the primary and promotion of the most
 * advanced standby no acknowledged write is lost and writes resume.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RecordSet } from '@fedns/model';
import { PostgresStore, type PostgresStoreOptions } from '../src/postgres/index.js';
import type { StoreChange } from '../src/types.js';
import { sleep, waitFor } from './conformance/helpers.js';
import { type PgCluster, startReplicated } from './pg-harness.js';

let cluster: PgCluster;
const dir = mkdtempSync(join(tmpdir(), 'fedns-pgha-'));
const opts = (url: string, extra: Partial<PostgresStoreOptions> = {}): PostgresStoreOptions => ({
  url,
  passwordFile: cluster.passwordFile,
  keyFile: join(dir, 'secret.key'),
  createKeyFile: true,
  connectTimeoutMs: 2000,
  ...extra,
});
const rs = (i: number): RecordSet => ({ name: `s${i}.example.com.`, type: 'A', ttl: 30, data: [`192.0.2.${i % 250}`], level: 'global', namespace: 'ha', service: `s${i}` });

before(async () => {
  cluster = await startReplicated();
});
after(async () => {
  await cluster?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test('synchronous replication is reported', async () => {
  const s = await PostgresStore.open(opts(cluster.url()));
  try {
    const r = await s.replicationStatus();
    assert.deepEqual([r.synchronous, r.synchronousStandbyNames, r.synchronousCommit, r.inRecovery, r.syncStandbys], [true, 'ANY 1 (s1, s2)', 'on', false, 2]);
  } finally {
    await s.close();
  }
});

test('a read-only follower on a hot standby reads and follows by polling', async () => {
  const writer = await PostgresStore.open(opts(cluster.url()));
  const standby = cluster.standbys[0];
  assert.ok(standby);
  const follower = await PostgresStore.open(opts(standby.url(), { readonly: true, pollIntervalMs: 200 }));
  const seen: StoreChange[] = [];
  const stop = follower.watch((c) => seen.push(c));
  try {
    const e = await writer.commitZone({ upserts: [rs(1)], deletes: [] }, 'to the standby');
    assert.ok(e);
    await waitFor(() => seen.some((c) => c.what === 'zone' && c.seq >= e.seq), 3000, 'the standby follower sees the commit');
    assert.equal(follower.feedListening, false, 'a hot standby refuses LISTEN: it polls');
    assert.deepEqual((await follower.zoneSnapshot()).seq, e.seq);
    assert.equal((await follower.replicationStatus()).inRecovery, true);
    await assert.rejects(follower.commitZone({ upserts: [rs(2)], deletes: [] }, 'refused'), { code: '25006' });
  } finally {
    stop();
    await Promise.all([writer.close(), follower.close()]);
  }
});

test('kill -9 of the primary, promotion of the most advanced standby: nothing acknowledged is lost, writes resume', async () => {
  const store = await PostgresStore.open(opts(cluster.url()));
  try {
    const acked: number[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < 20; i++) {
      acked.push((await store.createObject({ kind: 'services', namespace: 'ha', name: `s${i}`, uid: `u${i}`, object: { i } })).resourceVersion);
      const e = await store.commitZone({ upserts: [rs(100 + i)], deletes: [] }, `commit ${i}`);
      assert.ok(e);
      seqs.push(e.seq);
    }
    const old = cluster.primary;
    await old.kill();
    const t0 = Date.now();
    await cluster.promote(await cluster.mostAdvancedStandby());
    // The same URL (the proxy moved): writes resume once the pool reconnects.
    let resumed: number | undefined;
    while (resumed === undefined) {
      try {
        resumed = (await store.createObject({ kind: 'services', namespace: 'ha', name: 'after', uid: 'u-after', object: {} })).resourceVersion;
      } catch {
        assert.ok(Date.now() - t0 < 30_000, 'writes resume within 30 s');
        await sleep(100);
      }
    }
    console.log(`# failover: writes resumed ${Date.now() - t0} ms after kill -9 (promotion included)`);
    assert.ok(resumed > Math.max(...acked), 'no resourceVersion reused');
    const log = await store.objectChangesSince(acked[0]! - 1);
    assert.ok(Array.isArray(log));
    assert.deepEqual(log.map((c) => c.rv).slice(0, acked.length), acked, 'every acknowledged object write survived');
    const journal = await store.zoneChangesSince(seqs[0]! - 1);
    assert.deepEqual(journal?.map((e) => e.seq), seqs, 'every acknowledged zone commit survived');
    await cluster.waitForStandbys();
    const e = await store.commitZone({ upserts: [rs(999)], deletes: [] }, 'after failover');
    assert.equal(e?.seq, seqs.at(-1)! + 1, 'the journal goes on without a gap');
    const back = await cluster.reclone(old);
    await cluster.waitForStandbys();
    assert.ok(back.running() && cluster.standbys.length === 2);
    assert.equal((await store.replicationStatus()).syncStandbys, 2);
  } finally {
    await store.close();
  }
});

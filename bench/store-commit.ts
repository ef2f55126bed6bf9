/**
 * Store commit benchmark on PostgreSQL (issue 11 targets): a full zone build of
 * 10,000 services × 18 record sets (≈ 180,000 RRsets: the global name, 5
 * regions and 12 zones of 13 clusters) committed as one transaction, then a
 * one-service diff (a shard flap: its 18 RRsets rewritten) committed many
 * times, fenced by a lease as a leader's would be. Starts its own throwaway
 * PostgreSQL 15 (the test harness) and stops it.
 *   scripts/pnpm exec tsx bench/store-commit.ts [services] [flaps]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordSet } from '@fedns/model';
import { PostgresStore } from '../packages/store/src/postgres/index.js';
import { startPostgres } from '../packages/store/test/pg-harness.js';

const services = Number(process.argv[2] ?? 10_000);
const flaps = Number(process.argv[3] ?? 200);
const regions = ['us-east1', 'us-central1', 'europe-west1', 'asia-east1', 'australia-southeast1'];
const zones = regions.flatMap((r, i) => ['a', 'b', 'c'].slice(0, i < 2 ? 3 : 2).map((z) => ({ region: r, zone: `${r}-${z}` })));

function recordSets(i: number, generation: number): RecordSet[] {
  const p = `svc-${i}.default.myfederation.svc`;
  const ip = (k: number) => `10.${(i >> 8) & 255}.${i & 255}.${(k + generation) % 250}`;
  const base = { ttl: 30, namespace: 'default', service: `svc-${i}` };
  return [
    { ...base, name: `${p}.example.com.`, type: 'A', level: 'global', data: [ip(1), ip(2), ip(3)] },
    ...regions.map((region, k): RecordSet => ({ ...base, name: `${p}.${region}.example.com.`, type: 'A', level: 'region', region, data: [ip(k)] })),
    ...zones.map(({ region, zone }, k): RecordSet => ({ ...base, name: `${p}.${zone}.${region}.example.com.`, type: 'A', level: 'zone', region, zone, data: [ip(k + 10)] })),
  ];
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

const pg = await startPostgres();
const dir = mkdtempSync(join(tmpdir(), 'fedns-bench-store-'));
try {
  const url = await pg.createDatabase('bench');
  const store = await PostgresStore.open({ url, passwordFile: pg.passwordFile, keyFile: join(dir, 'key'), createKeyFile: true });
  const lease = await store.acquireLease('controller', 'bench', 600_000);
  if (!lease) throw new Error('no lease');
  const fence = { lease: 'controller', holder: 'bench', epoch: lease.epoch };
  const all = Array.from({ length: services }, (_, i) => recordSets(i, 0)).flat();
  let t0 = performance.now();
  await store.commitZone({ upserts: all, deletes: [] }, 'full build', fence);
  const build = performance.now() - t0;
  t0 = performance.now();
  const rebuilt = Array.from({ length: services }, (_, i) => recordSets(i, 1)).flat();
  await store.commitZone({ upserts: rebuilt, deletes: [] }, 'full rebuild (every RRset replaced)', fence);
  const rebuild = performance.now() - t0;
  const times: number[] = [];
  for (let f = 0; f < flaps; f++) {
    const i = (f * 7919) % services;
    const t = performance.now();
    await store.commitZone({ upserts: recordSets(i, f + 2), deletes: [] }, 'flap', fence);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  t0 = performance.now();
  const snap = await store.zoneSnapshot();
  const snapshot = performance.now() - t0;
  console.log(`store-commit (postgres, PostgreSQL 15 on loopback, fsync on): ${services} services, ${all.length} RRsets`);
  console.log(`  full build, one commit:            ${(build / 1000).toFixed(2)} s`);
  console.log(`  full rebuild, one commit:          ${(rebuild / 1000).toFixed(2)} s`);
  console.log(`  one-service diff (${recordSets(0, 0).length} RRsets), ${flaps}×: p50 ${pct(times, 50).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms, max ${times.at(-1)?.toFixed(1)} ms`);
  console.log(`  zone snapshot (${snap.recordSets.length} RRsets):    ${(snapshot / 1000).toFixed(2)} s`);
  await store.close();
} finally {
  await pg.destroy();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * `pnpm bench:scale`: 10,000 services × 13 clusters (the seed federation).
 * Measures a full build (cascade over the whole store, committed), the commit
 * of one shard flap (reconciler path: one service's rows read, diffed,
 * committed), how that flap cost changes with zone size, and RSS.
 * Targets (DESIGN §8): full build < 5 s, one flap < 50 ms, RSS < 1 GiB.
 * Signed (issue 15): the same 10,000-service run with DNSSEC on (ZoneSigning:
 * every flap commits its RRSIGs, NSEC3 changes and the SOA signature), reported
 * beside the unsigned figures of the same run; target flap p99 < 50 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordsReconciler, ZoneSigning } from '@fedns/controller';
import { openStore, type Store } from '@fedns/store';
import { populateSeed, seedScenario } from './seed.js';

const scenario = seedScenario;
const federation = { name: 'myfederation', zone: 'example.com.' };

async function measureFlaps(store: Store, reconciler: RecordsReconciler, services: number, flaps: number): Promise<number[]> {
  const times: number[] = [];
  for (let f = 0; f < flaps; f++) {
    const i = (f * 7919) % services;
    const c = scenario.clusters[f % scenario.clusters.length]!;
    const shard = (await store.shardsOfService('default', `svc-${i}`)).find((s) => s.cluster === c.name)!;
    const t0 = process.hrtime.bigint();
    await store.putShard({ ...shard, healthy: !shard.healthy, readyEndpoints: shard.healthy ? 0 : 2 });
    reconciler.enqueue('default', `svc-${i}`, 'bench flap');
    const entry = await reconciler.flush();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (!entry) throw new Error('a flap committed nothing');
  }
  return times.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

const soa = { mname: 'ns1.example.com.', rname: 'hostmaster.example.com.', refresh: 3600, retry: 600, expire: 604800, minimum: 30, ttl: 3600 };

async function run(services: number, signed = false): Promise<{ build: number; recordSets: number; flapP50: number; flapP99: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'fedns-bench-scale-'));
  const store = await openStore({ dataDir: dir });
  try {
    await populateSeed(store, services);
    const dnssec = signed ? new ZoneSigning({ store, zone: { zone: federation.zone, soa, nameservers: [{ name: 'ns1.example.com.', addresses: ['192.0.2.53'] }] }, enabled: true }) : undefined;
    const reconciler = new RecordsReconciler({ store, federation, ...(dnssec ? { dnssec } : {}) });
    const t0 = process.hrtime.bigint();
    reconciler.enqueueAll('bench full build');
    await reconciler.flush();
    const build = Number(process.hrtime.bigint() - t0) / 1e6;
    const recordSets = (await store.listRecordSets()).length;
    const flaps = await measureFlaps(store, reconciler, services, 200);
    reconciler.stop();
    return { build, recordSets, flapP50: pct(flaps, 50), flapP99: pct(flaps, 99) };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const small = await run(1000);
const big = await run(10000);
const rssMiB = process.memoryUsage().rss / 2 ** 20;
const signed = process.env.SIGNED === '0' ? undefined : await run(10000, true);
const line = (label: string, r: Awaited<ReturnType<typeof run>>) =>
  `${label.padEnd(28)} full build ${r.build.toFixed(0).padStart(6)} ms  (${r.recordSets} RRsets)   flap p50 ${r.flapP50.toFixed(2)} ms  p99 ${r.flapP99.toFixed(2)} ms`;
console.log(line('1,000 services x 13', small));
console.log(line('10,000 services x 13', big));
console.log(`flap cost ratio 10k/1k (p50): ${(big.flapP50 / small.flapP50).toFixed(2)}  (should stay near 1: a flap must not grow with the zone)`);
if (signed) console.log(`${line('10,000 services x 13 signed', signed)}   (DNSSEC: ECDSA P-256, NSEC3)`);
console.log(`peak RSS ${rssMiB.toFixed(0)} MiB (unsigned runs)${signed ? `, ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB after the signed run` : ''}`);
const ok = big.build < 5000 && big.flapP99 < 50 && rssMiB < 1024 && (!signed || signed.flapP99 < 50);
console.log(ok ? `targets met: build < 5 s, flap < 50 ms${signed ? ' (signed too)' : ''}, RSS < 1 GiB` : 'TARGETS MISSED');
process.exitCode = ok ? 0 : 1;

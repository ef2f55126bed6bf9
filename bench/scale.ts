/**
 * `pnpm bench:scale`: 10,000 services × 13 clusters (the seed federation).
 * Measures a full build (cascade over the whole store, committed), the commit
 * of one shard flap (reconciler path: one service's rows read, diffed,
 * committed), how that flap cost changes with zone size, and RSS.
 * Targets (DESIGN §8): full build < 5 s, one flap < 50 ms, RSS < 1 GiB.
 * Then the same on PostgreSQL 15 as run for high availability (a primary and
 * two streaming standbys, synchronous ANY 1: every commit waits for a
 * standby), beside the SQLite figures of the same run (issue 11: full build
 * < 10 s, one flap p99 < 50 ms). BENCH_STORE=sqlite skips PostgreSQL.
 * Signed (issue 15): the same 10,000-service SQLite run with DNSSEC on
 * (ZoneSigning: every flap commits its RRSIGs, NSEC3 changes and the SOA
 * signature), beside the unsigned figures of the same run; target flap p99
 * < 50 ms. SIGNED=0 skips it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordsReconciler, ZoneSigning } from '@fedns/controller';
import { openStore, type Store } from '@fedns/store';
import { startReplicated } from '../packages/store/test/pg/cluster.js';
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

type Opener = (dir: string) => Promise<Store>;
const sqlite: Opener = (dir) => openStore({ dataDir: dir });

const soa = { mname: 'ns1.example.com.', rname: 'hostmaster.example.com.', refresh: 3600, retry: 600, expire: 604800, minimum: 30, ttl: 3600 };

async function run(services: number, open: Opener = sqlite, signed = false): Promise<{ build: number; recordSets: number; flapP50: number; flapP99: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'fedns-bench-scale-'));
  const store = await open(dir);
  try {
    await populateSeed(store, services);
    const zone = { zone: federation.zone, soa, nameservers: [{ name: 'ns1.example.com.', addresses: ['192.0.2.53'] }] };
    const dnssec = signed ? new ZoneSigning({ store, zone, enabled: true }) : undefined;
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
const line = (label: string, r: Awaited<ReturnType<typeof run>>) =>
  `${label.padEnd(28)} full build ${r.build.toFixed(0).padStart(6)} ms  (${r.recordSets} RRsets)   flap p50 ${r.flapP50.toFixed(2)} ms  p99 ${r.flapP99.toFixed(2)} ms`;
console.log(line('1,000 services x 13', small));
console.log(line('10,000 services x 13', big));
console.log(`flap cost ratio 10k/1k (p50): ${(big.flapP50 / small.flapP50).toFixed(2)}  (should stay near 1: a flap must not grow with the zone)`);
console.log(`peak RSS ${rssMiB.toFixed(0)} MiB`);
let ok = big.build < 5000 && big.flapP99 < 50 && rssMiB < 1024;
console.log(ok ? 'targets met: build < 5 s, flap < 50 ms, RSS < 1 GiB' : 'TARGETS MISSED');

if (process.env.SIGNED !== '0') {
  const signed = await run(10000, sqlite, true);
  console.log(`${line('10,000 x 13 signed', signed)}   (DNSSEC: ECDSA P-256, NSEC3)`);
  console.log(`signed / unsigned, same run: flap p50 ${(signed.flapP50 / big.flapP50).toFixed(2)}x, p99 ${(signed.flapP99 / big.flapP99).toFixed(2)}x; RSS after it ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  const signedOk = signed.flapP99 < 50;
  console.log(signedOk ? 'signed target met: flap p99 < 50 ms' : 'SIGNED TARGET MISSED');
  ok &&= signedOk;
}

if (process.env.BENCH_STORE !== 'sqlite') {
  process.stderr.write('starting PostgreSQL 15: a primary and two synchronous standbys…\n');
  const pg = await startReplicated();
  try {
    let n = 0;
    const postgres: Opener = async (dir) => openStore({ url: await pg.createDatabase(`scale${n++}`), passwordFile: pg.passwordFile, dataDir: dir });
    const pgBig = await run(10000, postgres);
    console.log(line('10,000 x 13 on PostgreSQL', pgBig));
    const r = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
    console.log(`PostgreSQL / SQLite, same run: full build ${r(pgBig.build, big.build)}, flap p50 ${r(pgBig.flapP50, big.flapP50)}, flap p99 ${r(pgBig.flapP99, big.flapP99)}`);
    const pgOk = pgBig.build < 10_000 && pgBig.flapP99 < 50;
    console.log(pgOk ? 'PostgreSQL targets met: build < 10 s, flap p99 < 50 ms' : 'POSTGRESQL TARGETS MISSED');
    ok &&= pgOk;
  } finally {
    await pg.destroy();
  }
}
process.exitCode = ok ? 0 : 1;

/**
 * `pnpm bench:scale`: 10,000 services × 13 clusters (the seed federation).
 * Measures a full build (cascade over the whole store, committed), the commit
 * of one shard flap (reconciler path: one service's rows read, diffed,
 * committed), how that flap cost changes with zone size, and RSS.
 * Targets (DESIGN §8): full build < 5 s, one flap < 50 ms, RSS < 1 GiB.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordsReconciler } from '@fedns/controller';
import { Store } from '@fedns/store';
import { parse } from 'yaml';

const SHARED = new URL('../../shared/', import.meta.url);
const scenario = parse(readFileSync(new URL('scenarios/seed-federation.yaml', SHARED), 'utf8')) as {
  clusters: { name: string; region: string; zones: string[]; lbPool: string }[];
};
const federation = { name: 'myfederation', zone: 'example.com.' };

function lbAddress(pool: string, i: number): string {
  const [base = '0.0.0.0'] = pool.split('/');
  const o = base.split('.').map(Number);
  // Spread services over the pool's /28 and a synthetic third octet so addresses differ.
  return `${o[0]}.${o[1]}.${(o[2]! + Math.floor(i / 14)) % 256}.${o[3]! + 1 + (i % 14)}`;
}

function populate(store: Store, services: number): void {
  const now = new Date().toISOString();
  store.tx(() => {
    for (const c of scenario.clusters) {
      store.putCluster({ name: c.name, uid: `uid-${c.name}`, resourceVersion: store.nextResourceVersion(), object: { metadata: { name: c.name }, status: { region: c.region, zones: c.zones } } });
    }
    for (let i = 0; i < services; i++) {
      const name = `svc-${i}`;
      store.putService({ namespace: 'default', name, uid: `u${i}`, resourceVersion: store.nextResourceVersion(), object: { metadata: { name, namespace: 'default' } } });
      scenario.clusters.forEach((c, ci) => {
        const healthy = (i + ci) % 5 !== 0;
        store.putShard({ cluster: c.name, namespace: 'default', service: name, addresses: [lbAddress(c.lbPool, i)], readyEndpoints: healthy ? 2 : 0, healthy, since: now, message: '' });
      });
    }
  });
}

function measureFlaps(store: Store, reconciler: RecordsReconciler, services: number, flaps: number): number[] {
  const times: number[] = [];
  for (let f = 0; f < flaps; f++) {
    const i = (f * 7919) % services;
    const c = scenario.clusters[f % scenario.clusters.length]!;
    const shard = store.shardsOfService('default', `svc-${i}`).find((s) => s.cluster === c.name)!;
    const t0 = process.hrtime.bigint();
    store.putShard({ ...shard, healthy: !shard.healthy, readyEndpoints: shard.healthy ? 0 : 2 });
    reconciler.enqueue('default', `svc-${i}`, 'bench flap');
    const entry = reconciler.flush();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (!entry) throw new Error('a flap committed nothing');
  }
  return times.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

function run(services: number): { build: number; recordSets: number; flapP50: number; flapP99: number } {
  const dir = mkdtempSync(join(tmpdir(), 'fedns-bench-scale-'));
  const store = Store.open({ dataDir: dir });
  try {
    populate(store, services);
    const reconciler = new RecordsReconciler({ store, federation });
    const t0 = process.hrtime.bigint();
    reconciler.enqueueAll('bench full build');
    reconciler.flush();
    const build = Number(process.hrtime.bigint() - t0) / 1e6;
    const recordSets = store.listRecordSets().length;
    const flaps = measureFlaps(store, reconciler, services, 200);
    return { build, recordSets, flapP50: pct(flaps, 50), flapP99: pct(flaps, 99) };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const small = run(1000);
const big = run(10000);
const rssMiB = process.memoryUsage().rss / 2 ** 20;
const line = (label: string, r: ReturnType<typeof run>) =>
  `${label.padEnd(28)} full build ${r.build.toFixed(0).padStart(6)} ms  (${r.recordSets} RRsets)   flap p50 ${r.flapP50.toFixed(2)} ms  p99 ${r.flapP99.toFixed(2)} ms`;
console.log(line('1,000 services x 13', small));
console.log(line('10,000 services x 13', big));
console.log(`flap cost ratio 10k/1k (p50): ${(big.flapP50 / small.flapP50).toFixed(2)}  (should stay near 1: a flap must not grow with the zone)`);
console.log(`peak RSS ${rssMiB.toFixed(0)} MiB`);
const ok = big.build < 5000 && big.flapP99 < 50 && rssMiB < 1024;
console.log(ok ? 'targets met: build < 5 s, flap < 50 ms, RSS < 1 GiB' : 'TARGETS MISSED');
process.exitCode = ok ? 0 : 1;

/** The seed federation filled with synthetic services, shared by the benchmarks. */
import { readFileSync } from 'node:fs';
import type { BulkData, Store } from '@fedns/store';
import { parse } from 'yaml';

export interface SeedScenario {
  federation: string;
  zone: string;
  clusters: { name: string; region: string; zones: string[]; lbPool: string }[];
}

export const seedScenario = parse(readFileSync(new URL('../../shared/scenarios/seed-federation.yaml', import.meta.url), 'utf8')) as SeedScenario;

/** A distinct LB address per service and cluster: the pool's /28 and a synthetic third octet. */
export function lbAddress(pool: string, i: number): string {
  const o = (pool.split('/')[0] ?? '0.0.0.0').split('.').map(Number);
  return `${o[0]}.${o[1]}.${((o[2] ?? 0) + Math.floor(i / 14)) % 256}.${(o[3] ?? 0) + 1 + (i % 14)}`;
}

/**
 * Writes the clusters and `services` services (`svc-0` …) with one shard per cluster, about one
 * shard in five unhealthy, so zones get A records and CNAME fallbacks alike; `annotations` on
 * every service (bench:dns's routed run: federation.fedns.io/routing: nearest).
 */
export async function populateSeed(store: Store, services: number, annotations?: Record<string, string>): Promise<void> {
  const now = new Date().toISOString();
  let rv = await store.revision();
  const data: BulkData = { objects: [], shards: [] };
  for (const c of seedScenario.clusters) {
    data.objects?.push({ kind: 'clusters', namespace: '', name: c.name, uid: `uid-${c.name}`, resourceVersion: ++rv, object: { metadata: { name: c.name }, status: { region: c.region, zones: c.zones } } });
  }
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    data.objects?.push({ kind: 'services', namespace: 'default', name, uid: `u${i}`, resourceVersion: ++rv, object: { metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) } } });
    seedScenario.clusters.forEach((c, ci) => {
      const healthy = (i + ci) % 5 !== 0;
      data.shards?.push({ cluster: c.name, namespace: 'default', service: name, addresses: [lbAddress(c.lbPool, i)], readyEndpoints: healthy ? 2 : 0, healthy, since: now, message: '' });
    });
  }
  await store.load(data);
}

import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClusterTopology, RecordSet, ServicePolicy, Shard } from '@fedns/model';
import { parse } from 'yaml';

export function policy(name: string, namespace = 'prod', extra: Partial<ServicePolicy> = {}): ServicePolicy {
  return { name, namespace, ttl: 30, failMode: 'open', minReadyEndpoints: 1, ...extra };
}

export function shard(cluster: string, addresses: string[], extra: Partial<Shard> = {}): Shard {
  return { cluster, namespace: 'prod', service: 'nginx', addresses, readyEndpoints: 1, healthy: true, ...extra };
}

/** name → "TYPE data,data" lines, one per RRset, for compact exact assertions. */
export function table(sets: readonly RecordSet[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const rs of sets) {
    const line = `${rs.type} ${rs.data.join(',')}`;
    const lines = out[rs.name];
    if (lines) lines.push(line);
    else out[rs.name] = [line];
  }
  return out;
}

/** The one RRset at (name, type), or undefined. */
export function find(sets: readonly RecordSet[], name: string, type: string): RecordSet | undefined {
  return sets.find((rs) => rs.name === name && rs.type === type);
}

export interface SeedCluster extends ClusterTopology {
  lbPool: string;
}

export interface Seed {
  federation: string;
  zone: string;
  clusters: SeedCluster[];
}

export const SEED_PATH = fileURLToPath(new URL('../../../../shared/scenarios/seed-federation.yaml', import.meta.url));

export function loadSeed(): Seed {
  if (!existsSync(SEED_PATH)) throw new Error(`seed scenario not found at ${SEED_PATH}`);
  return parse(readFileSync(SEED_PATH, 'utf8')) as Seed;
}

/** The n-th address of a v4 pool such as 198.51.100.16/28 (n = 1: the first host). */
export function poolAddress(pool: string, n = 1): string {
  const [base = ''] = pool.split('/');
  const octets = base.split('.').map(Number);
  octets[3] = (octets[3] ?? 0) + n;
  return octets.join('.');
}

/** Fisher–Yates with a seeded LCG, so shuffles are reproducible. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

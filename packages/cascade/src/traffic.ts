/**
 * The pure parts of traffic policy (issue 14) that shape a record set:
 * where a region without healthy shards aliases to, and the per-shard
 * variants the fedns nameserver chooses from per query (weights; routing by
 * client location at the global name).
 */
import type { GeoPoint, RecordPolicy, RecordVariant, RegionFallback, ServicePolicy } from '@fedns/model';
import { mergeAddresses } from './addresses.js';
import { nearestRegion } from './locations.js';
import { compareStrings } from './order.js';
import type { PlacedShard } from './placed.js';

/**
 * The region a region without healthy shards aliases to under `nearest`: the
 * nearest other region with healthy shards, by great-circle distance between
 * region locations. Undefined (alias to the global name) under `global`, when
 * the region has no known location, or when no serving region has one.
 */
export function fallbackRegion(
  mode: RegionFallback | undefined,
  region: string,
  serving: readonly string[],
  locations: ReadonlyMap<string, GeoPoint>,
): string | undefined {
  if (mode !== 'nearest') return undefined;
  const from = locations.get(region);
  if (!from) return undefined;
  return nearestRegion(
    from,
    serving.filter((r) => r !== region),
    locations,
  )?.region;
}

/**
 * The variants of one family's record set, when the service's policy makes
 * the nameserver choose per query: with weights (one shard per answer, in
 * proportion), and at the global name with `routing: nearest` (the client's
 * nearest region). Undefined when there is nothing to choose between: one
 * shard, or routing over shards of a single region without weights.
 */
export function addressPolicy(
  service: ServicePolicy,
  shards: readonly PlacedShard[],
  family: 'v4' | 'v6',
  global: boolean,
  locations: ReadonlyMap<string, GeoPoint>,
): RecordPolicy | undefined {
  const weighted = service.weights !== undefined;
  const routed = global && service.routing === 'nearest';
  if (!weighted && !routed) return undefined;
  // One variant per cluster (a cluster reported twice is still one shard: its addresses merged).
  const byCluster = new Map<string, PlacedShard[]>();
  for (const p of shards) {
    if (p.addresses[family].length === 0) continue;
    const list = byCluster.get(p.shard.cluster);
    if (list) list.push(p);
    else byCluster.set(p.shard.cluster, [p]);
  }
  const variants: RecordVariant[] = [];
  for (const [cluster, list] of byCluster) {
    const first = list[0] as PlacedShard;
    const location = locations.get(first.cluster.region);
    const data = mergeAddresses(list.map((p) => p.addresses))[family];
    variants.push({ cluster, region: first.cluster.region, ...(routed && location ? { location } : {}), weight: first.weight, data });
  }
  if (variants.length < 2) return undefined;
  if (!weighted && new Set(variants.map((v) => v.region)).size < 2) return undefined;
  variants.sort((a, b) => compareStrings(a.cluster, b.cluster));
  return { ...(routed ? { routing: 'nearest' as const } : {}), ...(weighted ? { weighted: true } : {}), variants };
}

/**
 * Which of a service's shards count, and where (DESIGN §4): the shards in
 * known clusters it is placed in, whether each is servable, and the servable
 * ones per region and zone of the selected clusters' topology.
 */
import type { ServicePolicy, Shard } from '@fedns/model';
import { weightOf } from '@fedns/model';
import type { AddressesByFamily, ParsedAddresses } from './addresses.js';
import { isEmpty, mergeAddresses, parseAddresses } from './addresses.js';
import { shardServable } from './health.js';
import type { ClusterIndex, PreparedCluster } from './topology.js';
import { isPlaced } from './topology.js';

/**
 * What the global name answers: `healthy` (servable shards), `fail-open` (no
 * servable shard; every known address instead), `fail-closed` (policy says
 * NODATA), `no-address` (fail-open but no address known anywhere), `pending`
 * (a new service waiting for its clusters before it fails open: NODATA).
 */
export type GlobalState = 'healthy' | 'fail-open' | 'fail-closed' | 'no-address' | 'pending';

/** A shard of the service in a selected, known cluster. */
export interface PlacedShard {
  shard: Shard;
  cluster: PreparedCluster;
  /** Published at the levels its cluster's topology reaches. */
  servable: boolean;
  /** Its weight for this service (weights annotation; 1 unless named). */
  weight: number;
  /** Parsed once per build, shared by every level. */
  addresses: ParsedAddresses;
}

export interface GlobalAnswer {
  state: GlobalState;
  addresses: AddressesByFamily;
}

/**
 * The service's shards that sit in known clusters it is placed in; others
 * (unjoined, unplaced) count for nothing. Weight 0 takes a shard out like a
 * drain of that one service.
 */
export function placeShards(service: ServicePolicy, clusters: ClusterIndex, shards: readonly Shard[]): PlacedShard[] {
  const out: PlacedShard[] = [];
  for (const shard of shards) {
    const cluster = clusters.byName.get(shard.cluster);
    if (!cluster || !isPlaced(service, shard.cluster)) continue;
    const addresses = parseAddresses(shard.addresses);
    const weight = weightOf(service.weights, shard.cluster);
    const servable = cluster.inService && weight > 0 && shardServable(shard, cluster.topology, service);
    out.push({ shard, cluster, servable, weight, addresses });
  }
  return out;
}

const hasAny = (a: ParsedAddresses) => a.v4.length > 0 || a.v6.length > 0;

/** DESIGN §4 rule 5: healthy shards, else fail open (every known address) or fail closed. */
export function globalAnswer(service: ServicePolicy, placed: readonly PlacedShard[]): GlobalAnswer {
  const healthy = mergeAddresses(placed.filter((p) => p.servable).map((p) => p.addresses));
  if (!isEmpty(healthy)) return { state: 'healthy', addresses: healthy };
  if (service.failMode === 'closed') return { state: 'fail-closed', addresses: healthy };
  if (service.failOpenPending) return { state: 'pending', addresses: healthy };
  // Prefer clusters an operator has not drained (nor weighed 0): draining is a deliberate "send nothing here".
  const known = placed.filter((p) => hasAny(p.addresses));
  const undrained = known.filter((p) => !p.cluster.topology.drained && p.cluster.inService && p.weight > 0);
  const fallback = mergeAddresses((undrained.length > 0 ? undrained : known).map((p) => p.addresses));
  return { state: isEmpty(fallback) ? 'no-address' : 'fail-open', addresses: fallback };
}

export interface RegionShards {
  shards: PlacedShard[];
  zones: Map<string, PlacedShard[]>;
}

/** Servable shards per region and per zone of every selected cluster's topology (rules 1 and 3). */
export function levelShards(selected: readonly PreparedCluster[], placed: readonly PlacedShard[]): Map<string, RegionShards> {
  const regions = new Map<string, RegionShards>();
  for (const c of selected) {
    if (c.region === '') continue; // no usable topology: the cluster only reaches the global name
    let region = regions.get(c.region);
    if (!region) {
      region = { shards: [], zones: new Map() };
      regions.set(c.region, region);
    }
    for (const z of c.zones) if (!region.zones.has(z)) region.zones.set(z, []);
  }
  for (const p of placed) {
    if (!p.servable) continue;
    const region = regions.get(p.cluster.region);
    if (!region) continue;
    region.shards.push(p);
    for (const z of p.cluster.activeZones) region.zones.get(z)?.push(p);
  }
  return regions;
}

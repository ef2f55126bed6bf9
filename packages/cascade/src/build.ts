import type { ClusterTopology, RecordPolicy, RecordSet, RecordType, RegionFallback, ServicePolicy, Shard } from '@fedns/model';
import { MAX_NAME, globalName, nameProblem, regionName, servicePrefix, zoneName } from '@fedns/model';
import type { AddressesByFamily } from './addresses.js';
import { isEmpty, mergeAddresses } from './addresses.js';
import { compareRecordSets } from './order.js';
import { type GlobalState, globalAnswer, levelShards, type PlacedShard, placeShards } from './placed.js';
import type { ClusterIndex } from './topology.js';
import { indexClusters, selectedClusters } from './topology.js';
import { addressPolicy, fallbackRegion } from './traffic.js';

export type { GlobalState } from './placed.js';

export interface FederationRef {
  name: string;
  /** Absolute, e.g. `example.com.` */
  zone: string;
  /** Where a region without healthy shards aliases to (issue 14; default `global`, seed 002's behaviour). */
  regionFallback?: RegionFallback;
}

export interface CascadeInput {
  federation: FederationRef;
  services: ServicePolicy[];
  clusters: ClusterTopology[];
  shards: Shard[];
}

/** TXT published at the global name when it has no address, so the name exists (NODATA, not NXDOMAIN). */
export const FAIL_CLOSED_TEXT = 'fedns: no healthy shard (fail-closed)';
export const NO_ADDRESS_TEXT = 'fedns: no shard address known';
export const PENDING_TEXT = 'fedns: waiting for every placed cluster to report';

export interface ServiceSummary {
  globalName: string;
  state: GlobalState;
  /** Names of the clusters whose shards are published (sorted). */
  servableClusters: string[];
}

/** The whole zone's service record sets, sorted by name then type. */
export function buildRecordSets(input: CascadeInput): RecordSet[] {
  const clusters = indexClusters(input.clusters);
  const shardsByService = indexShardsByService(input.shards);
  const seen = new Set<string>();
  const out: RecordSet[] = [];
  for (const service of input.services) {
    const key = serviceKey(service.namespace, service.name);
    if (seen.has(key)) continue; // a service listed twice is still one chain
    seen.add(key);
    appendServiceRecordSets(out, input.federation, service, clusters, shardsByService.get(key) ?? []);
  }
  return out.sort(compareRecordSets);
}

/** One service's record sets (for incremental rebuilds); shards of other services are ignored. */
export function buildServiceRecordSets(
  federation: FederationRef,
  service: ServicePolicy,
  clusters: ClusterTopology[],
  shards: Shard[],
): RecordSet[] {
  const out: RecordSet[] = [];
  appendServiceRecordSets(out, federation, service, indexClusters(clusters), ownShards(service, shards));
  return out.sort(compareRecordSets);
}

/** How the service's global name answers now and which clusters serve it (for status, logs, metrics, explain). */
export function summarizeService(
  federation: FederationRef,
  service: ServicePolicy,
  clusters: ClusterTopology[],
  shards: Shard[],
): ServiceSummary {
  const placed = placeShards(service, indexClusters(clusters), ownShards(service, shards));
  const servable = new Set(placed.filter((p) => p.servable).map((p) => p.cluster.topology.name));
  return {
    globalName: globalName(servicePrefix(service.name, service.namespace, federation.name), federation.zone),
    state: globalAnswer(service, placed).state,
    servableClusters: [...servable].sort(),
  };
}

function serviceKey(namespace: string, name: string): string {
  return `${namespace}\u0000${name}`;
}

function ownShards(service: ServicePolicy, shards: readonly Shard[]): Shard[] {
  return shards.filter((s) => s.namespace === service.namespace && s.service === service.name);
}

/** Shards grouped by service, built once per zone build so no service scans all shards. */
function indexShardsByService(shards: readonly Shard[]): Map<string, Shard[]> {
  const index = new Map<string, Shard[]>();
  for (const shard of shards) {
    const key = serviceKey(shard.namespace, shard.service);
    const list = index.get(key);
    if (list) list.push(shard);
    else index.set(key, [shard]);
  }
  return index;
}

/** Appends (rather than returns) so a 10,000-service build fills one array. */
function appendServiceRecordSets(
  out: RecordSet[],
  federation: FederationRef,
  service: ServicePolicy,
  clusters: ClusterIndex,
  shards: readonly Shard[],
): void {
  const prefix = servicePrefix(service.name, service.namespace, federation.name);
  const global = globalName(prefix, federation.zone);
  // The API rejects such services (rule 7); never publish a name that breaks DNS rules anyway.
  if (nameProblem(global) !== undefined) return;
  const emit = recordSetFactory(out, service);
  const placed = placeShards(service, clusters, shards);
  const locations = clusters.regionLocations;

  const answer = globalAnswer(service, placed);
  if (isEmpty(answer.addresses)) {
    const marker = answer.state === 'fail-closed' ? FAIL_CLOSED_TEXT : answer.state === 'pending' ? PENDING_TEXT : NO_ADDRESS_TEXT;
    emit(global, 'TXT', [marker]);
  } else if (answer.state === 'healthy') {
    // Traffic policy shapes healthy answers only: failing open hands out everything, as it is.
    const servable = placed.filter((p) => p.servable);
    const policy = (family: 'v4' | 'v6') => addressPolicy(service, servable, family, true, locations);
    emitAddresses(emit, global, answer.addresses, policy);
  } else {
    emitAddresses(emit, global, answer.addresses);
  }

  // Region and zone labels were validated with the topology; only the length can still break a name.
  const fits = (name: string) => name.length - 1 <= MAX_NAME;
  const levels = [...levelShards(selectedClusters(service, clusters), placed)].filter(([region]) => fits(regionName(prefix, region, federation.zone)));
  // Regions a region without healthy shards may alias to under `nearest` (always published with addresses).
  const serving = levels.filter(([, r]) => r.shards.length > 0).map(([region]) => region);
  for (const [region, { shards: regionShards, zones }] of levels) {
    const rName = regionName(prefix, region, federation.zone);
    const nearest = regionShards.length > 0 ? undefined : fallbackRegion(federation.regionFallback, region, serving, locations);
    emitLevel(emit, service, rName, regionShards, nearest ? regionName(prefix, nearest, federation.zone) : global, region);
    for (const [zone, zoneShards] of zones) {
      const zName = zoneName(prefix, zone, region, federation.zone);
      if (fits(zName)) emitLevel(emit, service, zName, zoneShards, rName, region, zone);
    }
  }
}

type Emit = (name: string, type: RecordType, data: string[], region?: string, zone?: string, policy?: RecordPolicy) => void;

/** Builds RecordSets with a fixed shape (region/zone present only at their levels) straight into `out`. */
function recordSetFactory(out: RecordSet[], service: ServicePolicy): Emit {
  const { namespace, name: serviceName, ttl } = service;
  return (name, type, data, region, zone, policy) => {
    const rs: RecordSet =
      region === undefined
        ? { name, type, ttl, data, level: 'global', namespace, service: serviceName }
        : zone === undefined
          ? { name, type, ttl, data, level: 'region', namespace, service: serviceName, region }
          : { name, type, ttl, data, level: 'zone', namespace, service: serviceName, region, zone };
    if (policy) rs.policy = policy;
    out.push(rs);
  };
}

/** A/AAAA when the level has any servable address, else one CNAME up the chain (or across, to the nearest region) — never both. */
function emitLevel(emit: Emit, service: ServicePolicy, name: string, shards: PlacedShard[], parent: string, region: string, zone?: string): void {
  const addresses = mergeAddresses(shards.map((p) => p.addresses));
  if (isEmpty(addresses)) emit(name, 'CNAME', [parent], region, zone);
  else emitAddresses(emit, name, addresses, (family) => addressPolicy(service, shards, family, false, new Map()), region, zone);
}

function emitAddresses(emit: Emit, name: string, addresses: AddressesByFamily, policy?: (family: 'v4' | 'v6') => RecordPolicy | undefined, region?: string, zone?: string): void {
  if (addresses.v4.length > 0) emit(name, 'A', addresses.v4, region, zone, policy?.('v4'));
  if (addresses.v6.length > 0) emit(name, 'AAAA', addresses.v6, region, zone, policy?.('v6'));
}

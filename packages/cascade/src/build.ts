import type { ClusterTopology, RecordSet, RecordType, ServicePolicy, Shard } from '@fedns/model';
import { MAX_NAME, globalName, nameProblem, regionName, servicePrefix, zoneName } from '@fedns/model';
import type { AddressesByFamily, ParsedAddresses } from './addresses.js';
import { isEmpty, mergeAddresses, parseAddresses } from './addresses.js';
import { shardServable } from './health.js';
import { compareRecordSets } from './order.js';
import type { ClusterIndex, PreparedCluster } from './topology.js';
import { indexClusters, isPlaced, selectedClusters } from './topology.js';

export interface FederationRef {
  name: string;
  /** Absolute, e.g. `example.com.` */
  zone: string;
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

/**
 * What the global name answers: `healthy` (servable shards), `fail-open` (no
 * servable shard; every known address instead), `fail-closed` (policy says
 * NODATA), `no-address` (fail-open but no address known anywhere), `pending`
 * (a new service waiting for its clusters before it fails open: NODATA).
 */
export type GlobalState = 'healthy' | 'fail-open' | 'fail-closed' | 'no-address' | 'pending';

export interface ServiceSummary {
  globalName: string;
  state: GlobalState;
  /** Names of the clusters whose shards are published (sorted). */
  servableClusters: string[];
}

/** A shard of the service in a selected, known cluster. */
interface PlacedShard {
  shard: Shard;
  cluster: PreparedCluster;
  /** Published at the levels its cluster's topology reaches. */
  servable: boolean;
  /** Parsed once per build, shared by every level. */
  addresses: ParsedAddresses;
}

interface GlobalAnswer {
  state: GlobalState;
  addresses: AddressesByFamily;
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

/** The service's shards that sit in known clusters it is placed in; others (unjoined, unplaced) count for nothing. */
function placeShards(service: ServicePolicy, clusters: ClusterIndex, shards: readonly Shard[]): PlacedShard[] {
  const out: PlacedShard[] = [];
  for (const shard of shards) {
    const cluster = clusters.byName.get(shard.cluster);
    if (!cluster || !isPlaced(service, shard.cluster)) continue;
    const addresses = parseAddresses(shard.addresses);
    const servable = cluster.inService && shardServable(shard, cluster.topology, service);
    out.push({ shard, cluster, servable, addresses });
  }
  return out;
}

const hasAny = (a: ParsedAddresses) => a.v4.length > 0 || a.v6.length > 0;

/** DESIGN §4 rule 5: healthy shards, else fail open (every known address) or fail closed. */
function globalAnswer(service: ServicePolicy, placed: readonly PlacedShard[]): GlobalAnswer {
  const healthy = mergeAddresses(placed.filter((p) => p.servable).map((p) => p.addresses));
  if (!isEmpty(healthy)) return { state: 'healthy', addresses: healthy };
  if (service.failMode === 'closed') return { state: 'fail-closed', addresses: healthy };
  if (service.failOpenPending) return { state: 'pending', addresses: healthy };
  // Prefer clusters an operator has not drained: draining is a deliberate "send nothing here".
  const known = placed.filter((p) => hasAny(p.addresses));
  const undrained = known.filter((p) => !p.cluster.topology.drained && p.cluster.inService);
  const fallback = mergeAddresses((undrained.length > 0 ? undrained : known).map((p) => p.addresses));
  return { state: isEmpty(fallback) ? 'no-address' : 'fail-open', addresses: fallback };
}

interface RegionAddresses {
  shards: ParsedAddresses[];
  zones: Map<string, ParsedAddresses[]>;
}

/** Addresses of servable shards per region and per zone of every selected cluster's topology (rules 1 and 3). */
function levelAddresses(selected: readonly PreparedCluster[], placed: readonly PlacedShard[]): Map<string, RegionAddresses> {
  const regions = new Map<string, RegionAddresses>();
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
    region.shards.push(p.addresses);
    for (const z of p.cluster.activeZones) region.zones.get(z)?.push(p.addresses);
  }
  return regions;
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

  const answer = globalAnswer(service, placed);
  if (isEmpty(answer.addresses)) {
    const marker = answer.state === 'fail-closed' ? FAIL_CLOSED_TEXT : answer.state === 'pending' ? PENDING_TEXT : NO_ADDRESS_TEXT;
    emit(global, 'TXT', [marker]);
  } else {
    emitAddresses(emit, global, answer.addresses);
  }

  // Region and zone labels were validated with the topology; only the length can still break a name.
  const fits = (name: string) => name.length - 1 <= MAX_NAME;
  for (const [region, { shards: regionShards, zones }] of levelAddresses(selectedClusters(service, clusters), placed)) {
    const rName = regionName(prefix, region, federation.zone);
    if (!fits(rName)) continue; // its zone names are longer still
    emitLevel(emit, rName, regionShards, global, region);
    for (const [zone, zoneShards] of zones) {
      const zName = zoneName(prefix, zone, region, federation.zone);
      if (fits(zName)) emitLevel(emit, zName, zoneShards, rName, region, zone);
    }
  }
}

type Emit = (name: string, type: RecordType, data: string[], region?: string, zone?: string) => void;

/** Builds RecordSets with a fixed shape (region/zone present only at their levels) straight into `out`. */
function recordSetFactory(out: RecordSet[], service: ServicePolicy): Emit {
  const { namespace, name: serviceName, ttl } = service;
  return (name, type, data, region, zone) => {
    if (region === undefined) out.push({ name, type, ttl, data, level: 'global', namespace, service: serviceName });
    else if (zone === undefined) out.push({ name, type, ttl, data, level: 'region', namespace, service: serviceName, region });
    else out.push({ name, type, ttl, data, level: 'zone', namespace, service: serviceName, region, zone });
  };
}

/** A/AAAA when the level has any servable address, else one CNAME up the chain — never both. */
function emitLevel(emit: Emit, name: string, shards: ParsedAddresses[], parent: string, region: string, zone?: string): void {
  const addresses = mergeAddresses(shards);
  if (isEmpty(addresses)) emit(name, 'CNAME', [parent], region, zone);
  else emitAddresses(emit, name, addresses, region, zone);
}

function emitAddresses(emit: Emit, name: string, addresses: AddressesByFamily, region?: string, zone?: string): void {
  if (addresses.v4.length > 0) emit(name, 'A', addresses.v4, region, zone);
  if (addresses.v6.length > 0) emit(name, 'AAAA', addresses.v6, region, zone);
}

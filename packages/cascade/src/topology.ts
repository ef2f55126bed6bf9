import type { ClusterTopology, GeoPoint, ServicePolicy } from '@fedns/model';
import { labelProblem } from '@fedns/model';
import { clusterLocation, regionLocations } from './locations.js';
import { compareStrings } from './order.js';

/**
 * A cluster's topology normalised once per build: DNS compares names
 * case-insensitively, so regions and zones are lower-cased here and every
 * later comparison is a plain string compare.
 */
export interface PreparedCluster {
  topology: ClusterTopology;
  /** Lower-cased; '' when the region is unknown or not a valid DNS label (no region/zone names then). */
  region: string;
  /** Lower-cased, de-duplicated, valid zones (a zone that is not a valid label gets no name). */
  zones: string[];
  /** Zones of this cluster that are not drained. */
  activeZones: string[];
  /**
   * False when every zone the cluster has is drained: its shards then take no
   * traffic at any level (a zone drain must not leak back in through the
   * region's or the global name).
   */
  inService: boolean;
  /** Where it is: spec.location, else its region's place in the built-in table. */
  location?: GeoPoint;
}

export interface ClusterIndex {
  byName: Map<string, PreparedCluster>;
  /** Every cluster in name order: the selection of a service without a placement list. */
  all: PreparedCluster[];
  /** Each region's location: the centre of its clusters' (every cluster counts, placed or not). */
  regionLocations: Map<string, GeoPoint>;
}

const normalise = (s: string) => s.trim().toLowerCase();

/** Labels of a region or zone as written into names (a dotted value gives several labels). */
function validLabels(text: string): boolean {
  return text.split('.').every((label) => labelProblem(label) === undefined);
}

export function prepareCluster(topology: ClusterTopology): PreparedCluster {
  const allZones = [...new Set(topology.zones.map(normalise).filter((z) => z.length > 0))];
  const drained = new Set((topology.drainedZones ?? []).map(normalise));
  const activeZones = allZones.filter((z) => !drained.has(z));
  // Checked once here so that name validity per record is only a length check.
  const region = normalise(topology.region);
  const regionOk = region !== '' && validLabels(region);
  const location = clusterLocation(topology.location, regionOk ? region : '');
  return {
    topology,
    region: regionOk ? region : '',
    zones: regionOk ? allZones.filter(validLabels) : [],
    activeZones: regionOk ? activeZones.filter(validLabels) : [],
    inService: allZones.length === 0 || activeZones.length > 0,
    ...(location ? { location } : {}),
  };
}

/** Clusters by name; the first one wins if a name repeats. */
export function indexClusters(clusters: readonly ClusterTopology[]): ClusterIndex {
  const byName = new Map<string, PreparedCluster>();
  for (const c of clusters) if (!byName.has(c.name)) byName.set(c.name, prepareCluster(c));
  const all = [...byName.values()].sort((a, b) => compareStrings(a.topology.name, b.topology.name));
  return { byName, all, regionLocations: regionLocations(all) };
}

/** True when the service's placement includes the cluster (no placement list = every cluster). */
export function isPlaced(service: ServicePolicy, clusterName: string): boolean {
  return service.clusters === undefined || service.clusters.includes(clusterName);
}

/** The known clusters a service is placed in, in name order. */
export function selectedClusters(service: ServicePolicy, clusters: ClusterIndex): PreparedCluster[] {
  if (service.clusters === undefined) return clusters.all;
  const placed = new Set(service.clusters);
  return clusters.all.filter((c) => placed.has(c.topology.name));
}

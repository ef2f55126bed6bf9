/**
 * The read-only `FederationStatus` view (federation.fedns.io/v1, cluster-scoped,
 * get and list): one object, named after the federation, computed when read —
 * the member clusters by region and zone with their Ready, Reachable and Drained
 * conditions, and the services by how their global name answers (the reason of
 * their `ShardsHealthy` condition). `kubectl fedns status` and the dashboard's
 * overview read it; `kubectl get federationstatus` shows it as a table.
 */
import { errors, type KubeObject, type ListOptions, type ResourceBackend, selectionOf, selects, type TableDef, type WatchHandle } from '@fedns/kubewire';
import type { ClusterObject, ClusterSummary, ConditionStatus, FederationStatusView, RegionSummary, ServiceProblem, ServiceState } from '@fedns/model';
import { SERVICE_STATES, topologyFromCluster } from '@fedns/model';
import type { Store } from '@fedns/store';
import { FEDERATION_GROUP } from './recordsets.js';

export { type ClusterSummary, type RegionSummary, SERVICE_STATES, type ServiceState } from '@fedns/model';

/** Services not answering from healthy shards listed in the status (the rest are only counted). */
const PROBLEMS_LISTED = 100;

type Conditions = { type: string; status: string; reason?: string; message?: string }[];
const condition = (o: { status?: { conditions?: Conditions } }, type: string) => o.status?.conditions?.find((c) => c.type === type);
const condStatus = (v: string | undefined): ConditionStatus => (v === 'True' || v === 'False' ? v : 'Unknown');

/** A Service's state: the reason of its ShardsHealthy condition. */
export function serviceState(svc: { status?: { conditions?: Conditions } }): ServiceState {
  const reason = condition(svc, 'ShardsHealthy')?.reason;
  return (SERVICE_STATES as readonly string[]).includes(reason ?? '') ? (reason as ServiceState) : 'Unknown';
}

/** The cluster side of the summary: each cluster, and the regions → zones → clusters map. */
export function summarizeClusters(clusters: ClusterObject[]): { clusters: ClusterSummary[]; regions: RegionSummary[] } {
  const out: ClusterSummary[] = clusters
    .map((c) => {
      const t = topologyFromCluster(c);
      const obj = c as ClusterObject & { status?: { conditions?: Conditions } };
      return {
        name: t.name,
        region: t.region,
        zones: t.zones,
        ready: condStatus(condition(obj, 'Ready')?.status),
        reachable: condStatus(condition(obj, 'Reachable')?.status),
        drained: Boolean(t.drained),
        drainedZones: t.drainedZones ?? [],
        message: condition(obj, 'Ready')?.message ?? '',
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const regions = new Map<string, Map<string, string[]>>();
  for (const c of out) {
    const zones = regions.get(c.region) ?? new Map<string, string[]>();
    regions.set(c.region, zones);
    for (const z of c.zones.length ? c.zones : ['']) zones.set(z, [...(zones.get(z) ?? []), c.name]);
  }
  const sorted = [...regions.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    clusters: out,
    regions: sorted.map(([name, zones]) => ({ name, zones: [...zones.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([z, cs]) => ({ name: z, clusters: cs })) })),
  };
}

/** The FederationStatus object as of now. */
export async function federationStatus(store: Store, federation: { name: string; zone: string }): Promise<FederationStatusView & KubeObject> {
  const [clusterRows, serviceRows, zone] = await Promise.all([store.listObjects<ClusterObject>('clusters'), store.listObjects<Record<string, unknown>>('services'), store.zoneSnapshot()]);
  const { clusters, regions } = summarizeClusters(clusterRows.items.map((r) => ({ ...r.object, metadata: { ...(r.object.metadata ?? {}), name: r.name } }) as ClusterObject));
  const counts = Object.fromEntries(SERVICE_STATES.map((s) => [s, 0])) as Record<ServiceState, number>;
  const problems: ServiceProblem[] = [];
  for (const r of serviceRows.items) {
    const svc = r.object as { status?: { conditions?: Conditions } };
    const state = serviceState(svc);
    counts[state]++;
    if (state !== 'HealthyShards' && problems.length < PROBLEMS_LISTED) problems.push({ namespace: r.namespace, name: r.name, state, message: condition(svc, 'ShardsHealthy')?.message ?? 'no status yet' });
  }
  const count = (f: (c: ClusterSummary) => boolean) => clusters.filter(f).length;
  return {
    apiVersion: `${FEDERATION_GROUP}/v1`,
    kind: 'FederationStatus',
    metadata: { name: federation.name, resourceVersion: String(Math.max(clusterRows.revision, serviceRows.revision)) },
    spec: { zone: federation.zone },
    status: {
      soaSerial: zone.soaSerial,
      clusterCounts: { total: clusters.length, ready: count((c) => c.ready === 'True'), reachable: count((c) => c.reachable === 'True'), drained: count((c) => c.drained || c.drainedZones.length > 0) },
      clusters,
      regions,
      serviceCounts: { total: serviceRows.items.length, ...counts },
      problemServices: problems,
    },
  };
}

export const federationStatusTable: TableDef = {
  columns: [
    { name: 'Name', type: 'string', format: 'name', description: 'The federation', priority: 0 },
    { name: 'Zone', type: 'string', format: '', description: 'The DNS zone', priority: 0 },
    { name: 'Serial', type: 'integer', format: '', description: 'SOA serial', priority: 0 },
    { name: 'Clusters', type: 'string', format: '', description: 'ready/total member clusters', priority: 0 },
    { name: 'Drained', type: 'integer', format: '', description: 'clusters with a drain', priority: 0 },
    { name: 'Services', type: 'integer', format: '', description: 'federated services', priority: 0 },
    { name: 'Healthy', type: 'integer', format: '', description: 'services whose global name answers from healthy shards', priority: 0 },
    { name: 'FailOpen', type: 'integer', format: '', description: 'services failing open', priority: 1 },
    { name: 'FailClosed', type: 'integer', format: '', description: 'services failing closed', priority: 1 },
  ],
  cells: (o) => {
    const s = o.status as { soaSerial: number; clusterCounts: Record<string, number>; serviceCounts: Record<string, number> };
    return [o.metadata.name, o.spec?.zone, s.soaSerial, `${s.clusterCounts.ready}/${s.clusterCounts.total}`, s.clusterCounts.drained, s.serviceCounts.total, s.serviceCounts.HealthyShards, s.serviceCounts.FailOpen, s.serviceCounts.FailClosed];
  },
};

/** The backend: get and list compute the one object; there is nothing to write or watch. */
export class FederationStatusBackend implements ResourceBackend {
  constructor(
    private readonly store: Store,
    private readonly federation: { name: string; zone: string },
  ) {}

  async get(_ns: string | undefined, name: string): Promise<KubeObject | undefined> {
    return name === this.federation.name ? federationStatus(this.store, this.federation) : undefined;
  }

  async list(opts: ListOptions = {}): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const obj = await federationStatus(this.store, this.federation);
    return { items: selects(selectionOf(opts), obj, false) ? [obj] : [], resourceVersion: obj.metadata.resourceVersion as string };
  }

  create(): KubeObject {
    throw errors.methodNotAllowed('create', 'federationstatuses');
  }
  update(): KubeObject {
    throw errors.methodNotAllowed('update', 'federationstatuses');
  }
  delete(): KubeObject {
    throw errors.methodNotAllowed('delete', 'federationstatuses');
  }
  watch(): WatchHandle {
    throw errors.methodNotAllowed('watch', 'federationstatuses');
  }
}

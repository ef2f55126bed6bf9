/**
 * The console's read views: the FederationStatus object (federation.fedns.io/v1)
 * and the dashboard's page of service rows. The API server builds them;
 * `kubectl fedns status` and the dashboard read them — one definition, so they
 * cannot drift apart. (No imports: the dashboard's browser build reads this file.)
 */

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface ClusterSummary {
  name: string;
  region: string;
  zones: string[];
  ready: ConditionStatus;
  reachable: ConditionStatus;
  /** The whole cluster drained (spec.drained). */
  drained: boolean;
  drainedZones: string[];
  /** The Ready condition's message (why not Ready). */
  message: string;
}

export interface ZoneSummary {
  name: string;
  clusters: string[];
}

export interface RegionSummary {
  name: string;
  zones: ZoneSummary[];
}

/** The ShardsHealthy reasons a Service may have; `Unknown` until the controller wrote its status. */
export const SERVICE_STATES = ['HealthyShards', 'FailOpen', 'FailClosed', 'WaitingForClusters', 'Unknown'] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];

export interface ServiceProblem {
  namespace: string;
  name: string;
  state: ServiceState;
  message: string;
}

export interface FederationStatusView {
  apiVersion: string;
  kind: 'FederationStatus';
  metadata: { name: string; resourceVersion?: string };
  spec: { zone: string };
  status: {
    soaSerial: number;
    clusterCounts: { total: number; ready: number; reachable: number; drained: number };
    clusters: ClusterSummary[];
    regions: RegionSummary[];
    /** By state; a client reads a missing state as 0 (a server older than a new state). */
    serviceCounts: { total: number } & Partial<Record<ServiceState, number>>;
    /** Services not answering from healthy shards (the first ones; the rest are only counted). */
    problemServices: ServiceProblem[];
  };
}

/** The dashboard's service list: one compact row per federated service. */
export interface ServiceRow {
  namespace: string;
  name: string;
  state: ServiceState;
  message: string;
  /** Load-balancer ingress of every shard (the global name's fail-open set). */
  ingress: string[];
  created: string;
}

export interface ServicePage {
  items: ServiceRow[];
  /** Rows matching the filter, over every page. */
  total: number;
  /** Pass back as `continue` for the next page; absent on the last one. */
  continue?: string;
}

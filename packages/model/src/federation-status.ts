/**
 * The FederationStatus object's shape (federation.fedns.io/v1): the API server
 * builds it, `kubectl fedns status` reads it — one definition, so the two
 * cannot drift apart.
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

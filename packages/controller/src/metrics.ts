import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Every series the controller exports, in one place (names prefixed fedns_, labels an alert can group by). */
export function controllerMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  return {
    propagations: new Counter({ name: 'fedns_propagations_total', help: 'Member Service writes by cluster, action and result', labelNames: ['cluster', 'action', 'result'], registers }),
    propagationFailures: new Counter({ name: 'fedns_propagation_failures_total', help: 'Failed attempts to bring a member Service in line, by cluster', labelNames: ['cluster'], registers }),
    transitions: new Counter({ name: 'fedns_shard_transitions_total', help: 'Shard health changes (flaps) by cluster and new state', labelNames: ['cluster', 'state'], registers }),
    clustersReady: new Gauge({ name: 'fedns_clusters_ready', help: 'Member clusters counted Ready', registers }),
    clusterReady: new Gauge({ name: 'fedns_cluster_ready', help: 'Whether a member cluster counts as Ready (1) or not (0)', labelNames: ['cluster'], registers }),
    clusterReachable: new Gauge({ name: 'fedns_cluster_reachable', help: 'Whether a member cluster answered its last /readyz probe (1) or not (0)', labelNames: ['cluster'], registers }),
    conflicts: new Gauge({ name: 'fedns_member_conflicts', help: 'Member objects owned by another federation that fedns leaves alone, by cluster', labelNames: ['cluster'], registers }),
    failOpen: new Gauge({ name: 'fedns_services_without_healthy_shard', help: 'Federated services with no healthy shard (answered fail-open or fail-closed)', registers }),
    reconcileErrors: new Counter({ name: 'fedns_controller_reconcile_errors_total', help: 'Reconcile attempts that failed (retried with back-off), by controller', labelNames: ['controller'], registers }),
    memberDnsConflicts: new Counter({ name: 'fedns_member_dns_conflicts_total', help: 'Writes of the member CoreDNS configuration that lost a resourceVersion race (409) and were retried, by cluster', labelNames: ['cluster'], registers }),
    queueDepth: new Gauge({ name: 'fedns_controller_queue_depth', help: 'Keys waiting or being reconciled, by controller', labelNames: ['controller'], registers }),
    probes: new Counter({ name: 'fedns_probes_total', help: 'Probes of shard load-balancer addresses made by this process, by protocol and result', labelNames: ['protocol', 'result'], registers }),
    probeSeconds: new Histogram({
      name: 'fedns_probe_duration_seconds',
      help: 'Time one probe of one address took (to success, failure or timeout)',
      labelNames: ['protocol'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    probeVerdicts: new Counter({ name: 'fedns_probe_verdict_changes_total', help: "This process's probe verdict changes (after thresholds), by new verdict", labelNames: ['verdict'], registers }),
    probeTargets: new Gauge({ name: 'fedns_probe_targets', help: 'Shards this process probes', registers }),
    probeFailedShards: new Gauge({ name: 'fedns_probe_failed_shards', help: 'Shards the leader judges failed by probes (more than half of the fresh verdicts)', registers }),
    probers: new Gauge({ name: 'fedns_probers', help: 'Controllers whose probe verdicts count now (fresh), as the leader sees them', registers }),
  };
}

export type ControllerMetrics = ReturnType<typeof controllerMetrics>;

/** The zone writer's series (records reconciler): how fast commits land and which serial is current. */
export function zoneMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  return {
    commitSeconds: new Histogram({
      name: 'fedns_zone_commit_duration_seconds',
      help: 'Time to compute and commit one zone change (cascade, diff, transaction)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    commits: new Counter({ name: 'fedns_zone_commits_total', help: 'Zone commits (each one SOA serial)', registers }),
    serial: new Gauge({ name: 'fedns_zone_soa_serial', help: 'The SOA serial of the last commit', registers }),
    lastCommit: new Gauge({ name: 'fedns_zone_last_commit_timestamp_seconds', help: 'Unix time of the last zone commit', registers }),
    reconcileErrors: new Counter({ name: 'fedns_zone_reconcile_errors_total', help: 'Services whose records could not be computed (left as published)', registers }),
  };
}

export type ZoneMetrics = ReturnType<typeof zoneMetrics>;

/** DNSSEC signing on commit (issue 15). */
export function dnssecMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  return {
    signatures: new Counter({ name: 'fedns_dnssec_signatures_total', help: 'RRSIGs made by the zone writer', registers }),
    signSeconds: new Histogram({
      name: 'fedns_dnssec_signing_duration_seconds',
      help: 'Time spent signing per zone commit (RRSIGs, NSEC3 chain)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    }),
    expiryDays: new Gauge({ name: 'fedns_dnssec_earliest_expiry_days', help: 'Days until the earliest RRSIG in the zone expires', registers }),
    signed: new Gauge({ name: 'fedns_dnssec_signed', help: 'Whether the zone is signed (1) or not (0)', registers }),
  };
}

export type DnssecMetrics = ReturnType<typeof dnssecMetrics>;

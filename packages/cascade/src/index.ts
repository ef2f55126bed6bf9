/** @fedns/cascade — the pure cascade engine: services, topology and shard health in, DNS record sets out. */
export type { CascadeInput, FederationRef, GlobalState, ServiceSummary } from './build.js';
export {
  FAIL_CLOSED_TEXT,
  NO_ADDRESS_TEXT,
  PENDING_TEXT,
  buildRecordSets,
  buildServiceRecordSets,
  summarizeService,
} from './build.js';
export { applyRecordSetDiff, diffRecordSets } from './diff.js';
export { shardServable } from './health.js';
export { serviceNameProblems, serviceNames } from './names.js';
export { compareRecordSets, recordSetKey } from './order.js';
export { explainName, formatExplanation, type Explanation, type ExplainStep, type ExplainedProbe, type ExplainedShard } from './explain.js';
export { centreOf, clusterLocation, nearestRegion, rankRegions, type RankedRegion, regionLocations } from './locations.js';
export { addressPolicy, fallbackRegion } from './traffic.js';
export { judgeProbes, PROBE_HEARTBEAT_MS, PROBE_STALE_MS, type ProbeJudgement, type ProbeVerdictView, verdictCounts, withProbes } from './probes.js';
export { answerKey, buildClusterAnswers, diffClusterAnswers, nearestPublicName } from './cluster-answers.js';

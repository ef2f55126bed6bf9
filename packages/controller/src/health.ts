/**
 * Shard health, the time-based part (DESIGN §4): a failing shard leaves at
 * once; one that recovers must stay healthy for a stabilisation window; a
 * cluster that stops answering keeps its shards' last known state for a grace
 * period. Pure functions of (previous state, observation, now).
 */

export interface HealthTiming {
  /** How long a recovered shard must stay healthy before it is published again. */
  stabilizationMs: number;
  /** How long an unreachable cluster's shards keep their last known state. */
  clusterGraceMs: number;
}

export const DEFAULT_TIMING: HealthTiming = { stabilizationMs: 3000, clusterGraceMs: 40000 };

/** What a member cluster shows of one shard right now. */
export interface ShardObservation {
  serviceExists: boolean;
  addresses: string[];
  readyEndpoints: number;
}

export interface ShardHealthState {
  healthy: boolean;
  /** When `healthy` last changed (ms since epoch). */
  since: number;
  /** Set while a recovered shard waits out its stabilisation window. */
  recoveringSince?: number;
  /** Whether the shard was ever published healthy (a first appearance needs no stabilisation). */
  everHealthy: boolean;
  message: string;
}

/** Whether an observation is healthy by itself, with the reason when it is not. */
export function judgeObservation(obs: ShardObservation, minReadyEndpoints: number): { ok: boolean; message: string } {
  if (!obs.serviceExists) return { ok: false, message: 'service missing in the member cluster' };
  if (obs.addresses.length === 0) return { ok: false, message: 'no load-balancer address yet' };
  if (obs.readyEndpoints < minReadyEndpoints) {
    return { ok: false, message: `${obs.readyEndpoints} ready endpoint(s), fewer than ${minReadyEndpoints}` };
  }
  return { ok: true, message: `${obs.readyEndpoints} ready endpoint(s)` };
}

/**
 * The next effective health. `recheckAt` is when the state may change with no
 * new observation (the end of a stabilisation window), so the caller can
 * schedule a re-evaluation instead of polling.
 */
export function nextShardHealth(
  prev: ShardHealthState | undefined,
  judged: { ok: boolean; message: string },
  now: number,
  timing: HealthTiming,
): { state: ShardHealthState; recheckAt?: number } {
  if (!judged.ok) {
    if (prev && !prev.healthy && prev.recoveringSince === undefined && prev.message === judged.message) return { state: prev };
    return { state: { healthy: false, since: prev && !prev.healthy ? prev.since : now, everHealthy: prev?.everHealthy ?? false, message: judged.message } };
  }
  if (prev?.healthy) return { state: prev.message === judged.message ? prev : { ...prev, message: judged.message } };
  if (!prev?.everHealthy || timing.stabilizationMs <= 0) {
    return { state: { healthy: true, since: now, everHealthy: true, message: judged.message } };
  }
  const recoveringSince = prev.recoveringSince ?? now;
  const readyAt = recoveringSince + timing.stabilizationMs;
  if (now >= readyAt) return { state: { healthy: true, since: now, everHealthy: true, message: judged.message } };
  const waiting = `recovering: ${judged.message}, stabilising until ${new Date(readyAt).toISOString()}`;
  return { state: { ...prev, recoveringSince, message: waiting }, recheckAt: readyAt };
}

/**
 * When a member was last seen, for the grace period, as this process starts
 * (issue 9): a member that counted Ready before the restart keeps its shards
 * for a grace period counted from the later of its last-seen time and the
 * restart; one that was already past its grace stays not Ready until it answers.
 */
export function lastSeenAtStart(persisted: { lastSeen: string; ready: boolean } | undefined, startedAt: number): number | undefined {
  if (!persisted?.ready) return undefined;
  const seen = Date.parse(persisted.lastSeen);
  return Number.isFinite(seen) ? Math.max(seen, startedAt) : startedAt;
}

/** A shard's health state as the store keeps it (ISO times) and as nextShardHealth works on it (ms). */
export interface StoredHealth {
  healthy: boolean;
  since: string;
  message: string;
  everHealthy?: boolean;
  recoveringSince?: string;
}

export function healthFromStored(s: StoredHealth): ShardHealthState {
  const state: ShardHealthState = { healthy: s.healthy, since: Date.parse(s.since) || 0, everHealthy: s.everHealthy ?? s.healthy, message: s.message };
  if (s.recoveringSince !== undefined) state.recoveringSince = Date.parse(s.recoveringSince) || 0;
  return state;
}

export function healthToStored(h: ShardHealthState): StoredHealth {
  const s: StoredHealth = { healthy: h.healthy, since: new Date(h.since).toISOString(), message: h.message, everHealthy: h.everHealthy };
  if (h.recoveringSince !== undefined) s.recoveringSince = new Date(h.recoveringSince).toISOString();
  return s;
}

/** Whether a cluster counts as Ready: answering now, or unreachable for less than the grace period. */
export function clusterCountsReady(lastSeenOk: number | undefined, reachable: boolean, now: number, timing: HealthTiming): boolean {
  if (reachable) return true;
  if (lastSeenOk === undefined) return false;
  return now - lastSeenOk < timing.clusterGraceMs;
}

const REGION_LABELS = ['topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/region'];
const ZONE_LABELS = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'];

/** Region and zones of a cluster from its nodes' labels (DESIGN §1: standard labels, then the legacy ones). */
export function topologyFromNodes(nodes: readonly { metadata?: { labels?: Record<string, string> } }[]): { region: string; zones: string[] } {
  const regions = new Map<string, number>();
  const zones = new Set<string>();
  for (const n of nodes) {
    const labels = n.metadata?.labels ?? {};
    const region = REGION_LABELS.map((l) => labels[l]).find((v) => v);
    const zone = ZONE_LABELS.map((l) => labels[l]).find((v) => v);
    if (region) regions.set(region, (regions.get(region) ?? 0) + 1);
    if (zone) zones.add(zone);
  }
  // A cluster belongs to one region; if nodes disagree, the majority wins.
  const region = [...regions.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? '';
  return { region, zones: [...zones].sort() };
}

/**
 * The leader's judgement of a shard from every controller's probe verdicts
 * (issue 14), pure: a verdict counts when its prober recorded recently and it
 * is about the shard as it is (the same probe, the same addresses); the shard
 * has failed when more than half of the counted verdicts say so. No counted
 * verdict: the probes say nothing, and readiness alone decides.
 */
import type { StoredProbeVerdict } from '@fedns/store';

export interface ProbeJudgement {
  failed: boolean;
  counted: number;
  failing: number;
  /** Why, when failed: the failing probers' messages. */
  message: string;
}

/** A prober that has not recorded for this long is gone (it records at least every PROBE_HEARTBEAT_MS). */
export const PROBE_HEARTBEAT_MS = 2_000;
export const PROBE_STALE_MS = 5 * PROBE_HEARTBEAT_MS;

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether a verdict counts for a shard with these addresses under this probe. */
export function verdictCounts(v: Pick<StoredProbeVerdict, 'proberAgeMs' | 'target' | 'addresses'>, target: string, addresses: readonly string[], staleMs = PROBE_STALE_MS): boolean {
  return v.proberAgeMs < staleMs && v.target === target && sameList([...v.addresses].sort(), [...addresses].sort());
}

export function judgeProbes(verdicts: readonly StoredProbeVerdict[], target: string, addresses: readonly string[], staleMs = PROBE_STALE_MS): ProbeJudgement | undefined {
  const counted = verdicts.filter((v) => verdictCounts(v, target, addresses, staleMs));
  if (counted.length === 0) return undefined;
  const failing = counted.filter((v) => !v.ok);
  const failed = failing.length * 2 > counted.length;
  const detail = failing.map((v) => `${v.prober}: ${v.message}`).join('; ');
  return {
    failed,
    counted: counted.length,
    failing: failing.length,
    message: failed ? `probe ${target} failed from ${failing.length} of ${counted.length} controller(s) (${detail})` : '',
  };
}

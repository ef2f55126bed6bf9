/**
 * Judging a shard from every controller's probe verdicts (issue 14), pure: a
 * verdict counts when its prober recorded recently and it is about the shard
 * as it is (the same probe, the same addresses); the shard has failed when
 * more than half of the counted verdicts say so. No counted verdict: the
 * probes say nothing, and readiness alone decides. The controller's leader
 * judges with it; explain shows the same verdicts, counted or not.
 */
import type { StoredProbeVerdict } from '@fedns/model';
import type { ExplainedProbe } from './explain.js';

/** A prober's verdict as judging needs it: the store's, read back with whose and how fresh. */
export type ProbeVerdictView = StoredProbeVerdict;

export interface ProbeJudgement {
  failed: boolean;
  counted: number;
  failing: number;
  /** Why, when failed: the failing probers' messages. */
  message: string;
}

/** A prober records at least this often while it runs (its heartbeat)… */
export const PROBE_HEARTBEAT_MS = 2_000;
/** …and one silent for this long is gone: its verdicts stop counting. */
export const PROBE_STALE_MS = 5 * PROBE_HEARTBEAT_MS;

const sameSet = (a: readonly string[], b: readonly string[]) => {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((x, i) => x === sb[i]);
};

/** Whether a verdict counts for a shard with these addresses under this probe. */
export function verdictCounts(v: Pick<ProbeVerdictView, 'proberAgeMs' | 'target' | 'addresses'>, target: string, addresses: readonly string[], staleMs = PROBE_STALE_MS): boolean {
  return v.proberAgeMs < staleMs && v.target === target && sameSet(v.addresses, addresses);
}

export function judgeProbes(verdicts: readonly ProbeVerdictView[], target: string, addresses: readonly string[], staleMs = PROBE_STALE_MS): ProbeJudgement | undefined {
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

/**
 * Shards with their probe verdicts attached as explain shows them; `targetOf`
 * names each service's current probe (undefined: no probe, verdicts left off).
 */
export function withProbes<S extends { cluster: string; namespace: string; service: string; addresses: string[] }>(
  shards: readonly S[],
  verdicts: readonly ProbeVerdictView[],
  targetOf: (namespace: string, service: string) => string | undefined,
): (S & { probes?: ExplainedProbe[] })[] {
  const byShard = new Map<string, ProbeVerdictView[]>();
  for (const v of verdicts) {
    const k = `${v.cluster}/${v.namespace}/${v.service}`;
    const list = byShard.get(k);
    if (list) list.push(v);
    else byShard.set(k, [v]);
  }
  return shards.map((s) => {
    const list = byShard.get(`${s.cluster}/${s.namespace}/${s.service}`);
    const target = list && targetOf(s.namespace, s.service);
    if (!list || !target) return s;
    const probes = list.map((v) => ({ prober: v.prober, ok: v.ok, fresh: verdictCounts(v, target, s.addresses), target: v.target, since: v.since, message: v.message }));
    return { ...s, probes };
  });
}

import type { ClusterTopology, RecordSet, Shard } from '@fedns/model';
import { absoluteName, isDnssecType } from '@fedns/model';
import { describeHop, describePolicy } from './explain-policy.js';
import { indexClusters } from './topology.js';

/** One controller's probe verdict on a shard (issue 14), as explain shows it. */
export interface ExplainedProbe {
  prober: string;
  ok: boolean;
  /** Counted: the prober is alive and probed the shard's current addresses. */
  fresh: boolean;
  target: string;
  since: string;
  message: string;
}

/** A shard as `explain` shows it: its state, since when, and why. */
export interface ExplainedShard {
  cluster: string;
  healthy: boolean;
  /** Why a healthy shard is not published at this level (its cluster or zone is drained). */
  drained?: string;
  addresses: string[];
  readyEndpoints: number;
  since?: string;
  message?: string;
  /** Probes from outside, one verdict per controller (when the service has a probe). */
  probes?: ExplainedProbe[];
}

/** One name of a chain and why it answers the way it does. */
export interface ExplainStep {
  name: string;
  level?: RecordSet['level'];
  /** What the name holds: A/AAAA addresses, a CNAME target, a TXT marker, or nothing. */
  answer: { type: RecordSet['type']; data: string[]; ttl: number }[];
  reason: string;
  shards: ExplainedShard[];
}

export interface Explanation {
  name: string;
  exists: boolean;
  service?: string;
  steps: ExplainStep[];
}

type ShardWithTime = Shard & { since?: string; message?: string; probes?: ExplainedProbe[] };

/**
 * How a name resolves now and why: follows the in-zone CNAME chain and, at
 * each level, lists the shards behind it (the ones in that zone or region, or
 * all of them at the global level). Pure: the caller passes the published
 * record sets and the stored shards and clusters.
 */
export function explainName(rawName: string, recordSets: RecordSet[], shards: ShardWithTime[], clusters: ClusterTopology[]): Explanation {
  const name = absoluteName(rawName);
  const byName = new Map<string, RecordSet[]>();
  for (const rs of recordSets) {
    if (isDnssecType(rs.type)) continue; // the signer's RRSIG/NSEC3/DNSKEY sets explain nothing
    const list = byName.get(rs.name);
    if (list) list.push(rs);
    else byName.set(rs.name, [rs]);
  }
  const topo = new Map(clusters.map((c) => [c.name, c]));
  const locations = indexClusters(clusters).regionLocations;
  const steps: ExplainStep[] = [];
  const seen = new Set<string>();
  let current: string | undefined = name;
  let service: string | undefined;
  while (current && !seen.has(current)) {
    seen.add(current);
    const sets = byName.get(current);
    if (!sets) break;
    const first = sets[0] as RecordSet;
    service ??= `${first.namespace}/${first.service}`;
    const own = shards.filter((s) => s.namespace === first.namespace && s.service === first.service);
    const behind = own.filter((s) => {
      const t = topo.get(s.cluster);
      if (first.level === 'zone') return t?.region === first.region && t?.zones.includes(first.zone ?? '');
      if (first.level === 'region') return t?.region === first.region;
      return true;
    });
    const explained: ExplainedShard[] = behind.map((s) => {
      const drained = drainOf(topo.get(s.cluster), first.level === 'zone' ? first.zone : undefined);
      return {
        cluster: s.cluster,
        healthy: s.healthy,
        ...(drained ? { drained } : {}),
        addresses: s.addresses,
        readyEndpoints: s.readyEndpoints,
        ...(s.since ? { since: s.since } : {}),
        ...(s.message ? { message: s.message } : {}),
        ...(s.probes?.length ? { probes: s.probes } : {}),
      };
    });
    const where = first.level === 'zone' ? `zone ${first.zone}` : first.level === 'region' ? `region ${first.region}` : 'the federation';
    const healthy = explained.filter((s) => s.healthy && !s.drained).map((s) => s.cluster);
    const drainedHealthy = explained.filter((s) => s.healthy && s.drained);
    const drainNote = drainedHealthy.length ? `; not published, drained: ${drainedHealthy.map((s) => `${s.cluster} (${s.drained})`).join(', ')}` : '';
    const cname = sets.find((r) => r.type === 'CNAME');
    const txt = sets.find((r) => r.type === 'TXT');
    let reason: string;
    const why = (s: ExplainedShard) => (s.healthy && s.drained ? s.drained : s.message || 'unhealthy');
    const target = cname ? byName.get(cname.data[0] ?? '')?.[0] : undefined;
    if (cname) reason = `no healthy shard in ${where}${explained.length ? ` (${explained.map((s) => `${s.cluster}: ${why(s)}`).join('; ')})` : ''}; ${describeHop(first, target, byName, locations)}`;
    else if (txt) reason = `no address published at the global name: ${txt.data.join(' ')}${drainNote}`;
    else if (first.level === 'global' && healthy.length === 0) reason = `no healthy shard anywhere: failing open with every known shard address${drainNote}`;
    else reason = `healthy shards in ${where}: ${healthy.join(', ')}${drainNote}`;
    const policy = describePolicy(sets);
    if (policy) reason += `; ${policy}`;
    steps.push({ name: current, level: first.level, answer: sets.map((r) => ({ type: r.type, data: r.data, ttl: r.ttl })), reason, shards: explained });
    current = cname?.data[0];
  }
  return { name, exists: steps.length > 0, ...(service ? { service } : {}), steps };
}

/** Why a cluster's shard is not published at a level: the whole cluster, its zone here, or all its zones drained. */
function drainOf(c: ClusterTopology | undefined, zone: string | undefined): string | undefined {
  if (!c) return undefined;
  if (c.drained) return 'cluster drained: spec.drained';
  const drainedZones = (c.drainedZones ?? []).map((z) => z.toLowerCase());
  if (zone !== undefined) return drainedZones.includes(zone.toLowerCase()) ? `zone ${zone} drained: spec.drainedZones` : undefined;
  const zones = c.zones.map((z) => z.toLowerCase());
  if (zones.length > 0 && zones.every((z) => drainedZones.includes(z))) return 'every zone drained: spec.drainedZones';
  return undefined;
}

/** Human-readable form for `fedns explain`. */
export function formatExplanation(e: Explanation): string {
  if (!e.exists) return `${e.name} is not a published name (NXDOMAIN or an empty non-terminal)\n`;
  const out: string[] = [`${e.name} (service ${e.service})`];
  e.steps.forEach((s, i) => {
    const answer = s.answer.map((a) => `${a.type} ${a.data.join(', ')} (ttl ${a.ttl})`).join('; ');
    out.push(`${'  '.repeat(i)}${i ? '→ ' : ''}${s.name} [${s.level}] ${answer}`);
    out.push(`${'  '.repeat(i)}  why: ${s.reason}`);
    for (const sh of s.shards) {
      const state = sh.healthy ? (sh.drained ? `healthy but drained (${sh.drained})` : 'healthy') : 'unhealthy';
      out.push(`${'  '.repeat(i)}  - ${sh.cluster}: ${state}${sh.since ? ` since ${sh.since}` : ''}, ${sh.readyEndpoints} ready, LB ${sh.addresses.join(', ') || 'none'}${sh.message ? ` (${sh.message})` : ''}`);
      for (const p of sh.probes ?? []) {
        out.push(`${'  '.repeat(i)}      probe ${p.target} from ${p.prober}: ${p.ok ? 'ok' : 'failed'} since ${p.since}${p.fresh ? '' : ' (stale, not counted)'}${p.message ? ` (${p.message})` : ''}`);
      }
    }
  });
  return `${out.join('\n')}\n`;
}

import type { ClusterTopology, RecordSet, Shard } from '@fedns/model';
import { absoluteName } from '@fedns/model';

/** A shard as `explain` shows it: its state, since when, and why. */
export interface ExplainedShard {
  cluster: string;
  healthy: boolean;
  addresses: string[];
  readyEndpoints: number;
  since?: string;
  message?: string;
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

type ShardWithTime = Shard & { since?: string; message?: string };

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
    const list = byName.get(rs.name);
    if (list) list.push(rs);
    else byName.set(rs.name, [rs]);
  }
  const topo = new Map(clusters.map((c) => [c.name, c]));
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
    const explained = behind.map((s) => ({
      cluster: s.cluster,
      healthy: s.healthy,
      addresses: s.addresses,
      readyEndpoints: s.readyEndpoints,
      ...(s.since ? { since: s.since } : {}),
      ...(s.message ? { message: s.message } : {}),
    }));
    const where = first.level === 'zone' ? `zone ${first.zone}` : first.level === 'region' ? `region ${first.region}` : 'the federation';
    const healthy = explained.filter((s) => s.healthy).map((s) => s.cluster);
    const cname = sets.find((r) => r.type === 'CNAME');
    const txt = sets.find((r) => r.type === 'TXT');
    let reason: string;
    if (cname) reason = `no healthy shard in ${where}${explained.length ? ` (${explained.map((s) => `${s.cluster}: ${s.message || 'unhealthy'}`).join('; ')})` : ''}; aliased one level up`;
    else if (txt) reason = `no address published at the global name: ${txt.data.join(' ')}`;
    else if (first.level === 'global' && healthy.length === 0) reason = 'no healthy shard anywhere: failing open with every known shard address';
    else reason = `healthy shards in ${where}: ${healthy.join(', ')}`;
    steps.push({ name: current, level: first.level, answer: sets.map((r) => ({ type: r.type, data: r.data, ttl: r.ttl })), reason, shards: explained });
    current = cname?.data[0];
  }
  return { name, exists: steps.length > 0, ...(service ? { service } : {}), steps };
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
      out.push(`${'  '.repeat(i)}  - ${sh.cluster}: ${sh.healthy ? 'healthy' : 'unhealthy'}${sh.since ? ` since ${sh.since}` : ''}, ${sh.readyEndpoints} ready, LB ${sh.addresses.join(', ') || 'none'}${sh.message ? ` (${sh.message})` : ''}`);
    }
  });
  return `${out.join('\n')}\n`;
}

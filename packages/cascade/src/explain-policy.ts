/** Explain's words for traffic policy (issue 14): why a region aliased where it did, and how a set answers per query. */
import type { GeoPoint, RecordSet } from '@fedns/model';
import { rankRegions } from './locations.js';

const km = (n: number) => `${Math.round(n).toLocaleString('en-US')} km`;

/**
 * Why a CNAME points where it does: one level up (zone → region, region →
 * global), or across to the nearest region with healthy shards — with the
 * distances that made it the nearest.
 */
export function describeHop(from: RecordSet, to: RecordSet | undefined, byName: ReadonlyMap<string, RecordSet[]>, locations: ReadonlyMap<string, GeoPoint>): string {
  if (!to) return 'aliased to a name with no records';
  if (from.level === 'zone') return `aliased one level up, to region ${to.region}`;
  if (to.level === 'global') return 'aliased one level up, to the global name';
  const region = from.region ?? '';
  const origin = locations.get(region);
  // Regions of this service that answer with addresses: the candidates the cascade ranked.
  const serving = new Set<string>();
  for (const sets of byName.values()) {
    for (const rs of sets) {
      if (rs.level === 'region' && rs.region && rs.region !== region && (rs.type === 'A' || rs.type === 'AAAA')) serving.add(rs.region);
    }
  }
  if (!origin) return `aliased to region ${to.region}`;
  const ranked = rankRegions(origin, serving, locations);
  const chosen = ranked.find((r) => r.region === to.region);
  const others = ranked.filter((r) => r.region !== to.region).slice(0, 3);
  return `aliased to region ${to.region}, the nearest region with healthy shards (region fallback "nearest": ${chosen ? km(chosen.km) : 'distance unknown'} from ${region}${others.length ? `; then ${others.map((r) => `${r.region} ${km(r.km)}`).join(', ')}` : ''})`;
}

const pct = (w: number, total: number) => `${Math.round((w / total) * 1000) / 10}%`;

/** How a name's address sets answer per query under a traffic policy, or undefined when they answer as published. */
export function describePolicy(sets: readonly RecordSet[]): string | undefined {
  const parts: string[] = [];
  for (const rs of sets) {
    const p = rs.policy;
    if (!p) continue;
    const bits: string[] = [];
    if (p.routing === 'nearest') {
      const regions = [...new Set(p.variants.map((v) => v.region || '(no region)'))].sort();
      bits.push(`by client location (ECS or source address): a client gets the shards of its nearest region of ${regions.join(', ')}; a client of unknown location gets all`);
    }
    if (p.weighted) {
      // Routed: the shares are within each region, the one a client is sent to.
      const group = (v: (typeof p.variants)[number]) => (p.routing === 'nearest' ? v.region : '');
      const totals = new Map<string, number>();
      for (const v of p.variants) totals.set(group(v), (totals.get(group(v)) ?? 0) + v.weight);
      const share = p.routing === 'nearest' ? ' within the region chosen' : '';
      bits.push(`one shard per answer in proportion to weight${share}: ${p.variants.map((v) => `${v.cluster} ${v.weight} (${pct(v.weight, totals.get(group(v)) ?? v.weight)})`).join(', ')}`);
    }
    if (bits.length) parts.push(`${rs.type} answered per query ${bits.join('; ')}`);
  }
  return parts.length ? parts.join('; ') : undefined;
}

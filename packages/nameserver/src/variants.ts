/**
 * Per-query choices between precompiled answers (issue 14). A chain that
 * ends at an address set with a traffic policy (`RecordSet.policy`, made by
 * the cascade) is compiled once per option: per region (routing by client
 * location), per shard (weights), both. A query then costs a lookup of its
 * client's location (a prefix walk, client-location.ts), a cached map read
 * for that location's region, and for weights one random draw — never a
 * compile, never a decision the cascade did not make: the nearest region is
 * the cascade's `nearestRegion`, by the same great-circle distance.
 */
import { nearestRegion } from '@fedns/cascade';
import type { GeoPoint, RecordPolicy, RecordSet } from '@fedns/model';
import { isIPv4, isIPv6 } from 'node:net';
import type { ClientPoint } from './client-location.js';
import type { Answer } from './zone-index.js';

/** One set of options a query draws from: answers and their cumulative weights (one option: no draw). */
export interface Pool {
  answers: Answer[];
  cumulative: number[];
  total: number;
}

export interface Choice {
  /** Routed by client location: a client gets its nearest region's pool; one of unknown location gets `all`. */
  routed: boolean;
  regions: { region: string; location?: GeoPoint; pool: Pool }[];
  all: Pool;
  /** Client location id → index into `regions` (-1: `all`), filled as clients come; bounded. */
  byClient: Map<number, number>;
}

const BY_CLIENT_MAX = 8192;

/** Why a record set's policy cannot be served (the set is then served as published, without it), or undefined. */
export function policyProblem(rs: RecordSet): string | undefined {
  const p = rs.policy;
  if (p === undefined) return undefined;
  if (rs.type !== 'A' && rs.type !== 'AAAA') return `a policy on a ${rs.type} set`;
  if (!Array.isArray(p.variants) || p.variants.length === 0) return 'a policy without variants';
  const valid = rs.type === 'A' ? isIPv4 : isIPv6;
  for (const v of p.variants) {
    if (!Array.isArray(v.data) || v.data.length === 0 || !v.data.every((a) => typeof a === 'string' && valid(a))) return `variant ${v.cluster}: data must be ${rs.type} addresses`;
    if (typeof v.weight !== 'number' || !(v.weight > 0) || !Number.isFinite(v.weight)) return `variant ${v.cluster}: weight must be a positive number`;
  }
  return undefined;
}

function pool(answers: Answer[], weights: number[]): Pool {
  const cumulative: number[] = [];
  let total = 0;
  for (const w of weights) cumulative.push((total += w));
  return { answers, cumulative, total };
}

const union = (lists: readonly string[][]) => [...new Set(lists.flat())];

/**
 * The options of a policy, each compiled by `compileWith(data)` (the chain
 * with that data at its end); undefined when the policy leaves nothing to
 * choose.
 */
export function buildChoice(rs: RecordSet, compileWith: (data: string[]) => Answer): Choice | undefined {
  const policy = rs.policy as RecordPolicy;
  const routed = policy.routing === 'nearest';
  const weighted = policy.weighted === true;
  if (!routed && !weighted) return undefined;
  // Variants in the order the cascade gave them; a region's in that order too.
  const byRegion = new Map<string, { location?: GeoPoint; variants: typeof policy.variants }>();
  for (const v of policy.variants) {
    const r = byRegion.get(v.region);
    if (r) r.variants.push(v);
    else byRegion.set(v.region, { ...(v.location ? { location: v.location } : {}), variants: [v] });
  }
  const perVariant = weighted ? policy.variants.map((v) => compileWith(v.data)) : [];
  const indexOf = new Map(policy.variants.map((v, i) => [v, i]));
  const regionPool = (variants: typeof policy.variants): Pool =>
    weighted
      ? pool(
          variants.map((v) => perVariant[indexOf.get(v) as number] as Answer),
          variants.map((v) => v.weight),
        )
      : pool([compileWith(union(variants.map((v) => v.data)))], [1]);
  const all: Pool = weighted ? pool(perVariant, policy.variants.map((v) => v.weight)) : pool([compileWith(rs.data)], [1]);
  const regions = routed ? [...byRegion].map(([region, r]) => ({ region, ...(r.location ? { location: r.location } : {}), pool: regionPool(r.variants) })) : [];
  return { routed, regions, all, byClient: new Map() };
}

/** The region of `choice` a client location gets: its own region when the choice has it, else the nearest; -1 for all. */
function regionFor(choice: Choice, point: ClientPoint | undefined): number {
  if (!point) return -1;
  if (point.region !== undefined) {
    const own = choice.regions.findIndex((r) => r.region === point.region);
    if (own >= 0) return own;
  }
  if (!point.location) return -1;
  const locations = new Map<string, GeoPoint>();
  for (const r of choice.regions) if (r.location) locations.set(r.region, r.location);
  const nearest = nearestRegion(point.location, locations.keys(), locations);
  return nearest ? choice.regions.findIndex((r) => r.region === nearest.region) : -1;
}

/**
 * The answer for one query: the client's region's pool (when routed and the
 * client's location is known: `clientId` ≥ 0 indexes `points`), then one draw
 * by weight. `random` is Math.random unless a test fixes it.
 */
export function pick(choice: Choice, clientId: number, points: readonly ClientPoint[], random: () => number = Math.random): Answer {
  let p = choice.all;
  if (choice.routed && clientId >= 0) {
    let r = choice.byClient.get(clientId);
    if (r === undefined) {
      r = regionFor(choice, points[clientId]);
      if (choice.byClient.size >= BY_CLIENT_MAX) choice.byClient.clear();
      choice.byClient.set(clientId, r);
    }
    if (r >= 0) p = (choice.regions[r] as (typeof choice.regions)[number]).pool;
  }
  if (p.answers.length === 1) return p.answers[0] as Answer;
  const x = random() * p.total;
  const c = p.cumulative;
  let lo = 0;
  let hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((c[mid] as number) > x) hi = mid;
    else lo = mid + 1;
  }
  return p.answers[lo] as Answer;
}

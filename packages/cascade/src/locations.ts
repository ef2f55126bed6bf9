/**
 * Where regions are, and which is nearest (issue 14): a cluster is where its
 * `spec.location` says, else where the built-in table puts its region; a
 * region is the centre of its clusters. Distances are great-circle
 * kilometres; ties go to the region whose name sorts first, so every process
 * ranks alike.
 */
import type { GeoPoint } from '@fedns/model';
import { builtinRegionLocation, greatCircleKm } from '@fedns/model';
import { compareStrings } from './order.js';

const rad = (d: number) => (d * Math.PI) / 180;
const deg = (r: number) => (r * 180) / Math.PI;

/** The centre of some points on the sphere (mean of unit vectors: right across the antimeridian too). */
export function centreOf(points: readonly GeoPoint[]): GeoPoint | undefined {
  if (points.length === 0) return undefined;
  if (points.length === 1) return points[0];
  let x = 0;
  let y = 0;
  let z = 0;
  for (const p of points) {
    const lat = rad(p.latitude);
    const lon = rad(p.longitude);
    x += Math.cos(lat) * Math.cos(lon);
    y += Math.cos(lat) * Math.sin(lon);
    z += Math.sin(lat);
  }
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  return { latitude: round(deg(Math.atan2(z, Math.hypot(x, y)))), longitude: round(deg(Math.atan2(y, x))) };
}

/** A cluster's place: its own location, else its region's entry in the built-in table. */
export function clusterLocation(location: GeoPoint | undefined, region: string): GeoPoint | undefined {
  return location ?? (region ? builtinRegionLocation(region) : undefined);
}

/** Every region's location: the centre of its clusters' locations (regions lower-case). */
export function regionLocations(clusters: readonly { region: string; location?: GeoPoint }[]): Map<string, GeoPoint> {
  const points = new Map<string, GeoPoint[]>();
  for (const c of clusters) {
    if (!c.region || !c.location) continue;
    const list = points.get(c.region);
    if (list) list.push(c.location);
    else points.set(c.region, [c.location]);
  }
  const out = new Map<string, GeoPoint>();
  for (const [region, list] of points) {
    const centre = centreOf(list);
    if (centre) out.set(region, centre);
  }
  return out;
}

export interface RankedRegion {
  region: string;
  km: number;
}

/** Candidate regions by distance from `from`, nearest first (ties by name); regions without a location are left out. */
export function rankRegions(from: GeoPoint, candidates: Iterable<string>, locations: ReadonlyMap<string, GeoPoint>): RankedRegion[] {
  const out: RankedRegion[] = [];
  for (const region of candidates) {
    const at = locations.get(region);
    if (at) out.push({ region, km: greatCircleKm(from, at) });
  }
  return out.sort((a, b) => a.km - b.km || compareStrings(a.region, b.region));
}

/** The nearest of the candidates to `from`, or undefined when none has a location. */
export function nearestRegion(from: GeoPoint, candidates: Iterable<string>, locations: ReadonlyMap<string, GeoPoint>): RankedRegion | undefined {
  let best: RankedRegion | undefined;
  for (const region of candidates) {
    const at = locations.get(region);
    if (!at) continue;
    const km = greatCircleKm(from, at);
    if (!best || km < best.km || (km === best.km && compareStrings(region, best.region) < 0)) best = { region, km };
  }
  return best;
}

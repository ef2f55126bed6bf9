/**
 * Where a client is (issue 14): its address — the EDNS Client Subnet a
 * resolver sent (RFC 7871), else the query's source — looked up in the
 * operator's networks (`clientNetworks`: CIDR → region, longest prefix first)
 * and then, optionally, in a MaxMind-format database (`--geoip-database`,
 * read with mmdb-lib: GeoIP2/GeoLite2 City, DB-IP City Lite…). The result is
 * a small integer naming a client location, and the ECS scope the answer is
 * valid for: the prefix length over which every address gets the same
 * location. A lookup is a walk down a binary trie (and, for addresses no
 * network matches, a tree walk in the database, cached per address).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { GeoPoint } from '@fedns/model';
import { builtinRegionLocation, ipv6Words } from '@fedns/model';
import { type CityResponse, Reader } from 'mmdb-lib';

export interface ClientNetwork {
  /** `10.0.0.0/8`, `2001:db8::/32`. */
  cidr: string;
  region: string;
  /** Where the region is, when the built-in table does not know it. */
  location?: GeoPoint;
}

/** A client location: a region (operator's networks) and/or a point on the earth. */
export interface ClientPoint {
  region?: string;
  location?: GeoPoint;
}

export interface Located {
  /** Index into `points`, or -1 when the location is unknown. */
  id: number;
  /** ECS SCOPE PREFIX-LENGTH: how many leading bits of the address this answer holds for. */
  scope: number;
}

export const UNKNOWN: Located = Object.freeze({ id: -1, scope: 0 }) as Located;

/** A binary trie over address bits: node n's children at 2n and 2n+1, its network's point id (or -1). */
class PrefixTrie {
  private child = new Int32Array(64);
  private value = new Int32Array(32).fill(-1);
  private size = 1;

  insert(bytes: Uint8Array, bits: number, id: number): void {
    let n = 0;
    for (let i = 0; i < bits; i++) {
      const b = ((bytes[i >> 3] as number) >> (7 - (i & 7))) & 1;
      let next = this.child[2 * n + b] as number;
      if (next === 0) {
        next = this.grow();
        this.child[2 * n + b] = next;
      }
      n = next;
    }
    this.value[n] = id;
  }

  private grow(): number {
    if (this.size === this.value.length) {
      const child = new Int32Array(this.child.length * 2);
      child.set(this.child);
      this.child = child;
      const value = new Int32Array(this.value.length * 2).fill(-1);
      value.set(this.value);
      this.value = value;
    }
    return this.size++;
  }

  /** The longest network within the first `bits` bits, and the scope over which the result holds. */
  lookup(bytes: Uint8Array, bits: number, max: number): Located {
    let n = 0;
    let best = this.value[0] as number;
    let depth = 0;
    for (; depth < bits; depth++) {
      const b = ((bytes[depth >> 3] as number) >> (7 - (depth & 7))) & 1;
      const next = this.child[2 * n + b] as number;
      if (next === 0) {
        // Nothing more specific down this side: the same for every address sharing depth + 1 bits,
        // or only depth bits when the node has no children at all (a network's own prefix).
        const leaf = this.child[2 * n] === 0 && this.child[2 * n + 1] === 0;
        return { id: best, scope: leaf ? depth : Math.min(depth + 1, max) };
      }
      n = next;
      const v = this.value[n] as number;
      if (v >= 0) best = v;
    }
    return { id: best, scope: depth };
  }
}

function parseCidr(cidr: string): { family: 4 | 6; bytes: Uint8Array; bits: number } | undefined {
  const [addr = '', len] = cidr.split('/');
  const family = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : undefined;
  if (!family) return undefined;
  const max = family === 4 ? 32 : 128;
  const bits = len === undefined ? max : Number(len);
  if (!/^\d+$/.test(len ?? String(max)) || bits > max) return undefined;
  const bytes = addressBytes(addr);
  if (!bytes) return undefined;
  return { family, bytes, bits };
}

/** The octets of an IPv4 or IPv6 literal (an IPv4-mapped IPv6 address gives its 4 IPv4 octets). */
export function addressBytes(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!isIPv6(text)) return undefined;
  const words = ipv6Words(text);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return Uint8Array.of((words[6] as number) >> 8, (words[6] as number) & 0xff, (words[7] as number) >> 8, (words[7] as number) & 0xff);
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

function bytesText(family: 4 | 6, bytes: Uint8Array): string {
  if (family === 4) return `${bytes[0] ?? 0}.${bytes[1] ?? 0}.${bytes[2] ?? 0}.${bytes[3] ?? 0}`;
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return words.join(':');
}

export class ClientNetworkError extends Error {}

const GEO_CACHE = 65_536;

export class ClientLocator {
  readonly points: ClientPoint[] = [];
  private readonly v4 = new PrefixTrie();
  private readonly v6 = new PrefixTrie();
  private readonly geo: Reader<CityResponse> | undefined;
  /** Database locations, to the degree: a cell per point (regions are hundreds of km apart). */
  private readonly geoIds = new Map<string, number>();
  private readonly geoCache = new Map<string, Located>();
  readonly networks: number;

  constructor(networks: readonly ClientNetwork[] = [], geoipDatabase?: Buffer) {
    const ids = new Map<string, number>();
    networks.forEach((n, i) => {
      const c = parseCidr(n.cidr);
      if (!c) throw new ClientNetworkError(`clientNetworks[${i}]: "${n.cidr}" is not a network (want ADDRESS/LENGTH, e.g. 10.0.0.0/8)`);
      // A region's place: given with the network, else the built-in table's (else none: matched by name only).
      const location = n.location ?? builtinRegionLocation(n.region);
      const key = `${n.region}\u0000${location?.latitude ?? ''},${location?.longitude ?? ''}`;
      let id = ids.get(key);
      if (id === undefined) {
        id = this.points.push({ region: n.region, ...(location ? { location } : {}) }) - 1;
        ids.set(key, id);
      }
      (c.family === 4 ? this.v4 : this.v6).insert(c.bytes, c.bits, id);
    });
    this.networks = networks.length;
    if (geoipDatabase) {
      try {
        this.geo = new Reader<CityResponse>(geoipDatabase);
      } catch (err) {
        throw new ClientNetworkError(`geoip-database: not a MaxMind DB file (${(err as Error).message})`);
      }
    }
  }

  /** Whether there is anything to look addresses up in. */
  get enabled(): boolean {
    return this.networks > 0 || this.geo !== undefined;
  }

  /** The location of a client network: `bits` leading bits of `bytes` count (an ECS source prefix, or the whole address). */
  locate(family: 4 | 6, bytes: Uint8Array, bits: number): Located {
    const max = family === 4 ? 32 : 128;
    const hit = (family === 4 ? this.v4 : this.v6).lookup(bytes, bits, max);
    if (hit.id >= 0 || !this.geo) return hit;
    const key = `${family}/${bits}/${bytesText(family, bytes)}`;
    const cached = this.geoCache.get(key);
    if (cached) return cached;
    let found: Located;
    try {
      const [rec, prefix] = this.geo.getWithPrefixLength(bytesText(family, bytes));
      const lat = rec?.location?.latitude;
      const lon = rec?.location?.longitude;
      // The answer holds over the longer of the two prefixes: no client network and the same database record.
      const scope = Math.min(max, Math.max(hit.scope, prefix));
      found = typeof lat === 'number' && typeof lon === 'number' ? { id: this.geoPoint(lat, lon), scope } : { id: -1, scope };
    } catch {
      found = hit;
    }
    if (this.geoCache.size >= GEO_CACHE) this.geoCache.clear();
    this.geoCache.set(key, found);
    return found;
  }

  /** The location of a query's source address (no ECS). */
  locateAddress(text: string): Located {
    const bytes = addressBytes(text);
    if (!bytes) return UNKNOWN;
    return bytes.length === 4 ? this.locate(4, bytes, 32) : this.locate(6, bytes, 128);
  }

  private geoPoint(latitude: number, longitude: number): number {
    const key = `${Math.round(latitude)},${Math.round(longitude)}`;
    let id = this.geoIds.get(key);
    if (id === undefined) {
      id = this.points.push({ location: { latitude: Math.round(latitude), longitude: Math.round(longitude) } }) - 1;
      this.geoIds.set(key, id);
    }
    return id;
  }
}

/**
 * The served NSEC3 chain (issue 15): the signer's NSEC3 records and their
 * RRSIGs, kept apart from the names they hash (a hashed owner is no name a
 * query can find), by hash in a sorted array for "which NSEC3 covers this".
 * Each entry's records are compiled once into a block whose owner names end
 * in a pointer to the zone, patched per reply.
 */
import { hash } from 'node:crypto';
import type { RecordSet } from '@fedns/model';
import { base32hex, covers, parseRrsig, rdataWire } from '@fedns/dnssec';
import { CLASS_IN } from './wire.js';

const T_NSEC3 = 50;
const T_RRSIG = 46;

/** Records to copy into a reply: owner names are `<label>` + a pointer to the zone at each offset in `ptrs`. */
export interface PatchBlock {
  bytes: Buffer;
  ptrs: number[];
  /** RRs in the block. */
  count: number;
}

interface Entry {
  nsec3?: RecordSet;
  rrsig?: RecordSet;
  block?: PatchBlock;
}

/** NSEC3 hash of a lower-case uncompressed wire name (the index's keys): SHA-1, no salt, no extra iterations. */
export function hashKey(key: string): string {
  return base32hex(hash('sha1', Buffer.from(key, 'latin1'), 'buffer'));
}

/** One RR with an owner `<label>.<zone pointer>`: appends to `parts`, records the pointer offset. */
function rr(parts: number[], ptrs: number[], label: string, type: number, ttl: number, rdata: Buffer): void {
  parts.push(label.length, ...Buffer.from(label, 'latin1'));
  ptrs.push(parts.length);
  parts.push(0, 0, type >> 8, type & 0xff, CLASS_IN >> 8, CLASS_IN & 0xff, (ttl >>> 24) & 0xff, (ttl >>> 16) & 0xff, (ttl >>> 8) & 0xff, ttl & 0xff, rdata.length >> 8, rdata.length & 0xff, ...rdata);
}

/** RRSIG RRs of a set (TTL: each one's Original TTL) for `block`. */
export function rrsigRdatas(rs: RecordSet | undefined): { covered: string; ttl: number; rdata: Buffer }[] {
  if (!rs) return [];
  return rs.data.map((d) => {
    const i = parseRrsig(d);
    return { covered: i.covered, ttl: i.originalTtl, rdata: rdataWire('RRSIG', d) };
  });
}

export class Nsec3Index {
  private readonly entries = new Map<string, Entry>();
  private sorted: string[] | undefined = [];

  constructor(private readonly zone: string) {}

  get size(): number {
    return this.entries.size;
  }

  /** True for the record sets that belong here: NSEC3, and the RRSIGs of NSEC3 (or at a known hashed owner). */
  owns(rs: RecordSet): boolean {
    if (rs.type === 'NSEC3') return true;
    if (rs.type !== 'RRSIG') return false;
    if (rs.data.length) return (rs.data[0] as string).startsWith('NSEC3 ');
    return this.entries.has(this.hashOf(rs.name) ?? '');
  }

  private hashOf(name: string): string | undefined {
    const n = name.toLowerCase();
    const z = `.${this.zone}`;
    if (!n.endsWith(z)) return undefined;
    const label = n.slice(0, -z.length);
    return label.includes('.') ? undefined : label;
  }

  /** Adds or replaces; returns the hash touched. */
  upsert(rs: RecordSet): string | undefined {
    const h = this.hashOf(rs.name);
    if (!h) return undefined;
    let e = this.entries.get(h);
    if (!e) {
      this.entries.set(h, (e = {}));
      this.sorted = undefined;
    }
    if (rs.type === 'NSEC3') e.nsec3 = rs;
    else e.rrsig = rs;
    e.block = undefined;
    return h;
  }

  remove(rs: RecordSet): string | undefined {
    const h = this.hashOf(rs.name);
    const e = h ? this.entries.get(h) : undefined;
    if (!h || !e) return undefined;
    if (rs.type === 'NSEC3') e.nsec3 = undefined;
    else e.rrsig = undefined;
    e.block = undefined;
    if (!e.nsec3 && !e.rrsig) {
      this.entries.delete(h);
      this.sorted = undefined;
    }
    return h;
  }

  clear(): void {
    this.entries.clear();
    this.sorted = [];
  }

  *recordSets(): Generator<RecordSet> {
    for (const e of this.entries.values()) {
      if (e.nsec3) yield e.nsec3;
      if (e.rrsig) yield e.rrsig;
    }
  }

  private hashes(): string[] {
    if (!this.sorted) this.sorted = [...this.entries.keys()].filter((h) => this.entries.get(h)?.nsec3).sort();
    return this.sorted;
  }

  /** The NSEC3 whose owner is `h` (closest encloser, NODATA), or whose interval covers `h` (next closer, wildcard). */
  find(h: string): string | undefined {
    if (this.entries.get(h)?.nsec3) return h;
    const hs = this.hashes();
    if (!hs.length) return undefined;
    let lo = 0;
    let hi = hs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((hs[mid] as string) < h) lo = mid + 1;
      else hi = mid;
    }
    const owner = hs[(lo - 1 + hs.length) % hs.length] as string;
    const next = this.entries.get(owner)?.nsec3?.data[0]?.split(' ')[4]?.toLowerCase();
    return next && covers(owner, next, h) ? owner : undefined;
  }

  /** The compiled NSEC3 RR and its RRSIG(s) of an owner hash. */
  block(h: string): PatchBlock | undefined {
    const e = this.entries.get(h);
    if (!e?.nsec3) return undefined;
    if (!e.block) {
      const parts: number[] = [];
      const ptrs: number[] = [];
      let count = 0;
      for (const d of e.nsec3.data) {
        rr(parts, ptrs, h, T_NSEC3, e.nsec3.ttl, rdataWire('NSEC3', d));
        count++;
      }
      for (const s of rrsigRdatas(e.rrsig)) {
        rr(parts, ptrs, h, T_RRSIG, s.ttl, s.rdata);
        count++;
      }
      e.block = { bytes: Buffer.from(parts), ptrs, count };
    }
    return e.block;
  }
}

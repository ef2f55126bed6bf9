/**
 * The NSEC3 chain of a zone as a sorted array of owner hashes, with the NSEC3
 * RDATA last published for each. Insertions and removals are a binary search
 * and a splice; `covering` finds the NSEC3 whose interval holds a hash.
 */
import { covers, nsec3Text } from './nsec3.js';

export interface ChainEntry {
  /** The name the hash was made from (undefined for an entry loaded from the store and not yet matched). */
  name?: string;
  /** The published NSEC3 RDATA (presentation), or undefined when not yet published. */
  text?: string;
}

export class Nsec3Chain {
  /** Sorted owner hashes. */
  readonly hashes: string[] = [];
  readonly entries = new Map<string, ChainEntry>();

  get size(): number {
    return this.hashes.length;
  }

  private index(h: string): number {
    let lo = 0;
    let hi = this.hashes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.hashes[mid] as string) < h) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(h: string): boolean {
    return this.entries.has(h);
  }

  /** Adds a hash; returns its predecessor in the chain (whose "next" changes). */
  insert(h: string, entry: ChainEntry): string | undefined {
    if (this.entries.has(h)) {
      this.entries.set(h, { ...this.entries.get(h), ...entry });
      return undefined;
    }
    const i = this.index(h);
    this.hashes.splice(i, 0, h);
    this.entries.set(h, entry);
    return this.prev(h);
  }

  /** Adds many hashes at once (one sort instead of a splice each: a whole zone signed at once). */
  insertMany(items: [string, ChainEntry][]): void {
    for (const [h, e] of items) {
      const cur = this.entries.get(h);
      if (cur) this.entries.set(h, { ...cur, ...e });
      else {
        this.entries.set(h, e);
        this.hashes.push(h);
      }
    }
    this.hashes.sort();
  }

  /** Removes a hash; returns its predecessor (whose "next" changes). */
  remove(h: string): string | undefined {
    if (!this.entries.has(h)) return undefined;
    const before = this.prev(h);
    this.hashes.splice(this.index(h), 1);
    this.entries.delete(h);
    return before === h ? undefined : before;
  }

  next(h: string): string {
    const i = this.index(h);
    return (this.hashes[(i + 1) % this.hashes.length] ?? h) as string;
  }

  prev(h: string): string | undefined {
    if (this.hashes.length === 0) return undefined;
    const i = this.index(h);
    return this.hashes[(i - 1 + this.hashes.length) % this.hashes.length];
  }

  /** The owner hash whose NSEC3 covers `h` (h not in the chain). */
  covering(h: string): string | undefined {
    if (this.hashes.length === 0) return undefined;
    const i = this.index(h);
    const owner = this.hashes[(i - 1 + this.hashes.length) % this.hashes.length] as string;
    return covers(owner, this.next(owner), h) ? owner : undefined;
  }

  /** The RDATA an entry should have now, given its types. */
  textFor(h: string, types: string[]): string {
    return nsec3Text(this.next(h), types);
  }
}

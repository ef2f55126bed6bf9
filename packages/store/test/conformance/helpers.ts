/** Shared pieces of the store conformance suite. */
import type { RecordSet } from '@fedns/model';
import type { Store } from '../../src/types.js';

export type Opener = () => Promise<Store>;

export interface ConformanceOptions {
  /** Writes carrying a stale or expired fence are refused (engines with leader election). */
  fencing: boolean;
  /** acquireLease/releaseLease/readLease are real leases judged by the database's clock. */
  leases: boolean;
  /** The object log size the opener's stores keep (small, e.g. 200): the suite writes past it to see 'compacted'. */
  objectLogSize: number;
  /** Everything the engine stored, as bytes (the file, a dump): credentials must never appear in it in clear. */
  rawContents?: () => Promise<Buffer>;
  /** How long another store's commit may take to reach a watcher (default 3,000 ms: polling engines poll at 500 ms). */
  feedBoundMs?: number;
}

const run = Math.random().toString(36).slice(2, 8);
let counter = 0;
/** A name no other test (nor an earlier run on the same database) uses. */
export const uniq = (prefix: string): string => `${prefix}-${run}-${++counter}`;

/** Opens `n` stores on the same database, runs `fn`, closes them whatever happens. */
export async function withStores<T>(open: Opener, n: number, fn: (...stores: Store[]) => Promise<T>): Promise<T> {
  const stores: Store[] = [];
  try {
    for (let i = 0; i < n; i++) stores.push(await open());
    return await fn(...stores);
  } finally {
    for (const s of stores) await s.close();
  }
}

export function rrset(service: string, name: string, data: string[], extra: Partial<RecordSet> = {}): RecordSet {
  return { name, type: 'A', ttl: 30, data, level: 'global', namespace: 'conformance', service, ...extra };
}

export const byKey = (a: RecordSet, b: RecordSet): number => (a.name === b.name ? (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) : a.name < b.name ? -1 : 1);
export const sorted = (sets: RecordSet[]): RecordSet[] => [...sets].sort(byKey);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves when `pred()` holds; rejects with `what` after `ms`. */
export async function waitFor(pred: () => boolean, ms: number, what: string): Promise<number> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(10);
  }
  return Date.now() - start;
}

import { compareSerial, type RecordSetDiff } from '@fedns/model';
import { type JournalEntry, oneAtATime, type Store } from '@fedns/store';
import type { ZoneIndex } from './zone-index.js';

export interface FollowOptions {
  logger?: { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void };
  /** Called after the index moved to a new serial (load or journal entry): NOTIFY hooks in here. */
  onSerial?: (serial: number) => void;
  /** Journal entries kept in memory for IXFR (older serials get a full transfer). Default 10,000. */
  journalEntries?: number;
  /** A safety net besides the store's change feed: look anyway this often (ms). Default 1000. */
  resyncMs?: number;
}

export interface Follower {
  /** Looks for new commits now (in addition to the store's change feed). */
  catchUp(): Promise<void>;
  /** The journal from SOA serial `serial` to the serial served now, for IXFR (see `Store.journalFromSoa`). */
  journalFromSoa(serial: number): JournalEntry[] | undefined;
  /** Resolves once the first load is done (or failed: the index then keeps serving what it had). */
  readonly loaded: Promise<void>;
  stop(): void;
}

/** The index diff of one journal entry: replaced RRsets are upserts, not deletes. */
export function entryToDiff(entry: JournalEntry): RecordSetDiff {
  const added = new Set(entry.added.map((r) => `${r.name}/${r.type}`));
  return { upserts: entry.added, deletes: entry.deleted.filter((r) => !added.has(`${r.name}/${r.type}`)) };
}

/**
 * Keeps a ZoneIndex equal to the store's zone: loads it once, then applies
 * each journal entry as the store's change feed announces it (at once in
 * process; LISTEN/NOTIFY or polling across processes). When the store cannot
 * be read the index keeps serving the last good zone (static stability), and
 * it never goes back a serial: a store behind what is served (a failed-over
 * database that lost the last commits) is waited out, not followed backwards.
 * The journal entries it applied stay in memory for IXFR, so answering a
 * secondary never waits for the store.
 */
export function followStore(store: Store, index: ZoneIndex, opts: FollowOptions = {}): Follower {
  let seq = -1;
  let loadedOnce = false;
  let stopped = false;
  const keep = opts.journalEntries ?? 10_000;
  const ring: JournalEntry[] = [];

  const remember = (entries: JournalEntry[]) => {
    ring.push(...entries);
    if (ring.length > keep) ring.splice(0, ring.length - keep);
  };

  const behind = (serial: number) => loadedOnce && (compareSerial(serial, index.serial) ?? 0) < 0;

  const reload = async () => {
    const snap = await store.zoneSnapshot();
    if (behind(snap.soaSerial)) {
      opts.logger?.warn({ store: snap.soaSerial, served: index.serial }, 'the store is behind the serial already served; keeping the served zone until it catches up');
      return;
    }
    index.replaceAll(snap.soaSerial, snap.recordSets);
    seq = snap.seq;
    ring.length = 0;
    // The recent journal, for IXFR from serials served before this load.
    const recent = await store.zoneChangesSince(Math.max(0, snap.seq - keep)).catch(() => undefined);
    if (recent) remember(recent.filter((e) => e.seq <= snap.seq));
    loadedOnce = true;
    opts.logger?.info({ serial: snap.soaSerial, rrsets: snap.recordSets.length }, 'zone loaded');
    opts.onSerial?.(index.serial);
  };

  const apply = (entry: JournalEntry) => {
    const before = index.serial;
    index.applyDiff(entry.soaSerial, entryToDiff(entry));
    seq = entry.seq;
    remember([entry]);
    if (index.serial !== before) opts.onSerial?.(index.serial);
  };

  const step = async () => {
    if (!loadedOnce) return reload();
    const entries = await store.zoneChangesSince(seq);
    if (entries === undefined) return reload();
    // A journal that restarted below what is served (a store restored or failed over): reload, not apply.
    if (entries.length && entries[0]?.seq !== seq + 1) return reload();
    for (const e of entries) apply(e);
  };

  const catchUp = oneAtATime(step, () => stopped, (err) => opts.logger?.warn({ err: String(err) }, 'cannot read the store; serving the last good zone'));

  const unwatch = store.watch((c) => {
    if (c.what === 'zone' && c.seq !== seq) void catchUp();
  });
  const timer = setInterval(() => void catchUp(), opts.resyncMs ?? 1000);
  timer.unref();
  const loaded = catchUp();

  return {
    catchUp,
    loaded,
    journalFromSoa(serial) {
      const s = serial >>> 0;
      if (s === index.serial) return [];
      for (let i = ring.length - 1; i >= 0; i--) if (ring[i]?.prevSoaSerial === s) return ring.slice(i);
      return undefined;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      unwatch();
    },
  };
}

/**
 * Follows only the store's SOA serial, not its records: what the primary of DNS
 * worker processes needs to wake its workers and to time NOTIFY. Moves with
 * the store's change feed (at once in process; LISTEN/NOTIFY or polling across
 * processes) and looks anyway every `resyncMs`; it reads the journal's serials,
 * never the zone, except once at start and after a pruned journal.
 */
export function followSerial(store: Store, opts: Pick<FollowOptions, 'resyncMs' | 'logger' | 'onSerial'> = {}): { readonly loaded: Promise<void>; serial(): number; stop(): void } {
  let serial = 0;
  let seq = -1;
  let stopped = false;
  const seen = (s: number) => {
    if (s === serial) return;
    serial = s;
    opts.onSerial?.(s);
  };
  const step = async () => {
    const entries = seq < 0 ? undefined : await store.zoneChangesSince(seq);
    if (entries === undefined) {
      const snap = await store.zoneSnapshot();
      seq = snap.seq;
      return seen(snap.soaSerial);
    }
    const last = entries.at(-1);
    if (!last) return;
    seq = last.seq;
    seen(last.soaSerial);
  };
  const catchUp = oneAtATime(step, () => stopped, (err) => opts.logger?.warn({ err: String(err) }, 'cannot read the store'));
  const unwatch = store.watch((c) => {
    if (c.what === 'zone' && c.seq !== seq) void catchUp();
  });
  const timer = setInterval(() => void catchUp(), opts.resyncMs ?? 1000);
  timer.unref();
  return {
    loaded: catchUp(),
    serial: () => serial,
    stop() {
      stopped = true;
      clearInterval(timer);
      unwatch();
    },
  };
}

import type { RecordSetDiff } from '@fedns/model';
import type { JournalEntry, Store } from '@fedns/store';
import type { ZoneIndex } from './zone-index.js';

export interface FollowOptions {
  /** How often to look for commits made by other processes. */
  pollMs?: number;
  logger?: { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void };
  /** Called after the index moved to a new serial (load or journal entry): NOTIFY hooks in here. */
  onSerial?: (serial: number) => void;
}

/** The index diff of one journal entry: replaced RRsets are upserts, not deletes. */
export function entryToDiff(entry: JournalEntry): RecordSetDiff {
  const added = new Set(entry.added.map((r) => `${r.name}/${r.type}`));
  return { upserts: entry.added, deletes: entry.deleted.filter((r) => !added.has(`${r.name}/${r.type}`)) };
}

/**
 * Keeps a ZoneIndex equal to the store's zone: loads it once, then applies each
 * journal entry — at once for commits made in this process (the store's
 * `commit` event), within `pollMs` for commits by another process. When the
 * store cannot be read the index keeps serving the last good zone (static
 * stability) and the follower tries again on the next tick.
 */
export function followStore(store: Store, index: ZoneIndex, opts: FollowOptions = {}): { stop(): void; catchUp(): void } {
  let seq = -1;
  let version = -1;

  const reload = () => {
    const snap = store.zoneSnapshot();
    index.replaceAll(snap.soaSerial, snap.recordSets);
    seq = snap.seq;
    opts.logger?.info({ serial: snap.soaSerial, rrsets: snap.recordSets.length }, 'zone loaded');
    opts.onSerial?.(index.serial);
  };

  const apply = (entry: JournalEntry) => {
    const before = index.serial;
    index.applyDiff(entry.soaSerial, entryToDiff(entry));
    seq = entry.seq;
    if (index.serial !== before) opts.onSerial?.(index.serial);
  };

  const catchUp = () => {
    try {
      const entries = store.changesSince(seq);
      if (entries === undefined) reload();
      else for (const e of entries) apply(e);
    } catch (err) {
      opts.logger?.warn({ err }, 'cannot read the store; serving the last good zone');
    }
  };

  const onCommit = (entry: JournalEntry) => {
    if (entry.seq === seq + 1) apply(entry);
    else catchUp();
  };

  reload();
  store.on('commit', onCommit);
  const timer = setInterval(() => {
    try {
      const v = store.dataVersion();
      if (v === version) return;
      version = v;
    } catch (err) {
      opts.logger?.warn({ err }, 'cannot read the store; serving the last good zone');
      return;
    }
    catchUp();
  }, opts.pollMs ?? 50);
  timer.unref();

  return {
    stop() {
      clearInterval(timer);
      store.off('commit', onCommit);
    },
    catchUp,
  };
}

/**
 * Follows only the store's SOA serial, not its records: what the primary of DNS
 * worker processes needs to wake its workers and to time NOTIFY. At once for
 * commits made in this process (the `commit` event), within `pollMs` for
 * commits by another process (SQLite's data_version).
 */
export function followSerial(store: Store, opts: Pick<FollowOptions, 'pollMs' | 'logger' | 'onSerial'> = {}): { stop(): void; serial(): number } {
  let serial = store.soaSerial();
  let version = -1;
  const seen = (s: number) => {
    if (s === serial) return;
    serial = s;
    opts.onSerial?.(s);
  };
  const onCommit = (entry: JournalEntry) => seen(entry.soaSerial);
  store.on('commit', onCommit);
  const timer = setInterval(() => {
    try {
      const v = store.dataVersion();
      if (v === version) return;
      version = v;
      seen(store.soaSerial());
    } catch (err) {
      opts.logger?.warn({ err }, 'cannot read the store');
    }
  }, opts.pollMs ?? 50);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      store.off('commit', onCommit);
    },
    serial: () => serial,
  };
}

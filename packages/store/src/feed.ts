/**
 * Following the object log from a revision (kine's After/Watch): every
 * change after `fromRv`, once and in order, whoever committed it and on
 * whichever process — woken by the store's change feed, with a periodic look
 * as a safety net. A log compacted past the position is reported, so the
 * caller relists (an API watch answers 410; a controller resyncs).
 */
import { oneAtATime } from './one-at-a-time.js';
import type { ObjectChange, Store } from './types.js';

export interface ObjectFeedOptions {
  /** Start after this revision (default: the store's revision now). */
  fromRv?: number;
  onChange(change: ObjectChange): void;
  /** The log no longer reaches back to the position: relist; the feed goes on from `rv`. */
  onCompacted(rv: number): void;
  onError?(err: unknown): void;
  /** The safety-net period (ms), default 1000. */
  resyncMs?: number;
  /** Changes read per batch, default 1000. */
  batch?: number;
}

export interface ObjectFeed {
  /** The last revision delivered. */
  readonly rv: number;
  /** Reads what committed since the last read now (also called by the change feed). */
  poll(): Promise<void>;
  stop(): void;
}

export async function followObjects(store: Store, opts: ObjectFeedOptions): Promise<ObjectFeed> {
  let rv = opts.fromRv ?? (await store.revision());
  let stopped = false;
  const batch = opts.batch ?? 1000;

  const readAll = async () => {
    for (;;) {
      const changes = await store.objectChangesSince(rv, batch);
      if (changes === 'compacted') {
        rv = await store.revision();
        opts.onCompacted(rv);
        return;
      }
      for (const c of changes) {
        if (stopped) return;
        rv = c.rv;
        opts.onChange(c);
      }
      if (changes.length < batch) return;
    }
  };

  const poll = oneAtATime(readAll, () => stopped, (err) => opts.onError?.(err));

  const unwatch = store.watch((c) => {
    if (c.what === 'objects' && c.rv !== rv) void poll();
  });
  const timer = setInterval(() => void poll(), opts.resyncMs ?? 1000);
  timer.unref();
  return {
    get rv() {
      return rv;
    },
    poll,
    stop() {
      stopped = true;
      clearInterval(timer);
      unwatch();
    },
  };
}

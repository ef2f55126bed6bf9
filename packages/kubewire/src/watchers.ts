/**
 * The watch side of a resource, whatever stores it: the open watchers, a bounded
 * history of changes for watches from a resourceVersion (410 Expired when it is
 * older than that history), initial state as ADDED, BOOKMARKs, and per-watcher
 * selection (namespace, labels, fields) with MODIFIED turned into ADDED/DELETED
 * when an object enters or leaves a watcher's selection. ObjectStore and the
 * apiserver's WatchHub both delegate here so the semantics cannot drift apart.
 */
import { type FieldSelector, type LabelSelector, matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { statusObject } from './status.js';
import type { ListOptions, WatchHandle, WatchOptions, WatchSink } from './store.js';
import type { KubeObject, WatchEvent } from './types.js';

/** One committed change. `object` carries the change's resourceVersion (`rv`); `old` is the state before. */
export interface WatchChange<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: T;
  old?: T;
  rv: number;
}

/** A parsed namespace + label + field selection. */
export interface Selection {
  namespace?: string;
  labels: LabelSelector;
  fields: FieldSelector;
}

/** Parses the selectors of list/watch options (strings are parsed, parsed selectors kept). */
export function selectionOf(opts: ListOptions): Selection {
  const labels = typeof opts.labelSelector === 'string' ? parseLabelSelector(opts.labelSelector) : (opts.labelSelector ?? []);
  const fields = typeof opts.fieldSelector === 'string' ? parseFieldSelector(opts.fieldSelector) : (opts.fieldSelector ?? []);
  return { namespace: opts.namespace, labels, fields };
}

/** Whether `obj` is in the selection; the namespace only counts for namespaced kinds. */
export function selects(sel: Selection, obj: KubeObject, namespaced: boolean): boolean {
  if (sel.namespace && namespaced && obj.metadata.namespace !== sel.namespace) return false;
  if (sel.labels.length && !matchLabels(sel.labels, obj.metadata.labels)) return false;
  if (sel.fields.length && !matchFields(sel.fields, obj)) return false;
  return true;
}

export interface WatcherSetOptions {
  apiVersion: string;
  kind: string;
  namespaced: boolean;
  /** A watch from a resourceVersion below this gets 410 Expired (nothing older is in the history). */
  compactedRv: number;
  /** Changes kept for watch replay (default 1000). */
  historySize?: number;
  /** Default BOOKMARK interval (default 30 s). */
  bookmarkIntervalMs?: number;
  /**
   * The resourceVersion a BOOKMARK carries. For the initial-events-end BOOKMARK it is given the
   * resourceVersion of the initial list (a source may prefer that to its current one).
   */
  bookmarkRv: (initialListRv?: string) => number | string;
  /**
   * Changes may be published late and out of resourceVersion order (commits of another process
   * found by polling). Then history is replayed sorted, and a watcher drops changes at or below
   * the resourceVersion it started from, which its initial list or its client has already seen.
   */
  lateChanges?: boolean;
}

interface Watcher<T extends KubeObject> extends Selection {
  /** With lateChanges: changes at or below this were already seen by the watcher. */
  since: number;
  sink: WatchSink<T>;
  handle: WatchHandle & { stopped: boolean };
  timer?: NodeJS.Timeout;
}

export class WatcherSet<T extends KubeObject = KubeObject> {
  readonly #opts: WatcherSetOptions;
  readonly #historySize: number;
  readonly #bookmarkIntervalMs: number;
  #history: WatchChange<T>[] = [];
  #compactedRv: number;
  #watchers = new Set<Watcher<T>>();

  constructor(opts: WatcherSetOptions) {
    this.#opts = opts;
    this.#historySize = opts.historySize ?? 1000;
    this.#bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 30_000;
    this.#compactedRv = opts.compactedRv;
  }

  /** Open watchers. */
  get size(): number {
    return this.#watchers.size;
  }

  get compactedRv(): number {
    return this.#compactedRv;
  }

  /** Forgets the history: a watch from a resourceVersion below `rv` now gets 410 Expired. */
  compact(rv: number): void {
    this.#history = [];
    this.#compactedRv = rv;
  }

  /** One committed change: kept for replay, delivered to every watcher it concerns. */
  publish(ev: WatchChange<T>): void {
    this.#history.push(ev);
    while (this.#history.length > this.#historySize) {
      const dropped = this.#history.shift();
      // max: with lateChanges the history is not in order.
      if (dropped) this.#compactedRv = Math.max(this.#compactedRv, dropped.rv);
    }
    const late = this.#opts.lateChanges === true;
    for (const w of [...this.#watchers]) {
      if (w.handle.stopped || (late && ev.rv <= w.since)) continue;
      const out = this.#filter(w, ev);
      if (!out) continue;
      try {
        w.sink.onEvent(out);
      } catch {
        // A broken sink (closed stream) ends its watch, not the write that published.
        w.handle.stop();
      }
    }
  }

  /**
   * Starts a watch. Events are delivered synchronously to `sink.onEvent`. `list` gives the current
   * state (and its resourceVersion) for watches without a resourceVersion or with sendInitialEvents.
   * An invalid resourceVersion (400) or one older than the history (410 Expired) yields one ERROR
   * event and the watch ends.
   */
  watch(opts: WatchOptions, sink: WatchSink<T>, list: (labels: LabelSelector, fields: FieldSelector) => { items: T[]; resourceVersion: string }): WatchHandle {
    const sel = selectionOf(opts);
    const handle = {
      stopped: false,
      stop: () => {
        if (handle.stopped) return;
        handle.stopped = true;
        if (watcher.timer) clearInterval(watcher.timer);
        this.#watchers.delete(watcher);
        sink.onEnd?.();
      },
    };
    const watcher: Watcher<T> = { ...sel, since: 0, sink, handle };
    const rvParam = opts.resourceVersion ?? '';
    if (rvParam === '' || rvParam === '0' || opts.sendInitialEvents === true) {
      const { items, resourceVersion } = list(sel.labels, sel.fields);
      for (const obj of items) sink.onEvent({ type: 'ADDED', object: obj });
      watcher.since = Number(resourceVersion);
      if (opts.sendInitialEvents && opts.allowBookmarks) sink.onEvent({ type: 'BOOKMARK', object: this.#bookmark(this.#opts.bookmarkRv(resourceVersion), { 'k8s.io/initial-events-end': 'true' }) });
      // A list read before its changes were published (an asynchronous store): what the history
      // already holds past the list's resourceVersion follows at once.
      if (this.#opts.lateChanges) {
        for (const ev of [...this.#history].sort((a, b) => a.rv - b.rv)) {
          if (ev.rv <= watcher.since) continue;
          const out = this.#filter(watcher, ev);
          if (out) sink.onEvent(out);
          if (handle.stopped) return handle;
        }
      }
    } else {
      const rv = Number(rvParam);
      if (!Number.isInteger(rv) || rv < 0) {
        sink.onEvent({ type: 'ERROR', object: statusObject(400, 'BadRequest', `invalid resource version: ${rvParam}`) });
        handle.stop();
        return handle;
      }
      if (rv < this.#compactedRv) {
        sink.onEvent({ type: 'ERROR', object: statusObject(410, 'Expired', `too old resource version: ${rv} (${this.#compactedRv})`) });
        handle.stop();
        return handle;
      }
      watcher.since = rv;
      // In-order history is replayed live, so a change committed during the replay is replayed too.
      const replay = this.#opts.lateChanges ? [...this.#history].sort((a, b) => a.rv - b.rv) : this.#history;
      for (const ev of replay) {
        if (ev.rv <= rv) continue;
        const out = this.#filter(watcher, ev);
        if (out) sink.onEvent(out);
        if (handle.stopped) return handle;
      }
    }
    if (handle.stopped) return handle;
    this.#watchers.add(watcher);
    if (opts.allowBookmarks) {
      watcher.timer = setInterval(() => {
        if (!handle.stopped) sink.onEvent({ type: 'BOOKMARK', object: this.#bookmark(this.#opts.bookmarkRv()) });
      }, opts.bookmarkIntervalMs ?? this.#bookmarkIntervalMs);
      watcher.timer.unref?.();
    }
    return handle;
  }

  /** Ends every watch (each sink gets onEnd); returns how many there were. */
  closeAll(): number {
    const all = [...this.#watchers];
    for (const w of all) w.handle.stop();
    return all.length;
  }

  #bookmark(rv: number | string, annotations?: Record<string, string>): KubeObject {
    return { apiVersion: this.#opts.apiVersion, kind: this.#opts.kind, metadata: { resourceVersion: String(rv), ...(annotations ? { annotations } : {}) } };
  }

  /** What a watcher sees of a change: moves into or out of its selection become ADDED/DELETED. */
  #filter(w: Watcher<T>, ev: WatchChange<T>): WatchEvent<T> | undefined {
    const now = selects(w, ev.object, this.#opts.namespaced);
    const before = ev.old ? selects(w, ev.old, this.#opts.namespaced) : false;
    switch (ev.type) {
      case 'ADDED':
        return now ? { type: 'ADDED', object: ev.object } : undefined;
      case 'DELETED':
        return now || before ? { type: 'DELETED', object: ev.object } : undefined;
      case 'MODIFIED':
        if (now && before) return { type: 'MODIFIED', object: ev.object };
        if (now) return { type: 'ADDED', object: ev.object };
        if (before) return { type: 'DELETED', object: ev.object };
        return undefined;
    }
  }
}

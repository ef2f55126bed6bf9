/**
 * Watch streams for one resource kind served from the SQLite store: a bounded
 * in-memory history of changes (fed by the backend's own writes, the store's
 * in-process `object` events and polling for other processes' commits) and the
 * open watchers. resourceVersions are the store's: a watch from N gets every
 * change with a resourceVersion above N, or 410 Expired when N is older than
 * the history (always so after a restart: history starts empty).
 */
import {
  type FieldSelector,
  type KubeObject,
  type LabelSelector,
  matchFields,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
  statusObject,
  type WatchEvent,
  type WatchHandle,
  type WatchOptions,
  type WatchSink,
} from '@fedns/kubewire';

export interface HubEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  old?: KubeObject;
  rv: number;
}

export interface WatchHubOptions {
  apiVersion: string;
  kind: string;
  namespaced: boolean;
  /** Changes before this resourceVersion are not in the history (the store's version at start-up). */
  startRv: number;
  historySize?: number;
  bookmarkIntervalMs?: number;
  /** The resourceVersion a BOOKMARK may carry: every change up to it has been published. */
  bookmarkRv: () => number;
}

interface Watcher {
  namespace?: string;
  labels: LabelSelector;
  fields: FieldSelector;
  since: number;
  sink: WatchSink<KubeObject>;
  handle: WatchHandle & { stopped: boolean };
  timer?: NodeJS.Timeout;
}

export class WatchHub {
  readonly #opts: WatchHubOptions;
  #history: HubEvent[] = [];
  #compactedRv: number;
  #watchers = new Set<Watcher>();

  constructor(opts: WatchHubOptions) {
    this.#opts = opts;
    this.#compactedRv = opts.startRv;
  }

  get watcherCount(): number {
    return this.#watchers.size;
  }

  /** One committed change: kept for replay, delivered to every watcher it concerns. */
  publish(ev: HubEvent): void {
    this.#history.push(ev);
    const max = this.#opts.historySize ?? 1000;
    while (this.#history.length > max) {
      const dropped = this.#history.shift();
      if (dropped) this.#compactedRv = Math.max(this.#compactedRv, dropped.rv);
    }
    for (const w of [...this.#watchers]) {
      if (w.handle.stopped || ev.rv <= w.since) continue;
      const out = this.#filter(w, ev);
      if (!out) continue;
      try {
        w.sink.onEvent(out);
      } catch {
        w.handle.stop();
      }
    }
  }

  /**
   * Starts a watch. `initial` lists the current state (and its resourceVersion) for watches
   * without a resourceVersion, or with sendInitialEvents.
   */
  watch(opts: WatchOptions, sink: WatchSink<KubeObject>, initial: (labels: LabelSelector, fields: FieldSelector) => { items: KubeObject[]; resourceVersion: string }): WatchHandle {
    const labels = typeof opts.labelSelector === 'string' ? parseLabelSelector(opts.labelSelector) : (opts.labelSelector ?? []);
    const fields = typeof opts.fieldSelector === 'string' ? parseFieldSelector(opts.fieldSelector) : (opts.fieldSelector ?? []);
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
    const watcher: Watcher = { namespace: opts.namespace, labels, fields, since: 0, sink, handle };
    const rvParam = opts.resourceVersion ?? '';
    if (rvParam === '' || rvParam === '0' || opts.sendInitialEvents === true) {
      const { items, resourceVersion } = initial(labels, fields);
      for (const obj of items) sink.onEvent({ type: 'ADDED', object: obj });
      watcher.since = Number(resourceVersion);
      if (opts.sendInitialEvents && opts.allowBookmarks) sink.onEvent({ type: 'BOOKMARK', object: this.#bookmark(resourceVersion, { 'k8s.io/initial-events-end': 'true' }) });
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
      for (const ev of [...this.#history].sort((a, b) => a.rv - b.rv)) {
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
        if (!handle.stopped) sink.onEvent({ type: 'BOOKMARK', object: this.#bookmark(String(this.#opts.bookmarkRv())) });
      }, opts.bookmarkIntervalMs ?? this.#opts.bookmarkIntervalMs ?? 30_000);
      watcher.timer.unref?.();
    }
    return handle;
  }

  /** Ends every watch (shutdown). */
  closeAll(): void {
    for (const w of [...this.#watchers]) w.handle.stop();
  }

  #bookmark(rv: string, annotations?: Record<string, string>): KubeObject {
    return { apiVersion: this.#opts.apiVersion, kind: this.#opts.kind, metadata: { resourceVersion: rv, ...(annotations ? { annotations } : {}) } };
  }

  #matches(obj: KubeObject, w: Watcher): boolean {
    if (w.namespace && this.#opts.namespaced && obj.metadata.namespace !== w.namespace) return false;
    if (w.labels.length && !matchLabels(w.labels, obj.metadata.labels)) return false;
    if (w.fields.length && !matchFields(w.fields, obj)) return false;
    return true;
  }

  /** Label or field changes that move an object into or out of a watcher's selection become ADDED/DELETED. */
  #filter(w: Watcher, ev: HubEvent): WatchEvent<KubeObject> | undefined {
    const now = this.#matches(ev.object, w);
    const before = ev.old ? this.#matches(ev.old, w) : false;
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

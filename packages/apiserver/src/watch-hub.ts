/**
 * Watch streams for one resource kind served from the SQLite store: a bounded
 * in-memory history of changes (fed by the backend's own writes, the store's
 * in-process `object` events and polling for other processes' commits) and the
 * open watchers. resourceVersions are the store's: a watch from N gets every
 * change with a resourceVersion above N, or 410 Expired when N is older than
 * the history (always so after a restart: history starts empty).
 */
import { type FieldSelector, type KubeObject, type LabelSelector, WatcherSet, type WatchHandle, type WatchOptions, type WatchSink } from '@fedns/kubewire';

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

export class WatchHub {
  readonly #watchers: WatcherSet<KubeObject>;

  constructor(opts: WatchHubOptions) {
    this.#watchers = new WatcherSet<KubeObject>({
      apiVersion: opts.apiVersion,
      kind: opts.kind,
      namespaced: opts.namespaced,
      compactedRv: opts.startRv,
      historySize: opts.historySize,
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      // The initial-events-end BOOKMARK carries the list's resourceVersion: the initial events show exactly that state.
      bookmarkRv: (initialListRv) => initialListRv ?? opts.bookmarkRv(),
      // Other processes' commits arrive by polling, late and possibly out of order.
      lateChanges: true,
    });
  }

  get watcherCount(): number {
    return this.#watchers.size;
  }

  /** One committed change: kept for replay, delivered to every watcher it concerns. */
  publish(ev: HubEvent): void {
    this.#watchers.publish(ev);
  }

  /**
   * Starts a watch. `initial` lists the current state (and its resourceVersion) for watches
   * without a resourceVersion, or with sendInitialEvents.
   */
  watch(opts: WatchOptions, sink: WatchSink<KubeObject>, initial: (labels: LabelSelector, fields: FieldSelector) => { items: KubeObject[]; resourceVersion: string }): WatchHandle {
    return this.#watchers.watch(opts, sink, initial);
  }

  /** Ends every watch (shutdown). */
  closeAll(): void {
    this.#watchers.closeAll();
  }
}

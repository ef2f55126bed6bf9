/**
 * The watch side of the federation API: one follower of the store's object
 * log per API server, feeding a WatcherSet per kind. Any change, whichever API
 * server or process committed it, reaches every watch in resourceVersion
 * order. At start the recent log is loaded as history, so a watch begun on
 * another API server resumes here from its resourceVersion; one older than
 * that history gets 410 Expired and relists.
 */
import { type KubeObject, type ListOptions, WatcherSet, type WatchHandle, type WatchOptions, type WatchSink } from '@fedns/kubewire';
import { followObjects, type ObjectChange, type ObjectFeed, type ObjectKind, type Store } from '@fedns/store';

export interface KindSpec {
  kind: ObjectKind;
  apiVersion: string;
  kubeKind: string;
  namespaced: boolean;
  /** The Kubernetes object of a log entry (identity and resourceVersion filled in). */
  toObject(change: ObjectChange): KubeObject;
}

/** The watches of one kind. */
export class KindWatch {
  readonly set: WatcherSet<KubeObject>;

  constructor(
    spec: KindSpec,
    private readonly feed: () => ObjectFeed | undefined,
    opts: { compactedRv: number; historySize: number; bookmarkIntervalMs?: number },
  ) {
    this.set = new WatcherSet<KubeObject>({
      apiVersion: spec.apiVersion,
      kind: spec.kubeKind,
      namespaced: spec.namespaced,
      compactedRv: opts.compactedRv,
      historySize: opts.historySize,
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      // The initial-events-end BOOKMARK carries the list's resourceVersion; later ones what the feed delivered.
      bookmarkRv: (initialListRv) => initialListRv ?? this.feed()?.rv ?? 0,
      // A list is read from the store before the feed publishes what it already shows.
      lateChanges: true,
    });
  }

  /** Starts a watch; `list` reads the current state for watches that begin with it. */
  async watch(opts: WatchOptions, sink: WatchSink<KubeObject>, list: (o: ListOptions) => Promise<{ items: KubeObject[]; resourceVersion: string }>): Promise<WatchHandle> {
    const rv = opts.resourceVersion ?? '';
    const initial = rv === '' || rv === '0' || opts.sendInitialEvents === true ? await list({ namespace: opts.namespace, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector }) : undefined;
    return this.set.watch(opts, sink, () => initial ?? { items: [], resourceVersion: '0' });
  }
}

export interface ObjectLogFeedOptions {
  store: Store;
  kinds: KindSpec[];
  /** Changes kept for watch resume (default 10,000, across kinds). */
  historySize?: number;
  bookmarkIntervalMs?: number;
  logger?: { warn: (o: object, m?: string) => void };
}

/** Follows the object log for every served kind; `watchOf(kind)` serves that kind's watches. */
export class ObjectLogFeed {
  readonly #watches = new Map<ObjectKind, KindWatch>();
  readonly #specs = new Map<ObjectKind, KindSpec>();
  /** The last state of each object seen, so a change carries its predecessor (selection moves). */
  readonly #last = new Map<string, KubeObject>();
  #feed: ObjectFeed | undefined;

  private constructor(private readonly opts: ObjectLogFeedOptions) {}

  static async start(opts: ObjectLogFeedOptions): Promise<ObjectLogFeed> {
    const f = new ObjectLogFeed(opts);
    await f.#start();
    return f;
  }

  async #start(): Promise<void> {
    const { store } = this.opts;
    const size = this.opts.historySize ?? 10_000;
    const head = await store.revision();
    // The recent log as history: a watch from a resourceVersion within it resumes here.
    let from = Math.max(0, head - size);
    let recent = await store.objectChangesSince(from, size);
    if (recent === 'compacted') {
      from = head;
      recent = [];
    }
    for (const spec of this.opts.kinds) {
      this.#specs.set(spec.kind, spec);
      this.#watches.set(spec.kind, new KindWatch(spec, () => this.#feed, { compactedRv: from, historySize: size, bookmarkIntervalMs: this.opts.bookmarkIntervalMs }));
    }
    for (const c of recent) this.#publish(c);
    const last = recent.at(-1)?.rv ?? from;
    this.#feed = await followObjects(store, {
      fromRv: Math.max(last, from),
      onChange: (c) => this.#publish(c),
      onCompacted: (rv) => {
        // This server fell behind a compaction: every watch relists (410) from here on.
        for (const w of this.#watches.values()) {
          w.set.compact(rv);
          w.set.closeAll();
        }
        this.#last.clear();
      },
      onError: (err) => this.opts.logger?.warn({ err: String(err) }, 'cannot read the object log; watches wait'),
    });
  }

  #publish(c: ObjectChange): void {
    const spec = this.#specs.get(c.kind);
    const watch = this.#watches.get(c.kind);
    if (!spec || !watch) return;
    const key = `${c.kind}/${c.namespace}/${c.name}`;
    const object = spec.toObject(c);
    const old = this.#last.get(key);
    if (c.type === 'DELETED') this.#last.delete(key);
    else this.#last.set(key, object);
    watch.set.publish({ type: c.type, object, ...(old ? { old } : {}), rv: c.rv });
  }

  watchOf(kind: ObjectKind): KindWatch {
    const w = this.#watches.get(kind);
    if (!w) throw new Error(`no watches for ${kind}`);
    return w;
  }

  /** Delivers what committed since the last read now (after a write of this server, for read-your-writes watches). */
  async poll(): Promise<void> {
    await this.#feed?.poll();
  }

  close(): void {
    this.#feed?.stop();
    for (const w of this.#watches.values()) w.set.closeAll();
  }
}

/**
 * An in-memory object store for one resource kind, with etcd-like semantics:
 * a resourceVersion shared by every store on the same RevisionClock, list,
 * watch from a resourceVersion (410 Expired when it was compacted), and a
 * bounded per-kind event history.
 */
import type { FieldSelector, LabelSelector } from './selectors.js';
import { errors, type statusObject } from './status.js';
import type { KubeObject, WatchEvent } from './types.js';
import { clone, deepEqual, newUid, randomSuffix, rfc3339 } from './util.js';
import { selectionOf, selects, WatcherSet } from './watchers.js';

/** The cluster-wide revision counter (etcd's revision). Share one between the stores of a server. */
export class RevisionClock {
  #rv: number;
  constructor(start = 0) {
    this.#rv = start;
  }
  get current(): number {
    return this.#rv;
  }
  next(): number {
    this.#rv += 1;
    return this.#rv;
  }
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One committed change. `object` carries the change's resourceVersion; `old` is the state before. */
export interface StoreEvent<T extends KubeObject = KubeObject> {
  type: ChangeType;
  object: T;
  old?: T;
  rv: number;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string | LabelSelector;
  fieldSelector?: string | FieldSelector;
}

export interface WatchOptions extends ListOptions {
  /** '' / undefined / '0': synthetic ADDED for the current state, then live. 'N': every change after N. */
  resourceVersion?: string;
  /** Send BOOKMARK events every bookmarkIntervalMs. */
  allowBookmarks?: boolean;
  bookmarkIntervalMs?: number;
  /** Watch-list: initial ADDED events, then a BOOKMARK annotated k8s.io/initial-events-end. */
  sendInitialEvents?: boolean;
}

export interface WatchSink<T extends KubeObject = KubeObject> {
  onEvent(event: WatchEvent<T | ReturnType<typeof statusObject> | KubeObject>): void;
  /** The store ended the watch (410, stop(), closeWatchers()). */
  onEnd?(): void;
}

export interface WatchHandle {
  stop(): void;
  readonly stopped: boolean;
}

export interface StoreOptions {
  /** e.g. 'v1' or 'discovery.k8s.io/v1' */
  apiVersion: string;
  kind: string;
  /** plural resource name, used in error messages (`services "x" not found`) */
  resource: string;
  /** API group, used in error messages */
  group?: string;
  namespaced: boolean;
  clock?: RevisionClock;
  /** Events kept for watch replay (default 1000). */
  historySize?: number;
  /** Default BOOKMARK interval (default 30 s). */
  bookmarkIntervalMs?: number;
}

export interface WriteOptions {
  dryRun?: boolean;
  /** Who asks for the write (the authenticated user's name; `system:anonymous` without authentication), for audit. */
  user?: string;
}

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

export class ObjectStore<T extends KubeObject = KubeObject> {
  readonly apiVersion: string;
  readonly kind: string;
  readonly resource: string;
  readonly group: string;
  readonly namespaced: boolean;
  readonly clock: RevisionClock;
  readonly historySize: number;
  readonly bookmarkIntervalMs: number;
  #objects = new Map<string, T>();
  /** Watchers and the event history for watch replay. */
  readonly #watchers: WatcherSet<T>;
  #subscribers = new Set<(e: StoreEvent<T>) => void>();

  constructor(opts: StoreOptions) {
    this.apiVersion = opts.apiVersion;
    this.kind = opts.kind;
    this.resource = opts.resource;
    this.group = opts.group ?? '';
    this.namespaced = opts.namespaced;
    this.clock = opts.clock ?? new RevisionClock();
    this.historySize = opts.historySize ?? 1000;
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 30_000;
    this.#watchers = new WatcherSet<T>({
      apiVersion: this.apiVersion,
      kind: this.kind,
      namespaced: this.namespaced,
      compactedRv: this.clock.current,
      historySize: this.historySize,
      bookmarkIntervalMs: this.bookmarkIntervalMs,
      // Writes are in-process and in order: a BOOKMARK can carry the clock as it is.
      bookmarkRv: () => this.clock.current,
    });
  }

  get size(): number {
    return this.#objects.size;
  }

  get compactedRevision(): number {
    return this.#watchers.compactedRv;
  }

  get watcherCount(): number {
    return this.#watchers.size;
  }

  /** The stored object (do not mutate it; use mutate() or update() with a copy). */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.#objects.get(keyOf(this.namespaced ? namespace : undefined, name));
  }

  /** Stored objects matching the options, ordered by namespace/name, and the list resourceVersion. */
  list(opts: ListOptions = {}): { items: T[]; resourceVersion: string } {
    const sel = selectionOf(opts);
    const items: T[] = [];
    for (const obj of this.#objects.values()) {
      if (selects(sel, obj, this.namespaced)) items.push(obj);
    }
    items.sort((a, b) => {
      const ka = keyOf(a.metadata.namespace, a.metadata.name ?? '');
      const kb = keyOf(b.metadata.namespace, b.metadata.name ?? '');
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    return { items, resourceVersion: String(this.clock.current) };
  }

  /** Every stored object (unordered). */
  values(): IterableIterator<T> {
    return this.#objects.values();
  }

  /**
   * Creates an object. Assigns name (from generateName), uid, creationTimestamp, resourceVersion,
   * apiVersion and kind. Throws 409 AlreadyExists. With dryRun the result is returned but not stored.
   */
  create(input: T, opts: WriteOptions = {}): T {
    const obj = clone(input);
    obj.apiVersion = this.apiVersion;
    obj.kind = this.kind;
    obj.metadata = obj.metadata ?? {};
    const meta = obj.metadata;
    if (!this.namespaced) delete meta.namespace;
    else if (!meta.namespace) throw errors.badRequest('the namespace of the object is required');
    if (!meta.name) {
      if (!meta.generateName) throw errors.invalid(this.kind, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
      for (let i = 0; ; i++) {
        const candidate = `${meta.generateName}${randomSuffix()}`;
        if (!this.#objects.has(keyOf(meta.namespace, candidate))) {
          meta.name = candidate;
          break;
        }
        if (i > 8) throw errors.alreadyExists(this.resource, candidate, this.group || undefined);
      }
    }
    const key = keyOf(meta.namespace, meta.name as string);
    if (this.#objects.has(key)) throw errors.alreadyExists(this.resource, meta.name as string, this.group || undefined);
    meta.uid = newUid();
    meta.creationTimestamp = rfc3339();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (opts.dryRun) {
      meta.resourceVersion = undefined;
      return obj;
    }
    const rv = this.clock.next();
    meta.resourceVersion = String(rv);
    this.#objects.set(key, obj);
    this.#commit({ type: 'ADDED', object: obj, rv });
    return obj;
  }

  /**
   * Replaces an existing object. If the input carries a resourceVersion that is not the stored one → 409.
   * uid and creationTimestamp are kept. An update that changes nothing is a no-op (no new resourceVersion).
   */
  update(input: T, opts: WriteOptions = {}): T {
    const meta = input.metadata ?? {};
    const name = meta.name ?? '';
    const key = keyOf(this.namespaced ? meta.namespace : undefined, name);
    const old = this.#objects.get(key);
    if (!old) throw errors.notFound(this.resource, name, this.group || undefined);
    if (meta.resourceVersion && meta.resourceVersion !== old.metadata.resourceVersion)
      throw errors.staleUpdate(this.resource, name, this.group || undefined);
    const obj = clone(input);
    obj.apiVersion = this.apiVersion;
    obj.kind = this.kind;
    obj.metadata.uid = old.metadata.uid;
    obj.metadata.creationTimestamp = old.metadata.creationTimestamp;
    if (!this.namespaced) delete obj.metadata.namespace;
    obj.metadata.resourceVersion = old.metadata.resourceVersion;
    if (deepEqual(obj, old)) return old;
    if (opts.dryRun) return obj;
    const rv = this.clock.next();
    obj.metadata.resourceVersion = String(rv);
    this.#objects.set(key, obj);
    this.#commit({ type: 'MODIFIED', object: obj, old, rv });
    return obj;
  }

  /**
   * Read-modify-write for in-process controllers: `fn` gets a copy to change.
   * Returns the stored result, or undefined if the object does not exist or fn returned false.
   */
  mutate(namespace: string | undefined, name: string, fn: (draft: T) => unknown): T | undefined {
    const cur = this.get(namespace, name);
    if (!cur) return undefined;
    const draft = clone(cur);
    if (fn(draft) === false) return undefined;
    draft.metadata.resourceVersion = cur.metadata.resourceVersion;
    return this.update(draft);
  }

  /** Deletes an object; returns its last state (with the deletion's resourceVersion). */
  delete(namespace: string | undefined, name: string, opts: WriteOptions & { preconditions?: { uid?: string; resourceVersion?: string } } = {}): T {
    const key = keyOf(this.namespaced ? namespace : undefined, name);
    const old = this.#objects.get(key);
    if (!old) throw errors.notFound(this.resource, name, this.group || undefined);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid)
      throw errors.conflict(this.resource, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`, this.group || undefined);
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion)
      throw errors.conflict(
        this.resource,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
        this.group || undefined,
      );
    if (opts.dryRun) return old;
    const rv = this.clock.next();
    const obj = clone(old);
    obj.metadata.resourceVersion = String(rv);
    this.#objects.delete(key);
    this.#commit({ type: 'DELETED', object: obj, old, rv });
    return obj;
  }

  /** In-process change feed (synchronous, every committed change). Returns an unsubscribe function. */
  subscribe(fn: (e: StoreEvent<T>) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /** Forget all history: any watch from an older resourceVersion now gets 410 Expired. */
  compact(): void {
    this.#watchers.compact(this.clock.current);
  }

  /**
   * Starts a watch. Events are delivered synchronously to `sink.onEvent`. A resourceVersion older
   * than the retained history yields one ERROR event (Status 410 Expired) and the watch ends.
   */
  watch(opts: WatchOptions, sink: WatchSink<T>): WatchHandle {
    return this.#watchers.watch(opts, sink, (labels, fields) => this.list({ namespace: opts.namespace, labelSelector: labels, fieldSelector: fields }));
  }

  /** Ends every watch of this store (each sink gets onEnd). */
  closeWatchers(): number {
    return this.#watchers.closeAll();
  }

  #commit(ev: StoreEvent<T>): void {
    this.#watchers.publish(ev);
    for (const fn of [...this.#subscribers]) {
      try {
        fn(ev);
      } catch (err) {
        // A failing subscriber must not break the write path.
        console.error(`kubewire: ${this.resource} subscriber failed:`, err);
      }
    }
  }
}

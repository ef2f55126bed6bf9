/**
 * kubewire ResourceBackends over the SQLite store: Services, Clusters and
 * Namespaces as whole JSON objects with the store's single resourceVersion
 * counter (monotonic across restarts), every write one transaction, watch
 * streams from a WatchHub fed by this process's writes, the store's `object`
 * events (the controller's status writes) and polling for other processes.
 */
import { randomUUID } from 'node:crypto';
import {
  clone,
  deepEqual,
  errors,
  type KubeObject,
  type ListOptions,
  type ResourceBackend,
  selectionOf,
  selects,
  randomSuffix,
  rfc3339,
  type WatchHandle,
  type WatchOptions,
  type WatchSink,
  type WriteOptions,
} from '@fedns/kubewire';
import { type Store, SYSTEM_ACTOR } from '@fedns/store';
import { WatchHub } from './watch-hub.js';

/** One stored row: identity columns plus the object (stored without its resourceVersion). */
export interface Row {
  namespace?: string;
  name: string;
  uid: string;
  resourceVersion: number;
  object: KubeObject;
}

/** How a kind's rows are read and written. */
export interface RowTable {
  get(namespace: string | undefined, name: string): Row | undefined;
  list(): Row[];
  /** key (`ns/name`) → resourceVersion, cheaply, to find what another process changed. */
  versions(): Map<string, { namespace?: string; name: string; rv: number }>;
  /** Writes a row and records the change in the store's object log as `actor`'s. */
  put(row: Row, actor: string): void;
  /** Deletes a row; the deletion takes the next resourceVersion (`currentResourceVersion()` after it) and is logged. */
  remove(namespace: string | undefined, name: string, actor: string): boolean;
}

export const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

/**
 * Runs writes in one store transaction and the in-memory follow-ups (cache,
 * watch events, callbacks) only after it committed. Nested runs join the outer
 * one and act for its actor (a namespace created by a user's service create is that user's).
 */
export class Committer {
  #after: (() => void)[] | undefined;
  #actor: string | undefined;
  constructor(readonly store: Store) {}

  /** Who the current run writes for: its caller's user, else `system:fedns`. */
  get actor(): string {
    return this.#actor ?? SYSTEM_ACTOR;
  }

  run<T>(fn: (after: (cb: () => void) => void) => T, actor?: string): T {
    if (this.#after) {
      const outer = this.#after;
      return fn((cb) => outer.push(cb));
    }
    const after: (() => void)[] = [];
    this.#after = after;
    this.#actor = actor;
    let result: T;
    try {
      result = this.store.tx(() => fn((cb) => after.push(cb)));
    } finally {
      this.#after = undefined;
      this.#actor = undefined;
    }
    for (const cb of after) cb();
    return result;
  }
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface SqlBackendOptions {
  committer: Committer;
  table: RowTable;
  apiVersion: string;
  kind: string;
  plural: string;
  group?: string;
  namespaced: boolean;
  historySize?: number;
  bookmarkIntervalMs?: number;
  /** Called before any watch/list: catch up with other processes' commits. */
  catchUp?: () => void;
  /**
   * Extra writes inside the same transaction (credentials, shards, namespaces), given the object as
   * the request carried it. Returns true when it changed something beyond the object itself.
   */
  inTx?: (type: ChangeType, request: KubeObject, stored: KubeObject, old: KubeObject | undefined) => boolean | void;
  /** After a write of this API committed (not for changes made by others). */
  afterCommit?: (type: ChangeType, obj: KubeObject) => void;
}

export class SqlBackend implements ResourceBackend {
  readonly hub: WatchHub;
  readonly opts: SqlBackendOptions;
  readonly #store: Store;
  /** Last published state per key, to turn foreign changes into watch events. */
  readonly #cache = new Map<string, KubeObject>();

  constructor(opts: SqlBackendOptions) {
    this.opts = opts;
    this.#store = opts.committer.store;
    this.hub = new WatchHub({
      apiVersion: opts.apiVersion,
      kind: opts.kind,
      namespaced: opts.namespaced,
      startRv: this.#store.currentResourceVersion(),
      historySize: opts.historySize,
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      bookmarkRv: () => {
        const rv = this.#store.currentResourceVersion();
        opts.catchUp?.();
        return rv;
      },
    });
    for (const row of opts.table.list()) this.#cache.set(keyOf(row.namespace, row.name), this.#toObject(row));
  }

  #toObject(row: Row): KubeObject {
    const obj = row.object;
    obj.apiVersion ??= this.opts.apiVersion;
    obj.kind ??= this.opts.kind;
    obj.metadata ??= {};
    obj.metadata.name = row.name;
    if (this.opts.namespaced) obj.metadata.namespace = row.namespace;
    obj.metadata.uid = row.uid;
    obj.metadata.resourceVersion = String(row.resourceVersion);
    return obj;
  }

  #ns(namespace: string | undefined): string | undefined {
    return this.opts.namespaced ? namespace : undefined;
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    const row = this.opts.table.get(this.#ns(namespace), name);
    return row ? this.#toObject(row) : undefined;
  }

  list(opts: ListOptions = {}): { items: KubeObject[]; resourceVersion: string } {
    const sel = selectionOf(opts);
    return this.#store.tx(() => {
      const items = this.opts.table
        .list()
        .map((r) => this.#toObject(r))
        .filter((o) => selects(sel, o, this.opts.namespaced));
      return { items, resourceVersion: String(this.#store.currentResourceVersion()) };
    });
  }

  #stored(obj: KubeObject): KubeObject {
    const s = clone(obj);
    delete s.metadata.resourceVersion;
    return s;
  }

  create(input: KubeObject, opts: WriteOptions = {}): KubeObject {
    const obj = clone(input);
    obj.apiVersion = this.opts.apiVersion;
    obj.kind = this.opts.kind;
    const meta = (obj.metadata ??= {});
    const ns = this.#ns(meta.namespace);
    if (!this.opts.namespaced) delete meta.namespace;
    else if (!ns) throw errors.badRequest('the namespace of the object is required');
    return this.opts.committer.run((after) => {
      if (!meta.name) {
        if (!meta.generateName) throw errors.invalid(this.opts.kind, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
        for (let i = 0; !meta.name; i++) {
          const candidate = `${meta.generateName}${randomSuffix()}`;
          if (!this.opts.table.get(ns, candidate)) meta.name = candidate;
          else if (i > 8) throw errors.alreadyExists(this.opts.plural, candidate, this.opts.group);
        }
      }
      const name = meta.name as string;
      if (this.opts.table.get(ns, name)) throw errors.alreadyExists(this.opts.plural, name, this.opts.group);
      meta.uid = randomUUID();
      meta.creationTimestamp = rfc3339();
      delete meta.resourceVersion;
      if (opts.dryRun) return obj;
      const rv = this.#store.nextResourceVersion();
      this.opts.table.put({ namespace: ns, name, uid: meta.uid, resourceVersion: rv, object: this.#stored(obj) }, this.opts.committer.actor);
      this.opts.inTx?.('ADDED', input, obj, undefined);
      meta.resourceVersion = String(rv);
      const published = clone(obj);
      after(() => this.#committed({ type: 'ADDED', object: published, rv }));
      return obj;
    }, opts.user);
  }

  update(input: KubeObject, opts: WriteOptions = {}): KubeObject {
    const meta = input.metadata ?? {};
    const name = meta.name ?? '';
    const ns = this.#ns(meta.namespace);
    return this.opts.committer.run((after) => {
      const row = this.opts.table.get(ns, name);
      if (!row) throw errors.notFound(this.opts.plural, name, this.opts.group);
      const cur = this.#toObject(row);
      if (meta.resourceVersion && meta.resourceVersion !== cur.metadata.resourceVersion) throw errors.staleUpdate(this.opts.plural, name, this.opts.group);
      const obj = clone(input);
      obj.apiVersion = this.opts.apiVersion;
      obj.kind = this.opts.kind;
      obj.metadata.uid = cur.metadata.uid;
      obj.metadata.creationTimestamp = cur.metadata.creationTimestamp;
      if (!this.opts.namespaced) delete obj.metadata.namespace;
      else obj.metadata.namespace = ns;
      obj.metadata.resourceVersion = cur.metadata.resourceVersion;
      if (opts.dryRun) return deepEqual(obj, cur) ? cur : obj;
      const extra = this.opts.inTx?.('MODIFIED', input, obj, cur) === true;
      // Nothing changed: no new resourceVersion, no event.
      if (deepEqual(obj, cur) && !extra) return cur;
      const rv = this.#store.nextResourceVersion();
      this.opts.table.put({ namespace: ns, name, uid: row.uid, resourceVersion: rv, object: this.#stored(obj) }, this.opts.committer.actor);
      obj.metadata.resourceVersion = String(rv);
      const published = clone(obj);
      after(() => this.#committed({ type: 'MODIFIED', object: published, old: cur, rv }));
      return obj;
    }, opts.user);
  }

  delete(namespace: string | undefined, name: string, opts: WriteOptions & { preconditions?: { uid?: string; resourceVersion?: string } } = {}): KubeObject {
    const ns = this.#ns(namespace);
    return this.opts.committer.run((after) => {
      const row = this.opts.table.get(ns, name);
      if (!row) throw errors.notFound(this.opts.plural, name, this.opts.group);
      const cur = this.#toObject(row);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== cur.metadata.uid)
        throw errors.conflict(this.opts.plural, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`, this.opts.group);
      if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion)
        throw errors.conflict(this.opts.plural, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`, this.opts.group);
      if (opts.dryRun) return cur;
      this.opts.table.remove(ns, name, this.opts.committer.actor);
      const rv = this.#store.currentResourceVersion();
      this.opts.inTx?.('DELETED', cur, cur, cur);
      const obj = clone(cur);
      obj.metadata.resourceVersion = String(rv);
      after(() => this.#committed({ type: 'DELETED', object: clone(obj), old: cur, rv }));
      return obj;
    }, opts.user);
  }

  watch(opts: WatchOptions, sink: WatchSink<KubeObject>): WatchHandle {
    this.opts.catchUp?.();
    return this.hub.watch(opts, sink, (labels, fields) => this.list({ namespace: opts.namespace, labelSelector: labels, fieldSelector: fields }));
  }

  #committed(ev: { type: ChangeType; object: KubeObject; old?: KubeObject; rv: number }): void {
    const key = keyOf(ev.object.metadata.namespace, ev.object.metadata.name ?? '');
    if (ev.type === 'DELETED') this.#cache.delete(key);
    else this.#cache.set(key, ev.object);
    this.hub.publish(ev);
    try {
      this.opts.afterCommit?.(ev.type, ev.object);
    } catch (err) {
      console.error(`fedns api: ${this.opts.plural} change callback failed:`, err);
    }
  }

  /** Re-reads one object written by someone else in this process (e.g. the controller's status writes). */
  syncKey(namespace: string | undefined, name: string): void {
    const key = keyOf(this.#ns(namespace), name);
    const row = this.opts.table.get(this.#ns(namespace), name);
    const cached = this.#cache.get(key);
    if (row) {
      if (cached && Number(cached.metadata.resourceVersion) === row.resourceVersion) return;
      const obj = this.#toObject(row);
      this.#cache.set(key, obj);
      this.hub.publish({ type: cached ? 'MODIFIED' : 'ADDED', object: obj, old: cached, rv: row.resourceVersion });
    } else if (cached) {
      this.#publishForeignDelete(key, cached);
    }
  }

  /** Compares every row's resourceVersion with what was published: another process's writes become events. */
  sync(): void {
    const versions = this.opts.table.versions();
    const changes: { key: string; old?: KubeObject; row: Row }[] = [];
    for (const [key, v] of versions) {
      const cached = this.#cache.get(key);
      if (cached && Number(cached.metadata.resourceVersion) === v.rv) continue;
      const row = this.opts.table.get(v.namespace, v.name);
      if (row) changes.push({ key, old: cached, row });
    }
    changes.sort((a, b) => a.row.resourceVersion - b.row.resourceVersion);
    for (const c of changes) {
      const obj = this.#toObject(c.row);
      this.#cache.set(c.key, obj);
      this.hub.publish({ type: c.old ? 'MODIFIED' : 'ADDED', object: obj, old: c.old, rv: c.row.resourceVersion });
    }
    for (const [key, cached] of [...this.#cache]) if (!versions.has(key)) this.#publishForeignDelete(key, cached);
  }

  #publishForeignDelete(key: string, cached: KubeObject): void {
    this.#cache.delete(key);
    const rv = this.#store.currentResourceVersion();
    const obj = clone(cached);
    obj.metadata.resourceVersion = String(rv);
    this.hub.publish({ type: 'DELETED', object: obj, old: cached, rv });
  }
}

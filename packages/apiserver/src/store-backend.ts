/**
 * kubewire ResourceBackends over the store interface: Services, Clusters and
 * Namespaces as whole JSON objects with the store's resourceVersions. Every
 * write is one compare-and-swap on the object's resourceVersion (two API
 * servers, or two requests of one, can never both win), attributed to the
 * request's user in the store's object log. Watches are served by the API
 * server's ObjectLogFeed, which follows that log: a watch sees every change,
 * whichever API server or process made it.
 */
import { randomUUID } from 'node:crypto';
import {
  clone,
  deepEqual,
  errors,
  type KubeObject,
  type ListOptions,
  type ResourceBackend,
  randomSuffix,
  rfc3339,
  selectionOf,
  selects,
  type WatchHandle,
  type WatchOptions,
  type WatchSink,
  type WriteOptions,
} from '@fedns/kubewire';
import { ConflictError, type ObjectKind, type Store, type StoredObject, SYSTEM_ACTOR } from '@fedns/store';
import type { KindWatch } from './feed.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreBackendOptions {
  store: Store;
  kind: ObjectKind;
  apiVersion: string;
  /** The Kubernetes kind (Service, Cluster, Namespace). */
  kubeKind: string;
  plural: string;
  group?: string;
  namespaced: boolean;
  /** Watches of this kind (fed from the object log). */
  watches: KindWatch;
  /**
   * What a write stores beside the object: cluster credentials taken out of
   * the request (never part of the object), given the request's object.
   */
  credentialsOf?: (request: KubeObject) => string | undefined;
  /** Before a create is stored (e.g. ensure the namespace exists); runs for the same user. */
  beforeCreate?: (obj: KubeObject, user: string) => Promise<void>;
  /** After a delete is stored (e.g. a namespace's services go too). */
  afterDelete?: (obj: KubeObject, user: string) => Promise<void>;
}

export class StoreBackend implements ResourceBackend {
  readonly opts: StoreBackendOptions;

  constructor(opts: StoreBackendOptions) {
    this.opts = opts;
  }

  /** The Kubernetes object of a stored row: identity and resourceVersion from its columns. */
  toObject(row: StoredObject<KubeObject>): KubeObject {
    const obj = row.object;
    obj.apiVersion ??= this.opts.apiVersion;
    obj.kind ??= this.opts.kubeKind;
    obj.metadata ??= {};
    obj.metadata.name = row.name;
    if (this.opts.namespaced) obj.metadata.namespace = row.namespace;
    else delete obj.metadata.namespace;
    obj.metadata.uid = row.uid;
    obj.metadata.resourceVersion = String(row.resourceVersion);
    return obj;
  }

  #ns(namespace: string | undefined): string {
    return this.opts.namespaced ? (namespace ?? '') : '';
  }

  async get(namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const row = await this.opts.store.getObject<KubeObject>(this.opts.kind, this.#ns(namespace), name);
    return row ? this.toObject(row) : undefined;
  }

  async list(opts: ListOptions = {}): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const sel = selectionOf(opts);
    const { items, revision } = await this.opts.store.listObjects<KubeObject>(this.opts.kind, this.opts.namespaced ? opts.namespace : undefined);
    return { items: items.map((r) => this.toObject(r)).filter((o) => selects(sel, o, this.opts.namespaced)), resourceVersion: String(revision) };
  }

  /** What is stored: the object without its resourceVersion (the store's column holds it). */
  #stored(obj: KubeObject): KubeObject {
    const s = clone(obj);
    delete s.metadata.resourceVersion;
    return s;
  }

  #conflict(err: unknown, name: string): never {
    if (err instanceof ConflictError) {
      if (err.reason === 'exists') throw errors.alreadyExists(this.opts.plural, name, this.opts.group);
      if (err.reason === 'missing') throw errors.notFound(this.opts.plural, name, this.opts.group);
      throw errors.staleUpdate(this.opts.plural, name, this.opts.group);
    }
    throw err;
  }

  async create(input: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const obj = clone(input);
    obj.apiVersion = this.opts.apiVersion;
    obj.kind = this.opts.kubeKind;
    const meta = (obj.metadata ??= {});
    const ns = this.#ns(meta.namespace);
    if (!this.opts.namespaced) delete meta.namespace;
    else if (!ns) throw errors.badRequest('the namespace of the object is required');
    if (!meta.name) {
      if (!meta.generateName) throw errors.invalid(this.opts.kubeKind, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
      for (let i = 0; !meta.name; i++) {
        const candidate = `${meta.generateName}${randomSuffix()}`;
        if (!(await this.opts.store.getObject(this.opts.kind, ns, candidate))) meta.name = candidate;
        else if (i > 8) throw errors.alreadyExists(this.opts.plural, candidate, this.opts.group);
      }
    }
    const name = meta.name as string;
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339();
    delete meta.resourceVersion;
    if (opts.dryRun) {
      if (await this.opts.store.getObject(this.opts.kind, ns, name)) throw errors.alreadyExists(this.opts.plural, name, this.opts.group);
      return obj;
    }
    const actor = opts.user ?? SYSTEM_ACTOR;
    await this.opts.beforeCreate?.(obj, actor);
    const credentials = this.opts.credentialsOf?.(input);
    const row = await this.opts.store
      .createObject({ kind: this.opts.kind, namespace: ns, name, uid: meta.uid, object: this.#stored(obj), actor, ...(credentials !== undefined ? { credentials } : {}) })
      .catch((err) => this.#conflict(err, name));
    meta.resourceVersion = String(row.resourceVersion);
    return obj;
  }

  async update(input: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const meta = input.metadata ?? {};
    const name = meta.name ?? '';
    const ns = this.#ns(meta.namespace);
    const row = await this.opts.store.getObject<KubeObject>(this.opts.kind, ns, name);
    if (!row) throw errors.notFound(this.opts.plural, name, this.opts.group);
    const cur = this.toObject(row);
    if (meta.resourceVersion && meta.resourceVersion !== cur.metadata.resourceVersion) throw errors.staleUpdate(this.opts.plural, name, this.opts.group);
    const obj = clone(input);
    obj.apiVersion = this.opts.apiVersion;
    obj.kind = this.opts.kubeKind;
    obj.metadata.uid = cur.metadata.uid;
    obj.metadata.creationTimestamp = cur.metadata.creationTimestamp;
    if (!this.opts.namespaced) delete obj.metadata.namespace;
    else obj.metadata.namespace = ns;
    obj.metadata.resourceVersion = cur.metadata.resourceVersion;
    const credentials = this.opts.credentialsOf?.(input);
    const newCredentials = credentials !== undefined && credentials !== (await this.opts.store.clusterCredentials(name));
    // Nothing changed: no new resourceVersion, no event.
    if (deepEqual(obj, cur) && !newCredentials) return cur;
    if (opts.dryRun) return obj;
    const stored = await this.opts.store
      .updateObject({ kind: this.opts.kind, namespace: ns, name, uid: row.uid, object: this.#stored(obj), actor: opts.user ?? SYSTEM_ACTOR, ...(newCredentials ? { credentials } : {}) }, row.resourceVersion)
      .catch((err) => this.#conflict(err, name));
    obj.metadata.resourceVersion = String(stored.resourceVersion);
    return obj;
  }

  async delete(namespace: string | undefined, name: string, opts: WriteOptions & { preconditions?: { uid?: string; resourceVersion?: string } } = {}): Promise<KubeObject> {
    const ns = this.#ns(namespace);
    const row = await this.opts.store.getObject<KubeObject>(this.opts.kind, ns, name);
    if (!row) throw errors.notFound(this.opts.plural, name, this.opts.group);
    const cur = this.toObject(row);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata.uid)
      throw errors.conflict(this.opts.plural, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`, this.opts.group);
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion)
      throw errors.conflict(this.opts.plural, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`, this.opts.group);
    if (opts.dryRun) return cur;
    const actor = opts.user ?? SYSTEM_ACTOR;
    const gone = await this.opts.store.deleteObject<KubeObject>(this.opts.kind, ns, name, { expectedRv: row.resourceVersion, actor }).catch((err) => this.#conflict(err, name));
    if (!gone) throw errors.notFound(this.opts.plural, name, this.opts.group);
    const obj = clone(cur);
    obj.metadata.resourceVersion = String(gone.resourceVersion);
    await this.opts.afterDelete?.(obj, actor);
    return obj;
  }

  async watch(opts: WatchOptions, sink: WatchSink<KubeObject>): Promise<WatchHandle> {
    return this.opts.watches.watch(opts, sink, (o) => this.list(o));
  }
}

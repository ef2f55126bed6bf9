/**
 * KubeApiServer: serves registered resources on a Fastify instance with the Kubernetes REST
 * conventions — discovery, OpenAPI, list/get/create/update/patch/delete, watch streams,
 * Table output for kubectl, Status errors.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fieldManagerOf, serverSideApply, trackUpdate } from './apply.js';
import { aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, DEFAULT_VERBS, type DiscoveryResource } from './discovery.js';
import { checkFields, parseFieldValidation } from './fieldvalidation.js';
import { withObjectMeta } from './listtypes.js';
import { gvPath, hashOf, type JsonSchema, openApiV2, openApiV3GroupVersion, servedSchema } from './openapi.js';
import { applyPatch, PATCH_TYPES } from './patch.js';
import { decodeProtobufObject } from './protobuf.js';
import type { ListOptions, WatchHandle, WatchOptions, WatchSink, WriteOptions } from './store.js';
import { checkFieldSelector, selectableFieldsFor } from './selectors.js';
import { errors, type StatusCause, StatusError, toStatus } from './status.js';
import { buildTable, type IncludeObject, type TableDef, tableDefFor } from './table.js';
import { apiVersionOf, type KubeObject, type WatchEvent } from './types.js';
import { checkDns1035Label, checkDns1123Label, checkDns1123Subdomain, clone, isPlainObject } from './util.js';

/** What a resource is served from. ObjectStore implements it; any other backend may. */
type Awaitable<T> = T | Promise<T>;

/**
 * Where a resource is kept. Synchronous (kube-sim's in-memory ObjectStore: a
 * hook and the write after it cannot interleave with another request) or
 * asynchronous (a database: its writes compare-and-swap on resourceVersion).
 */
export interface ResourceBackend<T extends KubeObject = KubeObject> {
  get(namespace: string | undefined, name: string): Awaitable<T | undefined>;
  list(opts: ListOptions): Awaitable<{ items: T[]; resourceVersion: string }>;
  create(obj: T, opts?: WriteOptions): Awaitable<T>;
  update(obj: T, opts?: WriteOptions): Awaitable<T>;
  delete(namespace: string | undefined, name: string, opts?: WriteOptions & { preconditions?: { uid?: string; resourceVersion?: string } }): Awaitable<T>;
  watch(opts: WatchOptions, sink: WatchSink<T>): Awaitable<WatchHandle>;
}

export type Verb = 'create' | 'update' | 'patch' | 'delete' | 'get' | 'list' | 'watch' | 'deletecollection';

/** Who made a request, as authentication found it. */
export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
}

/** What a request asks for, in the terms of Kubernetes authorization (SubjectAccessReview attributes). */
export interface RequestAttributes {
  /** get, list, watch, create, update, patch, delete, deletecollection; for non-resource paths the lower-case method */
  verb: string;
  resourceRequest: boolean;
  path: string;
  apiGroup?: string;
  apiVersion?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  user?: UserInfo;
}

const attributes = new WeakMap<FastifyRequest, RequestAttributes>();
/** Who authentication found, set by the onRequest hook (before the body is read). */
const authenticated = new WeakMap<FastifyRequest, UserInfo | undefined>();
/** The object a successful write answered with. */
const written = new WeakMap<FastifyRequest, WriteResult>();

/** The user name writes are attributed to when the server authenticates nobody (kube-apiserver's anonymous user). */
export const ANONYMOUS_USER = 'system:anonymous';

/** The attributes of a request KubeApiServer handled (for metrics and audit), once it has parsed the path. */
export function requestAttributesOf(req: FastifyRequest): RequestAttributes | undefined {
  return attributes.get(req);
}

/** What a successful write (create, update, patch, delete) of one object produced. */
export interface WriteResult {
  namespace?: string;
  name?: string;
  resourceVersion?: string;
  dryRun: boolean;
}

/** The result of a request's successful write of one object, for audit logs; undefined for reads and failures. */
export function writeResultOf(req: FastifyRequest): WriteResult | undefined {
  return written.get(req);
}

/** Adds a Kubernetes warning (`Warning: 299 - "text"`, printed by kubectl) to a reply; several may be added. */
export function addWarning(reply: FastifyReply | undefined, text: string): void {
  if (!reply) return;
  const value = `299 - ${JSON.stringify(text)}`;
  const prev = reply.getHeader('warning');
  reply.header('warning', prev === undefined ? value : [...(Array.isArray(prev) ? prev : [String(prev)]), value]);
}

/** An apply-patch body, kept as text until the PATCH handler knows server-side apply is wanted. */
export class ApplyPatchBody {
  constructor(readonly text: string) {}
}

export interface RequestContext {
  verb: Verb;
  user?: UserInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  dryRun: boolean;
  query: Record<string, string>;
  request: FastifyRequest;
  reply?: FastifyReply;
  /** DELETE: the DeleteOptions body (propagationPolicy, preconditions, ...). */
  deleteOptions?: Record<string, unknown>;
  api: KubeApiServer;
}

/**
 * Hooks run in order: prepareCreate/prepareUpdate (defaulting, allocation — may throw a StatusError),
 * then validate (returns field causes → 422 Invalid). Keep them synchronous where they allocate:
 * a synchronous hook and the store write that follows it cannot interleave with another request.
 */
export interface ResourceHooks<T extends KubeObject = KubeObject> {
  prepareCreate?(obj: T, ctx: RequestContext): void | Promise<void>;
  prepareUpdate?(obj: T, old: T, ctx: RequestContext): void | Promise<void>;
  validate?(obj: T, old: T | undefined, ctx: RequestContext): StatusCause[] | undefined;
  beforeDelete?(obj: T, ctx: RequestContext): void | Promise<void>;
  /**
   * Replaces the delete itself (e.g. graceful deletion): return the object to answer with, or
   * undefined to let the backend delete it.
   */
  delete?(obj: T, ctx: RequestContext): T | undefined;
  afterDelete?(obj: T, ctx: RequestContext): void;
}

export interface SubresourceContext<T extends KubeObject = KubeObject> extends RequestContext {
  object: T;
  reply: FastifyReply;
  method: string;
  body: unknown;
}

export interface ResourceDef<T extends KubeObject = KubeObject> {
  group: string;
  version: string;
  kind: string;
  /** lower-case plural, the path segment (`services`) */
  plural: string;
  singular?: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs?: string[];
  store: ResourceBackend<T>;
  /** PUT/PATCH on the object keep `status`; /status updates only `status`. */
  statusSubresource?: boolean;
  /** Table columns; the built-in set for the kind, or NAME/AGE. */
  table?: TableDef;
  hooks?: ResourceHooks<T>;
  /** Extra subresources (e.g. `log`): answer GET etc. on /<name>/<sub>. Return a string for text/plain. */
  subresources?: Record<string, { verbs?: string[]; handler(ctx: SubresourceContext<T>): unknown | Promise<unknown> }>;
  /** Name rule: 'subdomain' (default), 'label' (DNS-1123 label), 'dns1035', 'none', or a function returning a problem. */
  nameValidation?: 'subdomain' | 'label' | 'dns1035' | 'none' | ((name: string) => string | undefined);
  /**
   * OpenAPI v3 schema of the kind (served at /openapi/v3). Its x-kubernetes-patch-* and
   * x-kubernetes-list-* extensions say how strategic merge patch and server-side apply treat each
   * list (listtypes.ts; lists it says nothing of are replaced / atomic); with `properties` it also
   * drives fieldValidation (unknown fields).
   */
  schema?: JsonSchema;
  /**
   * Fields a fieldSelector may name (others: 400 "field label not supported"). Default:
   * metadata.name and metadata.namespace, plus what kube-apiserver allows for the built-in kind.
   */
  selectableFields?: string[];
}

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

export interface KubeApiOptions {
  /** /version document overrides. */
  version?: Partial<VersionInfo>;
  /** Namespace lifecycle: creating into a namespace for which this returns false → 404. */
  namespaceExists?: (namespace: string) => boolean;
  /** Answer aggregated discovery when asked (default true). */
  aggregatedDiscovery?: boolean;
  /** Upper bound of a watch's lifetime in seconds when the client gives no timeoutSeconds (default 1800). */
  maxWatchSeconds?: number;
  /** BOOKMARK interval for watches with allowWatchBookmarks (default 30000 ms). */
  bookmarkIntervalMs?: number;
  /** Authentication: return who is asking (or nothing), throw errors.unauthorized() to refuse. */
  authenticate?: (request: FastifyRequest) => void | UserInfo | undefined | Promise<void | UserInfo | undefined>;
  /** Authorization, once the request's attributes are known: throw a 403 Status to refuse. */
  authorize?: (attrs: RequestAttributes, request: FastifyRequest) => void | Promise<void>;
  /**
   * Track field ownership in metadata.managedFields on every write and serve server-side apply
   * (`PATCH application/apply-patch+yaml`). Default false (apply → 415).
   */
  managedFields?: boolean;
  /** Replace Fastify's JSON body parser with a Kubernetes-tolerant one and add the patch types (default true). */
  installContentTypeParsers?: boolean;
  /** Install a Status-rendering error handler and 404 handler (default true). */
  installErrorHandler?: boolean;
}

interface Registered {
  def: ResourceDef<KubeObject>;
  table: TableDef;
  apiVersion: string;
  /** The schema served for the kind, ObjectMeta included: what patches and apply read list semantics from. */
  schema: JsonSchema;
}

interface OpenWatch {
  res: ServerResponse;
  handle: WatchHandle;
  end(destroy: boolean): void;
}

interface TableRequest {
  apiVersion: string;
}

/** Parses the Accept header: Table (kubectl get), aggregated discovery, or plain JSON. */
export function negotiate(accept: string | undefined): { table?: TableRequest; aggregated?: 'v2' | 'v2beta1'; acceptable: boolean } {
  if (!accept) return { acceptable: true };
  let acceptable = false;
  for (const entry of accept.split(',')) {
    const [type, ...rawParams] = entry.split(';').map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const p of rawParams) {
      const i = p.indexOf('=');
      if (i > 0) params[p.slice(0, i).trim()] = p.slice(i + 1).trim();
    }
    const t = (type ?? '').toLowerCase();
    const jsonish = t === 'application/json' || t === '*/*' || t === 'application/*' || t === 'application/yaml';
    if (!jsonish) continue;
    if (params.as === 'Table' && params.g === 'meta.k8s.io' && (params.v === 'v1' || params.v === 'v1beta1'))
      return { table: { apiVersion: `meta.k8s.io/${params.v}` }, acceptable: true };
    if (params.as === 'APIGroupDiscoveryList' && params.g === 'apidiscovery.k8s.io' && (params.v === 'v2' || params.v === 'v2beta1'))
      return { aggregated: params.v, acceptable: true };
    if (params.as) continue; // some other conversion (PartialObjectMetadata...) we do not offer
    acceptable = true;
  }
  return { acceptable };
}

const jsonTypes = [
  'application/json',
  'application/merge-patch+json',
  'application/json-patch+json',
  'application/strategic-merge-patch+json',
];

function firstQuery(q: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPlainObject(q)) return out;
  for (const [k, v] of Object.entries(q)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v) && typeof v[0] === 'string') out[k] = v[0];
  }
  return out;
}

const truthy = (v: string | undefined) => v === 'true' || v === '1';

const DEFAULT_VERSION: VersionInfo = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0',
  gitCommit: '70d3cc986aa8221cd1dfb1121852688902d3bf53',
  gitTreeState: 'clean',
  buildDate: '2024-12-11T17:58:01Z',
  goVersion: 'go1.23.3',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/**
 * Installs Kubernetes REST serving on a Fastify instance:
 *   /api, /api/v1/..., /apis, /apis/<group>/<version>/..., /version, /openapi/v2, /openapi/v3[/...]
 * Register resources with addResource() (before or after listen — routing is dynamic).
 */
export class KubeApiServer {
  readonly app: FastifyInstance;
  readonly options: KubeApiOptions;
  readonly versionInfo: VersionInfo;
  #resources: Registered[] = [];
  #watches = new Set<OpenWatch>();
  #openapiCache = new Map<string, { doc: unknown; hash: string }>();

  constructor(app: FastifyInstance, options: KubeApiOptions = {}) {
    this.app = app;
    this.options = options;
    this.versionInfo = { ...DEFAULT_VERSION, ...options.version };
    if (options.installContentTypeParsers !== false) installContentTypeParsers(app);
    if (options.installErrorHandler !== false) installStatusErrorHandler(app);
    const handler = (req: FastifyRequest, reply: FastifyReply) => this.#dispatch(req, reply);
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
    // Authentication runs before the body is read: an unauthenticated request gets 401, whatever it carries.
    const authenticate = options.authenticate;
    const onRequest = authenticate
      ? async (req: FastifyRequest) => {
          authenticated.set(req, (await authenticate(req)) ?? undefined);
        }
      : undefined;
    for (const url of ['/api', '/api/*', '/apis', '/apis/*', '/openapi/v2', '/openapi/v3', '/openapi/v3/*', '/version', '/version/'])
      app.route({ method: [...methods], url, handler, ...(onRequest ? { onRequest } : {}) });
    app.addHook('preClose', (done) => {
      this.closeWatches({ destroy: true });
      done();
    });
  }

  /** Registers a resource. Its discovery, OpenAPI, REST and watch endpoints are served at once. */
  addResource<T extends KubeObject>(def: ResourceDef<T>): void {
    const d = def as unknown as ResourceDef<KubeObject>;
    this.#resources = this.#resources.filter((r) => !(r.def.group === d.group && r.def.version === d.version && r.def.plural === d.plural));
    this.#resources.push({ def: d, table: d.table ?? tableDefFor(d.group, d.kind), apiVersion: apiVersionOf(d.group, d.version), schema: withObjectMeta(servedSchema(d)) });
    this.#openapiCache.clear();
  }

  resource(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.#find(group, version, plural)?.def;
  }

  resources(): ResourceDef[] {
    return this.#resources.map((r) => r.def);
  }

  /** Open HTTP watch streams. */
  get watchCount(): number {
    return this.#watches.size;
  }

  /** Ends every open HTTP watch (clients see the stream close and re-watch). destroy → reset the sockets. */
  closeWatches(opts: { destroy?: boolean } = {}): number {
    const all = [...this.#watches];
    for (const w of all) w.end(opts.destroy ?? false);
    return all.length;
  }

  #find(group: string, version: string, plural: string): Registered | undefined {
    return this.#resources.find((r) => r.def.group === group && r.def.version === version && r.def.plural === plural);
  }

  #discoveryResources(): (DiscoveryResource & { schema?: JsonSchema })[] {
    return this.#resources.map(({ def }) => {
      const subresources: DiscoveryResource['subresources'] = {};
      if (def.statusSubresource) subresources.status = { verbs: ['get', 'patch', 'update'] };
      for (const [name, s] of Object.entries(def.subresources ?? {})) subresources[name] = { verbs: s.verbs ?? ['get'] };
      return {
        group: def.group,
        version: def.version,
        kind: def.kind,
        plural: def.plural,
        singular: def.singular ?? def.kind.toLowerCase(),
        namespaced: def.namespaced,
        verbs: def.verbs ?? DEFAULT_VERBS,
        shortNames: def.shortNames,
        categories: def.categories,
        subresources,
        schema: def.schema,
      };
    });
  }

  async #dispatch(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const user = authenticated.get(req);
    const rawPath = (req.url.split('?')[0] ?? '/').replace(/\/+$/, '') || '/';
    const segs = rawPath.split('/').filter(Boolean).map(decodeURIComponent);
    const query = firstQuery(req.query);
    const neg = negotiate(req.headers.accept);
    const method = req.method.toUpperCase();
    attributes.set(req, { verb: method.toLowerCase(), resourceRequest: false, path: rawPath, user });
    const resourcePath = (segs[0] === 'api' && segs.length > 2) || (segs[0] === 'apis' && segs.length > 3);
    if (!resourcePath && this.options.authorize) await this.options.authorize(attributes.get(req) as RequestAttributes, req);

    if (segs[0] === 'version') return this.versionInfo;
    if (segs[0] === 'openapi') return this.#openapi(segs, req, reply);
    if (method !== 'GET' && method !== 'HEAD' && segs.length <= (segs[0] === 'api' ? 2 : 3)) throw errors.methodNotAllowed(method);

    const all = this.#discoveryResources();
    if (segs[0] === 'api') {
      if (segs.length === 1) {
        if (neg.aggregated && this.options.aggregatedDiscovery !== false) return this.#sendAggregated(reply, all, true, neg.aggregated);
        return apiVersions(req.headers.host ?? '127.0.0.1');
      }
      if (segs[1] !== 'v1') throw errors.pathNotFound();
      if (segs.length === 2) return apiResourceList('', 'v1', all.filter((r) => r.group === '' && r.version === 'v1'));
      return this.#resourceRequest('', 'v1', segs.slice(2), req, reply, query, neg);
    }
    // /apis...
    if (segs.length === 1) {
      if (neg.aggregated && this.options.aggregatedDiscovery !== false) return this.#sendAggregated(reply, all, false, neg.aggregated);
      return apiGroupList(all);
    }
    const group = segs[1] as string;
    const versions = [...new Set(all.filter((r) => r.group === group).map((r) => r.version))];
    if (!versions.length) throw errors.pathNotFound();
    if (segs.length === 2) return apiGroup(group, versions);
    const version = segs[2] as string;
    if (!versions.includes(version)) throw errors.pathNotFound();
    if (segs.length === 3) return apiResourceList(group, version, all.filter((r) => r.group === group && r.version === version));
    return this.#resourceRequest(group, version, segs.slice(3), req, reply, query, neg);
  }

  #sendAggregated(reply: FastifyReply, all: DiscoveryResource[], core: boolean, v: 'v2' | 'v2beta1'): unknown {
    // Written raw: Fastify would normalise the media type parameters (quotes, charset).
    const body = JSON.stringify(aggregatedDiscovery(all, core, v));
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`,
      'content-length': Buffer.byteLength(body),
      vary: 'Accept',
    });
    reply.raw.end(body);
    return undefined;
  }

  #openapi(segs: string[], req: FastifyRequest, reply: FastifyReply): unknown {
    const all = this.#discoveryResources();
    if (segs[1] === 'v2') {
      const accept = req.headers.accept ?? '';
      if (accept && !/json|\*\/\*/.test(accept)) throw errors.notAcceptable();
      return openApiV2(all, this.versionInfo.gitVersion);
    }
    if (segs[1] !== 'v3') throw errors.pathNotFound();
    const gvs = new Map<string, { group: string; version: string }>();
    for (const r of all) gvs.set(gvPath(r.group, r.version), { group: r.group, version: r.version });
    const docFor = (p: string) => {
      let cached = this.#openapiCache.get(p);
      if (!cached) {
        const gv = gvs.get(p);
        if (!gv) return undefined;
        const doc = openApiV3GroupVersion(gv.group, gv.version, all, this.versionInfo.gitVersion);
        cached = { doc, hash: hashOf(doc) };
        this.#openapiCache.set(p, cached);
      }
      return cached;
    };
    if (segs.length === 2) {
      const paths: Record<string, { serverRelativeURL: string }> = {};
      for (const p of [...gvs.keys()].sort()) {
        const c = docFor(p);
        if (c) paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${c.hash}` };
      }
      return { paths };
    }
    const c = docFor(segs.slice(2).join('/'));
    if (!c) throw errors.pathNotFound();
    reply.header('etag', `"${c.hash}"`);
    reply.header('cache-control', (req.query as Record<string, unknown>)?.hash ? 'public, immutable' : 'no-cache, private');
    return c.doc;
  }

  async #resourceRequest(
    group: string,
    version: string,
    rest: string[],
    req: FastifyRequest,
    reply: FastifyReply,
    query: Record<string, string>,
    neg: ReturnType<typeof negotiate>,
  ): Promise<unknown> {
    let watchPrefix = false;
    if (rest[0] === 'watch') {
      watchPrefix = true;
      rest = rest.slice(1);
    }
    let namespace: string | undefined;
    let reg: Registered | undefined;
    let tail: string[];
    if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && (rest[2] === 'status' || rest[2] === 'finalize') && rest.length === 3)) {
      namespace = rest[1];
      reg = this.#find(group, version, rest[2] as string);
      if (!reg?.def.namespaced) throw errors.pathNotFound();
      tail = rest.slice(3);
    } else {
      reg = this.#find(group, version, rest[0] as string);
      if (!reg) throw errors.pathNotFound();
      tail = rest.slice(1);
      if (reg.def.namespaced && tail.length > 0) throw errors.pathNotFound();
    }
    if (tail.length > 2) throw errors.pathNotFound();
    const name = tail[0];
    const subresource = tail[1];
    const method = req.method.toUpperCase();
    if (query.dryRun !== undefined && query.dryRun !== '' && query.dryRun !== 'All') throw errors.badRequest(`Invalid dry run value: "${query.dryRun}": only "All" is supported`);
    const dryRun = query.dryRun === 'All';
    const user = attributes.get(req)?.user;
    const ctx = (verb: Verb): RequestContext => ({ verb, user, namespace, name, subresource, dryRun, query, request: req, reply, api: this });
    const verb: Verb =
      method === 'GET' || method === 'HEAD'
        ? watchPrefix || truthy(query.watch)
          ? 'watch'
          : name === undefined
            ? 'list'
            : 'get'
        : method === 'POST'
          ? 'create'
          : method === 'PUT'
            ? 'update'
            : method === 'PATCH'
              ? 'patch'
              : method === 'DELETE'
                ? name === undefined
                  ? 'deletecollection'
                  : 'delete'
                : (method.toLowerCase() as Verb);
    const attrs: RequestAttributes = { verb, resourceRequest: true, path: req.url.split('?')[0] ?? '', apiGroup: group, apiVersion: version, resource: reg.def.plural, subresource, namespace, name, user };
    attributes.set(req, attrs);
    if (this.options.authorize) await this.options.authorize(attrs, req);
    if (!neg.acceptable) throw errors.notAcceptable();

    if (name === undefined) {
      switch (method) {
        case 'GET':
        case 'HEAD':
          if (watchPrefix || truthy(query.watch)) return this.#watch(reg, namespace, query, neg, req, reply);
          return this.#list(reg, namespace, query, neg);
        case 'POST':
          if (!namespace && reg.def.namespaced) throw errors.methodNotAllowed(method, reg.def.plural);
          reply.code(201);
          return this.#wrote(req, await this.#create(reg, namespace, req.body, ctx('create')), dryRun);
        case 'DELETE':
          return this.#deleteCollection(reg, namespace, query, ctx('deletecollection'));
        default:
          throw errors.methodNotAllowed(method, reg.def.plural);
      }
    }
    if (subresource !== undefined && subresource !== 'status') {
      const sub = reg.def.subresources?.[subresource];
      if (!sub) throw errors.pathNotFound();
      const obj = await reg.def.store.get(namespace, name);
      if (!obj) throw errors.notFound(reg.def.plural, name, group || undefined);
      const out = await sub.handler({ ...ctx('get'), object: obj, reply, method, body: req.body });
      if (typeof out === 'string') reply.type('text/plain; charset=utf-8');
      return out;
    }
    if (subresource === 'status' && !reg.def.statusSubresource) throw errors.pathNotFound();
    switch (method) {
      case 'GET':
      case 'HEAD': {
        if (watchPrefix || truthy(query.watch)) {
          return this.#watch(reg, namespace, { ...query, fieldSelector: [query.fieldSelector, `metadata.name=${name}`].filter(Boolean).join(',') }, neg, req, reply);
        }
        const obj = await reg.def.store.get(namespace, name);
        if (!obj) throw errors.notFound(reg.def.plural, name, group || undefined);
        if (neg.table) return buildTable(reg.table, [obj], { includeObject: includeObjectOf(query), resourceVersion: obj.metadata.resourceVersion, apiVersion: neg.table.apiVersion });
        return obj;
      }
      case 'PUT':
        return this.#wrote(req, await this.#update(reg, namespace, name, req.body, subresource, ctx('update')), dryRun);
      case 'PATCH': {
        if (req.body instanceof ApplyPatchBody) return this.#wrote(req, await this.#apply(reg, namespace, name, req.body, subresource, ctx('patch'), reply), dryRun);
        const old = await reg.def.store.get(namespace, name);
        if (!old) throw errors.notFound(reg.def.plural, name, group || undefined);
        const patched = applyPatch(String(req.headers['content-type'] ?? ''), clone(old), req.body, reg.schema);
        if (!isPlainObject(patched)) throw errors.badRequest('the patch must produce an object');
        this.#validateFields(reg, patched, ctx('patch'), reply);
        return this.#wrote(req, await this.#update(reg, namespace, name, patched, subresource, ctx('patch'), { checked: true }), dryRun);
      }
      case 'DELETE':
        if (subresource) throw errors.methodNotAllowed(method, reg.def.plural);
        return this.#wrote(req, await this.#delete(reg, namespace, name, req.body, ctx('delete')), dryRun || (isPlainObject(req.body) && Array.isArray(req.body.dryRun) && req.body.dryRun.includes('All')));
      default:
        throw errors.methodNotAllowed(method, reg.def.plural);
    }
  }

  #wrote(req: FastifyRequest, obj: KubeObject, dryRun: boolean): KubeObject {
    const m = obj?.metadata;
    written.set(req, { namespace: m?.namespace, name: m?.name, resourceVersion: m?.resourceVersion, dryRun });
    return obj;
  }

  /** WriteOptions for a backend call: dry run and who asks. */
  #writeOptions(ctx: RequestContext, dryRun = ctx.dryRun): WriteOptions {
    return { dryRun, user: ctx.user?.name ?? ANONYMOUS_USER };
  }

  /** Selectors and resourceVersion of a list, watch or deletecollection: bad ones are a 400 before anything is read. */
  #checkListQuery(reg: Registered, query: Record<string, string>): void {
    checkFieldSelector(query.fieldSelector, reg.def.selectableFields ?? selectableFieldsFor(reg.def.group, reg.def.kind));
    const rv = query.resourceVersion;
    if (rv && !/^\d{1,20}$/.test(rv)) throw errors.badRequest(`resourceVersion: Invalid value: ${JSON.stringify(rv)}: strconv.ParseUint: parsing ${JSON.stringify(rv)}: invalid syntax`);
  }

  async #list(reg: Registered, namespace: string | undefined, query: Record<string, string>, neg: ReturnType<typeof negotiate>): Promise<unknown> {
    this.#checkListQuery(reg, query);
    const { items: all, resourceVersion } = await reg.def.store.list({ namespace, labelSelector: query.labelSelector, fieldSelector: query.fieldSelector });
    let items = all;
    let cont: string | undefined;
    let remaining: number | undefined;
    let rv = resourceVersion;
    if (query.continue) {
      let token: { rv?: string; start?: string };
      try {
        token = JSON.parse(Buffer.from(query.continue, 'base64url').toString('utf8'));
      } catch {
        throw errors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      }
      const start = token.start ?? '';
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > start);
      if (token.rv) rv = token.rv;
    }
    const limit = Number(query.limit ?? 0);
    if (limit > 0 && items.length > limit) {
      remaining = items.length - limit;
      items = items.slice(0, limit);
      const last = items[items.length - 1] as KubeObject;
      cont = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: `${last.metadata.namespace ?? ''}/${last.metadata.name}` })).toString('base64url');
    }
    if (neg.table) return buildTable(reg.table, items, { includeObject: includeObjectOf(query), resourceVersion: rv, continue: cont, apiVersion: neg.table.apiVersion });
    return {
      apiVersion: reg.apiVersion,
      kind: `${reg.def.kind}List`,
      metadata: { resourceVersion: rv, ...(cont ? { continue: cont, remainingItemCount: remaining } : {}) },
      items,
    };
  }

  async #watch(reg: Registered, namespace: string | undefined, query: Record<string, string>, neg: ReturnType<typeof negotiate>, _req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const opts: WatchOptions = {
      namespace,
      labelSelector: query.labelSelector,
      fieldSelector: query.fieldSelector,
      resourceVersion: query.resourceVersion,
      allowBookmarks: truthy(query.allowWatchBookmarks),
      bookmarkIntervalMs: this.options.bookmarkIntervalMs,
      sendInitialEvents: truthy(query.sendInitialEvents),
    };
    // Parse selectors and the resourceVersion before committing to a 200 stream, so bad ones are a 400.
    this.#checkListQuery(reg, query);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'x-content-type-options': 'nosniff' });
    res.flushHeaders();
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    let first = true;
    const toWire = (ev: WatchEvent<unknown>): WatchEvent<unknown> => {
      if (!neg.table || (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED')) return ev;
      const t = buildTable(reg.table, [ev.object as KubeObject], {
        includeObject: includeObjectOf(query),
        resourceVersion: (ev.object as KubeObject).metadata?.resourceVersion,
        apiVersion: neg.table.apiVersion,
        omitHeaders: !first,
      });
      first = false;
      return { type: ev.type, object: t };
    };
    const open: OpenWatch = {
      res,
      handle: { stop() {}, stopped: false },
      end: (destroy: boolean) => {
        if (ended) return;
        ended = true;
        if (timer) clearTimeout(timer);
        this.#watches.delete(open);
        open.handle.stop();
        if (destroy) res.destroy();
        else res.end();
      },
    };
    this.#watches.add(open);
    res.on('close', () => open.end(true));
    const sink: WatchSink<KubeObject> = {
      onEvent: (ev) => {
        if (ended) return;
        res.write(`${JSON.stringify(toWire(ev))}\n`);
      },
      onEnd: () => open.end(false),
    };
    try {
      open.handle = await reg.def.store.watch(opts, sink);
    } catch (err) {
      // The stream is open already: the failure goes down it as an ERROR event.
      sink.onEvent({ type: 'ERROR', object: toStatus(err) });
      open.end(false);
      return;
    }
    if (ended) {
      open.handle.stop();
      return;
    }
    const requested = Number(query.timeoutSeconds);
    const maxSeconds = this.options.maxWatchSeconds ?? 1800;
    const seconds = Number.isFinite(requested) && requested > 0 ? Math.min(requested, maxSeconds * 2) : maxSeconds;
    timer = setTimeout(() => open.end(false), seconds * 1000);
    timer.unref?.();
  }

  #checkBody(reg: Registered, body: unknown, namespace: string | undefined, name?: string): KubeObject {
    if (!isPlainObject(body)) throw errors.badRequest('the body of the request was in an unknown format - accepted media types include: application/json');
    const obj = body as KubeObject;
    if (obj.apiVersion !== undefined && obj.apiVersion !== reg.apiVersion)
      throw errors.badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${reg.apiVersion})`);
    if (obj.kind !== undefined && obj.kind !== reg.def.kind)
      throw errors.badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${reg.def.kind})`);
    if (!isPlainObject(obj.metadata)) obj.metadata = {};
    if (reg.def.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== namespace)
        throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      obj.metadata.namespace = namespace;
    } else delete obj.metadata.namespace;
    if (name !== undefined) {
      if (obj.metadata.name && obj.metadata.name !== name)
        throw errors.badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
      obj.metadata.name = name;
    }
    return obj;
  }

  #nameCauses(reg: Registered, obj: KubeObject): StatusCause[] {
    const name = obj.metadata.name;
    const rule = reg.def.nameValidation ?? 'subdomain';
    if (!name || rule === 'none') return [];
    const problem =
      typeof rule === 'function'
        ? rule(name)
        : rule === 'label'
          ? checkDns1123Label(name)
          : rule === 'dns1035'
            ? checkDns1035Label(name)
            : checkDns1123Subdomain(name);
    return problem ? [{ reason: 'FieldValueInvalid', message: `Invalid value: "${name}": ${problem}`, field: 'metadata.name' }] : [];
  }

  #checkNamespace(reg: Registered, namespace: string | undefined): void {
    if (reg.def.namespaced && namespace && this.options.namespaceExists && !this.options.namespaceExists(namespace))
      throw errors.notFound('namespaces', namespace);
  }

  async #create(reg: Registered, namespace: string | undefined, body: unknown, ctx: RequestContext, opts: { applied?: KubeObject } = {}): Promise<KubeObject> {
    const obj = this.#checkBody(reg, clone(body), namespace);
    const group = reg.def.group || undefined;
    if (!opts.applied) this.#validateFields(reg, obj, ctx);
    if (!obj.metadata.name && !obj.metadata.generateName)
      throw errors.invalid(reg.def.kind, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }], group);
    const nameCauses = this.#nameCauses(reg, obj);
    if (nameCauses.length) throw errors.invalid(reg.def.kind, obj.metadata.name ?? '', nameCauses, group);
    this.#checkNamespace(reg, namespace);
    if (obj.metadata.name && (await reg.def.store.get(namespace, obj.metadata.name))) throw errors.alreadyExists(reg.def.plural, obj.metadata.name, group);
    delete obj.metadata.resourceVersion;
    delete obj.metadata.uid;
    if (reg.def.statusSubresource) delete obj.status;
    const hooks = reg.def.hooks;
    const validate = () => {
      const causes = hooks?.validate?.(obj, undefined, ctx);
      if (causes?.length) throw errors.invalid(reg.def.kind, obj.metadata.name ?? obj.metadata.generateName ?? '', causes, group);
      if (this.options.managedFields && !opts.applied) {
        delete obj.metadata.managedFields;
        trackUpdate(undefined, obj, { manager: fieldManagerOf(ctx.query, ctx.request.headers['user-agent']), apiVersion: reg.apiVersion, statusSubresource: reg.def.statusSubresource, schema: reg.schema });
      }
    };
    if (hooks?.prepareCreate) {
      const p = hooks.prepareCreate(obj, ctx);
      if (p instanceof Promise) {
        await p;
        validate();
        return reg.def.store.create(obj, this.#writeOptions(ctx));
      }
    }
    validate();
    return reg.def.store.create(obj, this.#writeOptions(ctx));
  }

  async #update(
    reg: Registered,
    namespace: string | undefined,
    name: string,
    body: unknown,
    subresource: string | undefined,
    ctx: RequestContext,
    opts: { checked?: boolean; applied?: boolean } = {},
  ): Promise<KubeObject> {
    const group = reg.def.group || undefined;
    if (!opts.checked && !opts.applied) this.#validateFields(reg, body, ctx);
    const obj = this.#checkBody(reg, clone(body), namespace, name);
    const old = await reg.def.store.get(namespace, name);
    if (!old) throw errors.notFound(reg.def.plural, name, group);
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== old.metadata.resourceVersion)
      throw errors.staleUpdate(reg.def.plural, name, group);
    if (obj.metadata.uid && obj.metadata.uid !== old.metadata.uid)
      throw errors.conflict(reg.def.plural, name, `Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${old.metadata.uid}`, group);
    let next: KubeObject;
    const track = (n: KubeObject, sub?: string) => {
      if (!this.options.managedFields) return;
      if (opts.applied) return;
      n.metadata.managedFields = old.metadata.managedFields;
      trackUpdate(old, n, { manager: fieldManagerOf(ctx.query, ctx.request.headers['user-agent']), apiVersion: reg.apiVersion, statusSubresource: reg.def.statusSubresource, subresource: sub, schema: reg.schema });
    };
    if (subresource === 'status') {
      next = clone(old);
      next.status = obj.status;
      if (opts.applied) next.metadata.managedFields = obj.metadata.managedFields;
      next.metadata.resourceVersion = obj.metadata.resourceVersion ?? old.metadata.resourceVersion;
      track(next, 'status');
      return reg.def.store.update(next, this.#writeOptions(ctx));
    }
    next = obj;
    next.metadata.uid = old.metadata.uid;
    next.metadata.creationTimestamp = old.metadata.creationTimestamp;
    if (old.metadata.deletionTimestamp) next.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
    if (reg.def.statusSubresource) {
      if (old.status === undefined) delete next.status;
      else next.status = clone(old.status);
    }
    const hooks = reg.def.hooks;
    if (hooks?.prepareUpdate) {
      const p = hooks.prepareUpdate(next, old, ctx);
      if (p instanceof Promise) await p;
    }
    const causes = hooks?.validate?.(next, old, ctx);
    if (causes?.length) throw errors.invalid(reg.def.kind, name, causes, group);
    track(next);
    return reg.def.store.update(next, this.#writeOptions(ctx));
  }

  /** fieldValidation: 400 on unknown fields under Strict, a Warning header under Warn. */
  #validateFields(reg: Registered, body: unknown, ctx: RequestContext, reply?: FastifyReply): void {
    const mode = parseFieldValidation(ctx.query.fieldValidation);
    const warnings = checkFields(mode, body, reg.def.schema);
    const r = reply ?? ctx.reply;
    for (const w of warnings) addWarning(r, w);
  }

  /** Server-side apply: creates the object when missing, else merges the applied configuration (see apply.ts). */
  async #apply(
    reg: Registered,
    namespace: string | undefined,
    name: string,
    body: ApplyPatchBody,
    subresource: string | undefined,
    ctx: RequestContext,
    reply: FastifyReply,
  ): Promise<KubeObject> {
    if (!this.options.managedFields) throw errors.unsupportedMediaType(PATCH_TYPES.apply);
    const manager = ctx.query.fieldManager;
    if (!manager) throw errors.badRequest('PATCH, application/apply-patch+yaml: fieldManager is required for apply requests');
    let applied: unknown;
    try {
      applied = JSON.parse(body.text);
    } catch {
      try {
        const yaml = (await import('yaml')) as { parse(text: string): unknown };
        applied = yaml.parse(body.text);
      } catch (err) {
        throw errors.badRequest(`error decoding YAML: ${(err as Error).message}`);
      }
    }
    if (!isPlainObject(applied)) throw errors.badRequest('the apply patch must be an object');
    const cfg = applied as KubeObject;
    if (!cfg.apiVersion) throw errors.badRequest('apiVersion must be set in the applied configuration');
    if (!cfg.kind) throw errors.badRequest('kind must be set in the applied configuration');
    this.#validateFields(reg, cfg, ctx, reply);
    const checked = this.#checkBody(reg, clone(cfg), namespace, name);
    const live = await reg.def.store.get(namespace, name);
    if (checked.metadata.resourceVersion && live && checked.metadata.resourceVersion !== live.metadata.resourceVersion)
      throw errors.staleUpdate(reg.def.plural, name, reg.def.group || undefined);
    delete checked.metadata.resourceVersion;
    const force = truthy(ctx.query.force);
    const merged = serverSideApply(live, checked, {
      manager,
      apiVersion: reg.apiVersion,
      force,
      statusSubresource: reg.def.statusSubresource,
      subresource,
      schema: reg.schema,
    });
    if (!live) {
      if (subresource) throw errors.notFound(reg.def.plural, name, reg.def.group || undefined);
      reply.code(201);
      const managed = merged.metadata.managedFields;
      const created = await this.#create(reg, namespace, merged, { ...ctx, verb: 'create' }, { applied: merged });
      if (managed && !created.metadata.managedFields) created.metadata.managedFields = managed;
      return created;
    }
    merged.metadata.resourceVersion = live.metadata.resourceVersion;
    return this.#update(reg, namespace, name, merged, subresource, ctx, { applied: true });
  }

  async #delete(reg: Registered, namespace: string | undefined, name: string, body: unknown, ctx: RequestContext): Promise<KubeObject> {
    const group = reg.def.group || undefined;
    const obj = await reg.def.store.get(namespace, name);
    if (!obj) throw errors.notFound(reg.def.plural, name, group);
    const opts: Record<string, unknown> = isPlainObject(body) ? { ...body } : {};
    if (opts.propagationPolicy === undefined && ctx.query.propagationPolicy) opts.propagationPolicy = ctx.query.propagationPolicy;
    if (opts.propagationPolicy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(String(opts.propagationPolicy)))
      throw errors.invalid('DeleteOptions', '', [{ reason: 'FieldValueNotSupported', message: `Unsupported value: "${String(opts.propagationPolicy)}": supported values: "Foreground", "Background", "Orphan"`, field: 'propagationPolicy' }]);
    ctx = { ...ctx, deleteOptions: opts };
    const pre = isPlainObject(opts.preconditions) ? (opts.preconditions as { uid?: string; resourceVersion?: string }) : undefined;
    const dryRun = ctx.dryRun || (Array.isArray(opts.dryRun) && opts.dryRun.includes('All'));
    const hooks = reg.def.hooks;
    if (hooks?.beforeDelete) {
      const p = hooks.beforeDelete(obj, ctx);
      if (p instanceof Promise) await p;
    }
    if (!dryRun && hooks?.delete) {
      const handled = hooks.delete(obj, ctx);
      if (handled) return handled;
    }
    const deleted = await reg.def.store.delete(namespace, name, { ...this.#writeOptions(ctx, dryRun), preconditions: pre });
    if (!dryRun) hooks?.afterDelete?.(deleted, ctx);
    return deleted;
  }

  async #deleteCollection(reg: Registered, namespace: string | undefined, query: Record<string, string>, ctx: RequestContext): Promise<unknown> {
    this.#checkListQuery(reg, query);
    const { items } = await reg.def.store.list({ namespace, labelSelector: query.labelSelector, fieldSelector: query.fieldSelector });
    const deleted: KubeObject[] = [];
    for (const o of items) {
      try {
        deleted.push(await this.#delete(reg, o.metadata.namespace, o.metadata.name as string, undefined, { ...ctx, name: o.metadata.name, namespace: o.metadata.namespace }));
      } catch (err) {
        if (!(err instanceof StatusError && err.code === 404)) throw err;
      }
    }
    return { apiVersion: reg.apiVersion, kind: `${reg.def.kind}List`, metadata: { resourceVersion: (await reg.def.store.list({})).resourceVersion }, items: deleted };
  }
}

function includeObjectOf(query: Record<string, string>): IncludeObject {
  const v = query.includeObject;
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

/** Kubernetes-style body parsing: JSON (empty body allowed) for application/json and the patch types. */
export function installContentTypeParsers(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(jsonTypes, { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(errors.badRequest(`the body of the request could not be decoded as JSON: ${(err as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser('application/vnd.kubernetes.protobuf', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, decodeProtobufObject(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('application/apply-patch+yaml', { parseAs: 'string' }, (_req, body, done) => {
    done(null, new ApplyPatchBody(typeof body === 'string' ? body : body.toString('utf8')));
  });
  app.addContentTypeParser('application/yaml', { parseAs: 'buffer' }, (req, _body, done) => {
    done(errors.unsupportedMediaType(String(req.headers['content-type'])), undefined);
  });
}

/** Renders every error as a Kubernetes Status; unknown paths answer 404 NotFound. */
export function installStatusErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    const status = toStatus(err);
    if (status.code >= 500) req.log.error({ err }, 'request failed');
    reply.code(status.code).header('content-type', 'application/json').send(status);
  });
  app.setNotFoundHandler((_req, reply) => {
    reply.code(404).header('content-type', 'application/json').send(errors.pathNotFound().status);
  });
}


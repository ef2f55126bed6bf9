import { explainName } from '@fedns/cascade';
/**
 * What the federation API serves, registered on a kubewire KubeApiServer:
 * core/v1 Service and Namespace, federation.fedns.io/v1 Cluster and the
 * read-only DNSRecordSet view — schemas (OpenAPI and unknown-field checks),
 * kubectl columns, validation and defaulting hooks.
 */
import { addWarning, atomicList, errors, fieldError, StatusError, type JsonSchema, type KubeApiServer, type KubeObject, kindSchema, mapList, statusError, type TableDef } from '@fedns/kubewire';
import { ageOf } from '@fedns/kubewire';
import type { ClusterObject, ClusterTopology } from '@fedns/model';
import { absoluteName, checkKubeconfig, labelProblem, locationProblem, nameProblem, SERVER_ANNOTATIONS, topologyFromCluster } from '@fedns/model';
import type { ObjectChange, Store } from '@fedns/store';
import { FEDERATION_GROUP, RecordSetBackend } from './recordsets.js';
import { serviceCascade } from './cascade.js';
import { FederationStatusBackend, federationStatusTable } from './federation-status.js';
import { serviceHistory } from './history.js';
import { policyHistory } from './policy-history.js';
import { ObjectLogFeed } from './feed.js';
import { StoreBackend, type StoreBackendOptions } from './store-backend.js';
import { drainedZoneCauses } from './drained-zones.js';
import { shardsWithProbes } from './probes.js';
import { defaultService, type ServiceObject, validateService } from './validate-service.js';

const str = { type: 'string' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const strList = { type: 'array', items: str };
const atomicStrList = atomicList(str);
const strMap = { type: 'object', additionalProperties: str };
const intOrString = { 'x-kubernetes-int-or-string': true };
const condition = {
  type: 'object',
  properties: { type: str, status: str, reason: str, message: str, lastTransitionTime: str, lastProbeTime: str, observedGeneration: int },
};
/** Conditions keyed by type (strategic merge patch and server-side apply), as upstream declares them. */
const conditions = mapList(condition, ['type']);

/** core/v1 Service, every field kube-apiserver 1.32 knows, its lists declared as upstream does (x-kubernetes-list-*, -patch-*). */
export const serviceSchema: JsonSchema = kindSchema('Service is a named abstraction of software service (for example, mysql) consisting of local port(s) and a selector.', {
  spec: {
    type: 'object',
    properties: {
      allocateLoadBalancerNodePorts: bool,
      clusterIP: str,
      clusterIPs: atomicStrList,
      externalIPs: atomicStrList,
      externalName: str,
      externalTrafficPolicy: str,
      healthCheckNodePort: int,
      internalTrafficPolicy: str,
      ipFamilies: atomicStrList,
      ipFamilyPolicy: str,
      loadBalancerClass: str,
      loadBalancerIP: str,
      loadBalancerSourceRanges: atomicStrList,
      // merged by port under strategic merge patch, keyed by port and protocol under server-side apply
      ports: mapList(
        { type: 'object', required: ['port'], properties: { appProtocol: str, name: str, nodePort: int, port: int, protocol: { type: 'string', default: 'TCP' }, targetPort: intOrString } },
        ['port', 'protocol'],
        { mergeKey: 'port' },
      ),
      publishNotReadyAddresses: bool,
      selector: strMap,
      sessionAffinity: str,
      sessionAffinityConfig: { type: 'object', properties: { clientIP: { type: 'object', properties: { timeoutSeconds: int } } } },
      trafficDistribution: str,
      type: str,
    },
  },
  status: {
    type: 'object',
    properties: {
      loadBalancer: {
        type: 'object',
        properties: {
          ingress: atomicList({ type: 'object', properties: { ip: str, hostname: str, ipMode: str, ports: atomicList({ type: 'object', properties: { port: int, protocol: str, error: str } }) } }),
        },
      },
      conditions,
    },
  },
});

export const namespaceSchema: JsonSchema = kindSchema('Namespace provides a scope for Names.', {
  spec: { type: 'object', properties: { finalizers: atomicStrList } },
  status: { type: 'object', properties: { phase: str, conditions } },
});

export const clusterSchema: JsonSchema = kindSchema('Cluster is a member cluster of the federation.', {
  spec: {
    type: 'object',
    properties: {
      kubeconfig: { type: 'string', description: 'Write-only: the member cluster kubeconfig, stored encrypted and never returned.' },
      server: str,
      region: { type: 'string', description: 'Overrides the region read from the member cluster nodes.' },
      zones: { type: 'array', items: str, description: 'Overrides the zones read from the member cluster nodes.' },
      drained: { type: 'boolean', description: 'No shard of this cluster is published.' },
      drainedZones: { type: 'array', items: str, description: 'Zones of this cluster whose shards are not published.' },
      location: {
        type: 'object',
        description: 'Where the cluster is (degrees), for nearest-region fallback and routing by client location; default: its region in the built-in table.',
        properties: { latitude: { type: 'number' }, longitude: { type: 'number' } },
      },
      clusterDomain: { type: 'string', description: 'The member cluster domain (default cluster.local): in-cluster answers are kept for <federation>.svc.<clusterDomain>.' },
    },
  },
  status: { type: 'object', properties: { region: str, zones: strList, lastSeen: str, conditions } },
});

export const recordSetSchema: JsonSchema = kindSchema('DNSRecordSet is one RRset of the federation zone, as published (read-only).', {
  spec: {
    type: 'object',
    properties: {
      name: str,
      type: str,
      ttl: int,
      data: strList,
      level: str,
      service: str,
      region: str,
      zone: str,
      policy: {
        type: 'object',
        description: 'Traffic policy: the shards the nameserver chooses between per query (weights; routing by client location at the global name).',
        properties: {
          routing: str,
          weighted: bool,
          variants: {
            type: 'array',
            items: { type: 'object', properties: { cluster: str, region: str, weight: int, data: strList, location: { type: 'object', properties: { latitude: { type: 'number' }, longitude: { type: 'number' } } } } },
          },
        },
      },
    },
  },
  status: {
    type: 'object',
    properties: {
      healthyShards: int,
      totalShards: int,
      shards: { type: 'array', items: { type: 'object', properties: { cluster: str, healthy: bool, addresses: strList, readyEndpoints: int, since: str, message: str } } },
    },
  },
});

const counts = { type: 'object', additionalProperties: int };
export const federationStatusSchema: JsonSchema = kindSchema('FederationStatus is the federation at a glance (read-only, computed when read): clusters by region and zone, services by how their global name answers.', {
  spec: { type: 'object', properties: { zone: str } },
  status: {
    type: 'object',
    properties: {
      soaSerial: int,
      clusterCounts: counts,
      serviceCounts: counts,
      clusters: {
        type: 'array',
        items: { type: 'object', properties: { name: str, region: str, zones: strList, ready: str, reachable: str, drained: bool, drainedZones: strList, message: str } },
      },
      regions: {
        type: 'array',
        items: { type: 'object', properties: { name: str, zones: { type: 'array', items: { type: 'object', properties: { name: str, clusters: strList } } } } },
      },
      problemServices: { type: 'array', items: { type: 'object', properties: { namespace: str, name: str, state: str, message: str } } },
    },
  },
});

/** A `limit` query parameter: a positive integer up to `max`, else `dflt`. */
function limitOf(raw: string | undefined, dflt: number, max: number): number {
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : dflt;
}

const col = (name: string, type: 'string' | 'integer' = 'string', priority = 0, description = name) => ({ name, type, format: name === 'Name' ? 'name' : '', description, priority });

const conditionOf = (o: KubeObject, type: string) => ((o.status?.conditions ?? []) as { type: string; status: string }[]).find((c) => c.type === type);

export const clusterTable: TableDef = {
  columns: [
    col('Name'),
    col('Ready', 'string', 0, 'Whether the member cluster answers and counts as Ready'),
    col('Region'),
    col('Zones'),
    col('Age'),
    col('Drained', 'string', 1, 'spec.drained / spec.drainedZones'),
    col('Server', 'string', 1, 'The member cluster API server'),
  ],
  cells: (o, now) => {
    const t = topologyFromCluster(o as unknown as ClusterObject);
    const drained = o.spec?.drained ? 'True' : (o.spec?.drainedZones ?? []).length ? (o.spec.drainedZones as string[]).join(',') : 'False';
    return [o.metadata.name, conditionOf(o, 'Ready')?.status ?? 'Unknown', t.region || '<unknown>', t.zones.length ? t.zones.join(',') : '<unknown>', ageOf(o.metadata.creationTimestamp, now), drained, o.spec?.server ?? '<none>'];
  },
};

export const recordSetTable: TableDef = {
  columns: [
    col('Name'),
    col('Type', 'string', 0, 'RR type'),
    col('Data', 'string', 0, 'RDATA'),
    col('TTL', 'integer', 0, 'TTL in seconds'),
    col('Level', 'string', 1, 'zone, region or global'),
    col('Service', 'string', 1, 'namespace/name of the federated service'),
    col('Healthy', 'string', 1, 'healthy/total shards behind this name'),
  ],
  cells: (o) => [
    o.metadata.name,
    o.spec?.type,
    ((o.spec?.data ?? []) as string[]).join(',') || '<none>',
    o.spec?.ttl,
    o.spec?.level,
    o.spec?.service,
    `${o.status?.healthyShards ?? 0}/${o.status?.totalShards ?? 0}`,
  ],
};

export interface FederationApiOptions {
  store: Store;
  federation: { name: string; zone: string };
  /** Changes kept for watch resume, across kinds (default 10,000). */
  watchHistorySize?: number;
  bookmarkIntervalMs?: number;
  logger?: { warn: (o: object, m?: string) => void };
  /**
   * Checks a new member before it is stored (issue 12: a namespace named like the federation):
   * a problem is a 422 on `spec.kubeconfig`; undefined when fine or when the member cannot tell.
   */
  checkNewCluster?: (name: string, kubeconfig: string) => Promise<string | undefined>;
}

export interface FederationBackends {
  services: StoreBackend;
  clusters: StoreBackend;
  namespaces: StoreBackend;
  recordSets: RecordSetBackend;
  feed: ObjectLogFeed;
  close(): void;
}

const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public'];
/** Annotations the controller writes; a user's update that leaves them out keeps them. */
const SERVER_WRITTEN = Object.values(SERVER_ANNOTATIONS);
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const KINDS = {
  services: { kind: 'services', apiVersion: 'v1', kubeKind: 'Service', plural: 'services', namespaced: true },
  namespaces: { kind: 'namespaces', apiVersion: 'v1', kubeKind: 'Namespace', plural: 'namespaces', namespaced: false },
  clusters: { kind: 'clusters', apiVersion: `${FEDERATION_GROUP}/v1`, kubeKind: 'Cluster', plural: 'clusters', namespaced: false, group: FEDERATION_GROUP },
} as const;

/** A log entry as the Kubernetes object a watch shows. */
const logObject = (spec: { apiVersion: string; kubeKind: string; namespaced: boolean }) => (c: ObjectChange): KubeObject => {
  const obj = c.object as KubeObject;
  obj.apiVersion ??= spec.apiVersion;
  obj.kind ??= spec.kubeKind;
  obj.metadata ??= {};
  obj.metadata.name = c.name;
  if (spec.namespaced) obj.metadata.namespace = c.namespace;
  obj.metadata.resourceVersion = String(c.rv);
  return obj;
};

/** Registers Service, Namespace, Cluster and DNSRecordSet on `api`, served from the store. */
export async function registerFederationResources(api: KubeApiServer, opts: FederationApiOptions): Promise<FederationBackends> {
  const { store, federation } = opts;
  const feed = await ObjectLogFeed.start({
    store,
    kinds: Object.values(KINDS).map((k) => ({ ...k, toObject: logObject(k) })),
    historySize: opts.watchHistorySize,
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    logger: opts.logger,
  });
  const backend = (k: (typeof KINDS)[keyof typeof KINDS], extra: Partial<StoreBackendOptions> = {}) =>
    new StoreBackend({ store, kind: k.kind, apiVersion: k.apiVersion, kubeKind: k.kubeKind, plural: k.plural, namespaced: k.namespaced, ...('group' in k ? { group: k.group } : {}), watches: feed.watchOf(k.kind), ...extra });

  // ---- namespaces: created on first use; deleting one deletes what is in it --------------------
  let services: StoreBackend | undefined;
  const namespaces = backend(KINDS.namespaces, {
    afterDelete: async (ns, user) => {
      // At once: there are no finalizers to wait for.
      for (const svc of (await services?.list({ namespace: ns.metadata.name }))?.items ?? []) {
        await services?.delete(svc.metadata.namespace, svc.metadata.name as string, { user }).catch((err) => {
          if (!(err instanceof StatusError && err.code === 404)) throw err;
        });
      }
    },
  });
  const ensureNamespace = async (name: string, user?: string) => {
    if (await namespaces.get(undefined, name)) return;
    await namespaces.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }, user ? { user } : {}).catch((err) => {
      // Created meanwhile by another request or API server.
      if (!(err instanceof StatusError && err.code === 409)) throw err;
    });
  };
  for (const ns of BUILTIN_NAMESPACES) await ensureNamespace(ns);
  // Namespaces of services stored before namespaces were (migration 0004).
  for (const s of (await store.listObjects('services')).items) await ensureNamespace(s.namespace);

  // ---- services -----------------------------------------------------------------------------
  services = backend(KINDS.services, { beforeCreate: (svc, user) => ensureNamespace(svc.metadata.namespace as string, user) });

  // ---- clusters: spec.kubeconfig is taken out of the object and stored sealed -----------------
  const pendingKubeconfig = new WeakMap<KubeObject, string>();
  const clusters = backend(KINDS.clusters, { credentialsOf: (req) => pendingKubeconfig.get(req) });

  const recordSets = await RecordSetBackend.start(store, { historySize: opts.watchHistorySize, bookmarkIntervalMs: opts.bookmarkIntervalMs });

  /** The clusters a service write is validated against, read before its (synchronous) validation. */
  const topologyFor = new WeakMap<KubeObject, ClusterTopology[]>();
  const readTopology = async (svc: KubeObject) => {
    topologyFor.set(svc, (await store.listObjects<ClusterObject>('clusters')).items.map((c) => topologyFromCluster(c.object)));
  };

  api.addResource({
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    store: namespaces,
    statusSubresource: true,
    nameValidation: 'label',
    schema: namespaceSchema,
    hooks: {
      prepareCreate(ns) {
        ns.spec = { finalizers: ['kubernetes'], ...(ns.spec ?? {}) };
        ns.status = { phase: 'Active' };
      },
      beforeDelete(ns) {
        if (BUILTIN_NAMESPACES.includes(ns.metadata.name as string))
          throw statusError(403, 'Forbidden', `namespaces "${ns.metadata.name}" is forbidden: this namespace may not be deleted`, { name: ns.metadata.name, kind: 'namespaces' });
      },
    },
  });

  api.addResource({
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    store: services,
    statusSubresource: true,
    // validateService words the metadata.name problems (DNS-1035 and the federated names' limits).
    nameValidation: 'none',
    schema: serviceSchema,
    hooks: {
      async prepareCreate(svc) {
        defaultService(svc as ServiceObject);
        await readTopology(svc);
      },
      async prepareUpdate(svc, old) {
        defaultService(svc as ServiceObject);
        for (const k of SERVER_WRITTEN) {
          const v = old.metadata.annotations?.[k];
          if (v !== undefined && svc.metadata.annotations?.[k] === undefined) svc.metadata.annotations = { ...(svc.metadata.annotations ?? {}), [k]: v };
        }
        await readTopology(svc);
      },
      validate(svc, old, ctx) {
        return validateService(svc as ServiceObject, federation, topologyFor.get(svc) ?? [], { old: old as ServiceObject | undefined, warn: (w) => addWarning(ctx.reply, w) });
      },
    },
    subresources: {
      // GET .../services/NAME/history?limit=N: zone commits touching the service and its changes by users, newest first.
      history: {
        verbs: ['get'],
        handler: async ({ namespace = '', name = '', query }) => {
          const limit = limitOf(query.limit, 100, 1000);
          const [journal, log] = await Promise.all([store.historyOf(namespace, name, limit), store.objectHistory('services', namespace, name, limit * 4)]);
          return serviceHistory(namespace, name, journal, log, limit);
        },
      },
      // GET .../services/NAME/policyhistory: every version of its traffic policy, who changed what from what; drains of its clusters.
      policyhistory: {
        verbs: ['get'],
        handler: async ({ namespace = '', name = '' }) => {
          const [log, clusters] = await Promise.all([store.objectHistory('services', namespace, name, 1000), store.listObjects('clusters')]);
          const clusterLogs = new Map(await Promise.all(clusters.items.map(async (c) => [c.name, await store.objectHistory('clusters', '', c.name, 1000)] as const)));
          return policyHistory(namespace, name, log, clusterLogs);
        },
      },
      // GET .../services/NAME/cascade: global → regions → zones, what each name answers now and why.
      cascade: {
        verbs: ['get'],
        handler: async ({ namespace = '', name = '' }) => {
          const [recordSets, shards, clusters] = await Promise.all([store.recordSetsOfService(namespace, name), store.shardsOfService(namespace, name), store.listObjects<ClusterObject>('clusters')]);
          const probed = await shardsWithProbes(store, shards, { namespace, name });
          return serviceCascade(namespace, name, recordSets, probed, clusters.items.map((c) => topologyFromCluster(c.object)));
        },
      },
    },
  });

  /** What checkNewCluster said of a Cluster being created (read before its synchronous validation). */
  const memberProblems = new WeakMap<KubeObject, string>();
  const clusterCauses = (c: KubeObject, old: KubeObject | undefined, warn: (text: string) => void) => {
    const creating = old === undefined;
    const causes = [];
    const memberProblem = memberProblems.get(c);
    if (memberProblem) causes.push(fieldError.invalid('spec.kubeconfig', '<redacted>', memberProblem));
    const name = c.metadata.name ?? '';
    const p = labelProblem(name);
    if (p) causes.push(fieldError.invalid('metadata.name', name, p));
    const kubeconfig = pendingKubeconfig.get(c);
    if (creating && !kubeconfig?.trim()) causes.push(fieldError.required('spec.kubeconfig', 'the member cluster kubeconfig (stored encrypted, never returned)'));
    else if (kubeconfig !== undefined) {
      // Stored is the checked kubeconfig reduced to its one context: what the controller loads always loads.
      const checked = checkKubeconfig(kubeconfig);
      if (checked.ok) pendingKubeconfig.set(c, checked.kubeconfig);
      else for (const p of checked.problems) causes.push(fieldError.invalid('spec.kubeconfig', '<redacted>', p));
    }
    const spec = c.spec ?? {};
    if (spec.region !== undefined && (typeof spec.region !== 'string' || labelProblem(spec.region))) causes.push(fieldError.invalid('spec.region', spec.region, labelProblem(String(spec.region)) ?? 'must be a string'));
    for (const f of ['zones', 'drainedZones'] as const) {
      if (spec[f] === undefined) continue;
      if (!Array.isArray(spec[f])) {
        causes.push(fieldError.invalid(`spec.${f}`, spec[f], 'must be a list of zone names'));
        continue;
      }
      (spec[f] as unknown[]).forEach((z, i) => {
        const zp = typeof z === 'string' ? labelProblem(z) : 'must be a string';
        if (zp) causes.push(fieldError.invalid(`spec.${f}[${i}]`, z, zp));
      });
    }
    causes.push(...drainedZoneCauses(c, old, warn));
    if (spec.drained !== undefined && typeof spec.drained !== 'boolean') causes.push(fieldError.invalid('spec.drained', spec.drained, 'must be true or false'));
    if (spec.location !== undefined && spec.location !== null) {
      const lp = locationProblem(spec.location);
      if (lp) causes.push(fieldError.invalid(lp.field ? `spec.location.${lp.field}` : 'spec.location', lp.field ? (spec.location as Record<string, unknown>)[lp.field] : spec.location, lp.message));
    }
    if (spec.clusterDomain !== undefined && (typeof spec.clusterDomain !== 'string' || nameProblem(absoluteName(spec.clusterDomain))))
      causes.push(fieldError.invalid('spec.clusterDomain', spec.clusterDomain, typeof spec.clusterDomain === 'string' ? (nameProblem(absoluteName(spec.clusterDomain)) ?? '') : 'must be a DNS name, e.g. cluster.local'));
    return causes;
  };
  /** Takes spec.kubeconfig out of the object (and out of kubectl's last-applied annotation). */
  const takeKubeconfig = (c: KubeObject) => {
    const kc = c.spec?.kubeconfig;
    if (c.spec && 'kubeconfig' in c.spec) delete c.spec.kubeconfig;
    if (typeof kc === 'string') pendingKubeconfig.set(c, kc);
    else if (kc !== undefined && kc !== null) throw errors.invalid('Cluster', c.metadata.name ?? '', [fieldError.invalid('spec.kubeconfig', '<redacted>', 'must be a string')], FEDERATION_GROUP);
    const last = c.metadata.annotations?.[LAST_APPLIED];
    if (last) {
      try {
        const doc = JSON.parse(last);
        if (doc?.spec && 'kubeconfig' in doc.spec) {
          delete doc.spec.kubeconfig;
          (c.metadata.annotations as Record<string, string>)[LAST_APPLIED] = `${JSON.stringify(doc)}\n`;
        }
      } catch {
        // not JSON: leave it
      }
    }
  };
  api.addResource({
    group: FEDERATION_GROUP,
    version: 'v1',
    kind: 'Cluster',
    plural: 'clusters',
    namespaced: false,
    shortNames: ['fc'],
    categories: ['federation'],
    store: clusters,
    statusSubresource: true,
    nameValidation: 'none',
    schema: clusterSchema,
    table: clusterTable,
    hooks: {
      async prepareCreate(c) {
        takeKubeconfig(c);
        const kubeconfig = pendingKubeconfig.get(c);
        if (opts.checkNewCluster && kubeconfig?.trim()) {
          const checked = checkKubeconfig(kubeconfig);
          const problem = checked.ok ? await opts.checkNewCluster(c.metadata.name ?? '', checked.kubeconfig).catch(() => undefined) : undefined;
          if (problem) memberProblems.set(c, problem);
        }
      },
      prepareUpdate(c) {
        takeKubeconfig(c);
      },
      validate(c, old, ctx) {
        return clusterCauses(c, old, (w) => addWarning(ctx.reply, w));
      },
    },
  });

  api.addResource({
    group: FEDERATION_GROUP,
    version: 'v1',
    kind: 'DNSRecordSet',
    plural: 'dnsrecordsets',
    singular: 'dnsrecordset',
    namespaced: false,
    shortNames: ['drs'],
    categories: ['federation'],
    verbs: ['get', 'list', 'watch'],
    store: recordSets,
    schema: recordSetSchema,
    table: recordSetTable,
    // spec.name: `kubectl fedns explain` finds a DNS name's RRsets without knowing their types.
    selectableFields: ['metadata.name', 'spec.name', 'spec.type', 'spec.level', 'spec.service'],
    subresources: {
      // GET .../dnsrecordsets/NAME/explain: the chain this RRset's name resolves through now, and why (as `fedns explain`).
      explain: {
        verbs: ['get'],
        handler: async ({ object }) => {
          const name = (object.spec as { name: string }).name;
          const topology = (await store.listObjects<ClusterObject>('clusters')).items.map((c) => topologyFromCluster(c.object));
          return explainName(name, await store.listRecordSets(), await shardsWithProbes(store, await store.listShards()), topology);
        },
      },
    },
  });

  api.addResource({
    group: FEDERATION_GROUP,
    version: 'v1',
    kind: 'FederationStatus',
    plural: 'federationstatuses',
    singular: 'federationstatus',
    namespaced: false,
    categories: ['federation'],
    verbs: ['get', 'list'],
    store: new FederationStatusBackend(store, federation),
    schema: federationStatusSchema,
    table: federationStatusTable,
  });

  return {
    services,
    clusters,
    namespaces,
    recordSets,
    feed,
    close() {
      feed.close();
      recordSets.close();
    },
  };
}

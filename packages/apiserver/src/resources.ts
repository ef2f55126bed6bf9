import { explainName } from '@fedns/cascade';
/**
 * What the federation API serves, registered on a kubewire KubeApiServer:
 * core/v1 Service and Namespace, federation.fedns.io/v1 Cluster and the
 * read-only DNSRecordSet view — schemas (OpenAPI and unknown-field checks),
 * kubectl columns, validation and defaulting hooks.
 */
import { addWarning, atomicList, errors, fieldError, type JsonSchema, type KubeApiServer, type KubeObject, kindSchema, mapList, statusError, type TableDef } from '@fedns/kubewire';
import { ageOf } from '@fedns/kubewire';
import type { ClusterObject } from '@fedns/model';
import { checkKubeconfig, labelProblem, SERVER_ANNOTATIONS, topologyFromCluster } from '@fedns/model';
import type { Store } from '@fedns/store';
import { FEDERATION_GROUP, RecordSetBackend } from './recordsets.js';
import { Committer, SqlBackend } from './sqlite-backend.js';
import { drainedZoneCauses } from './drained-zones.js';
import { clustersTable, namespacesTable, servicesTable } from './tables.js';
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
    },
  },
  status: { type: 'object', properties: { region: str, zones: strList, conditions } },
});

export const recordSetSchema: JsonSchema = kindSchema('DNSRecordSet is one RRset of the federation zone, as published (read-only).', {
  spec: { type: 'object', properties: { name: str, type: str, ttl: int, data: strList, level: str, service: str, region: str, zone: str } },
  status: {
    type: 'object',
    properties: {
      healthyShards: int,
      totalShards: int,
      shards: { type: 'array', items: { type: 'object', properties: { cluster: str, healthy: bool, addresses: strList, readyEndpoints: int, since: str, message: str } } },
    },
  },
});

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
  onServiceChange?: (namespace: string, name: string) => void;
  onClusterChange?: (name: string) => void;
  watchHistorySize?: number;
  bookmarkIntervalMs?: number;
}

export interface FederationBackends {
  services: SqlBackend;
  clusters: SqlBackend;
  namespaces: SqlBackend;
  recordSets: RecordSetBackend;
  /** Publishes what other processes committed since the last call (cheap when nothing changed). */
  catchUp(): void;
  close(): void;
}

const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public'];
/** Annotations the controller writes; a user's update that leaves them out keeps them. */
const SERVER_WRITTEN = Object.values(SERVER_ANNOTATIONS);
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Registers Service, Namespace, Cluster and DNSRecordSet on `api`, served from the store. */
export function registerFederationResources(api: KubeApiServer, opts: FederationApiOptions): FederationBackends {
  const { store, federation } = opts;
  const committer = new Committer(store);
  let lastDataVersion = store.dataVersion();
  const backends: SqlBackend[] = [];
  let recordSets: RecordSetBackend | undefined;
  const catchUp = () => {
    const v = store.dataVersion();
    if (v === lastDataVersion) return;
    lastDataVersion = v;
    for (const b of backends) b.sync();
    recordSets?.sync();
  };
  const common = { committer, historySize: opts.watchHistorySize, bookmarkIntervalMs: opts.bookmarkIntervalMs, catchUp };

  // ---- namespaces ---------------------------------------------------------------------------
  let services: SqlBackend | undefined;
  const namespaces = new SqlBackend({
    ...common,
    table: namespacesTable(store),
    apiVersion: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    inTx: (type, _req, stored) => {
      if (type !== 'DELETED' || !services) return;
      // Deleting a namespace deletes what is in it (at once: there are no finalizers to wait for).
      for (const svc of services.list({ namespace: stored.metadata.name }).items) services.delete(svc.metadata.namespace, svc.metadata.name as string);
    },
  });
  const ensureNamespace = (name: string) => {
    if (namespaces.get(undefined, name)) return;
    namespaces.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
  };
  committer.run(() => {
    for (const ns of BUILTIN_NAMESPACES) ensureNamespace(ns);
    // Namespaces of services stored before namespaces were (migration 0004).
    for (const s of store.listServices()) ensureNamespace(s.namespace);
  });

  // ---- services -----------------------------------------------------------------------------
  services = new SqlBackend({
    ...common,
    table: servicesTable(store),
    apiVersion: 'v1',
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    inTx: (type, _req, stored) => {
      if (type === 'ADDED') ensureNamespace(stored.metadata.namespace as string);
    },
    afterCommit: (_type, obj) => opts.onServiceChange?.(obj.metadata.namespace as string, obj.metadata.name as string),
  });

  // ---- clusters -----------------------------------------------------------------------------
  /** spec.kubeconfig as the request carried it, taken out of the object before it is stored. */
  const pendingKubeconfig = new WeakMap<KubeObject, string>();
  const clusters = new SqlBackend({
    ...common,
    table: clustersTable(store),
    apiVersion: `${FEDERATION_GROUP}/v1`,
    kind: 'Cluster',
    plural: 'clusters',
    group: FEDERATION_GROUP,
    namespaced: false,
    inTx: (type, req, stored) => {
      const name = stored.metadata.name as string;
      if (type === 'DELETED') {
        store.deleteShardsOfCluster(name);
        return;
      }
      const kubeconfig = pendingKubeconfig.get(req);
      if (kubeconfig === undefined) return;
      if (type === 'MODIFIED' && store.clusterCredentials(name) === kubeconfig) return;
      store.setClusterCredentials(name, kubeconfig);
      return true;
    },
    afterCommit: (_type, obj) => opts.onClusterChange?.(obj.metadata.name as string),
  });

  recordSets = new RecordSetBackend(store, { historySize: opts.watchHistorySize, bookmarkIntervalMs: opts.bookmarkIntervalMs, catchUp });
  backends.push(namespaces, services, clusters);

  // In-process writes that bypass the API (the controller's status writes) and zone commits.
  const onObject = (c: { kind: 'service' | 'cluster'; namespace?: string; name: string }) => {
    queueMicrotask(() => (c.kind === 'service' ? services : clusters).syncKey(c.namespace, c.name));
  };
  const onCommit = (entry: Parameters<RecordSetBackend['publish']>[0]) => recordSets?.publish(entry);
  store.on('object', onObject);
  store.on('commit', onCommit);
  const poll = setInterval(catchUp, 100);
  poll.unref();

  const topologies = () => store.listClusters<ClusterObject>().map((c) => topologyFromCluster(c.object));

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
      prepareCreate(svc) {
        defaultService(svc as ServiceObject);
      },
      prepareUpdate(svc, old) {
        defaultService(svc as ServiceObject);
        for (const k of SERVER_WRITTEN) {
          const v = old.metadata.annotations?.[k];
          if (v !== undefined && svc.metadata.annotations?.[k] === undefined) svc.metadata.annotations = { ...(svc.metadata.annotations ?? {}), [k]: v };
        }
      },
      validate(svc, old, ctx) {
        return validateService(svc as ServiceObject, federation, topologies(), { old: old as ServiceObject | undefined, warn: (w) => addWarning(ctx.reply, w) });
      },
    },
  });

  const clusterCauses = (c: KubeObject, old: KubeObject | undefined, warn: (text: string) => void) => {
    const creating = old === undefined;
    const causes = [];
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
      prepareCreate(c) {
        takeKubeconfig(c);
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
    subresources: {
      // GET .../dnsrecordsets/NAME/explain: the chain this RRset's name resolves through now, and why (as `fedns explain`).
      explain: {
        verbs: ['get'],
        handler: ({ object }) => {
          const name = (object.spec as { name: string }).name;
          const topology = store.listClusters<ClusterObject>().map((c) => topologyFromCluster(c.object));
          return explainName(name, store.listRecordSets(), store.listShards(), topology);
        },
      },
    },
  });

  return {
    services,
    clusters,
    namespaces,
    recordSets,
    catchUp,
    close() {
      clearInterval(poll);
      store.off('object', onObject);
      store.off('commit', onCommit);
      for (const b of backends) b.hub.closeAll();
      recordSets?.hub.closeAll();
    },
  };
}

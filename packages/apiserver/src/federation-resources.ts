import { randomUUID } from 'node:crypto';
import type { ClusterObject } from '@fedns/model';
import { labelProblem } from '@fedns/model';
import type { Store } from '@fedns/store';
import type { FastifyPluginAsync } from 'fastify';
import { alreadyExists, badRequest, invalid, notFound } from './status.js';

export const GROUP = 'federation.fedns.io';
export const VERSION = 'v1';
const BASE = `/apis/${GROUP}/${VERSION}`;

export interface FederationResourcesOptions {
  store: Store;
  /** Told after a Cluster is created or deleted, so the controller connects or lets go. */
  onClusterChange?: () => void;
}

type ClusterBody = ClusterObject & { apiVersion?: string; kind?: string; spec?: ClusterObject['spec'] & { kubeconfig?: string; server?: string } };

/**
 * federation.fedns.io/v1: `Cluster` (cluster-scoped; `spec.kubeconfig` is
 * write-only — stored encrypted, never returned) and the read-only
 * `DNSRecordSet` view of the published zone.
 */
export const federationResourcesPlugin: FastifyPluginAsync<FederationResourcesOptions> = async (app, opts) => {
  const { store } = opts;
  const withVersion = (c: { resourceVersion: number; object: Record<string, unknown> }) => {
    const o = c.object as { metadata: Record<string, unknown> };
    o.metadata.resourceVersion = String(c.resourceVersion);
    return o;
  };

  app.get(BASE, async () => ({
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: `${GROUP}/${VERSION}`,
    resources: [
      { name: 'clusters', singularName: 'cluster', namespaced: false, kind: 'Cluster', verbs: ['create', 'delete', 'get', 'list'], shortNames: ['fc'] },
      { name: 'dnsrecordsets', singularName: 'dnsrecordset', namespaced: false, kind: 'DNSRecordSet', verbs: ['get', 'list'], shortNames: ['drs'] },
    ],
  }));

  app.get(`${BASE}/clusters`, async () => ({
    kind: 'ClusterList',
    apiVersion: `${GROUP}/${VERSION}`,
    metadata: { resourceVersion: String(store.currentResourceVersion()) },
    items: store.listClusters().map(withVersion),
  }));

  app.get<{ Params: { name: string } }>(`${BASE}/clusters/:name`, async (req) => {
    const c = store.getCluster(req.params.name);
    if (!c) throw notFound('Cluster', req.params.name, GROUP);
    return withVersion(c);
  });

  app.post<{ Body: ClusterBody }>(`${BASE}/clusters`, async (req, reply) => {
    const body = req.body;
    if (typeof body !== 'object' || body === null || typeof body.metadata !== 'object') throw badRequest('the request body must be a Cluster object');
    const name = body.metadata.name ?? '';
    const causes = [];
    const p = labelProblem(name);
    if (p) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(name)}: ${p}`, field: 'metadata.name' });
    const kubeconfig = body.spec?.kubeconfig;
    if (typeof kubeconfig !== 'string' || kubeconfig.trim() === '') causes.push({ reason: 'FieldValueRequired', message: 'Required value: the member cluster kubeconfig (stored encrypted, never returned)', field: 'spec.kubeconfig' });
    for (const [i, z] of (body.spec?.zones ?? []).entries()) {
      const zp = labelProblem(z);
      if (zp) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(z)}: ${zp}`, field: `spec.zones[${i}]` });
    }
    if (body.spec?.region !== undefined && labelProblem(body.spec.region)) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(body.spec.region)}: ${labelProblem(body.spec.region)}`, field: 'spec.region' });
    if (causes.length) throw invalid('Cluster', name, causes, GROUP);
    const { kubeconfig: _secret, ...spec } = body.spec ?? {};
    const stored = store.tx(() => {
      if (store.getCluster(name)) throw alreadyExists('Cluster', name, GROUP);
      const object = {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Cluster',
        metadata: { ...body.metadata, name, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
        spec,
        status: {},
      };
      const row = { name, uid: object.metadata.uid, resourceVersion: store.nextResourceVersion(), object };
      store.putCluster(row);
      store.setClusterCredentials(name, kubeconfig as string);
      return row;
    });
    opts.onClusterChange?.();
    return reply.code(201).send(withVersion(stored));
  });

  app.delete<{ Params: { name: string } }>(`${BASE}/clusters/:name`, async (req) => {
    const gone = store.tx(() => {
      const cur = store.getCluster(req.params.name);
      if (!cur) throw notFound('Cluster', req.params.name, GROUP);
      store.deleteCluster(req.params.name);
      store.deleteShardsOfCluster(req.params.name);
      store.nextResourceVersion();
      return cur;
    });
    opts.onClusterChange?.();
    return withVersion(gone);
  });

  app.get(`${BASE}/dnsrecordsets`, async () => ({
    kind: 'DNSRecordSetList',
    apiVersion: `${GROUP}/${VERSION}`,
    metadata: { resourceVersion: String(store.currentResourceVersion()) },
    items: store.listRecordSets().map((rs) => ({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'DNSRecordSet',
      metadata: { name: `${rs.name}${rs.type.toLowerCase()}`, labels: { 'federation.fedns.io/service': rs.service, 'federation.fedns.io/namespace': rs.namespace, 'federation.fedns.io/level': rs.level } },
      spec: { name: rs.name, type: rs.type, ttl: rs.ttl, data: rs.data, level: rs.level, service: `${rs.namespace}/${rs.service}`, ...(rs.region ? { region: rs.region } : {}), ...(rs.zone ? { zone: rs.zone } : {}) },
    })),
  }));
};

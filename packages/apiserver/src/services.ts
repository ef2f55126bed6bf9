import { randomUUID } from 'node:crypto';
import type { ClusterObject } from '@fedns/model';
import { topologyFromCluster } from '@fedns/model';
import type { Store, StoredService } from '@fedns/store';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ApiError, alreadyExists, badRequest, invalid, notFound } from './status.js';
import { defaultService, type ServiceObject, validateService } from './validate-service.js';

export interface ServicesPluginOptions {
  store: Store;
  federation: { name: string; zone: string };
  /** Told after every committed write, so the controller can reconcile at once. */
  onServiceChange?: (namespace: string, name: string) => void;
}

type Params = { namespace: string; name: string };

const withVersion = (s: StoredService<ServiceObject>): ServiceObject => {
  const obj = s.object;
  obj.metadata.resourceVersion = String(s.resourceVersion);
  return obj;
};

/** core/v1 Services, served exactly where a cluster serves them. */
export const servicesPlugin: FastifyPluginAsync<ServicesPluginOptions> = async (app: FastifyInstance, opts) => {
  const { store, federation } = opts;
  const clusters = () => store.listClusters<ClusterObject>().map((c) => topologyFromCluster(c.object));
  const changed = (ns: string, name: string) => opts.onServiceChange?.(ns, name);

  const list = (namespace?: string) => ({
    kind: 'ServiceList',
    apiVersion: 'v1',
    metadata: { resourceVersion: String(store.currentResourceVersion()) },
    items: store
      .listServices<ServiceObject>()
      .filter((s) => namespace === undefined || s.namespace === namespace)
      .map(withVersion),
  });

  app.get('/api/v1/services', async () => list());
  app.get<{ Params: Params }>('/api/v1/namespaces/:namespace/services', async (req) => list(req.params.namespace));

  app.get<{ Params: Params }>('/api/v1/namespaces/:namespace/services/:name', async (req) => {
    const s = store.getService<ServiceObject>(req.params.namespace, req.params.name);
    if (!s) throw notFound('Service', req.params.name);
    return withVersion(s);
  });

  app.post<{ Params: Params; Body: ServiceObject }>('/api/v1/namespaces/:namespace/services', async (req, reply) => {
    const svc = parseBody(req.body);
    const ns = req.params.namespace;
    if (svc.metadata.namespace && svc.metadata.namespace !== ns) {
      throw badRequest(`the namespace of the provided object (${svc.metadata.namespace}) does not match the namespace sent on the request (${ns})`);
    }
    svc.metadata.namespace = ns;
    if (!svc.metadata.name && svc.metadata.generateName) svc.metadata.name = `${svc.metadata.generateName}${randomUUID().slice(0, 5)}`;
    svc.apiVersion = 'v1';
    svc.kind = 'Service';
    defaultService(svc);
    const causes = validateService(svc, federation, clusters());
    if (causes.length > 0) throw invalid('Service', svc.metadata.name ?? '', causes);
    const name = svc.metadata.name as string;
    const stored = store.tx(() => {
      if (store.getService(ns, name)) throw alreadyExists('Service', name);
      const rv = store.nextResourceVersion();
      svc.metadata.uid = randomUUID();
      svc.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      delete svc.metadata.resourceVersion;
      const row = { namespace: ns, name, uid: svc.metadata.uid, resourceVersion: rv, object: svc };
      store.putService(row);
      return row;
    });
    changed(ns, name);
    return reply.code(201).send(withVersion(stored));
  });

  app.put<{ Params: Params; Body: ServiceObject }>('/api/v1/namespaces/:namespace/services/:name', async (req) => {
    const svc = parseBody(req.body);
    const { namespace: ns, name } = req.params;
    if (svc.metadata.name !== name) throw badRequest(`the name of the object (${svc.metadata.name}) does not match the name on the URL (${name})`);
    svc.metadata.namespace = ns;
    defaultService(svc);
    const causes = validateService(svc, federation, clusters());
    if (causes.length > 0) throw invalid('Service', name, causes);
    const stored = store.tx(() => {
      const cur = store.getService<ServiceObject>(ns, name);
      if (!cur) throw notFound('Service', name);
      const sent = svc.metadata.resourceVersion;
      if (sent && sent !== String(cur.resourceVersion)) {
        throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on services "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, kind: 'services' });
      }
      // Identity and status are the server's; a PUT of the main resource cannot change them.
      svc.metadata.uid = cur.uid;
      svc.metadata.creationTimestamp = cur.object.metadata.creationTimestamp;
      svc.status = cur.object.status;
      delete svc.metadata.resourceVersion;
      const row = { namespace: ns, name, uid: cur.uid, resourceVersion: store.nextResourceVersion(), object: svc };
      store.putService(row);
      return row;
    });
    changed(ns, name);
    return withVersion(stored);
  });

  app.delete<{ Params: Params }>('/api/v1/namespaces/:namespace/services/:name', async (req) => {
    const { namespace: ns, name } = req.params;
    const gone = store.tx(() => {
      const cur = store.getService<ServiceObject>(ns, name);
      if (!cur) throw notFound('Service', name);
      store.deleteService(ns, name);
      store.nextResourceVersion();
      return cur;
    });
    changed(ns, name);
    return withVersion(gone);
  });
};

function parseBody(body: unknown): ServiceObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
  const obj = body as ServiceObject;
  if (obj.kind !== undefined && obj.kind !== 'Service') throw badRequest(`the body is a ${String(obj.kind)}, not a Service`);
  if (typeof obj.metadata !== 'object' || obj.metadata === null) obj.metadata = {};
  return obj;
}

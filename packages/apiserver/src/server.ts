import { readFileSync } from 'node:fs';
import { ANONYMOUS_USER, KubeApiServer, requestAttributesOf } from '@fedns/kubewire';
import type { Store } from '@fedns/store';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { authenticator, authorize, loadTokenFile } from './auth.js';
import { dashboardPlugin } from './dashboard/plugin.js';
import { logRequest } from './request-log.js';
import { type FederationBackends, registerFederationResources } from './resources.js';

export interface ApiServerOptions {
  store: Store;
  federation: { name: string; zone: string };
  registry: Registry;
  /** A pino logger (fastify's own); silent when absent. */
  logger?: FastifyBaseLogger;
  /** Answers /readyz 200 only once this returns true (e.g. the store is open and migrated). */
  ready?: () => boolean;
  /** What /readyz says when ready (e.g. who leads the controllers). */
  readyText?: () => string;
  /** Bearer tokens (kube-apiserver --token-auth-file CSV). With a token file or a client CA, every API request must authenticate. */
  tokenFile?: string;
  /** Serve HTTPS with this certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
  /** Object-log changes kept for resuming watches, across kinds (default 10,000). */
  watchHistorySize?: number;
  /** BOOKMARK interval of watches that ask for bookmarks (default 30 s). */
  bookmarkIntervalMs?: number;
  /** Checks a Cluster's member before it is created (a problem is a 422); see FederationApiOptions. */
  checkNewCluster?: (name: string, kubeconfig: string) => Promise<string | undefined>;
  /** The built web dashboard, served under /ui/ (absent: /ui/ says how to build it). */
  dashboardDir?: string;
}

export type ApiServer = FastifyInstance & { backends: FederationBackends };

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The federation API: a Kubernetes API server (kubewire) for core/v1 Service and
 * Namespace and federation.fedns.io/v1 Cluster and DNSRecordSet over the store,
 * with authentication, /readyz, /livez and /metrics.
 */
export async function buildApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const tokens = opts.tokenFile ? loadTokenFile(opts.tokenFile) : undefined;
  const base: FastifyServerOptions = {
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: 3 * 1024 * 1024,
    forceCloseConnections: true,
    // One line per request, written by logRequest when it is answered.
    logController: new LogController({ disableRequestLogging: true }),
  };
  const https = opts.tls
    ? {
        cert: readPem('tls-cert-file', opts.tls.certFile),
        key: readPem('tls-private-key-file', opts.tls.keyFile),
        ...(opts.tls.clientCaFile ? { ca: readPem('client-ca-file', opts.tls.clientCaFile), requestCert: true, rejectUnauthorized: false } : {}),
      }
    : undefined;
  // Fastify's types split HTTP and HTTPS instances; the routes and hooks used here are the same.
  const app = (https ? (Fastify as unknown as (o: unknown) => FastifyInstance)({ ...base, https }) : Fastify(base)) as FastifyInstance;

  const requests = new Counter({ name: 'fedns_api_requests_total', help: 'API requests by verb, resource and HTTP code', labelNames: ['verb', 'resource', 'code'], registers: [opts.registry] });
  const latency = new Histogram({
    name: 'fedns_api_request_duration_seconds',
    help: 'API request latency by verb and resource (watches excluded)',
    labelNames: ['verb', 'resource'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [opts.registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    const a = requestAttributesOf(req);
    const verb = a?.verb ?? req.method.toLowerCase();
    const resource = a?.resourceRequest ? `${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.apiGroup ? `.${a.apiGroup}` : ''}` : (req.routeOptions.url ?? 'unmatched');
    requests.inc({ verb, resource, code: String(reply.statusCode) });
    if (verb !== 'watch') latency.observe({ verb, resource }, reply.elapsedTime / 1000);
    logRequest(req, reply, authOn ? undefined : ANONYMOUS_USER);
  });

  const authOn = tokens !== undefined || opts.tls?.clientCaFile !== undefined;
  const authenticate = authOn ? authenticator({ tokens, clientCertificates: opts.tls?.clientCaFile !== undefined }) : undefined;
  const api = new KubeApiServer(app, {
    managedFields: true,
    ...(authenticate ? { authenticate, authorize } : {}),
  });
  await app.register(dashboardPlugin, { prefix: '/ui', store: opts.store, federation: opts.federation, dir: opts.dashboardDir, ...(authenticate ? { authenticate } : {}) });

  app.get('/readyz', async (_req, reply) => ((opts.ready?.() ?? true) ? (opts.readyText?.() ?? 'ok') : reply.code(503).send('not ready')));
  app.get('/livez', async () => 'ok');
  app.get('/healthz', async () => 'ok');
  app.get('/metrics', async (_req, reply) => reply.type(opts.registry.contentType).send(await opts.registry.metrics()));

  const backends = await registerFederationResources(api, {
    store: opts.store,
    federation: opts.federation,
    watchHistorySize: opts.watchHistorySize,
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.checkNewCluster ? { checkNewCluster: opts.checkNewCluster } : {}),
  });
  app.addHook('onClose', async () => backends.close());
  return Object.assign(app, { backends });
}

import type { Store } from '@fedns/store';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { type Registry, Counter, Histogram } from 'prom-client';
import { federationResourcesPlugin } from './federation-resources.js';
import { servicesPlugin } from './services.js';
import { ApiError } from './status.js';

export interface ApiServerOptions {
  store: Store;
  federation: { name: string; zone: string };
  registry: Registry;
  /** A pino logger (fastify's own); silent when absent. */
  logger?: FastifyBaseLogger;
  onServiceChange?: (namespace: string, name: string) => void;
  onClusterChange?: () => void;
  /** Answers /readyz 200 only once this returns true (e.g. the store is open and migrated). */
  ready?: () => boolean;
}

/** The federation API: Kubernetes-compatible paths, Status errors, /readyz and /metrics. */
export async function buildApiServer(opts: ApiServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }), bodyLimit: 3 * 1024 * 1024 });
  app.addContentTypeParser(
    ['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json', 'application/apply-patch+yaml'],
    { parseAs: 'string' },
    (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch (err) {
        done(new ApiError(400, 'BadRequest', `the request body is not valid JSON: ${(err as Error).message}`), undefined);
      }
    },
  );

  const requests = new Counter({ name: 'fedns_api_requests_total', help: 'API requests by verb, route and code', labelNames: ['verb', 'route', 'code'], registers: [opts.registry] });
  const latency = new Histogram({ name: 'fedns_api_request_duration_seconds', help: 'API request latency', labelNames: ['verb', 'route'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1], registers: [opts.registry] });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ verb: req.method, route, code: String(reply.statusCode) });
    latency.observe({ verb: req.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ApiError) return reply.code(err.code).send(err.toStatus());
    const e = err as { statusCode?: number; message: string };
    if (e.statusCode && e.statusCode < 500) {
      return reply.code(e.statusCode).send(new ApiError(e.statusCode, 'BadRequest', e.message).toStatus());
    }
    reply.log.error({ err }, 'internal error');
    return reply.code(500).send(new ApiError(500, 'InternalError', `an internal error occurred: ${e.message}`).toStatus());
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(new ApiError(404, 'NotFound', `the server could not find the requested resource (${req.method} ${req.url})`).toStatus());
  });

  app.get('/readyz', async (_req, reply) => (opts.ready?.() ?? true ? 'ok' : reply.code(503).send('not ready')));
  app.get('/livez', async () => 'ok');
  app.get('/healthz', async () => 'ok');
  app.get('/metrics', async (_req, reply) => reply.type(opts.registry.contentType).send(await opts.registry.metrics()));

  await app.register(servicesPlugin, { store: opts.store, federation: opts.federation, onServiceChange: opts.onServiceChange });
  await app.register(federationResourcesPlugin, { store: opts.store, onClusterChange: opts.onClusterChange });
  return app;
}

/**
 * The API's access log: one line per request when it is answered (method, URL, status, latency,
 * user), and for a successful write the verb, resource, object and its new resourceVersion, so
 * every change made through the API names who made it. Probes and scrapes log at debug.
 */
import { requestAttributesOf, writeResultOf } from '@fedns/kubewire';
import type { FastifyReply, FastifyRequest } from 'fastify';

const QUIET = new Set(['/readyz', '/livez', '/healthz', '/metrics']);

/** Logs one answered request on the request's logger; `anonymous` names the user when nobody authenticates. */
export function logRequest(req: FastifyRequest, reply: FastifyReply, anonymous?: string): void {
  const a = requestAttributesOf(req);
  const line: Record<string, unknown> = {
    method: req.method,
    url: req.url,
    status: reply.statusCode,
    latencyMs: Math.round(reply.elapsedTime * 100) / 100,
    user: a?.user?.name ?? anonymous,
    remote: req.ip,
  };
  const w = writeResultOf(req);
  if (w && a?.resourceRequest && reply.statusCode < 300) {
    const resource = `${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.apiGroup ? `.${a.apiGroup}` : ''}`;
    Object.assign(line, { verb: a.verb, resource, namespace: w.namespace, name: w.name, resourceVersion: w.resourceVersion, ...(w.dryRun ? { dryRun: true } : {}) });
    req.log.info(line, w.dryRun ? 'api write (dry run)' : 'api write');
    return;
  }
  if (a?.verb) line.verb = a.verb;
  if (QUIET.has(req.url.split('?')[0] ?? '')) req.log.debug(line, 'api request');
  else req.log.info(line, 'api request');
}

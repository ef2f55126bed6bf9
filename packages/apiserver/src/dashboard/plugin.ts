/**
 * The web dashboard under `/ui/`: an encapsulated Fastify plugin (register it
 * with `prefix: '/ui'`). It serves the dashboard's built static files (no
 * secrets in them: anyone may load the page, which then asks for a token) and
 * `/ui/api/*`, the two reads the Kubernetes API has no verb for — who am I, and
 * the service list filtered by a name substring. Everything else the page does
 * goes to the Kubernetes API itself, with the same bearer token.
 *
 * Authentication is a hook inside the `/ui/api` plugin, the API's own
 * authenticator; authorisation as the API's: read-only or admin groups read.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { statusError, type UserInfo } from '@fedns/kubewire';
import type { Store } from '@fedns/store';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { mayRead, mayWrite } from '../auth.js';
import { SERVICE_STATES, type ServiceState } from '../federation-status.js';
import { pageOf, ServiceRows } from './services.js';

export interface DashboardOptions {
  store: Store;
  federation: { name: string; zone: string };
  /** The built dashboard (index.html and assets/); absent or missing → a page saying how to build it. */
  dir?: string;
  /** The API's authenticator; absent → the API is open and so is this. */
  authenticate?: (req: FastifyRequest) => UserInfo;
}

declare module 'fastify' {
  interface FastifyRequest {
    dashboardUser?: UserInfo;
  }
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>fedns dashboard</title>
<p>The dashboard is not built. Run <code>bash scripts/setup.sh</code> (or <code>scripts/pnpm --filter @fedns/dashboard build</code>) in the fedns checkout.</p>`;

const rowSchema = {
  type: 'object',
  properties: { namespace: { type: 'string' }, name: { type: 'string' }, state: { type: 'string' }, message: { type: 'string' }, ingress: { type: 'array', items: { type: 'string' } }, created: { type: 'string' } },
} as const;

/** `/ui/api`: whoami and the paged service list, behind the API's authentication. */
async function dashboardApi(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const rows = new ServiceRows(opts.store);
  const anonymous: UserInfo = { name: 'system:anonymous', groups: ['fedns:admin'] };
  app.addHook('onRequest', async (req) => {
    if (!opts.authenticate) {
      req.dashboardUser = anonymous;
      return;
    }
    const user = opts.authenticate(req);
    if (!mayRead(user)) throw statusError(403, 'Forbidden', `forbidden: User "${user.name}" cannot read the federation (needs group fedns:readonly or fedns:admin)`, {});
    req.dashboardUser = user;
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get(
    '/whoami',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: { user: { type: 'string' }, groups: { type: 'array', items: { type: 'string' } }, canWrite: { type: 'boolean' }, federation: { type: 'string' }, zone: { type: 'string' }, authenticated: { type: 'boolean' } },
          },
        },
      },
    },
    async (req) => {
      const user = req.dashboardUser as UserInfo;
      return { user: user.name, groups: user.groups, canWrite: mayWrite(user), federation: opts.federation.name, zone: opts.federation.zone, authenticated: opts.authenticate !== undefined };
    },
  );

  app.get<{ Querystring: { q?: string; state?: ServiceState; limit: number; continue?: string } }>(
    '/services',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: { type: 'string', maxLength: 253 },
            state: { type: 'string', enum: [...SERVICE_STATES] },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            continue: { type: 'string', maxLength: 1024 },
          },
        },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: rowSchema }, total: { type: 'integer' }, continue: { type: 'string' } } } },
      },
    },
    async (req) => pageOf(await rows.rows(), req.query),
  );
}

/** The `/ui` plugin: static files and `/ui/api`. */
export async function dashboardPlugin(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  app.addHook('onSend', async (_req, reply) => {
    reply.headers(SECURITY_HEADERS);
  });
  await app.register(dashboardApi, { ...opts, prefix: '/api' });
  // `/ui` → `/ui/`: the page's relative asset paths need the slash.
  app.get('', async (_req, reply) => reply.redirect(`${app.prefix}/`));
  const built = opts.dir !== undefined && existsSync(join(opts.dir, 'index.html'));
  if (built) {
    // Hashed asset names never change content: cache them for good; index.html always revalidates.
    await app.register(fastifyStatic, {
      root: opts.dir as string,
      prefix: '/',
      index: ['index.html'],
      redirect: true,
      setHeaders: (res, path) => res.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
    });
  } else {
    app.get('/', { prefixTrailingSlash: 'slash' }, async (_req, reply) => reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT));
  }
}

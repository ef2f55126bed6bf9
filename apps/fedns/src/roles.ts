import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildApiServer } from '@fedns/apiserver';
import { dashboardDir } from '@fedns/dashboard';
import { checkReachable, JoinError, namespaceConflict, namespaceConflictMessage, recordJoin, recordUnjoin, singleContextKubeconfig } from '@fedns/controller';
import { readFileSync } from 'node:fs';
import { checkKubeconfig } from '@fedns/model';
import { acquireWriterLock, openStore, type Store, StoreConfigError, WriterLockHeldError } from '@fedns/store';
import Fastify from 'fastify';
import { destination, type Logger, pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { isLoopback, resolveApiSecurity } from './api-security.js';
import { type Config, storeUrlOf, UsageError } from './config.js';
import { type ControlPlane, startControlPlane } from './control-plane.js';
import { startDns } from './dns-role.js';

/** Something started that must be stopped on shutdown, last started first stopped. */
export type Closer = () => Promise<void> | void;

export interface Running {
  logger: Logger;
  closers: Closer[];
}

/** JSON logs to stderr, or appended to `file` (the demo keeps its terminal for the walkthrough). */
export function makeLogger(c: Config, file?: string): Logger {
  return pino({ level: c.logLevel, base: { pid: process.pid } }, destination(file ? { dest: file, mkdir: true, append: true } : 2));
}

/** A role's metrics registry: prom-client's process and Node.js metrics as fedns_process_* and fedns_nodejs_*. */
export function makeRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry, prefix: 'fedns_' });
  return registry;
}

const fed = (c: Config) => ({ name: c.federation, zone: c.zone });

/**
 * With in-cluster answers on, a member with a namespace named like the federation is refused
 * at the API (422) when the API can ask the member in time (issue 12); else the controller's
 * Cluster condition InClusterDNS says so.
 */
const memberChecks = (c: Config) =>
  c.clusterDns.allow.length ? { checkNewCluster: async (_name: string, kubeconfig: string) => ((await namespaceConflict(kubeconfig, c.federation, 2000)) ? namespaceConflictMessage(c.federation) : undefined) } : {};

/**
 * The API's authentication and TLS settings (flags, environment and config, completed from the
 * data directory's api-security.yaml), checked before anything starts: an unauthenticated API on a
 * non-loopback address without --insecure-api, or an unreadable file, is a usage error (one line, exit 2).
 */
function apiSecurity(c: Config, logger: Logger): { tokenFile?: string; tls?: Config['tls'] } {
  const s = resolveApiSecurity(c);
  for (const [key, path] of [['token-auth-file', s.tokenAuthFile], ['tls-cert-file', s.tls?.certFile], ['tls-private-key-file', s.tls?.keyFile], ['client-ca-file', s.tls?.clientCaFile]] as const) {
    if (path !== undefined && !existsSync(path)) throw new UsageError(`${key}: cannot read ${path}: ENOENT${s.from ? ` (from ${s.from})` : ''}`);
  }
  const authenticated = s.tokenAuthFile !== undefined || s.tls?.clientCaFile !== undefined;
  if (s.from) logger.info({ file: s.from, tokenAuthFile: s.tokenAuthFile, tlsCertFile: s.tls?.certFile }, 'API security settings from the data directory (flags and FEDNS_* variables win)');
  if (!authenticated && !isLoopback(c.apiListen.host)) logger.warn({ listen: c.apiListen.host }, '--insecure-api: the federation API has no authentication; anyone who reaches it may change the federation');
  else if (!authenticated) logger.info({ listen: c.apiListen.host }, 'the federation API has no authentication (loopback only)');
  else if (!s.tls && !isLoopback(c.apiListen.host)) logger.warn({ listen: c.apiListen.host }, 'bearer tokens over plain HTTP on a non-loopback address (add --tls-cert-file and --tls-private-key-file)');
  return { tokenFile: s.tokenAuthFile, tls: s.tls };
}

/** buildApiServer with problems in the token file or TLS files reported as usage errors. */
async function buildApi(opts: Parameters<typeof buildApiServer>[0]): ReturnType<typeof buildApiServer> {
  try {
    return await buildApiServer({ dashboardDir, ...opts });
  } catch (err) {
    const m = (err as Error).message;
    if (/^(token file|tls-cert-file|tls-private-key-file|client-ca-file) /.test(m)) throw new UsageError(m);
    throw err;
  }
}

/** Where a role's store finds its password and credentials key. */
export function storeSecrets(c: Config): { passwordFile?: string; keyFile?: string } {
  return { ...(c.storePasswordFile ? { passwordFile: c.storePasswordFile } : {}), ...(c.secretKeyFile ? { keyFile: c.secretKeyFile } : {}) };
}

/** Opens the role's store (`--store`, default the data dir's SQLite file); a bad URL is a usage error. */
async function openRoleStore(c: Config, run: Running, opts: { readonly?: boolean } = {}): Promise<Store> {
  let store: Store;
  try {
    store = await openStore({ url: storeUrlOf(c), dataDir: c.dataDir, ...storeSecrets(c), ...opts });
  } catch (err) {
    if (err instanceof StoreConfigError) throw new UsageError(err.message);
    throw err;
  }
  run.closers.push(() => store.close());
  run.logger.info({ store: store.location, engine: store.engine, readonly: Boolean(opts.readonly) }, 'store open');
  return store;
}

/**
 * Why a PostgreSQL store cannot be used right now when it is a matter of the network or the
 * server (unreachable, shutting down, starting up, a connection cut or timed out): the same
 * command may work later. Undefined for anything else (a refused login, a missing database, a
 * bug), which retrying would not fix.
 */
export function storeUnreachable(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException;
  const code = String(e?.code ?? '');
  const message = String(e?.message ?? err);
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'EAI_AGAIN'].includes(code)) return message;
  // SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, starting up).
  if (/^(08|57P)/.test(code)) return `${message} (SQLSTATE ${code})`;
  // pg's own connect timeout and a server that hangs up carry no code, only these messages.
  if (!code && /connection timeout|Connection terminated/i.test(message)) return message;
  return undefined;
}

/**
 * Opens the role's store, and while it is unreachable (a follower started during an outage)
 * retries with back-off up to 5 s, telling `waiting` why; a warning is logged when the reason
 * changes. Anything else (bad URL, refused login, SQLite) fails at once.
 */
async function openRoleStoreWaiting(c: Config, run: Running, opts: { readonly?: boolean }, waiting: (why: string) => void): Promise<Store> {
  let delayMs = 500;
  let last = '';
  for (;;) {
    try {
      return await openRoleStore(c, run, opts);
    } catch (err) {
      const why = storeUnreachable(err);
      if (!why || storeUrlOf(c).startsWith('sqlite:')) throw err;
      if (why !== last) run.logger.warn({ err: why }, 'store unreachable: not ready; retrying until it answers');
      last = why;
      waiting(why);
      await new Promise((r) => setTimeout(r, delayMs));
      delayMs = Math.min(delayMs * 2, 5000);
    }
  }
}

/**
 * On SQLite, takes the database's writer lock for a zone-writing role (serve,
 * controller): a second one is refused at start, naming the holder, before it
 * listens anywhere or connects to a member (issue 9). PostgreSQL allows any
 * number: they elect a leader instead.
 */
function lockWriter(c: Config, run: Running, role: string): void {
  const url = storeUrlOf(c);
  if (!url.startsWith('sqlite:')) return;
  const dir = dirname(url.slice('sqlite:'.length));
  mkdirSync(dir, { recursive: true });
  try {
    const lock = acquireWriterLock(dir, role);
    run.closers.push(() => lock.release());
  } catch (err) {
    if (err instanceof WriterLockHeldError) throw new UsageError(err.message);
    throw err;
  }
}

/** /readyz says who leads: `ok (leading …)` or `ok (standby; leader …)`. */
function readyText(plane: ControlPlane): string {
  const s = plane.status();
  return s.leading ? `ok (leading as ${s.identity}${s.epoch !== undefined ? `, epoch ${s.epoch}` : ''})` : `ok (standby ${s.identity}; leader ${s.holder ?? 'none yet'}${s.epoch !== undefined ? `, epoch ${s.epoch}` : ''})`;
}

/** `serve`: API, controller loops and nameserver in one process over one store. */
export async function startServe(c: Config, run: Running): Promise<{ store: Store; plane: ControlPlane; apiUrl: string }> {
  const { logger, closers } = run;
  lockWriter(c, run, 'serve');
  const security = apiSecurity(c, logger);
  const store = await openRoleStore(c, run);
  const registry = makeRegistry('serve');
  await startDns(c, run, store, registry);
  // The control loops before the API: once /readyz answers, a write is acted on.
  const plane = await startControlPlane(c, run, store, registry);
  const api = await buildApi({ ...security, ...memberChecks(c), store, federation: fed(c), registry, logger: logger.child({ role: 'api' }), readyText: () => readyText(plane) });
  const apiUrl = await api.listen({ host: c.apiListen.host, port: c.apiListen.port });
  closers.push(() => api.close());
  logger.info({ url: apiUrl }, 'federation API listening');
  return { store, plane, apiUrl };
}

/** A small HTTP listener for the roles that have no API: /readyz and /metrics. */
async function startOpsListener(c: Config, run: Running, registry: Registry, ready: () => string = () => 'ok'): Promise<void> {
  const app = Fastify({ logger: false });
  // 200 while `ready` says "ok …", else 503 with its reason.
  app.get('/readyz', async (_req, reply) => {
    const text = ready();
    return text.startsWith('ok') ? text : reply.code(503).send(text);
  });
  app.get('/livez', async () => 'ok');
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  const url = await app.listen({ host: c.apiListen.host, port: c.apiListen.port });
  run.closers.push(() => app.close());
  run.logger.info({ url }, 'ops endpoint listening (/readyz, /metrics)');
}

/** `nameserver`: serves the zone of a store another process writes, following its journal. */
export async function startNameserver(c: Config, run: Running): Promise<void> {
  const url = storeUrlOf(c);
  if (url.startsWith('sqlite:') && !existsSync(url.slice('sqlite:'.length))) {
    throw new UsageError(`store: ${url} holds no fedns database yet; start \`fedns serve\` or \`fedns apiserver\` on it first`);
  }
  const registry = makeRegistry('nameserver');
  // Up before the store: a follower started while the store is unreachable says so (503) and waits.
  let notReady: string | undefined = 'not ready: opening the store';
  await startOpsListener(c, run, registry, () => notReady ?? 'ok');
  const store = await openRoleStoreWaiting(c, run, { readonly: true }, (why) => {
    notReady = `not ready: store unreachable (${why}); retrying`;
  });
  notReady = 'not ready: loading the zone';
  await startDns(c, run, store, registry);
  notReady = undefined;
}

/** `apiserver`: the federation API alone; a separate `controller` publishes records. */
export async function startApiserver(c: Config, run: Running): Promise<void> {
  const security = apiSecurity(c, run.logger);
  const store = await openRoleStore(c, run);
  const registry = makeRegistry('apiserver');
  const api = await buildApi({ ...security, ...memberChecks(c), store, federation: fed(c), registry, logger: run.logger.child({ role: 'api' }) });
  const url = await api.listen({ host: c.apiListen.host, port: c.apiListen.port });
  run.closers.push(() => api.close());
  run.logger.info({ url }, 'federation API listening');
}

/** `controller`: the reconcile loops (leader-elected on PostgreSQL), following the store's object log. */
export async function startController(c: Config, run: Running): Promise<void> {
  lockWriter(c, run, 'controller');
  const store = await openRoleStore(c, run);
  const registry = makeRegistry('controller');
  const plane = await startControlPlane(c, run, store, registry);
  await startOpsListener(c, run, registry, () => readyText(plane));
}

/** `join NAME --kubeconfig F [--context C]`: records a member cluster (like kubefed join). */
export async function joinCluster(c: Config, name: string | undefined): Promise<string> {
  if (!name) throw new UsageError('join: NAME is required (fedns join NAME --kubeconfig FILE [--context CONTEXT])');
  if (!c.kubeconfig) throw new UsageError('join: --kubeconfig is required');
  let text: string;
  try {
    text = readFileSync(c.kubeconfig, 'utf8');
  } catch (err) {
    throw new UsageError(`kubeconfig: cannot read ${c.kubeconfig}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  // The checks the API makes of a Cluster's kubeconfig; local files and exec plugins are the operator's own here.
  const checked = checkKubeconfig(text, { context: c.context, local: true });
  if (!checked.ok) throw new UsageError(`kubeconfig ${c.kubeconfig}: ${checked.problems.join('; ')}`);
  try {
    const one = singleContextKubeconfig(text, c.context);
    const version = await checkReachable(one.kubeconfig);
    if (c.clusterDns.allow.length && (await namespaceConflict(one.kubeconfig, c.federation))) throw new JoinError(`cluster "${name}": ${namespaceConflictMessage(c.federation)}`);
    const store = await openStore({ url: storeUrlOf(c), dataDir: c.dataDir, ...storeSecrets(c) });
    try {
      await recordJoin(store, name, one.kubeconfig, one.server);
    } finally {
      await store.close();
    }
    return `cluster "${name}" joined (${one.server}, Kubernetes ${version})`;
  } catch (err) {
    if (err instanceof JoinError) throw new UsageError(err.message);
    throw err;
  }
}

/** `unjoin NAME`: removes a member cluster and what only it contributed to the zone. */
export async function unjoinCluster(c: Config, name: string | undefined): Promise<string> {
  if (!name) throw new UsageError('unjoin: NAME is required');
  const store = await openStore({ url: storeUrlOf(c), dataDir: c.dataDir, ...storeSecrets(c) });
  try {
    await recordUnjoin(store, name);
  } catch (err) {
    if (err instanceof JoinError) throw new UsageError(err.message);
    throw err;
  } finally {
    await store.close();
  }
  return `cluster "${name}" unjoined`;
}

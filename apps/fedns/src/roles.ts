import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildApiServer } from '@fedns/apiserver';
import { checkReachable, FederationController, JoinError, RecordsReconciler, recordJoin, recordUnjoin, singleContextKubeconfig } from '@fedns/controller';
import { readFileSync } from 'node:fs';
import { checkKubeconfig } from '@fedns/model';
import { acquireWriterLock, Store, WriterLockHeldError } from '@fedns/store';
import Fastify from 'fastify';
import { destination, type Logger, pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { isLoopback, resolveApiSecurity } from './api-security.js';
import { type Config, UsageError } from './config.js';
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
    return await buildApiServer(opts);
  } catch (err) {
    const m = (err as Error).message;
    if (/^(token file|tls-cert-file|tls-private-key-file|client-ca-file) /.test(m)) throw new UsageError(m);
    throw err;
  }
}
const timingOf = (c: Config) => ({ clusterGraceMs: c.clusterGraceMs, stabilizationMs: c.stabilizationMs });

/** Opens the store for a role that writes (serve, apiserver, controller). */
function openStore(c: Config, logger: Logger): Store {
  const store = Store.open({ dataDir: c.dataDir });
  logger.info({ path: store.path }, 'store open');
  return store;
}

/**
 * Takes the data directory's writer lock for a zone-writing role (serve,
 * controller): a second one is refused at start, naming the holder, before it
 * listens anywhere or connects to a member (issue 9).
 */
function lockWriter(c: Config, run: Running, role: string): void {
  mkdirSync(c.dataDir, { recursive: true });
  try {
    const lock = acquireWriterLock(c.dataDir, role);
    run.closers.push(() => lock.release());
  } catch (err) {
    if (err instanceof WriterLockHeldError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * Calls `onChange` when another process (fedns join, a second role, an operator
 * tool) commits to the store: SQLite's data_version moves only for other connections.
 */
function watchForeignWrites(store: Store, run: Running, onChange: () => void): void {
  let version = store.dataVersion();
  const timer = setInterval(() => {
    const v = store.dataVersion();
    if (v === version) return;
    version = v;
    onChange();
  }, 100);
  timer.unref();
  run.closers.push(() => clearInterval(timer));
}

/** `serve`: API, controller loops and nameserver in one process over one store. */
export async function startServe(c: Config, run: Running): Promise<{ store: Store; reconciler: RecordsReconciler; controller: FederationController; apiUrl: string }> {
  const { logger, closers } = run;
  lockWriter(c, run, 'serve');
  const security = apiSecurity(c, logger);
  const store = openStore(c, logger);
  closers.push(() => store.close());
  const registry = makeRegistry('serve');
  const { reconciler, controller, start } = controlLoops(c, run, store, registry);

  await startDns(c, run, store, registry);

  const api = await buildApi({
    ...security,
    store,
    federation: fed(c),
    registry,
    logger: logger.child({ role: 'api' }),
    onServiceChange: (ns, name) => controller.onServiceChange(ns, name),
    onClusterChange: (name) => controller.onClusterChange(name),
  });
  const apiUrl = await api.listen({ host: c.apiListen.host, port: c.apiListen.port });
  closers.push(() => api.close());
  logger.info({ url: apiUrl }, 'federation API listening');
  await start();
  return { store, reconciler, controller, apiUrl };
}

/**
 * The control loops shared by `serve` and `controller`: the records reconciler and the
 * member-cluster controller, reacting to writes by other processes (join, unjoin, a
 * separate apiserver). `start` connects the members and publishes the zone once.
 */
function controlLoops(c: Config, run: Running, store: Store, registry: Registry) {
  const defaults = { ttl: c.defaultTtl, failMode: 'open' as const, minReadyEndpoints: 1 };
  const reconciler = new RecordsReconciler({ store, federation: fed(c), defaults, registry, logger: run.logger, firstReportTimeoutMs: c.firstReportTimeoutMs });
  const owner = { federation: c.federation, installationId: store.installationId() };
  const controller = new FederationController({ store, records: reconciler, owner, defaults, registry, timing: timingOf(c), logger: run.logger.child({ role: 'controller' }) });
  run.closers.push(() => controller.stop());
  run.closers.push(() => reconciler.stop());
  const start = async () => {
    // syncClusters ends with a full resync, so every service is looked at again too.
    watchForeignWrites(store, run, () => {
      reconciler.enqueueAll('store changed by another process');
      void controller.syncClusters().then(() => controller.resync());
    });
    await controller.start();
    reconciler.enqueueAll('start-up');
  };
  return { reconciler, controller, start };
}

/** A small HTTP listener for the roles that have no API: /readyz and /metrics. */
async function startOpsListener(c: Config, run: Running, registry: Registry): Promise<void> {
  const app = Fastify({ logger: false });
  app.get('/readyz', async () => 'ok');
  app.get('/livez', async () => 'ok');
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  const url = await app.listen({ host: c.apiListen.host, port: c.apiListen.port });
  run.closers.push(() => app.close());
  run.logger.info({ url }, 'ops endpoint listening (/readyz, /metrics)');
}

/** `nameserver`: serves the zone of a data directory another process writes, following its journal. */
export async function startNameserver(c: Config, run: Running): Promise<void> {
  if (!existsSync(join(c.dataDir, 'fedns.db'))) {
    throw new UsageError(`data-dir: ${c.dataDir} holds no fedns database yet; start \`fedns serve\` or \`fedns apiserver\` on it first`);
  }
  const store = Store.open({ dataDir: c.dataDir, readonly: true });
  run.closers.push(() => store.close());
  const registry = makeRegistry('nameserver');
  await startDns(c, run, store, registry);
  await startOpsListener(c, run, registry);
}

/** `apiserver`: the federation API alone; a separate `controller` publishes records. */
export async function startApiserver(c: Config, run: Running): Promise<void> {
  const security = apiSecurity(c, run.logger);
  const store = openStore(c, run.logger);
  run.closers.push(() => store.close());
  const registry = makeRegistry('apiserver');
  const api = await buildApi({ ...security, store, federation: fed(c), registry, logger: run.logger.child({ role: 'api' }) });
  const url = await api.listen({ host: c.apiListen.host, port: c.apiListen.port });
  run.closers.push(() => api.close());
  run.logger.info({ url }, 'federation API listening');
}

/** `controller`: reconcile loops over the data directory; notices API writes by polling the store. */
export async function startController(c: Config, run: Running): Promise<void> {
  lockWriter(c, run, 'controller');
  const store = openStore(c, run.logger);
  run.closers.push(() => store.close());
  const registry = makeRegistry('controller');
  await controlLoops(c, run, store, registry).start();
  await startOpsListener(c, run, registry);
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
    const store = Store.open({ dataDir: c.dataDir });
    try {
      recordJoin(store, name, one.kubeconfig, one.server);
    } finally {
      store.close();
    }
    return `cluster "${name}" joined (${one.server}, Kubernetes ${version})`;
  } catch (err) {
    if (err instanceof JoinError) throw new UsageError(err.message);
    throw err;
  }
}

/** `unjoin NAME`: removes a member cluster and what only it contributed to the zone. */
export function unjoinCluster(c: Config, name: string | undefined): string {
  if (!name) throw new UsageError('unjoin: NAME is required');
  const store = Store.open({ dataDir: c.dataDir });
  try {
    recordUnjoin(store, name);
  } catch (err) {
    if (err instanceof JoinError) throw new UsageError(err.message);
    throw err;
  } finally {
    store.close();
  }
  return `cluster "${name}" unjoined`;
}

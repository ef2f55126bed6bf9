/**
 * Finds the API server and credentials of a kubeconfig context the way kubectl
 * does: `--kubeconfig FILE` alone when given; else every file of `KUBECONFIG`
 * (path-list, missing files skipped) merged — the first file to name a cluster,
 * user or context, or to set current-context, wins; else `~/.kube/config`. Then
 * `--context` or the current context. File references (certificate-authority,
 * client-certificate, client-key, token-file) are read relative to the file
 * that names them. Exec and auth-provider plugins are refused by name: this
 * client runs no commands.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';

export class KubeconfigError extends Error {}

export interface KubeconfigSelection {
  /** `--kubeconfig`: this file only. */
  kubeconfig?: string;
  /** `--context`: this context instead of the current one. */
  context?: string;
  /** `--token`: this bearer token instead of the user's credentials. */
  token?: string;
  /** Where KUBECONFIG and HOME come from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface ClusterConnection {
  context: string;
  server: string;
  ca?: Buffer;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  token?: string;
  username?: string;
  password?: string;
  cert?: Buffer;
  key?: Buffer;
  /** The kubeconfig file(s) it came from, for messages. */
  source: string;
}

type Obj = Record<string, unknown>;
interface Named {
  entry: Obj;
  /** The file that named it: relative paths in it resolve against its folder. */
  file: string;
}
interface Merged {
  clusters: Map<string, Named>;
  users: Map<string, Named>;
  contexts: Map<string, Named>;
  currentContext?: string;
  files: string[];
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function readDoc(file: string): Obj {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeconfigError(`kubeconfig ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: false });
  } catch (err) {
    throw new KubeconfigError(`kubeconfig ${file}: not valid YAML: ${String((err as Error).message).split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isObj(doc)) throw new KubeconfigError(`kubeconfig ${file}: not a kubeconfig (want a mapping)`);
  return doc;
}

/** The files to read, by kubectl's precedence. */
function filesOf(sel: KubeconfigSelection): { files: string[]; explicit: boolean } {
  const env = sel.env ?? process.env;
  if (sel.kubeconfig) return { files: [resolve(sel.kubeconfig)], explicit: true };
  if (env.KUBECONFIG) return { files: env.KUBECONFIG.split(delimiter).filter(Boolean).map((f) => resolve(f)).filter((f) => existsSync(f)), explicit: false };
  return { files: [join(env.HOME ?? homedir(), '.kube', 'config')].filter((f) => existsSync(f)), explicit: false };
}

function merge(files: string[]): Merged {
  const m: Merged = { clusters: new Map(), users: new Map(), contexts: new Map(), files };
  for (const file of files) {
    const doc = readDoc(file);
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      const list = doc[key];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) throw new KubeconfigError(`kubeconfig ${file}: ${key} must be a list`);
      for (const e of list) {
        if (!isObj(e) || typeof e.name !== 'string') continue;
        if (!m[key].has(e.name)) m[key].set(e.name, { entry: e, file });
      }
    }
    const cur = doc['current-context'];
    if (m.currentContext === undefined && typeof cur === 'string' && cur) m.currentContext = cur;
  }
  return m;
}

/** A file reference of a kubeconfig entry, read relative to the file that holds it. */
function readRef(path: string, holder: string, what: string): Buffer {
  const p = isAbsolute(path) ? path : join(dirname(holder), path);
  try {
    return readFileSync(p);
  } catch (err) {
    throw new KubeconfigError(`kubeconfig ${holder}: ${what} ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

const b64 = (v: unknown, holder: string, what: string): Buffer | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new KubeconfigError(`kubeconfig ${holder}: ${what} must be a base64 string`);
  return Buffer.from(v, 'base64');
};

/** The connection of the selected context. */
export function loadKubeconfig(sel: KubeconfigSelection = {}): ClusterConnection {
  const { files, explicit } = filesOf(sel);
  if (files.length === 0) throw new KubeconfigError('no kubeconfig: set KUBECONFIG, pass --kubeconfig FILE, or create ~/.kube/config');
  const m = merge(files);
  const source = files.join(delimiter);
  const ctxName = sel.context ?? m.currentContext;
  if (!ctxName) throw new KubeconfigError(`kubeconfig ${source}: no current-context; pass --context (have: ${[...m.contexts.keys()].join(', ') || 'none'})`);
  const ctx = m.contexts.get(ctxName);
  if (!ctx) throw new KubeconfigError(`context "${ctxName}" not found in ${explicit ? 'kubeconfig ' : ''}${source} (have: ${[...m.contexts.keys()].join(', ') || 'none'})`);
  const c = isObj(ctx.entry.context) ? ctx.entry.context : {};
  const clusterName = typeof c.cluster === 'string' ? c.cluster : '';
  const cluster = m.clusters.get(clusterName);
  if (!cluster) throw new KubeconfigError(`context "${ctxName}" names cluster "${clusterName}", which is not defined in ${source}`);
  const cl = isObj(cluster.entry.cluster) ? cluster.entry.cluster : {};
  if (typeof cl.server !== 'string' || !cl.server) throw new KubeconfigError(`cluster "${clusterName}" has no server in ${cluster.file}`);
  const conn: ClusterConnection = { context: ctxName, server: cl.server.replace(/\/+$/, ''), insecureSkipTlsVerify: cl['insecure-skip-tls-verify'] === true, source };
  const ca = b64(cl['certificate-authority-data'], cluster.file, 'certificate-authority-data') ?? (typeof cl['certificate-authority'] === 'string' ? readRef(cl['certificate-authority'], cluster.file, 'certificate-authority') : undefined);
  if (ca) conn.ca = ca;
  if (typeof cl['tls-server-name'] === 'string') conn.tlsServerName = cl['tls-server-name'];

  const userName = typeof c.user === 'string' ? c.user : '';
  const user = userName ? m.users.get(userName) : undefined;
  if (userName && !user) throw new KubeconfigError(`context "${ctxName}" names user "${userName}", which is not defined in ${source}`);
  if (sel.token) conn.token = sel.token;
  else if (user) {
    const u = isObj(user.entry.user) ? user.entry.user : {};
    if (u.exec !== undefined || u['auth-provider'] !== undefined) {
      throw new KubeconfigError(`user "${userName}" authenticates through an ${u.exec !== undefined ? 'exec' : 'auth-provider'} plugin, which kubectl-fedns does not run: use a token (--token) or a client certificate`);
    }
    if (typeof u.token === 'string' && u.token) conn.token = u.token;
    else if (typeof u.tokenFile === 'string' || typeof u['token-file'] === 'string') conn.token = readRef(String(u.tokenFile ?? u['token-file']), user.file, 'token-file').toString('utf8').trim();
    const cert = b64(u['client-certificate-data'], user.file, 'client-certificate-data') ?? (typeof u['client-certificate'] === 'string' ? readRef(u['client-certificate'], user.file, 'client-certificate') : undefined);
    const key = b64(u['client-key-data'], user.file, 'client-key-data') ?? (typeof u['client-key'] === 'string' ? readRef(u['client-key'], user.file, 'client-key') : undefined);
    if (cert) conn.cert = cert;
    if (key) conn.key = key;
    if (typeof u.username === 'string' && typeof u.password === 'string') {
      conn.username = u.username;
      conn.password = u.password;
    }
  }
  return conn;
}

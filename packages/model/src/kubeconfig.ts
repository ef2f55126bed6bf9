/**
 * A member cluster's kubeconfig, checked before fedns stores or uses it: the
 * federation API (Cluster `spec.kubeconfig`) and `fedns join` both call
 * `checkKubeconfig`. Every problem is named by its place in the kubeconfig
 * (`clusters[0].cluster.server: …`); a kubeconfig that passes is reduced to the
 * one context fedns uses, as JSON, which @kubernetes/client-node always loads.
 */
import { parse as parseYaml } from 'yaml';

export interface KubeconfigCheckOptions {
  /** The context to use; default the kubeconfig's current-context. */
  context?: string;
  /**
   * Accept what only makes sense on the operator's own machine: file references
   * (certificate-authority, client-certificate, client-key, token-file), exec and
   * auth-provider plugins. `fedns join` allows them; the API does not (fedns would
   * read files or run commands on its own host for whoever can create a Cluster).
   */
  local?: boolean;
}

export type KubeconfigCheck =
  | { ok: true; kubeconfig: string; server: string; context: string }
  | { ok: false; problems: string[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const LOCAL_ONLY_CLUSTER = ['certificate-authority'];
const LOCAL_ONLY_USER = ['client-certificate', 'client-key', 'token-file', 'exec', 'auth-provider'];
const STRING_FIELDS_CLUSTER = ['tls-server-name', 'proxy-url', 'certificate-authority'];
const STRING_FIELDS_USER = ['token', 'username', 'password', 'client-certificate', 'client-key', 'token-file', 'as'];

/** Why `value` is not base64 of PEM blocks of the wanted kind (a certificate bundle, or one private key). */
export function pemDataProblem(value: unknown, want: 'certificate' | 'key'): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return 'must be base64 of PEM data';
  let text: string;
  try {
    text = atob(value.replace(/\s+/g, ''));
  } catch {
    return 'is not base64';
  }
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END \1-----/g)];
  if (blocks.length === 0) return `is base64, but not of PEM data (no -----BEGIN ${want === 'key' ? 'PRIVATE KEY' : 'CERTIFICATE'}----- block)`;
  for (const [, label = '', body = ''] of blocks) {
    const ok = want === 'key' ? /(^| )PRIVATE KEY$/.test(label) : label === 'CERTIFICATE';
    if (!ok) return `holds a PEM ${label} block where a ${want === 'key' ? 'private key' : 'certificate'} belongs`;
    let der: string;
    try {
      der = atob(body.replace(/\s+/g, ''));
    } catch {
      return `holds a PEM ${label} block whose content is not base64`;
    }
    if (der.charCodeAt(0) !== 0x30 || der.length < 16) return `holds a PEM ${label} block that is not DER data`;
  }
  if (want === 'key' && blocks.length !== 1) return 'must hold exactly one private key';
  return undefined;
}

/** Why `server` is not an http(s) URL of an API server. */
export function serverUrlProblem(server: unknown): string | undefined {
  if (typeof server !== 'string' || server === '') return 'is required (the member cluster API server URL)';
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    return `"${server}" is not a URL (e.g. https://203.0.113.5:6443)`;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `"${server}" is not an http(s) URL`;
  if (!u.hostname) return `"${server}" names no host`;
  if (u.username || u.password) return `"${server}" must not carry credentials`;
  return undefined;
}

/** Finds `name` in a kubeconfig list (`clusters`, `contexts`, `users`): index and entry. */
function find(list: Obj[], name: string): { i: number; entry: Obj } | undefined {
  const i = list.findIndex((e) => e.name === name);
  return i < 0 ? undefined : { i, entry: list[i] as Obj };
}

/** The named list of a kubeconfig; problems for a list that is not a list of named mappings. */
function listOf(doc: Obj, key: 'clusters' | 'contexts' | 'users', problems: string[]): Obj[] {
  const raw = doc[key];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${key}: must be a list`);
    return [];
  }
  return raw.filter((e, i) => {
    if (!isObj(e) || typeof e.name !== 'string' || e.name === '') {
      problems.push(`${key}[${i}]: must be a mapping with a name`);
      return false;
    }
    return true;
  }) as Obj[];
}

function checkFields(at: string, entry: Obj, strings: string[], localOnly: string[], local: boolean, problems: string[]): void {
  for (const k of strings) if (entry[k] !== undefined && typeof entry[k] !== 'string') problems.push(`${at}.${k}: must be a string`);
  if (!local) {
    for (const k of localOnly) {
      if (entry[k] !== undefined) problems.push(`${at}.${k}: not accepted through the API (fedns would read files or run commands on its own host); inline the credentials (certificate-authority-data, client-certificate-data, client-key-data, token)`);
    }
  }
}

/** Checks a member cluster's kubeconfig (YAML or JSON text) and reduces it to the context fedns uses. */
export function checkKubeconfig(text: string, opts: KubeconfigCheckOptions = {}): KubeconfigCheck {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: false });
  } catch (err) {
    return { ok: false, problems: [`not valid YAML: ${String((err as Error).message).split('\n')[0]}`] };
  }
  if (!isObj(doc)) return { ok: false, problems: ['not a kubeconfig (want a mapping with clusters, users, contexts and current-context)'] };
  if (doc.kind !== undefined && doc.kind !== 'Config') return { ok: false, problems: [`not a kubeconfig: kind is "${String(doc.kind)}", want "Config"`] };
  const problems: string[] = [];
  const clusters = listOf(doc, 'clusters', problems);
  const contexts = listOf(doc, 'contexts', problems);
  const users = listOf(doc, 'users', problems);
  if (problems.length) return { ok: false, problems };

  const ctxName = opts.context ?? doc['current-context'];
  const known = (l: Obj[]) => l.map((e) => e.name).join(', ') || 'none';
  if (typeof ctxName !== 'string' || ctxName === '') return { ok: false, problems: [`current-context: required, naming one of the contexts (have: ${known(contexts)})`] };
  const ctx = find(contexts, ctxName);
  const where = opts.context !== undefined ? `context "${ctxName}"` : `current-context "${ctxName}"`;
  if (!ctx) return { ok: false, problems: [`${where} names no context (have: ${known(contexts)})`] };
  const cctx = ctx.entry.context;
  if (!isObj(cctx) || typeof cctx.cluster !== 'string' || cctx.cluster === '') return { ok: false, problems: [`contexts[${ctx.i}].context.cluster: required`] };
  const cl = find(clusters, cctx.cluster);
  if (!cl) return { ok: false, problems: [`contexts[${ctx.i}].context.cluster: names cluster "${cctx.cluster}", which is not defined (have: ${known(clusters)})`] };

  const cat = `clusters[${cl.i}].cluster`;
  const cluster = cl.entry.cluster ?? {};
  if (!isObj(cluster)) return { ok: false, problems: [`${cat}: must be a mapping (server, certificate-authority-data)`] };
  const sp = serverUrlProblem(cluster.server);
  if (sp) problems.push(`${cat}.server: ${sp}`);
  if (cluster['certificate-authority-data'] !== undefined) {
    const p = pemDataProblem(cluster['certificate-authority-data'], 'certificate');
    if (p) problems.push(`${cat}.certificate-authority-data: ${p}`);
  }
  const skip = cluster['insecure-skip-tls-verify'];
  if (skip !== undefined && typeof skip !== 'boolean') problems.push(`${cat}.insecure-skip-tls-verify: must be true or false`);
  checkFields(cat, cluster, STRING_FIELDS_CLUSTER, LOCAL_ONLY_CLUSTER, opts.local === true, problems);

  let user: { name: string; user: Obj } = { name: 'anonymous', user: {} };
  if (cctx.user !== undefined && cctx.user !== '') {
    const u = typeof cctx.user === 'string' ? find(users, cctx.user) : undefined;
    if (!u) problems.push(`contexts[${ctx.i}].context.user: names user "${String(cctx.user)}", which is not defined (have: ${known(users)})`);
    else if (u.entry.user !== undefined && !isObj(u.entry.user)) problems.push(`users[${u.i}].user: must be a mapping`);
    else {
      const uat = `users[${u.i}].user`;
      const body = (u.entry.user ?? {}) as Obj;
      for (const [k, want] of [['client-certificate-data', 'certificate'], ['client-key-data', 'key']] as const) {
        if (body[k] === undefined) continue;
        const p = pemDataProblem(body[k], want);
        if (p) problems.push(`${uat}.${k}: ${p}`);
      }
      if ((body['client-certificate-data'] === undefined) !== (body['client-key-data'] === undefined)) {
        problems.push(`${uat}: client-certificate-data and client-key-data go together`);
      }
      checkFields(uat, body, STRING_FIELDS_USER, LOCAL_ONLY_USER, opts.local === true, problems);
      user = { name: u.entry.name as string, user: body };
    }
  }
  if (problems.length) return { ok: false, problems };
  const context: Obj = { cluster: cl.entry.name, user: user.name };
  if (typeof cctx.namespace === 'string' && cctx.namespace) context.namespace = cctx.namespace;
  const reduced = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cl.entry.name, cluster }],
    users: [user],
    contexts: [{ name: ctxName, context }],
    'current-context': ctxName,
  };
  return { ok: true, kubeconfig: JSON.stringify(reduced), server: cluster.server as string, context: ctxName };
}

/**
 * `kubectl fedns join NAME --kubeconfig F [--context C]`: creates the Cluster
 * with the member's kubeconfig reduced to one context (`checkKubeconfig`, the
 * API's own check) and its file references inlined — the API refuses paths,
 * which would name files on the fedns host. Exec and auth-provider plugins
 * cannot be inlined: refused with a message. The federation is reached
 * through KUBECONFIG's current context, or --federation-kubeconfig/-context.
 * `kubectl fedns unjoin NAME` deletes the Cluster.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join as joinPath, resolve } from 'node:path';
import { checkKubeconfig } from '@fedns/model';
import { type Command, FED_API } from '../context.js';
import { formatObject } from '../output.js';
import { UsageError } from '../args.js';

type Obj = Record<string, unknown>;

const INLINE: [string, string, 'base64' | 'text'][] = [
  ['certificate-authority', 'certificate-authority-data', 'base64'],
  ['client-certificate', 'client-certificate-data', 'base64'],
  ['client-key', 'client-key-data', 'base64'],
  ['token-file', 'token', 'text'],
  ['tokenFile', 'token', 'text'],
];

/** Replaces file references of a kubeconfig entry by their contents, read relative to the kubeconfig. */
function inline(entry: Obj, base: string, where: string): void {
  for (const [ref, data, enc] of INLINE) {
    const p = entry[ref];
    if (typeof p !== 'string') continue;
    const file = isAbsolute(p) ? p : joinPath(base, p);
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch (err) {
      throw new Error(`${where}.${ref}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    entry[data] = enc === 'base64' ? content.toString('base64') : content.toString('utf8').trim();
    delete entry[ref];
  }
  for (const plugin of ['exec', 'auth-provider']) {
    if (entry[plugin] !== undefined) throw new Error(`${where}.${plugin}: the federation cannot run credential plugins; give the member a kubeconfig with a token or a client certificate`);
  }
}

/** The member kubeconfig as the API takes it: one context, nothing read from files. */
export function memberKubeconfig(text: string, file: string, context?: string): string {
  const checked = checkKubeconfig(text, { local: true, ...(context ? { context } : {}) });
  if (!checked.ok) throw new Error(`kubeconfig ${file}: ${checked.problems.join('; ')}`);
  const doc = JSON.parse(checked.kubeconfig) as { clusters: { cluster: Obj }[]; users: { user?: Obj }[] };
  const base = dirname(resolve(file));
  for (const c of doc.clusters) inline(c.cluster, base, 'cluster');
  for (const u of doc.users) if (u.user) inline(u.user, base, 'user');
  return JSON.stringify(doc);
}

export const join: Command = async (ctx) => {
  const [name, ...rest] = ctx.args.positional;
  if (!name || rest.length) throw new UsageError('join takes one NAME: kubectl fedns join NAME --kubeconfig FILE [--context CONTEXT]');
  const file = ctx.args.flags.kubeconfig;
  if (!file) throw new UsageError('join: --kubeconfig FILE (the member cluster\'s kubeconfig) is required');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`kubeconfig ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const kubeconfig = memberKubeconfig(text, file, ctx.args.flags.context);
  const c = await ctx.client().request<{ metadata: { name: string }; spec?: { server?: string } }>('POST', `${FED_API}/clusters`, {
    body: { apiVersion: 'federation.fedns.io/v1', kind: 'Cluster', metadata: { name }, spec: { kubeconfig } },
  });
  return ctx.output ? formatObject(c, ctx.output) : `cluster.federation.fedns.io/${c.metadata.name} joined${c.spec?.server ? ` (${c.spec.server})` : ''}`;
};

export const unjoin: Command = async (ctx) => {
  const [name, ...rest] = ctx.args.positional;
  if (!name || rest.length) throw new UsageError('unjoin takes one NAME');
  const c = await ctx.client().request<{ metadata: { name: string } }>('DELETE', `${FED_API}/clusters/${encodeURIComponent(name)}`);
  return ctx.output ? formatObject(c, ctx.output) : `cluster.federation.fedns.io/${name} unjoined`;
};

/**
 * `kubectl fedns policy history NAMESPACE/SERVICE` and
 * `kubectl fedns policy rollback NAMESPACE/SERVICE --to N` (issue 14): the
 * versions of a service's traffic policy (the Service `policyhistory`
 * subresource), and putting version N's policy annotations back — a merge
 * patch of the Service through the API, with the resourceVersion read (a
 * concurrent change is a 409: read again, up to 3 times), so the rollback is
 * a new change by whoever ran it, checked like any other.
 */
import { KubeApiError } from '@fedns/kubeclient';
import { UsageError } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { cut, formatObject, table } from '../output.js';

interface PolicyChange {
  key: string;
  from?: string;
  to?: string;
}
interface PolicyVersion {
  version: number;
  resourceVersion: string;
  time: string;
  user: string;
  type: string;
  policy: Record<string, string>;
  changes: PolicyChange[];
}
interface DrainEvent {
  time: string;
  user: string;
  cluster: string;
  change: string;
}
export interface PolicyHistory {
  items: PolicyVersion[];
  drains: DrainEvent[];
}
interface Service {
  metadata: { name: string; namespace: string; resourceVersion: string; annotations?: Record<string, string> };
}

const PREFIX = 'federation.fedns.io/';
const short = (key: string) => (key.startsWith(PREFIX) ? key.slice(PREFIX.length) : key);
const show = (v: string | undefined) => (v === undefined ? '(unset)' : JSON.stringify(v));
export const changeText = (c: PolicyChange) => `${short(c.key)}: ${show(c.from)} → ${show(c.to)}`;

function serviceRef(ctx: CommandContext, verb: string): { ns: string; svc: string; path: string } {
  const [arg, ...rest] = ctx.args.positional.slice(1);
  if (!arg || rest.length) throw new UsageError(`policy ${verb} takes one NAMESPACE/SERVICE (or SERVICE in namespace default)`);
  const [ns, svc] = arg.includes('/') ? arg.split('/', 2) : ['default', arg];
  if (!ns || !svc) throw new UsageError(`policy ${verb}: "${arg}" is not NAMESPACE/SERVICE`);
  return { ns, svc, path: `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(svc)}` };
}

/** Versions as a table (version, time, user, what changed), then the drains of the service's clusters. */
export function formatPolicyHistory(service: string, h: PolicyHistory, width = 0): string {
  if (h.items.length === 0) return `no policy history kept for service ${service}`;
  const rows = h.items.map((v) => [String(v.version), v.time, v.user, v.type === 'DELETED' ? 'service deleted' : v.changes.map(changeText).join('; ') || (v.type === 'ADDED' ? 'created (no policy annotations: the defaults)' : 'no change')]);
  const out = [table(['Version', 'Time', 'User', 'Change'], rows, width)];
  if (h.drains.length) {
    out.push('', 'drains of its clusters (cluster-wide; not rolled back with the service):');
    for (const d of h.drains) out.push(width ? cut(`  ${d.time}  ${d.cluster} ${d.change} by ${d.user}`, width) : `  ${d.time}  ${d.cluster} ${d.change} by ${d.user}`);
  }
  return out.join('\n');
}

/** The merge patch that makes `current` annotations carry `target`'s policy: set what differs, null what `target` lacks. */
export function rollbackPatch(current: Record<string, string>, target: Record<string, string>, keys: readonly string[]): Record<string, string | null> {
  const patch: Record<string, string | null> = {};
  for (const k of keys) {
    if (current[k] === target[k]) continue;
    patch[k] = target[k] ?? null;
  }
  return patch;
}

/** The policy keys a history knows about: every key any version set. */
const policyKeys = (h: PolicyHistory) => [...new Set(h.items.flatMap((v) => [...Object.keys(v.policy), ...v.changes.map((c) => c.key)]))];

async function history(ctx: CommandContext): Promise<string> {
  const { ns, svc, path } = serviceRef(ctx, 'history');
  const h = await ctx.client().get<PolicyHistory>(`${path}/policyhistory`);
  return ctx.output ? formatObject(h, ctx.output) : formatPolicyHistory(`${ns}/${svc}`, h, ctx.width);
}

async function rollback(ctx: CommandContext): Promise<string> {
  const { ns, svc, path } = serviceRef(ctx, 'rollback');
  const to = ctx.args.flags.to;
  if (to === undefined) throw new UsageError('policy rollback needs --to N (a version from kubectl fedns policy history)');
  if (!/^[1-9]\d*$/.test(to)) throw new UsageError(`--to must be a version number, got "${to}"`);
  for (let attempt = 1; ; attempt++) {
    const h = await ctx.client().get<PolicyHistory>(`${path}/policyhistory`);
    const target = h.items.find((v) => v.version === Number(to));
    if (!target) throw new Error(`service ${ns}/${svc} has no policy version ${to} (versions 1-${h.items.length}; kubectl fedns policy history ${ns}/${svc})`);
    if (target.type === 'DELETED') throw new Error(`version ${to} of ${ns}/${svc} is its deletion; roll back to a version before it`);
    const cur = await ctx.client().get<Service>(path);
    // Every policy key: the ones in the history, and any the service carries now.
    const now = cur.metadata.annotations ?? {};
    const keys = [...new Set([...policyKeys(h), ...Object.keys(now).filter((k) => k.startsWith(PREFIX) && k !== `${PREFIX}shards`)])];
    const patch = rollbackPatch(now, target.policy, keys);
    if (Object.keys(patch).length === 0) return `service/${svc} policy already equals version ${to}: nothing to roll back`;
    try {
      const updated = await ctx.client().request<Service>('PATCH', path, {
        body: { metadata: { resourceVersion: cur.metadata.resourceVersion, annotations: patch } },
        contentType: 'application/merge-patch+json',
      });
      if (ctx.output) return formatObject(updated, ctx.output);
      const changes = Object.entries(patch).map(([key, value]) => changeText({ key, ...(now[key] !== undefined ? { from: now[key] } : {}), ...(value !== null ? { to: value } : {}) }));
      return `service/${svc} policy rolled back to version ${to} (resourceVersion ${updated.metadata.resourceVersion}): ${changes.join('; ')}`;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 409) || attempt >= 3) throw err;
    }
  }
}

export const policy: Command = async (ctx) => {
  const sub = ctx.args.positional[0];
  if (sub === 'history') return history(ctx);
  if (sub === 'rollback') return rollback(ctx);
  throw new UsageError(`policy takes history or rollback (kubectl fedns policy history NAMESPACE/SERVICE; kubectl fedns policy rollback NAMESPACE/SERVICE --to N)${sub ? `, not "${sub}"` : ''}`);
};

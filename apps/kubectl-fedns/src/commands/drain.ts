/**
 * `kubectl fedns drain CLUSTER [--zones Z,…]` / `undrain CLUSTER [--zones Z,…]`:
 * a merge patch of the Cluster's `spec.drained` or `spec.drainedZones`.
 * Zone drains read the list and write it back with the resourceVersion read
 * (another operator's change meanwhile is a 409: read again, up to 3 times).
 * `undrain CLUSTER` without zones serves the whole cluster again: it clears
 * `spec.drained` and every drained zone.
 */
import { KubeApiError } from '@fedns/kubeclient';
import { UsageError, zonesOf } from '../args.js';
import { type Command, type CommandContext, FED_API } from '../context.js';
import { formatObject } from '../output.js';

interface Cluster {
  metadata: { name: string; resourceVersion: string };
  spec?: { drained?: boolean; drainedZones?: string[] };
}

const MERGE = 'application/merge-patch+json';

async function patchZones(ctx: CommandContext, name: string, change: (zones: string[]) => string[]): Promise<Cluster> {
  const path = `${FED_API}/clusters/${encodeURIComponent(name)}`;
  for (let attempt = 1; ; attempt++) {
    const cur = await ctx.client().get<Cluster>(path);
    const zones = change(cur.spec?.drainedZones ?? []);
    try {
      return await ctx.client().request<Cluster>('PATCH', path, { body: { metadata: { resourceVersion: cur.metadata.resourceVersion }, spec: { drainedZones: zones.length ? zones : null } }, contentType: MERGE });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 409) || attempt >= 3) throw err;
    }
  }
}

function target(ctx: CommandContext, verb: string): string {
  const [name, ...rest] = ctx.args.positional;
  if (!name || rest.length) throw new UsageError(`${verb} takes one CLUSTER (and --zones Z,… for some of its zones)`);
  return name;
}

const done = (ctx: CommandContext, c: Cluster, words: string) => (ctx.output ? formatObject(c, ctx.output) : `cluster.federation.fedns.io/${c.metadata.name} ${words}`);

export const drain: Command = async (ctx) => {
  const name = target(ctx, 'drain');
  const zones = zonesOf(ctx.args.flags);
  if (!zones) {
    const c = await ctx.client().request<Cluster>('PATCH', `${FED_API}/clusters/${encodeURIComponent(name)}`, { body: { spec: { drained: true } }, contentType: MERGE });
    return done(ctx, c, 'drained');
  }
  const c = await patchZones(ctx, name, (cur) => [...cur, ...zones.filter((z) => !cur.includes(z))]);
  return done(ctx, c, `drained in zone(s) ${zones.join(', ')} (drainedZones: ${(c.spec?.drainedZones ?? []).join(', ')})`);
};

export const undrain: Command = async (ctx) => {
  const name = target(ctx, 'undrain');
  const zones = zonesOf(ctx.args.flags);
  if (!zones) {
    const c = await ctx.client().request<Cluster>('PATCH', `${FED_API}/clusters/${encodeURIComponent(name)}`, { body: { spec: { drained: false, drainedZones: null } }, contentType: MERGE });
    return done(ctx, c, 'undrained');
  }
  const c = await patchZones(ctx, name, (cur) => cur.filter((z) => !zones.includes(z)));
  const left = c.spec?.drainedZones ?? [];
  return done(ctx, c, `undrained in zone(s) ${zones.join(', ')}${left.length ? ` (still drained: ${left.join(', ')})` : ''}${c.spec?.drained ? ' (the whole cluster stays drained: spec.drained)' : ''}`);
};

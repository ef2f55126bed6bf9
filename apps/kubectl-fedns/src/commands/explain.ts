/**
 * `kubectl fedns explain NAME`: how a DNS name resolves now and why (the
 * DNSRecordSet `explain` subresource, found by its `spec.name`); a name
 * without the zone gets it appended. `explain NAMESPACE/SERVICE`: the
 * service's whole cascade as a tree (the Service `cascade` subresource).
 */
import { type Explanation, type ExplainStep, formatExplanation } from '@fedns/cascade';
import { type Command, type CommandContext, FED_API } from '../context.js';
import { formatObject } from '../output.js';
import { UsageError } from '../args.js';

interface CascadeNode extends ExplainStep {
  children: CascadeNode[];
}

const answerText = (s: ExplainStep) => s.answer.map((a) => `${a.type} ${a.data.join(', ') || '(none)'}`).join('; ') || '(nothing)';

/** The cascade as an indented tree: each name, its answer, why, and its shards. */
export function formatCascade(service: string, root: CascadeNode | undefined): string {
  if (!root) return `service ${service} has no published names yet`;
  const out: string[] = [`service ${service}`];
  const walk = (n: CascadeNode, prefix: string, last: boolean, top: boolean) => {
    const branch = top ? '' : last ? '└─ ' : '├─ ';
    const cont = top ? '' : last ? '   ' : '│  ';
    out.push(`${prefix}${branch}${n.name} [${n.level}] ${answerText(n)}`);
    out.push(`${prefix}${cont}   why: ${n.reason}`);
    n.children.forEach((c, i) => {
      walk(c, prefix + cont, i === n.children.length - 1, false);
    });
  };
  walk(root, '', true, true);
  return out.join('\n');
}

async function recordSetsNamed(ctx: CommandContext, name: string): Promise<{ metadata: { name: string } }[]> {
  const list = await ctx.client().get<{ items: { metadata: { name: string } }[] }>(`${FED_API}/dnsrecordsets`, { query: { fieldSelector: `spec.name=${name}` } });
  return list.items;
}

export const explain: Command = async (ctx) => {
  const [arg, ...rest] = ctx.args.positional;
  if (!arg || rest.length) throw new UsageError('explain takes one NAME (a DNS name of the federation zone, or NAMESPACE/SERVICE for its whole cascade)');
  if (arg.includes('/')) {
    const [ns, svc, extra] = arg.split('/');
    if (!ns || !svc || extra !== undefined) throw new UsageError(`explain: "${arg}" is not NAMESPACE/SERVICE`);
    const cascade = await ctx.client().get<{ root?: CascadeNode }>(`/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(svc)}/cascade`);
    return ctx.output ? formatObject(cascade, ctx.output) : formatCascade(`${ns}/${svc}`, cascade.root);
  }
  let name = arg.toLowerCase().replace(/\.?$/, '.');
  let found = await recordSetsNamed(ctx, name);
  if (found.length === 0) {
    // A name given without the zone: try it inside the zone.
    const fs = await ctx.client().get<{ items: { spec: { zone: string } }[] }>(`${FED_API}/federationstatuses`);
    const zone = fs.items[0]?.spec.zone.toLowerCase();
    if (zone && !name.endsWith(`.${zone}`)) {
      const inZone = `${name}${zone}`;
      found = await recordSetsNamed(ctx, inZone);
      if (found.length) name = inZone;
    }
  }
  const first = found[0];
  if (!first) throw new Error(`${name} is not a published name (NXDOMAIN, or a name with no records of its own)`);
  const e = await ctx.client().get<Explanation>(`${FED_API}/dnsrecordsets/${encodeURIComponent(first.metadata.name)}/explain`);
  return ctx.output ? formatObject(e, ctx.output) : formatExplanation(e).trimEnd();
};

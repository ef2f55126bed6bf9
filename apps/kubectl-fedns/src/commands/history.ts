/** `kubectl fedns history NAMESPACE/SERVICE [--limit N]`: the service's timeline (the Service `history` subresource), oldest first like a log. */
import type { HistoryEvent, RecordChange } from '@fedns/model';
import type { Command } from '../context.js';
import { cut, formatObject, table } from '../output.js';
import { UsageError } from '../args.js';

const changeLine = (c: RecordChange) =>
  c.op === 'add'
    ? `+ ${c.name} ${c.type} ${c.data.join(', ')} (ttl ${c.ttl})`
    : c.op === 'remove'
      ? `- ${c.name} ${c.type} ${c.data.join(', ')} (ttl ${c.ttl})`
      : `~ ${c.name} ${c.type} ${(c.oldData ?? []).join(', ')} (ttl ${c.oldTtl}) → ${c.data.join(', ')} (ttl ${c.ttl})`;

/** A table of events (time, what, user, cause), each zone change followed by its record changes. */
export function formatHistory(service: string, items: HistoryEvent[], width = 0): string {
  if (items.length === 0) return `no history kept for service ${service}`;
  const rows: string[][] = [];
  const details = new Map<number, string[]>();
  for (const e of [...items].reverse()) {
    if (e.kind === 'ZoneChange') {
      rows.push([e.time, `serial ${e.serial}`, e.users.join(',') || 'system', e.cause]);
      details.set(rows.length, e.changes.map(changeLine));
    } else rows.push([e.time, `${e.type.toLowerCase()} rv ${e.resourceVersion}`, e.user, e.cause]);
  }
  const lines = table(['Time', 'Change', 'User', 'Cause'], rows, width).split('\n');
  const out: string[] = [lines[0] as string];
  lines.slice(1).forEach((l, i) => {
    out.push(l);
    for (const d of details.get(i + 1) ?? []) out.push(width ? cut(`    ${d}`, width) : `    ${d}`);
  });
  return out.join('\n');
}

export const history: Command = async (ctx) => {
  const [arg, ...rest] = ctx.args.positional;
  if (!arg || rest.length) throw new UsageError('history takes one NAMESPACE/SERVICE (or SERVICE in namespace default)');
  const [ns, svc] = arg.includes('/') ? arg.split('/', 2) : ['default', arg];
  if (!ns || !svc) throw new UsageError(`history: "${arg}" is not NAMESPACE/SERVICE`);
  const limit = ctx.args.flags.limit;
  if (limit !== undefined && !/^[1-9]\d*$/.test(limit)) throw new UsageError('--limit must be a positive number');
  const h = await ctx.client().get<{ items: HistoryEvent[] }>(`/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(svc)}/history`, { query: { limit } });
  return ctx.output ? formatObject(h, ctx.output) : formatHistory(`${ns}/${svc}`, h.items, ctx.width);
};

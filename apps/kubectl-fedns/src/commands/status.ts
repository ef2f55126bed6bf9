/** `kubectl fedns status`: the federation at a glance, from its FederationStatus object. */
import { type FederationStatusView, SERVICE_STATES } from '@fedns/model';
import { type Command, FED_API } from '../context.js';
import { formatObject, table } from '../output.js';
import { UsageError } from '../args.js';

/** Clusters by region and zone, then services by how their global name answers. */
export function formatStatus(fs: Pick<FederationStatusView, 'metadata' | 'spec' | 'status'>, width = 0): string {
  const s = fs.status;
  const byName = new Map(s.clusters.map((c) => [c.name, c]));
  const cc = s.clusterCounts;
  const out = [`Federation ${fs.metadata.name}, zone ${fs.spec.zone}, serial ${s.soaSerial}`, '', `Clusters: ${cc.total} (${cc.ready} ready, ${cc.reachable} reachable, ${cc.drained} with a drain)`];
  const rows: string[][] = [];
  for (const region of s.regions) {
    for (const zone of region.zones) {
      for (const name of zone.clusters) {
        const c = byName.get(name);
        if (!c) continue;
        const drained = c.drained ? 'cluster' : c.drainedZones.includes(zone.name) ? 'zone' : 'no';
        rows.push([region.name || '<unknown>', zone.name || '<unknown>', name, c.ready, c.reachable, drained, c.ready === 'True' ? '' : c.message]);
      }
    }
  }
  if (rows.length) out.push(table(['Region', 'Zone', 'Cluster', 'Ready', 'Reachable', 'Drained', 'Message'], rows, width));
  const sc = s.serviceCounts;
  out.push('', `Services: ${sc.total} (${SERVICE_STATES.map((st) => `${sc[st] ?? 0} ${st}`).join(', ')})`);
  if (s.problemServices.length) {
    out.push(table(['State', 'Service', 'Message'], s.problemServices.map((p) => [p.state, `${p.namespace}/${p.name}`, p.message]), width));
    const listed = s.problemServices.length;
    const notHealthy = (sc.total ?? 0) - (sc.HealthyShards ?? 0);
    if (notHealthy > listed) out.push(`(${notHealthy - listed} more not listed)`);
  } else if (sc.total) out.push('Every global name answers from healthy shards.');
  return out.join('\n');
}

export const status: Command = async (ctx) => {
  if (ctx.args.positional.length) throw new UsageError(`status takes no arguments (got ${ctx.args.positional.join(' ')})`);
  const list = await ctx.client().get<{ items: FederationStatusView[] }>(`${FED_API}/federationstatuses`);
  const fs = list.items[0];
  if (!fs) throw new Error('the API server has no FederationStatus');
  return ctx.output ? formatObject(fs, ctx.output) : formatStatus(fs, ctx.width);
};

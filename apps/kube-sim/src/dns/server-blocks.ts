/**
 * A parsed Corefile made runnable: each server block's zones (keys like `.:53`, `dns://x:53`,
 * `10.0.0.0/24`) and its plugin chain, in CoreDNS's plugin order. Only blocks on port 53 — the
 * cluster DNS Service's port, which the simulation serves on its loopback listener — take
 * queries. A query goes to the block with the longest zone that contains its name; inside,
 * plugins run in order until one answers. What CoreDNS refuses to load is refused here too:
 * an unknown directive, a zone defined twice on one port, a plugin option it does not know.
 */
import type { Directive, ServerBlock } from './corefile.js';
import { type DnsRequest, INERT, NOT_SIMULATED, type Next, PLUGIN_ORDER, type Plugin, type PluginOrder, pluginOrder, SetupError, type SetupContext } from './plugin.js';
import { setupCache } from './plugins/cache.js';
import { setupForward } from './plugins/forward.js';
import { setupKubernetes } from './plugins/kubernetes.js';
import { setupRewrite } from './plugins/rewrite.js';
import { canonical, inZone, type Message } from './wire.js';

export interface RunnableBlock {
  zones: string[];
  plugins: Plugin[];
  /** Directive names in the Corefile, for status. */
  directives: string[];
}

export interface RunnableConfig {
  blocks: RunnableBlock[];
  /** Whether the `reload` plugin is on in any block (CoreDNS then re-reads a changed Corefile). */
  reload: boolean;
  close(): void;
}

/** A server block key → its zone and port (53 unless given). CIDR keys become their reverse zone. */
export function parseKey(key: string): { zone: string; port: number } {
  let k = key.replace(/^dns:\/\//i, '');
  if (/^(tls|https|grpc|quic|https3):\/\//i.test(k)) return { zone: canonical(k.replace(/^\w+:\/\//, '').split(':')[0] ?? '.'), port: -1 };
  let port = 53;
  const m = /^(.*):(\d+)$/.exec(k);
  if (m && !k.includes('::')) {
    k = m[1] as string;
    port = Number(m[2]);
  }
  const cidr = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(8|16|24)$/.exec(k);
  if (cidr) {
    const octets = cidr.slice(1, 1 + Number(cidr[5]) / 8).reverse();
    return { zone: `${octets.join('.')}.in-addr.arpa.`, port };
  }
  return { zone: canonical(k || '.'), port };
}

function setupBlock(block: ServerBlock, ctx: Omit<SetupContext, 'zones'>, order: PluginOrder): RunnableBlock {
  const zones = block.keys.map((k) => parseKey(k)).filter((k) => k.port === 53).map((k) => k.zone);
  const sctx: SetupContext = { ...ctx, zones };
  const byName = new Map<string, Directive[]>();
  for (const d of block.directives) {
    if (NOT_SIMULATED.has(d.name)) throw new SetupError(d, 'plugin is not simulated by kube-sim');
    if (!(PLUGIN_ORDER as readonly string[]).includes(d.name)) throw new SetupError(d, `unknown directive '${d.name}'`);
    const list = byName.get(d.name) ?? [];
    list.push(d);
    byName.set(d.name, list);
  }
  const plugins: Plugin[] = [];
  for (const name of pluginOrder(order)) {
    const ds = byName.get(name);
    if (!ds) continue;
    if (INERT.has(name)) continue;
    if (name !== 'rewrite' && ds.length > 1) throw new SetupError(ds[1] as Directive, 'this plugin can only be used once per server block');
    const d = ds[0] as Directive;
    if (name === 'rewrite') plugins.push(setupRewrite(ds));
    else if (name === 'cache') plugins.push(setupCache(d, sctx));
    else if (name === 'kubernetes') plugins.push(setupKubernetes(d, sctx));
    else if (name === 'forward') plugins.push(setupForward(d, sctx));
  }
  return { zones, plugins, directives: block.directives.map((d) => d.name) };
}

/** Builds every block; throws (SetupError, or a duplicate zone) when CoreDNS would refuse the Corefile. */
export function buildConfig(blocks: ServerBlock[], ctx: Omit<SetupContext, 'zones'>, order: PluginOrder = 'current'): RunnableConfig {
  const seen = new Map<string, string>();
  for (const b of blocks) {
    for (const key of b.keys) {
      const { zone, port } = parseKey(key);
      const id = `${zone}:${port}`;
      if (seen.has(id)) throw new Error(`${b.file}:${b.line}: cannot serve dns://${id} - it is already defined`);
      seen.set(id, key);
    }
  }
  const runnable = blocks.map((b) => setupBlock(b, ctx, order)).filter((b) => b.zones.length > 0);
  return {
    blocks: runnable,
    reload: blocks.some((b) => b.directives.some((d) => d.name === 'reload')),
    close() {
      for (const b of runnable) for (const p of b.plugins) p.close?.();
    },
  };
}

/** The block whose zone is the longest one containing the query name (undefined: none serves it). */
export function selectBlock(config: RunnableConfig, qname: string): RunnableBlock | undefined {
  let best: RunnableBlock | undefined;
  let bestLen = -1;
  for (const b of config.blocks) {
    for (const z of b.zones) {
      if (inZone(qname, z) && z.length > bestLen) {
        best = b;
        bestLen = z.length;
      }
    }
  }
  return best;
}

/** Runs a block's chain; undefined when no plugin answered. */
export function runChain(block: RunnableBlock, req: DnsRequest): Promise<Message | undefined> {
  const step = (i: number): Next => async (r) => {
    const p = block.plugins[i];
    return p ? p.serve(r, step(i + 1)) : undefined;
  };
  return step(0)(req);
}

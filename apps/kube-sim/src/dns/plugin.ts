/**
 * The plugin chain of one server block, in CoreDNS's shape: each plugin gets the request and
 * the rest of the chain; it answers itself, or calls `next` and may change what comes back.
 * The order is CoreDNS's compiled-in order (plugin.cfg), never the order of the Corefile lines.
 */
import type { KubeObject, ObjectStore } from '@fedns/kubewire';
import type { Directive } from './corefile.js';
import type { Message } from './wire.js';

export interface DnsRequest {
  /** The request; plugins before `next` may rewrite its question (rewrite does). */
  msg: Message;
  proto: 'udp' | 'tcp';
  client: string;
}

/** A response, or undefined when no plugin wrote one (the server answers SERVFAIL). */
export type Next = (req: DnsRequest) => Promise<Message | undefined>;

export interface Plugin {
  readonly name: string;
  serve(req: DnsRequest, next: Next): Promise<Message | undefined>;
  close?(): void;
}

/** What a plugin's setup may use: the block's zones and the cluster it runs in. */
export interface SetupContext {
  /** The server block's zones, lower-case and absolute. */
  zones: string[];
  stores: { services: ObjectStore<KubeObject>; endpointSlices: ObjectStore<KubeObject>; namespaces: ObjectStore<KubeObject> };
  /** Where `forward . /etc/resolv.conf` goes: the node's resolvers (none in the simulation: SERVFAIL). */
  resolvConf: string[];
  log: (msg: string) => void;
}

export class SetupError extends Error {
  constructor(d: Directive, msg: string) {
    super(`${d.file}:${d.line}: ${d.name}: ${msg}`);
  }
}

/**
 * CoreDNS's plugin order (plugin.cfg), as far as kube-sim knows the plugins. Since 1.14.7
 * rewrite runs before cache (the cache then sees the rewritten name, and caches it only when
 * that name is in its zones); before, cache ran first and saw the name as asked.
 */
export const PLUGIN_ORDER = [
  'reload', 'bufsize', 'bind', 'debug', 'ready', 'health', 'prometheus', 'errors', 'log', 'loadbalance',
  'rewrite', 'cache', 'kubernetes', 'loop', 'forward',
] as const;

export type PluginOrder = 'current' | 'before-1.14.7';

export function pluginOrder(order: PluginOrder): readonly string[] {
  if (order === 'current') return PLUGIN_ORDER;
  return PLUGIN_ORDER.map((p) => (p === 'rewrite' ? 'cache' : p === 'cache' ? 'rewrite' : p));
}

/** Plugins that take part in configuration only (health endpoints, metrics, logging, reload, loop detection). */
export const INERT = new Set(['reload', 'bufsize', 'bind', 'debug', 'ready', 'health', 'prometheus', 'errors', 'log', 'loadbalance', 'loop']);

/** Stock CoreDNS plugins kube-sim does not simulate: a Corefile using one is refused, as a CoreDNS without it would. */
export const NOT_SIMULATED = new Set([
  'metadata', 'geoip', 'cancel', 'tls', 'timeouts', 'nsid', 'trace', 'pprof', 'dnstap', 'local', 'dns64', 'acl', 'any', 'chaos',
  'tsig', 'autopath', 'header', 'dnssec', 'minimal', 'template', 'transfer', 'hosts', 'route53', 'azure', 'clouddns',
  'k8s_external', 'file', 'auto', 'secondary', 'etcd', 'grpc', 'erratic', 'whoami', 'on', 'sign', 'view', 'nomad', 'root', 'multisocket',
]);

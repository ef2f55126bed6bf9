/**
 * The simulated cluster's DNS, a CoreDNS stand-in: it reads its Corefile from the cluster's own
 * `kube-system/coredns` ConfigMap (key `Corefile`, mounted at /etc/coredns) and the optional
 * `kube-system/coredns-custom` (mounted at /etc/coredns/custom, as AKS and k3s mount it),
 * serves port "53" on a loopback UDP+TCP port published as the annotation
 * `sim.fedns.io/dns-listen: HOST:PORT` on Service `kube-system/kube-dns`, and reloads when
 * either ConfigMap changes what the Corefile parses to and the `reload` plugin is on (CoreDNS
 * hashes the parsed Corefile, imports included). A Corefile that does not load leaves the
 * previous configuration serving, as CoreDNS does; the last error is in `status()`.
 */
import { createHash } from 'node:crypto';
import type { KubeObject, ObjectStore, StoreEvent } from '@fedns/kubewire';
import { CorefileError, type Directive, type FileSource, parseCorefile, type ServerBlock } from './corefile.js';
import { type DnsListener, listen } from './listener.js';
import type { PluginOrder } from './plugin.js';
import { buildConfig, type RunnableConfig } from './server-blocks.js';

export const DNS_LISTEN_ANNOTATION = 'sim.fedns.io/dns-listen';
export const COREFILE_PATH = '/etc/coredns/Corefile';
const CUSTOM_DIR = '/etc/coredns/custom';

export type CorefileFlavor = 'kubeadm' | 'custom-import';

/** kubeadm's default Corefile (cmd/kubeadm/app/phases/addons/dns/manifests.go): no imports. */
export function kubeadmCorefile(domain: string): string {
  return `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes ${domain} in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success ${domain}
       disable denial ${domain}
    }
    loop
    reload
    loadbalance
}
`;
}

/** A Corefile that imports the coredns-custom ConfigMap, as AKS ships it (`*.override` in the default block, `*.server` beside it). */
export function customImportCorefile(domain: string): string {
  return `.:53 {
    errors
    ready
    health {
      lameduck 5s
    }
    kubernetes ${domain} in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
      ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
    import custom/*.override
}
import custom/*.server
`;
}

export interface ClusterDnsOptions {
  configMaps: ObjectStore<KubeObject>;
  services: ObjectStore<KubeObject>;
  endpointSlices: ObjectStore<KubeObject>;
  namespaces: ObjectStore<KubeObject>;
  host: string;
  port: number;
  /** Delay between a ConfigMap change and the reload (CoreDNS: up to its reload interval plus the kubelet's sync). */
  reloadDelayMs: number;
  /** Resolvers behind `forward . /etc/resolv.conf` (default none: such queries get SERVFAIL). */
  resolvConf: string[];
  /** CoreDNS's plugin order: `current` (1.14.7 on: rewrite before cache) or `before-1.14.7`. */
  pluginOrder: PluginOrder;
  log: (msg: string) => void;
}

export interface ClusterDnsStatus {
  address: string;
  /** SHA-256 of the configuration in force (of its parsed form), and when it was loaded. */
  config?: { sha256: string; loadedAt: string; zones: string[][] };
  /** Why the last (re)load was refused, if it was. */
  lastError?: string;
  reloads: number;
}

const globToRe = (g: string) => new RegExp(`^${g.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);

const strip = (ds: Directive[]): unknown => ds.map((d) => [d.name, d.args, d.block ? strip(d.block) : null]);
const fingerprint = (blocks: ServerBlock[]) =>
  createHash('sha256')
    .update(JSON.stringify(blocks.map((b) => [b.keys, strip(b.directives)])))
    .digest('hex');

export class ClusterDns {
  private config: RunnableConfig | undefined;
  private hash: string | undefined;
  private loadedAt: string | undefined;
  private lastError: string | undefined;
  private reloads = 0;
  private timer: NodeJS.Timeout | undefined;
  private listener: DnsListener | undefined;
  private readonly unsub: () => void;

  constructor(private readonly opts: ClusterDnsOptions) {
    this.unsub = opts.configMaps.subscribe((e: StoreEvent<KubeObject>) => {
      const m = e.object.metadata;
      if (m.namespace !== 'kube-system' || (m.name !== 'coredns' && m.name !== 'coredns-custom')) return;
      // Without the reload plugin CoreDNS never reads a changed Corefile again (a pod restart would).
      if (this.config && !this.config.reload) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.load(), opts.reloadDelayMs);
    });
  }

  /** Files as the CoreDNS pod sees them: the coredns ConfigMap's keys in /etc/coredns, coredns-custom's in /etc/coredns/custom. */
  private readonly files: FileSource = (pattern) => {
    const i = pattern.lastIndexOf('/');
    const dir = pattern.slice(0, i).replace(/\/+$/, '').replace(/\/\.\//g, '/');
    const re = globToRe(pattern.slice(i + 1));
    const cm = dir === '/etc/coredns' ? 'coredns' : dir === CUSTOM_DIR ? 'coredns-custom' : undefined;
    if (!cm) return [];
    const data = (this.opts.configMaps.get('kube-system', cm)?.data ?? {}) as Record<string, string>;
    return Object.keys(data)
      .filter((k) => re.test(k))
      .sort()
      .map((k) => ({ path: `${dir}/${k}`, text: data[k] as string }));
  };

  /** (Re)loads the Corefile; keeps the running configuration when the new one fails. */
  load(): void {
    const text = (this.opts.configMaps.get('kube-system', 'coredns')?.data as Record<string, string> | undefined)?.Corefile;
    try {
      if (text === undefined) throw new CorefileError('ConfigMap kube-system/coredns has no Corefile');
      const blocks = parseCorefile(text, COREFILE_PATH, this.files);
      const hash = fingerprint(blocks);
      if (hash === this.hash) return;
      const next = buildConfig(blocks, { stores: { services: this.opts.services, endpointSlices: this.opts.endpointSlices, namespaces: this.opts.namespaces }, resolvConf: this.opts.resolvConf, log: this.opts.log }, this.opts.pluginOrder);
      this.config?.close();
      this.config = next;
      this.hash = hash;
      this.loadedAt = new Date().toISOString();
      this.lastError = undefined;
      this.reloads++;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.opts.log(`cluster DNS: Corefile not loaded (${this.config ? 'keeping the running one' : 'nothing to serve'}): ${this.lastError}`);
    }
  }

  async start(): Promise<string> {
    this.load();
    this.listener = await listen(this.opts.host, this.opts.port, () => this.config);
    return this.address;
  }

  get address(): string {
    const l = this.listener;
    if (!l) return '';
    return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
  }

  status(): ClusterDnsStatus {
    return {
      address: this.address,
      ...(this.hash && this.loadedAt ? { config: { sha256: this.hash, loadedAt: this.loadedAt, zones: this.config?.blocks.map((b) => b.zones) ?? [] } } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      reloads: this.reloads,
    };
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.unsub();
    this.config?.close();
    await this.listener?.close();
  }
}

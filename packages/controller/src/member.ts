import * as k8s from '@kubernetes/client-node';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export type MemberEvent =
  | { kind: 'service' | 'endpointslice'; namespace: string; name: string }
  | { kind: 'nodes' }
  /** The member's CoreDNS configuration (kube-system/coredns or coredns-custom) or a namespace changed. */
  | { kind: 'coredns' }
  /** An informer lost or regained its watch. */
  | { kind: 'connection' }
  /** Every informer has listed once: the caches now say what the member holds. */
  | { kind: 'synced' };

export interface MemberClusterOptions {
  name: string;
  kubeconfig: string;
  context?: string;
  /** Talk to this API server instead of the kubeconfig's (a Cluster's spec.server edited after join). */
  server?: string;
  onEvent: (cluster: string, ev: MemberEvent) => void;
  logger?: { warn: (o: object, m?: string) => void; debug: (o: object, m?: string) => void };
  /** Longest back-off between informer restarts. */
  maxBackoffMs?: number;
}

type Obj = k8s.KubernetesObject;

/** The informers whose lists make a member synced (its caches trusted) and whose watches make it connected. */
const CORE_INFORMERS = ['nodes', 'services', 'endpointslices'];
/** The first wait before restarting a failed informer. */
const INITIAL_BACKOFF_MS = 250;

/**
 * Loads a kubeconfig for client-node. client-node (1.x and 2.x) refuses plain-HTTP
 * servers unless TLS verification is marked skipped — there is no TLS to
 * verify on such a server, so fedns marks it (https servers are untouched).
 */
export function loadKubeconfig(text: string, context?: string, server?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(text);
  if (context) kc.setCurrentContext(context);
  const current = kc.getCurrentCluster()?.name;
  const serverOf = (c: k8s.Cluster) => (server && c.name === current ? server : c.server);
  if (kc.clusters.some((c) => serverOf(c) !== c.server || (c.server.startsWith('http://') && !c.skipTLSVerify))) {
    const fixed = new k8s.KubeConfig();
    fixed.loadFromOptions({
      clusters: kc.clusters.map((c) => {
        const s = serverOf(c);
        return { ...c, server: s, ...(s.startsWith('http://') ? { skipTLSVerify: true } : {}) };
      }),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    return fixed;
  }
  return kc;
}

/** `code` of a client-node ApiException, or of a plain error. */
export const apiCode = (err: unknown): number | undefined => (err as { code?: number }).code;

/**
 * One member cluster through @kubernetes/client-node: informers (list + watch,
 * relisting on 410, restarted with back-off on errors) for Services,
 * EndpointSlices and Nodes, and the typed clients the propagation loop uses.
 * Every change is reported as a key, never as a delta (level-triggered).
 *
 * client-node 2.x re-watches by itself only when a watch ends cleanly (server
 * closed it: again at once, then after 1 s doubling to 30 s while no event
 * arrives) or after its 30 s watch inactivity timeout. Any error (a failed
 * list, a reset connection, an HTTP error status) still ends in an `error`
 * event with the informer stopped for good, so the restarts below stay
 * (test/kube-sim-client.test.ts checks recovery after an outage).
 */
export class MemberCluster {
  readonly name: string;
  readonly kc: k8s.KubeConfig;
  readonly core: k8s.CoreV1Api;
  readonly services: k8s.Informer<k8s.V1Service> & k8s.ObjectCache<k8s.V1Service>;
  readonly slices: k8s.Informer<k8s.V1EndpointSlice> & k8s.ObjectCache<k8s.V1EndpointSlice>;
  readonly nodes: k8s.Informer<k8s.V1Node> & k8s.ObjectCache<k8s.V1Node>;
  /**
   * kube-system ConfigMaps and namespaces, for the CoreDNS block (coredns.ts). They only queue
   * that reconciler: a member whose credentials may not list them is still synced without them.
   */
  readonly dnsInformers: (k8s.Informer<k8s.V1ConfigMap> | k8s.Informer<k8s.V1Namespace>)[];
  /** Informers currently not connected (listed and watching). */
  private broken = new Set<string>();
  /** Informers that have listed at least once since start(). */
  private readonly listed = new Set<string>();
  /** Errors per informer, to tell whether a start() listed. */
  private readonly errors = new Map<string, number>();
  /** The wait before an informer's next restart, doubling while restarts fail. */
  private readonly backoffMs = new Map<string, number>();
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: MemberClusterOptions) {
    this.name = opts.name;
    this.kc = loadKubeconfig(opts.kubeconfig, opts.context, opts.server);
    this.core = this.kc.makeApiClient(k8s.CoreV1Api);
    const discovery = this.kc.makeApiClient(k8s.DiscoveryV1Api);
    this.services = k8s.makeInformer(this.kc, '/api/v1/services', () => this.core.listServiceForAllNamespaces());
    this.slices = k8s.makeInformer(this.kc, '/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces());
    this.nodes = k8s.makeInformer(this.kc, '/api/v1/nodes', () => this.core.listNode());
    this.wire('services', this.services, (o) => this.emit({ kind: 'service', namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '' }));
    this.wire('endpointslices', this.slices, (o) => {
      const svc = o.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (svc) this.emit({ kind: 'endpointslice', namespace: o.metadata?.namespace ?? '', name: svc });
    });
    this.wire('nodes', this.nodes, () => this.emit({ kind: 'nodes' }));
    const configMaps = k8s.makeInformer(this.kc, '/api/v1/namespaces/kube-system/configmaps', () => this.core.listNamespacedConfigMap({ namespace: 'kube-system' }));
    const namespaces = k8s.makeInformer(this.kc, '/api/v1/namespaces', () => this.core.listNamespace());
    this.wire('configmaps', configMaps, (o) => {
      if (o.metadata?.name === 'coredns' || o.metadata?.name === 'coredns-custom') this.emit({ kind: 'coredns' });
    }, false);
    this.wire('namespaces', namespaces, () => this.emit({ kind: 'coredns' }), false);
    this.dnsInformers = [configMaps, namespaces];
  }

  private emit(ev: MemberEvent): void {
    if (!this.stopped) this.opts.onEvent(this.name, ev);
  }

  /** `core`: the informer counts for sync and connection state (the DNS ones do not). */
  private wire<T extends Obj>(what: string, inf: k8s.Informer<T>, onObject: (o: T) => void, core = true): void {
    inf.on('add', onObject);
    inf.on('update', onObject);
    inf.on('delete', onObject);
    // No 'connect' handler: client-node emits it before each list/watch attempt, not after one
    // succeeded, so during an outage every retry would look connected. A restart that succeeded is
    // seen in startInformer.
    inf.on('error', (err) => {
      this.errors.set(what, (this.errors.get(what) ?? 0) + 1);
      if (this.stopped) return;
      const wasHealthy = this.broken.size === 0;
      if (core) this.broken.add(what);
      if (core && wasHealthy) this.emit({ kind: 'connection' });
      this.opts.logger?.debug({ cluster: this.name, what, err: String(err) }, 'informer failed; restarting');
      const backoff = this.backoffMs.get(what) ?? INITIAL_BACKOFF_MS;
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!this.stopped) void this.startInformer(what, inf);
      }, backoff);
      this.timers.add(t);
      this.backoffMs.set(what, Math.min(backoff * 2, this.opts.maxBackoffMs ?? 5000));
    });
  }

  /** Starts an informer; it has listed once it resolves (it rejects when the list fails; the error handler retries). */
  private async startInformer(what: string, inf: k8s.Informer<Obj>): Promise<void> {
    // client-node reports a failed list through 'error' and still resolves start(): count errors to tell.
    const errorsBefore = this.errors.get(what) ?? 0;
    try {
      await inf.start();
    } catch {
      if (CORE_INFORMERS.includes(what)) this.broken.add(what);
      return;
    }
    if ((this.errors.get(what) ?? 0) !== errorsBefore) return;
    // Listed (when it had to) and watching again.
    this.backoffMs.delete(what);
    if (CORE_INFORMERS.includes(what) && this.broken.delete(what)) this.emit({ kind: 'connection' });
    if (this.stopped || this.listed.has(what) || !CORE_INFORMERS.includes(what)) return;
    this.listed.add(what);
    if (this.listed.size === CORE_INFORMERS.length) this.emit({ kind: 'synced' });
  }

  async start(): Promise<void> {
    this.stopped = false;
    for (const [what, inf] of [
      ['nodes', this.nodes],
      ['services', this.services],
      ['endpointslices', this.slices],
    ] as const) {
      await this.startInformer(what, inf as k8s.Informer<Obj>);
    }
    const [configMaps, namespaces] = this.dnsInformers;
    void this.startInformer('configmaps', configMaps as k8s.Informer<Obj>);
    void this.startInformer('namespaces', namespaces as k8s.Informer<Obj>);
  }

  /** True once every informer has listed (since this client started): its caches reflect the member. */
  get hasSynced(): boolean {
    return this.listed.size === CORE_INFORMERS.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([this.services.stop(), this.slices.stop(), this.nodes.stop(), ...this.dnsInformers.map((i) => i.stop())].map((p) => Promise.resolve(p).catch(() => undefined)));
  }

  /** True while every informer is listed and watching. */
  get connected(): boolean {
    return this.broken.size === 0 && this.hasSynced;
  }

  /** GET /readyz on the member API server, bounded by `timeoutMs`. */
  async probe(timeoutMs: number): Promise<boolean> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) return false;
    const init: RequestInit & { headers: Record<string, string> } = { headers: {}, signal: AbortSignal.timeout(timeoutMs) };
    const user = this.kc.getCurrentUser();
    if (user?.token) init.headers.authorization = `Bearer ${user.token}`;
    try {
      const res = await fetch(`${cluster.server.replace(/\/$/, '')}/readyz`, init);
      return res.ok;
    } catch {
      return false;
    }
  }

  getService(namespace: string, name: string): k8s.V1Service | undefined {
    return this.services.get(name, namespace);
  }

  slicesOf(namespace: string, service: string): k8s.V1EndpointSlice[] {
    return this.slices.list(namespace).filter((s) => s.metadata?.labels?.[SERVICE_NAME_LABEL] === service);
  }
}

/** Ready endpoint addresses of a service across its EndpointSlices (conditions.ready unset counts as ready, as in Kubernetes). */
export function readyEndpointAddresses(slices: k8s.V1EndpointSlice[]): string[] {
  const seen = new Set<string>();
  for (const s of slices) {
    for (const ep of s.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      for (const a of ep.addresses) seen.add(a);
    }
  }
  return [...seen];
}

/** How many ready endpoints a service has across its EndpointSlices. */
export function countReadyEndpoints(slices: k8s.V1EndpointSlice[]): number {
  return readyEndpointAddresses(slices).length;
}

/** A member Service's cluster IPs (`spec.clusterIPs`, else `spec.clusterIP`), and whether it is headless. */
export function clusterIPsOf(svc: k8s.V1Service | undefined): { clusterIPs: string[]; headless: boolean } {
  const spec = svc?.spec;
  const headless = spec?.clusterIP === 'None';
  const ips = (spec?.clusterIPs?.length ? spec.clusterIPs : spec?.clusterIP ? [spec.clusterIP] : []).filter((ip) => ip && ip !== 'None');
  return { clusterIPs: headless ? [] : ips, headless };
}

/** IP and hostname ingress of a member Service's load balancer. */
export function ingressOf(svc: k8s.V1Service | undefined): { ips: string[]; hostnames: string[] } {
  const ingress = svc?.status?.loadBalancer?.ingress ?? [];
  return {
    ips: ingress.map((i) => i.ip).filter((x): x is string => Boolean(x)),
    hostnames: ingress.map((i) => i.hostname).filter((x): x is string => Boolean(x)),
  };
}

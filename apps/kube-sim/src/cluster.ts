/** One simulated member cluster: a Fastify server speaking the Kubernetes API, plus its control loops. */
import type { Socket } from 'node:net';
import {
  errors,
  type KubeObject,
  KubeApiServer,
  matchLabels,
  ObjectStore,
  parseLabelSelector,
  RevisionClock,
  rfc3339,
  statusError,
} from '@fedns/kubewire';
import Fastify, { type FastifyInstance } from 'fastify';
import { EndpointsController, EventRecorder, Kubelet, type LbIngressMode, LoadBalancerController } from './controllers.js';
import { ClusterDns, type ClusterDnsStatus, type CorefileFlavor, customImportCorefile, DNS_LISTEN_ANNOTATION, kubeadmCorefile } from './dns/cluster-dns.js';
import { IpPool, intToIp, parseCidr } from './ipam.js';
import { configMapHooks, defaultPod, genericHooks, namespaceHooks, PortAllocator, podHooks, secretHooks, serviceHooks, validatePod } from './resources.js';
import {
  configMapSchema,
  endpointSliceSchema,
  endpointsSchema,
  eventSchema,
  namespaceSchema,
  nodeSchema,
  podSchema,
  secretSchema,
  serviceAccountSchema,
  serviceSchema,
} from './schemas.js';

export interface SimClusterOptions {
  /** Cluster name (default `kube-sim`). */
  name?: string;
  /** topology.kubernetes.io/region of every node (default `region-1`). */
  region?: string;
  /** Zones; nodesPerZone nodes are created in each (default [`<region>-a`]). */
  zones?: string[];
  nodesPerZone?: number;
  /** Load-balancer address pool (default 192.0.2.0/28). */
  lbPool?: string;
  /** Delay before a new LoadBalancer service gets its ingress (default 50 ms). */
  lbDelayMs?: number;
  /** Hand out `ip` (default), `hostname` or `both` ingress entries. Per service: annotation kube-sim.fedns.io/lb-ingress. */
  lbIngress?: LbIngressMode;
  /** Hostnames are `<a-b-c-d>.<suffix>` (default `<name>.lb.fedns.test`). */
  lbHostnameSuffix?: string;
  /** Service ClusterIP range (default 10.96.0.0/16). */
  serviceCidr?: string;
  /** Pod network; node i gets the i-th /24 (default 10.244.0.0/16). */
  podCidr?: string;
  /** Node InternalIP range (default 10.128.0.0/16). */
  nodeCidr?: string;
  /** Pod start delay: binding → Running/Ready (default 200 ms). */
  kubeletDelayMs?: number;
  /** Delay before a new pod is bound to a node (default 0). */
  scheduleDelayMs?: number;
  /** `host:port` (default 127.0.0.1:0). `host` / `port` override. */
  listen?: string;
  host?: string;
  port?: number;
  /** pino level for the Fastify logger; default `silent`. */
  logLevel?: string;
  /** If set, API requests must carry `Authorization: Bearer <token>` (else 401). Default: any token or none. */
  token?: string;
  /** Reported by /version and the nodes (default v1.32.0). */
  kubernetesVersion?: string;
  /** Watch history kept per kind (default 1000). */
  historySize?: number;
  /** BOOKMARK interval for watches with allowWatchBookmarks (default 30000 ms). */
  bookmarkIntervalMs?: number;
  /** Upper bound of a watch without timeoutSeconds (default 1800 s). */
  maxWatchSeconds?: number;
  /** The cluster DNS (a CoreDNS stand-in); false: none. */
  dns?: false | SimDnsOptions;
}

export interface SimDnsOptions {
  /** Loopback port for UDP and TCP (default 0: any free one), published on Service kube-system/kube-dns. */
  port?: number;
  /** `kubeadm` (default: kubeadm's Corefile, no imports) or `custom-import` (AKS-style: imports coredns-custom `*.server` and `*.override`). */
  corefile?: CorefileFlavor;
  /** The cluster domain (default cluster.local). */
  clusterDomain?: string;
  /** Delay from a ConfigMap change to the reload (default 100 ms; a real cluster takes up to a minute or two). */
  reloadDelayMs?: number;
  /** What `forward . /etc/resolv.conf` forwards to (default nothing: SERVFAIL). */
  resolvConf?: string[];
  /** CoreDNS's plugin order: `current` (default; 1.14.7 on, rewrite before cache) or `before-1.14.7` (cache first). */
  pluginOrder?: 'current' | 'before-1.14.7';
}

export interface FaultState {
  /** API requests (everything outside /sim) get no answer. */
  unreachable: boolean;
  /** How unreachable behaves: `reset` destroys the connection (default), `hang` never answers. */
  unreachableMode: 'reset' | 'hang';
  /** Added latency for API requests, in ms. */
  latencyMs: number;
  /** /readyz, /livez, /healthz answer 500. */
  notReady: boolean;
  /** API requests answer this HTTP status (e.g. 500, 503, 429) as a Status; 0 = off. */
  errorCode: number;
  /** Only writes (POST, PUT, PATCH, DELETE) answer this status, e.g. 403 for credentials that may only read; 0 = off. */
  writeErrorCode: number;
  /**
   * A concurrent writer: the next N replaces (PUT) of an object, keyed `resource/namespace/name`
   * (e.g. `configmaps/kube-system/coredns`), find it changed just before they land — the sim bumps
   * its resourceVersion (annotation sim.fedns.io/interleaved-write) — so an update carrying the
   * resourceVersion it read gets 409 Conflict, as in a real race. Counts go down as they fire.
   */
  interleaveWrites: Record<string, number>;
}

const NO_FAULTS: FaultState = { unreachable: false, unreachableMode: 'reset', latencyMs: 0, notReady: false, errorCode: 0, writeErrorCode: 0, interleaveWrites: {} };
export const INTERLEAVED_WRITE_ANNOTATION = 'sim.fedns.io/interleaved-write';
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const reasonOf = (code: number) => (code === 429 ? 'TooManyRequests' : code === 403 ? 'Forbidden' : code >= 500 ? 'InternalError' : 'BadRequest');

export interface PodTarget {
  namespace?: string;
  /** label selector, e.g. `run=nginx` (all pods of the namespace when both selector and name are absent) */
  selector?: string;
  name?: string;
}

export interface RunPodsOptions {
  namespace?: string;
  /** Pod name; with count > 1, `<name>-<i>`. Default: `<labels.run|app|pod>-<random>`. */
  name?: string;
  labels?: Record<string, string>;
  count?: number;
  /** Running and Ready at once (default true); false → Running but NotReady. */
  ready?: boolean;
  image?: string;
  containerPort?: number;
  /** Bind to this node (default: scheduler's choice). */
  nodeName?: string;
}

/** Fault injection on a running sim (also over HTTP under /sim). */
export interface SimFaults {
  readonly state: FaultState;
  set(partial: Partial<FaultState>): FaultState;
  clear(): FaultState;
  /** Shorthand for set({ unreachable }). */
  unreachable(on?: boolean, mode?: 'reset' | 'hang'): void;
  latency(ms: number): void;
  /** Closes every open watch stream; returns how many. `destroy` resets the connections instead of ending them. */
  dropWatches(opts?: { destroy?: boolean }): number;
  /** Marks matching pods NotReady (as a failing readiness probe). Returns their names. */
  failPods(target: PodTarget): string[];
  recoverPods(target: PodTarget): string[];
  /** Node readiness (all nodes of a zone, or one node by name); pods on it follow. Returns node names. */
  setNodeReady(target: { name?: string; zone?: string }, ready: boolean): string[];
  /** Compacts every store's watch history: watches from older resourceVersions get 410 Expired. */
  compact(): void;
  /** Stop/resume the load-balancer controller handing out addresses. */
  freezeLoadBalancers(frozen: boolean): void;
}

export interface SimStores {
  namespaces: ObjectStore;
  nodes: ObjectStore;
  services: ObjectStore;
  pods: ObjectStore;
  endpointSlices: ObjectStore;
  endpoints: ObjectStore;
  configMaps: ObjectStore;
  events: ObjectStore;
  serviceAccounts: ObjectStore;
  secrets: ObjectStore;
}

export interface SimCluster {
  readonly name: string;
  readonly region: string;
  readonly zones: string[];
  readonly lbPool: string;
  readonly host: string;
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly api: KubeApiServer;
  readonly clock: RevisionClock;
  readonly stores: SimStores;
  readonly faults: SimFaults;
  /** Creates pods directly (bypassing the scheduler delays). Returns the created pods. */
  runPods(opts?: RunPodsOptions): KubeObject[];
  /** hostname → IP of the hostname ingresses handed out (for test resolvers). */
  lbHostnames(): Map<string, string>;
  /** `ns/name` → LB address. */
  lbAssignments(): Map<string, string>;
  /** `127.0.0.1:PORT` of the cluster DNS (also the annotation sim.fedns.io/dns-listen on kube-system/kube-dns); '' without one. */
  readonly dnsAddress: string;
  dnsStatus(): ClusterDnsStatus | undefined;
  close(): Promise<void>;
}

function parseListen(opts: SimClusterOptions): { host: string; port: number } {
  let host = '127.0.0.1';
  let port = 0;
  if (opts.listen) {
    const i = opts.listen.lastIndexOf(':');
    if (i < 0) throw new Error(`invalid listen address "${opts.listen}" (want host:port)`);
    host = opts.listen.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1';
    port = Number(opts.listen.slice(i + 1));
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port in listen address "${opts.listen}"`);
  }
  return { host: opts.host ?? host, port: opts.port ?? port };
}

/** Starts a simulated cluster and resolves once it listens. */
export async function startSimCluster(options: SimClusterOptions = {}): Promise<SimCluster> {
  const name = options.name ?? 'kube-sim';
  const region = options.region ?? 'region-1';
  const zones = options.zones?.length ? options.zones : [`${region}-a`];
  const nodesPerZone = options.nodesPerZone ?? 3;
  const lbPool = options.lbPool ?? '192.0.2.0/28';
  const kubeVersion = options.kubernetesVersion ?? 'v1.32.0';
  const { host, port } = parseListen(options);
  const level = options.logLevel ?? 'silent';

  const app = Fastify({ logger: level === 'silent' ? false : { level }, forceCloseConnections: true, bodyLimit: 8 * 1024 * 1024 });
  const clock = new RevisionClock();
  const mk = (apiVersion: string, kind: string, resource: string, namespaced: boolean, group?: string) =>
    new ObjectStore({ apiVersion, kind, resource, namespaced, group, clock, historySize: options.historySize, bookmarkIntervalMs: options.bookmarkIntervalMs });
  const stores: SimStores = {
    namespaces: mk('v1', 'Namespace', 'namespaces', false),
    nodes: mk('v1', 'Node', 'nodes', false),
    services: mk('v1', 'Service', 'services', true),
    pods: mk('v1', 'Pod', 'pods', true),
    endpointSlices: mk('discovery.k8s.io/v1', 'EndpointSlice', 'endpointslices', true, 'discovery.k8s.io'),
    endpoints: mk('v1', 'Endpoints', 'endpoints', true),
    configMaps: mk('v1', 'ConfigMap', 'configmaps', true),
    events: mk('v1', 'Event', 'events', true),
    serviceAccounts: mk('v1', 'ServiceAccount', 'serviceaccounts', true),
    secrets: mk('v1', 'Secret', 'secrets', true),
  };
  const namespacedStores = [stores.services, stores.pods, stores.endpointSlices, stores.endpoints, stores.configMaps, stores.events, stores.serviceAccounts, stores.secrets];

  // ---- faults (registered first so they see every request) -------------------------------------
  let faultState: FaultState = { ...NO_FAULTS };
  const hung = new Set<Socket>();
  const releaseHung = () => {
    for (const s of hung) s.destroy();
    hung.clear();
  };
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/sim' || req.url.startsWith('/sim/')) return;
    const f = faultState;
    if (f.unreachable) {
      reply.hijack();
      const sock = req.raw.socket;
      if (f.unreachableMode === 'hang') {
        hung.add(sock);
        sock.once('close', () => hung.delete(sock));
      } else sock.destroy();
      return;
    }
    if (f.latencyMs > 0) await new Promise((r) => setTimeout(r, f.latencyMs));
    if (f.errorCode >= 400) throw statusError(f.errorCode, reasonOf(f.errorCode), `kube-sim: injected error ${f.errorCode}`);
    if (f.writeErrorCode >= 400 && WRITE_METHODS.has(req.method)) throw statusError(f.writeErrorCode, reasonOf(f.writeErrorCode), `kube-sim: injected error ${f.writeErrorCode} on writes`);
    if (req.method === 'PUT' && Object.keys(f.interleaveWrites).length) interleave(req.url);
  });

  /** The interleaveWrites fault: another writer's change lands first. */
  const interleave = (url: string) => {
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/([^/?]+)\/([^/?]+)(?:\?|$)/.exec(url);
    if (!m) return;
    const [, ns, resource, name] = m as unknown as [string, string, string, string];
    const key = `${resource}/${ns}/${name}`;
    const left = faultState.interleaveWrites[key] ?? 0;
    const store = (stores as unknown as Record<string, ObjectStore | undefined>)[resource === 'configmaps' ? 'configMaps' : resource];
    if (left <= 0 || !store?.get(ns, name)) return;
    faultState = { ...faultState, interleaveWrites: { ...faultState.interleaveWrites, [key]: left - 1 } };
    store.mutate(ns, name, (d) => {
      const n = Number(d.metadata.annotations?.[INTERLEAVED_WRITE_ANNOTATION] ?? '0') + 1;
      d.metadata.annotations = { ...(d.metadata.annotations ?? {}), [INTERLEAVED_WRITE_ANNOTATION]: String(n) };
    });
  };

  // ---- API ------------------------------------------------------------------------------------------
  const [major, minor] = kubeVersion.replace(/^v/, '').split('.');
  const api = new KubeApiServer(app, {
    version: { major: major ?? '1', minor: minor ?? '32', gitVersion: kubeVersion },
    namespaceExists: (ns) => stores.namespaces.get(undefined, ns) !== undefined,
    maxWatchSeconds: options.maxWatchSeconds,
    bookmarkIntervalMs: options.bookmarkIntervalMs,
    authenticate: options.token
      ? (req) => {
          const auth = req.headers.authorization ?? '';
          if (auth !== `Bearer ${options.token}`) throw errors.unauthorized();
        }
      : undefined,
  });

  const recorder = new EventRecorder(stores.events);
  const serviceCidr = options.serviceCidr ?? '10.96.0.0/16';
  const serviceIPs = new IpPool(serviceCidr);
  const nodePorts = new PortAllocator();
  const svcHooks = serviceHooks(serviceIPs, nodePorts);
  const deleteNamespaceContents = (ns: string) => {
    for (const s of namespacedStores) for (const o of s.list({ namespace: ns }).items) s.delete(ns, o.metadata.name as string);
  };

  api.addResource({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'], store: stores.namespaces, schema: namespaceSchema, statusSubresource: true, hooks: namespaceHooks(deleteNamespaceContents), nameValidation: 'label' });
  api.addResource({ group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false, shortNames: ['no'], store: stores.nodes, schema: nodeSchema, statusSubresource: true, hooks: genericHooks() });
  api.addResource({ group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true, shortNames: ['svc'], categories: ['all'], store: stores.services, schema: serviceSchema, statusSubresource: true, hooks: svcHooks, nameValidation: 'dns1035' });
  api.addResource({
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    store: stores.pods,
    statusSubresource: true,
    schema: podSchema,
    hooks: podHooks(),
    subresources: {
      log: {
        handler: ({ object, query }) => {
          const containers = (object.spec?.containers ?? []) as { name: string; image: string }[];
          const c = containers.find((x) => x.name === query.container) ?? containers[0];
          return `kube-sim: simulated log of container ${c?.name ?? '?'} (${c?.image ?? '?'}) in pod ${object.metadata.namespace}/${object.metadata.name} on ${object.spec?.nodeName ?? '<unscheduled>'}\n`;
        },
      },
    },
  });
  api.addResource({ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true, store: stores.endpointSlices, schema: endpointSliceSchema, hooks: genericHooks() });
  api.addResource({ group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', singular: 'endpoints', namespaced: true, shortNames: ['ep'], store: stores.endpoints, schema: endpointsSchema, hooks: genericHooks() });
  api.addResource({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'], store: stores.configMaps, schema: configMapSchema, hooks: configMapHooks() });
  api.addResource({ group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'], store: stores.events, schema: eventSchema, nameValidation: 'none' });
  api.addResource({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true, store: stores.secrets, schema: secretSchema, hooks: secretHooks() });
  api.addResource({ group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'], store: stores.serviceAccounts, schema: serviceAccountSchema, hooks: genericHooks() });

  // ---- controllers ------------------------------------------------------------------------------
  const podCidr = options.podCidr ?? '10.244.0.0/16';
  const kubelet = new Kubelet(stores.pods, stores.nodes, recorder, {
    kubeletDelayMs: options.kubeletDelayMs ?? 200,
    scheduleDelayMs: options.scheduleDelayMs ?? 0,
    podCidr,
  });
  const lb = new LoadBalancerController(stores.services, recorder, {
    pool: lbPool,
    delayMs: options.lbDelayMs ?? 50,
    ingress: options.lbIngress ?? 'ip',
    hostnameSuffix: options.lbHostnameSuffix ?? `${name}.lb.fedns.test`,
    clusterName: name,
  });
  const endpointsController = new EndpointsController(stores.services, stores.pods, stores.endpointSlices, stores.endpoints, stores.nodes);
  // Every namespace gets a default ServiceAccount, like the serviceaccount controller does.
  const unsubNs = stores.namespaces.subscribe((e) => {
    if (e.type === 'ADDED' && !stores.serviceAccounts.get(e.object.metadata.name, 'default'))
      stores.serviceAccounts.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: e.object.metadata.name } });
  });

  // ---- initial state ------------------------------------------------------------------------------
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    stores.namespaces.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }
  const nodeCidr = parseCidr(options.nodeCidr ?? '10.128.0.0/16');
  let nodeIndex = 0;
  const now = rfc3339();
  for (const zone of zones) {
    for (let i = 0; i < nodesPerZone; i++) {
      const nodeName = `${name}-${zone}-node-${i}`.toLowerCase();
      const internalIP = intToIp(nodeCidr.base + 10 + nodeIndex);
      stores.nodes.create({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: nodeName,
          labels: {
            'beta.kubernetes.io/arch': 'amd64',
            'beta.kubernetes.io/os': 'linux',
            'beta.kubernetes.io/instance-type': 'e2-standard-4',
            'kubernetes.io/arch': 'amd64',
            'kubernetes.io/hostname': nodeName,
            'kubernetes.io/os': 'linux',
            'node.kubernetes.io/instance-type': 'e2-standard-4',
            'topology.kubernetes.io/region': region,
            'topology.kubernetes.io/zone': zone,
            'failure-domain.beta.kubernetes.io/region': region,
            'failure-domain.beta.kubernetes.io/zone': zone,
          },
          annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
        },
        spec: { podCIDR: kubelet.podCidrFor(nodeIndex), podCIDRs: [kubelet.podCidrFor(nodeIndex)], providerID: `kube-sim://${name}/${zone}/${nodeName}` },
        status: {
          capacity: { cpu: '4', 'ephemeral-storage': '98831908Ki', memory: '16393220Ki', pods: '110' },
          allocatable: { cpu: '3920m', 'ephemeral-storage': '47060071478', memory: '13653508Ki', pods: '110' },
          conditions: [
            { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
            { type: 'DiskPressure', status: 'False', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
            { type: 'PIDPressure', status: 'False', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
            { type: 'Ready', status: 'True', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'KubeletReady', message: 'kubelet is posting ready status' },
          ],
          addresses: [
            { type: 'InternalIP', address: internalIP },
            { type: 'Hostname', address: nodeName },
          ],
          daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
          nodeInfo: {
            machineID: `${nodeIndex}`.padStart(32, '0'),
            systemUUID: `${nodeIndex}`.padStart(32, '0'),
            bootID: `${nodeIndex}`.padStart(32, '0'),
            kernelVersion: '6.1.0-kube-sim',
            osImage: 'kube-sim (simulated)',
            containerRuntimeVersion: 'containerd://1.7.24',
            kubeletVersion: kubeVersion,
            kubeProxyVersion: kubeVersion,
            operatingSystem: 'linux',
            architecture: 'amd64',
          },
        },
      });
      nodeIndex++;
    }
  }
  // The `kubernetes` service every cluster has.
  const kubernetesIP = intToIp(parseCidr(serviceCidr).base + 1);
  serviceIPs.allocateSpecific(kubernetesIP, 'default/kubernetes');
  stores.services.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: kubernetesIP,
      clusterIPs: [kubernetesIP],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
    },
    status: { loadBalancer: {} },
  });

  // ---- cluster DNS: the coredns ConfigMap, the kube-dns Service, the server -------------------------
  let clusterDns: ClusterDns | undefined;
  if (options.dns !== false) {
    const d = options.dns ?? {};
    const domain = (d.clusterDomain ?? 'cluster.local').replace(/\.$/, '');
    const flavor = d.corefile ?? 'kubeadm';
    stores.configMaps.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'coredns', namespace: 'kube-system' },
      data: { Corefile: flavor === 'kubeadm' ? kubeadmCorefile(domain) : customImportCorefile(domain) },
    });
    if (flavor === 'custom-import') stores.configMaps.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns-custom', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } } });
    clusterDns = new ClusterDns({
      configMaps: stores.configMaps,
      services: stores.services,
      endpointSlices: stores.endpointSlices,
      namespaces: stores.namespaces,
      host,
      port: d.port ?? 0,
      reloadDelayMs: d.reloadDelayMs ?? 100,
      resolvConf: d.resolvConf ?? [],
      pluginOrder: d.pluginOrder ?? 'current',
      log: (m) => app.log.warn(m),
    });
    const dnsAddress = await clusterDns.start();
    const dnsIP = intToIp(parseCidr(serviceCidr).base + 10);
    serviceIPs.allocateSpecific(dnsIP, 'kube-system/kube-dns');
    stores.services.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kube-dns',
        namespace: 'kube-system',
        labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
        annotations: { [DNS_LISTEN_ANNOTATION]: dnsAddress, 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
      },
      spec: {
        type: 'ClusterIP',
        clusterIP: dnsIP,
        clusterIPs: [dnsIP],
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        internalTrafficPolicy: 'Cluster',
        sessionAffinity: 'None',
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      },
      status: { loadBalancer: {} },
    });
  }

  // ---- health, sim API ---------------------------------------------------------------------------
  const health = (check: string) => (req: { query: unknown }, reply: import('fastify').FastifyReply) => {
    const verbose = (req.query as Record<string, string> | undefined)?.verbose !== undefined;
    if (faultState.notReady) return reply.code(500).type('text/plain; charset=utf-8').send(`[-]kube-sim failed: reason withheld\n${check} check failed\n`);
    return reply.type('text/plain; charset=utf-8').send(verbose ? `[+]ping ok\n[+]etcd ok\n[+]kube-sim ok\n${check} check passed\n` : 'ok');
  };
  app.get('/readyz', health('readyz'));
  app.get('/livez', health('livez'));
  app.get('/healthz', health('healthz'));

  const selectPods = (t: PodTarget) => {
    const ns = t.namespace ?? 'default';
    const sel = parseLabelSelector(t.selector);
    return stores.pods.list({ namespace: ns }).items.filter((p) => (!t.name || p.metadata.name === t.name) && matchLabels(sel, p.metadata.labels));
  };

  const faults: SimFaults = {
    get state() {
      return { ...faultState };
    },
    set(partial) {
      const next = { ...faultState, ...partial };
      next.latencyMs = Math.max(0, Number(next.latencyMs) || 0);
      next.errorCode = Math.max(0, Number(next.errorCode) || 0);
      next.writeErrorCode = Math.max(0, Number(next.writeErrorCode) || 0);
      next.interleaveWrites = { ...(next.interleaveWrites ?? {}) };
      const wasUnreachable = faultState.unreachable;
      faultState = next;
      if (next.unreachable && !wasUnreachable) api.closeWatches({ destroy: true });
      if (!next.unreachable && wasUnreachable) releaseHung();
      return { ...faultState };
    },
    clear() {
      return faults.set({ ...NO_FAULTS });
    },
    unreachable(on = true, mode = 'reset') {
      faults.set({ unreachable: on, unreachableMode: mode });
    },
    latency(ms) {
      faults.set({ latencyMs: ms });
    },
    dropWatches(opts = {}) {
      return api.closeWatches({ destroy: opts.destroy ?? false });
    },
    failPods(target) {
      return selectPods(target).map((p) => {
        kubelet.setReady(p.metadata.namespace as string, p.metadata.name as string, false);
        return p.metadata.name as string;
      });
    },
    recoverPods(target) {
      return selectPods(target).map((p) => {
        kubelet.setReady(p.metadata.namespace as string, p.metadata.name as string, true);
        return p.metadata.name as string;
      });
    },
    setNodeReady(target, ready) {
      const nodes = stores.nodes.list().items.filter((n) => (target.name ? n.metadata.name === target.name : true) && (target.zone ? n.metadata.labels?.['topology.kubernetes.io/zone'] === target.zone : true));
      const t = rfc3339();
      for (const n of nodes) {
        stores.nodes.mutate(undefined, n.metadata.name as string, (d) => {
          for (const c of (d.status?.conditions ?? []) as Record<string, unknown>[]) {
            if (c.type !== 'Ready') continue;
            const want = ready ? 'True' : 'Unknown';
            if (c.status === want) return false;
            c.status = want;
            c.lastTransitionTime = t;
            c.lastHeartbeatTime = t;
            c.reason = ready ? 'KubeletReady' : 'NodeStatusUnknown';
            c.message = ready ? 'kubelet is posting ready status' : 'Kubelet stopped posting node status.';
          }
        });
        kubelet.onNodeReadiness(n.metadata.name as string, ready);
      }
      return nodes.map((n) => n.metadata.name as string);
    },
    compact() {
      for (const s of Object.values(stores)) s.compact();
    },
    freezeLoadBalancers(frozen) {
      lb.setFrozen(frozen);
    },
  };

  const runPods = (o: RunPodsOptions = {}): KubeObject[] => {
    const ns = o.namespace ?? 'default';
    if (!stores.namespaces.get(undefined, ns)) throw errors.notFound('namespaces', ns);
    const labels = o.labels ?? (o.name ? { run: o.name } : { run: 'sim' });
    const count = Math.max(1, o.count ?? 1);
    const base = o.name ?? `${labels.run ?? labels.app ?? 'pod'}`;
    const out: KubeObject[] = [];
    for (let i = 0; i < count; i++) {
      const podName = o.name ? (count > 1 ? `${base}-${i}` : base) : undefined;
      const pod: KubeObject = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { ...(podName ? { name: podName } : { generateName: `${base}-` }), namespace: ns, labels: { ...labels } },
        spec: { containers: [{ name: base.replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '') || 'app', image: o.image ?? 'nginx:1.11.1-alpine', ports: [{ containerPort: o.containerPort ?? 80 }] }] },
      };
      const causes = validatePod(pod);
      if (causes.length) throw errors.invalid('Pod', podName ?? '', causes);
      defaultPod(pod);
      const node = o.nodeName ? stores.nodes.get(undefined, o.nodeName) : kubelet.pickNode(pod);
      if (!node) throw errors.badRequest('kube-sim: no schedulable node');
      pod.spec.nodeName = node.metadata.name;
      pod.status = { phase: 'Pending', qosClass: 'BestEffort', conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339() }] };
      const created = stores.pods.create(pod);
      const stored = kubelet.startNow(ns, created.metadata.name as string, o.ready !== false) ?? created;
      out.push(stored);
    }
    return out;
  };

  app.register(
    async (sim) => {
      sim.get('/', async () => ({ name, region, zones, lbPool, url: `http://${host}:${boundPort}`, faults: faultState, watches: api.watchCount, resourceVersion: clock.current }));
      sim.get('/info', async () => ({ name, region, zones, lbPool, url: `http://${host}:${boundPort}`, faults: faultState, watches: api.watchCount, resourceVersion: clock.current }));
      sim.get('/faults', async () => faultState);
      sim.post('/faults', async (req) => faults.set((req.body ?? {}) as Partial<FaultState>));
      sim.put('/faults', async (req) => faults.set({ ...NO_FAULTS, ...((req.body ?? {}) as Partial<FaultState>) }));
      sim.delete('/faults', async () => faults.clear());
      sim.post('/drop-watches', async (req) => ({ dropped: faults.dropWatches({ destroy: !!(req.body as { destroy?: boolean } | undefined)?.destroy }) }));
      sim.post('/pods/fail', async (req) => ({ pods: faults.failPods((req.body ?? {}) as PodTarget) }));
      sim.post('/pods/recover', async (req) => ({ pods: faults.recoverPods((req.body ?? {}) as PodTarget) }));
      sim.post('/pods/run', async (req, reply) => {
        const pods = runPods((req.body ?? {}) as RunPodsOptions);
        reply.code(201);
        return { pods: pods.map((p) => ({ namespace: p.metadata.namespace, name: p.metadata.name, podIP: p.status?.podIP, nodeName: p.spec?.nodeName })) };
      });
      sim.post('/nodes/ready', async (req) => {
        const b = (req.body ?? {}) as { name?: string; zone?: string; ready?: boolean };
        return { nodes: faults.setNodeReady({ name: b.name, zone: b.zone }, b.ready !== false) };
      });
      sim.post('/compact', async () => {
        faults.compact();
        return { compactedAt: clock.current };
      });
      sim.post('/lb/freeze', async (req) => {
        const frozen = (req.body as { frozen?: boolean } | undefined)?.frozen !== false;
        faults.freezeLoadBalancers(frozen);
        return { frozen };
      });
      sim.get('/lb', async () => ({ pool: lbPool, assignments: Object.fromEntries(lb.assignments()), hostnames: Object.fromEntries(lb.hostnames()) }));
      sim.get('/dns', async (_req, reply) => (clusterDns ? clusterDns.status() : reply.code(404).send({ message: 'this cluster runs no DNS' })));
    },
    { prefix: '/sim' },
  );

  await app.listen({ host, port });
  const addr = app.server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closed = false;

  return {
    name,
    region,
    zones: [...zones],
    lbPool,
    host,
    port: boundPort,
    url: `http://${urlHost}:${boundPort}`,
    app,
    api,
    clock,
    stores,
    faults,
    runPods,
    lbHostnames: () => lb.hostnames(),
    lbAssignments: () => lb.assignments(),
    dnsAddress: clusterDns?.address ?? '',
    dnsStatus: () => clusterDns?.status(),
    async close() {
      if (closed) return;
      closed = true;
      kubelet.stop();
      lb.stop();
      endpointsController.stop();
      unsubNs();
      releaseHung();
      api.closeWatches({ destroy: true });
      await clusterDns?.close();
      await app.close();
    },
  };
}


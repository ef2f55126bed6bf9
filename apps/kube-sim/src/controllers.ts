/** The simulated control loops: scheduler + kubelet, load-balancer controller, EndpointSlice/Endpoints controller, events. */
import { randomBytes } from 'node:crypto';
import {
  deepEqual,
  type KubeObject,
  matchLabels,
  type ObjectStore,
  randomSuffix,
  rfc3339,
  selectorFromMap,
  type StoreEvent,
} from '@fedns/kubewire';
import { IpPool, intToIp, parseCidr } from './ipam.js';
import type { ServicePort } from './resources.js';

type Store = ObjectStore<KubeObject>;

const hex = (n: number) => randomBytes(n).toString('hex');
const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export interface Logger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
}

// ---------------------------------------------------------------------------------------------
// Events

export class EventRecorder {
  #order: { ns: string; name: string }[] = [];
  constructor(
    private readonly events: Store,
    private readonly max = 2000,
  ) {}

  record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    const now = new Date();
    const ns = obj.metadata.namespace ?? 'default';
    const name = `${obj.metadata.name}.${hex(8)}`;
    try {
      this.events.create({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: ns },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace: obj.metadata.namespace,
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
        reason,
        message,
        source: { component },
        firstTimestamp: rfc3339(now),
        lastTimestamp: rfc3339(now),
        count: 1,
        type,
        eventTime: null,
        reportingComponent: component,
        reportingInstance: '',
      });
      this.#order.push({ ns, name });
      while (this.#order.length > this.max) {
        const old = this.#order.shift();
        if (old && this.events.get(old.ns, old.name)) this.events.delete(old.ns, old.name);
      }
    } catch {
      /* events are best effort */
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scheduler + kubelet

export interface KubeletOptions {
  /** Delay between binding and Running/Ready (default 200 ms). */
  kubeletDelayMs: number;
  /** Delay before binding a new pod (default 0). */
  scheduleDelayMs: number;
  /** Base of the per-node pod CIDRs (a /16; node i gets the i-th /24). */
  podCidr: string;
}

const cond = (type: string, status: boolean, t: string, reason?: string, message?: string) => ({
  type,
  status: status ? 'True' : 'False',
  lastProbeTime: null,
  lastTransitionTime: t,
  ...(reason ? { reason } : {}),
  ...(message ? { message } : {}),
});

export class Kubelet {
  #timers = new Set<NodeJS.Timeout>();
  #starting = new Set<string>();
  #failed = new Set<string>(); // pod uids forced NotReady
  #nodePools = new Map<string, IpPool>();
  #podIPs = new Map<string, { node: string; ip: string }>(); // pod uid → ip
  #stopped = false;
  #unsub: (() => void)[] = [];

  constructor(
    private readonly pods: Store,
    private readonly nodes: Store,
    private readonly recorder: EventRecorder,
    private readonly opts: KubeletOptions,
  ) {
    this.#unsub.push(pods.subscribe((e) => this.#onPod(e)));
    this.#unsub.push(
      nodes.subscribe((e) => {
        if (e.type !== 'DELETED') this.#kickPending();
      }),
    );
  }

  /** The pod CIDR for the i-th node. */
  podCidrFor(index: number): string {
    const base = parseCidr(this.opts.podCidr).base;
    return `${intToIp(base + index * 256)}/24`;
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const u of this.#unsub) u();
  }

  #later(ms: number, fn: () => void): void {
    if (this.#stopped) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#stopped) fn();
    }, ms);
    this.#timers.add(t);
  }

  #onPod(e: StoreEvent<KubeObject>): void {
    const pod = e.object;
    const uid = pod.metadata.uid as string;
    if (e.type === 'DELETED') {
      this.#starting.delete(uid);
      this.#failed.delete(uid);
      const alloc = this.#podIPs.get(uid);
      if (alloc) {
        this.#nodePools.get(alloc.node)?.release(alloc.ip);
        this.#podIPs.delete(uid);
      }
      return;
    }
    if (pod.metadata.deletionTimestamp) return;
    if (!pod.spec?.nodeName) {
      if (e.type === 'ADDED') this.#later(this.opts.scheduleDelayMs, () => this.#schedule(pod.metadata.namespace as string, pod.metadata.name as string));
      return;
    }
    if (pod.status?.phase === 'Pending' && !this.#starting.has(uid)) {
      this.#starting.add(uid);
      this.#later(this.opts.kubeletDelayMs, () => this.#start(pod.metadata.namespace as string, pod.metadata.name as string));
    }
  }

  #kickPending(): void {
    for (const pod of this.pods.values()) {
      if (!pod.spec?.nodeName && !pod.metadata.deletionTimestamp)
        this.#later(0, () => this.#schedule(pod.metadata.namespace as string, pod.metadata.name as string));
    }
  }

  #nodeReady(node: KubeObject | undefined): boolean {
    return !!node && ((node.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True');
  }

  /** Chooses a Ready, schedulable node matching nodeSelector with the fewest pods. */
  pickNode(pod: KubeObject): KubeObject | undefined {
    const counts = new Map<string, number>();
    for (const p of this.pods.values()) if (p.spec?.nodeName) counts.set(p.spec.nodeName, (counts.get(p.spec.nodeName) ?? 0) + 1);
    const sel = selectorFromMap(pod.spec?.nodeSelector);
    const candidates = this.nodes
      .list()
      .items.filter((n) => this.#nodeReady(n) && !n.spec?.unschedulable && matchLabels(sel, n.metadata.labels));
    candidates.sort((a, b) => (counts.get(a.metadata.name as string) ?? 0) - (counts.get(b.metadata.name as string) ?? 0));
    return candidates[0];
  }

  #schedule(namespace: string, name: string): void {
    const pod = this.pods.get(namespace, name);
    if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp) return;
    const node = this.pickNode(pod);
    const t = rfc3339();
    if (!node) {
      const total = this.nodes.size;
      this.pods.mutate(namespace, name, (d) => {
        d.status = { ...d.status, phase: 'Pending', conditions: [cond('PodScheduled', false, t, 'Unschedulable', `0/${total} nodes are available: ${total} node(s) were not ready or did not match the pod's node selector.`)] };
      });
      return;
    }
    const nodeName = node.metadata.name as string;
    const updated = this.pods.mutate(namespace, name, (d) => {
      d.spec.nodeName = nodeName;
      d.status = { ...d.status, phase: 'Pending', conditions: [cond('PodScheduled', true, t)] };
    });
    if (updated) this.recorder.record(updated, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${nodeName}`, 'default-scheduler');
  }

  #allocatePodIP(pod: KubeObject, nodeName: string): string | undefined {
    const uid = pod.metadata.uid as string;
    const existing = this.#podIPs.get(uid);
    if (existing) return existing.ip;
    let pool = this.#nodePools.get(nodeName);
    if (!pool) {
      const node = this.nodes.get(undefined, nodeName);
      const cidr = node?.spec?.podCIDR ?? this.podCidrFor(this.#nodePools.size + 100);
      pool = new IpPool(cidr, { reserveFirst: 1 });
      this.#nodePools.set(nodeName, pool);
    }
    const ip = pool.allocate(uid);
    if (ip) this.#podIPs.set(uid, { node: nodeName, ip });
    return ip;
  }

  /** Starts a bound pod at once (no kubelet delay); ready=false starts it with a failing readiness probe. */
  startNow(namespace: string, name: string, ready = true): KubeObject | undefined {
    const pod = this.pods.get(namespace, name);
    if (!pod) return undefined;
    if (ready) this.#failed.delete(pod.metadata.uid as string);
    else this.#failed.add(pod.metadata.uid as string);
    this.#start(namespace, name);
    return this.pods.get(namespace, name);
  }

  #start(namespace: string, name: string): void {
    const pod = this.pods.get(namespace, name);
    if (!pod?.spec?.nodeName || pod.metadata.deletionTimestamp || pod.status?.phase !== 'Pending') return;
    this.#starting.delete(pod.metadata.uid as string);
    const node = this.nodes.get(undefined, pod.spec.nodeName);
    const ready = this.#nodeReady(node) && !this.#failed.has(pod.metadata.uid as string);
    const running = this.runningStatus(pod, node, ready);
    if (!running) return;
    const updated = this.pods.mutate(namespace, name, (d) => {
      d.status = running;
    });
    if (updated) {
      for (const c of (pod.spec.containers ?? []) as { name: string; image: string }[]) {
        this.recorder.record(updated, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`, 'kubelet');
        this.recorder.record(updated, 'Normal', 'Created', `Created container: ${c.name}`, 'kubelet');
        this.recorder.record(updated, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet');
      }
    }
  }

  /** The status of a running pod on `node` (allocates the pod IP). */
  runningStatus(pod: KubeObject, node: KubeObject | undefined, ready: boolean): Record<string, unknown> | undefined {
    const nodeName = pod.spec?.nodeName as string;
    const ip = this.#allocatePodIP(pod, nodeName);
    if (!ip) return undefined;
    const hostIP = ((node?.status?.addresses ?? []) as { type: string; address: string }[]).find((a) => a.type === 'InternalIP')?.address ?? '10.0.0.1';
    const t = rfc3339();
    const containers = (pod.spec?.containers ?? []) as { name: string; image: string }[];
    const unready = ready ? undefined : `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`;
    return {
      phase: 'Running',
      conditions: [
        cond('PodReadyToStartContainers', true, t),
        cond('Initialized', true, t),
        cond('Ready', ready, t, ready ? undefined : 'ContainersNotReady', unready),
        cond('ContainersReady', ready, t, ready ? undefined : 'ContainersNotReady', unready),
        cond('PodScheduled', true, pod.status?.conditions?.find((c: { type: string }) => c.type === 'PodScheduled')?.lastTransitionTime ?? t),
      ],
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: pod.status?.startTime ?? t,
      containerStatuses: containers.map((c) => ({
        name: c.name,
        state: { running: { startedAt: t } },
        lastState: {},
        ready,
        restartCount: 0,
        image: c.image.includes('/') ? c.image : `docker.io/library/${c.image}`,
        imageID: `docker.io/library/${c.image.split(':')[0]}@sha256:${hex(32)}`,
        containerID: `containerd://${hex(32)}`,
        started: true,
      })),
      qosClass: pod.status?.qosClass ?? 'BestEffort',
    };
  }

  /** Sets a pod's readiness (as a failing/passing readiness probe would). */
  setReady(namespace: string, name: string, ready: boolean): boolean {
    const pod = this.pods.get(namespace, name);
    if (!pod) return false;
    const uid = pod.metadata.uid as string;
    if (ready) this.#failed.delete(uid);
    else this.#failed.add(uid);
    if (pod.status?.phase !== 'Running') return true;
    if (ready) {
      const node = pod.spec?.nodeName ? this.nodes.get(undefined, pod.spec.nodeName) : undefined;
      if (!this.#nodeReady(node)) return true;
    }
    this.#applyReady(pod, ready);
    return true;
  }

  #applyReady(pod: KubeObject, ready: boolean): void {
    const t = rfc3339();
    const containers = (pod.spec?.containers ?? []) as { name: string }[];
    const unready = `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`;
    this.pods.mutate(pod.metadata.namespace, pod.metadata.name as string, (d) => {
      let changed = false;
      for (const c of (d.status?.conditions ?? []) as Record<string, unknown>[]) {
        if (c.type !== 'Ready' && c.type !== 'ContainersReady') continue;
        const want = ready ? 'True' : 'False';
        if (c.status !== want) {
          c.status = want;
          c.lastTransitionTime = t;
          changed = true;
        }
        if (ready) {
          delete c.reason;
          delete c.message;
        } else {
          c.reason = 'ContainersNotReady';
          c.message = unready;
        }
      }
      for (const cs of (d.status?.containerStatuses ?? []) as Record<string, unknown>[]) cs.ready = ready;
      return changed;
    });
  }

  /** Node readiness changed: pods on it follow (NotReady node → pods NotReady; Ready → pods recover unless failed). */
  onNodeReadiness(nodeName: string, ready: boolean): void {
    for (const pod of [...this.pods.values()]) {
      if (pod.spec?.nodeName !== nodeName || pod.status?.phase !== 'Running') continue;
      const podReady = ready && !this.#failed.has(pod.metadata.uid as string);
      this.#applyReady(pod, podReady);
    }
  }

  isFailed(uid: string): boolean {
    return this.#failed.has(uid);
  }
}

// ---------------------------------------------------------------------------------------------
// Load balancer

export type LbIngressMode = 'ip' | 'hostname' | 'both';

export const LB_INGRESS_ANNOTATION = 'kube-sim.fedns.io/lb-ingress';

export interface LoadBalancerOptions {
  pool: string;
  delayMs: number;
  ingress: LbIngressMode;
  hostnameSuffix: string;
  clusterName: string;
}

export class LoadBalancerController {
  readonly pool: IpPool;
  #assigned = new Map<string, string>(); // svc key → ip
  #timers = new Map<string, NodeJS.Timeout>();
  #pending = new Set<string>();
  #frozen = false;
  #unsub: () => void;

  constructor(
    private readonly services: Store,
    private readonly recorder: EventRecorder,
    private readonly opts: LoadBalancerOptions,
  ) {
    this.pool = new IpPool(opts.pool);
    this.#unsub = services.subscribe((e) => this.#onService(e));
  }

  stop(): void {
    this.#unsub();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  /** The hostname handed out for an address in hostname mode. */
  hostnameFor(ip: string): string {
    return `${ip.replace(/\./g, '-')}.${this.opts.hostnameSuffix}`;
  }

  /** hostname → address of every hostname ingress currently handed out. */
  hostnames(): Map<string, string> {
    const out = new Map<string, string>();
    for (const ip of this.#assigned.values()) out.set(this.hostnameFor(ip), ip);
    return out;
  }

  /** Current assignments: service key (ns/name) → address. */
  assignments(): Map<string, string> {
    return new Map(this.#assigned);
  }

  /** Stop/resume handing out addresses (simulates a stuck cloud LB controller). */
  setFrozen(frozen: boolean): void {
    this.#frozen = frozen;
    if (!frozen) for (const s of this.services.values()) this.#queue(keyOf(s), 0);
  }

  #onService(e: StoreEvent<KubeObject>): void {
    const key = keyOf(e.object);
    if (e.type === 'DELETED') {
      this.#release(key);
      return;
    }
    const type = e.object.spec?.type;
    const hasIngress = (e.object.status?.loadBalancer?.ingress ?? []).length > 0;
    if (type === 'LoadBalancer' || hasIngress || this.#assigned.has(key)) {
      const isNew = type === 'LoadBalancer' && !this.#assigned.has(key);
      this.#queue(key, isNew ? this.opts.delayMs : 0);
    }
  }

  #queue(key: string, delay: number): void {
    if (this.#timers.has(key)) return;
    const t = setTimeout(() => {
      this.#timers.delete(key);
      this.reconcile(key);
    }, delay);
    this.#timers.set(key, t);
  }

  #release(key: string): void {
    const ip = this.#assigned.get(key);
    this.#pending.delete(key);
    if (ip) {
      this.pool.release(ip);
      this.#assigned.delete(key);
      for (const p of [...this.#pending]) this.#queue(p, 0);
    }
  }

  reconcile(key: string): void {
    const [ns, name] = key.split('/') as [string, string];
    const svc = this.services.get(ns, name);
    if (svc?.spec?.type !== 'LoadBalancer') {
      this.#release(key);
      if (svc && (svc.status?.loadBalancer?.ingress ?? []).length) {
        this.services.mutate(ns, name, (d) => {
          d.status = { ...d.status, loadBalancer: {} };
        });
      }
      return;
    }
    if (this.#frozen) return;
    let ip = this.#assigned.get(key);
    let first = false;
    if (!ip) {
      const requested: string | undefined = svc.spec?.loadBalancerIP;
      if (requested && this.pool.allocateSpecific(requested, key)) ip = requested;
      else ip = this.pool.allocate(key);
      if (!ip) {
        if (!this.#pending.has(key)) {
          this.#pending.add(key);
          this.recorder.record(svc, 'Warning', 'AllocationFailed', `Failed to allocate IP for "${key}": no available IPs in pool ${this.pool.cidr.text}`, 'service-controller');
        }
        return;
      }
      this.#pending.delete(key);
      this.#assigned.set(key, ip);
      first = true;
    }
    const mode = (svc.metadata.annotations?.[LB_INGRESS_ANNOTATION] as LbIngressMode | undefined) ?? this.opts.ingress;
    const ingress: Record<string, unknown>[] = [];
    if (mode === 'ip' || mode === 'both') ingress.push({ ip, ipMode: 'VIP' });
    if (mode === 'hostname' || mode === 'both') ingress.push({ hostname: this.hostnameFor(ip) });
    if (deepEqual(svc.status?.loadBalancer?.ingress, ingress)) return;
    if (first) this.recorder.record(svc, 'Normal', 'EnsuringLoadBalancer', 'Ensuring load balancer', 'service-controller');
    const updated = this.services.mutate(ns, name, (d) => {
      d.status = { ...d.status, loadBalancer: { ingress } };
    });
    if (updated && first) this.recorder.record(updated, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer', 'service-controller');
  }
}

// ---------------------------------------------------------------------------------------------
// EndpointSlices and Endpoints

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';

interface PodLike extends KubeObject {}

function podReady(pod: PodLike): boolean {
  return ((pod.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True');
}

function resolveTargetPort(port: ServicePort, pods: PodLike[]): number | undefined {
  const tp = port.targetPort ?? port.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  for (const pod of pods)
    for (const c of (pod.spec?.containers ?? []) as { ports?: { name?: string; containerPort: number; protocol?: string }[] }[])
      for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? 'TCP') === (port.protocol ?? 'TCP')) return p.containerPort;
  return undefined;
}

export class EndpointsController {
  #dirty = new Set<string>();
  #scheduled = false;
  #unsub: (() => void)[] = [];
  #stopped = false;

  constructor(
    private readonly services: Store,
    private readonly pods: Store,
    private readonly slices: Store,
    private readonly endpoints: Store,
    private readonly nodes: Store,
  ) {
    this.#unsub.push(
      services.subscribe((e) => this.#mark(keyOf(e.object))),
      pods.subscribe((e) => this.#onPod(e)),
    );
  }

  stop(): void {
    this.#stopped = true;
    for (const u of this.#unsub) u();
  }

  #mark(key: string): void {
    this.#dirty.add(key);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #onPod(e: StoreEvent<KubeObject>): void {
    const ns = e.object.metadata.namespace;
    // Only pod changes that matter for endpoints: labels, IP, readiness, deletion.
    if (e.type === 'MODIFIED' && e.old) {
      const relevant = (p: KubeObject) => [p.metadata.labels, p.status?.podIP, podReady(p), p.metadata.deletionTimestamp, p.spec?.nodeName, p.status?.phase];
      if (deepEqual(relevant(e.old), relevant(e.object))) return;
    }
    for (const svc of this.services.values()) {
      if (svc.metadata.namespace !== ns || !svc.spec?.selector) continue;
      const sel = selectorFromMap(svc.spec.selector);
      if (!Object.keys(svc.spec.selector).length) continue;
      if (matchLabels(sel, e.object.metadata.labels) || (e.old && matchLabels(sel, e.old.metadata.labels))) this.#mark(keyOf(svc));
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#stopped) return;
    const keys = [...this.#dirty];
    this.#dirty.clear();
    for (const k of keys) {
      try {
        this.reconcile(k);
      } catch (err) {
        console.error('kube-sim: endpoints reconcile failed', k, err);
      }
    }
  }

  /** Brings the EndpointSlice and Endpoints of one service (ns/name) in line with its pods. */
  reconcile(key: string): void {
    const [ns, name] = key.split('/') as [string, string];
    const svc = this.services.get(ns, name);
    const existing = this.slices.list({ namespace: ns, labelSelector: `${SERVICE_NAME_LABEL}=${name},${MANAGED_BY_LABEL}=${MANAGED_BY}` }).items;
    const selector = svc?.spec?.selector as Record<string, string> | undefined;
    if (!svc || !selector || !Object.keys(selector).length || svc.spec?.type === 'ExternalName') {
      for (const s of existing) this.slices.delete(ns, s.metadata.name as string);
      const ep = this.endpoints.get(ns, name);
      if (ep && (!svc || (svc && selector !== undefined))) this.endpoints.delete(ns, name);
      return;
    }
    const sel = selectorFromMap(selector);
    const pods = this.pods
      .list({ namespace: ns })
      .items.filter((p) => matchLabels(sel, p.metadata.labels) && p.status?.podIP && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    pods.sort((a, b) => ((a.metadata.name as string) < (b.metadata.name as string) ? -1 : 1));
    const svcPorts = (svc.spec?.ports ?? []) as ServicePort[];
    const ports = svcPorts.map((p) => ({ name: p.name ?? '', port: resolveTargetPort(p, pods), protocol: p.protocol ?? 'TCP' })).filter((p) => p.port !== undefined);
    const endpoints = pods.map((p) => {
      const terminating = !!p.metadata.deletionTimestamp;
      const ready = podReady(p);
      const node = p.spec?.nodeName ? this.nodes.get(undefined, p.spec.nodeName) : undefined;
      const zone = node?.metadata.labels?.['topology.kubernetes.io/zone'];
      return {
        addresses: [p.status?.podIP as string],
        conditions: { ready: ready && !terminating, serving: ready, terminating },
        ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}),
        ...(zone ? { zone } : {}),
        targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
      };
    });
    const ownerReferences = [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid as string, controller: true, blockOwnerDeletion: true }];
    const labels = { ...svc.metadata.labels, [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY };
    const [primary, ...extra] = existing;
    for (const s of extra) this.slices.delete(ns, s.metadata.name as string);
    if (primary) {
      this.slices.mutate(ns, primary.metadata.name as string, (d) => {
        d.metadata.labels = labels;
        d.metadata.ownerReferences = ownerReferences;
        d.addressType = 'IPv4';
        d.endpoints = endpoints;
        d.ports = ports;
      });
    } else {
      this.slices.create({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: `${name}-${randomSuffix()}`, namespace: ns, labels, ownerReferences, generateName: `${name}-` },
        addressType: 'IPv4',
        endpoints,
        ports,
      });
    }
    // core/v1 Endpoints (kubectl describe service reads them)
    const addr = (p: KubeObject) => ({ ip: p.status?.podIP, ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}), targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid } });
    const readyPods = pods.filter((p) => podReady(p) && !p.metadata.deletionTimestamp);
    const notReady = pods.filter((p) => !(podReady(p) && !p.metadata.deletionTimestamp));
    const subsets =
      pods.length && ports.length
        ? [
            {
              ...(readyPods.length ? { addresses: readyPods.map(addr) } : {}),
              ...(notReady.length ? { notReadyAddresses: notReady.map(addr) } : {}),
              ports: ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol })),
            },
          ]
        : undefined;
    const epLabels = { ...svc.metadata.labels, 'endpointslice.kubernetes.io/skip-mirror': 'true' };
    if (this.endpoints.get(ns, name)) {
      this.endpoints.mutate(ns, name, (d) => {
        d.metadata.labels = epLabels;
        if (subsets) d.subsets = subsets;
        else delete d.subsets;
      });
    } else {
      this.endpoints.create({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns, labels: epLabels }, ...(subsets ? { subsets } : {}) });
    }
  }
}


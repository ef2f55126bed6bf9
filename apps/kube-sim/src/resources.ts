/** Defaulting, allocation and validation of the kinds kube-sim serves (what a real apiserver's registry does). */
import {
  checkDns1035Label,
  checkDns1123Label,
  checkLabelKey,
  checkLabelValue,
  errors,
  fieldError,
  type KubeObject,
  type ResourceHooks,
  type StatusCause,
} from '@fedns/kubewire';
import type { IpPool } from './ipam.js';

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
  protocol?: string;
  appProtocol?: string;
}

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];

function validateLabels(labels: unknown, field: string, causes: StatusCause[]): void {
  if (labels === undefined || labels === null) return;
  if (typeof labels !== 'object' || Array.isArray(labels)) {
    causes.push(fieldError.invalid(field, labels, 'must be a map of string keys to string values'));
    return;
  }
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    const kp = checkLabelKey(k);
    if (kp) causes.push(fieldError.invalid(field, k, kp));
    if (typeof v !== 'string') causes.push(fieldError.invalid(`${field}.${k}`, v, 'must be a string'));
    else {
      const vp = checkLabelValue(v);
      if (vp) causes.push(fieldError.invalid(`${field}.${k}`, v, vp));
    }
  }
}

export function validateMetadata(obj: KubeObject, causes: StatusCause[]): void {
  validateLabels(obj.metadata.labels, 'metadata.labels', causes);
  const ann = obj.metadata.annotations;
  if (ann !== undefined && (typeof ann !== 'object' || Array.isArray(ann))) causes.push(fieldError.invalid('metadata.annotations', ann, 'must be a map'));
}

// ---------------------------------------------------------------------------------------------
// Services

/** Node port allocator over 30000-32767. */
export class PortAllocator {
  #used = new Map<number, string>();
  constructor(
    readonly min = 30000,
    readonly max = 32767,
  ) {}
  allocate(owner: string): number | undefined {
    const span = this.max - this.min + 1;
    const start = Math.floor(Math.random() * span);
    for (let i = 0; i < span; i++) {
      const p = this.min + ((start + i) % span);
      if (!this.#used.has(p)) {
        this.#used.set(p, owner);
        return p;
      }
    }
    return undefined;
  }
  allocateSpecific(port: number, owner: string): boolean {
    if (port < this.min || port > this.max) return false;
    const cur = this.#used.get(port);
    if (cur !== undefined && cur !== owner) return false;
    this.#used.set(port, owner);
    return true;
  }
  release(port: number): void {
    this.#used.delete(port);
  }
}

export function validateService(svc: KubeObject, causes: StatusCause[] = []): StatusCause[] {
  const nameProblem = svc.metadata.name ? checkDns1035Label(svc.metadata.name) : undefined;
  if (nameProblem) causes.push(fieldError.invalid('metadata.name', svc.metadata.name, nameProblem));
  validateMetadata(svc, causes);
  const spec = (svc.spec ?? {}) as Record<string, unknown>;
  const type = (spec.type as string | undefined) ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) causes.push(fieldError.notSupported('spec.type', type, SERVICE_TYPES));
  const ports = spec.ports;
  if (type === 'ExternalName') {
    if (!spec.externalName) causes.push(fieldError.required('spec.externalName'));
  } else if (!Array.isArray(ports) || ports.length === 0) {
    if (spec.clusterIP !== 'None') causes.push(fieldError.required('spec.ports'));
  }
  if (ports !== undefined && !Array.isArray(ports)) causes.push(fieldError.invalid('spec.ports', ports, 'must be a list'));
  const seenNames = new Set<string>();
  const seenPorts = new Set<string>();
  if (Array.isArray(ports)) {
    ports.forEach((p: ServicePort, i) => {
      const f = `spec.ports[${i}]`;
      if (typeof p !== 'object' || p === null) {
        causes.push(fieldError.invalid(f, p, 'must be an object'));
        return;
      }
      if (ports.length > 1 && !p.name) causes.push(fieldError.required(`${f}.name`));
      if (p.name) {
        const np = checkDns1123Label(p.name);
        if (np) causes.push(fieldError.invalid(`${f}.name`, p.name, np));
        if (seenNames.has(p.name)) causes.push(fieldError.duplicate(`${f}.name`, p.name));
        seenNames.add(p.name);
      }
      if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
        causes.push(p.port === undefined ? fieldError.required(`${f}.port`) : fieldError.invalid(`${f}.port`, p.port, 'must be between 1 and 65535, inclusive'));
      const proto = p.protocol ?? 'TCP';
      if (!PROTOCOLS.includes(proto)) causes.push(fieldError.notSupported(`${f}.protocol`, proto, PROTOCOLS));
      const key = `${p.port}/${proto}`;
      if (seenPorts.has(key)) causes.push(fieldError.duplicate(f, { port: p.port, protocol: proto }));
      seenPorts.add(key);
      if (typeof p.targetPort === 'number' && (p.targetPort < 1 || p.targetPort > 65535))
        causes.push(fieldError.invalid(`${f}.targetPort`, p.targetPort, 'must be between 1 and 65535, inclusive'));
      if (p.nodePort !== undefined && type !== 'NodePort' && type !== 'LoadBalancer')
        causes.push(fieldError.forbidden(`${f}.nodePort`, 'may not be used when `type` is \'ClusterIP\''));
    });
  }
  validateLabels(spec.selector, 'spec.selector', causes);
  const affinity = (spec.sessionAffinity as string | undefined) ?? 'None';
  if (!['None', 'ClientIP'].includes(affinity)) causes.push(fieldError.notSupported('spec.sessionAffinity', affinity, ['ClientIP', 'None']));
  return causes;
}

function defaultServiceSpec(svc: KubeObject): void {
  svc.spec = svc.spec ?? {};
  const spec = svc.spec;
  spec.type = spec.type ?? 'ClusterIP';
  if (spec.type === 'ExternalName') return;
  spec.sessionAffinity = spec.sessionAffinity ?? 'None';
  spec.internalTrafficPolicy = spec.internalTrafficPolicy ?? 'Cluster';
  for (const p of (spec.ports ?? []) as ServicePort[]) {
    p.protocol = p.protocol ?? 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy = spec.externalTrafficPolicy ?? 'Cluster';
  else delete spec.externalTrafficPolicy;
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts = spec.allocateLoadBalancerNodePorts ?? true;
}

/** Like the apiserver: a type change away from NodePort/LoadBalancer drops the node ports the user did not touch. */
function dropTypeDependentFields(svc: KubeObject, old: KubeObject): void {
  const spec = svc.spec ?? {};
  const oldType = old.spec?.type ?? 'ClusterIP';
  const newType = spec.type ?? 'ClusterIP';
  if (oldType === newType) return;
  const needsNodePorts = newType === 'NodePort' || newType === 'LoadBalancer';
  if (!needsNodePorts) {
    const oldPorts = (old.spec?.ports ?? []) as ServicePort[];
    for (const p of (spec.ports ?? []) as ServicePort[]) if (p.nodePort && oldPorts.some((o) => o.nodePort === p.nodePort)) delete p.nodePort;
    delete spec.externalTrafficPolicy;
  }
  if (newType !== 'LoadBalancer') {
    delete spec.allocateLoadBalancerNodePorts;
    delete spec.loadBalancerClass;
    delete spec.healthCheckNodePort;
  }
}

/** Service registry: ClusterIP and NodePort allocation, immutability of clusterIP, validation. */
export function serviceHooks(serviceIPs: IpPool, nodePorts: PortAllocator): ResourceHooks & { release(svc: KubeObject): void } {
  const key = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
  const allocNodePorts = (svc: KubeObject, old?: KubeObject) => {
    const spec = svc.spec;
    const wants = spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
    const oldPorts = (old?.spec?.ports ?? []) as ServicePort[];
    for (const [i, p] of ((spec.ports ?? []) as ServicePort[]).entries()) {
      if (!wants) {
        delete p.nodePort;
        continue;
      }
      if (p.nodePort) {
        const mine = oldPorts.some((o) => o.nodePort === p.nodePort);
        if (!mine && !nodePorts.allocateSpecific(p.nodePort, key(svc)))
          throw errors.invalid('Service', svc.metadata.name ?? '', [fieldError.invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated')]);
        continue;
      }
      const prev = oldPorts.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === p.protocol && o.nodePort);
      const n = prev?.nodePort ?? nodePorts.allocate(key(svc));
      if (n === undefined) throw errors.invalid('Service', svc.metadata.name ?? '', [fieldError.invalid(`spec.ports[${i}].nodePort`, 0, 'range is full')]);
      p.nodePort = n;
    }
    // release node ports no longer used
    const now = new Set(((spec.ports ?? []) as ServicePort[]).map((p) => p.nodePort).filter(Boolean));
    for (const o of oldPorts) if (o.nodePort && !now.has(o.nodePort)) nodePorts.release(o.nodePort);
  };
  const allocClusterIP = (svc: KubeObject, dryRun: boolean) => {
    const spec = svc.spec;
    if (spec.type === 'ExternalName') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
      return;
    }
    const requested: string | undefined = spec.clusterIP || spec.clusterIPs?.[0];
    if (requested === 'None') {
      spec.clusterIP = 'None';
      spec.clusterIPs = ['None'];
    } else if (requested) {
      if (!serviceIPs.contains(requested))
        throw errors.invalid('Service', svc.metadata.name ?? '', [
          fieldError.invalid('spec.clusterIPs', [requested], `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${serviceIPs.cidr.text}`),
        ]);
      if (serviceIPs.isAllocated(requested) && serviceIPs.owner(requested) !== key(svc))
        throw errors.invalid('Service', svc.metadata.name ?? '', [
          fieldError.invalid('spec.clusterIPs', [requested], `failed to allocate IP ${requested}: provided IP is already allocated`),
        ]);
      if (!dryRun) serviceIPs.allocateSpecific(requested, key(svc));
      spec.clusterIP = requested;
      spec.clusterIPs = [requested];
    } else {
      const ip = serviceIPs.allocate(key(svc));
      if (!ip) throw errors.internal('failed to allocate a serviceIP: range is full');
      if (dryRun) serviceIPs.release(ip);
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
    }
    spec.ipFamilies = spec.ipFamilies ?? ['IPv4'];
    spec.ipFamilyPolicy = spec.ipFamilyPolicy ?? 'SingleStack';
  };
  const release = (svc: KubeObject) => {
    const ip = svc.spec?.clusterIP;
    if (ip && ip !== 'None' && serviceIPs.owner(ip) === key(svc)) serviceIPs.release(ip);
    for (const p of (svc.spec?.ports ?? []) as ServicePort[]) if (p.nodePort) nodePorts.release(p.nodePort);
  };
  return {
    release,
    prepareCreate(svc, ctx) {
      const causes = validateService(svc);
      if (causes.length) throw errors.invalid('Service', svc.metadata.name ?? '', causes);
      defaultServiceSpec(svc);
      allocClusterIP(svc, ctx.dryRun);
      if (!ctx.dryRun) allocNodePorts(svc);
      svc.status = { loadBalancer: {} };
    },
    prepareUpdate(svc, old, ctx) {
      dropTypeDependentFields(svc, old);
      const causes = validateService(svc);
      if (causes.length) throw errors.invalid('Service', svc.metadata.name ?? '', causes);
      defaultServiceSpec(svc);
      const spec = svc.spec;
      const oldIP: string | undefined = old.spec?.clusterIP;
      if (spec.type === 'ExternalName') {
        if (!ctx.dryRun) release({ ...old, spec: { ...old.spec, ports: [] } });
        delete spec.clusterIP;
        delete spec.clusterIPs;
      } else if (oldIP) {
        const newIP: string | undefined = spec.clusterIP || spec.clusterIPs?.[0];
        if (newIP && newIP !== oldIP)
          throw errors.invalid('Service', svc.metadata.name ?? '', [fieldError.invalid('spec.clusterIPs[0]', [newIP], 'may not change once set')]);
        spec.clusterIP = oldIP;
        spec.clusterIPs = old.spec.clusterIPs ?? [oldIP];
        spec.ipFamilies = spec.ipFamilies ?? old.spec.ipFamilies ?? ['IPv4'];
        spec.ipFamilyPolicy = spec.ipFamilyPolicy ?? old.spec.ipFamilyPolicy ?? 'SingleStack';
      } else allocClusterIP(svc, ctx.dryRun);
      if (!ctx.dryRun) allocNodePorts(svc, old);
      if (spec.type !== 'LoadBalancer' && svc.status?.loadBalancer?.ingress) svc.status = { loadBalancer: {} };
    },
    afterDelete(svc) {
      release(svc);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pods

interface Container {
  name?: string;
  image?: string;
  imagePullPolicy?: string;
  ports?: { containerPort?: number; protocol?: string; name?: string }[];
  resources?: unknown;
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
}

export function validatePod(pod: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  validateMetadata(pod, causes);
  const containers = pod.spec?.containers as Container[] | undefined;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push(fieldError.required('spec.containers'));
    return causes;
  }
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const f = `spec.containers[${i}]`;
    if (!c.name) causes.push(fieldError.required(`${f}.name`));
    else {
      const np = checkDns1123Label(c.name);
      if (np) causes.push(fieldError.invalid(`${f}.name`, c.name, np));
      if (names.has(c.name)) causes.push(fieldError.duplicate(`${f}.name`, c.name));
      names.add(c.name);
    }
    if (!c.image) causes.push(fieldError.required(`${f}.image`));
    (c.ports ?? []).forEach((p, j) => {
      if (!Number.isInteger(p.containerPort) || (p.containerPort as number) < 1 || (p.containerPort as number) > 65535)
        causes.push(fieldError.invalid(`${f}.ports[${j}].containerPort`, p.containerPort, 'must be between 1 and 65535, inclusive'));
    });
  });
  return causes;
}

export function defaultPod(pod: KubeObject): void {
  pod.spec = pod.spec ?? {};
  const spec = pod.spec;
  for (const c of (spec.containers ?? []) as Container[]) {
    if (!c.imagePullPolicy) {
      const image = c.image ?? '';
      const tag = image.includes('@') ? 'digest' : (image.split('/').pop() ?? '').split(':')[1];
      c.imagePullPolicy = !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
    }
    c.resources = c.resources ?? {};
    c.terminationMessagePath = c.terminationMessagePath ?? '/dev/termination-log';
    c.terminationMessagePolicy = c.terminationMessagePolicy ?? 'File';
    for (const p of c.ports ?? []) p.protocol = p.protocol ?? 'TCP';
  }
  spec.restartPolicy = spec.restartPolicy ?? 'Always';
  spec.terminationGracePeriodSeconds = spec.terminationGracePeriodSeconds ?? 30;
  spec.dnsPolicy = spec.dnsPolicy ?? 'ClusterFirst';
  spec.serviceAccountName = spec.serviceAccountName ?? spec.serviceAccount ?? 'default';
  spec.serviceAccount = spec.serviceAccountName;
  spec.securityContext = spec.securityContext ?? {};
  spec.schedulerName = spec.schedulerName ?? 'default-scheduler';
  spec.enableServiceLinks = spec.enableServiceLinks ?? true;
  spec.preemptionPolicy = spec.preemptionPolicy ?? 'PreemptLowerPriority';
  spec.priority = spec.priority ?? 0;
  spec.tolerations = spec.tolerations ?? [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ];
}

export function podHooks(): ResourceHooks {
  return {
    prepareCreate(pod) {
      const causes = validatePod(pod);
      if (causes.length) throw errors.invalid('Pod', pod.metadata.name ?? pod.metadata.generateName ?? '', causes);
      defaultPod(pod);
      pod.status = { phase: 'Pending', qosClass: 'BestEffort' };
    },
    prepareUpdate(pod, old) {
      const causes = validatePod(pod);
      if (old.spec?.nodeName && pod.spec?.nodeName !== old.spec.nodeName)
        causes.push(fieldError.forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations), `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)'));
      if (causes.length) throw errors.invalid('Pod', pod.metadata.name ?? '', causes);
      defaultPod(pod);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Namespaces, ConfigMaps, Nodes

export const PROTECTED_NAMESPACES = ['default', 'kube-system', 'kube-public'];

export function namespaceHooks(onDelete: (ns: string) => void): ResourceHooks {
  const prep = (ns: KubeObject) => {
    ns.metadata.labels = { ...ns.metadata.labels, 'kubernetes.io/metadata.name': ns.metadata.name as string };
    ns.spec = { finalizers: ['kubernetes'], ...ns.spec };
  };
  return {
    prepareCreate(ns) {
      const causes: StatusCause[] = [];
      validateMetadata(ns, causes);
      if (causes.length) throw errors.invalid('Namespace', ns.metadata.name ?? '', causes);
      prep(ns);
      ns.status = { phase: 'Active' };
    },
    prepareUpdate(ns) {
      prep(ns);
    },
    beforeDelete(ns) {
      if (PROTECTED_NAMESPACES.includes(ns.metadata.name ?? '')) throw errors.forbidden('namespaces', ns.metadata.name ?? '', 'this namespace may not be deleted');
    },
    afterDelete(ns) {
      onDelete(ns.metadata.name as string);
    },
  };
}

export function configMapHooks(): ResourceHooks {
  const check = (cm: KubeObject) => {
    const causes: StatusCause[] = [];
    validateMetadata(cm, causes);
    for (const field of ['data', 'binaryData']) {
      const d = cm[field];
      if (d === undefined) continue;
      if (typeof d !== 'object' || d === null || Array.isArray(d)) causes.push(fieldError.invalid(field, d, 'must be a map'));
      else
        for (const [k, v] of Object.entries(d)) {
          if (!/^[-._a-zA-Z0-9]+$/.test(k)) causes.push(fieldError.invalid(`${field}[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
          if (typeof v !== 'string') causes.push(fieldError.invalid(`${field}[${k}]`, v, 'must be a string'));
        }
    }
    return causes;
  };
  return { validate: (cm) => check(cm) };
}

export function genericHooks(): ResourceHooks {
  return {
    validate(obj) {
      const causes: StatusCause[] = [];
      validateMetadata(obj, causes);
      return causes;
    },
  };
}

export function secretHooks(): ResourceHooks {
  const prep = (sec: KubeObject) => {
    sec.type = sec.type ?? 'Opaque';
    if (sec.stringData && typeof sec.stringData === 'object') {
      sec.data = { ...sec.data };
      for (const [k, v] of Object.entries(sec.stringData as Record<string, string>)) sec.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      delete sec.stringData;
    }
  };
  return {
    prepareCreate: prep,
    prepareUpdate: prep,
    validate(sec) {
      const causes: StatusCause[] = [];
      validateMetadata(sec, causes);
      for (const [k, v] of Object.entries((sec.data ?? {}) as Record<string, unknown>)) {
        if (!/^[-._a-zA-Z0-9]+$/.test(k)) causes.push(fieldError.invalid(`data[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
        if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) causes.push(fieldError.invalid(`data[${k}]`, '<value>', 'must be base64 encoded'));
      }
      return causes;
    },
  };
}

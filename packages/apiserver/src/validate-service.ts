import { serviceNameProblems } from '@fedns/cascade';
import type { ClusterTopology } from '@fedns/model';
import { ANNOTATIONS, labelProblem, parseWeights, placementClusters, policyProblems } from '@fedns/model';
import { checkDns1123Label, type StatusCause } from '@fedns/kubewire';

/** The parts of a core/v1 Service the federation validates. */
export interface ServiceObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec?: {
    type?: string;
    selector?: Record<string, string>;
    ports?: ServicePort[];
    externalName?: string;
    [k: string]: unknown;
  };
  status?: Record<string, unknown>;
}

export interface ServicePort {
  name?: string;
  protocol?: string;
  port?: number;
  targetPort?: number | string;
  nodePort?: number;
}

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];

const invalidValue = (field: string, value: unknown, why: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
  field,
});

/** apimachinery's IsValidPortName (IANA_SVC_NAME, RFC 6335): what a string targetPort must be. */
export function portNameProblems(name: string): string[] {
  const out: string[] = [];
  if (name.length > 15) out.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) out.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) out.push('must contain at least one letter (a-z)');
  if (name.includes('--')) out.push('must not contain consecutive hyphens');
  if (name.startsWith('-') || name.endsWith('-')) out.push('must not begin or end with a hyphen');
  return out;
}

/**
 * kube-apiserver's validateServicePort for every port: names are DNS-1123 labels, required and
 * unique when there are several ports; port 1-65535; protocol TCP, UDP or SCTP; a string
 * targetPort is an IANA service name, a number one of 1-65535; (port, protocol) unique.
 */
function portCauses(ports: unknown, type: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (ports === undefined || ports === null) {
    if (type !== 'ExternalName') causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.ports' });
    return causes;
  }
  if (!Array.isArray(ports)) return [invalidValue('spec.ports', ports, 'must be a list')];
  if (type !== 'ExternalName' && ports.length === 0) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.ports' });
  const names = new Set<string>();
  const keys = new Set<string>();
  ports.forEach((raw: unknown, i) => {
    const f = `spec.ports[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      causes.push(invalidValue(f, raw, 'must be an object'));
      return;
    }
    const p = raw as ServicePort;
    if (p.name !== undefined && typeof p.name !== 'string') causes.push(invalidValue(`${f}.name`, p.name, 'must be a string'));
    else if (!p.name) {
      if (ports.length > 1) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${f}.name` });
    } else {
      const problem = checkDns1123Label(p.name);
      if (problem) causes.push(invalidValue(`${f}.name`, p.name, problem));
      if (names.has(p.name)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(p.name)}`, field: `${f}.name` });
      names.add(p.name);
    }
    if (!Number.isInteger(p.port) || (p.port ?? 0) < 1 || (p.port ?? 0) > 65535) causes.push(invalidValue(`${f}.port`, p.port ?? 0, 'must be between 1 and 65535, inclusive'));
    if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) {
      causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(p.protocol)}: supported values: "SCTP", "TCP", "UDP"`, field: `${f}.protocol` });
    }
    const tp = p.targetPort;
    if (typeof tp === 'number' && (!Number.isInteger(tp) || tp < 1 || tp > 65535)) causes.push(invalidValue(`${f}.targetPort`, tp, 'must be between 1 and 65535, inclusive'));
    else if (typeof tp === 'string') for (const why of portNameProblems(tp)) causes.push(invalidValue(`${f}.targetPort`, tp, why));
    else if (tp !== undefined && typeof tp !== 'number') causes.push(invalidValue(`${f}.targetPort`, tp, 'must be a port number or name'));
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (keys.has(key)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify({ port: p.port, protocol: p.protocol ?? 'TCP' })}`, field: f });
    keys.add(key);
  });
  return causes;
}

export interface ValidateServiceOptions {
  /** The stored object on an update: placement names it already had may stay (with a warning) after their cluster left. */
  old?: ServiceObject;
  /** Told about problems that do not block the write (sent as Kubernetes Warning headers). */
  warn?: (text: string) => void;
}

/** Every field-level problem of a Service about to be stored; [] when it may be stored. */
export function validateService(
  svc: ServiceObject,
  federation: { name: string; zone: string },
  clusters: ClusterTopology[],
  opts: ValidateServiceOptions = {},
): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = svc.metadata.name ?? '';
  const ns = svc.metadata.namespace ?? 'default';
  if (!name) causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  else if (name.length > 63 || !DNS1035.test(name)) {
    causes.push(invalidValue('metadata.name', name, "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?'), at most 63 characters"));
  }
  const nsProblem = labelProblem(ns);
  if (nsProblem) causes.push(invalidValue('metadata.namespace', ns, `namespace ${nsProblem}`));

  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: "${type}": supported values: ${SERVICE_TYPES.map((t) => `"${t}"`).join(', ')}`, field: 'spec.type' });
  causes.push(...portCauses(spec.ports, type));

  // Placement and weights: every named cluster must be a member; names the stored object already had may stay after their cluster left.
  const members = clusters.map((c) => c.name);
  const named = (meta: ServiceObject['metadata'] | undefined) => {
    const a = meta?.annotations ?? {};
    const w = a[ANNOTATIONS.weights] !== undefined ? parseWeights(a[ANNOTATIONS.weights] as string) : undefined;
    return { placement: placementClusters(a[ANNOTATIONS.clusters] ?? ''), weights: w?.ok ? Object.keys(w.value) : [] };
  };
  const before = named(opts.old?.metadata);
  const now = named(svc.metadata);
  const leftBefore = [...new Set([...before.placement, ...before.weights])].filter((c) => !members.includes(c));
  for (const c of leftBefore) {
    if (now.placement.includes(c)) opts.warn?.(`metadata.annotations[${ANNOTATIONS.clusters}]: cluster "${c}" is not a member cluster; nothing is placed there`);
    if (now.weights.includes(c)) opts.warn?.(`metadata.annotations[${ANNOTATIONS.weights}]: cluster "${c}" is not a member cluster; its weight weighs nothing`);
  }
  for (const p of policyProblems(svc.metadata, [...members, ...leftBefore])) causes.push(invalidValue(p.field, p.value, p.message));

  if (name && DNS1035.test(name) && !nsProblem) {
    for (const problem of serviceNameProblems(federation, ns, name, clusters)) {
      causes.push(invalidValue('metadata.name', name, `the federated DNS names of this service would break DNS limits: ${problem}`));
    }
  }
  return causes;
}

/** Server-side defaults a kube-apiserver applies to a Service. */
export function defaultService(svc: ServiceObject): void {
  const spec = (svc.spec ??= {});
  spec.type ??= 'ClusterIP';
  if (spec.type !== 'ExternalName') spec.sessionAffinity ??= 'None';
  for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
    // Anything else is left for validation to reject.
    if (typeof p !== 'object' || p === null) continue;
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
  svc.status ??= { loadBalancer: {} };
}

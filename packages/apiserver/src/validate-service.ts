import { serviceNameProblems } from '@fedns/cascade';
import type { ClusterTopology } from '@fedns/model';
import { labelProblem, policyProblems } from '@fedns/model';
import type { StatusCause } from '@fedns/kubewire';

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
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

const invalidValue = (field: string, value: unknown, why: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
  field,
});

/** Every field-level problem of a Service about to be stored; [] when it may be stored. */
export function validateService(
  svc: ServiceObject,
  federation: { name: string; zone: string },
  clusters: ClusterTopology[],
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
  const ports = spec.ports ?? [];
  if (type !== 'ExternalName' && ports.length === 0) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.ports' });
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${f}.name` });
    if (p.name) {
      if (seen.has(p.name)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: "${p.name}"`, field: `${f}.name` });
      seen.add(p.name);
      if (p.name.length > 63 || !DNS1035.test(p.name)) causes.push(invalidValue(`${f}.name`, p.name, 'must be a DNS-1035 label'));
    }
    if (!Number.isInteger(p.port) || (p.port ?? 0) < 1 || (p.port ?? 0) > 65535) {
      causes.push(invalidValue(`${f}.port`, p.port ?? 0, 'must be between 1 and 65535, inclusive'));
    }
    if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) {
      causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: "${p.protocol}": supported values: "SCTP", "TCP", "UDP"`, field: `${f}.protocol` });
    }
    const tp = p.targetPort;
    if (typeof tp === 'number' && (!Number.isInteger(tp) || tp < 1 || tp > 65535)) causes.push(invalidValue(`${f}.targetPort`, tp, 'must be between 1 and 65535, inclusive'));
    if (typeof tp === 'string' && !IANA_SVC_NAME.test(tp)) causes.push(invalidValue(`${f}.targetPort`, tp, 'must be a valid port name (IANA_SVC_NAME)'));
  });

  for (const p of policyProblems(svc.metadata)) causes.push(invalidValue(p.field, p.value, p.message));

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
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
  svc.status ??= { loadBalancer: {} };
}

import type * as k8s from '@kubernetes/client-node';
import { type Owner, ownerMarks } from './ownership.js';

/** A federated Service as stored by the API (core/v1 shape). */
export interface FederatedService {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; uid?: string };
  spec?: {
    type?: string;
    selector?: Record<string, string>;
    ports?: { name?: string; protocol?: string; port?: number; targetPort?: number | string }[];
    sessionAffinity?: string;
    externalName?: string;
    /** `None` makes the Service headless in every member (a cluster IP itself is each member's own). */
    clusterIP?: string;
  };
}

/**
 * Federation policy and status annotations (federation.fedns.io/*) and kubectl's
 * bookkeeping stay in the federation: copying them would make every status
 * change look like drift in every member.
 */
export function propagatedAnnotation(key: string): boolean {
  return !key.startsWith('federation.fedns.io/') && key !== 'kubectl.kubernetes.io/last-applied-configuration';
}

/** The member-cluster copy fedns wants: the federated spec, marked with its owner (ownership.ts). */
export function desiredMemberService(fed: FederatedService, owner: Owner): k8s.V1Service {
  const spec = fed.spec ?? {};
  const marks = ownerMarks(owner);
  const out: k8s.V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: fed.metadata.name,
      namespace: fed.metadata.namespace,
      labels: { ...(fed.metadata.labels ?? {}), ...marks.labels },
    },
    spec: {
      type: spec.type ?? 'ClusterIP',
      ports: (spec.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol ?? 'TCP', port: p.port ?? 0, ...(p.targetPort !== undefined ? { targetPort: p.targetPort as never } : {}) })),
    },
  };
  const annotations = Object.fromEntries(Object.entries(fed.metadata.annotations ?? {}).filter(([k]) => propagatedAnnotation(k)));
  out.metadata!.annotations = { ...annotations, ...marks.annotations };
  if (spec.selector) out.spec!.selector = { ...spec.selector };
  if (spec.sessionAffinity) out.spec!.sessionAffinity = spec.sessionAffinity;
  if (spec.externalName) out.spec!.externalName = spec.externalName;
  // Headless is chosen at creation and cannot change afterwards (clusterIP is immutable).
  if (spec.clusterIP === 'None') out.spec!.clusterIP = 'None';
  return out;
}

const portKey = (p: { name?: string; protocol?: string; port?: number; targetPort?: unknown }) =>
  `${p.name ?? ''}/${p.protocol ?? 'TCP'}/${p.port ?? 0}/${String(p.targetPort ?? p.port ?? '')}`;

const sameMap = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());

/** Why the member copy differs from what fedns wants, or undefined when it conforms. */
export function memberDrift(actual: k8s.V1Service, desired: k8s.V1Service): string | undefined {
  const a = actual.spec ?? {};
  const d = desired.spec ?? {};
  if ((a.type ?? 'ClusterIP') !== d.type) return `type ${a.type} != ${d.type}`;
  if (!sameMap(a.selector, d.selector)) return 'selector differs';
  const ap = (a.ports ?? []).map(portKey).sort().join(',');
  const dp = (d.ports ?? []).map(portKey).sort().join(',');
  if (ap !== dp) return `ports ${ap} != ${dp}`;
  for (const [k, v] of Object.entries(desired.metadata?.labels ?? {})) {
    if (actual.metadata?.labels?.[k] !== v) return `label ${k} differs`;
  }
  for (const [k, v] of Object.entries(desired.metadata?.annotations ?? {})) {
    if (actual.metadata?.annotations?.[k] !== v) return `annotation ${k} differs`;
  }
  return undefined;
}

/** The replacement for a drifted or adopted copy: desired spec over the live object, keeping what the member cluster owns. */
export function mergeForReplace(actual: k8s.V1Service, desired: k8s.V1Service): k8s.V1Service {
  return {
    ...actual,
    metadata: {
      ...actual.metadata,
      labels: { ...(actual.metadata?.labels ?? {}), ...(desired.metadata?.labels ?? {}) },
      annotations: { ...(actual.metadata?.annotations ?? {}), ...(desired.metadata?.annotations ?? {}) },
    },
    spec: { ...actual.spec, ...desired.spec, clusterIP: actual.spec?.clusterIP, clusterIPs: actual.spec?.clusterIPs } as k8s.V1ServiceSpec,
  };
}

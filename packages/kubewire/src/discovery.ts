/** Discovery documents: legacy (/api, /apis, APIResourceList) and aggregated (apidiscovery.k8s.io/v2). */
import { apiVersionOf } from './types.js';

export interface DiscoveryResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  /** subresource name → verbs */
  subresources?: Record<string, { verbs: string[]; kind?: string; group?: string; version?: string }>;
}

export const DEFAULT_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function apiVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiResourceList(group: string, version: string, resources: DiscoveryResource[]): unknown {
  const out: unknown[] = [];
  for (const r of resources) {
    out.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames?.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories?.length ? { categories: r.categories } : {}),
    });
    for (const [sub, s] of Object.entries(r.subresources ?? {})) {
      out.push({
        name: `${r.plural}/${sub}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(s.group !== undefined ? { group: s.group } : {}),
        ...(s.version !== undefined ? { version: s.version } : {}),
        kind: s.kind ?? r.kind,
        verbs: s.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(group, version), resources: out };
}

function groupVersions(resources: DiscoveryResource[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const r of resources) {
    const vs = groups.get(r.group) ?? [];
    if (!vs.includes(r.version)) vs.push(r.version);
    groups.set(r.group, vs);
  }
  return groups;
}

export function apiGroup(name: string, versions: string[]): unknown {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: vs, preferredVersion: vs[0] };
}

/** /apis: every non-core group. */
export function apiGroupList(resources: DiscoveryResource[]): unknown {
  const groups = [...groupVersions(resources).entries()].filter(([g]) => g !== '');
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map(([name, versions]) => {
      const g = apiGroup(name, versions) as Record<string, unknown>;
      delete g.kind;
      delete g.apiVersion;
      return g;
    }),
  };
}

/** The aggregated discovery document for /api (core) or /apis (named groups). */
export function aggregatedDiscovery(resources: DiscoveryResource[], core: boolean, discoveryVersion: 'v2' | 'v2beta1' = 'v2'): unknown {
  const groups = [...groupVersions(resources).entries()].filter(([g]) => (core ? g === '' : g !== ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${discoveryVersion}`,
    metadata: {},
    items: groups.map(([group, versions]) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: versions.map((version) => ({
        version,
        freshness: 'Current',
        resources: resources
          .filter((r) => r.group === group && r.version === version)
          .map((r) => ({
            resource: r.plural,
            responseKind: { group: r.group, version: r.version, kind: r.kind },
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.singular,
            verbs: r.verbs,
            ...(r.shortNames?.length ? { shortNames: r.shortNames } : {}),
            ...(r.categories?.length ? { categories: r.categories } : {}),
            ...(r.subresources && Object.keys(r.subresources).length
              ? {
                  subresources: Object.entries(r.subresources).map(([sub, s]) => ({
                    subresource: sub,
                    responseKind: { group: s.group ?? r.group, version: s.version ?? r.version, kind: s.kind ?? r.kind },
                    verbs: s.verbs,
                  })),
                }
              : {}),
          })),
      })),
    })),
  };
}

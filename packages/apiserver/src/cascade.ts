/**
 * `GET /api/v1/namespaces/NS/services/NAME/cascade`: a service's published names
 * as a tree — the global name, under it each region, under each region its
 * zones — with what every name answers now and why (`explainName`'s first step
 * for that name: the answer, the reason, the shards behind it). Pure: the
 * caller passes the service's record sets, its shards and the clusters.
 */
import { type ExplainedProbe, type ExplainStep, explainName } from '@fedns/cascade';
import type { ClusterTopology, RecordSet } from '@fedns/model';
import type { StoredShard } from '@fedns/store';
import { FEDERATION_GROUP } from './recordsets.js';

export interface CascadeNode extends ExplainStep {
  region?: string;
  zone?: string;
  /** The level below: regions under the global name, zones under a region. */
  children: CascadeNode[];
}

export interface ServiceCascade {
  apiVersion: string;
  kind: 'ServiceCascade';
  metadata: { name: string; namespace: string };
  /** The global name, or absent while nothing is published. */
  root?: CascadeNode;
}

export function serviceCascade(namespace: string, name: string, recordSets: RecordSet[], shards: (StoredShard & { probes?: ExplainedProbe[] })[], clusters: ClusterTopology[]): ServiceCascade {
  const mine = recordSets.filter((r) => r.namespace === namespace && r.service === name);
  const mineShards = shards.filter((s) => s.namespace === namespace && s.service === name);
  const firstOf = new Map<string, RecordSet>();
  for (const r of mine) if (!firstOf.has(r.name)) firstOf.set(r.name, r);
  const node = (r: RecordSet): CascadeNode => {
    const step = explainName(r.name, mine, mineShards, clusters).steps[0] as ExplainStep;
    return { ...step, ...(r.region ? { region: r.region } : {}), ...(r.zone ? { zone: r.zone } : {}), children: [] };
  };
  const byLevel = (level: RecordSet['level']) => [...firstOf.values()].filter((r) => r.level === level).sort((a, b) => (a.name < b.name ? -1 : 1));
  const global = byLevel('global')[0];
  const base = { apiVersion: `${FEDERATION_GROUP}/v1`, kind: 'ServiceCascade' as const, metadata: { name, namespace } };
  if (!global) return base;
  const root = node(global);
  const regions = new Map<string, CascadeNode>();
  for (const r of byLevel('region')) {
    const n = node(r);
    regions.set(r.region ?? '', n);
    root.children.push(n);
  }
  for (const z of byLevel('zone')) regions.get(z.region ?? '')?.children.push(node(z));
  return { ...base, root };
}

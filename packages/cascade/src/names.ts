import type { ClusterTopology } from '@fedns/model';
import { MAX_NAME, absoluteName, globalName, labelProblem, regionName, servicePrefix, zoneName } from '@fedns/model';
import type { FederationRef } from './build.js';

/** Every name the service would publish over these clusters: global, then each region, then each zone. */
export function serviceNames(federation: FederationRef, namespace: string, name: string, clusters: readonly ClusterTopology[]): string[] {
  const prefix = servicePrefix(name, namespace, federation.name);
  const names = new Set<string>([globalName(prefix, federation.zone)]);
  const zones = new Set<string>();
  for (const c of clusters) {
    const region = c.region.trim().toLowerCase();
    if (region === '') continue;
    names.add(regionName(prefix, region, federation.zone));
    for (const z of c.zones) {
      const zone = z.trim().toLowerCase();
      if (zone !== '') zones.add(zoneName(prefix, zone, region, federation.zone));
    }
  }
  return [...names, ...zones];
}

/**
 * Every reason the service's DNS names break DNS rule 7 (labels <= 63 octets,
 * names <= 253, hostname labels), over the given clusters; [] when they fit.
 * Service, namespace and federation are checked as written (a DNS name is
 * case-insensitive, but Kubernetes names must be lower-case, so "Web" is an
 * error rather than silently becoming "web"); a bad label is reported once,
 * at the first name it appears in.
 */
export function serviceNameProblems(
  federation: FederationRef,
  namespace: string,
  name: string,
  clusters: ClusterTopology[],
): string[] {
  const problems: string[] = [];
  const reported = new Set<string>();
  const global = globalName(servicePrefix(name, namespace, federation.name), federation.zone);
  const labelsAsWritten = [
    ['service', name],
    ['namespace', namespace],
    ['federation', federation.name],
  ] as const;
  for (const [what, label] of labelsAsWritten) {
    const p = labelProblem(label);
    if (p === undefined) continue;
    reported.add(label.toLowerCase());
    problems.push(`${what} label "${label}" of "${global}" ${p}`);
  }
  for (const full of serviceNames(federation, namespace, name, clusters)) {
    const text = absoluteName(full).slice(0, -1); // length is counted without the root's dot
    if (text.length > MAX_NAME) problems.push(`name "${full}" is ${text.length} octets, longer than ${MAX_NAME}`);
    for (const label of text.split('.')) {
      if (reported.has(label)) continue;
      const p = labelProblem(label);
      if (p === undefined) continue;
      reported.add(label);
      problems.push(`label "${label}" of "${full}" ${p}`);
    }
  }
  return problems;
}

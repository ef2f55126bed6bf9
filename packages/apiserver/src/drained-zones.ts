/**
 * `spec.drainedZones` of a Cluster against the zones the cluster has (spec.zones, else what the
 * controller read from its nodes into status.zones): a zone it does not have drains nothing, so
 * it is refused (422 naming the index and the cluster's zones). While the zones are not known yet,
 * and for a name the stored object already had (the cluster's zones changed since), the write
 * goes through with a Kubernetes warning instead.
 */
import { fieldError, type KubeObject, type StatusCause } from '@fedns/kubewire';
import { type ClusterObject, topologyFromCluster } from '@fedns/model';

export function drainedZoneCauses(c: KubeObject, old: KubeObject | undefined, warn: (text: string) => void): StatusCause[] {
  const drained = c.spec?.drainedZones;
  if (!Array.isArray(drained)) return [];
  const name = c.metadata.name ?? '';
  const zones = topologyFromCluster(c as unknown as ClusterObject).zones;
  const before: unknown[] = Array.isArray(old?.spec?.drainedZones) ? old.spec.drainedZones : [];
  const causes: StatusCause[] = [];
  drained.forEach((z: unknown, i) => {
    if (typeof z !== 'string' || zones.includes(z)) return;
    const field = `spec.drainedZones[${i}]`;
    if (zones.length === 0) warn(`${field}: cluster "${name}" has not reported its zones yet, so "${z}" cannot be checked; nothing is drained until the cluster has a zone of that name`);
    else if (before.includes(z)) warn(`${field}: cluster "${name}" has no zone "${z}" (zones: ${zones.join(', ')}); nothing is drained there`);
    else causes.push(fieldError.invalid(field, z, `cluster "${name}" has no such zone (zones: ${zones.join(', ')})`));
  });
  return causes;
}

import type { ClusterTopology, ServicePolicy, Shard } from '@fedns/model';
import { hasValidAddress } from './addresses.js';
import { isPlaced } from './topology.js';

/**
 * Whether a shard may be published: effectively healthy (the controller has
 * applied grace periods and stabilisation), in a known, undrained cluster the
 * service is placed in, with enough ready endpoints and at least one usable
 * load-balancer address. Zone drains are applied per level by the builder
 * (a drained zone loses the shard; a cluster whose zones are all drained is
 * out at every level).
 */
export function shardServable(shard: Shard, cluster: ClusterTopology | undefined, service: ServicePolicy): boolean {
  return (
    shard.healthy &&
    cluster !== undefined &&
    !cluster.drained &&
    shard.readyEndpoints >= service.minReadyEndpoints &&
    shard.addresses.length > 0 &&
    // An address list of only unparsable literals would publish nothing; count it as no address.
    hasValidAddress(shard.addresses) &&
    isPlaced(service, cluster.name)
  );
}

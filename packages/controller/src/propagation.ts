import type * as k8s from '@kubernetes/client-node';
import type { Store } from '@fedns/store';
import type { ClusterConnections } from './connections.js';
import type { Logger } from './logger.js';
import { apiCode, ingressOf, type MemberCluster } from './member.js';
import type { ControllerMetrics } from './metrics.js';
import { type Owner, ownerMarks, ownershipOf } from './ownership.js';
import { desiredMemberService, type FederatedService, memberDrift, mergeForReplace } from './propagate.js';
import { parseShardKey, placedIn } from './shards.js';

export interface PropagationOptions {
  store: Store;
  connections: ClusterConnections;
  owner: Owner;
  metrics: ControllerMetrics;
  log: Logger;
  /** A member Service was deleted because the service left the cluster (for `fedns history`). */
  onMemberDeleted(namespace: string, name: string, cause: string): void;
}

/**
 * Propagation (key `cluster/namespace/name`): brings one member cluster's copy
 * of a federated Service in line — create it (and its namespace), adopt an
 * unowned pre-existing one (seed 002), correct drift, delete it when the
 * service is gone or no longer placed there. It touches only what this
 * installation owns (ownership.ts): another federation's object is left
 * alone and reported by the shard reconciler. A member that cannot be
 * observed is skipped: its next sync queues every key again.
 * Failures throw; the work queue retries with back-off.
 */
export class PropagationReconciler {
  constructor(private readonly opts: PropagationOptions) {}

  async reconcile(key: string): Promise<void> {
    const [cluster, namespace, name] = parseShardKey(key);
    const { connections, store, owner } = this.opts;
    const conn = connections.get(cluster);
    if (!conn?.member || !connections.observable(conn)) return;
    const member = conn.member;
    const fed = (await store.getObject<FederatedService>('services', namespace, name))?.object;
    const live = member.getService(namespace, name);
    const ownership = ownershipOf(live, owner);
    if (ownership.kind === 'foreign') return;

    if (!fed || !placedIn(cluster, fed)) {
      if (live && ownership.kind === 'ours') await this.deleteCopy(member, live, fed ? 'no longer placed in this cluster' : 'federated service deleted');
      return;
    }
    const desired = desiredMemberService({ ...fed, metadata: { ...fed.metadata, namespace, name } }, owner);
    if (!live) return this.create(member, desired);
    const drift = memberDrift(live, desired);
    if (!drift) return;
    // The live object's resourceVersion rides along: a concurrent change gives 409 and a retry on fresh data.
    await member.core.replaceNamespacedService({ namespace, name, body: mergeForReplace(live, desired) });
    const action = ownership.kind === 'unowned' ? 'adopt' : 'update';
    this.count(cluster, action);
    this.opts.log.info({ cluster, service: `${namespace}/${name}`, drift }, action === 'adopt' ? 'member service adopted' : 'member service drift corrected');
  }

  private async create(member: MemberCluster, desired: k8s.V1Service): Promise<void> {
    const namespace = desired.metadata?.namespace ?? 'default';
    const name = desired.metadata?.name ?? '';
    try {
      await member.core.createNamespacedService({ namespace, body: desired });
    } catch (err) {
      if (apiCode(err) === 404) {
        // The namespace does not exist in the member yet: create it (marked as ours), then retry.
        const marks = ownerMarks(this.opts.owner);
        await member.core.createNamespace({ body: { metadata: { name: namespace, labels: marks.labels, annotations: marks.annotations } } }).catch((e) => {
          if (apiCode(e) !== 409) throw e;
        });
        await member.core.createNamespacedService({ namespace, body: desired });
      } else if (apiCode(err) === 409) {
        // It exists and our cache has not seen it yet: decide on a fresh read (it may be another federation's).
        const fresh = await member.core.readNamespacedService({ namespace, name });
        if (ownershipOf(fresh, this.opts.owner).kind === 'foreign') return;
        if (memberDrift(fresh, desired)) await member.core.replaceNamespacedService({ namespace, name, body: mergeForReplace(fresh, desired) });
        this.count(member.name, 'adopt');
        return;
      } else throw err;
    }
    this.count(member.name, 'create');
    this.opts.log.info({ cluster: member.name, service: `${namespace}/${name}` }, 'member service created');
  }

  private async deleteCopy(member: MemberCluster, live: k8s.V1Service, why: string): Promise<void> {
    const namespace = live.metadata?.namespace ?? '';
    const name = live.metadata?.name ?? '';
    const uid = live.metadata?.uid;
    await member.core.deleteNamespacedService({ namespace, name, body: uid ? { preconditions: { uid } } : {} }).catch((err) => {
      if (apiCode(err) !== 404) throw err;
    });
    this.count(member.name, 'delete');
    const { ips, hostnames } = ingressOf(live);
    const released = [...ips, ...hostnames];
    const lb = released.length ? `; its load balancer ${released.join(', ')} is released` : '';
    const cause = `member Service ${namespace}/${name} deleted in ${member.name} (${why})${lb}`;
    // A warning: a deleted copy's load balancer and its addresses are gone for good.
    this.opts.log.warn({ cluster: member.name, service: `${namespace}/${name}`, loadBalancer: released, cause }, 'member service deleted');
    this.opts.onMemberDeleted(namespace, name, cause);
  }

  private count(cluster: string, action: string): void {
    this.opts.metrics.propagations.inc({ cluster, action, result: 'ok' });
  }
}

/**
 * In-cluster answers (issue 12), key: `namespace/name` of a federated service. Reads the service,
 * the clusters' topology and the service's shards (with what each offers its own cluster),
 * asks the cascade for each cluster's answer, and commits the difference to the store's private
 * table — never to the zone: cluster IPs are not public data. Level-triggered: a key means
 * "look at this service again"; a service gone has its answers removed. Off (in-cluster answers
 * disabled): every answer goes.
 */
import { buildClusterAnswers, buildServiceRecordSets, diffClusterAnswers, type FederationRef } from '@fedns/cascade';
import type { ClusterAnswer, ClusterObject, PolicyDefaults } from '@fedns/model';
import { DEFAULT_POLICY, policyFromService, topologyFromCluster } from '@fedns/model';
import type { Fence, Store } from '@fedns/store';
import type { Logger } from './logger.js';
import type { FederatedService } from './propagate.js';

export interface ClusterAnswersOptions {
  store: Store;
  federation: FederationRef;
  defaults?: PolicyDefaults;
  /** Whether in-cluster answers are on. */
  enabled: boolean;
  fence: () => Fence | undefined;
  log: Logger;
}

export class ClusterAnswersReconciler {
  constructor(private readonly opts: ClusterAnswersOptions) {}

  /** Every service that has answers or should have them (the resync's keys). */
  async keys(): Promise<string[]> {
    const { store } = this.opts;
    const keys = new Set((await store.listObjects('services')).items.map((s) => `${s.namespace}/${s.name}`));
    for (const a of (await store.clusterAnswersSnapshot()).answers) keys.add(`${a.namespace}/${a.service}`);
    return [...keys];
  }

  async reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const { store, federation } = this.opts;
    const current = await store.clusterAnswersOfService(namespace, name);
    const fed = this.opts.enabled ? (await store.getObject<FederatedService>('services', namespace, name))?.object : undefined;
    let desired: ClusterAnswer[] = [];
    if (fed) {
      const clusters = (await store.listObjects<ClusterObject>('clusters')).items.map((c) => topologyFromCluster(c.object));
      const shards = await store.shardsOfService(namespace, name);
      const policy = { ...policyFromService({ ...fed.metadata, namespace, name }, this.opts.defaults ?? DEFAULT_POLICY), headless: fed.spec?.clusterIP === 'None' };
      desired = buildClusterAnswers(federation, policy, clusters, shards, buildServiceRecordSets(federation, policy, clusters, shards));
    }
    const diff = diffClusterAnswers(current, desired);
    if (diff.upserts.length === 0 && diff.deletes.length === 0) return;
    const seq = await store.commitClusterAnswers(diff, this.opts.fence());
    this.opts.log.debug({ service: key, seq, upserts: diff.upserts.length, deletes: diff.deletes.length }, 'in-cluster answers updated');
  }
}

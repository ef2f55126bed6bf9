/**
 * Member DNS configuration (issue 12 item 2), key: cluster name. Keeps this federation's server
 * block in each member's CoreDNS configuration, level-triggered: in `kube-system/coredns-custom`
 * under `fedns-<federation>.server` where the Corefile imports that key (AKS, k3s), else as a
 * marked block at the end of the Corefile in `kube-system/coredns`. Written at join, restored on
 * drift (a member ConfigMap event queues the cluster), retried at once when a resourceVersion race
 * answers 409, removed when the cluster leaves (through the member client the connection held) or
 * when it must not be there: in-cluster answers off, a namespace named like the federation (the
 * block would capture its Services' names), another server block already serving the zone.
 * Another installation's block is left alone. Every write carries the ownership marks: the
 * markers name the owning installation, and the ConfigMap gets the annotation
 * `coredns.federation.fedns.io/<federation>: <installation id>` (removed with the block; a
 * coredns-custom fedns had to create carries the full owner marks and is deleted with its last key).
 */
import type * as k8s from '@kubernetes/client-node';
import type { Store } from '@fedns/store';
import type { ClusterConnections } from './connections.js';
import { type BlockSpec, corefileOutline, customKey, findMarked, importsCustomKey, renderServerBlocks, servedZones, withMarkedBlock, withoutMarkedBlock, wrapMarked } from './corefile.js';
import type { Logger } from './logger.js';
import { apiCode } from './member.js';
import { type Owner, ownerMarks, ownershipOf } from './ownership.js';
import type { ReconcileResult } from './queue.js';

export interface InClusterDnsSettings {
  /** fedns's nameservers as the members reach them, `IP:PORT`. */
  forwardTo: string[];
  /** The private suffix of the per-cluster names, absolute. */
  suffix: string;
  /** Also keep a block for `svc.<clusterset domain>` (MCS names), absolute. */
  clustersetDomain?: string;
}

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local.';
export const COREDNS_ANNOTATION_PREFIX = 'coredns.federation.fedns.io/';

/** What a member's CoreDNS holds for this federation, for the Cluster condition `InClusterDNS`. */
export interface InClusterDnsState {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** The slice of a member client this reconciler uses (a MemberCluster, or a fake). */
export interface CoreDnsMember {
  readonly name: string;
  readonly core: Pick<k8s.CoreV1Api, 'readNamespacedConfigMap' | 'replaceNamespacedConfigMap' | 'createNamespacedConfigMap' | 'deleteNamespacedConfigMap' | 'readNamespace'>;
}

export interface CoreDnsReconcilerOptions {
  store: Store;
  connections: Pick<ClusterConnections, 'get' | 'observable'>;
  owner: Owner;
  /** Off (undefined): blocks this installation wrote are taken out again. */
  settings?: InClusterDnsSettings;
  log: Logger;
  /** The condition of a cluster changed: write its status. */
  onStateChanged(cluster: string): void;
  /** Counted: every 409 from a resourceVersion race, before the immediate retry. */
  onConflict?(cluster: string): void;
}

const NS = 'kube-system';
type ConfigMap = k8s.V1ConfigMap;

const absName = (n: string) => (n.endsWith('.') ? n.toLowerCase() : `${n.toLowerCase()}.`);

async function readOrUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (apiCode(err) === 404) return undefined;
    throw err;
  }
}

export class CoreDnsReconciler {
  /** Member clients of clusters that left, kept until their block is gone. */
  private readonly detached = new Map<string, CoreDnsMember>();
  private readonly states = new Map<string, InClusterDnsState>();

  constructor(private readonly opts: CoreDnsReconcilerOptions) {}

  /** The condition for a cluster's status (undefined: nothing known yet). */
  state(cluster: string): InClusterDnsState | undefined {
    return this.states.get(cluster);
  }

  /** A cluster left: its block goes through the client the connection held (queue the key after this). */
  detach(cluster: string, member: CoreDnsMember): void {
    this.detached.set(cluster, member);
  }

  private setState(cluster: string, s: InClusterDnsState | undefined): void {
    const prev = this.states.get(cluster);
    if (s === undefined) this.states.delete(cluster);
    else this.states.set(cluster, s);
    if (JSON.stringify(prev) !== JSON.stringify(s)) this.opts.onStateChanged(cluster);
  }

  async reconcile(cluster: string): Promise<ReconcileResult | undefined> {
    try {
      return await this.converge(cluster);
    } catch (err) {
      if (apiCode(err) !== 409) throw err;
      // Someone else wrote the ConfigMap between our read and our write: read again, at once.
      this.opts.onConflict?.(cluster);
      this.opts.log.info({ cluster }, 'member CoreDNS configuration changed under us (409); reading it again');
      return { requeueAfterMs: 0 };
    }
  }

  private async converge(cluster: string): Promise<ReconcileResult | undefined> {
    const { store, connections, settings, owner } = this.opts;
    const stored = await store.getObject<{ spec?: { clusterDomain?: string } }>('clusters', '', cluster);
    const conn = connections.get(cluster);
    const detached = this.detached.get(cluster);
    if (!stored) {
      if (!detached) return undefined;
      await this.apply(detached, undefined);
      this.detached.delete(cluster);
      this.setState(cluster, undefined);
      this.opts.log.info({ cluster }, 'member CoreDNS configuration restored: the cluster left the federation');
      return undefined;
    }
    if (detached) this.detached.delete(cluster); // joined again: the new connection's client takes over
    if (!conn?.member) return undefined;
    if (!connections.observable(conn)) {
      this.setState(cluster, { status: 'Unknown', reason: 'ClusterUnreachable', message: 'the member API does not answer; its CoreDNS configuration is looked at again when it does' });
      return undefined;
    }
    const clusterDomain = absName(stored.object.spec?.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN);
    if (!settings) {
      await this.apply(conn.member, undefined);
      this.setState(cluster, { status: 'False', reason: 'Disabled', message: 'in-cluster answers are off (no --cluster-dns-allow): no server block in the member CoreDNS' });
      return undefined;
    }
    const spec: BlockSpec = { federation: owner.federation, clusterDomain, cluster, suffix: settings.suffix, forwardTo: settings.forwardTo, ...(settings.clustersetDomain ? { clustersetDomain: settings.clustersetDomain } : {}) };
    const ns = await readOrUndefined(conn.member.core.readNamespace({ name: owner.federation }));
    if (ns) {
      await this.apply(conn.member, undefined);
      this.setState(cluster, {
        status: 'False',
        reason: 'NamespaceConflict',
        message: `the member has a namespace named "${owner.federation}": a server block for ${servedZones(spec)[0]} would capture its Services' names; rename the namespace or the federation`,
      });
      return undefined;
    }
    const outcome = await this.apply(conn.member, spec);
    this.setState(cluster, outcome);
    return undefined;
  }

  /**
   * Brings the member's two ConfigMaps in line: the block where it belongs (spec), or nowhere
   * (undefined). Returns the resulting condition.
   */
  private async apply(member: CoreDnsMember, spec: BlockSpec | undefined): Promise<InClusterDnsState> {
    const { owner } = this.opts;
    const fed = owner.federation;
    const key = customKey(fed);
    const core = await readOrUndefined(member.core.readNamespacedConfigMap({ name: 'coredns', namespace: NS }));
    const custom = await readOrUndefined(member.core.readNamespacedConfigMap({ name: 'coredns-custom', namespace: NS }));
    if (!core) return { status: 'False', reason: 'NoCoreDNS', message: 'the member has no ConfigMap kube-system/coredns' };
    const corefile = core.data?.Corefile ?? '';
    const inCore = findMarked(corefile, fed);
    const customText = custom?.data?.[key];
    const inCustom = customText !== undefined ? findMarked(customText, fed) : undefined;
    for (const [where, found] of [['kube-system/coredns', inCore], [`kube-system/coredns-custom key ${key}`, inCustom]] as const) {
      if (found === 'damaged') return { status: 'False', reason: 'MarkersDamaged', message: `the fedns markers in ${where} are damaged; fedns leaves it alone until they are repaired or the block is removed` };
      if (found && found.owner !== owner.installationId) return { status: 'False', reason: 'OwnedByAnotherInstallation', message: `${where} holds the block of federation ${fed} installation ${found.owner}; fedns leaves it alone` };
    }
    if (customText !== undefined && inCustom === undefined && ownershipOf(custom, owner).kind === 'foreign')
      return { status: 'False', reason: 'OwnedByAnotherInstallation', message: `kube-system/coredns-custom key ${key} belongs to another federation` };

    let want = spec && renderServerBlocks(spec);
    let state: InClusterDnsState = { status: 'False', reason: 'Removed', message: 'no server block of this federation in the member CoreDNS' };
    const useCustom = importsCustomKey(corefile, key);
    if (spec && want) {
      // Another server block (outside our markers) for one of our zones: CoreDNS would refuse the whole Corefile.
      const others = [...corefileOutline(withoutMarkedBlock(corefile, fed)).zones];
      if (useCustom)
        for (const [k, v] of Object.entries(custom?.data ?? {})) if (k !== key && importsCustomKey(corefile, k)) others.push(...corefileOutline(v).zones);
      const taken = servedZones(spec).filter((z) => others.includes(z));
      if (taken.length) {
        want = undefined;
        state = { status: 'False', reason: 'ZoneTaken', message: `another server block of the member CoreDNS already serves ${taken.join(', ')}; fedns adds none` };
      } else
        state = {
          status: 'True',
          reason: 'Configured',
          message: `${servedZones(spec).join(' and ')} forwarded to ${spec.forwardTo.join(', ')} as ${fed}.svc.${spec.cluster}.${spec.suffix} (${useCustom ? `kube-system/coredns-custom key ${key}` : 'marked block in kube-system/coredns'})`,
        };
    }

    // Take the block out of where it must not be first (two blocks for one zone would not load), then put it in.
    const coreText = want && !useCustom ? withMarkedBlock(corefile, fed, owner.installationId, want) : withoutMarkedBlock(corefile, fed);
    const customWanted = want && useCustom ? wrapMarked(fed, owner.installationId, want) : undefined;
    if (coreText !== corefile && !(want && !useCustom)) await this.writeCore(member, core, coreText, false);
    if (customText !== customWanted) await this.writeCustom(member, custom, customWanted);
    if (coreText !== corefile && want && !useCustom) await this.writeCore(member, core, coreText, true);
    return state;
  }

  private async writeCore(member: CoreDnsMember, cm: ConfigMap, corefile: string, hasBlock: boolean): Promise<void> {
    const ann = annotationKey(this.opts.owner.federation);
    const annotations = { ...(cm.metadata?.annotations ?? {}) };
    if (hasBlock) annotations[ann] = this.opts.owner.installationId;
    else delete annotations[ann];
    const metadata = { ...cm.metadata, annotations };
    if (Object.keys(annotations).length === 0) delete (metadata as { annotations?: unknown }).annotations;
    // The read's resourceVersion rides along: a concurrent edit answers 409 and we read again.
    await member.core.replaceNamespacedConfigMap({ name: 'coredns', namespace: NS, body: { ...cm, metadata, data: { ...(cm.data ?? {}), Corefile: corefile } } });
    this.opts.log.info({ cluster: member.name, block: hasBlock ? 'written' : 'removed' }, hasBlock ? 'member CoreDNS: fedns block written in kube-system/coredns' : 'member CoreDNS: fedns block removed from kube-system/coredns');
  }

  private async writeCustom(member: CoreDnsMember, cm: ConfigMap | undefined, value: string | undefined): Promise<void> {
    const { owner } = this.opts;
    const key = customKey(owner.federation);
    const ann = annotationKey(owner.federation);
    if (!cm) {
      if (value === undefined) return;
      const marks = ownerMarks(owner);
      await member.core.createNamespacedConfigMap({
        namespace: NS,
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns-custom', namespace: NS, labels: marks.labels, annotations: { ...marks.annotations, [ann]: owner.installationId } }, data: { [key]: value } },
      });
      this.opts.log.info({ cluster: member.name }, 'member CoreDNS: created kube-system/coredns-custom with the fedns block');
      return;
    }
    const data = { ...(cm.data ?? {}) };
    if (value === undefined) delete data[key];
    else data[key] = value;
    const ours = ownershipOf(cm, owner).kind === 'ours';
    if (value === undefined && ours && Object.keys(data).length === 0 && !cm.binaryData) {
      // fedns created it for its block alone: it goes with the block.
      await member.core.deleteNamespacedConfigMap({ name: 'coredns-custom', namespace: NS, body: cm.metadata?.uid ? { preconditions: { uid: cm.metadata.uid, resourceVersion: cm.metadata.resourceVersion } } : {} });
      this.opts.log.info({ cluster: member.name }, 'member CoreDNS: deleted kube-system/coredns-custom (fedns had created it for its block)');
      return;
    }
    const annotations = { ...(cm.metadata?.annotations ?? {}) };
    if (value === undefined) delete annotations[ann];
    else annotations[ann] = owner.installationId;
    const metadata = { ...cm.metadata, annotations };
    if (Object.keys(annotations).length === 0) delete (metadata as { annotations?: unknown }).annotations;
    const body: ConfigMap = { ...cm, metadata };
    if (Object.keys(data).length) body.data = data;
    else delete body.data;
    await member.core.replaceNamespacedConfigMap({ name: 'coredns-custom', namespace: NS, body });
    this.opts.log.info({ cluster: member.name, key, block: value === undefined ? 'removed' : 'written' }, `member CoreDNS: fedns block ${value === undefined ? 'removed from' : 'written in'} kube-system/coredns-custom`);
  }
}

export const annotationKey = (federation: string) => `${COREDNS_ANNOTATION_PREFIX}${federation}`;

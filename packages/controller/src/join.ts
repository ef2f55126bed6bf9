import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { labelProblem } from '@fedns/model';
import type { Store } from '@fedns/store';
import { loadKubeconfig } from './member.js';

export class JoinError extends Error {}

/**
 * The kubeconfig of one context, reduced to its cluster and user, so fedns
 * stores only the credentials it needs for this member.
 */
export function singleContextKubeconfig(text: string, context?: string): { kubeconfig: string; server: string; context: string } {
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new JoinError(`kubeconfig: cannot parse: ${(err as Error).message}`);
  }
  const ctxName = context ?? kc.getCurrentContext();
  const ctx = kc.getContextObject(ctxName);
  if (!ctx) throw new JoinError(`kubeconfig: no context named "${ctxName}" (have: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
  const cluster = kc.getCluster(ctx.cluster);
  if (!cluster) throw new JoinError(`kubeconfig: context "${ctxName}" names cluster "${ctx.cluster}", which is not defined`);
  const user = kc.getUser(ctx.user);
  const one = new k8s.KubeConfig();
  one.loadFromOptions({
    clusters: [cluster],
    users: [user ?? { name: 'anonymous' }],
    contexts: [{ name: ctxName, cluster: cluster.name, user: user?.name ?? 'anonymous' }],
    currentContext: ctxName,
  });
  return { kubeconfig: one.exportConfig(), server: cluster.server, context: ctxName };
}

/** Checks that the member answers (GET /version) before it is recorded. */
export async function checkReachable(kubeconfig: string, timeoutMs = 3000): Promise<string> {
  const kc = loadKubeconfig(kubeconfig);
  const version = kc.makeApiClient(k8s.VersionApi);
  const timer = new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref());
  try {
    const v = await Promise.race([version.getCode(), timer]);
    return v.gitVersion;
  } catch (err) {
    throw new JoinError(`cluster at ${kc.getCurrentCluster()?.server} is not reachable: ${(err as Error).message}`);
  }
}

/** Records a member cluster and its (encrypted) credentials in one transaction. */
export function recordJoin(
  store: Store,
  name: string,
  kubeconfig: string,
  server: string,
  spec: { region?: string; zones?: string[] } = {},
  opts: { replace?: boolean } = {},
): void {
  const p = labelProblem(name);
  if (p) throw new JoinError(`cluster name "${name}" ${p}`);
  store.tx(() => {
    const existing = store.getCluster<{ spec?: Record<string, unknown> }>(name);
    if (existing && opts.replace) {
      // Re-join (e.g. the demo's simulated clusters come back on new ports): new endpoint and credentials, same identity.
      store.putCluster({ ...existing, resourceVersion: store.nextResourceVersion(), object: { ...existing.object, spec: { ...existing.object.spec, server, ...spec } } });
      store.setClusterCredentials(name, kubeconfig);
      return;
    }
    if (existing) throw new JoinError(`cluster "${name}" is already joined (unjoin it first)`);
    const object = {
      apiVersion: 'federation.fedns.io/v1',
      kind: 'Cluster',
      metadata: { name, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
      spec: { server, ...spec },
      status: {},
    };
    store.putCluster({ name, uid: object.metadata.uid, resourceVersion: store.nextResourceVersion(), object });
    store.setClusterCredentials(name, kubeconfig);
  });
}

/** Removes a member cluster; the controller then drops what only it contributed. */
export function recordUnjoin(store: Store, name: string): void {
  store.tx(() => {
    if (!store.deleteCluster(name)) throw new JoinError(`cluster "${name}" is not joined`);
    store.deleteShardsOfCluster(name);
    store.nextResourceVersion();
  });
}

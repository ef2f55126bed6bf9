import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { labelProblem } from '@fedns/model';
import { ConflictError, type Store } from '@fedns/store';
import { apiCode, loadKubeconfig } from './member.js';

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

/**
 * Whether the member has a namespace named like the federation (issue 12): the server block for
 * `<federation>.svc.<cluster-domain>` would capture that namespace's Service names, so such a
 * cluster is not joined. true/false, or undefined when the member cannot tell us in time.
 */
export async function namespaceConflict(kubeconfig: string, federation: string, timeoutMs = 3000): Promise<boolean | undefined> {
  const kc = loadKubeconfig(kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
  });
  try {
    await Promise.race([core.readNamespace({ name: federation }), timeout]);
    return true;
  } catch (err) {
    return apiCode(err) === 404 ? false : undefined;
  } finally {
    clearTimeout(timer);
  }
}

export const namespaceConflictMessage = (federation: string) =>
  `the member cluster has a namespace named "${federation}": the in-cluster names ${federation}.svc.<cluster-domain> would capture its Services' names; rename the namespace or the federation`;

/**
 * Records a member cluster and its (encrypted) credentials in one write.
 * `replace`: a re-join (the demo's simulated clusters come back on new ports)
 * keeps the cluster's identity and takes the new endpoint and credentials.
 */
export async function recordJoin(
  store: Store,
  name: string,
  kubeconfig: string,
  server: string,
  spec: { region?: string; zones?: string[] } = {},
  opts: { replace?: boolean } = {},
): Promise<void> {
  const p = labelProblem(name);
  if (p) throw new JoinError(`cluster name "${name}" ${p}`);
  for (;;) {
    const existing = await store.getObject<{ spec?: Record<string, unknown> }>('clusters', '', name);
    if (existing && !opts.replace) throw new JoinError(`cluster "${name}" is already joined (unjoin it first)`);
    try {
      if (existing) {
        await store.updateObject({ ...existing, object: { ...existing.object, spec: { ...existing.object.spec, server, ...spec } }, credentials: kubeconfig }, existing.resourceVersion);
        return;
      }
      const uid = randomUUID();
      const object = {
        apiVersion: 'federation.fedns.io/v1',
        kind: 'Cluster',
        metadata: { name, uid, creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
        spec: { server, ...spec },
        status: {},
      };
      await store.createObject({ kind: 'clusters', namespace: '', name, uid, object, credentials: kubeconfig });
      return;
    } catch (err) {
      // Written by someone else between the read and the write: read again and decide again.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}

/** Removes a member cluster; the controller then drops what only it contributed. */
export async function recordUnjoin(store: Store, name: string): Promise<void> {
  if (!(await store.deleteObject('clusters', '', name))) throw new JoinError(`cluster "${name}" is not joined`);
}

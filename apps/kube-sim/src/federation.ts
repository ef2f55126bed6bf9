/** Starting a whole federation of simulated clusters from a scenario, and writing kubeconfigs for it. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify, parse } from 'yaml';
import { type SimCluster, type SimClusterOptions, startSimCluster } from './cluster.js';

export interface ScenarioCluster {
  name: string;
  region: string;
  zones: string[];
  lbPool: string;
  nodesPerZone?: number;
  lbIngress?: SimClusterOptions['lbIngress'];
  /** The cluster DNS's seeded Corefile: `kubeadm` (default) or `custom-import` (AKS-style coredns-custom imports). */
  corefile?: 'kubeadm' | 'custom-import';
}

export interface Scenario {
  federation?: string;
  zone?: string;
  clusters: ScenarioCluster[];
}

/** Parses and checks a scenario (YAML text or an already parsed object). */
export function parseScenario(input: string | unknown): Scenario {
  const raw = typeof input === 'string' ? parse(input) : input;
  if (!raw || typeof raw !== 'object' || !Array.isArray((raw as Scenario).clusters))
    throw new Error('scenario: expected a mapping with a `clusters` list');
  const sc = raw as Scenario;
  const names = new Set<string>();
  sc.clusters.forEach((c, i) => {
    if (!c || typeof c.name !== 'string' || !c.name) throw new Error(`scenario: clusters[${i}].name is required`);
    if (names.has(c.name)) throw new Error(`scenario: clusters[${i}].name "${c.name}" is duplicated`);
    names.add(c.name);
    if (typeof c.region !== 'string' || !c.region) throw new Error(`scenario: clusters[${i}].region is required`);
    if (!Array.isArray(c.zones) || !c.zones.length || !c.zones.every((z) => typeof z === 'string'))
      throw new Error(`scenario: clusters[${i}].zones must be a non-empty list of strings`);
    if (typeof c.lbPool !== 'string' || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c.lbPool)) throw new Error(`scenario: clusters[${i}].lbPool must be an IPv4 CIDR`);
    if (c.corefile !== undefined && c.corefile !== 'kubeadm' && c.corefile !== 'custom-import') throw new Error(`scenario: clusters[${i}].corefile must be kubeadm or custom-import`);
  });
  return sc;
}

export function loadScenario(path: string): Scenario {
  return parseScenario(readFileSync(path, 'utf8'));
}

export interface KubeconfigEntry {
  /** Used for the context, cluster and user names. */
  name: string;
  server: string;
  token?: string;
  namespace?: string;
  /**
   * Sets `insecure-skip-tls-verify: true` on the cluster. Default: true for `http://` servers, because
   * @kubernetes/client-node refuses plain HTTP otherwise ("HTTP protocol is not allowed when
   * skipTLSVerify is not set or false"); kubectl ignores it for http.
   */
  insecureSkipTLSVerify?: boolean;
}

/** A kubeconfig with one context/cluster/user per entry, each named as the entry. */
export function buildKubeconfig(entries: KubeconfigEntry[], currentContext?: string): string {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    'current-context': currentContext ?? entries[0]?.name ?? '',
    clusters: entries.map((e) => ({
      name: e.name,
      cluster: { server: e.server, ...((e.insecureSkipTLSVerify ?? e.server.startsWith('http:')) ? { 'insecure-skip-tls-verify': true } : {}) },
    })),
    users: entries.map((e) => ({ name: e.name, user: e.token ? { token: e.token } : {} })),
    contexts: entries.map((e) => ({ name: e.name, context: { cluster: e.name, user: e.name, ...(e.namespace ? { namespace: e.namespace } : {}) } })),
  };
  return stringify(doc);
}

export function writeKubeconfig(path: string, entries: KubeconfigEntry[], currentContext?: string): string {
  const text = buildKubeconfig(entries, currentContext);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode: 0o600 });
  return text;
}

export interface SimFederationOptions {
  /** A Scenario, YAML text, or the path of a scenario file. */
  scenario: Scenario | string;
  /** Write a kubeconfig (one context per cluster) here. */
  kubeconfigPath?: string;
  /** Extra contexts put first in the kubeconfig (e.g. `federation-cluster`). */
  extraContexts?: KubeconfigEntry[];
  currentContext?: string;
  /** Options applied to every cluster (name/region/zones/lbPool come from the scenario). */
  clusterDefaults?: Omit<SimClusterOptions, 'name' | 'region' | 'zones' | 'lbPool'>;
  /** Add a bearer token `kube-sim-<name>` per user in the kubeconfig (accepted by the sims; default true). */
  tokens?: boolean;
}

export interface SimFederation {
  scenario: Scenario;
  clusters: SimCluster[];
  byName: Map<string, SimCluster>;
  /** kubeconfig entries for the member clusters */
  entries: KubeconfigEntry[];
  kubeconfig: string;
  kubeconfigPath?: string;
  close(): Promise<void>;
}

/** Starts one sim per scenario cluster (each on its own loopback port) and optionally writes a kubeconfig. */
export async function startSimFederation(opts: SimFederationOptions): Promise<SimFederation> {
  let scenario: Scenario;
  if (typeof opts.scenario === 'string') scenario = opts.scenario.includes('\n') ? parseScenario(opts.scenario) : loadScenario(opts.scenario);
  else scenario = parseScenario(opts.scenario);
  const clusters: SimCluster[] = [];
  try {
    for (const c of scenario.clusters) {
      clusters.push(
        await startSimCluster({
          ...opts.clusterDefaults,
          name: c.name,
          region: c.region,
          zones: c.zones,
          lbPool: c.lbPool,
          ...(c.nodesPerZone !== undefined ? { nodesPerZone: c.nodesPerZone } : {}),
          ...(c.lbIngress ? { lbIngress: c.lbIngress } : {}),
          ...(c.corefile && opts.clusterDefaults?.dns !== false ? { dns: { ...(opts.clusterDefaults?.dns || {}), corefile: c.corefile } } : {}),
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(clusters.map((c) => c.close()));
    throw err;
  }
  const entries: KubeconfigEntry[] = clusters.map((c) => ({ name: c.name, server: c.url, ...(opts.tokens === false ? {} : { token: opts.clusterDefaults?.token ?? `kube-sim-${c.name}` }) }));
  const all = [...(opts.extraContexts ?? []), ...entries];
  const kubeconfig = opts.kubeconfigPath ? writeKubeconfig(opts.kubeconfigPath, all, opts.currentContext) : buildKubeconfig(all, opts.currentContext);
  return {
    scenario,
    clusters,
    byName: new Map(clusters.map((c) => [c.name, c])),
    entries,
    kubeconfig,
    kubeconfigPath: opts.kubeconfigPath,
    async close() {
      await Promise.allSettled(clusters.map((c) => c.close()));
    },
  };
}

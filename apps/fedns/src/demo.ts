import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordJoin } from '@fedns/controller';
import { buildKubeconfig, loadScenario, type Scenario, startSimCluster } from '@fedns/kube-sim';
import { labelProblem } from '@fedns/model';
import { parseNetwork } from '@fedns/nameserver';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { type Config, UsageError } from './config.js';
import { demoApiSecurity } from './demo-security.js';
import { type Running, startServe } from './roles.js';

/** The seed's federation, beside the repo in shared/. */
export const DEFAULT_SCENARIO = fileURLToPath(new URL('../../../../shared/scenarios/seed-federation.yaml', import.meta.url));

/** The seed scenario through kube-sim's parser, with errors as one usage line; names checked as DNS labels. */
export function readScenario(path: string): Scenario & { federation: string; zone: string } {
  let scenario: Scenario;
  try {
    scenario = loadScenario(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(e.code ? `scenario: cannot read ${path}: ${e.code}` : e.message);
  }
  scenario.clusters.forEach((c, i) => {
    for (const [k, v] of [['name', c.name], ['region', c.region], ...c.zones.map((z) => ['zones', z] as const)] as const) {
      const p = labelProblem(v);
      if (p) throw new UsageError(`scenario: clusters[${i}].${k} "${v}" ${p}`);
    }
  });
  return { ...scenario, federation: scenario.federation ?? 'myfederation', zone: scenario.zone ?? 'example.com.' };
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `demo`: `serve` plus the seed's simulated member clusters, each on its own
 * loopback port, joined to the federation; writes `<data-dir>/kubeconfig`.
 */
export async function startDemo(c: Config, run: Running): Promise<void> {
  const scenario = readScenario(c.scenario ?? DEFAULT_SCENARIO);
  // The scenario names its federation and zone; flags that differ from the defaults win.
  const cfg: Config = {
    ...c,
    federation: c.federation !== 'myfederation' ? c.federation : scenario.federation,
    zone: c.zone !== 'example.com.' ? c.zone : scenario.zone,
    // In-cluster answers on: the simulated clusters' DNS forwards from loopback (issue 12).
    clusterDns: c.clusterDns.allow.length ? c.clusterDns : { ...c.clusterDns, allow: [parseNetwork('127.0.0.0/8')], allowText: ['127.0.0.0/8'] },
  };
  say(`fedns demo: starting ${scenario.clusters.length} simulated member clusters…`);
  const sims = [];
  for (const [i, cl] of scenario.clusters.entries()) {
    const sim = await startSimCluster({ name: cl.name, region: cl.region, zones: cl.zones, lbPool: cl.lbPool, host: '127.0.0.1', port: 0, ...(cl.corefile ? { dns: { corefile: cl.corefile } } : {}) });
    run.closers.push(() => sim.close());
    sims.push(sim);
    say(`  [${i + 1}/${scenario.clusters.length}] ${cl.name.padEnd(20)} ${cl.region}/${cl.zones.join(',')}  ${sim.url}  DNS ${sim.dnsAddress}`);
  }
  // The federation API asks for a bearer token (over HTTPS: kubectl sends none over plain HTTP);
  // an admin token and the certificate go into the kubeconfig. Made once per data directory.
  const { adminToken, demoCa, note } = demoApiSecurity(cfg);
  if (note) say(`fedns demo: ${note}`);
  say('fedns demo: starting fedns (API, controller, nameserver)…');
  const { store, plane, apiUrl } = await startServe(cfg, run);
  for (const sim of sims) {
    const kc = buildKubeconfig([{ name: sim.name, server: sim.url }], sim.name);
    await recordJoin(store, sim.name, kc, sim.url, {}, { replace: true });
  }
  await plane.controller()?.syncClusters();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ready = sims.filter((s) => plane.controller()?.clusterState(s.name)?.countsReady).length;
    if (ready === sims.length || Date.now() > deadline) {
      say(`fedns demo: ${ready}/${sims.length} member clusters joined and Ready`);
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const kubeconfigPath = resolve(join(cfg.dataDir, 'kubeconfig'));
  const apiServer = apiUrl.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://127.0.0.1:');
  // A TLS certificate the demo did not make: the demo kubeconfig does not check it.
  const federationEntry = { name: 'federation-cluster', server: apiServer, ...(adminToken ? { token: adminToken } : {}), ...(cfg.tls && !demoCa ? { insecureSkipTLSVerify: true } : {}) };
  const entries = [federationEntry, ...sims.map((s) => ({ name: s.name, server: s.url }))];
  const doc = parseYaml(buildKubeconfig(entries, 'federation-cluster')) as { clusters: { name: string; cluster: Record<string, unknown> }[] };
  const fedCluster = doc.clusters.find((c) => c.name === 'federation-cluster');
  if (demoCa && fedCluster) fedCluster.cluster['certificate-authority-data'] = demoCa;
  writeFileSync(kubeconfigPath, stringifyYaml(doc), { mode: 0o600 });
  const dns = `${cfg.dnsListen.host} -p ${cfg.dnsListen.port}`;
  const first = sims[0]?.name ?? 'gce-asia-east1a';
  const zoneRegion = scenario.clusters.find((s) => s.name === 'gce-us-central1f') ?? scenario.clusters[0];
  const nginxYaml = fileURLToPath(new URL('../../../../shared/scenarios/nginx.yaml', import.meta.url));
  say('');
  say(`fedns demo is running: federation "${cfg.federation}", zone ${cfg.zone}`);
  say(`  federation API  ${apiUrl}`);
  say(`  nameserver      ${cfg.dnsListen.host}:${cfg.dnsListen.port} (UDP and TCP)`);
  say(`  cluster DNS     each member's, listed above (kube-system/kube-dns, annotation sim.fedns.io/dns-listen); in-cluster answers to ${cfg.clusterDns.allowText.join(', ')}`);
  say(`  kubeconfig      ${kubeconfigPath}`);
  say(`  API tokens      ${cfg.tokenAuthFile}${adminToken ? ' (demo-admin in the kubeconfig; demo-viewer is read-only)' : ''}`);
  say(`  logs            ${resolve(join(cfg.dataDir, 'fedns.log'))}`);
  say('');
  say('Try (seed 002):');
  say(`  export KUBECONFIG=${kubeconfigPath}`);
  say(`  kubectl --context=federation-cluster create -f ${nginxYaml}`);
  say(`  kubectl --context=${first} get services nginx`);
  say('  kubectl --context=federation-cluster describe services nginx');
  say(`  kubectl --context=${first} run nginx --image=nginx:1.11.1-alpine --port=80`);
  if (zoneRegion) say(`  dig @${dns} nginx.default.${cfg.federation}.svc.${zoneRegion.zones[0]}.${zoneRegion.region}.${cfg.zone} A`);
  // What a pod asks its cluster DNS (the in-cluster half of seed 002): the cluster with the pods
  // answers its own shard's cluster IP, one without the chain to the nearest healthy shard.
  const firstDns = sims[0]?.dnsAddress.split(':') ?? [];
  const other = sims.find((s) => s.name === zoneRegion?.name) ?? sims[1];
  const otherDns = other?.dnsAddress.split(':') ?? [];
  say(`  dig @${firstDns[0]} -p ${firstDns[1]} nginx.default.${cfg.federation}.svc.cluster.local     # a pod in ${first}: its own shard's cluster IP`);
  if (other) say(`  dig @${otherDns[0]} -p ${otherDns[1]} nginx.default.${cfg.federation}.svc.cluster.local     # a pod in ${other.name} (no pods): the chain to the nearest healthy shard`);
  say(`  scripts/pnpm fedns explain nginx.default.${cfg.federation}.svc.${cfg.zone} --data-dir ${cfg.dataDir}`);
  say(`  PATH=${resolve(fileURLToPath(new URL('../../../bin', import.meta.url)))}:$PATH kubectl fedns status      # the kubectl plugin`);
  say(`  dashboard: ${apiServer}/ui/ (log in with a token of ${cfg.tokenAuthFile ?? 'the token file'})`);
  say('');
  say('Ctrl-C stops everything.');
}

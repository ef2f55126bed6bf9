/**
 * kube-sim CLI.
 *   node --import tsx apps/kube-sim/src/main.ts --name gce-asia-east1a --region asia-east1 \
 *     --zones asia-east1-a --lb-pool 198.51.100.0/28 --listen 127.0.0.1:0 [--kubeconfig FILE]
 *   node --import tsx apps/kube-sim/src/main.ts --scenario seed-federation.yaml --kubeconfig FILE
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type SimCluster, startSimCluster } from './cluster.js';
import { startSimFederation, writeKubeconfig } from './federation.js';

const USAGE = `usage: kube-sim [--name N] [--region R] [--zones a,b] [--lb-pool CIDR] [--listen HOST:PORT]
                [--nodes-per-zone N] [--kubelet-delay-ms MS] [--lb-delay-ms MS] [--lb-ingress ip|hostname|both]
                [--service-cidr CIDR] [--token T] [--log-level LEVEL] [--kubeconfig FILE]
                [--dns-port PORT] [--corefile kubeadm|custom-import] [--cluster-domain D] [--no-dns]
       kube-sim --scenario FILE [--kubeconfig FILE] [common options]`;

let prog = 'kube-sim';

function fail(msg: string): never {
  process.stderr.write(`${prog}: ${msg} (usage: ${prog} --help)\n`);
  process.exit(2);
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) fail(`--${name}: expected a non-negative number, got "${v}"`);
  return n;
}

/** Runs the CLI on `argv` (without node and script); `name` is how errors and usage call it. */
export async function runKubeSim(argv: string[], name = 'kube-sim'): Promise<void> {
  prog = name;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        name: { type: 'string' },
        region: { type: 'string' },
        zones: { type: 'string' },
        'lb-pool': { type: 'string' },
        listen: { type: 'string' },
        'nodes-per-zone': { type: 'string' },
        'kubelet-delay-ms': { type: 'string' },
        'lb-delay-ms': { type: 'string' },
        'lb-ingress': { type: 'string' },
        'service-cidr': { type: 'string' },
        token: { type: 'string' },
        'log-level': { type: 'string' },
        kubeconfig: { type: 'string' },
        scenario: { type: 'string' },
        'dns-port': { type: 'string' },
        corefile: { type: 'string' },
        'cluster-domain': { type: 'string' },
        'no-dns': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) {
    process.stdout.write(`${USAGE.replaceAll('kube-sim', prog)}\n`);
    return;
  }
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const lbIngress = str('lb-ingress');
  if (lbIngress && !['ip', 'hostname', 'both'].includes(lbIngress)) fail(`--lb-ingress: expected ip, hostname or both, got "${lbIngress}"`);
  const corefile = str('corefile');
  if (corefile && corefile !== 'kubeadm' && corefile !== 'custom-import') fail(`--corefile: expected kubeadm or custom-import, got "${corefile}"`);
  const dnsPort = num('dns-port', str('dns-port'));
  const dns = v['no-dns']
    ? (false as const)
    : {
        ...(dnsPort !== undefined ? { port: dnsPort } : {}),
        ...(corefile ? { corefile: corefile as 'kubeadm' | 'custom-import' } : {}),
        ...(str('cluster-domain') ? { clusterDomain: str('cluster-domain') as string } : {}),
      };
  const common = {
    nodesPerZone: num('nodes-per-zone', str('nodes-per-zone')),
    kubeletDelayMs: num('kubelet-delay-ms', str('kubelet-delay-ms')),
    lbDelayMs: num('lb-delay-ms', str('lb-delay-ms')),
    lbIngress: lbIngress as 'ip' | 'hostname' | 'both' | undefined,
    serviceCidr: str('service-cidr'),
    token: str('token'),
    logLevel: str('log-level') ?? 'silent',
    dns,
  };
  for (const k of Object.keys(common) as (keyof typeof common)[]) if (common[k] === undefined) delete common[k];

  let clusters: SimCluster[];
  let close: () => Promise<void>;
  const kubeconfig = str('kubeconfig');
  try {
    if (str('scenario')) {
      const fed = await startSimFederation({ scenario: str('scenario') as string, kubeconfigPath: kubeconfig, clusterDefaults: common });
      clusters = fed.clusters;
      close = () => fed.close();
    } else {
      const sim = await startSimCluster({
        ...common,
        name: str('name'),
        region: str('region'),
        zones: str('zones')
          ?.split(',')
          .map((z) => z.trim())
          .filter(Boolean),
        lbPool: str('lb-pool'),
        listen: str('listen'),
      });
      clusters = [sim];
      close = () => sim.close();
      if (kubeconfig) writeKubeconfig(kubeconfig, [{ name: sim.name, server: sim.url, ...(common.token ? { token: common.token } : {}) }]);
    }
  } catch (err) {
    fail((err as Error).message);
  }
  for (const c of clusters) process.stdout.write(`kube-sim ${c.name} (${c.region}: ${c.zones.join(',')}, lb ${c.lbPool}) listening on ${c.url}${c.dnsAddress ? ` (cluster DNS ${c.dnsAddress})` : ''}\n`);
  if (kubeconfig) process.stdout.write(`kubeconfig written to ${kubeconfig}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

// Run when executed directly, not when imported (as `fedns sim-cluster` does).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void runKubeSim(process.argv.slice(2));

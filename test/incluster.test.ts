/**
 * Issue 12 end to end: pods find the nearest healthy shard. `fedns demo` over three simulated
 * clusters (one with AKS-style coredns-custom imports), the real kubectl, and the real dig asking
 * each cluster's own DNS (kube-sim's CoreDNS stand-in running the block fedns wrote) — also as a
 * pod's resolver does it, with the search list and ndots:5 of a pod's resolv.conf. Then: the
 * answer turning over when pods fail and back after stabilisation, the MCS names, the apex, case
 * and TCP, privacy (no cluster IP in the public zone, its transfers or answers to others), a hand
 * edit restored, a concurrent edit (409) retried, a namespace named like the federation refused,
 * and unjoin restoring each ConfigMap byte for byte.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { customImportCorefile, kubeadmCorefile, type SimCluster, startSimCluster, buildKubeconfig } from '@fedns/kube-sim';
import { parse } from 'yaml';
import { type DigAnswer, type FednsProcess, freePort, kubeRequest, runFedns, SHARED, spawnFedns, tempDir, waitFor, waitDemoUp } from './helpers.js';

const execFileP = promisify(execFile);
const dataDir = tempDir('fedns-incluster-');
const kubeconfig = join(dataDir, 'kubeconfig');
let demo: FednsProcess;
let dnsPort = 0;
const servers = new Map<string, string>();
const dnsOf = new Map<string, string>();

const A = 'gce-us-central1a'; // kubeadm Corefile; pods
const F = 'gce-us-central1f'; // AKS-style Corefile (coredns-custom); no pods, same region as A
const E = 'gce-europe-west1b'; // kubeadm Corefile; no pods, another region
const SCENARIO = `federation: myfederation
zone: example.com.
clusters:
  - { name: ${A}, region: us-central1, zones: [us-central1-a], lbPool: 198.51.100.0/28 }
  - { name: ${F}, region: us-central1, zones: [us-central1-f], lbPool: 198.51.100.16/28, corefile: custom-import }
  - { name: ${E}, region: europe-west1, zones: [europe-west1-b], lbPool: 198.51.100.32/28 }
`;
const STABILIZATION_MS = 1500;
const IN_CLUSTER = 'nginx.default.myfederation.svc.cluster.local.';
const P = 'nginx.default.myfederation.svc';

const kubectl = async (...args: string[]) => (await execFileP('kubectl', ['--kubeconfig', kubeconfig, ...args])).stdout;
const kjson = async (...args: string[]) => JSON.parse(await kubectl(...args, '-o', 'json'));
const sim = async (cluster: string, path: string, body: unknown) => {
  const res = await fetch(`${servers.get(cluster)}/sim/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.ok(res.ok, `sim ${cluster} ${path}: ${res.status}`);
  return res.json();
};
const coredns = (cluster: string) => kjson(`--context=${cluster}`, '-n', 'kube-system', 'get', 'configmap', 'coredns');
const corednsCustom = (cluster: string) => kjson(`--context=${cluster}`, '-n', 'kube-system', 'get', 'configmap', 'coredns-custom');
const lbOf = async (cluster: string) => (await kjson(`--context=${cluster}`, 'get', 'service', 'nginx')).status.loadBalancer.ingress[0].ip as string;
const clusterIPOf = async (cluster: string) => (await kjson(`--context=${cluster}`, 'get', 'service', 'nginx')).spec.clusterIP as string;
const condition = async (cluster: string, type: string) =>
  ((await kjson('--context=federation-cluster', 'get', 'clusters', cluster)).status?.conditions ?? []).find((c: { type: string }) => c.type === type) as { status: string; reason: string; message: string } | undefined;

function parseDig(stdout: string): DigAnswer {
  const section = (title: string) => {
    const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
    return (m?.[1] ?? '')
      .split('\n')
      .filter((l) => l && !l.startsWith(';'))
      .map((l) => {
        const [n = '', ttl = '0', , t = '', ...rest] = l.split(/\s+/);
        return { name: n, ttl: Number(ttl), type: t, data: rest.join(' ') };
      });
  };
  return { status: /status: (\w+)/.exec(stdout)?.[1] ?? 'NONE', flags: (/;; flags: ([^;]*);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/), answer: section('ANSWER'), authority: section('AUTHORITY'), raw: stdout };
}

/** dig at a cluster's DNS (`host:port`), as a pod would reach its kube-dns. */
async function clusterDig(cluster: string, name: string, type = 'A', extra: string[] = []): Promise<DigAnswer> {
  const [host = '', port = ''] = (dnsOf.get(cluster) ?? '').split(':');
  const { stdout } = await execFileP('dig', ['+tries=1', '+time=3', '-p', port, `@${host}`, name, type, ...extra]);
  return parseDig(stdout);
}

/**
 * A pod's lookup: the resolv.conf kubelet gives a pod in namespace default (search list, ndots:5),
 * put in place in a private mount namespace so that dig's own +search walks it; where user
 * namespaces are not available, the same walk by hand (explicit names, NXDOMAIN → next).
 */
const POD_SEARCH = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];
let canUnshare: boolean | undefined;
async function podDig(cluster: string, name: string): Promise<DigAnswer> {
  const [host = '', port = ''] = (dnsOf.get(cluster) ?? '').split(':');
  if (canUnshare === undefined) canUnshare = await execFileP('unshare', ['-rm', 'true']).then(() => true, () => false);
  if (canUnshare) {
    const resolv = join(dataDir, 'pod-resolv.conf');
    writeFileSync(resolv, `nameserver ${host}\nsearch ${POD_SEARCH.join(' ')}\noptions ndots:5\n`);
    const { stdout } = await execFileP('unshare', ['-rm', 'sh', '-c', `mount --bind "${resolv}" /etc/resolv.conf && exec dig +search +tries=1 +time=3 -p ${port} @${host} ${name} A`]);
    return parseDig(stdout);
  }
  const dots = name.split('.').length - 1;
  for (const domain of dots < 5 ? [...POD_SEARCH, ''] : ['', ...POD_SEARCH]) {
    const a = await clusterDig(cluster, domain ? `${name}.${domain}` : name);
    if (a.status !== 'NXDOMAIN') return a;
  }
  return clusterDig(cluster, name);
}

const chain = (a: DigAnswer) => a.answer.map((r) => `${r.name.toLowerCase()} ${r.type} ${r.data}`);

before(async () => {
  dnsPort = await freePort();
  const apiPort = await freePort();
  const scenario = join(dataDir, 'scenario.yaml');
  writeFileSync(scenario, SCENARIO);
  demo = spawnFedns([
    'demo', '--data-dir', dataDir, '--scenario', scenario,
    '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`,
    '--cluster-dns-allow', '127.0.0.1/32', '--clusterset-domain', 'clusterset.local', '--xfr-allow', '127.0.0.0/8',
    '--cluster-grace', '3s', '--stabilization', `${STABILIZATION_MS}ms`, '--log-level', 'warn',
  ]);
  await waitDemoUp(demo);
  assert.match(demo.output(), /3\/3 member clusters joined and Ready/);
  const kc = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { name: string; cluster: { server: string } }[] };
  for (const c of kc.clusters) servers.set(c.name, c.cluster.server);
  for (const c of [A, F, E]) {
    const listen = (await kjson(`--context=${c}`, '-n', 'kube-system', 'get', 'service', 'kube-dns')).metadata.annotations['sim.fedns.io/dns-listen'];
    dnsOf.set(c, listen);
    // `fedns demo` prints each cluster's DNS address.
    assert.ok(demo.output().includes(`DNS ${listen}`), `demo prints ${c}'s DNS`);
  }
});

after(async () => {
  await demo?.stop();
});

test('every member’s CoreDNS gets the fedns block (kube-system/coredns, or coredns-custom where imported); InClusterDNS is True', async () => {
  for (const c of [A, E]) {
    await waitFor(`the block in ${c}`, async () => ((await coredns(c)).data.Corefile as string).includes('# END fedns federation=myfederation'), 15000, 100);
    const text = (await coredns(c)).data.Corefile as string;
    assert.ok(text.startsWith(kubeadmCorefile('cluster.local')), 'nothing outside the markers changed');
    assert.match(text, new RegExp(`^myfederation\\.svc\\.cluster\\.local:53 \\{\\n {4}rewrite name suffix myfederation\\.svc\\.cluster\\.local\\. myfederation\\.svc\\.${c}\\.clusters\\.fedns\\.internal\\. answer auto$`, 'm'));
    assert.match(text, /^svc\.clusterset\.local:53 \{$/m);
    assert.match(text, new RegExp(`^ {4}forward \\. 127\\.0\\.0\\.1:${dnsPort}$`, 'm'));
  }
  await waitFor(`the block in ${F}'s coredns-custom`, async () => Boolean((await corednsCustom(F)).data?.['fedns-myfederation.server']), 15000, 100);
  assert.equal((await coredns(F)).data.Corefile, customImportCorefile('cluster.local'), 'the Corefile that imports coredns-custom is left alone');
  for (const c of [A, F, E]) {
    const cond = await waitFor(`InClusterDNS of ${c}`, async () => {
      const x = await condition(c, 'InClusterDNS');
      return x?.status === 'True' && x;
    }, 15000, 100);
    assert.equal(cond.reason, 'Configured');
  }
  // The simulated CoreDNS reloaded it: the block's zones are served.
  for (const c of [A, F, E]) await waitFor(`${c} serving the block`, async () => ((await (await fetch(`${servers.get(c)}/sim/dns`)).json()).config.zones as string[][]).flat().includes('myfederation.svc.cluster.local.'), 10000, 100);
});

test('a cluster with ready pods answers its own shard’s cluster IP; one without pods the chain to the nearest healthy shard, complete in one answer', async () => {
  assert.equal((await kubectl('--context=federation-cluster', 'create', '-f', join(SHARED, 'scenarios/nginx.yaml'))).trim(), 'service/nginx created');
  await kubectl(`--context=${A}`, 'run', 'nginx', '--image=nginx:1.11.1-alpine', '--port=80');
  const aIP = await waitFor('nginx in A', () => clusterIPOf(A), 10000, 100);
  const aLb = await waitFor('A’s load balancer', () => lbOf(A), 10000, 100);
  // A pod in A: `nginx.default.myfederation` through the search list → its own cluster IP, TTL 5.
  const local = await waitFor('A answering its cluster IP', async () => {
    const a = await podDig(A, 'nginx.default.myfederation');
    return chain(a).join() === `${IN_CLUSTER} A ${aIP}` && a;
  }, 15000, 200);
  assert.equal(local.status, 'NOERROR');
  assert.ok((local.answer[0]?.ttl ?? 99) <= 5, 'TTL 5 s');
  // A pod in F (same region, no pods): the chain down to A's load balancer, in one answer.
  const inF = await waitFor('F answering the chain', async () => {
    const a = await podDig(F, 'nginx.default.myfederation');
    return a.answer.some((r) => r.type === 'A') && a;
  }, 15000, 200);
  assert.deepEqual(chain(inF), [
    `${IN_CLUSTER} CNAME ${P}.us-central1-f.us-central1.example.com.`,
    `${P}.us-central1-f.us-central1.example.com. CNAME ${P}.us-central1.example.com.`,
    `${P}.us-central1.example.com. A ${aLb}`,
  ]);
  // A pod in Europe: up the chain to global, which serves A.
  const inE = await waitFor('E answering the chain', async () => {
    const a = await clusterDig(E, IN_CLUSTER);
    return a.answer.some((r) => r.type === 'A') && a;
  }, 15000, 200);
  assert.deepEqual(chain(inE), [
    `${IN_CLUSTER} CNAME ${P}.europe-west1-b.europe-west1.example.com.`,
    `${P}.europe-west1-b.europe-west1.example.com. CNAME ${P}.europe-west1.example.com.`,
    `${P}.europe-west1.example.com. CNAME ${P}.example.com.`,
    `${P}.example.com. A ${aLb}`,
  ]);
});

test('upper-case names, TCP, the MCS name form and the apex behave', async () => {
  const aIP = await clusterIPOf(A);
  const upper = await clusterDig(A, 'NGINX.Default.MyFederation.SVC.Cluster.Local', 'A', ['+tcp']);
  assert.equal(upper.status, 'NOERROR');
  assert.match(upper.raw, /^;NGINX\.Default\.MyFederation\.SVC\.Cluster\.Local\.\s+IN\s+A$/m, 'the question as asked');
  assert.deepEqual(upper.answer.map((r) => [r.name.toLowerCase(), r.data]), [[IN_CLUSTER, aIP]]);
  // MCS: <svc>.<ns>.svc.clusterset.local, the same local-first way.
  assert.deepEqual(chain(await clusterDig(A, 'nginx.default.svc.clusterset.local')), [`nginx.default.svc.clusterset.local. A ${aIP}`]);
  const mcsF = await clusterDig(F, 'nginx.default.svc.clusterset.local', 'A', ['+tcp']);
  assert.equal(mcsF.answer[0]?.name.toLowerCase(), 'nginx.default.svc.clusterset.local.');
  assert.equal(mcsF.answer[0]?.type, 'CNAME');
  assert.ok(mcsF.answer.some((r) => r.type === 'A'));
  // The apex: NODATA with the SOA of the federation's in-cluster zone, named as asked.
  for (const type of ['A', 'SOA', 'NS']) {
    const apex = await clusterDig(A, 'myfederation.svc.cluster.local.', type);
    assert.equal(apex.status, 'NOERROR', `${type} at the apex`);
    const soa = [...apex.answer, ...apex.authority].find((r) => r.type === 'SOA');
    assert.equal(soa?.name, 'myfederation.svc.cluster.local.', `${type}: the SOA named as the apex`);
  }
  // No federated service of that name: NXDOMAIN, also for AAAA of a name that exists only as A.
  assert.equal((await clusterDig(A, 'nope.default.myfederation.svc.cluster.local')).status, 'NXDOMAIN');
  const v6 = await clusterDig(A, IN_CLUSTER, 'AAAA');
  assert.equal(v6.status, 'NOERROR');
  assert.deepEqual(v6.answer, []);
});

test('the answer turns over within the failover time plus the TTL when pods fail, and back after the stabilisation window', async () => {
  const aIP = await clusterIPOf(A);
  const isLocal = async () => chain(await clusterDig(A, IN_CLUSTER)).join() === `${IN_CLUSTER} A ${aIP}`;
  assert.ok(await isLocal());
  const t0 = Date.now();
  await sim(A, 'pods/fail', { namespace: 'default', selector: 'run=nginx' });
  await waitFor('A to answer the chain', async () => !(await isLocal()), 10000, 100);
  const away = Date.now() - t0;
  assert.ok(away <= 1000 + 5000 + 1000, `turned over in ${away} ms (failover + TTL 5 s)`);
  const fallback = await clusterDig(A, IN_CLUSTER);
  assert.equal(fallback.answer[0]?.type, 'CNAME');
  assert.equal(fallback.answer[0]?.data, `${P}.us-central1-a.us-central1.example.com.`);
  const t1 = Date.now();
  await sim(A, 'pods/recover', { namespace: 'default', selector: 'run=nginx' });
  await waitFor('A to answer its cluster IP again', isLocal, 15000, 100);
  const back = Date.now() - t1;
  assert.ok(back >= STABILIZATION_MS, `back after ${back} ms, not before the ${STABILIZATION_MS} ms stabilisation window`);
  assert.ok(back <= STABILIZATION_MS + 5000 + 2000, `back in ${back} ms (stabilisation + TTL)`);
});

test('cluster IPs stay private: not in the public zone, its AXFR, or answers to anyone not allowed', async () => {
  const ips = await Promise.all([A, F, E].map(clusterIPOf));
  const { stdout: axfr } = await execFileP('dig', ['+tries=1', '+time=3', '-p', String(dnsPort), '@127.0.0.1', 'example.com', 'AXFR']);
  assert.match(axfr, /nginx\.default\.myfederation\.svc\.example\.com\./, 'the transfer worked');
  for (const ip of ips) assert.ok(!axfr.includes(ip), `${ip} not in the AXFR`);
  assert.ok(!/clusters\.fedns\.internal/.test(axfr));
  const { stdout: ixfr } = await execFileP('dig', ['+tries=1', '+time=3', '-p', String(dnsPort), '@127.0.0.1', 'example.com', 'IXFR=1']);
  for (const ip of ips) assert.ok(!ixfr.includes(ip), `${ip} not in the IXFR`);
  const priv = `${P}.${A}.clusters.fedns.internal`;
  const ask = async (source: string) => parseDig((await execFileP('dig', ['+tries=1', '+time=3', '-b', source, '-p', String(dnsPort), '@127.0.0.1', priv, 'A'])).stdout);
  const allowed = await ask('127.0.0.1');
  assert.deepEqual(allowed.answer.map((r) => r.data), [ips[0]], 'the member network (127.0.0.1/32) is answered');
  const other = await ask('127.0.0.2');
  assert.equal(other.status, 'REFUSED', 'anyone else: refused, as for any name outside the zone');
  assert.equal(other.answer.length, 0);
  for (const name of [`${P}.example.com.`, `${P}.us-central1.example.com.`, `${P}.us-central1-a.us-central1.example.com.`]) {
    const { stdout } = await execFileP('dig', ['+tries=1', '+time=3', '-p', String(dnsPort), '@127.0.0.1', name, 'ANY']);
    for (const ip of ips) assert.ok(!stdout.includes(ip), `${ip} not answered for ${name}`);
  }
});

test('a hand edit of the fedns block is restored; a concurrent edit (409) is retried', async () => {
  const good = (await coredns(E)).data.Corefile as string;
  const edited = good.replace(`forward . 127.0.0.1:${dnsPort}`, 'forward . 10.9.9.9');
  assert.notEqual(edited, good);
  await execFileP('kubectl', ['--kubeconfig', kubeconfig, `--context=${E}`, '-n', 'kube-system', 'patch', 'configmap', 'coredns', '--type=merge', '-p', JSON.stringify({ data: { Corefile: edited } })]);
  await waitFor('the block restored', async () => (await coredns(E)).data.Corefile === good, 15000, 100);
  // A concurrent writer gets in between fedns's read and its write, once: fedns gets 409, reads again, writes.
  await sim(E, 'faults', { interleaveWrites: { 'configmaps/kube-system/coredns': 1 } });
  await execFileP('kubectl', ['--kubeconfig', kubeconfig, `--context=${E}`, '-n', 'kube-system', 'patch', 'configmap', 'coredns', '--type=merge', '-p', JSON.stringify({ data: { Corefile: edited } })]);
  const cm = await waitFor('restored despite the race', async () => {
    const c = await coredns(E);
    return c.data.Corefile === good && c.metadata.annotations?.['sim.fedns.io/interleaved-write'] === '1' && c;
  }, 15000, 100);
  assert.ok(cm);
  const faults = (await (await fetch(`${servers.get(E)}/sim/faults`)).json()) as { interleaveWrites: Record<string, number> };
  assert.equal(faults.interleaveWrites['configmaps/kube-system/coredns'], 0, 'the interleaved write happened');
  const metrics = (await kubeRequest(kubeconfig, '/metrics', { context: 'federation-cluster' })).text;
  assert.match(metrics, new RegExp(`fedns_member_dns_conflicts_total\\{[^}]*cluster="${E}"[^}]*\\} [1-9]`));
});

test('a namespace named like the federation: the block goes (condition says why) and comes back; such a cluster is refused at join and at the API', async () => {
  await kubectl(`--context=${F}`, 'create', 'namespace', 'myfederation');
  await waitFor('F’s block removed', async () => !(await corednsCustom(F).catch(() => ({ data: {} }))).data?.['fedns-myfederation.server'], 15000, 100);
  const cond = await waitFor('NamespaceConflict', async () => {
    const c = await condition(F, 'InClusterDNS');
    return c?.reason === 'NamespaceConflict' && c;
  }, 15000, 100);
  assert.equal(cond.status, 'False');
  await kubectl(`--context=${F}`, 'delete', 'namespace', 'myfederation');
  await waitFor('F’s block back', async () => Boolean((await corednsCustom(F)).data?.['fedns-myfederation.server']), 15000, 100);
  // A new member that has such a namespace.
  const extra: SimCluster = await startSimCluster({ name: 'gce-asia-east1a', region: 'asia-east1', zones: ['asia-east1-a'], lbPool: '198.51.100.64/28' });
  try {
    await fetch(`${extra.url}/api/v1/namespaces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'myfederation' } }) });
    const kc = buildKubeconfig([{ name: 'x', server: extra.url }]);
    const res = await kubeRequest(kubeconfig, '/apis/federation.fedns.io/v1/clusters', {
      context: 'federation-cluster',
      method: 'POST',
      body: { apiVersion: 'federation.fedns.io/v1', kind: 'Cluster', metadata: { name: 'gce-asia-east1a' }, spec: { kubeconfig: kc } },
    });
    assert.equal(res.status, 422, res.text);
    assert.match(res.text, /namespace named \\"myfederation\\"/);
    const file = join(dataDir, 'extra.kubeconfig');
    writeFileSync(file, kc);
    const joined = await runFedns(['join', 'gce-asia-east1a', '--kubeconfig', file, '--data-dir', dataDir, '--cluster-dns-allow', '127.0.0.1/32']);
    assert.equal(joined.code, 2, joined.stderr);
    assert.match(joined.stderr, /namespace named "myfederation"/);
  } finally {
    await extra.close();
  }
});

test('unjoin takes the block out: each ConfigMap byte for byte as before', async () => {
  for (const c of [E, F]) assert.match(await kubectl('--context=federation-cluster', 'delete', 'cluster', c), new RegExp(`"${c}" deleted`));
  await waitFor('E’s Corefile as kubeadm wrote it', async () => (await coredns(E)).data.Corefile === kubeadmCorefile('cluster.local'), 15000, 100);
  const cm = await coredns(E);
  // As before fedns: only the concurrent writer's own annotation (from the 409 test) is there.
  assert.deepEqual(cm.metadata.annotations, { 'sim.fedns.io/interleaved-write': '1' });
  assert.equal(cm.metadata.labels, undefined);
  const custom = await waitFor('F’s coredns-custom as it was', async () => {
    const x = await corednsCustom(F);
    return x.data === undefined && x;
  }, 15000, 100);
  assert.deepEqual(custom.metadata.labels, { 'k8s-app': 'kube-dns' });
  assert.equal(custom.metadata.annotations, undefined);
  assert.equal((await coredns(F)).data.Corefile, customImportCorefile('cluster.local'));
  // A still has its block and keeps answering.
  assert.ok(((await coredns(A)).data.Corefile as string).includes('# BEGIN fedns federation=myfederation'));
});

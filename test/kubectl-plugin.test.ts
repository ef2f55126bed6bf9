/**
 * Issue 13: the kubectl plugin end to end — the real kubectl finds
 * bin/kubectl-fedns on PATH and runs it against `fedns demo` over a small
 * simulated federation, through the kubeconfig's federation-cluster context
 * (HTTPS, bearer token): status, explain, history, drain and undrain (the DNS
 * answer changes, checked with dig), join and unjoin, a read-only token
 * refused, errors as one line with a non-zero exit.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { dig, type FednsProcess, freePort, ROOT, spawnFedns, tempDir, waitFor, waitDemoUp } from './helpers.js';

const dataDir = tempDir('fedns-plugin-');
const kubeconfig = join(dataDir, 'kubeconfig');
let demo: FednsProcess;
let dnsPort = 0;
let viewerToken = '';
const servers = new Map<string, string>();

const SCENARIO = `federation: ops
zone: example.com.
clusters:
  - { name: c1, region: r1, zones: [r1-a, r1-b], lbPool: 198.51.100.0/28 }
  - { name: c2, region: r1, zones: [r1-c], lbPool: 198.51.100.16/28 }
  - { name: c3, region: r2, zones: [r2-a], lbPool: 198.51.100.32/28 }
`;
const P = 'web.default.ops.svc';
const GLOBAL = `${P}.example.com.`;
const zoneName = (z: string, r: string) => `${P}.${z}.${r}.example.com.`;
const regionName = (r: string) => `${P}.${r}.example.com.`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real kubectl with bin/ on PATH and the demo's kubeconfig in KUBECONFIG (current context federation-cluster). */
function kubectl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile('kubectl', args, { cwd: dataDir, env: { ...process.env, PATH: `${join(ROOT, 'bin')}:${process.env.PATH}`, KUBECONFIG: kubeconfig, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
const fedns = async (...args: string[]) => {
  const r = await kubectl(['fedns', ...args]);
  assert.equal(r.code, 0, `kubectl fedns ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const cnameOf = async (name: string) => (await dig(dnsPort, name, 'CNAME')).answer[0]?.data;
const addrs = async (name: string) => (await dig(dnsPort, name)).answer.filter((r) => r.type === 'A').map((r) => r.data).sort();

before(async () => {
  const scenario = join(dataDir, 'scenario.yaml');
  writeFileSync(scenario, SCENARIO);
  dnsPort = await freePort();
  const apiPort = await freePort();
  demo = spawnFedns(['demo', '--scenario', scenario, '--data-dir', dataDir, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--stabilization', '0s', '--log-level', 'warn']);
  await waitDemoUp(demo);
  viewerToken = (readFileSync(join(dataDir, 'tokens.csv'), 'utf8').split('\n').find((l) => l.includes('demo-viewer')) ?? '').split(',')[0] as string;
  const kc = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { name: string; cluster: { server: string } }[] };
  for (const c of kc.clusters) servers.set(c.name, c.cluster.server);
  const created = await kubectl(['create', 'service', 'loadbalancer', 'web', '--tcp=80:80']);
  assert.equal(created.code, 0, created.stderr);
  for (const c of ['c1', 'c2', 'c3']) {
    const r = await fetch(`${servers.get(c)}/sim/pods/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ namespace: 'default', labels: { app: 'web' }, count: 1, ready: true }) });
    assert.ok(r.ok);
  }
  await waitFor('web healthy in every cluster', async () => (await addrs(GLOBAL)).length === 3, 20000);
});

after(async () => {
  await demo?.stop();
});

test('status: clusters by region and zone, services by how their global name answers', async () => {
  const out = await fedns('status');
  assert.match(out, /^Federation ops, zone example\.com\., serial \d+/);
  assert.match(out, /Clusters: 3 \(3 ready, 3 reachable, 0 with a drain\)/);
  assert.match(out, /REGION\s+ZONE\s+CLUSTER\s+READY\s+REACHABLE\s+DRAINED/);
  assert.match(out, /r1\s+r1-b\s+c1\s+True\s+True\s+no/, 'a two-zone cluster is listed in each zone');
  assert.match(out, /r2\s+r2-a\s+c3\s+True\s+True\s+no/);
  assert.match(out, /Services: 1 \(1 HealthyShards, 0 FailOpen/);
  const json = JSON.parse(await fedns('status', '-o', 'json'));
  assert.equal(json.kind, 'FederationStatus');
  assert.equal(json.status.clusters.length, 3);
  const yaml = parse(await fedns('status', '-o', 'yaml'));
  assert.equal(yaml.status.serviceCounts.HealthyShards, 1);
});

test('explain: a DNS name (with or without the zone) and a service cascade', async () => {
  const out = await fedns('explain', zoneName('r1-c', 'r1'));
  assert.match(out, /\[zone\] A 198\.51\.100\.\d+ \(ttl 30\)/);
  assert.match(out, /why: healthy shards in zone r1-c: c2/);
  assert.equal(await fedns('explain', `${P}.r1-c.r1`), out, 'the zone is appended to a name without it');
  const json = JSON.parse(await fedns('explain', GLOBAL, '-o', 'json'));
  assert.equal(json.steps[0].level, 'global');
  const tree = await fedns('explain', 'default/web');
  assert.match(tree, /^service default\/web\n/);
  assert.match(tree, /├─ web\.default\.ops\.svc\.r1\.example\.com\. \[region\]/);
  assert.match(tree, /│ {2}├─ web\.default\.ops\.svc\.r1-a\.r1\.example\.com\. \[zone\]/);
  const missing = await kubectl(['fedns', 'explain', `nope.${GLOBAL}`]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  assert.match(missing.stderr, /^error: nope\..* is not a published name/);
});

test('drain and undrain a cluster: the zone name falls back, then answers again', async () => {
  const zone = zoneName('r1-c', 'r1');
  const before = await addrs(zone);
  assert.equal(before.length, 1);
  assert.equal(await fedns('drain', 'c2'), 'cluster.federation.fedns.io/c2 drained\n');
  await waitFor('r1-c to fall back to the region', async () => (await cnameOf(zone)) === regionName('r1'), 5000);
  assert.ok(!(await addrs(GLOBAL)).includes(before[0] as string), 'out of the global name too');
  assert.match(await fedns('status'), /r1\s+r1-c\s+c2\s+True\s+True\s+cluster/);
  assert.equal(await fedns('undrain', 'c2'), 'cluster.federation.fedns.io/c2 undrained\n');
  await waitFor('r1-c back', async () => JSON.stringify(await addrs(zone)) === JSON.stringify(before), 5000);
});

test('drain and undrain some zones of a cluster: only those names change', async () => {
  const a = zoneName('r1-a', 'r1');
  const out = await fedns('drain', 'c1', '--zones', 'r1-a');
  assert.match(out, /c1 drained in zone\(s\) r1-a \(drainedZones: r1-a\)/);
  await waitFor('r1-a to fall back', async () => (await cnameOf(a)) === regionName('r1'), 5000);
  assert.equal((await addrs(zoneName('r1-b', 'r1'))).length, 1, 'r1-b still served by c1');
  assert.match(await fedns('status'), /r1\s+r1-a\s+c1\s+True\s+True\s+zone/);
  const bad = await kubectl(['fedns', 'drain', 'c1', '--zones', 'r9']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: .*spec\.drainedZones\[1\]: Invalid value: "r9": cluster "c1" has no such zone/m);
  assert.match(await fedns('undrain', 'c1', '--zones', 'r1-a'), /c1 undrained in zone\(s\) r1-a/);
  await waitFor('r1-a back', async () => (await addrs(a)).length === 1, 5000);
});

test('history: each change with its time, cause and user', async () => {
  const out = await waitFor('the drains in history', async () => {
    const h = await fedns('history', 'default/web');
    return /cluster c2 undrained/.test(h) && /zone\(s\) r1-a undrained/.test(h) && h;
  });
  assert.match(out, /^TIME\s+CHANGE\s+USER\s+CAUSE/);
  assert.match(out, /\d{4}-\d\d-\d\dT[\d:.]+Z\s+serial \d+\s+demo-admin\s+cluster c2 drained \(spec\.drained: true\) by demo-admin/);
  assert.match(out, /\n {4}\+ web\.default\.ops\.svc\.r1-c\.r1\.example\.com\. CNAME web\.default\.ops\.svc\.r1\.example\.com\./);
  assert.match(out, /added rv \d+\s+demo-admin\s+service created by demo-admin/);
  const json = JSON.parse(await fedns('history', 'default/web', '-o', 'json', '--limit', '3'));
  assert.equal(json.kind, 'ServiceHistory');
  assert.equal(json.items.length, 3);
});

test('a read-only token may look but not drain: 403, one line, exit 1', async () => {
  const refused = await kubectl(['fedns', 'drain', 'c1', '--token', viewerToken]);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.match(refused.stderr, /^error: clusters\.federation\.fedns\.io "c1" is forbidden: User "demo-viewer" cannot patch resource "clusters"/);
  assert.equal((await kubectl(['fedns', 'status', '--token', viewerToken])).code, 0, 'reading is allowed');
  // The same through a kubeconfig of its own, first in KUBECONFIG's list (its current-context wins).
  const kc = parse(readFileSync(kubeconfig, 'utf8'));
  kc.users = [{ name: 'viewer', user: { token: viewerToken } }];
  kc.contexts = [{ name: 'viewer', context: { cluster: 'federation-cluster', user: 'viewer' } }];
  kc['current-context'] = 'viewer';
  kc.clusters = kc.clusters.filter((c: { name: string }) => c.name === 'federation-cluster');
  const viewer = join(dataDir, 'viewer.kubeconfig');
  writeFileSync(viewer, stringify(kc));
  const merged = await kubectl(['fedns', 'undrain', 'c1'], { KUBECONFIG: `${viewer}:${kubeconfig}` });
  assert.equal(merged.code, 1);
  assert.match(merged.stderr, /User "demo-viewer" cannot patch/);
  assert.equal((await kubectl(['fedns', 'undrain', 'c1', '--context', 'federation-cluster'], { KUBECONFIG: `${viewer}:${kubeconfig}` })).code, 0, '--context picks the admin context');
  assert.equal((await kubectl(['fedns', 'status', '--kubeconfig', viewer], { KUBECONFIG: '' })).code, 0, '--kubeconfig');
});

test('unjoin and join: the cluster and what only it published go, then come back', async () => {
  assert.equal(await fedns('unjoin', 'c3'), 'cluster.federation.fedns.io/c3 unjoined\n');
  await waitFor('r2 names gone', async () => (await dig(dnsPort, regionName('r2'))).status === 'NXDOMAIN', 10000);
  assert.doesNotMatch(await fedns('status'), /c3/);
  // The member's own kubeconfig: the demo's file, context c3.
  const joined = await fedns('join', 'c3', '--kubeconfig', kubeconfig, '--context', 'c3');
  assert.match(joined, /^cluster\.federation\.fedns\.io\/c3 joined/);
  await waitFor('r2 answering again', async () => (await addrs(regionName('r2'))).length === 1, 20000);
  const again = await kubectl(['fedns', 'join', 'c3', '--kubeconfig', kubeconfig, '--context', 'c3']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^error: clusters\.federation\.fedns\.io "c3" already exists/);
  const noCtx = await kubectl(['fedns', 'join', 'c4', '--kubeconfig', kubeconfig, '--context', 'nope']);
  assert.equal(noCtx.code, 1);
  assert.match(noCtx.stderr, /^error: kubeconfig .*: context "nope" names no context/);
});

test('usage errors: one line, exit 2', async () => {
  for (const args of [['fedns', 'frobnicate'], ['fedns', 'drain'], ['fedns', 'status', '--bogus'], ['fedns', 'status', '-o', 'xml']]) {
    const r = await kubectl(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^error: /);
  }
  assert.match(await fedns('help'), /kubectl fedns — operate a fedns federation/);
});

/**
 * Issue 3 end to end: `fedns demo` (the seed's 13 simulated member clusters),
 * the real kubectl against member contexts, the real dig against fedns.
 * The seed walkthrough, then failures: pods failing, a region down, a member
 * API unreachable (grace), hand edits set back, delete, unjoin.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { dig, type FednsProcess, freePort, lines, runFedns, SHARED, spawnFedns, tempDir, waitFor, waitDemoUp } from './helpers.js';

const execFileP = promisify(execFile);
const dataDir = tempDir();
const kubeconfig = join(dataDir, 'kubeconfig');
let demo: FednsProcess;
let dnsPort = 0;
const servers = new Map<string, string>();

const P = 'nginx.default.myfederation.svc';
const zoneName = (zone: string, region: string) => `${P}.${zone}.${region}.example.com.`;
const regionName = (region: string) => `${P}.${region}.example.com.`;
const GLOBAL = `${P}.example.com.`;

const kubectl = async (...args: string[]) => {
  const { stdout } = await execFileP('kubectl', ['--kubeconfig', kubeconfig, ...args]);
  return stdout;
};
const sim = async (cluster: string, path: string, body: unknown) => {
  const res = await fetch(`${servers.get(cluster)}/sim/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.ok(res.ok, `sim ${cluster} ${path}: ${res.status}`);
};
/** The addresses a name finally resolves to, after following its CNAMEs. */
const finalAddresses = async (name: string) => (await dig(dnsPort, name)).answer.filter((r) => r.type === 'A').map((r) => r.data).sort();
const cnameOf = async (name: string) => (await dig(dnsPort, name, 'CNAME')).answer[0]?.data;
const lbOf = async (cluster: string) => JSON.parse(await kubectl(`--context=${cluster}`, 'get', 'service', 'nginx', '-o', 'json')).status.loadBalancer.ingress[0].ip as string;

const scenario = parse(readFileSync(join(SHARED, 'scenarios/seed-federation.yaml'), 'utf8')) as { clusters: { name: string; region: string; zones: string[] }[] };
const byName = new Map(scenario.clusters.map((c) => [c.name, c]));
// Seed 002's picture: pods in some zones only.
const WITH_PODS = ['gce-asia-east1a', 'gce-asia-east1c', 'gce-us-central1a', 'gce-us-central1b', 'gce-us-central1c', 'gce-us-east1b', 'gce-us-east1c', 'gce-us-east1d'];

before(async () => {
  dnsPort = await freePort();
  const apiPort = await freePort();
  demo = spawnFedns(['demo', '--data-dir', dataDir, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--cluster-grace', '3s', '--stabilization', '500ms', '--log-level', 'warn']);
  await waitDemoUp(demo);
  assert.match(demo.output(), /13\/13 member clusters joined and Ready/);
  const kc = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { name: string; cluster: { server: string } }[]; contexts: { name: string }[] };
  for (const c of kc.clusters) servers.set(c.name, c.cluster.server);
  assert.deepEqual(kc.contexts.map((c) => c.name).sort(), ['federation-cluster', ...scenario.clusters.map((c) => c.name)].sort());
});

after(async () => {
  await demo?.stop();
});

test('seed walkthrough: the federated Service reaches every member, status shows every shard', async () => {
  // DESIGN §6, word for word: the real kubectl against the federation context.
  const created = await kubectl('--context=federation-cluster', 'create', '-f', join(SHARED, 'scenarios/nginx.yaml'));
  assert.equal(created.trim(), 'service/nginx created');
  for (const c of scenario.clusters) {
    await waitFor(`nginx in ${c.name}`, async () => (await kubectl(`--context=${c.name}`, 'get', 'services', 'nginx')).includes('LoadBalancer'), 10000, 100);
  }
  const out = await kubectl('--context=gce-asia-east1a', 'get', 'services', 'nginx', '-o', 'json');
  assert.equal(JSON.parse(out).metadata.labels['federation.fedns.io/managed'], 'true');
  await waitFor('every shard ingress in the federated status', async () => {
    const svc = JSON.parse(await kubectl('--context=federation-cluster', 'get', 'services', 'nginx', '-o', 'json')) as { status?: { loadBalancer?: { ingress?: unknown[] } } };
    return svc.status?.loadBalancer?.ingress?.length === 13;
  });
  const described = await kubectl('--context=federation-cluster', 'describe', 'services', 'nginx');
  assert.match(described, /^Selector:\s+run=nginx$/m);
  assert.match(described, /^Type:\s+LoadBalancer$/m);
  const ingress = /^LoadBalancer Ingress:\s+(.*)$/m.exec(described)?.[1]?.split(/,\s*/) ?? [];
  const lbs = await Promise.all(scenario.clusters.map((c) => lbOf(c.name)));
  assert.deepEqual([...ingress].sort(), [...lbs].sort(), 'describe lists the LoadBalancer Ingress of all 13 shards');
  // No pods anywhere: every chain falls back and the global name fails open with every shard's address.
  await waitFor('fail-open with all 13 addresses', async () => (await finalAddresses(GLOBAL)).length === 13);
  assert.equal(await cnameOf(zoneName('us-central1-f', 'us-central1')), regionName('us-central1'));
  assert.equal(await cnameOf(regionName('us-central1')), GLOBAL);
});

test('seed walkthrough: pods in some zones turn their names into A records, the others CNAME up', async () => {
  for (const c of WITH_PODS) await kubectl(`--context=${c}`, 'run', 'nginx', '--image=nginx:1.11.1-alpine', '--port=80');
  const healthyLbs = (await Promise.all(WITH_PODS.map(lbOf))).sort();
  await waitFor('the global name to list exactly the healthy shards', async () => JSON.stringify(await finalAddresses(GLOBAL)) === JSON.stringify(healthyLbs), 10000);
  // `dig` from DESIGN §6, word for word.
  const f = await dig(dnsPort, 'nginx.default.myfederation.svc.us-central1-f.us-central1.example.com', 'A');
  assert.equal(f.answer[0]?.type, 'CNAME');
  assert.equal(f.answer[0]?.data, regionName('us-central1'));
  const central = (await Promise.all(['gce-us-central1a', 'gce-us-central1b', 'gce-us-central1c'].map(lbOf))).sort();
  assert.deepEqual(f.answer.filter((r) => r.type === 'A').map((r) => r.data).sort(), central);
  for (const c of scenario.clusters) {
    const name = zoneName(c.zones[0] as string, c.region);
    if (WITH_PODS.includes(c.name)) assert.deepEqual(lines(await dig(dnsPort, name)), [`${name} A ${await lbOf(c.name)}`]);
    else assert.equal(await cnameOf(name), regionName(c.region), `${c.name} has no pods`);
  }
  assert.equal(await cnameOf(regionName('europe-west1')), GLOBAL, 'no healthy shard in Europe: up to global');
  assert.deepEqual(await finalAddresses(zoneName('europe-west1-d', 'europe-west1')), healthyLbs);
});

test('pods failing in one cluster: its zone falls back to the region', async () => {
  await sim('gce-asia-east1a', 'pods/fail', { namespace: 'default', selector: 'run=nginx' });
  const name = zoneName('asia-east1-a', 'asia-east1');
  await waitFor('asia-east1-a to CNAME', async () => (await cnameOf(name)) === regionName('asia-east1'), 5000, 20);
  assert.deepEqual(await finalAddresses(name), [await lbOf('gce-asia-east1c')]);
});

test('a whole region unhealthy: the region falls back to global; recovery waits out stabilisation', async () => {
  await sim('gce-asia-east1c', 'pods/fail', { namespace: 'default', selector: 'run=nginx' });
  await waitFor('asia-east1 to CNAME global', async () => (await cnameOf(regionName('asia-east1'))) === GLOBAL, 5000, 20);
  assert.ok(!(await finalAddresses(GLOBAL)).includes(await lbOf('gce-asia-east1c')));
  await sim('gce-asia-east1c', 'pods/recover', { namespace: 'default', selector: 'run=nginx' });
  const t0 = Date.now();
  await waitFor('asia-east1 back', async () => (await finalAddresses(regionName('asia-east1'))).length === 1 && (await cnameOf(regionName('asia-east1'))) === undefined, 5000, 20);
  assert.ok(Date.now() - t0 >= 400, `re-added after ${Date.now() - t0} ms, not before the 500 ms stabilisation window`);
});

test('a member API unreachable: nothing changes within the grace period, its shards drop after it', async () => {
  const name = zoneName('us-central1-a', 'us-central1');
  const lb = await lbOf('gce-us-central1a');
  await sim('gce-us-central1a', 'faults', { unreachable: true });
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(lines(await dig(dnsPort, name)), [`${name} A ${lb}`], 'within the 3 s grace the shard keeps its last known state');
  await waitFor('the shard to drop after the grace', async () => (await cnameOf(name)) === regionName('us-central1'), 6000, 50);
  assert.ok(!(await finalAddresses(GLOBAL)).includes(lb));
  await sim('gce-us-central1a', 'faults', { unreachable: false });
  await waitFor('the shard to return', async () => (await cnameOf(name)) === undefined, 8000, 50);
});

test('a member Service edited by hand is set back', async () => {
  await kubectl('--context=gce-europe-west1b', 'patch', 'service', 'nginx', '--type=merge', '-p', '{"spec":{"selector":{"run":"something-else"}}}');
  await waitFor('the selector to be set back', async () => JSON.parse(await kubectl('--context=gce-europe-west1b', 'get', 'service', 'nginx', '-o', 'json')).spec.selector.run === 'nginx', 5000, 100);
});

test('a cluster unjoined: only its contributions are removed', async () => {
  const lb = await lbOf('gce-us-east1d');
  const r = await runFedns(['unjoin', 'gce-us-east1d', '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.stderr);
  await waitFor('its zone name to go', async () => (await dig(dnsPort, zoneName('us-east1-d', 'us-east1'))).status === 'NXDOMAIN', 5000, 50);
  assert.ok(!(await finalAddresses(regionName('us-east1'))).includes(lb));
  assert.equal((await finalAddresses(regionName('us-east1'))).length, 2, 'the other two us-east1 shards stay');
  assert.deepEqual(lines(await dig(dnsPort, zoneName('us-east1-b', 'us-east1'))), [`${zoneName('us-east1-b', 'us-east1')} A ${await lbOf('gce-us-east1b')}`]);
});

test('the federated Service deleted: gone from every member, every record gone', async () => {
  assert.match(await kubectl('--context=federation-cluster', 'delete', 'services', 'nginx'), /service "nginx" deleted/);
  for (const c of scenario.clusters.filter((x) => x.name !== 'gce-us-east1d')) {
    await waitFor(`nginx gone from ${c.name}`, async () => !(await kubectl(`--context=${c.name}`, 'get', 'services')).includes('nginx'), 10000, 100);
  }
  await waitFor('every record gone', async () => (await dig(dnsPort, GLOBAL)).status === 'NXDOMAIN');
  for (const c of scenario.clusters) assert.equal((await dig(dnsPort, zoneName(c.zones[0] as string, c.region))).status, 'NXDOMAIN');
  assert.ok(byName.size === 13);
});

/**
 * Issue 14 end to end, against the seed federation (13 simulated clusters,
 * /work/shared/scenarios) run by `fedns demo --region-fallback nearest`, with
 * the real kubectl, the kubectl plugin, dig and Unbound. Every cluster's
 * load balancer hands out a loopback address (127.77.N.1), and a real TCP
 * listener on it stands in for the load balancer, so probes have something to
 * connect to — and something to lose.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { dig, type FednsProcess, freePort, kubeRequest, ROOT, SHARED, spawnFedns, tempDir, waitFor, waitDemoUp } from './helpers.js';
import { startUnbound, type Unbound } from './unbound.js';

const dataDir = tempDir('fedns-traffic-');
const kubeconfig = join(dataDir, 'kubeconfig');
let demo: FednsProcess;
let unbound: Unbound;
let dnsPort = 0;
let probePort = 0;
const servers = new Map<string, string>();
const listeners = new Map<string, Server>();

const seed = parse(readFileSync(join(SHARED, 'scenarios/seed-federation.yaml'), 'utf8')) as { federation: string; zone: string; clusters: { name: string; region: string; zones: string[]; lbPool: string }[] };
// The seed's clusters, regions and zones; only the load-balancer pools are loopback networks.
const clusters = seed.clusters.map((c, i) => ({ ...c, lbPool: `127.77.${i}.0/28`, lb: `127.77.${i}.1` }));
const lbOf = (name: string) => clusters.find((c) => c.name === name)?.lb as string;
const inRegion = (region: string) => clusters.filter((c) => c.region === region).map((c) => c.name);

const P = 'nginx.default.myfederation.svc';
const GLOBAL = `${P}.example.com.`;
const regionName = (r: string) => `${P}.${r}.example.com.`;
const zoneName = (z: string, r: string) => `${P}.${z}.${r}.example.com.`;

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: dataDir, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, PATH: `${join(ROOT, 'bin')}:${process.env.PATH}`, KUBECONFIG: kubeconfig } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}
const kubectl = async (...args: string[]) => {
  const r = await run('kubectl', args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const sim = async (cluster: string, path: string, body: unknown) => {
  const res = await fetch(`${servers.get(cluster)}/sim/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.ok(res.ok, `sim ${cluster} ${path}: ${res.status}`);
};
const setPods = (names: string[], ready: boolean) => Promise.all(names.map((c) => sim(c, ready ? 'pods/recover' : 'pods/fail', { namespace: 'default', selector: 'run=nginx' })));
const addresses = async (name: string) => (await dig(dnsPort, name)).answer.filter((r) => r.type === 'A').map((r) => r.data).sort();
const cnameOf = async (name: string) => (await dig(dnsPort, name, 'CNAME')).answer[0]?.data;
const sortedLbs = (names: string[]) => names.map(lbOf).sort();

/** A listener on the load balancer's address: the probe target. */
function openLb(cluster: string): Promise<void> {
  const srv = createServer((s) => s.destroy());
  listeners.set(cluster, srv);
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(probePort, lbOf(cluster), () => resolve());
  });
}
function closeLb(cluster: string): Promise<void> {
  const srv = listeners.get(cluster);
  listeners.delete(cluster);
  return new Promise((resolve) => (srv ? srv.close(() => resolve()) : resolve()));
}

before(async () => {
  const scenario = join(dataDir, 'scenario.yaml');
  writeFileSync(scenario, stringify({ federation: seed.federation, zone: seed.zone, clusters: clusters.map(({ lb: _, ...c }) => c) }));
  dnsPort = await freePort();
  probePort = await freePort();
  const apiPort = await freePort();
  demo = spawnFedns(['demo', '--scenario', scenario, '--data-dir', dataDir, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--region-fallback', 'nearest', '--client-networks', '203.0.113.0/24=asia-east1,100.64.0.0/10=europe-west1', '--stabilization', '500ms', '--rrl-rate', 'off', '--log-level', 'warn']);
  await waitDemoUp(demo, 90_000);
  assert.match(demo.output(), /13\/13 member clusters joined and Ready/);
  const kc = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { name: string; cluster: { server: string } }[] };
  for (const c of kc.clusters) servers.set(c.name, c.cluster.server);
  for (const c of clusters) await openLb(c.name);
  // nginx of seed 002, with a 1 s TTL so that Unbound's cache does not hide a change for long.
  await kubectl('--context=federation-cluster', 'create', '-f', join(SHARED, 'scenarios/nginx.yaml'));
  await kubectl('--context=federation-cluster', 'annotate', 'service', 'nginx', 'federation.fedns.io/ttl=1');
  await Promise.all(clusters.map((c) => sim(c.name, 'pods/run', { namespace: 'default', name: 'nginx', labels: { run: 'nginx' }, count: 1 })));
  await waitFor('all 13 shards healthy', async () => JSON.stringify(await addresses(GLOBAL)) === JSON.stringify(sortedLbs(clusters.map((c) => c.name))), 30_000, 100);
  unbound = await startUnbound(dataDir, 'example.com.', dnsPort);
});

after(async () => {
  await unbound?.stop();
  await demo?.stop();
  for (const c of [...listeners.keys()]) await closeLb(c);
});

test('nearest: europe-west1 with no healthy shard aliases to us-east1, and the chain resolves in Unbound', async () => {
  await setPods(inRegion('europe-west1'), false);
  await waitFor('europe-west1 to alias to us-east1', async () => (await cnameOf(regionName('europe-west1'))) === regionName('us-east1'), 10_000, 50);
  // The zone goes up to its region first, which goes across to the nearest region: never to a loop, never dangling.
  assert.equal(await cnameOf(zoneName('europe-west1-d', 'europe-west1')), regionName('europe-west1'));
  const r = await unbound.resolve(zoneName('europe-west1-d', 'europe-west1'));
  assert.equal(r.status, 'NOERROR', r.raw);
  assert.deepEqual(r.answer.filter((l) => l.startsWith('CNAME ')), [`CNAME ${regionName('europe-west1')}`, `CNAME ${regionName('us-east1')}`], r.raw);
  assert.deepEqual(r.answer.filter((l) => l.startsWith('A ')).map((l) => l.slice(2)).sort(), sortedLbs(inRegion('us-east1')), r.raw);
  // Explain says why each hop was chosen, with the distances.
  const e = await run('kubectl', ['fedns', 'explain', zoneName('europe-west1-d', 'europe-west1')]);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /aliased one level up, to region europe-west1/);
  assert.match(e.stdout, /aliased to region us-east1, the nearest region with healthy shards \(region fallback "nearest": 6,822 km from europe-west1; then us-central1 7,190 km, asia-east1 9,669 km\)/);

  // The nearest one down too: the next nearest; Unbound follows.
  await setPods(inRegion('us-east1'), false);
  await waitFor('europe-west1 to alias to us-central1', async () => (await cnameOf(regionName('europe-west1'))) === regionName('us-central1'), 10_000, 50);
  assert.equal(await cnameOf(regionName('us-east1')), regionName('us-central1'));
  await waitFor('Unbound to follow', async () => {
    const again = await unbound.resolve(zoneName('europe-west1-b', 'europe-west1'));
    return again.answer.includes(`CNAME ${regionName('us-central1')}`) && JSON.stringify(again.answer.filter((l) => l.startsWith('A ')).map((l) => l.slice(2)).sort()) === JSON.stringify(sortedLbs(inRegion('us-central1')));
  }, 10_000, 200);
  await setPods([...inRegion('europe-west1'), ...inRegion('us-east1')], true);
  await waitFor('every region answering with its own shards again', async () => (await cnameOf(regionName('europe-west1'))) === undefined && (await cnameOf(regionName('us-east1'))) === undefined, 10_000, 50);
});

test('a probe target that closes its port takes its shard out within interval × threshold + 1 s, and back', async () => {
  const victim = 'gce-us-east1b';
  const zone = zoneName('us-east1-b', 'us-east1');
  await kubectl('--context=federation-cluster', 'annotate', 'service', 'nginx', `federation.fedns.io/probe=tcp:${probePort}`, 'federation.fedns.io/probe-interval=1s', 'federation.fedns.io/probe-failure-threshold=2');
  const interval = 1000;
  const threshold = 2;
  // Every shard probed and healthy from outside before anything breaks.
  await waitFor('a verdict on every shard', async () => {
    const c = await run('kubectl', ['fedns', 'explain', 'default/nginx', '-o', 'json']);
    const root = JSON.parse(c.stdout).root as { shards: { probes?: { ok: boolean; fresh: boolean }[] }[] };
    return root.shards.length === 13 && root.shards.every((s) => s.probes?.length === 1 && s.probes[0]?.ok && s.probes[0].fresh);
  }, 15_000, 200);
  assert.deepEqual(await addresses(zone), [lbOf(victim)]);

  await closeLb(victim);
  const closedAt = Date.now();
  await waitFor('the shard out', async () => (await cnameOf(zone)) === regionName('us-east1'), 10_000, 20);
  const outAfter = Date.now() - closedAt;
  assert.ok(outAfter <= interval * threshold + 1000, `out after ${outAfter} ms; target interval × threshold + 1 s = ${interval * threshold + 1000} ms`);
  assert.ok(!(await addresses(GLOBAL)).includes(lbOf(victim)), 'gone from the global name too');
  assert.deepEqual(await addresses(regionName('us-east1')), sortedLbs(['gce-us-east1c', 'gce-us-east1d']));
  const e = await run('kubectl', ['fedns', 'explain', zone]);
  assert.match(e.stdout, new RegExp(`gce-us-east1b: unhealthy .*probe tcp:${probePort} failed from 1 of 1 controller\\(s\\)`), e.stdout);
  assert.match(e.stdout, new RegExp(`probe tcp:${probePort} from \\S+: failed since .*ECONNREFUSED`), e.stdout);
  process.stdout.write(`# probe failover: a closed port left DNS after ${outAfter} ms (interval ${interval} ms × threshold ${threshold} + 1 s = ${interval * threshold + 1000} ms)\n`);

  await openLb(victim);
  const openedAt = Date.now();
  await waitFor('the shard back', async () => JSON.stringify(await addresses(zone)) === JSON.stringify([lbOf(victim)]) && (await cnameOf(zone)) === undefined, 10_000, 20);
  const backAfter = Date.now() - openedAt;
  // One good probe (success threshold 1), then the 500 ms stabilisation window.
  assert.ok(backAfter >= 500 && backAfter <= interval + 500 + 1000, `back after ${backAfter} ms`);
  process.stdout.write(`# probe recovery: back in DNS after ${backAfter} ms (one interval + 500 ms stabilisation)\n`);

  const metrics = await kubeRequest(kubeconfig, '/metrics');
  assert.match(metrics.text, /fedns_probes_total\{protocol="tcp",result="failure",role="serve"\} [1-9]/);
  assert.match(metrics.text, /fedns_probe_verdict_changes_total\{verdict="failed",role="serve"\} 1/);
  assert.match(metrics.text, /fedns_probers\{role="serve"\} 1/);
  await kubectl('--context=federation-cluster', 'annotate', 'service', 'nginx', 'federation.fedns.io/probe-', 'federation.fedns.io/probe-interval-', 'federation.fedns.io/probe-failure-threshold-');
});

test('routing: clients mapped to asia-east1 get only asia-east1’s shards from the global name, with the ECS scope set', async () => {
  await kubectl('--context=federation-cluster', 'annotate', 'service', 'nginx', 'federation.fedns.io/routing=nearest');
  const asia = sortedLbs(inRegion('asia-east1'));
  const ecsOf = (raw: string) => /CLIENT-SUBNET: (\S+)/.exec(raw)?.[1];
  await waitFor('routed answers', async () => JSON.stringify((await dig(dnsPort, GLOBAL, 'A', ['+subnet=203.0.113.0/24'])).answer.map((r) => r.data).sort()) === JSON.stringify(asia), 10_000, 50);
  const r = await dig(dnsPort, GLOBAL, 'A', ['+subnet=203.0.113.0/24']);
  assert.equal(ecsOf(r.raw), '203.0.113.0/24/24', r.raw);
  assert.deepEqual(r.answer.map((a) => a.data).sort(), asia);
  const eu = await dig(dnsPort, GLOBAL, 'A', ['+subnet=100.64.1.0/24']);
  assert.deepEqual(eu.answer.map((a) => a.data).sort(), sortedLbs(inRegion('europe-west1')));
  assert.equal(ecsOf(eu.raw), '100.64.1.0/24/10');
  // A client nobody placed: every shard, with the scope of that ignorance.
  const other = await dig(dnsPort, GLOBAL, 'A', ['+subnet=192.0.2.0/24']);
  assert.equal(other.answer.length, 13);
  // asia-east1 without healthy shards: its clients get the nearest region that has some (Belgium, 9,669 km).
  await setPods(inRegion('asia-east1'), false);
  await waitFor('asia clients sent to europe-west1', async () => JSON.stringify((await dig(dnsPort, GLOBAL, 'A', ['+subnet=203.0.113.0/24'])).answer.map((a) => a.data).sort()) === JSON.stringify(sortedLbs(inRegion('europe-west1'))), 10_000, 50);
  await setPods(inRegion('asia-east1'), true);
  await waitFor('asia back', async () => JSON.stringify((await dig(dnsPort, GLOBAL, 'A', ['+subnet=203.0.113.0/24'])).answer.map((a) => a.data).sort()) === JSON.stringify(asia), 10_000, 50);
  const e = await run('kubectl', ['fedns', 'explain', GLOBAL]);
  assert.match(e.stdout, /A answered per query by client location \(ECS or source address\): a client gets the shards of its nearest region of asia-east1, europe-west1, us-central1, us-east1/);
  await kubectl('--context=federation-cluster', 'annotate', 'service', 'nginx', 'federation.fedns.io/routing-');
});

test('weights: 1:3 gives 25% ± 3% over 10,000 queries of the real dig', async () => {
  await kubectl('--context=federation-cluster', 'annotate', 'service', 'nginx', 'federation.fedns.io/weights=gce-us-east1b=1,gce-us-east1c=3,gce-us-east1d=0', '--overwrite');
  const region = regionName('us-east1');
  await waitFor('one shard per answer', async () => (await dig(dnsPort, region)).answer.length === 1, 10_000, 50);
  const batch = join(dataDir, 'weighted-queries');
  writeFileSync(batch, `${Array.from({ length: 10_000 }, () => `${region} A`).join('\n')}\n`);
  const out = await run('dig', ['+norec', '+nocookie', '+tries=3', '+time=2', '+noall', '+answer', '+comments', '-p', String(dnsPort), '@127.0.0.1', '-f', batch]);
  const answers = out.stdout.split('\n').filter((l) => l.startsWith(region));
  const statuses = [...out.stdout.matchAll(/status: (\w+)/g)].map((m) => m[1]);
  assert.equal(statuses.length, 10_000, `every query answered\n${out.stderr.slice(0, 2000)}`);
  assert.deepEqual([...new Set(statuses)], ['NOERROR']);
  assert.equal(answers.length, 10_000, out.stdout.split('\n').filter((l) => l && !l.startsWith(region) && !l.startsWith(';')).slice(0, 20).join('\n'));
  const b = answers.filter((l) => l.endsWith(lbOf('gce-us-east1b'))).length / answers.length;
  const c = answers.filter((l) => l.endsWith(lbOf('gce-us-east1c'))).length / answers.length;
  assert.equal(b + c, 1, 'weight 0: gce-us-east1d never');
  assert.ok(Math.abs(b - 0.25) <= 0.03, `weight 1 of 4 got ${(b * 100).toFixed(1)}%`);
  process.stdout.write(`# weights 1:3 on the seed federation, 10,000 dig queries: ${(b * 100).toFixed(2)}% / ${(c * 100).toFixed(2)}%\n`);
  await kubectl('--context=federation-cluster', 'annotate', 'service', 'nginx', 'federation.fedns.io/weights-');
});

test('policy history and rollback restore the earlier annotations and answers', async () => {
  // Version A: two of us-east1's shards weighed 0 (out of this service). Version B: all three.
  await kubectl('--context=federation-cluster', 'annotate', 'service', 'nginx', 'federation.fedns.io/weights=gce-us-east1b=0,gce-us-east1c=0', '--overwrite');
  await waitFor('us-east1 down to one shard', async () => JSON.stringify(await addresses(regionName('us-east1'))) === JSON.stringify([lbOf('gce-us-east1d')]), 10_000, 50);
  const versionA = JSON.parse((await run('kubectl', ['fedns', 'policy', 'history', 'default/nginx', '-o', 'json'])).stdout).items.at(-1) as { version: number; policy: Record<string, string> };
  assert.equal(versionA.policy['federation.fedns.io/weights'], 'gce-us-east1b=0,gce-us-east1c=0');
  await kubectl('--context=federation-cluster', 'annotate', 'service', 'nginx', 'federation.fedns.io/weights=gce-us-east1b=0,gce-us-east1c=0,gce-us-east1d=0', 'federation.fedns.io/ttl=5', '--overwrite');
  await waitFor('us-east1 without shards: nearest region', async () => (await cnameOf(regionName('us-east1'))) === regionName('us-central1'), 10_000, 50);

  const h = await run('kubectl', ['fedns', 'policy', 'history', 'default/nginx']);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, new RegExp(`^${versionA.version} .* demo-admin +weights: (\\(unset\\)|"[^"]*") → "gce-us-east1b=0,gce-us-east1c=0"$`, 'm'), h.stdout);
  assert.match(h.stdout, /demo-admin +ttl: "1" → "5"; weights: "gce-us-east1b=0,gce-us-east1c=0" → "gce-us-east1b=0,gce-us-east1c=0,gce-us-east1d=0"$/m, h.stdout);
  assert.match(h.stdout, /probe: \(unset\) → "tcp:\d+"/, 'the probe of the previous test is a version too');

  const rb = await run('kubectl', ['fedns', 'policy', 'rollback', 'default/nginx', '--to', String(versionA.version)]);
  assert.equal(rb.code, 0, rb.stderr);
  assert.match(rb.stdout, new RegExp(`service/nginx policy rolled back to version ${versionA.version} \\(resourceVersion \\d+\\): ttl: "5" → "1"; weights: "gce-us-east1b=0,gce-us-east1c=0,gce-us-east1d=0" → "gce-us-east1b=0,gce-us-east1c=0"`));
  // The annotations are version A's again, and so are the answers.
  const svc = JSON.parse(await kubectl('--context=federation-cluster', 'get', 'service', 'nginx', '-o', 'json')) as { metadata: { annotations: Record<string, string> } };
  const policy = Object.fromEntries(Object.entries(svc.metadata.annotations).filter(([k]) => k.startsWith('federation.fedns.io/') && k !== 'federation.fedns.io/shards'));
  assert.deepEqual(policy, versionA.policy);
  await waitFor('us-east1 answers as in version A', async () => JSON.stringify(await addresses(regionName('us-east1'))) === JSON.stringify([lbOf('gce-us-east1d')]) && (await cnameOf(regionName('us-east1'))) === undefined, 10_000, 50);
  assert.equal((await dig(dnsPort, GLOBAL)).answer[0]?.ttl, 1);
  // The rollback is a change of its own, by who ran it.
  const after = JSON.parse((await run('kubectl', ['fedns', 'policy', 'history', 'default/nginx', '-o', 'json'])).stdout).items.at(-1) as { user: string; policy: Record<string, string> };
  assert.equal(after.user, 'demo-admin');
  assert.deepEqual(after.policy, versionA.policy);
  const again = await run('kubectl', ['fedns', 'policy', 'rollback', 'default/nginx', '--to', String(versionA.version)]);
  assert.match(again.stdout, /already equals version \d+: nothing to roll back/);
  await kubectl('--context=federation-cluster', 'annotate', 'service', 'nginx', 'federation.fedns.io/weights-');
});

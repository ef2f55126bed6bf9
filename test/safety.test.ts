/**
 * Issue 9, the control plane under real operation (one `fedns serve`, three
 * simulated members): one writer per data dir (item 3), no object in the store
 * takes the process down (4), Cluster edits reconnect (5), status, explain and
 * history tell the truth (7), metrics and logs an operator can alert on (8).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type SimCluster, startSimCluster } from '@fedns/kube-sim';
import { api, dig, type FednsProcess, freePort, joinSims, runFedns, spawnFedns, tempDir, waitFor, waitReady, openTestStore } from './helpers.js';

const dataDir = tempDir();
const sims: SimCluster[] = [];
let serve: FednsProcess;
let base = '';
let dnsPort = 0;
const fedArgs = ['--data-dir', dataDir, '--federation', 'myfed'];
const G = (svc: string) => `${svc}.default.myfed.svc.example.com.`;
const aRecords = async (name: string) => (await dig(dnsPort, name)).answer.filter((r) => r.type === 'A').map((r) => r.data).sort();
const lbOf = (sim: SimCluster | undefined, svc: string) => sim?.lbAssignments().get(`default/${svc}`) ?? '';

async function createService(name: string, annotations: Record<string, string> = {}): Promise<void> {
  const r = await api(base, '/api/v1/namespaces/default/services', { method: 'POST', body: { metadata: { name, annotations }, spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80 }] } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

const patch = (path: string, body: unknown) => api(base, path, { method: 'PATCH', body, contentType: 'application/merge-patch+json' });

before(async () => {
  for (const [name, zone, pool] of [
    ['c1', 'us-east1-b', '198.51.100.0/28'],
    ['c2', 'us-east1-c', '198.51.100.16/28'],
  ] as const) {
    sims.push(await startSimCluster({ name, region: 'us-east1', zones: [zone], lbPool: pool, kubeletDelayMs: 20, lbDelayMs: 10 }));
  }
  await joinSims(dataDir, 'myfed', sims);
  const apiPort = await freePort();
  dnsPort = await freePort();
  base = `http://127.0.0.1:${apiPort}`;
  serve = spawnFedns(['serve', ...fedArgs, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--cluster-grace', '3s', '--stabilization', '200ms', '--first-report-timeout', '3s', '--log-level', 'info']);
  await waitReady(base, serve);
  await createService('web');
  for (const s of sims) {
    await waitFor(`web in ${s.name}`, async () => s.lbAssignments().has('default/web'));
    s.runPods({ namespace: 'default', name: 'web', labels: { app: 'web' }, count: 1 });
  }
  await waitFor('both shards published', async () => (await aRecords(G('web'))).length === 2);
});

after(async () => {
  await serve?.stop();
  await Promise.all(sims.map((s) => s.close()));
});

test('one zone writer per data dir: a second serve or controller is refused at start, naming the holder; a nameserver follower is allowed', async () => {
  const apiPort = await freePort();
  for (const role of ['serve', 'controller']) {
    const second = await runFedns([role, ...fedArgs, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${await freePort()}`]);
    assert.equal(second.code, 2, second.stderr);
    const errLines = second.stderr.trim().split('\n');
    assert.equal(errLines.length, 1, `one line: ${second.stderr}`);
    assert.match(errLines[0] ?? '', new RegExp(`already written by fedns serve \\(pid ${serve.child.pid} on \\S+, since`));
    // It never listened.
    await assert.rejects(fetch(`http://127.0.0.1:${apiPort}/readyz`));
  }
  const nsPort = await freePort();
  const opsPort = await freePort();
  const follower = spawnFedns(['nameserver', ...fedArgs, '--dns-listen', `127.0.0.1:${nsPort}`, '--api-listen', `127.0.0.1:${opsPort}`, '--log-level', 'warn']);
  try {
    await waitReady(`http://127.0.0.1:${opsPort}`, follower);
    assert.deepEqual((await dig(nsPort, G('web'))).answer.filter((r) => r.type === 'A').length, 2);
  } finally {
    await follower.stop();
  }
});

test('no object in the store takes the process down: an unusable kubeconfig and a malformed service written past the API', async () => {
  const store = await openTestStore(dataDir);
  await store.createObject({ kind: 'clusters', namespace: '', name: 'bad', uid: 'u-bad', object: { apiVersion: 'federation.fedns.io/v1', kind: 'Cluster', metadata: { name: 'bad' }, spec: {} }, credentials: 'apiVersion: v1\nclusters: [ {{ not: yaml' });
  await store.createObject({ kind: 'services', namespace: 'default', name: 'broken', uid: 'u-broken', object: { metadata: { name: 'broken', namespace: 'default', annotations: 'not a map' }, spec: null } });
  await store.close();
  // The process stays up; the API and DNS keep answering; the bad cluster says what is wrong.
  const bad = await waitFor('the bad cluster’s status', async () => {
    const c = (await api<{ status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }>(base, '/apis/federation.fedns.io/v1/clusters/bad')).body;
    return c.status?.conditions?.find((x) => x.type === 'Ready' && x.reason === 'InvalidConnection');
  });
  assert.equal(bad.status, 'False');
  assert.match(bad.message, /kubeconfig unusable/);
  assert.equal(serve.child.exitCode, null, serve.output().slice(-2000));
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  assert.equal((await dig(dnsPort, 'example.com.', 'SOA')).status, 'NOERROR');
  // Everything else goes on: a new service is propagated and published.
  await createService('after');
  await waitFor('after published', async () => (await dig(dnsPort, G('after'), 'ANY')).status === 'NOERROR' && (await dig(dnsPort, G('after'), 'TXT')).answer.length + (await aRecords(G('after'))).length > 0);
  assert.equal((await api(base, '/apis/federation.fedns.io/v1/clusters/bad', { method: 'DELETE' })).status, 200);
  assert.equal((await api(base, '/api/v1/namespaces/default/services/broken', { method: 'DELETE' })).status, 200);
  assert.equal(serve.child.exitCode, null);
});

test('a Cluster edit takes effect: a new server address reconnects and the member gets the federation’s services', async () => {
  const moved = await startSimCluster({ name: 'c2', region: 'us-east1', zones: ['us-east1-c'], lbPool: '198.51.100.32/28', kubeletDelayMs: 20, lbDelayMs: 10 });
  sims.push(moved);
  const r = await patch('/apis/federation.fedns.io/v1/clusters/c2', { spec: { server: moved.url } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await waitFor('web propagated to the new address', async () => moved.lbAssignments().has('default/web'), 10_000);
  moved.runPods({ namespace: 'default', name: 'web', labels: { app: 'web' }, count: 1 });
  await waitFor('the new shard published', async () => (await aRecords(G('web'))).includes(lbOf(moved, 'web')), 10_000);
});

test('status, explain and history tell the truth: placement, drains, TTL, and a new service never fails open on a subset', async () => {
  // Placement narrowed to c1: status counts only c1, the member copy in c2 goes and history says so.
  await patch('/api/v1/namespaces/default/services/web', { metadata: { annotations: { 'federation.fedns.io/clusters': 'c1' } } });
  const status = await waitFor('status for one placed cluster', async () => {
    const s = (await api<{ status?: { loadBalancer?: { ingress?: { ip: string }[] }; conditions?: { type: string; message: string }[] } }>(base, '/api/v1/namespaces/default/services/web')).body.status;
    const msg = s?.conditions?.find((c) => c.type === 'ShardsHealthy')?.message ?? '';
    return s?.loadBalancer?.ingress?.length === 1 && msg.startsWith('1/1 shards healthy') ? s : undefined;
  });
  assert.deepEqual(status.loadBalancer?.ingress, [{ ip: lbOf(sims[0], 'web') }]);
  const hist = async () => (await runFedns(['history', 'default/web', ...fedArgs])).stdout;
  let h = '';
  await waitFor('history names the placement change and the deleted member Service', async () => {
    h = await hist();
    return /placement \(every cluster\) → c1, member Services in c2 are deleted, releasing their load balancers/.test(h);
  }).catch((err) => assert.fail(`${err}\n${h}`));
  await waitFor('the member copy in c2 deleted, the deletion logged with its load balancer', async () =>
    serve.output().split('\n').some((l) => l.includes('member service deleted') && l.includes('"cluster":"c2"') && /its load balancer 198\.51\.100\.\d+ is released/.test(l)),
  );
  await patch('/api/v1/namespaces/default/services/web', { metadata: { annotations: { 'federation.fedns.io/clusters': null } } });

  // A drain: explain does not call the drained cluster a healthy shard, and history names it.
  await patch('/apis/federation.fedns.io/v1/clusters/c1', { spec: { drained: true } });
  await waitFor('c1 drained out of the global name', async () => !(await aRecords(G('web'))).includes(lbOf(sims[0], 'web')));
  const ex = (await runFedns(['explain', G('web'), ...fedArgs])).stdout;
  assert.doesNotMatch(/why: (.*)/.exec(ex)?.[1]?.split('; not published')[0] ?? '', /c1/, ex);
  assert.match(ex, /not published, drained: c1 \(cluster drained: spec\.drained\)/);
  assert.match(ex, /- c1: healthy but drained/);
  assert.match(await hist(), /cluster c1 drained \(spec\.drained: true\)/);
  await patch('/apis/federation.fedns.io/v1/clusters/c1', { spec: { drained: false } });
  await waitFor('c1 back', async () => (await aRecords(G('web'))).includes(lbOf(sims[0], 'web')));

  // A TTL change is a change in history too.
  await patch('/api/v1/namespaces/default/services/web', { metadata: { annotations: { 'federation.fedns.io/ttl': '60' } } });
  await waitFor('ttl 60 in history', async () => {
    const h = await hist();
    return /ttl 30 → 60/.test(h) && /~ web\.default\.myfed\.svc\.example\.com\. A [\d., ]+ \(ttl 30\) → [\d., ]+ \(ttl 60\)/.test(h);
  });

  // A new service, no pods anywhere (fail-open), and c2's load balancer slow: until c2 reports (or the
  // 3 s first-report timeout, counted from the creationTimestamp's whole second), the global name
  // never answers c1's address alone.
  const slow = sims[sims.length - 1] as SimCluster;
  slow.faults.freezeLoadBalancers(true);
  const created = Date.now();
  await createService('fresh');
  await waitFor('c1 gave fresh an address', async () => sims[0]?.lbAssignments().has('default/fresh'));
  while (Date.now() - created < 1500) {
    assert.deepEqual(await aRecords(G('fresh')), [], 'no transient subset before every cluster reported');
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitFor('fail-open after the first-report timeout', async () => (await aRecords(G('fresh'))).join() === lbOf(sims[0], 'fresh'), 5000);
  slow.faults.freezeLoadBalancers(false);
  await waitFor('both addresses once c2 answered', async () => (await aRecords(G('fresh'))).length === 2, 5000);
});

test('metrics and logs an operator can alert on', async () => {
  // Writes forbidden in c1 (credentials that may only read): propagation fails, is counted by cluster, logged once.
  const mark = serve.output().length;
  sims[0]?.faults.set({ writeErrorCode: 403 });
  for (let i = 0; i < 3; i++) await createService(`denied-${i}`);
  const metrics = async () => (await fetch(`${base}/metrics`)).text();
  await waitFor('propagation failures counted for c1', async () => /fedns_propagation_failures_total\{[^}]*cluster="c1"[^}]*\} ([3-9]|\d\d+)/.test(await metrics()));
  await new Promise((r) => setTimeout(r, 1500));
  const failing = serve.output().slice(mark).split('\n').filter((l) => l.includes('propagation to member cluster failing'));
  assert.equal(failing.length, 1, `logged once, counted after: ${failing.join('\n')}`);
  assert.match(failing[0] ?? '', /"level":40/);
  sims[0]?.faults.clear();
  await waitFor('recovery logged', async () => serve.output().includes('propagation to member cluster recovered'));

  // A member that stops answering is a warning, and its series say so.
  sims[0]?.faults.unreachable(true);
  await waitFor('unreachable c1 warned', async () => serve.output().split('\n').some((l) => l.includes('"level":40') && l.includes('member cluster unreachable') && l.includes('"cluster":"c1"')));
  await waitFor('c1 not reachable in metrics', async () => /fedns_cluster_reachable\{[^}]*cluster="c1"[^}]*\} 0/.test(await metrics()));
  sims[0]?.faults.clear();
  await waitFor('c1 reachable again', async () => /fedns_cluster_reachable\{[^}]*cluster="c1"[^}]*\} 1/.test(await metrics()));

  const m = await metrics();
  for (const series of [
    /fedns_cluster_ready\{[^}]*cluster="c2"[^}]*\} 1/,
    /fedns_shard_transitions_total\{[^}]*cluster="c\d"[^}]*state="(un)?healthy"[^}]*\} \d+/,
    /fedns_zone_commit_duration_seconds_bucket\{/,
    /fedns_zone_soa_serial\{[^}]*\} \d+/,
    /fedns_zone_last_commit_timestamp_seconds\{[^}]*\} \d+/,
    /fedns_propagations_total\{[^}]*cluster="c\d"/,
  ]) {
    assert.match(m, series);
  }
  // The serial gauge is the served serial (once commits settle).
  await waitFor('the serial gauge to equal the served SOA serial', async () => {
    const serial = Number(/fedns_zone_soa_serial\{[^}]*\} (\d+)/.exec(await metrics())?.[1]);
    return serial === Number((await dig(dnsPort, 'example.com.', 'SOA')).answer[0]?.data.split(' ')[2]);
  });
});

/** kube-sim behaviour over HTTP: controllers, fault injection, federation helper, CLI. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { type SimCluster, startSimCluster, startSimFederation } from '../src/index.js';
import { http, kubectlFor, waitFor } from './helpers.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SCENARIO = join(HERE, '../../../../shared/scenarios/seed-federation.yaml');

const svc = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { type: 'LoadBalancer', selector: { run: name }, ports: [{ name: 'http', port: 80, targetPort: 80 }], ...extra },
});

describe('kube-sim cluster', () => {
  let sim: SimCluster;
  before(async () => {
    sim = await startSimCluster({ name: 'c1', region: 'us-east1', zones: ['us-east1-b', 'us-east1-c'], nodesPerZone: 2, lbPool: '203.0.113.8/30', kubeletDelayMs: 50, lbDelayMs: 10 });
  });
  after(async () => {
    await sim.close();
  });

  it('serves health, version, nodes per zone', async () => {
    assert.equal((await http('GET', `${sim.url}/readyz`)).text, 'ok');
    assert.equal((await http('GET', `${sim.url}/livez`)).status, 200);
    assert.equal((await http('GET', `${sim.url}/version`)).json.gitVersion, 'v1.32.0');
    const nodes = (await http('GET', `${sim.url}/api/v1/nodes`)).json.items as any[];
    assert.equal(nodes.length, 4);
    assert.deepEqual([...new Set(nodes.map((n) => n.metadata.labels['topology.kubernetes.io/zone']))].sort(), ['us-east1-b', 'us-east1-c']);
    assert.ok(nodes.every((n) => n.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True')));
  });

  it('allocates unique ClusterIPs; clusterIP is immutable; LB pool exhaustion waits for a release', async () => {
    const ips = new Set<string>();
    for (const n of ['a', 'b', 'c']) {
      const r = await http('POST', `${sim.url}/api/v1/namespaces/default/services`, svc(n));
      assert.equal(r.status, 201, r.text);
      assert.match(r.json.spec.clusterIP, /^10\.96\./);
      ips.add(r.json.spec.clusterIP);
    }
    assert.equal(ips.size, 3);
    // /30 has two usable addresses: a and b get them, c stays pending.
    await waitFor('a and b get LB', () => sim.lbAssignments().size === 2);
    const c = (await http('GET', `${sim.url}/api/v1/namespaces/default/services/c`)).json;
    assert.equal(c.status.loadBalancer.ingress, undefined);
    const a = (await http('GET', `${sim.url}/api/v1/namespaces/default/services/a`)).json;
    const change = await http('PUT', `${sim.url}/api/v1/namespaces/default/services/a`, { ...a, spec: { ...a.spec, clusterIP: '10.96.9.9', clusterIPs: ['10.96.9.9'] } });
    assert.equal(change.status, 422);
    assert.match(change.json.message, /may not change once set/);
    const ip = a.status.loadBalancer.ingress[0].ip;
    assert.match(ip, /^203\.0\.113\.(9|10)$/);
    assert.equal((await http('DELETE', `${sim.url}/api/v1/namespaces/default/services/a`)).status, 200);
    const got = await waitFor('c gets the released address', async () => {
      const s = (await http('GET', `${sim.url}/api/v1/namespaces/default/services/c`)).json;
      return s.status.loadBalancer.ingress?.[0]?.ip;
    });
    assert.equal(got, ip);
    // switching to ClusterIP releases the address and clears status
    const b = (await http('GET', `${sim.url}/api/v1/namespaces/default/services/b`)).json;
    const r = await http('PATCH', `${sim.url}/api/v1/namespaces/default/services/b`, { spec: { type: 'ClusterIP' } }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.spec.ports[0].nodePort, undefined);
    await waitFor('b released', () => !sim.lbAssignments().has('default/b'));
    assert.equal(b.spec.clusterIP, r.json.spec.clusterIP);
    for (const n of ['b', 'c']) await http('DELETE', `${sim.url}/api/v1/namespaces/default/services/${n}`);
  });

  it('rejects invalid services with 422 and field causes', async () => {
    const r = await http('POST', `${sim.url}/api/v1/namespaces/default/services`, { metadata: { name: 'bad' }, spec: { ports: [{ port: 0 }] } });
    assert.equal(r.status, 422);
    assert.equal(r.json.details.causes[0].field, 'spec.ports[0].port');
    const n = await http('POST', `${sim.url}/api/v1/namespaces/default/services`, { metadata: { name: '1bad' }, spec: { ports: [{ port: 80 }] } });
    assert.equal(n.status, 422);
  });

  it('/sim/pods/run creates ready pods; fail/recover flips EndpointSlice readiness; node NotReady takes pods down', async () => {
    await http('POST', `${sim.url}/api/v1/namespaces/default/services`, svc('web'));
    const run = await http('POST', `${sim.url}/sim/pods/run`, { namespace: 'default', name: 'web', labels: { run: 'web' }, count: 3, ready: true });
    assert.equal(run.status, 201, run.text);
    assert.equal(run.json.pods.length, 3);
    const readyCount = async () => {
      const items = (await http('GET', `${sim.url}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb`)).json.items as any[];
      return (items[0]?.endpoints ?? []).filter((e: any) => e.conditions.ready).length as number;
    };
    await waitFor('3 ready endpoints', async () => (await readyCount()) === 3);
    const f = await http('POST', `${sim.url}/sim/pods/fail`, { namespace: 'default', selector: 'run=web' });
    assert.equal(f.json.pods.length, 3);
    await waitFor('0 ready endpoints', async () => (await readyCount()) === 0);
    const pod = (await http('GET', `${sim.url}/api/v1/namespaces/default/pods/web-0`)).json;
    assert.equal(pod.status.conditions.find((c: any) => c.type === 'Ready').status, 'False');
    await http('POST', `${sim.url}/sim/pods/recover`, { namespace: 'default', name: 'web-1' });
    await waitFor('1 ready endpoint', async () => (await readyCount()) === 1);
    await http('POST', `${sim.url}/sim/pods/recover`, { namespace: 'default', selector: 'run=web' });
    await waitFor('3 ready again', async () => (await readyCount()) === 3);
    const zone = await http('POST', `${sim.url}/sim/nodes/ready`, { zone: 'us-east1-b', ready: false });
    assert.equal(zone.json.nodes.length, 2);
    const inB = sim.stores.pods.list({ namespace: 'default', labelSelector: 'run=web' }).items.filter((p) => sim.stores.nodes.get(undefined, p.spec.nodeName)?.metadata.labels?.['topology.kubernetes.io/zone'] === 'us-east1-b').length;
    await waitFor('pods in zone b not ready', async () => (await readyCount()) === 3 - inB);
    await http('POST', `${sim.url}/sim/nodes/ready`, { zone: 'us-east1-b', ready: true });
    await waitFor('all ready', async () => (await readyCount()) === 3);
    // the core/v1 Endpoints object follows too
    const ep = (await http('GET', `${sim.url}/api/v1/namespaces/default/endpoints/web`)).json;
    assert.equal(ep.subsets[0].addresses.length, 3);
  });

  it('pods created through the API are scheduled and become Ready after the kubelet delay', async () => {
    const r = await http('POST', `${sim.url}/api/v1/namespaces/default/pods`, {
      metadata: { name: 'p1', labels: { run: 'web' } },
      spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }] },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.status.phase, 'Pending');
    const p = await waitFor('running', async () => {
      const x = (await http('GET', `${sim.url}/api/v1/namespaces/default/pods/p1`)).json;
      return x.status.phase === 'Running' && x;
    });
    assert.match(p.status.podIP, /^10\.244\./);
    assert.ok(p.spec.nodeName);
    const bad = await http('POST', `${sim.url}/api/v1/namespaces/default/pods`, { metadata: { name: 'p2' }, spec: { containers: [] } });
    assert.equal(bad.status, 422);
  });

  it('fault: unreachable resets API connections but /sim stays up; hang never answers; recover works', async () => {
    const f = await http('POST', `${sim.url}/sim/faults`, { unreachable: true });
    assert.equal(f.json.unreachable, true);
    await assert.rejects(http('GET', `${sim.url}/api/v1/namespaces`));
    await assert.rejects(http('GET', `${sim.url}/readyz`));
    assert.equal((await http('GET', `${sim.url}/sim/faults`)).json.unreachable, true);
    sim.faults.unreachable(true, 'hang');
    await assert.rejects(http('GET', `${sim.url}/api/v1/namespaces`, undefined, {}, 300), /abort|timeout/i);
    await http('DELETE', `${sim.url}/sim/faults`);
    assert.equal((await http('GET', `${sim.url}/api/v1/namespaces`)).status, 200);
  });

  it('fault: latency, injected errors, readyz failure', async () => {
    sim.faults.latency(150);
    const t0 = Date.now();
    await http('GET', `${sim.url}/api/v1/namespaces`);
    assert.ok(Date.now() - t0 >= 140);
    sim.faults.set({ latencyMs: 0, errorCode: 503 });
    const e = await http('GET', `${sim.url}/api/v1/namespaces`);
    assert.equal(e.status, 503);
    assert.equal(e.json.kind, 'Status');
    sim.faults.set({ errorCode: 0, notReady: true });
    assert.equal((await http('GET', `${sim.url}/readyz`)).status, 500);
    sim.faults.clear();
    assert.equal((await http('GET', `${sim.url}/readyz`)).status, 200);
  });

  it('drop-watches closes open watch streams; compact makes old versions 410', async () => {
    const res = await fetch(`${sim.url}/api/v1/services?watch=true`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const d = await http('POST', `${sim.url}/sim/drop-watches`, {});
    assert.ok(d.json.dropped >= 1);
    for (;;) if ((await reader.read()).done) break;
    await http('POST', `${sim.url}/sim/compact`, {});
    const text = await (await fetch(`${sim.url}/api/v1/services?watch=true&resourceVersion=1`)).text();
    const ev = JSON.parse(text.trim().split('\n')[0] as string);
    assert.equal(ev.type, 'ERROR');
    assert.equal(ev.object.code, 410);
  });

  it('namespaces: 404 for objects in a missing namespace; deletion cascades', async () => {
    const miss = await http('POST', `${sim.url}/api/v1/namespaces/prod/configmaps`, { metadata: { name: 'x' } });
    assert.equal(miss.status, 404);
    assert.equal(miss.json.message, 'namespaces "prod" not found');
    assert.equal((await http('POST', `${sim.url}/api/v1/namespaces`, { metadata: { name: 'prod' } })).status, 201);
    assert.equal((await http('POST', `${sim.url}/api/v1/namespaces/prod/configmaps`, { metadata: { name: 'x' }, data: { a: 'b' } })).status, 201);
    assert.equal((await http('GET', `${sim.url}/api/v1/namespaces/prod/serviceaccounts/default`)).status, 200);
    assert.equal((await http('DELETE', `${sim.url}/api/v1/namespaces/prod`)).status, 200);
    assert.equal((await http('GET', `${sim.url}/api/v1/namespaces/prod/configmaps/x`)).status, 404);
  });

  it('strategic merge patch follows the list extensions each kind serves in its OpenAPI', async () => {
    const smp = { 'content-type': 'application/strategic-merge-patch+json' };
    const core = (await http('GET', `${sim.url}/openapi/v3/api/v1`)).json.components.schemas;
    const ports = core['io.k8s.api.core.v1.Service'].properties.spec.properties.ports;
    assert.equal(ports['x-kubernetes-patch-merge-key'], 'port');
    assert.deepEqual(ports['x-kubernetes-list-map-keys'], ['port', 'protocol']);
    const discovery = (await http('GET', `${sim.url}/openapi/v3/apis/discovery.k8s.io/v1`)).json.components.schemas;
    assert.equal(discovery['io.k8s.api.discovery.v1.EndpointSlice'].properties.ports['x-kubernetes-list-type'], 'atomic');

    // EndpointSlice ports and endpoints are atomic upstream: a patch replaces them.
    const slices = `${sim.url}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices`;
    const slice = { metadata: { name: 'manual' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] };
    assert.equal((await http('POST', slices, slice)).status, 201);
    const ps = await http('PATCH', `${slices}/manual`, { ports: [{ name: 'https', port: 443, protocol: 'TCP' }], endpoints: [{ addresses: ['10.0.0.2'] }] }, smp);
    assert.equal(ps.status, 200, ps.text);
    assert.deepEqual(ps.json.ports, [{ name: 'https', port: 443, protocol: 'TCP' }]);
    assert.deepEqual(ps.json.endpoints, [{ addresses: ['10.0.0.2'] }]);

    // Service ports merge by port; Pod containers by name; Node status conditions by type.
    const svcs = `${sim.url}/api/v1/namespaces/default/services`;
    assert.equal((await http('POST', svcs, svc('smp', { type: 'ClusterIP' }))).status, 201);
    const pv = await http('PATCH', `${svcs}/smp`, { spec: { ports: [{ name: 'https', port: 443, targetPort: 8443 }] } }, smp);
    assert.deepEqual(pv.json.spec.ports.map((p: { name: string }) => p.name), ['http', 'https']);
    const pods = `${sim.url}/api/v1/namespaces/default/pods`;
    const pod = { metadata: { name: 'smp' }, spec: { containers: [{ name: 'a', image: 'x', env: [{ name: 'A', value: '1' }] }] } };
    assert.equal((await http('POST', pods, pod)).status, 201);
    const pp = await http('PATCH', `${pods}/smp`, { spec: { containers: [{ name: 'a', env: [{ name: 'B', value: '2' }] }] } }, smp);
    assert.deepEqual(pp.json.spec.containers[0].env, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
    assert.equal(pp.json.spec.containers[0].image, 'x');
    const node = (await http('GET', `${sim.url}/api/v1/nodes`)).json.items[0].metadata.name;
    const pn = await http('PATCH', `${sim.url}/api/v1/nodes/${node}/status`, { status: { conditions: [{ type: 'FednsTest', status: 'True' }] } }, smp);
    assert.deepEqual(pn.json.status.conditions.map((c: { type: string }) => c.type), ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready', 'FednsTest']);
    const back = await http('PATCH', `${sim.url}/api/v1/nodes/${node}/status`, { status: { conditions: [{ type: 'FednsTest', $patch: 'delete' }] } }, smp);
    assert.equal(back.json.status.conditions.length, 4);
    for (const url of [`${slices}/manual`, `${svcs}/smp`, `${pods}/smp`]) assert.equal((await http('DELETE', url)).status, 200);
  });
});

describe('kube-sim hostname ingress', () => {
  it('hands out hostnames when asked (option or annotation)', async () => {
    const sim = await startSimCluster({ name: 'aws-1', lbIngress: 'hostname', lbPool: '192.0.2.0/29', lbDelayMs: 0 });
    try {
      await http('POST', `${sim.url}/api/v1/namespaces/default/services`, svc('h'));
      const s = await waitFor('hostname', async () => (await http('GET', `${sim.url}/api/v1/namespaces/default/services/h`)).json.status.loadBalancer.ingress?.[0]);
      assert.match(s.hostname, /^192-0-2-\d+\.aws-1\.lb\.fedns\.test$/);
      assert.equal(sim.lbHostnames().get(s.hostname), s.hostname.split('.')[0].replace(/-/g, '.'));
      await http('POST', `${sim.url}/api/v1/namespaces/default/services`, { ...svc('i'), metadata: { name: 'i', annotations: { 'kube-sim.fedns.io/lb-ingress': 'ip' } } });
      const i = await waitFor('ip', async () => (await http('GET', `${sim.url}/api/v1/namespaces/default/services/i`)).json.status.loadBalancer.ingress?.[0]);
      assert.match(i.ip, /^192\.0\.2\./);
    } finally {
      await sim.close();
    }
  });
});

describe('startSimFederation', () => {
  it('starts the seed scenario and writes a kubeconfig with a context per cluster', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-sim-fed-'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    const fed = await startSimFederation({ scenario: SCENARIO, kubeconfigPath });
    try {
      assert.equal(fed.clusters.length, 13);
      const kc = parse(readFileSync(kubeconfigPath, 'utf8'));
      assert.deepEqual(kc.contexts.map((c: any) => c.name).sort(), fed.clusters.map((c) => c.name).sort());
      assert.ok(kc.contexts.some((c: any) => c.name === 'gce-asia-east1a' && c.context.cluster === 'gce-asia-east1a' && c.context.user === 'gce-asia-east1a'));
      const k = kubectlFor(fed.clusters);
      const r = await k('--context', 'gce-us-central1f', 'get', 'nodes', '-L', 'topology.kubernetes.io/zone');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /us-central1-f/);
      const b = fed.byName.get('gce-europe-west1b') as SimCluster;
      await http('POST', `${b.url}/api/v1/namespaces/default/services`, svc('nginx'));
      const ing = await waitFor('lb', async () => (await http('GET', `${b.url}/api/v1/namespaces/default/services/nginx`)).json.status.loadBalancer.ingress?.[0]?.ip);
      assert.match(ing, /^198\.51\.100\.(49|5\d|6[0-2])$/);
    } finally {
      await fed.close();
    }
  });
});

describe('kube-sim CLI', () => {
  it('starts, prints its URL, serves, and exits on SIGTERM', async () => {
    const main = join(HERE, '../src/main.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', main, '--name', 'gce-asia-east1a', '--region', 'asia-east1', '--zones', 'asia-east1-a', '--lb-pool', '198.51.100.0/28', '--listen', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const url = await waitFor('url line', () => out.match(/listening on (http:\/\/\S+)/)?.[1], 20_000);
      const nodes = (await http('GET', `${url}/api/v1/nodes`)).json.items as any[];
      assert.equal(nodes.length, 3);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  it('rejects bad flags with exit code 2', async () => {
    const main = join(HERE, '../src/main.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', main, '--lb-ingress', 'nope'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 2);
    assert.match(err, /--lb-ingress/);
  });
});

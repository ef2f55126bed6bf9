/** The seed walkthrough against one simulated cluster, with the real kubectl. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { type SimCluster, startSimCluster } from '../src/index.js';
import { type Kubectl, kubectlFor, waitFor } from './helpers.js';

const SHARED = join(fileURLToPath(new URL('.', import.meta.url)), '../../../../shared');
const NGINX = join(SHARED, 'scenarios/nginx.yaml');

let sim: SimCluster;
let k: Kubectl;

before(async () => {
  sim = await startSimCluster({ name: 'gce-asia-east1a', region: 'asia-east1', zones: ['asia-east1-a'], lbPool: '198.51.100.0/28', kubeletDelayMs: 200 });
  k = kubectlFor([sim]);
});

after(async () => {
  await sim.close();
});

describe('kubectl against kube-sim', () => {
  it('get nodes --show-labels shows Ready nodes with topology labels', async () => {
    const r = await k('--context', 'gce-asia-east1a', 'get', 'nodes', '--show-labels');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0] as string, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+LABELS/);
    assert.equal(lines.length, 4);
    assert.match(r.stdout, /Ready/);
    assert.match(r.stdout, /topology\.kubernetes\.io\/region=asia-east1/);
    assert.match(r.stdout, /topology\.kubernetes\.io\/zone=asia-east1-a/);
    assert.match(r.stdout, /failure-domain\.beta\.kubernetes\.io\/zone=asia-east1-a/);
  });

  it('kubectl version and api-resources work', async () => {
    const v = await k('version', '-o', 'json');
    assert.equal(v.code, 0, v.stderr);
    assert.equal(JSON.parse(v.stdout).serverVersion.gitVersion, 'v1.32.0');
    const ar = await k('api-resources');
    assert.equal(ar.code, 0, ar.stderr);
    assert.match(ar.stdout, /endpointslices\s+discovery\.k8s\.io\/v1\s+true\s+EndpointSlice/);
    assert.match(ar.stdout, /services\s+svc\s+v1\s+true\s+Service/);
  });

  it('create -f nginx.yaml (client-side validation on), then get services shows the LB address', async () => {
    const c = await k('create', '-f', NGINX);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout.trim(), 'service/nginx created');
    const out = await waitFor('LB ingress in kubectl output', async () => {
      const r = await k('get', 'services', 'nginx');
      return /198\.51\.100\.\d+/.test(r.stdout) && r.stdout;
    });
    const [header, row] = out.trim().split('\n');
    assert.match(header as string, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/);
    assert.match(row as string, /^nginx\s+LoadBalancer\s+10\.96\.\d+\.\d+\s+198\.51\.100\.\d+\s+80:3\d{4}\/TCP\s+\d+s$/);
  });

  it('409 AlreadyExists and 404 NotFound come through as kubectl errors', async () => {
    const dup = await k('create', '-f', NGINX);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /Error from server \(AlreadyExists\).*services "nginx" already exists/);
    const nf = await k('get', 'services', 'nope');
    assert.notEqual(nf.code, 0);
    assert.match(nf.stderr, /Error from server \(NotFound\): services "nope" not found/);
    const ns = await k('-n', 'missing', 'run', 'x', '--image=nginx');
    assert.notEqual(ns.code, 0);
    assert.match(ns.stderr, /namespaces "missing" not found/);
  });

  it('apply -f on the existing service works and is idempotent', async () => {
    const a = await k('apply', '-f', NGINX);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /service\/nginx (configured|unchanged)/);
    const b = await k('apply', '-f', NGINX);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /service\/nginx unchanged/);
  });

  it('run nginx → pod Running, EndpointSlice gets a ready endpoint', async () => {
    const r = await k('run', 'nginx', '--image=nginx:1.11.1-alpine', '--port=80');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'pod/nginx created');
    const slice = await waitFor('ready endpoint', async () => {
      const s = await k('get', 'endpointslices', '-l', 'kubernetes.io/service-name=nginx', '-o', 'json');
      const items = JSON.parse(s.stdout).items as any[];
      return items[0]?.endpoints?.some((e: any) => e.conditions?.ready) && items[0];
    });
    assert.equal(slice.addressType, 'IPv4');
    assert.equal(slice.ports[0].port, 80);
    assert.equal(slice.ports[0].name, 'http');
    assert.equal(slice.endpoints[0].targetRef.name, 'nginx');
    assert.equal(slice.endpoints[0].zone, 'asia-east1-a');
    const pods = await k('get', 'pods');
    assert.match(pods.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    assert.match(pods.stdout, /nginx\s+1\/1\s+Running\s+0/);
    const es = await k('get', 'endpointslices');
    assert.match(es.stdout, /nginx-\w+\s+IPv4\s+80\s+10\.244\.\d+\.\d+/);
  });

  it('describe services nginx shows LoadBalancer Ingress and Endpoints; describe pod/node work', async () => {
    const d = await k('describe', 'services', 'nginx');
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /LoadBalancer Ingress:\s+198\.51\.100\.\d+/);
    assert.match(d.stdout, /Selector:\s+run=nginx/);
    assert.match(d.stdout, /Endpoints:\s+10\.244\.\d+\.\d+:80/);
    const p = await k('describe', 'pod', 'nginx');
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /Status:\s+Running/);
    const n = await k('describe', 'nodes');
    assert.equal(n.code, 0, n.stderr);
    assert.match(n.stdout, /topology\.kubernetes\.io\/zone=asia-east1-a/);
  });

  it('label, annotate, patch, logs, get -o yaml', async () => {
    assert.equal((await k('label', 'svc', 'nginx', 'tier=web')).code, 0);
    assert.equal((await k('annotate', 'svc', 'nginx', 'note=x')).code, 0);
    const p = await k('patch', 'svc', 'nginx', '-p', '{"spec":{"ports":[{"port":80,"targetPort":8080}]}}');
    assert.equal(p.code, 0, p.stderr);
    const j = JSON.parse((await k('get', 'svc', 'nginx', '-o', 'json')).stdout);
    assert.equal(j.metadata.labels.tier, 'web');
    assert.equal(j.spec.ports.length, 1);
    assert.equal(j.spec.ports[0].targetPort, 8080);
    const l = await k('logs', 'nginx');
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /simulated log/);
  });

  it('get svc -w sees a change', async () => {
    const w = k.spawn('get', 'svc', '-w');
    try {
      await waitFor('watch header', () => /NAME\s+TYPE/.test(w.output()));
      sim.stores.services.mutate('default', 'nginx', (d) => {
      d.metadata.labels = { ...d.metadata.labels, touched: 'yes' };
    });
      await waitFor('watch event line', () => w.output().trim().split('\n').filter((l) => l.startsWith('nginx')).length >= 2);
    } finally {
      await w.kill();
    }
  });

  it('delete pod and service; LB address and EndpointSlice are released', async () => {
    const dp = await k('delete', 'pod', 'nginx');
    assert.equal(dp.code, 0, dp.stderr);
    assert.match(dp.stdout, /pod "nginx" deleted/);
    const ds = await k('delete', 'service', 'nginx');
    assert.equal(ds.code, 0, ds.stderr);
    assert.match(ds.stdout, /service "nginx" deleted/);
    await waitFor('slice gone', () => sim.stores.endpointSlices.list({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=nginx' }).items.length === 0);
    await waitFor('LB released', () => sim.lbAssignments().size === 0);
    const g = await k('get', 'svc', 'nginx');
    assert.match(g.stderr, /NotFound/);
  });

  it('typed generators that send protobuf bodies: create namespace/configmap/secret/service', async () => {
    for (const args of [
      ['create', 'namespace', 'prod'],
      ['-n', 'prod', 'create', 'configmap', 'cfg', '--from-literal=a=b'],
      ['-n', 'prod', 'create', 'secret', 'generic', 's1', '--from-literal=pw=hunter2'],
      ['-n', 'prod', 'create', 'service', 'loadbalancer', 'web', '--tcp=80:8080'],
    ]) {
      const r = await k(...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const cm = JSON.parse((await k('-n', 'prod', 'get', 'cm', 'cfg', '-o', 'json')).stdout);
    assert.deepEqual(cm.data, { a: 'b' });
    const sec = JSON.parse((await k('-n', 'prod', 'get', 'secret', 's1', '-o', 'json')).stdout);
    assert.equal(Buffer.from(sec.data.pw, 'base64').toString(), 'hunter2');
    assert.equal(sec.type, 'Opaque');
    const svc = JSON.parse((await k('-n', 'prod', 'get', 'svc', 'web', '-o', 'json')).stdout);
    assert.equal(svc.spec.type, 'LoadBalancer');
    assert.equal(svc.spec.ports[0].targetPort, 8080);
    assert.equal(svc.spec.sessionAffinity, 'None');
    const del = await k('delete', 'namespace', 'prod');
    assert.equal(del.code, 0, del.stderr);
    assert.equal(sim.stores.services.list({ namespace: 'prod' }).items.length, 0);
  });

  it('protobuf bodies keep empty values: create configmap --from-literal=k=, create secret --from-literal=pw=', async () => {
    const cmr = await k('create', 'configmap', 'empty', '--from-literal=k=', '--from-literal=a=b');
    assert.equal(cmr.code, 0, cmr.stderr);
    const cm = JSON.parse((await k('get', 'cm', 'empty', '-o', 'json')).stdout);
    assert.deepEqual(cm.data, { a: 'b', k: '' });
    const sr = await k('create', 'secret', 'generic', 'empty', '--from-literal=pw=');
    assert.equal(sr.code, 0, sr.stderr);
    const sec = JSON.parse((await k('get', 'secret', 'empty', '-o', 'json')).stdout);
    assert.deepEqual(sec.data, { pw: '' });
    for (const kind of ['cm', 'secret']) assert.equal((await k('delete', kind, 'empty')).code, 0);
  });

  it('namespaces: refuse deleting default', async () => {
    const del = await k('delete', 'namespace', 'default');
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /Forbidden/);
  });
});

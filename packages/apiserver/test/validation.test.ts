/**
 * Validation that matches what operators type: Cluster kubeconfigs (422 naming the problem, nothing
 * stored), drainedZones against the cluster's zones (422, or a Warning while they are unknown),
 * placement and federation.fedns.io/* annotation keys, Service port names as kube-apiserver checks them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore, type Store } from '@fedns/store';
import { Registry } from 'prom-client';
import { type ApiServer, buildApiServer } from '../src/index.js';

let store: Store;
let app: ApiServer;
let base = '';

async function req(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(base + path, { method, headers: body !== undefined ? { 'content-type': contentType } : {}, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, warning: res.headers.get('warning') ?? '' };
}
const causes = (r: { json: { details?: { causes?: { field: string; message: string }[] } } }) => r.json.details?.causes ?? [];

const KC = (o: { server?: string; current?: string; ctxCluster?: string; ca?: string } = {}) =>
  [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: m',
    '  cluster:',
    ...(o.server === '' ? [] : [`    server: ${o.server ?? 'https://203.0.113.5:6443'}`]),
    ...(o.ca ? [`    certificate-authority-data: ${o.ca}`] : []),
    'users:',
    '- name: u',
    '  user:',
    '    token: t0ken',
    'contexts:',
    '- name: m',
    '  context:',
    `    cluster: ${o.ctxCluster ?? 'm'}`,
    '    user: u',
    ...(o.current === '' ? [] : [`current-context: ${o.current ?? 'm'}`]),
  ].join('\n');
const cluster = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'federation.fedns.io/v1', kind: 'Cluster', metadata: { name }, spec });
const CLUSTERS = '/apis/federation.fedns.io/v1/clusters';
const SERVICES = '/api/v1/namespaces/default/services';

before(async () => {
  store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'fedns-api-valid-')) });
  app = await buildApiServer({ store, federation: { name: 'myfed', zone: 'example.com.' }, registry: new Registry() });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await app.close();
  await store.close();
});

describe('Cluster spec.kubeconfig (item 4)', () => {
  const bad: [string, string, RegExp][] = [
    ['not YAML', 'clusters: [oops\n  - {', /not valid YAML/],
    ['not a kubeconfig', 'hello world', /not a kubeconfig/],
    ['no current-context', KC({ current: '' }), /current-context: required/],
    ['current-context naming nothing', KC({ current: 'prod' }), /current-context "prod" names no context \(have: m\)/],
    ['context naming an undefined cluster', KC({ ctxCluster: 'gone' }), /contexts\[0\]\.context\.cluster: names cluster "gone", which is not defined/],
    ['no server', KC({ server: '' }), /clusters\[0\]\.cluster\.server: is required/],
    ['a server that is not an http(s) URL', KC({ server: 'ftp://203.0.113.5' }), /server: "ftp:\/\/203\.0\.113\.5" is not an http\(s\) URL/],
    ['certificate data that is not base64 of PEM', KC({ ca: 'bm90IGEgY2VydA==' }), /certificate-authority-data: is base64, but not of PEM data/],
  ];
  for (const [what, kubeconfig, message] of bad) {
    it(`${what}: 422 naming spec.kubeconfig, nothing stored`, async () => {
      const r = await req('POST', CLUSTERS, cluster('bad', { kubeconfig }));
      assert.equal(r.status, 422, JSON.stringify(r.json));
      assert.equal(r.json.reason, 'Invalid');
      assert.deepEqual(causes(r).map((c) => c.field), ['spec.kubeconfig']);
      assert.match(causes(r)[0]?.message ?? '', message);
      assert.ok(!(causes(r)[0]?.message ?? '').includes('t0ken'), 'the kubeconfig is never echoed');
      assert.equal((await store.getObject('clusters', '', 'bad')), undefined);
    });
  }

  it('an update with a broken kubeconfig is refused and keeps the stored credentials', async () => {
    assert.equal((await req('POST', CLUSTERS, cluster('good', { kubeconfig: KC() }))).status, 201);
    const stored = await store.clusterCredentials('good');
    const r = await req('PATCH', `${CLUSTERS}/good`, { spec: { kubeconfig: 'a: [' } }, 'application/merge-patch+json');
    assert.equal(r.status, 422);
    assert.equal(await store.clusterCredentials('good'), stored);
  });
});

describe('Cluster spec.drainedZones (item 6)', () => {
  it('a zone the cluster does not have: 422 naming the index and the zones', async () => {
    assert.equal((await req('POST', CLUSTERS, cluster('eu', { kubeconfig: KC(), region: 'europe-west1', zones: ['europe-west1-b', 'europe-west1-c'] }))).status, 201);
    const r = await req('PATCH', `${CLUSTERS}/eu`, { spec: { drainedZones: ['europe-west1-b', 'europe-west1c'] } }, 'application/merge-patch+json');
    assert.equal(r.status, 422, JSON.stringify(r.json));
    assert.deepEqual(causes(r).map((c) => c.field), ['spec.drainedZones[1]']);
    assert.match(causes(r)[0]?.message ?? '', /Invalid value: "europe-west1c": cluster "eu" has no such zone \(zones: europe-west1-b, europe-west1-c\)/);
    const ok = await req('PATCH', `${CLUSTERS}/eu`, { spec: { drainedZones: ['europe-west1-c'] } }, 'application/merge-patch+json');
    assert.equal(ok.status, 200);
    assert.equal(ok.warning, '');
  });

  it('zones read by the controller (status.zones) count too', async () => {
    assert.equal((await req('POST', CLUSTERS, cluster('us', { kubeconfig: KC() }))).status, 201);
    const cur = await store.getObject<Record<string, unknown>>('clusters', '', 'us');
    assert.ok(cur);
    await store.updateObject({ ...cur, object: { ...cur.object, status: { region: 'us-east1', zones: ['us-east1-b'] } } }, cur.resourceVersion);
    const r = await req('PATCH', `${CLUSTERS}/us`, { spec: { drainedZones: ['us-east1-c'] } }, 'application/merge-patch+json');
    assert.equal(r.status, 422);
    assert.match(causes(r)[0]?.message ?? '', /zones: us-east1-b/);
  });

  it('zones not known yet: accepted with a Kubernetes Warning header', async () => {
    const r = await req('POST', CLUSTERS, cluster('new', { kubeconfig: KC(), drainedZones: ['asia-east1-a'] }));
    assert.equal(r.status, 201);
    assert.match(r.warning, /^299 - "spec\.drainedZones\[0\]: cluster \\"new\\" has not reported its zones yet/);
  });
});

describe('Service annotations (item 6)', () => {
  const svc = (name: string, annotations: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, annotations }, spec: { ports: [{ port: 80 }] } });

  it('placement naming an unknown cluster: 422', async () => {
    const r = await req('POST', SERVICES, svc('placed', { 'federation.fedns.io/clusters': 'eu, nowhere' }));
    assert.equal(r.status, 422, JSON.stringify(r.json));
    assert.deepEqual(causes(r).map((c) => c.field), ['metadata.annotations[federation.fedns.io/clusters]']);
    assert.match(causes(r)[0]?.message ?? '', /"nowhere": names no member cluster \(clusters: eu, good, new, us\)/);
    assert.equal((await req('POST', SERVICES, svc('placed', { 'federation.fedns.io/clusters': 'eu,us' }))).status, 201);
  });

  it('placement keeps a cluster that left since (with a warning), but cannot add one', async () => {
    assert.equal((await req('POST', SERVICES, svc('sticky', { 'federation.fedns.io/clusters': 'good' }))).status, 201);
    assert.equal((await req('DELETE', `${CLUSTERS}/good`)).status, 200);
    const relabel = await req('PATCH', `${SERVICES}/sticky`, { metadata: { labels: { tier: 'web' } } }, 'application/merge-patch+json');
    assert.equal(relabel.status, 200, JSON.stringify(relabel.json));
    assert.match(relabel.warning, /cluster \\"good\\" is not a member cluster/);
    assert.equal((await req('POST', SERVICES, svc('fresh', { 'federation.fedns.io/clusters': 'good' }))).status, 422);
  });

  it('an unknown federation.fedns.io/* key: 422; other prefixes are not ours to judge', async () => {
    const r = await req('POST', SERVICES, svc('typo', { 'federation.fedns.io/tll': '5', 'example.com/x': 'y' }));
    assert.equal(r.status, 422);
    assert.deepEqual(causes(r).map((c) => c.field), ['metadata.annotations[federation.fedns.io/tll]']);
    assert.match(causes(r)[0]?.message ?? '', /unknown federation\.fedns\.io\/\* annotation \(known: .*federation\.fedns\.io\/ttl.*federation\.fedns\.io\/shards/);
    assert.equal((await req('POST', SERVICES, svc('known', { 'federation.fedns.io/ttl': '5', 'federation.fedns.io/shards': 'x', 'example.com/x': 'y' }))).status, 201);
  });
});

describe('Service ports as kube-apiserver validates them (item 6)', () => {
  const withPorts = (name: string, ports: unknown) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { type: 'LoadBalancer', ports } });

  it('port names are DNS-1123 labels: 80-8080 (kubectl create service --tcp=80:8080) is one', async () => {
    assert.equal((await req('POST', SERVICES, withPorts('web', [{ name: '80-8080', port: 80, targetPort: 8080 }]))).status, 201);
    const upper = await req('POST', SERVICES, withPorts('upper', [{ name: 'HTTP', port: 80 }]));
    assert.equal(upper.status, 422);
    assert.match(causes(upper)[0]?.message ?? '', /a lowercase RFC 1123 label must consist of/);
  });

  it('names required and unique with several ports; targetPort names are IANA service names', async () => {
    const r = await req('POST', SERVICES, withPorts('multi', [{ port: 80 }, { name: 'a', port: 81 }, { name: 'a', port: 82, targetPort: 'http--alt' }, { name: 'b', port: 83, targetPort: '8080' }]));
    assert.equal(r.status, 422);
    assert.deepEqual(
      causes(r).map((c) => `${c.field}: ${c.message}`),
      [
        'spec.ports[0].name: Required value',
        'spec.ports[2].name: Duplicate value: "a"',
        'spec.ports[2].targetPort: Invalid value: "http--alt": must not contain consecutive hyphens',
        'spec.ports[3].targetPort: Invalid value: "8080": must contain at least one letter (a-z)',
      ],
    );
  });

  it('malformed ports are a 422, never a server error', async () => {
    for (const ports of ['80', [null], [7]]) {
      const r = await req('POST', SERVICES, withPorts('odd', ports));
      assert.equal(r.status, 422, JSON.stringify(r.json));
    }
  });
});

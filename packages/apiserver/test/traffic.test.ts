/**
 * Issue 14 at the API: bad weights, routing and probe annotations and a bad
 * Cluster spec.location are refused with a 422 naming the field; the
 * policyhistory subresource lists every version of a service's policy with
 * who changed what from which value, and its clusters' drains; explain shows
 * each prober's verdict; DNSRecordSet shows a set's variants.
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
  const res = await fetch(base + path, { method, headers: body !== undefined ? { 'content-type': contentType } : {}, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, warning: res.headers.get('warning') ?? '' };
}
const causes = (r: { json: { details?: { causes?: { field: string; message: string }[] } } }) => (r.json.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
const SERVICES = '/api/v1/namespaces/default/services';
const CLUSTERS = '/apis/federation.fedns.io/v1/clusters';
const svc = (name: string, annotations: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, annotations }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });

before(async () => {
  store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'fedns-api-traffic-')) });
  for (const [name, region] of [['east-b', 'us-east1'], ['central-a', 'us-central1']] as const) {
    await store.createObject({ kind: 'clusters', namespace: '', name, uid: `u-${name}`, object: { apiVersion: 'federation.fedns.io/v1', kind: 'Cluster', metadata: { name }, spec: {}, status: { region, zones: [`${region}-x`] } } });
  }
  app = await buildApiServer({ store, federation: { name: 'myfed', zone: 'example.com.' }, registry: new Registry() });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await app.close();
  await store.close();
});

describe('admission of traffic-policy annotations', () => {
  for (const [what, annotations, want] of [
    ['weights not CLUSTER=WEIGHT', { 'federation.fedns.io/weights': 'east-b:1' }, /weights\]: Invalid value: "east-b:1": "east-b:1" is not CLUSTER=WEIGHT/],
    ['a negative weight', { 'federation.fedns.io/weights': 'east-b=-2' }, /weight of east-b must be a whole number from 0 to 1000, got "-2"/],
    ['a weight for a cluster that is not a member', { 'federation.fedns.io/weights': 'east-b=1,west-z=3' }, /weights\]: Invalid value: "west-z": names no member cluster \(clusters: east-b, central-a\)|names no member cluster/],
    ['an unknown routing', { 'federation.fedns.io/routing': 'geo' }, /routing\]: Invalid value: "geo": must be "all" or "nearest", got "geo"/],
    ['a probe without a port', { 'federation.fedns.io/probe': 'http:/healthz' }, /probe\]: Invalid value: "http:\/healthz": "http:\/healthz" is not a probe/],
    ['a threshold out of range', { 'federation.fedns.io/probe': 'tcp:443', 'federation.fedns.io/probe-failure-threshold': '20' }, /probe-failure-threshold\]: Invalid value: "20": must be a whole number from 1 to 10/],
    ['a timeout longer than the interval', { 'federation.fedns.io/probe': 'tcp:443', 'federation.fedns.io/probe-interval': '2s', 'federation.fedns.io/probe-timeout': '5s' }, /must not be longer than the interval/],
  ] as const) {
    it(`${what}: 422 naming the annotation, nothing stored`, async () => {
      const r = await req('POST', SERVICES, svc('bad', annotations));
      assert.equal(r.status, 422, JSON.stringify(r.json));
      assert.equal(r.json.reason, 'Invalid');
      assert.match(causes(r).join('\n'), want);
      assert.equal((await req('GET', `${SERVICES}/bad`)).status, 404);
    });
  }

  it('good annotations are stored as given', async () => {
    const r = await req('POST', SERVICES, svc('good', { 'federation.fedns.io/weights': 'east-b=1,central-a=3', 'federation.fedns.io/routing': 'nearest', 'federation.fedns.io/probe': 'http:80/healthz', 'federation.fedns.io/probe-interval': '5s' }));
    assert.equal(r.status, 201, JSON.stringify(r.json));
  });

  it('Cluster spec.location: degrees in range, or a 422 naming the coordinate', async () => {
    const bad = await req('PATCH', `${CLUSTERS}/east-b`, { spec: { location: { latitude: 123, longitude: 4 } } }, 'application/merge-patch+json');
    assert.equal(bad.status, 422, JSON.stringify(bad.json));
    assert.deepEqual(causes(bad), ['spec.location.latitude: Invalid value: 123: must be a number of degrees from -90 to 90']);
    const ok = await req('PATCH', `${CLUSTERS}/east-b`, { spec: { location: { latitude: 33.2, longitude: -80 } } }, 'application/merge-patch+json');
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.deepEqual(ok.json.spec.location, { latitude: 33.2, longitude: -80 });
  });
});

describe('policy history', () => {
  it('every version with who changed what from which value; drains of its clusters; spec changes left out', async () => {
    const path = `${SERVICES}/hist`;
    assert.equal((await req('POST', SERVICES, svc('hist', { 'federation.fedns.io/weights': 'east-b=1,central-a=3' }))).status, 201);
    const merge = (body: unknown) => req('PATCH', path, body, 'application/merge-patch+json');
    assert.equal((await merge({ metadata: { annotations: { 'federation.fedns.io/weights': 'east-b=1,central-a=1', 'federation.fedns.io/routing': 'nearest' } } })).status, 200);
    assert.equal((await merge({ spec: { ports: [{ port: 8080 }] } })).status, 200);
    assert.equal((await merge({ metadata: { annotations: { 'federation.fedns.io/weights': null } } })).status, 200);
    assert.equal((await req('PATCH', `${CLUSTERS}/central-a`, { spec: { drained: true } }, 'application/merge-patch+json')).status, 200);
    const h = await req('GET', `${path}/policyhistory`);
    assert.equal(h.status, 200, JSON.stringify(h.json));
    assert.equal(h.json.kind, 'ServicePolicyHistory');
    const items = h.json.items as { version: number; type: string; user: string; changes: unknown[]; policy: Record<string, string> }[];
    assert.deepEqual(items.map((i) => [i.version, i.type, i.changes]), [
      [1, 'ADDED', [{ key: 'federation.fedns.io/weights', to: 'east-b=1,central-a=3' }]],
      [2, 'MODIFIED', [{ key: 'federation.fedns.io/weights', from: 'east-b=1,central-a=3', to: 'east-b=1,central-a=1' }, { key: 'federation.fedns.io/routing', to: 'nearest' }]],
      [3, 'MODIFIED', [{ key: 'federation.fedns.io/weights', from: 'east-b=1,central-a=1' }]],
    ]);
    assert.deepEqual(items[2]?.policy, { 'federation.fedns.io/routing': 'nearest' });
    assert.equal(items[0]?.user, 'system:anonymous');
    assert.deepEqual(h.json.drains.map((d: { cluster: string; change: string }) => [d.cluster, d.change]), [['central-a', 'drained (spec.drained: true)']]);
    assert.equal((await req('GET', `${SERVICES}/nope/policyhistory`)).status, 404);
  });
});

describe('explain and DNSRecordSet', () => {
  it('explain lists each prober’s verdict on a shard, counted or not; DNSRecordSet shows the variants', async () => {
    await store.putShard({ cluster: 'east-b', namespace: 'default', service: 'good', addresses: ['192.0.2.1'], readyEndpoints: 1, healthy: false, since: '2026-01-01T00:00:00.000Z', message: 'probe http:80/healthz failed from 1 of 1 controller(s) (ctrl-a: GET http://192.0.2.1:80/healthz: 503)' });
    const verdict = { cluster: 'east-b', namespace: 'default', service: 'good', target: 'http:80/healthz', addresses: ['192.0.2.1'], since: '2026-01-01T00:00:00.000Z' };
    await store.recordProbes('ctrl-a', [{ ...verdict, ok: false, message: 'GET http://192.0.2.1:80/healthz: 503' }], []);
    await store.recordProbes('ctrl-b', [{ ...verdict, ok: true, message: 'GET: 200', target: 'tcp:80' }], []);
    const name = 'good.default.myfed.svc.example.com.';
    const variants = [
      { cluster: 'central-a', region: 'us-central1', weight: 3, data: ['192.0.2.2'] },
      { cluster: 'east-b', region: 'us-east1', weight: 1, data: ['192.0.2.1'] },
    ];
    await store.commitZone({ upserts: [{ name, type: 'A', ttl: 30, data: ['192.0.2.1', '192.0.2.2'], level: 'global', namespace: 'default', service: 'good', policy: { weighted: true, variants } }], deletes: [] }, 'test');
    const e = await req('GET', '/apis/federation.fedns.io/v1/dnsrecordsets/good.default.myfed.svc.example.com.a/explain');
    assert.equal(e.status, 200, JSON.stringify(e.json));
    const shard = e.json.steps[0].shards.find((s: { cluster: string }) => s.cluster === 'east-b');
    assert.deepEqual(
      shard.probes.map((p: { prober: string; ok: boolean; fresh: boolean }) => [p.prober, p.ok, p.fresh]),
      [['ctrl-a', false, true], ['ctrl-b', true, false]],
      'ctrl-b probed another target: shown, not counted',
    );
    assert.match(e.json.steps[0].reason, /one shard per answer in proportion to weight: central-a 3 \(75%\), east-b 1 \(25%\)/);
    const drs = await req('GET', '/apis/federation.fedns.io/v1/dnsrecordsets/good.default.myfed.svc.example.com.a');
    assert.deepEqual(drs.json.spec.policy, { weighted: true, variants });
  });
});

/**
 * API semantics kube-apiserver has: field selectors only on the fields a resource declares (400
 * otherwise), a watch with an unparseable resourceVersion is a 400 (not a 200 stream with an
 * ERROR), and authentication before the body is read (401, whatever the body).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore, type Store } from '@fedns/store';
import { Registry } from 'prom-client';
import { type ApiServer, buildApiServer } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'fedns-api-sem-'));
let store: Store;
let app: ApiServer;
let base = '';

async function get(path: string, headers: Record<string, string> = { authorization: 'Bearer admin-token' }) {
  const res = await fetch(base + path, { headers });
  const text = await res.text();
  return { status: res.status, body: text };
}

before(async () => {
  writeFileSync(join(dir, 'tokens.csv'), 'admin-token,admin,1,"fedns:admin"\n');
  store = await openStore({ dataDir: join(dir, 'data') });
  app = await buildApiServer({ store, federation: { name: 'myfed', zone: 'example.com.' }, registry: new Registry(), tokenFile: join(dir, 'tokens.csv') });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await app.close();
  await store.close();
});

describe('field selectors', () => {
  it('an unsupported field: 400 "field label not supported", for list, watch and deletecollection', async () => {
    for (const path of ['/api/v1/services?fieldSelector=spec.foo%3Dx', '/api/v1/namespaces/default/services?watch=1&fieldSelector=spec.foo%3Dx', '/apis/federation.fedns.io/v1/clusters?fieldSelector=spec.type%3Dx']) {
      const r = await get(path);
      assert.equal(r.status, 400, path);
      const st = JSON.parse(r.body);
      assert.equal(st.reason, 'BadRequest');
      assert.match(st.message, /^field label not supported: spec\.(foo|type)$/);
    }
    const del = await fetch(`${base}/api/v1/namespaces/default/services?fieldSelector=spec.foo%3Dx`, { method: 'DELETE', headers: { authorization: 'Bearer admin-token' } });
    assert.equal(del.status, 400);
  });

  it('the declared ones work: metadata.name and metadata.namespace everywhere, Service spec.type and spec.clusterIP', async () => {
    for (const path of ['/api/v1/services?fieldSelector=metadata.name%3Dx', '/api/v1/services?fieldSelector=metadata.namespace!%3Ddefault', '/api/v1/services?fieldSelector=spec.type%3DLoadBalancer,spec.clusterIP%3DNone', '/apis/federation.fedns.io/v1/clusters?fieldSelector=metadata.name%3Dc1', '/apis/federation.fedns.io/v1/dnsrecordsets?fieldSelector=metadata.name%3Dx']) {
      assert.equal((await get(path)).status, 200, path);
    }
  });
});

describe('watch resourceVersion', () => {
  it('an unparseable resourceVersion is a 400 before any stream starts', async () => {
    for (const rv of ['abc', '-1', '1.5']) {
      const r = await get(`/api/v1/services?watch=1&resourceVersion=${rv}`);
      assert.equal(r.status, 400, rv);
      const st = JSON.parse(r.body);
      assert.equal(st.kind, 'Status');
      assert.equal(st.message, `resourceVersion: Invalid value: "${rv}": strconv.ParseUint: parsing "${rv}": invalid syntax`);
    }
    assert.equal((await get('/api/v1/services?resourceVersion=abc')).status, 400, 'list too');
  });
});

describe('authentication before the body', () => {
  it('unauthenticated garbage: 401, not 400', async () => {
    for (const [type, body] of [['application/json', '{not json'], ['application/vnd.kubernetes.protobuf', 'garbage'], ['application/yaml', 'a: b']] as const) {
      const res = await fetch(`${base}/api/v1/namespaces/default/services`, { method: 'POST', headers: { 'content-type': type }, body });
      assert.equal(res.status, 401, type);
      assert.equal((await res.json()).reason, 'Unauthorized');
    }
    const wrong = await fetch(`${base}/api/v1/namespaces/default/services`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer nope' }, body: '{not json' });
    assert.equal(wrong.status, 401);
    const authed = await fetch(`${base}/api/v1/namespaces/default/services`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer admin-token' }, body: '{not json' });
    assert.equal(authed.status, 400, 'an authenticated client learns its body is bad');
    assert.equal((await get('/readyz', {})).status, 200, 'health stays open');
  });
});

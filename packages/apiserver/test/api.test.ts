/**
 * The federation API in process over a real store: watch streams fed by the
 * API's own writes, by direct store writes (the controller's status) and by
 * another process's commits; 410 and bookmarks; status kept from users'
 * updates; the controller callbacks; Cluster credentials; tokens; TLS with
 * client certificates.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore, type Store } from '@fedns/store';
import { Registry } from 'prom-client';
import { type ApiServer, buildApiServer } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'fedns-api-'));
const federation = { name: 'myfed', zone: 'example.com.' };
let store: Store;
let app: ApiServer;
let base = '';

async function req(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Opens a watch and collects its events; `until` resolves once an event matches. */
function watch(path: string) {
  const events: { type: string; object: { metadata: { name?: string; resourceVersion?: string; annotations?: Record<string, string> }; code?: number; status?: unknown } }[] = [];
  const ctrl = new AbortController();
  const done = (async () => {
    const res = await fetch(base + path, { signal: ctrl.signal });
    const reader = res.body?.getReader();
    let buf = '';
    for (;;) {
      const { value, done: end } = (await reader?.read()) ?? { done: true, value: undefined };
      if (end) return;
      buf += Buffer.from(value as Uint8Array).toString();
      let i = buf.indexOf('\n');
      while (i >= 0) {
        events.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
    }
  })().catch(() => undefined);
  return {
    events,
    async until(pred: (e: (typeof events)[number]) => boolean, ms = 3000) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const hit = events.find(pred);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no matching watch event in ${JSON.stringify(events)}`);
    },
    close: () => {
      ctrl.abort();
      return done;
    },
  };
}

/** A member kubeconfig with a bearer token, as kubectl writes one. */
const memberKubeconfig = (token: string) =>
  `apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: https://203.0.113.5:6443\nusers:\n- name: u\n  user:\n    token: ${token}\ncontexts:\n- name: m\n  context:\n    cluster: m\n    user: u\ncurrent-context: m\n`;

const svc = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, ...extra }, spec: { type: 'LoadBalancer', selector: { run: name }, ports: [{ name: 'http', port: 80 }] } });

before(async () => {
  store = await openStore({ dataDir: dir });
  app = await buildApiServer({ store, federation, registry: new Registry(), bookmarkIntervalMs: 50, watchHistorySize: 20 });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await app.close();
  await await store.close();
});

describe('watch', () => {
  it("sees the API's writes and the controller's direct status writes; users' updates keep status", async () => {
    const w = watch('/api/v1/namespaces/default/services?watch=1');
    assert.equal((await req('POST', '/api/v1/namespaces/default/services', svc('a'))).status, 201);
    await w.until((e) => e.type === 'ADDED' && e.object.metadata.name === 'a');
    // The controller writes status straight into the store, with a new resourceVersion.
    const cur0 = await store.getObject<{ metadata: Record<string, unknown>; status?: unknown }>('services', 'default', 'a');
    assert.ok(cur0);
    await store.updateObject({ ...cur0, object: { ...cur0.object, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } } }, cur0.resourceVersion);
    const mod = await w.until((e) => e.type === 'MODIFIED' && JSON.stringify(e.object.status).includes('192.0.2.1'));
    // A user's update (without status) does not clobber it.
    const cur = (await req('GET', '/api/v1/namespaces/default/services/a')).json;
    assert.equal(cur.metadata.resourceVersion, mod.object.metadata.resourceVersion);
    delete cur.status;
    cur.metadata.labels = { tier: 'web' };
    const put = await req('PUT', '/api/v1/namespaces/default/services/a', cur);
    assert.equal(put.status, 200);
    assert.deepEqual(put.json.status.loadBalancer.ingress, [{ ip: '192.0.2.1' }]);
    // A stale resourceVersion is a 409.
    const stale = await req('PUT', '/api/v1/namespaces/default/services/a', cur);
    assert.equal(stale.status, 409);
    assert.equal(stale.json.reason, 'Conflict');
    await w.close();
  });

  it("sees another store connection's commits (the object log, woken by the store's change feed)", async () => {
    const w = watch('/api/v1/services?watch=1&resourceVersion=0');
    await w.until((e) => e.type === 'ADDED' && e.object.metadata.name === 'a');
    const other = await openStore({ dataDir: dir });
    try {
      const cur = await other.getObject<{ metadata: Record<string, unknown> }>('services', 'default', 'a');
      assert.ok(cur);
      await other.updateObject({ ...cur, object: { ...cur.object, metadata: { ...cur.object.metadata, annotations: { from: 'elsewhere' } } } }, cur.resourceVersion);
      await w.until((e) => e.type === 'MODIFIED' && e.object.metadata.annotations?.from === 'elsewhere');
      await other.deleteObject('services', 'default', 'a');
      await w.until((e) => e.type === 'DELETED' && e.object.metadata.name === 'a');
    } finally {
      await other.close();
    }
    await w.close();
  });

  it('410 Expired for a resourceVersion older than the history; bookmarks carry a resumable version', async () => {
    // More changes than the server keeps for resuming (20 here).
    for (let i = 0; i < 25; i++) assert.equal((await req('POST', '/api/v1/namespaces/default/services', svc(`filler-${i}`))).status, 201);
    const old = watch('/api/v1/services?watch=1&resourceVersion=1');
    const err = await old.until((e) => e.type === 'ERROR');
    assert.equal(err.object.code, 410);
    await old.close();
    const list = (await req('GET', '/api/v1/services')).json;
    const w = watch(`/api/v1/services?watch=1&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`);
    const bm = await w.until((e) => e.type === 'BOOKMARK');
    await w.close();
    assert.ok(Number(bm.object.metadata.resourceVersion) >= Number(list.metadata.resourceVersion));
    assert.equal((await req('POST', '/api/v1/namespaces/default/services', svc('b'))).status, 201);
    const resumed = watch(`/api/v1/services?watch=1&resourceVersion=${bm.object.metadata.resourceVersion}`);
    await resumed.until((e) => e.type === 'ADDED' && e.object.metadata.name === 'b');
    await resumed.close();
  });
});

describe('writes', () => {
  it('every committed write is in the object log the controller follows: create, update, patch, apply, delete — not dry runs or rejected ones', async () => {
    await req('POST', '/api/v1/namespaces/default/services', svc('c'));
    await req('POST', '/api/v1/namespaces/default/services?dryRun=All', svc('d'));
    await req('POST', '/api/v1/namespaces/default/services', { ...svc('e'), spec: { ports: [{ port: 0 }] } });
    const patch = await fetch(`${base}/api/v1/namespaces/default/services/c`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: '{"metadata":{"labels":{"x":"1"}}}' });
    assert.equal(patch.status, 200);
    const apply = await fetch(`${base}/api/v1/namespaces/default/services/c?fieldManager=test`, { method: 'PATCH', headers: { 'content-type': 'application/apply-patch+yaml' }, body: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: c\n  annotations:\n    owner: test\n' });
    assert.equal(apply.status, 200, await apply.text());
    assert.equal((await req('DELETE', '/api/v1/namespaces/default/services/c')).status, 200);
    assert.deepEqual((await store.objectHistory('services', 'default', 'c')).map((c) => c.type).reverse(), ['ADDED', 'MODIFIED', 'MODIFIED', 'DELETED']);
    assert.equal(await store.getObject('services', 'default', 'd'), undefined);
    assert.equal(await store.getObject('services', 'default', 'e'), undefined);
    assert.deepEqual(await store.objectHistory('services', 'default', 'd'), [], 'a dry run leaves no entry');
  });

  it('Cluster: spec.kubeconfig stored encrypted, never returned; each write in the object log', async () => {
    const missing = await req('POST', '/apis/federation.fedns.io/v1/clusters', { apiVersion: 'federation.fedns.io/v1', kind: 'Cluster', metadata: { name: 'c1' }, spec: {} });
    assert.equal(missing.status, 422);
    assert.deepEqual(missing.json.details.causes.map((c: { field: string }) => c.field), ['spec.kubeconfig']);
    const created = await req('POST', '/apis/federation.fedns.io/v1/clusters', { apiVersion: 'federation.fedns.io/v1', kind: 'Cluster', metadata: { name: 'c1' }, spec: { kubeconfig: memberKubeconfig('secret-1'), region: 'r1' } });
    assert.equal(created.status, 201);
    assert.equal(created.json.spec.kubeconfig, undefined);
    assert.match((await await store.clusterCredentials('c1')) ?? '', /"token":"secret-1"/);
    const patched = await fetch(`${base}/apis/federation.fedns.io/v1/clusters/c1`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { drained: true, kubeconfig: memberKubeconfig('secret-2') } }) });
    assert.equal(patched.status, 200);
    assert.match((await await store.clusterCredentials('c1')) ?? '', /"token":"secret-2"/);
    assert.equal((await req('GET', '/apis/federation.fedns.io/v1/clusters/c1')).json.spec.drained, true);
    assert.ok(!JSON.stringify((await req('GET', '/apis/federation.fedns.io/v1/clusters')).json).includes('secret'));
    assert.equal((await store.objectHistory('clusters', '', 'c1')).length, 2);
  });

  it('Service lists follow the extensions the OpenAPI serves: ports merge by port, apply keys them by port and protocol', async () => {
    const schemas = (await req('GET', '/openapi/v3/api/v1')).json.components.schemas;
    const ports = schemas['io.k8s.api.core.v1.Service'].properties.spec.properties.ports;
    assert.equal(ports['x-kubernetes-patch-merge-key'], 'port');
    assert.deepEqual(ports['x-kubernetes-list-map-keys'], ['port', 'protocol']);
    assert.equal(schemas['io.k8s.api.core.v1.Service'].properties.status.properties.conditions['x-kubernetes-patch-merge-key'], 'type');
    assert.equal((await req('POST', '/api/v1/namespaces/default/services', svc('lists'))).status, 201);
    const smp = await fetch(`${base}/api/v1/namespaces/default/services/lists`, { method: 'PATCH', headers: { 'content-type': 'application/strategic-merge-patch+json' }, body: '{"spec":{"ports":[{"name":"https","port":443}]}}' });
    assert.deepEqual(((await smp.json()) as { spec: { ports: { port: number }[] } }).spec.ports.map((p) => p.port), [80, 443]);
    const apply = await fetch(`${base}/api/v1/namespaces/default/services/lists?fieldManager=lists`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/apply-patch+yaml' },
      body: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: lists\nspec:\n  ports:\n  - name: dns\n    port: 53\n    protocol: UDP\n',
    });
    const text = await apply.text();
    assert.equal(apply.status, 200, text);
    const applied = JSON.parse(text) as { spec: { ports: { port: number }[] }; metadata: { managedFields: { manager: string; fieldsV1: unknown }[] } };
    assert.deepEqual(applied.spec.ports.map((p) => p.port), [80, 443, 53]);
    const mine = applied.metadata.managedFields.find((m) => m.manager === 'lists');
    assert.deepEqual(mine?.fieldsV1, { 'f:spec': { 'f:ports': { 'k:{"port":53,"protocol":"UDP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {} } } } });
    assert.equal((await req('DELETE', '/api/v1/namespaces/default/services/lists')).status, 200);
  });
});

describe('authentication and TLS', () => {
  let secure: ApiServer;
  let secureStore: Store;
  let url = '';
  const pki = mkdtempSync(join(tmpdir(), 'fedns-pki-'));
  const f = (n: string) => join(pki, n);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });

  before(async () => {
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=test-ca');
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('server.key'), '-out', f('server.crt'), '-days', '1', '-subj', '/CN=fedns', '-addext', 'subjectAltName=IP:127.0.0.1');
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('alice.key'), '-out', f('alice.csr'), '-subj', '/CN=alice/O=fedns:admin');
    openssl('x509', '-req', '-in', f('alice.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('alice.crt'), '-days', '1');
    writeFileSync(f('tokens.csv'), '# token,user,uid,groups\nadmin-token,admin,1,"fedns:admin"\nview-token,viewer,2,"fedns:readonly"\n');
    secureStore = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'fedns-api-tls-')) });
    secure = await buildApiServer({ store: secureStore, federation, registry: new Registry(), tokenFile: f('tokens.csv'), tls: { certFile: f('server.crt'), keyFile: f('server.key'), clientCaFile: f('ca.crt') } });
    url = await secure.listen({ host: '127.0.0.1', port: 0 });
    assert.match(url, /^https:/);
  });

  after(async () => {
    await secure.close();
    await secureStore.close();
  });

  const call = (method: string, path: string, opts: { token?: string; cert?: boolean; body?: unknown } = {}) =>
    new Promise<{ status: number; body: { reason?: string; message?: string } }>((resolve, reject) => {
      const r = httpsRequest(
        `${url}${path}`,
        {
          method,
          ca: readFileSync(f('server.crt')),
          headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.body ? { 'content-type': 'application/json' } : {}) },
          ...(opts.cert ? { cert: readFileSync(f('alice.crt')), key: readFileSync(f('alice.key')) } : {}),
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : {} }));
        },
      );
      r.on('error', reject);
      r.end(opts.body ? JSON.stringify(opts.body) : undefined);
    });

  it('no credentials or a wrong token: 401; read-only writing: 403 and nothing stored; admin token and client certificate: allowed', async () => {
    assert.equal((await call('GET', '/api/v1/services')).status, 401);
    const wrong = await call('GET', '/api/v1/services', { token: 'nope' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.reason, 'Unauthorized');
    assert.equal((await call('GET', '/api/v1/services', { token: 'view-token' })).status, 200);
    const denied = await call('POST', '/api/v1/namespaces/default/services', { token: 'view-token', body: svc('x') });
    assert.equal(denied.status, 403);
    assert.match(denied.body.message ?? '', /User "viewer" cannot create resource "services"/);
    assert.equal((await secureStore.getObject('services', 'default', 'x')), undefined);
    assert.equal((await call('POST', '/api/v1/namespaces/default/services', { token: 'admin-token', body: svc('x') })).status, 201);
    assert.equal((await call('POST', '/api/v1/namespaces/default/services', { cert: true, body: svc('y') })).status, 201, 'CN=alice, O=fedns:admin');
    assert.equal((await call('GET', '/readyz')).status, 200, 'health stays open');
  });
});

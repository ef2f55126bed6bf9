import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { errors, fieldError, KubeApiServer, ObjectStore, RevisionClock } from '../src/index.js';

let app: FastifyInstance;
let api: KubeApiServer;
let base: string;
const clock = new RevisionClock();
const namespaces = new ObjectStore({ apiVersion: 'v1', kind: 'Namespace', resource: 'namespaces', namespaced: false, clock });
const widgets = new ObjectStore({ apiVersion: 'example.fedns.io/v1', kind: 'Widget', resource: 'widgets', group: 'example.fedns.io', namespaced: true, clock, historySize: 5 });
const configmaps = new ObjectStore({ apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true, clock });

async function req(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

before(async () => {
  app = Fastify({ logger: false, forceCloseConnections: true });
  api = new KubeApiServer(app, { namespaceExists: (ns) => !!namespaces.get(undefined, ns) });
  api.addResource({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'], store: namespaces, statusSubresource: true });
  api.addResource({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'], store: configmaps });
  api.addResource({
    group: 'example.fedns.io',
    version: 'v1',
    kind: 'Widget',
    plural: 'widgets',
    namespaced: true,
    store: widgets,
    statusSubresource: true,
    hooks: {
      prepareCreate(obj) {
        obj.spec = { size: 1, ...obj.spec };
      },
      validate(obj) {
        if (typeof obj.spec?.size !== 'number' || obj.spec.size < 1) return [fieldError.invalid('spec.size', obj.spec?.size, 'must be positive')];
        return undefined;
      },
      beforeDelete(obj) {
        if (obj.metadata.labels?.protected) throw errors.forbidden('widgets', obj.metadata.name ?? '', 'protected', 'example.fedns.io');
      },
    },
  });
  namespaces.create({ metadata: { name: 'default' }, status: { phase: 'Active' } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

after(async () => {
  await app.close();
});

describe('KubeApiServer', () => {
  it('serves legacy and aggregated discovery, /version and OpenAPI v3', async () => {
    const apis = await req('GET', '/api');
    assert.equal(apis.json.kind, 'APIVersions');
    const v1 = await req('GET', '/api/v1');
    assert.ok(v1.json.resources.some((r: any) => r.name === 'namespaces/status'));
    const groups = await req('GET', '/apis');
    assert.equal(groups.json.groups[0].name, 'example.fedns.io');
    const gv = await req('GET', '/apis/example.fedns.io/v1');
    assert.equal(gv.json.groupVersion, 'example.fedns.io/v1');
    const agg = await req('GET', '/apis', undefined, { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
    assert.match(agg.headers.get('content-type') ?? '', /as=APIGroupDiscoveryList/);
    assert.equal(agg.json.items[0].versions[0].resources[0].resource, 'widgets');
    assert.equal((await req('GET', '/version')).json.major, '1');
    const root = await req('GET', '/openapi/v3');
    const url = root.json.paths['apis/example.fedns.io/v1'].serverRelativeURL;
    const doc = await req('GET', url);
    const patch = doc.json.paths['/apis/example.fedns.io/v1/namespaces/{namespace}/widgets/{name}'].patch;
    assert.ok(patch.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query'));
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'example.fedns.io', version: 'v1', kind: 'Widget' });
    assert.equal((await req('GET', '/apis/nope/v1')).status, 404);
  });

  it('creates with defaults, rejects invalid (422 with causes), duplicate (409) and missing namespace (404)', async () => {
    const c = await req('POST', '/apis/example.fedns.io/v1/namespaces/default/widgets', { apiVersion: 'example.fedns.io/v1', kind: 'Widget', metadata: { name: 'w1' } });
    assert.equal(c.status, 201);
    assert.equal(c.json.spec.size, 1);
    assert.ok(c.json.metadata.uid);
    const dup = await req('POST', '/apis/example.fedns.io/v1/namespaces/default/widgets', { metadata: { name: 'w1' } });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.reason, 'AlreadyExists');
    assert.equal(dup.json.message, 'widgets.example.fedns.io "w1" already exists');
    const bad = await req('POST', '/apis/example.fedns.io/v1/namespaces/default/widgets', { metadata: { name: 'w2' }, spec: { size: 0 } });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.reason, 'Invalid');
    assert.equal(bad.json.details.causes[0].field, 'spec.size');
    const badName = await req('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'Bad_Name' } });
    assert.equal(badName.status, 422);
    const noNs = await req('POST', '/api/v1/namespaces/missing/configmaps', { metadata: { name: 'x' } });
    assert.equal(noNs.status, 404);
    assert.equal(noNs.json.message, 'namespaces "missing" not found');
    const wrongVersion = await req('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v2', metadata: { name: 'x' } });
    assert.equal(wrongVersion.status, 400);
    const badJson = await req('POST', '/api/v1/namespaces/default/configmaps', '{nope');
    assert.equal(badJson.status, 400);
    assert.equal(badJson.json.kind, 'Status');
    const gen = await req('POST', '/api/v1/namespaces/default/configmaps', { metadata: { generateName: 'cm-' } });
    assert.match(gen.json.metadata.name, /^cm-/);
  });

  it('GET one / list / Table / 404 / limit+continue', async () => {
    const one = await req('GET', '/apis/example.fedns.io/v1/namespaces/default/widgets/w1');
    assert.equal(one.json.metadata.name, 'w1');
    const missing = await req('GET', '/apis/example.fedns.io/v1/namespaces/default/widgets/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.reason, 'NotFound');
    const list = await req('GET', '/apis/example.fedns.io/v1/widgets');
    assert.equal(list.json.kind, 'WidgetList');
    assert.ok(Number(list.json.metadata.resourceVersion) >= 1);
    const table = await req('GET', '/apis/example.fedns.io/v1/namespaces/default/widgets', undefined, {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
    });
    assert.equal(table.json.kind, 'Table');
    assert.deepEqual(table.json.columnDefinitions.map((c: any) => c.name), ['Name', 'Age']);
    assert.equal(table.json.rows[0].cells[0], 'w1');
    assert.equal(table.json.rows[0].object.kind, 'PartialObjectMetadata');
    const full = await req('GET', '/apis/example.fedns.io/v1/namespaces/default/widgets?includeObject=Object', undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    assert.equal(full.json.rows[0].object.kind, 'Widget');
    for (const n of ['p1', 'p2', 'p3']) await req('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: n } });
    const page1 = await req('GET', '/api/v1/namespaces/default/configmaps?limit=2');
    assert.equal(page1.json.items.length, 2);
    assert.ok(page1.json.metadata.continue);
    const page2 = await req('GET', `/api/v1/namespaces/default/configmaps?limit=2&continue=${page1.json.metadata.continue}`);
    const names = [...page1.json.items, ...page2.json.items].map((o: any) => o.metadata.name);
    assert.ok(names.includes('p3'));
  });

  it('PUT with a stale resourceVersion is 409; PATCH in three flavours; status subresource', async () => {
    const cur = (await req('GET', '/apis/example.fedns.io/v1/namespaces/default/widgets/w1')).json;
    const put = await req('PUT', '/apis/example.fedns.io/v1/namespaces/default/widgets/w1', { ...cur, spec: { size: 2 } });
    assert.equal(put.status, 200);
    assert.equal(put.json.spec.size, 2);
    const stale = await req('PUT', '/apis/example.fedns.io/v1/namespaces/default/widgets/w1', { ...cur, spec: { size: 3 } });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.reason, 'Conflict');
    const merge = await req('PATCH', '/apis/example.fedns.io/v1/namespaces/default/widgets/w1', JSON.stringify({ metadata: { labels: { a: 'b' } } }), { 'content-type': 'application/merge-patch+json' });
    assert.equal(merge.json.metadata.labels.a, 'b');
    const jp = await req('PATCH', '/apis/example.fedns.io/v1/namespaces/default/widgets/w1', JSON.stringify([{ op: 'replace', path: '/spec/size', value: 5 }]), { 'content-type': 'application/json-patch+json' });
    assert.equal(jp.json.spec.size, 5);
    const smp = await req('PATCH', '/apis/example.fedns.io/v1/namespaces/default/widgets/w1', JSON.stringify({ spec: { color: 'red' } }), { 'content-type': 'application/strategic-merge-patch+json' });
    assert.equal(smp.json.spec.color, 'red');
    const invalid = await req('PATCH', '/apis/example.fedns.io/v1/namespaces/default/widgets/w1', JSON.stringify({ spec: { size: -1 } }), { 'content-type': 'application/merge-patch+json' });
    assert.equal(invalid.status, 422);
    const st = await req('PATCH', '/apis/example.fedns.io/v1/namespaces/default/widgets/w1/status', JSON.stringify({ status: { ok: true }, spec: { size: 99 } }), { 'content-type': 'application/merge-patch+json' });
    assert.equal(st.json.status.ok, true);
    assert.equal(st.json.spec.size, 5, 'status updates ignore spec');
    const main = await req('PATCH', '/apis/example.fedns.io/v1/namespaces/default/widgets/w1', JSON.stringify({ status: { ok: false } }), { 'content-type': 'application/merge-patch+json' });
    assert.equal(main.json.status.ok, true, 'main resource updates ignore status');
  });

  it('DELETE returns the object; hooks can forbid; 404 afterwards', async () => {
    await req('POST', '/apis/example.fedns.io/v1/namespaces/default/widgets', { metadata: { name: 'keep', labels: { protected: 'yes' } } });
    const forbidden = await req('DELETE', '/apis/example.fedns.io/v1/namespaces/default/widgets/keep');
    assert.equal(forbidden.status, 403);
    await req('POST', '/apis/example.fedns.io/v1/namespaces/default/widgets', { metadata: { name: 'gone' } });
    const del = await req('DELETE', '/apis/example.fedns.io/v1/namespaces/default/widgets/gone', { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
    assert.equal(del.status, 200);
    assert.equal(del.json.metadata.name, 'gone');
    assert.equal((await req('DELETE', '/apis/example.fedns.io/v1/namespaces/default/widgets/gone')).status, 404);
  });

  it('streams watch events as JSON lines, honours timeoutSeconds, and answers 410 for compacted versions', async () => {
    const rv = (await req('GET', '/api/v1/namespaces/default/configmaps')).json.metadata.resourceVersion;
    const ctrl = new AbortController();
    const res = await fetch(`${base}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&timeoutSeconds=2`, { signal: ctrl.signal });
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const lines: any[] = [];
    let buf = '';
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += Buffer.from(value).toString('utf8');
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          lines.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      }
    })();
    await req('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'watched' } });
    await req('DELETE', '/api/v1/namespaces/default/configmaps/watched');
    const start = Date.now();
    await pump; // ends by timeoutSeconds
    assert.ok(Date.now() - start < 4000);
    assert.deepEqual(lines.map((l) => `${l.type}:${l.object.metadata.name}`), ['ADDED:watched', 'DELETED:watched']);

    widgets.compact();
    const old = await fetch(`${base}/apis/example.fedns.io/v1/widgets?watch=true&resourceVersion=1`);
    const text = await old.text();
    const ev = JSON.parse(text.trim().split('\n')[0] as string);
    assert.equal(ev.type, 'ERROR');
    assert.equal(ev.object.code, 410);
  });

  it('watch with a Table Accept header sends Table objects; closeWatches ends streams', async () => {
    const res = await fetch(`${base}/api/v1/namespaces/default/configmaps?watch=true`, { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const { value } = await reader.read();
    const ev = JSON.parse(Buffer.from(value as Uint8Array).toString('utf8').split('\n')[0] as string);
    assert.equal(ev.object.kind, 'Table');
    assert.ok(api.watchCount >= 1);
    assert.ok(api.closeWatches() >= 1);
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
    }
    assert.equal(api.watchCount, 0);
  });

  it('unknown paths and methods are Status errors', async () => {
    const r = await req('GET', '/api/v1/nothing');
    assert.equal(r.status, 404);
    assert.equal(r.json.kind, 'Status');
    const m = await req('POST', '/api/v1');
    assert.equal(m.status, 405);
    const u = await req('PATCH', '/api/v1/namespaces/default/configmaps/p1', '{}', { 'content-type': 'application/apply-patch+yaml' });
    assert.equal(u.status, 415);
  });
});

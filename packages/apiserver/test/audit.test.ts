/**
 * Every write through the API is attributable: the store's object log names the authenticated
 * user (system:anonymous without authentication, system:fedns for direct store writes), and the
 * access log has exactly one line per request, the write's line naming user, verb, object and its
 * new resourceVersion.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore, type Store, SYSTEM_ACTOR } from '@fedns/store';
import type { FastifyBaseLogger } from 'fastify';
import { Registry } from 'prom-client';
import { type ApiServer, buildApiServer } from '../src/index.js';

type Line = { level: string; msg?: string } & Record<string, unknown>;

/** A logger that keeps what it is given (the shape fastify needs). */
function recorder(lines: Line[], bindings: Record<string, unknown> = {}): FastifyBaseLogger {
  const at =
    (level: string) =>
    (obj: unknown, msg?: string): void => {
      if (typeof obj === 'string') lines.push({ level, msg: obj, ...bindings });
      else lines.push({ level, ...bindings, ...(obj as object), ...(msg ? { msg } : {}) });
    };
  return {
    level: 'debug',
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    debug: at('debug'),
    trace: at('trace'),
    silent: () => undefined,
    child: (b: Record<string, unknown>) => recorder(lines, { ...bindings, ...b }),
  } as unknown as FastifyBaseLogger;
}

const svc = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }] } });

describe('without authentication', () => {
  let store: Store;
  let app: ApiServer;
  let base = '';
  const lines: Line[] = [];
  before(async () => {
    store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'fedns-audit-')) });
    app = await buildApiServer({ store, federation: { name: 'myfed', zone: 'example.com.' }, registry: new Registry(), logger: recorder(lines) });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await app.close();
    await store.close();
  });

  it('writes are system:anonymous in the object log, built-in namespaces system:fedns', async () => {
    const created = await fetch(`${base}/api/v1/namespaces/team/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(svc('web')) });
    assert.equal(created.status, 201);
    const rv = Number((await created.json()).metadata.resourceVersion);
    const last = async (kind: 'services' | 'namespaces', ns: string, name: string) => (await store.objectHistory(kind, ns, name, 1))[0];
    const web = await last('services', 'team', 'web');
    assert.deepEqual([web?.rv, web?.type, web?.actor], [rv, 'ADDED', 'system:anonymous']);
    assert.equal((await last('namespaces', '', 'team'))?.actor, 'system:anonymous', 'the namespace the create made is the same user\'s');
    assert.equal((await last('namespaces', '', 'default'))?.actor, SYSTEM_ACTOR);
    const del = await fetch(`${base}/api/v1/namespaces/team`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.equal((await last('services', 'team', 'web'))?.type, 'DELETED');
    assert.equal((await last('services', 'team', 'web'))?.actor, 'system:anonymous', 'services deleted with their namespace');
    const deleted = await last('namespaces', '', 'team');
    assert.equal(deleted?.type, 'DELETED');
    assert.equal((deleted?.object as { metadata?: { name?: string } } | undefined)?.metadata?.name, 'team');
  });

  it('one log line per request; a write names user, verb, resource, object and resourceVersion', async () => {
    lines.length = 0;
    const r = await fetch(`${base}/api/v1/namespaces/default/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(svc('audited')) });
    const rv = (await r.json()).metadata.resourceVersion;
    await fetch(`${base}/api/v1/namespaces/default/services/audited`);
    await fetch(`${base}/api/v1/namespaces/default/services/missing`);
    await new Promise((res) => setTimeout(res, 50));
    const info = lines.filter((l) => l.level === 'info');
    assert.equal(info.length, 3, JSON.stringify(info));
    const [write, read, missing] = info;
    assert.equal(write?.msg, 'api write');
    assert.deepEqual(
      { user: write?.user, verb: write?.verb, resource: write?.resource, namespace: write?.namespace, name: write?.name, resourceVersion: write?.resourceVersion, status: write?.status, method: write?.method },
      { user: 'system:anonymous', verb: 'create', resource: 'services', namespace: 'default', name: 'audited', resourceVersion: rv, status: 201, method: 'POST' },
    );
    assert.equal(typeof write?.latencyMs, 'number');
    assert.equal(write?.url, '/api/v1/namespaces/default/services');
    assert.equal(read?.msg, 'api request');
    assert.equal(read?.status, 200);
    assert.equal(missing?.status, 404);
    assert.ok(!lines.some((l) => l.msg === 'incoming request' || l.msg === 'request completed'), "fastify's own request lines are off");
  });
});

describe('with authentication', () => {
  it('the object log names the authenticated user', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedns-audit-auth-'));
    writeFileSync(join(dir, 'tokens.csv'), 'alice-token,alice,1,"fedns:admin"\n');
    const store = await openStore({ dataDir: join(dir, 'data') });
    const app = await buildApiServer({ store, federation: { name: 'myfed', zone: 'example.com.' }, registry: new Registry(), tokenFile: join(dir, 'tokens.csv') });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const auth = { authorization: 'Bearer alice-token' };
      assert.equal((await fetch(`${base}/api/v1/namespaces/default/services`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(svc('web')) })).status, 201);
      const patch = await fetch(`${base}/api/v1/namespaces/default/services/web`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/merge-patch+json' }, body: '{"metadata":{"labels":{"a":"b"}}}' });
      assert.equal(patch.status, 200);
      const changes = await store.objectHistory('services', 'default', 'web');
      assert.deepEqual(changes.map((c) => [c.type, c.actor]), [['MODIFIED', 'alice'], ['ADDED', 'alice']]);
      assert.deepEqual((changes[0]?.object as { metadata?: { labels?: unknown } } | undefined)?.metadata?.labels, { a: 'b' });
      const dry = await fetch(`${base}/api/v1/namespaces/default/services/web?dryRun=All`, { method: 'DELETE', headers: auth });
      assert.equal(dry.status, 200);
      assert.equal((await store.objectHistory('services', 'default', 'web')).length, 2, 'a dry run records nothing');
    } finally {
      await app.close();
      await store.close();
    }
  });
});

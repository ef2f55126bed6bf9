import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Store, SYSTEM_ACTOR } from '../src/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'fedns-objlog-'));

test('every service and cluster write is in the object log with its actor, in resourceVersion order', () => {
  const store = Store.open({ dataDir: tmp() });
  const rv1 = store.nextResourceVersion();
  store.putService({ namespace: 'prod', name: 'web', uid: 'u1', resourceVersion: rv1, object: { metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } } }, 'alice');
  const rv2 = store.nextResourceVersion();
  store.putService({ namespace: 'prod', name: 'web', uid: 'u1', resourceVersion: rv2, object: { metadata: { name: 'web' }, status: { x: 1 } } });
  assert.ok(store.deleteService('prod', 'web', 'bob'));
  const rv3 = store.currentResourceVersion();
  assert.ok(rv3 > rv2, 'a deletion gets a resourceVersion of its own');

  const last = store.lastObjectChange('services', 'prod', 'web');
  assert.deepEqual({ ...last, at: undefined }, { rv: rv3, type: 'DELETED', actor: 'bob', at: undefined });
  assert.ok(!Number.isNaN(Date.parse(last?.at ?? '')));

  const changes = store.objectChanges('services', 'prod', 'web', 10);
  assert.deepEqual(
    changes.map((c) => [c.rv, c.type, c.actor]),
    [
      [rv3, 'DELETED', 'bob'],
      [rv2, 'MODIFIED', SYSTEM_ACTOR],
      [rv1, 'ADDED', 'alice'],
    ],
  );
  assert.deepEqual(changes[0]?.object, { metadata: { name: 'web' }, status: { x: 1 } }, 'DELETED keeps the object as it was before');
  assert.deepEqual(changes[2]?.object, { metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } });
  assert.equal(store.objectChanges('services', 'prod', 'web', 1).length, 1);
  assert.equal(store.deleteService('prod', 'web'), false, 'deleting what is not there records nothing');
  assert.equal(store.objectChanges('services', 'prod', 'web', 10).length, 3);

  store.putCluster({ name: 'c1', uid: 'c', resourceVersion: store.nextResourceVersion(), object: { metadata: { name: 'c1' } } });
  store.setClusterCredentials('c1', 'token: secret');
  assert.equal(store.lastObjectChange('clusters', '', 'c1')?.actor, SYSTEM_ACTOR);
  assert.ok(store.deleteCluster('c1', 'carol'));
  assert.deepEqual(
    store.objectChanges('clusters', '', 'c1').map((c) => [c.type, c.actor]),
    [
      ['DELETED', 'carol'],
      ['ADDED', SYSTEM_ACTOR],
    ],
  );
  assert.ok(!JSON.stringify(store.objectChanges('clusters', '', 'c1')).includes('secret'), 'credentials are never logged');
  assert.equal(store.lastObjectChange('services', 'prod', 'other'), undefined);
  store.close();
});

test('a write that rolls back leaves no object log entry', () => {
  const store = Store.open({ dataDir: tmp() });
  assert.throws(() =>
    store.tx(() => {
      store.putService({ namespace: 'd', name: 'a', uid: 'u', resourceVersion: store.nextResourceVersion(), object: {} }, 'alice');
      throw new Error('rejected');
    }),
  );
  assert.equal(store.lastObjectChange('services', 'd', 'a'), undefined);
  store.close();
});

test('a literal resourceVersion moves the counter past it, so the log stays in commit order', () => {
  const store = Store.open({ dataDir: tmp() });
  store.putCluster({ name: 'c1', uid: 'u1', resourceVersion: 7, object: {} });
  assert.ok(store.nextResourceVersion() > 7);
  store.close();
});

test('the object log is pruned to its size in batches and survives a reopen', () => {
  const dir = tmp();
  const store = Store.open({ dataDir: dir, objectLogSize: 20 });
  for (let i = 0; i < 100; i++) store.putService({ namespace: 'd', name: 'a', uid: 'u', resourceVersion: store.nextResourceVersion(), object: { i } });
  const rows = (store.db.prepare('SELECT COUNT(*) AS n FROM object_log').get() as { n: number }).n;
  assert.ok(rows >= 20 && rows <= 22, `${rows} rows kept`);
  const newest = store.objectChanges<{ i: number }>('services', 'd', 'a', 1)[0];
  assert.equal(newest?.object.i, 99);
  store.close();
  const reader = Store.open({ dataDir: dir, readonly: true });
  assert.equal(reader.lastObjectChange('services', 'd', 'a')?.rv, newest?.rv);
  reader.close();
});

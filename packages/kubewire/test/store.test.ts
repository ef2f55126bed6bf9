import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KubeObject, ObjectStore, RevisionClock, StatusError, type WatchEvent } from '../src/index.js';

const mkStore = (clock = new RevisionClock(), historySize = 100) =>
  new ObjectStore({ apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true, clock, historySize });

const cm = (name: string, labels?: Record<string, string>, ns = 'default'): KubeObject => ({ metadata: { name, namespace: ns, labels }, data: { k: name } });

function collect(store: ObjectStore, opts: Parameters<ObjectStore['watch']>[0]) {
  const events: WatchEvent<KubeObject>[] = [];
  let ended = false;
  const handle = store.watch(opts, { onEvent: (e) => events.push(e as WatchEvent<KubeObject>), onEnd: () => (ended = true) });
  return { events, handle, ended: () => ended };
}

describe('ObjectStore', () => {
  it('assigns uid, creationTimestamp and a cluster-wide monotonically increasing resourceVersion', () => {
    const clock = new RevisionClock();
    const a = mkStore(clock);
    const b = new ObjectStore({ apiVersion: 'v1', kind: 'Secret', resource: 'secrets', namespaced: true, clock });
    const x = a.create(cm('x'));
    const y = b.create(cm('y'));
    assert.ok(x.metadata.uid && x.metadata.creationTimestamp);
    assert.equal(x.kind, 'ConfigMap');
    assert.ok(Number(y.metadata.resourceVersion) > Number(x.metadata.resourceVersion));
    assert.equal(a.list().resourceVersion, String(clock.current));
  });
  it('generateName, AlreadyExists, NotFound, stale update Conflict, no-op update', () => {
    const s = mkStore();
    const g = s.create({ metadata: { generateName: 'gen-', namespace: 'default' } });
    assert.match(g.metadata.name as string, /^gen-[a-z0-9]{5}$/);
    s.create(cm('a'));
    assert.throws(() => s.create(cm('a')), (e: unknown) => e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists');
    assert.throws(() => s.delete('default', 'zz'), (e: unknown) => e instanceof StatusError && e.code === 404 && e.message === 'configmaps "zz" not found');
    const cur = s.get('default', 'a') as KubeObject;
    const upd = s.update({ ...cur, data: { k: 'changed' } });
    assert.notEqual(upd.metadata.resourceVersion, cur.metadata.resourceVersion);
    assert.throws(() => s.update({ ...cur, data: { k: 'again' } }), (e: unknown) => e instanceof StatusError && e.code === 409 && e.reason === 'Conflict');
    const same = s.update({ ...upd });
    assert.equal(same.metadata.resourceVersion, upd.metadata.resourceVersion, 'no-op update keeps the resourceVersion');
  });
  it('lists with label, field and namespace filters', () => {
    const s = mkStore();
    s.create(cm('a', { app: 'x' }));
    s.create(cm('b', { app: 'y' }));
    s.create(cm('c', { app: 'x' }, 'other'));
    assert.deepEqual(s.list({ labelSelector: 'app=x' }).items.map((o) => o.metadata.name), ['a', 'c']);
    assert.deepEqual(s.list({ namespace: 'default', labelSelector: 'app=x' }).items.map((o) => o.metadata.name), ['a']);
    assert.deepEqual(s.list({ fieldSelector: 'metadata.name=b' }).items.map((o) => o.metadata.name), ['b']);
    assert.deepEqual(s.list({ fieldSelector: 'metadata.namespace=other' }).items.map((o) => o.metadata.name), ['c']);
  });
  it('watch from "" sends current state as ADDED, then live events', () => {
    const s = mkStore();
    s.create(cm('a'));
    const w = collect(s, {});
    s.create(cm('b'));
    s.mutate('default', 'a', (d) => {
      d.data = { k: 'z' };
    });
    s.delete('default', 'b');
    assert.deepEqual(w.events.map((e) => `${e.type}:${e.object.metadata.name}`), ['ADDED:a', 'ADDED:b', 'MODIFIED:a', 'DELETED:b']);
    w.handle.stop();
    assert.ok(w.ended());
  });
  it('watch from a resourceVersion replays the changes after it', () => {
    const s = mkStore();
    const a = s.create(cm('a'));
    s.create(cm('b'));
    s.delete('default', 'a');
    const w = collect(s, { resourceVersion: a.metadata.resourceVersion });
    assert.deepEqual(w.events.map((e) => `${e.type}:${e.object.metadata.name}`), ['ADDED:b', 'DELETED:a']);
    assert.equal(w.events[1]?.object.metadata.resourceVersion, String(s.clock.current));
  });
  it('a too-old resourceVersion gets an ERROR event with a 410 Expired Status and the watch ends', () => {
    const s = mkStore(new RevisionClock(), 2);
    const first = s.create(cm('a'));
    for (let i = 0; i < 5; i++) s.mutate('default', 'a', (d) => {
      d.data = { i: String(i) };
    });
    const w = collect(s, { resourceVersion: first.metadata.resourceVersion });
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0]?.type, 'ERROR');
    const status = w.events[0]?.object as unknown as { code: number; reason: string };
    assert.equal(status.code, 410);
    assert.equal(status.reason, 'Expired');
    assert.ok(w.ended());
    s.compact();
    const w2 = collect(s, { resourceVersion: String(s.clock.current - 1) });
    assert.equal(w2.events[0]?.type, 'ERROR');
    const w3 = collect(s, { resourceVersion: String(s.clock.current) });
    assert.equal(w3.events.length, 0);
    assert.ok(!w3.ended());
    w3.handle.stop();
  });
  it('label-filtered watches see objects entering and leaving the selector as ADDED/DELETED', () => {
    const s = mkStore();
    s.create(cm('a', { app: 'x' }));
    const w = collect(s, { labelSelector: 'app=y', resourceVersion: String(s.clock.current) });
    s.mutate('default', 'a', (d) => {
      d.metadata.labels = { app: 'y' };
    });
    s.mutate('default', 'a', (d) => {
      d.data = { k: '2' };
    });
    s.mutate('default', 'a', (d) => {
      d.metadata.labels = { app: 'x' };
    });
    assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    w.handle.stop();
  });
  it('sends BOOKMARK events when asked', async () => {
    const s = mkStore();
    const w = collect(s, { allowBookmarks: true, bookmarkIntervalMs: 20, resourceVersion: '0' });
    await new Promise((r) => setTimeout(r, 70));
    w.handle.stop();
    const bm = w.events.filter((e) => e.type === 'BOOKMARK');
    assert.ok(bm.length >= 2);
    assert.equal(bm[0]?.object.metadata.resourceVersion, String(s.clock.current));
  });
  it('sendInitialEvents ends the initial list with an annotated BOOKMARK', () => {
    const s = mkStore();
    s.create(cm('a'));
    const w = collect(s, { sendInitialEvents: true, allowBookmarks: true, resourceVersion: '' });
    assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'BOOKMARK']);
    assert.equal(w.events[1]?.object.metadata.annotations?.['k8s.io/initial-events-end'], 'true');
    w.handle.stop();
  });
});

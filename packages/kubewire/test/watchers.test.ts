import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KubeObject, selectionOf, selects, type WatchEvent, WatcherSet, type WatcherSetOptions } from '../src/index.js';

const obj = (name: string, rv: number, labels?: Record<string, string>, ns = 'default'): KubeObject => ({ metadata: { name, namespace: ns, labels, resourceVersion: String(rv) } });

const mkSet = (over: Partial<WatcherSetOptions> = {}) =>
  new WatcherSet({ apiVersion: 'v1', kind: 'ConfigMap', namespaced: true, compactedRv: 0, bookmarkRv: () => 99, ...over });

const codeOf = (e: WatchEvent<KubeObject> | undefined) => (e?.object as { code?: number } | undefined)?.code;

function collect(set: WatcherSet, opts: Parameters<WatcherSet['watch']>[0], state: KubeObject[] = [], stateRv = '0') {
  const events: WatchEvent<KubeObject>[] = [];
  let ended = false;
  const handle = set.watch(opts, { onEvent: (e) => events.push(e as WatchEvent<KubeObject>), onEnd: () => (ended = true) }, (labels, fields) => ({
    items: state.filter((o) => selects({ namespace: opts.namespace, labels, fields }, o, true)),
    resourceVersion: stateRv,
  }));
  const seen = () => events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`.trim());
  return { events, seen, handle, ended: () => ended };
}

describe('WatcherSet', () => {
  it('selectionOf/selects: parses selectors; the namespace only counts for namespaced kinds', () => {
    const sel = selectionOf({ namespace: 'default', labelSelector: 'app=x', fieldSelector: 'metadata.name=a' });
    assert.ok(selects(sel, obj('a', 1, { app: 'x' }), true));
    assert.ok(!selects(sel, obj('a', 1, { app: 'y' }), true));
    assert.ok(!selects(sel, obj('b', 1, { app: 'x' }), true));
    assert.ok(!selects(sel, obj('a', 1, { app: 'x' }, 'other'), true));
    assert.ok(selects(sel, obj('a', 1, { app: 'x' }, 'other'), false));
  });

  it('starts from the listed state as ADDED, then delivers matching changes; MODIFIED across the selector becomes ADDED/DELETED', () => {
    const set = mkSet();
    const w = collect(set, { labelSelector: 'app=x' }, [obj('a', 1, { app: 'x' }), obj('b', 1, { app: 'y' })], '1');
    set.publish({ type: 'MODIFIED', object: obj('b', 2, { app: 'x' }), old: obj('b', 1, { app: 'y' }), rv: 2 });
    set.publish({ type: 'MODIFIED', object: obj('a', 3, { app: 'x' }), old: obj('a', 1, { app: 'x' }), rv: 3 });
    set.publish({ type: 'MODIFIED', object: obj('a', 4, { app: 'y' }), old: obj('a', 3, { app: 'x' }), rv: 4 });
    set.publish({ type: 'ADDED', object: obj('c', 5, { app: 'y' }), rv: 5 });
    set.publish({ type: 'DELETED', object: obj('b', 6, { app: 'x' }), old: obj('b', 2, { app: 'x' }), rv: 6 });
    assert.deepEqual(w.seen(), ['ADDED a', 'ADDED b', 'MODIFIED a', 'DELETED a', 'DELETED b']);
    assert.equal(set.size, 1);
    w.handle.stop();
    assert.ok(w.ended() && w.handle.stopped);
    assert.equal(set.size, 0);
  });

  it('replays history after a resourceVersion; 410 Expired below the compacted one; 400 for garbage', () => {
    const set = mkSet({ compactedRv: 10, historySize: 2 });
    set.publish({ type: 'ADDED', object: obj('a', 11), rv: 11 });
    set.publish({ type: 'ADDED', object: obj('b', 12), rv: 12 });
    assert.deepEqual(collect(set, { resourceVersion: '11' }).seen(), ['ADDED b']);
    set.publish({ type: 'ADDED', object: obj('c', 13), rv: 13 });
    assert.equal(set.compactedRv, 11, 'the dropped change compacts the history');
    const old = collect(set, { resourceVersion: '10' });
    assert.equal(old.events[0]?.type, 'ERROR');
    assert.equal(codeOf(old.events[0]), 410);
    assert.ok(old.ended() && old.handle.stopped);
    const bad = collect(set, { resourceVersion: 'x' });
    assert.equal(codeOf(bad.events[0]), 400);
    set.compact(13);
    assert.equal(codeOf(collect(set, { resourceVersion: '12' }).events[0]), 410);
  });

  it('lateChanges: replays history sorted and drops changes a watcher has already seen', () => {
    const set = mkSet({ lateChanges: true });
    set.publish({ type: 'ADDED', object: obj('b', 6), rv: 6 });
    set.publish({ type: 'ADDED', object: obj('a', 5), rv: 5 });
    assert.deepEqual(collect(set, { resourceVersion: '4' }).seen(), ['ADDED a', 'ADDED b']);
    const w = collect(set, {}, [obj('a', 5), obj('b', 6), obj('c', 7)], '7');
    set.publish({ type: 'ADDED', object: obj('c', 7), rv: 7 }); // already in the initial list
    set.publish({ type: 'ADDED', object: obj('d', 8), rv: 8 });
    assert.deepEqual(w.seen(), ['ADDED a', 'ADDED b', 'ADDED c', 'ADDED d']);
  });

  it('watch-list ends its initial events with an annotated BOOKMARK; periodic BOOKMARKs carry bookmarkRv()', async () => {
    const set = mkSet({ bookmarkRv: (listRv) => listRv ?? 42 });
    const w = collect(set, { sendInitialEvents: true, allowBookmarks: true, resourceVersion: '', bookmarkIntervalMs: 5 }, [obj('a', 3)], '3');
    assert.deepEqual(w.seen(), ['ADDED a', 'BOOKMARK']);
    assert.deepEqual(w.events[1]?.object, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { resourceVersion: '3', annotations: { 'k8s.io/initial-events-end': 'true' } } });
    await new Promise((r) => setTimeout(r, 30));
    const marks = w.events.slice(2);
    assert.ok(marks.length >= 1 && marks.every((e) => e.type === 'BOOKMARK' && e.object.metadata?.resourceVersion === '42'));
    assert.equal(set.closeAll(), 1);
    assert.ok(w.ended());
    const n = w.events.length;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(w.events.length, n, 'no BOOKMARK after the watch ended');
  });

  it('a sink that throws ends its own watch, not the publish', () => {
    const set = mkSet();
    let ended = false;
    set.watch({}, { onEvent: (e) => { if (e.type === 'ADDED') throw new Error('closed'); }, onEnd: () => (ended = true) }, () => ({ items: [], resourceVersion: '0' }));
    const ok = collect(set, {});
    set.publish({ type: 'ADDED', object: obj('a', 1), rv: 1 });
    assert.ok(ended);
    assert.deepEqual(ok.seen(), ['ADDED a']);
    assert.equal(set.size, 1);
  });
});

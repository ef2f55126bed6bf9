import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  humanDuration,
  jsonPatch,
  kindSchema,
  mapList,
  matchFields,
  matchLabels,
  mergePatch,
  parseFieldSelector,
  parseLabelSelector,
  StatusError,
  strategicMergePatch,
} from '../src/index.js';

describe('label selectors', () => {
  it('parses and matches equality, inequality, existence and set operators', () => {
    const sel = parseLabelSelector('a=b,c!=d,e,!f,g in (x, y),h notin (z)');
    assert.equal(sel.length, 6);
    assert.ok(matchLabels(sel, { a: 'b', e: '1', g: 'y' }));
    assert.ok(!matchLabels(sel, { a: 'b', c: 'd', e: '1', g: 'x' }));
    assert.ok(!matchLabels(sel, { a: 'b', e: '1', f: '', g: 'x' }));
    assert.ok(!matchLabels(sel, { a: 'b', g: 'x' }));
    assert.ok(!matchLabels(sel, { a: 'b', e: '1', g: 'x', h: 'z' }));
    assert.ok(matchLabels(parseLabelSelector('a==b'), { a: 'b' }));
    assert.ok(matchLabels(parseLabelSelector(''), undefined));
  });
  it('rejects garbage with a 400 StatusError', () => {
    assert.throws(() => parseLabelSelector('a=b=c'), (e: unknown) => e instanceof StatusError && e.code === 400);
  });
  it('field selectors on dotted paths', () => {
    const sel = parseFieldSelector('metadata.name=x,spec.nodeName!=n1');
    assert.ok(matchFields(sel, { metadata: { name: 'x' }, spec: { nodeName: 'n2' } }));
    assert.ok(!matchFields(sel, { metadata: { name: 'x' }, spec: { nodeName: 'n1' } }));
    assert.ok(matchFields(parseFieldSelector('status.phase!=Failed'), { status: {} }));
  });
});

describe('patches', () => {
  it('merge patch (RFC 7386)', () => {
    assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 }, f: [1] }), { a: 1, b: { d: 3, e: 4 }, f: [1] });
  });
  it('json patch (RFC 6902)', () => {
    const doc = { metadata: { labels: { a: '1' } }, list: [1, 2] };
    const out = jsonPatch(doc, [
      { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
      { op: 'remove', path: '/metadata/labels/a' },
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'replace', path: '/list/0', value: 0 },
      { op: 'test', path: '/list/2', value: 3 },
      { op: 'copy', from: '/list', path: '/copy' },
      { op: 'move', from: '/copy', path: '/moved' },
    ]);
    assert.deepEqual(out, { metadata: { labels: { 'b/c': '2' } }, list: [0, 2, 3], moved: [0, 2, 3] });
    assert.deepEqual(doc.list, [1, 2], 'input untouched');
    assert.throws(() => jsonPatch(doc, [{ op: 'test', path: '/list/0', value: 9 }]), StatusError);
  });
  it('strategic merge patch merges ports by port and containers by name', () => {
    // The lists merged are those the kind's schema declares (x-kubernetes-patch-*), as upstream.
    const serviceSchema = kindSchema('Service', { spec: { type: 'object', properties: { ports: mapList({ type: 'object' }, ['port', 'protocol']) } } });
    const podSchema = kindSchema('Pod', { spec: { type: 'object', properties: { containers: mapList({ type: 'object' }, ['name']) } } });
    const svc = { spec: { ports: [{ name: 'http', port: 80, targetPort: 80 }, { name: 'https', port: 443 }] } };
    const out = strategicMergePatch(svc, {
      $setElementOrder: undefined,
      spec: { ports: [{ port: 80, targetPort: 8080 }, { name: 'dns', port: 53, protocol: 'UDP' }], '$setElementOrder/ports': [{ port: 53 }, { port: 80 }, { port: 443 }] },
    }, serviceSchema) as typeof svc;
    assert.deepEqual(out.spec.ports, [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'https', port: 443 },
    ]);
    const pod = { spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] } };
    const p2 = strategicMergePatch(pod, { spec: { containers: [{ name: 'b', image: 'z' }, { name: 'a', $patch: 'delete' }] } }, podSchema) as typeof pod;
    assert.deepEqual(p2.spec.containers, [{ name: 'b', image: 'z' }]);
    const m = strategicMergePatch({ metadata: { labels: { a: '1', b: '2' }, finalizers: ['x'] } }, { metadata: { labels: { a: null, c: '3' }, finalizers: ['y'] } });
    assert.deepEqual(m, { metadata: { labels: { b: '2', c: '3' }, finalizers: ['x', 'y'] } });
  });
});

describe('humanDuration', () => {
  it('formats like kubectl', () => {
    assert.equal(humanDuration(5_000), '5s');
    assert.equal(humanDuration(119_000), '119s');
    assert.equal(humanDuration(150_000), '2m30s');
    assert.equal(humanDuration(15 * 60_000), '15m');
    assert.equal(humanDuration(3 * 3600_000 + 60_000), '3h1m');
    assert.equal(humanDuration(30 * 3600_000), '30h');
    assert.equal(humanDuration(3 * 86400_000), '3d');
  });
});

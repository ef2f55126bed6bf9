/**
 * JSON Patch (RFC 6902) and JSON Pointer (RFC 6901). The cases follow the categories of the
 * public json-patch-tests suite (tests.json, spec_tests.json), written anew here, plus the
 * Kubernetes Status each failure is answered with (kube-apiserver: 400 for a body that is not a
 * patch, 422 Invalid for an operation that does not apply).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { jsonPatch, KubeApiServer, ObjectStore, RevisionClock, StatusError } from '../src/index.js';

type Case = { name: string; doc: unknown; patch: unknown; expected?: unknown; error?: number; message?: RegExp };

const ok: Case[] = [
  { name: 'empty patch', doc: { a: 1 }, patch: [], expected: { a: 1 } },
  { name: 'empty patch, array document', doc: [{ x: 1, y: 2 }], patch: [], expected: [{ y: 2, x: 1 }] },
  { name: 'add replaces an existing member', doc: { a: null }, patch: [{ op: 'add', path: '/a', value: 1 }], expected: { a: 1 } },
  { name: 'add to an empty root array', doc: [], patch: [{ op: 'add', path: '/0', value: 'x' }], expected: ['x'] },
  { name: 'add "-" appends to the root array', doc: [], patch: [{ op: 'add', path: '/-', value: 'x' }], expected: ['x'] },
  { name: 'add "" replaces an object document by an array', doc: {}, patch: [{ op: 'add', path: '', value: [] }], expected: [] },
  { name: 'add "" replaces an array document by an object', doc: [], patch: [{ op: 'add', path: '', value: { k: 1 } }], expected: { k: 1 } },
  { name: 'add "/" is the empty member name', doc: {}, patch: [{ op: 'add', path: '/', value: 1 }], expected: { '': 1 } },
  { name: 'add "/a/" on an object is its empty member name', doc: { a: {} }, patch: [{ op: 'add', path: '/a/', value: 1 }], expected: { a: { '': 1 } } },
  { name: 'add a member whose name is a number', doc: { a: 1 }, patch: [{ op: 'add', path: '/0', value: 'z' }], expected: { a: 1, 0: 'z' } },
  { name: 'add inside an array item', doc: { l: [{ q: 'h' }] }, patch: [{ op: 'add', path: '/l/0/w', value: 'v' }], expected: { l: [{ q: 'h', w: 'v' }] } },
  { name: 'add at index == length appends', doc: ['a', 'b'], patch: [{ op: 'add', path: '/2', value: 'c' }], expected: ['a', 'b', 'c'] },
  { name: 'add inserts before the index', doc: ['a', 'c'], patch: [{ op: 'add', path: '/1', value: 'b' }], expected: ['a', 'b', 'c'] },
  { name: 'add an array value is not flattened', doc: ['a', 'c'], patch: [{ op: 'add', path: '/1', value: ['x', 'y'] }], expected: ['a', ['x', 'y'], 'c'] },
  { name: 'add "-" deep in nested arrays', doc: [1, [2, [3]]], patch: [{ op: 'add', path: '/1/1/-', value: { k: [4] } }], expected: [1, [2, [3, { k: [4] }]]] },
  { name: 'add null, false and true', doc: {}, patch: [{ op: 'add', path: '/n', value: null }, { op: 'add', path: '/f', value: false }, { op: 'add', path: '/t', value: true }], expected: { n: null, f: false, t: true } },
  { name: 'names are case-sensitive', doc: { a: 'b' }, patch: [{ op: 'add', path: '/A', value: 'B' }], expected: { a: 'b', A: 'B' } },
  { name: 'remove a member', doc: { a: 1, b: [1] }, patch: [{ op: 'remove', path: '/b' }], expected: { a: 1 } },
  { name: 'remove a nested member', doc: { l: [{ q: 1 }] }, patch: [{ op: 'remove', path: '/l/0/q' }], expected: { l: [{}] } },
  { name: 'remove a null member', doc: { a: null }, patch: [{ op: 'remove', path: '/a' }], expected: {} },
  { name: 'removes shift later indexes', doc: [1, 2, 3, 4], patch: [{ op: 'remove', path: '/1' }, { op: 'remove', path: '/2' }], expected: [1, 3] },
  { name: 'replace a member by an array', doc: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: [1, 2] }], expected: { a: [1, 2] } },
  { name: 'replace a null member', doc: { a: null }, patch: [{ op: 'replace', path: '/a', value: 'x' }], expected: { a: 'x' } },
  { name: 'replace array items by 0, false, null', doc: ['', '', ''], patch: [{ op: 'replace', path: '/0', value: 0 }, { op: 'replace', path: '/1', value: false }, { op: 'replace', path: '/2', value: null }], expected: [0, false, null] },
  { name: 'replace the whole document', doc: { a: 1 }, patch: [{ op: 'replace', path: '', value: { b: 2 } }], expected: { b: 2 } },
  { name: 'test passes whatever the member order', doc: { a: [{ x: 1, y: 2 }] }, patch: [{ op: 'test', path: '/a', value: [{ y: 2, x: 1 }] }], expected: { a: [{ x: 1, y: 2 }] } },
  { name: 'test a null member', doc: { a: null }, patch: [{ op: 'test', path: '/a', value: null }], expected: { a: null } },
  { name: 'test the whole document', doc: { a: 1 }, patch: [{ op: 'test', path: '', value: { a: 1 } }], expected: { a: 1 } },
  { name: 'test "1e0" as an object member name', doc: { '1e0': 'x' }, patch: [{ op: 'test', path: '/1e0', value: 'x' }], expected: { '1e0': 'x' } },
  {
    name: 'escapes: ~1 is "/", ~0 is "~", "~01" is "~1"',
    doc: { 'a/b': 1, 'm~n': 2, '~1': 3, '': 4, ' ': 5, 'c%d': 6 },
    patch: [
      { op: 'test', path: '/a~1b', value: 1 },
      { op: 'test', path: '/m~0n', value: 2 },
      { op: 'test', path: '/~01', value: 3 },
      { op: 'test', path: '/', value: 4 },
      { op: 'test', path: '/ ', value: 5 },
      { op: 'test', path: '/c%d', value: 6 },
    ],
    expected: { 'a/b': 1, 'm~n': 2, '~1': 3, '': 4, ' ': 5, 'c%d': 6 },
  },
  { name: 'unknown members of an operation are ignored', doc: { a: 1 }, patch: [{ op: 'add', path: '/b', value: 2, extra: 3 }], expected: { a: 1, b: 2 } },
  { name: 'move to the same place changes nothing', doc: { a: 1 }, patch: [{ op: 'move', from: '/a', path: '/a' }], expected: { a: 1 } },
  { name: 'move a member', doc: { a: { b: 1, c: 2 }, d: {} }, patch: [{ op: 'move', from: '/a/c', path: '/d/e' }], expected: { a: { b: 1 }, d: { e: 2 } } },
  { name: 'move a null member', doc: { a: null }, patch: [{ op: 'move', from: '/a', path: '/b' }], expected: { b: null } },
  { name: 'move an array item', doc: { l: ['w', 'x', 'y', 'z'] }, patch: [{ op: 'move', from: '/l/1', path: '/l/3' }], expected: { l: ['w', 'y', 'z', 'x'] } },
  { name: 'move a member into an array', doc: { l: [{ q: 'h' }] }, patch: [{ op: 'move', from: '/l/0/q', path: '/l/1' }], expected: { l: [{}, 'h'] } },
  { name: 'copy an array item', doc: { l: [{ q: 'h' }] }, patch: [{ op: 'copy', from: '/l/0', path: '/c' }], expected: { l: [{ q: 'h' }], c: { q: 'h' } } },
  { name: 'copy a null member', doc: { a: null }, patch: [{ op: 'copy', from: '/a', path: '/b' }], expected: { a: null, b: null } },
  {
    name: 'a copy is independent of its source',
    doc: { a: { b: [{ c: 1 }] } },
    patch: [{ op: 'copy', from: '/a', path: '/k' }, { op: 'replace', path: '/k/b/0/c', value: 2 }, { op: 'replace', path: '/a/b/0/c', value: 3 }],
    expected: { a: { b: [{ c: 3 }] }, k: { b: [{ c: 2 }] } },
  },
];

const bad: Case[] = [
  { name: 'add past the end', doc: { l: [1, 2] }, patch: [{ op: 'add', path: '/l/8', value: 5 }], error: 422, message: /add operation/ },
  { name: 'add at a negative index', doc: { l: [1, 2] }, patch: [{ op: 'add', path: '/l/-1', value: 5 }], error: 422 },
  { name: 'add at index > length', doc: ['a', 'b'], patch: [{ op: 'add', path: '/3', value: 'c' }], error: 422 },
  { name: 'add at "1e0"', doc: ['a', 'b'], patch: [{ op: 'add', path: '/1e0', value: 'c' }], error: 422 },
  { name: 'add at "01"', doc: { a: ['x', 'y'] }, patch: [{ op: 'add', path: '/a/01', value: 'c' }], error: 422 },
  { name: 'add at "" (trailing slash) in an array', doc: { a: ['x'] }, patch: [{ op: 'add', path: '/a/', value: 'c' }], error: 422 },
  { name: 'add a named member to an array', doc: ['a'], patch: [{ op: 'add', path: '/bar', value: 1 }], error: 422 },
  { name: 'add under a missing parent', doc: { q: { b: 2 } }, patch: [{ op: 'add', path: '/a/b', value: 1 }], error: 422, message: /add operation does not apply: doc is missing path: "\/a\/b"/ },
  { name: 'add without value', doc: [1], patch: [{ op: 'add', path: '/-' }], error: 422, message: /add operation.*missing value/ },
  { name: 'replace without value', doc: [1], patch: [{ op: 'replace', path: '/0' }], error: 422, message: /replace operation/ },
  { name: 'test without value (doc null)', doc: [null], patch: [{ op: 'test', path: '/0' }], error: 422, message: /test operation/ },
  { name: 'test without value (doc false)', doc: [false], patch: [{ op: 'test', path: '/0' }], error: 422 },
  { name: 'replace under a missing parent', doc: { b: 1 }, patch: [{ op: 'replace', path: '/a/b', value: false }], error: 422 },
  { name: 'replace a missing member', doc: { b: 1 }, patch: [{ op: 'replace', path: '/a', value: 1 }], error: 422 },
  { name: 'replace at "1e0"', doc: [''], patch: [{ op: 'replace', path: '/1e0', value: false }], error: 422 },
  { name: 'remove at "1e0"', doc: [1, 2], patch: [{ op: 'remove', path: '/1e0' }], error: 422, message: /remove operation/ },
  { name: 'remove below "1e0"', doc: { l: [{ q: 1 }] }, patch: [{ op: 'remove', path: '/l/1e0/q' }], error: 422 },
  { name: 'remove a missing member', doc: { a: 1 }, patch: [{ op: 'remove', path: '/b' }], error: 422 },
  { name: 'remove below a missing member', doc: { a: 1 }, patch: [{ op: 'remove', path: '/x/y' }], error: 422 },
  { name: 'remove past the end', doc: ['a', 'b'], patch: [{ op: 'remove', path: '/2' }], error: 422 },
  { name: 'remove "-"', doc: ['a'], patch: [{ op: 'remove', path: '/-' }], error: 422 },
  { name: 'test "1e0" in an array', doc: ['a', 'b'], patch: [{ op: 'test', path: '/1e0', value: 'b' }], error: 422 },
  { name: 'test "00" in an array', doc: ['a', 'b'], patch: [{ op: 'test', path: '/00', value: 'a' }], error: 422 },
  { name: 'test "01" in an array', doc: ['a', 'b'], patch: [{ op: 'test', path: '/01', value: 'b' }], error: 422 },
  { name: 'test fails on another value', doc: { a: { b: [1, 2] } }, patch: [{ op: 'test', path: '/a', value: [1, 2] }], error: 422, message: /testing value \/a failed/ },
  { name: 'test: a number is not a string', doc: { '~1': 10 }, patch: [{ op: 'test', path: '/~01', value: '10' }], error: 422 },
  { name: 'test a missing member', doc: { a: 1 }, patch: [{ op: 'test', path: '/b', value: null }], error: 422 },
  { name: 'copy from "1e0"', doc: { l: [1, 2], b: 1 }, patch: [{ op: 'copy', from: '/l/1e0', path: '/c' }], error: 422 },
  { name: 'copy without from', doc: [1], patch: [{ op: 'copy', path: '/-' }], error: 422, message: /copy operation.*from/ },
  { name: 'copy from a missing member', doc: { a: 1 }, patch: [{ op: 'copy', from: '/b', path: '/a' }], error: 422, message: /copy operation does not apply: doc is missing from path: "\/b"/ },
  { name: 'move from "1e0"', doc: { a: 1, l: [1, 2] }, patch: [{ op: 'move', from: '/l/1e0', path: '/a' }], error: 422 },
  { name: 'move without from', doc: { a: 1 }, patch: [{ op: 'move', path: '' }], error: 422, message: /move operation/ },
  { name: 'move from a missing member', doc: { a: 1 }, patch: [{ op: 'move', from: '/b', path: '/a' }], error: 422 },
  { name: 'move into its own child', doc: { a: { b: 1 } }, patch: [{ op: 'move', from: '/a', path: '/a/c' }], error: 422 },
  { name: 'an unknown op', doc: { a: 1 }, patch: [{ op: 'spam', path: '/a', value: 1 }], error: 422, message: /spam/ },
  { name: 'no op', doc: { a: 1 }, patch: [{ path: '/a', value: 1 }], error: 422 },
  { name: 'no path', doc: {}, patch: [{ op: 'add', value: 'x' }], error: 422, message: /add operation.*path/ },
  { name: 'a null path', doc: {}, patch: [{ op: 'add', path: null, value: 'x' }], error: 422 },
  { name: 'a path without the leading slash', doc: {}, patch: [{ op: 'add', path: 'a', value: 'x' }], error: 422 },
  { name: 'an invalid escape', doc: { '~2': 1 }, patch: [{ op: 'test', path: '/~2', value: 1 }], error: 422 },
  { name: 'a failed operation leaves nothing applied', doc: { a: 1 }, patch: [{ op: 'add', path: '/b', value: 2 }, { op: 'test', path: '/a', value: 9 }], error: 422 },
  { name: 'a body that is not an array', doc: {}, patch: { op: 'add', path: '/a', value: 1 }, error: 400 },
  { name: 'an operation that is not an object', doc: {}, patch: ['add'], error: 400 },
];

describe('JSON patch (RFC 6902)', () => {
  for (const c of ok) {
    it(c.name, () => {
      const before = structuredClone(c.doc);
      assert.deepEqual(jsonPatch(c.doc, c.patch), c.expected);
      assert.deepEqual(c.doc, before, 'the input is not modified');
    });
  }
  for (const c of bad) {
    it(`error: ${c.name}`, () => {
      assert.throws(
        () => jsonPatch(c.doc, c.patch),
        (e: unknown) => {
          assert.ok(e instanceof StatusError, String(e));
          assert.equal(e.code, c.error, e.status.message ?? "");
          assert.equal(e.status.reason, c.error === 422 ? 'Invalid' : 'BadRequest');
          if (c.message) assert.match(e.status.message ?? '', c.message);
          return true;
        },
      );
    });
  }
  it('more than 10000 operations is 413, as kube-apiserver', () => {
    const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '', value: {} }));
    assert.throws(() => jsonPatch({}, ops), (e: unknown) => e instanceof StatusError && e.code === 413);
  });
});

describe('JSON patch over HTTP', () => {
  it('an operation that does not apply is a 422 Invalid Status naming the operation; nothing is stored', async () => {
    const app = Fastify({ logger: false });
    const clock = new RevisionClock();
    const store = new ObjectStore({ apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true, clock });
    const api = new KubeApiServer(app);
    api.addResource({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, store });
    store.create({ metadata: { name: 'c', namespace: 'default' }, data: { a: '1' } });
    const patch = (body: unknown) =>
      app.inject({ method: 'PATCH', url: '/api/v1/namespaces/default/configmaps/c', headers: { 'content-type': 'application/json-patch+json' }, payload: JSON.stringify(body) });
    const copy = await patch([{ op: 'copy', from: '/data/missing', path: '/data/b' }]);
    assert.equal(copy.statusCode, 422);
    const st = copy.json();
    assert.equal(st.kind, 'Status');
    assert.equal(st.reason, 'Invalid');
    assert.match(st.message, /^the server rejected our request due to an error in our request: copy operation does not apply/);
    const notArray = await patch({ op: 'add' });
    assert.equal(notArray.statusCode, 400);
    assert.equal(notArray.json().reason, 'BadRequest');
    assert.deepEqual(store.get('default', 'c')?.data, { a: '1' });
    const good = await patch([{ op: 'add', path: '/data/b', value: '2' }]);
    assert.equal(good.statusCode, 200);
    assert.deepEqual(good.json().data, { a: '1', b: '2' });
    await app.close();
  });
});

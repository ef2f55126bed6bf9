/**
 * List semantics by kind and field, from the x-kubernetes-* extensions of the kind's schema:
 * strategic merge patch reads x-kubernetes-patch-strategy / -patch-merge-key, server-side apply
 * x-kubernetes-list-type / -list-map-keys (falling back to the patch extensions), as upstream.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type JsonSchema, fieldPaths, type KubeObject, kindSchema, serverSideApply, StatusError, strategicMergePatch, trackUpdate } from '../src/index.js';

const str = { type: 'string' };
const int = { type: 'integer' };
const mergeList = (key: string, items: JsonSchema, keys = [key]): JsonSchema => ({
  type: 'array',
  items,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': keys,
  'x-kubernetes-patch-merge-key': key,
  'x-kubernetes-patch-strategy': 'merge',
});
const atomic = (items: JsonSchema): JsonSchema => ({ type: 'array', items, 'x-kubernetes-list-type': 'atomic' });

const port = { type: 'object', properties: { name: str, port: int, protocol: { type: 'string', default: 'TCP' } } };
const serviceSchema = kindSchema('Service', { spec: { type: 'object', properties: { ports: mergeList('port', port, ['port', 'protocol']) } } });
const sliceSchema = kindSchema('EndpointSlice', { ports: atomic(port), endpoints: atomic({ type: 'object', properties: { addresses: { type: 'array', items: str, 'x-kubernetes-list-type': 'set' } } }) });
const container = { type: 'object', properties: { name: str, image: str, env: mergeList('name', { type: 'object', properties: { name: str, value: str } }), ports: mergeList('containerPort', { type: 'object', properties: { containerPort: int, protocol: { type: 'string', default: 'TCP' } } }, ['containerPort', 'protocol']) } };
const podSchema = kindSchema('Pod', {
  spec: { type: 'object', properties: { containers: mergeList('name', container) } },
  status: {
    type: 'object',
    properties: {
      conditions: mergeList('type', { type: 'object', properties: { type: str, status: str } }),
      // upstream: merged by ip under strategic merge patch, atomic under server-side apply
      hostIPs: { ...atomic({ type: 'object', properties: { ip: str } }), 'x-kubernetes-patch-merge-key': 'ip', 'x-kubernetes-patch-strategy': 'merge' },
    },
  },
});

describe('strategic merge patch by kind and field', () => {
  it('EndpointSlice ports are atomic (replaced) while Service ports merge by port', () => {
    const slice = { ports: [{ name: 'http', port: 80 }], endpoints: [{ addresses: ['10.0.0.1'] }] };
    const s = strategicMergePatch(slice, { ports: [{ name: 'https', port: 443 }] }, sliceSchema) as typeof slice;
    assert.deepEqual(s.ports, [{ name: 'https', port: 443 }]);
    const svc = { spec: { ports: [{ name: 'http', port: 80 }] } };
    const v = strategicMergePatch(svc, { spec: { ports: [{ name: 'https', port: 443 }] } }, serviceSchema) as typeof svc;
    assert.deepEqual(v.spec.ports, [{ name: 'http', port: 80 }, { name: 'https', port: 443 }]);
  });

  it('where the schema says nothing, a list is replaced (the upstream default); ObjectMeta is known for every kind', () => {
    const widget = { metadata: { finalizers: ['a'], ownerReferences: [{ uid: '1', name: 'x' }] }, spec: { containers: [{ name: 'a' }], conditions: [{ type: 'Ready' }] } };
    const out = strategicMergePatch(widget, { metadata: { finalizers: ['b'], ownerReferences: [{ uid: '2', name: 'y' }] }, spec: { containers: [{ name: 'b' }], conditions: [{ type: 'Synced' }] } }) as typeof widget;
    assert.deepEqual(out.spec, { containers: [{ name: 'b' }], conditions: [{ type: 'Synced' }] });
    assert.deepEqual(out.metadata.finalizers, ['a', 'b']);
    assert.deepEqual(out.metadata.ownerReferences, [{ uid: '1', name: 'x' }, { uid: '2', name: 'y' }]);
  });

  it('nested lists follow the item schema: containers by name, their env by name and ports by containerPort', () => {
    const pod = { spec: { containers: [{ name: 'a', image: 'x', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] }] } };
    const out = strategicMergePatch(pod, { spec: { containers: [{ name: 'a', env: [{ name: 'B', value: '2' }], ports: [{ containerPort: 443 }] }] } }, podSchema) as typeof pod;
    assert.deepEqual(out.spec.containers, [{ name: 'a', image: 'x', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80 }, { containerPort: 443 }] }]);
  });

  it('reads the patch extensions: Pod status.hostIPs merge by ip, conditions by type', () => {
    const pod = { status: { hostIPs: [{ ip: '10.0.0.1' }], conditions: [{ type: 'Ready', status: 'False' }] } };
    const out = strategicMergePatch(pod, { status: { hostIPs: [{ ip: '10.0.0.2' }], conditions: [{ type: 'Ready', status: 'True' }] } }, podSchema) as typeof pod;
    assert.deepEqual(out.status.hostIPs, [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }]);
    assert.deepEqual(out.status.conditions, [{ type: 'Ready', status: 'True' }]);
  });

  it('an item of a merged list without its merge key is a 400', () => {
    assert.throws(
      () => strategicMergePatch({ spec: { ports: [] } }, { spec: { ports: [{ name: 'x' }] } }, serviceSchema),
      (e: unknown) => e instanceof StatusError && e.code === 400 && /merge key: port/.test(e.status.message ?? ''),
    );
  });
});

describe('server-side apply by kind and field', () => {
  const keyed = (paths: Set<string>, field: string) => [...paths].filter((p) => p.includes(`"f:${field}","k:`) || p.includes(`"f:${field}","v:`));

  it('EndpointSlice ports are atomic; Service ports are keyed by port and protocol (protocol defaulted from the schema)', () => {
    const slice = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's' }, ports: [{ port: 80 }] };
    assert.deepEqual(keyed(fieldPaths(slice, { schema: sliceSchema }), 'ports'), []);
    assert.ok(fieldPaths(slice, { schema: sliceSchema }).has(JSON.stringify(['f:ports'])));
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } };
    assert.ok(fieldPaths(svc, { schema: serviceSchema }).has(JSON.stringify(['f:spec', 'f:ports', 'k:{"port":80,"protocol":"TCP"}', 'f:port'])));
  });

  it('list-type wins over the patch extensions: Pod status.hostIPs atomic, conditions keyed by type', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, status: { hostIPs: [{ ip: '10.0.0.1' }], conditions: [{ type: 'Ready', status: 'True' }] } };
    const paths = fieldPaths(pod, { schema: podSchema });
    assert.deepEqual(keyed(paths, 'hostIPs'), []);
    assert.ok(paths.has(JSON.stringify(['f:status', 'f:conditions', 'k:{"type":"Ready"}', 'f:status'])));
  });

  it('finalizers are a set: two managers each own their own, and applying without one removes only that one', () => {
    const base = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
    const a = serverSideApply(undefined, { ...base, metadata: { name: 'c', finalizers: ['a/x'] } }, { manager: 'a', apiVersion: 'v1', now: 't' });
    const b = serverSideApply(a, { ...base, metadata: { name: 'c', finalizers: ['b/y'] } }, { manager: 'b', apiVersion: 'v1', now: 't' });
    assert.deepEqual(b.metadata.finalizers, ['a/x', 'b/y']);
    const a2 = serverSideApply(b, { ...base, metadata: { name: 'c', labels: { k: 'v' } } }, { manager: 'a', apiVersion: 'v1', now: 't' });
    assert.deepEqual(a2.metadata.finalizers, ['b/y']);
  });

  it('metadata itself is not owned: an applier whose metadata holds only the name does not conflict with the creator', () => {
    const created: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', uid: 'u', resourceVersion: '1' }, data: { a: '1' } };
    trackUpdate(undefined, created, { manager: 'creator', apiVersion: 'v1', now: 't' });
    assert.deepEqual((created.metadata.managedFields?.[0] as { fieldsV1?: unknown })?.fieldsV1, { 'f:data': { 'f:a': {} } });
    const applied = serverSideApply(created, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { b: '2' } }, { manager: 'applier', apiVersion: 'v1', now: 't' });
    assert.deepEqual(applied.data, { a: '1', b: '2' });
    // Re-applying without data, even over an entry that still owns `f:metadata` (older versions
    // recorded it), drops only what the applier owned.
    const old = applied.metadata.managedFields as { manager: string; fieldsV1: Record<string, unknown> }[];
    const legacy = { ...applied, metadata: { ...applied.metadata, managedFields: old.map((e) => (e.manager === 'applier' ? { ...e, fieldsV1: { ...e.fieldsV1, 'f:metadata': {} } } : e)) } };
    const again = serverSideApply(legacy, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, { manager: 'applier', apiVersion: 'v1', now: 't' });
    assert.equal(again.metadata.uid, 'u');
    assert.deepEqual(again.data, { a: '1' });
  });

  it('an atomic list is replaced whole by its applier', () => {
    const live = serverSideApply(undefined, { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's' }, ports: [{ port: 80 }, { port: 81 }] }, { manager: 'm', apiVersion: 'v1', now: 't', schema: sliceSchema });
    const next = serverSideApply(live, { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's' }, ports: [{ port: 443 }] }, { manager: 'm', apiVersion: 'v1', now: 't', schema: sliceSchema });
    assert.deepEqual(next.ports, [{ port: 443 }]);
  });
});

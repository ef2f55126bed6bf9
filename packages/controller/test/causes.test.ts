import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ObjectChange } from '@fedns/store';
import { describeChange } from '../src/causes.js';

const change = (kind: ObjectChange['kind'], type: ObjectChange['type'], object: unknown, actor = 'alice'): ObjectChange => ({ rv: 9, type, kind, namespace: kind === 'services' ? 'prod' : '', name: kind === 'services' ? 'web' : 'c1', actor, at: 'now', object: object as Record<string, unknown> });
const svc = (annotations: Record<string, string>) => ({ metadata: { name: 'web', namespace: 'prod', annotations } });

test('service changes in words: created, deleted, policy (ttl, fail mode, placement with what narrowing deletes), not labels', () => {
  assert.equal(describeChange(change('services', 'ADDED', svc({})), undefined, []), 'service prod/web created by alice');
  assert.equal(describeChange(change('services', 'DELETED', svc({})), svc({}), []), 'service prod/web deleted by alice');
  assert.equal(describeChange(change('services', 'MODIFIED', svc({ 'federation.fedns.io/ttl': '60' })), svc({}), []), 'service prod/web: ttl 30 → 60 by alice');
  assert.equal(
    describeChange(change('services', 'MODIFIED', svc({ 'federation.fedns.io/clusters': 'c1' })), svc({}), ['c1', 'c2', 'c3']),
    'service prod/web: placement (every cluster) → c1, member Services in c2, c3 are deleted, releasing their load balancers by alice',
  );
  assert.equal(describeChange(change('services', 'MODIFIED', { metadata: { labels: { a: 'b' } } }), svc({}), []), undefined, 'nothing the zone depends on');
});

test('cluster changes in words: joined, left, drains and topology overrides', () => {
  assert.equal(describeChange(change('clusters', 'ADDED', {}), undefined, []), 'cluster c1 joined by alice');
  assert.equal(describeChange(change('clusters', 'DELETED', {}), {}, []), 'cluster c1 left the federation by alice');
  assert.equal(describeChange(change('clusters', 'MODIFIED', { spec: { drained: true } }), { spec: {} }, []), 'cluster c1 drained (spec.drained: true) by alice');
  assert.equal(describeChange(change('clusters', 'MODIFIED', { spec: { drainedZones: ['z1'] } }), { spec: { drainedZones: [] } }, []), 'cluster c1 zone(s) z1 drained by alice');
  assert.equal(describeChange(change('clusters', 'MODIFIED', { spec: {}, status: { region: 'r' } }), { spec: {} }, []), undefined, 'status is not a spec change');
});

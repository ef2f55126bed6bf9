import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterTopology } from '@fedns/model';
import { buildRecordSets } from '../src/index.js';
import { policy, shard } from './helpers.js';

// DESIGN §4 worked example: nginx in prod, federation myfed; c2 and c5 have no ready endpoints.
const clusters: ClusterTopology[] = [
  { name: 'c1', region: 'us-east1', zones: ['us-east1-b'] },
  { name: 'c2', region: 'us-east1', zones: ['us-east1-c'] },
  { name: 'c3', region: 'europe-west1', zones: ['europe-west1-b'] },
  { name: 'c5', region: 'asia-east1', zones: ['asia-east1-a'] },
];
const shards = [
  shard('c1', ['203.0.113.10']),
  // c2: reported healthy by the cluster but no ready endpoint — the cascade's own check drops it.
  shard('c2', ['203.0.113.20'], { readyEndpoints: 0 }),
  shard('c3', ['198.51.100.5']),
  shard('c5', ['192.0.2.9'], { readyEndpoints: 0, healthy: false }),
];

test('DESIGN §4 worked example, exactly', () => {
  const out = buildRecordSets({
    federation: { name: 'myfed', zone: 'example.com.' },
    services: [policy('nginx')],
    clusters,
    shards,
  });
  const P = 'nginx.prod.myfed.svc';
  const base = { ttl: 30, namespace: 'prod', service: 'nginx' };
  const expected = [
    { ...base, name: `${P}.asia-east1-a.asia-east1.example.com.`, type: 'CNAME', data: [`${P}.asia-east1.example.com.`], level: 'zone', region: 'asia-east1', zone: 'asia-east1-a' },
    { ...base, name: `${P}.asia-east1.example.com.`, type: 'CNAME', data: [`${P}.example.com.`], level: 'region', region: 'asia-east1' },
    { ...base, name: `${P}.europe-west1-b.europe-west1.example.com.`, type: 'A', data: ['198.51.100.5'], level: 'zone', region: 'europe-west1', zone: 'europe-west1-b' },
    { ...base, name: `${P}.europe-west1.example.com.`, type: 'A', data: ['198.51.100.5'], level: 'region', region: 'europe-west1' },
    { ...base, name: `${P}.example.com.`, type: 'A', data: ['198.51.100.5', '203.0.113.10'], level: 'global' },
    { ...base, name: `${P}.us-east1-b.us-east1.example.com.`, type: 'A', data: ['203.0.113.10'], level: 'zone', region: 'us-east1', zone: 'us-east1-b' },
    { ...base, name: `${P}.us-east1-c.us-east1.example.com.`, type: 'CNAME', data: [`${P}.us-east1.example.com.`], level: 'zone', region: 'us-east1', zone: 'us-east1-c' },
    { ...base, name: `${P}.us-east1.example.com.`, type: 'A', data: ['203.0.113.10'], level: 'region', region: 'us-east1' },
  ];
  assert.equal(out.length, 8);
  assert.deepEqual(out, expected);
});

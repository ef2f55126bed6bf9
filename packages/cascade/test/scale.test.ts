import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServicePolicy, Shard } from '@fedns/model';
import { buildRecordSets, buildServiceRecordSets, diffRecordSets } from '../src/index.js';
import { loadSeed, policy, poolAddress } from './helpers.js';

// DESIGN §8 scale target: 10,000 services × 13 clusters (130,000 shards). Timing is logged, not asserted.
test('scale: 10,000 services × 13 clusters', () => {
  const seed = loadSeed();
  const federation = { name: seed.federation, zone: seed.zone };
  const clusters = seed.clusters.map(({ name, region, zones }) => ({ name, region, zones }));
  const services: ServicePolicy[] = [];
  const shards: Shard[] = [];
  for (let i = 0; i < 10_000; i++) {
    const svc = policy(`svc-${i}`, `ns-${i % 50}`);
    services.push(svc);
    clusters.forEach((c, j) => {
      const pool = seed.clusters[j]?.lbPool ?? '';
      shards.push({
        cluster: c.name,
        namespace: svc.namespace,
        service: svc.name,
        addresses: [poolAddress(pool, 1 + (i % 14))],
        readyEndpoints: 1,
        healthy: (i * 13 + j) % 7 !== 0, // about one shard in seven down, spread over every level
      });
    });
  }
  assert.equal(shards.length, 130_000);

  const t0 = performance.now();
  const out = buildRecordSets({ federation, services, clusters, shards });
  const buildMs = performance.now() - t0;
  assert.equal(out.length, 10_000 * (1 + 4 + 13));

  // One shard flap, the incremental way the controller does it.
  const [first, ...sameService] = shards.slice(0, 13);
  const [svc0] = services;
  assert.ok(first && svc0);
  const flapped = { ...first, healthy: !first.healthy };
  const t1 = performance.now();
  const one = buildServiceRecordSets(federation, svc0, clusters, [flapped, ...sameService]);
  const diff = diffRecordSets(out.filter((rs) => rs.service === 'svc-0' && rs.namespace === 'ns-0'), one);
  const flapMs = performance.now() - t1;
  assert.ok(diff.upserts.length > 0);

  console.log(`cascade scale: full build of ${out.length} record sets in ${buildMs.toFixed(0)} ms; one-service flap rebuild+diff in ${flapMs.toFixed(2)} ms`);
});

/**
 * Issue 14 in the cascade: nearest-region fallback, weights and routing by
 * client location, on the seed's 13-cluster federation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClusterTopology, RecordSet, ServicePolicy, Shard } from '@fedns/model';
import { greatCircleKm } from '@fedns/model';
import { buildRecordSets, centreOf, diffRecordSets, explainName, nearestRegion, regionLocations } from '../src/index.js';
import { find, loadSeed, policy, poolAddress, table } from './helpers.js';

const seed = loadSeed();
const P = 'nginx.default.myfederation.svc';
const global = `${P}.example.com.`;
const region = (r: string) => `${P}.${r}.example.com.`;
const zone = (z: string, r: string) => `${P}.${z}.${r}.example.com.`;
const addressOf = (cluster: string) => poolAddress(seed.clusters.find((c) => c.name === cluster)?.lbPool ?? '');
const seedClusters = (): ClusterTopology[] => seed.clusters.map(({ name, region, zones }) => ({ name, region, zones }));

function build(isUp: (c: { name: string; region: string }) => boolean, opts: { fallback?: 'global' | 'nearest'; service?: Partial<ServicePolicy>; clusters?: ClusterTopology[] } = {}): RecordSet[] {
  const shards: Shard[] = seed.clusters.map((c) => ({ cluster: c.name, namespace: 'default', service: 'nginx', addresses: [poolAddress(c.lbPool)], readyEndpoints: isUp(c) ? 2 : 0, healthy: isUp(c) }));
  return buildRecordSets({
    federation: { name: seed.federation, zone: seed.zone, ...(opts.fallback ? { regionFallback: opts.fallback } : {}) },
    services: [policy('nginx', 'default', opts.service)],
    clusters: opts.clusters ?? seedClusters(),
    shards,
  });
}

describe('nearest-region fallback', () => {
  test('default (global): a region with no healthy shard aliases to the global name, as seed 002 does', () => {
    const t = table(build((c) => c.region !== 'europe-west1'));
    assert.deepEqual(t[region('europe-west1')], [`CNAME ${global}`]);
  });

  test('nearest: europe-west1 with no healthy shard aliases to us-east1, the nearest region that has one', () => {
    const out = build((c) => c.region !== 'europe-west1', { fallback: 'nearest' });
    const t = table(out);
    // By the built-in table: Belgium → South Carolina 6,822 km, → Iowa 7,190 km, → Taiwan 9,669 km.
    assert.deepEqual(t[region('europe-west1')], [`CNAME ${region('us-east1')}`]);
    // Zones still go up to their region first: zone → region → (nearest region), never further.
    assert.deepEqual(t[zone('europe-west1-b', 'europe-west1')], [`CNAME ${region('europe-west1')}`]);
    assert.equal(find(out, region('us-east1'), 'A')?.data.length, 3);
  });

  test('nearest: the next nearest when the nearest is down too; global only when no region has a healthy shard', () => {
    const t = table(build((c) => c.region === 'asia-east1' || c.region === 'us-central1', { fallback: 'nearest' }));
    assert.deepEqual(t[region('europe-west1')], [`CNAME ${region('us-central1')}`]);
    assert.deepEqual(t[region('us-east1')], [`CNAME ${region('us-central1')}`], 'South Carolina → Iowa 1,661 km');
    const none = table(build(() => false, { fallback: 'nearest' }));
    for (const r of ['asia-east1', 'europe-west1', 'us-central1', 'us-east1']) assert.deepEqual(none[region(r)], [`CNAME ${global}`]);
  });

  test('a Cluster spec.location moves its region: europe-west1 placed in Tokyo falls back to asia-east1', () => {
    const clusters = seedClusters().map((c) => (c.region === 'europe-west1' ? { ...c, location: { latitude: 35.68, longitude: 139.69 } } : c));
    const t = table(build((c) => c.region !== 'europe-west1', { fallback: 'nearest', clusters }));
    assert.deepEqual(t[region('europe-west1')], [`CNAME ${region('asia-east1')}`]);
  });

  test('a region with no known location aliases to the global name', () => {
    const clusters = seedClusters().map((c) => (c.name === 'gce-europe-west1b' ? { ...c, region: 'mars-north1', zones: ['mars-north1-a'] } : c));
    const shards: Shard[] = clusters.map((c) => ({ cluster: c.name, namespace: 'default', service: 'nginx', addresses: ['192.0.2.1'], readyEndpoints: c.region === 'mars-north1' ? 0 : 1, healthy: c.region !== 'mars-north1' }));
    const t = table(buildRecordSets({ federation: { name: seed.federation, zone: seed.zone, regionFallback: 'nearest' }, services: [policy('nginx', 'default')], clusters, shards }));
    assert.deepEqual(t[region('mars-north1')], [`CNAME ${global}`]);
  });

  test('a region whose shards all weigh 0 counts as having none', () => {
    const weights = { 'gce-asia-east1a': 0, 'gce-asia-east1b': 0, 'gce-asia-east1c': 0 };
    const t = table(build(() => true, { fallback: 'nearest', service: { weights } }));
    assert.deepEqual(t[region('asia-east1')], [`CNAME ${region('europe-west1')}`], 'Taiwan → Belgium 9,669 km');
  });

  test('explain says why each hop was chosen, with the distances', () => {
    const out = build((c) => c.region !== 'europe-west1', { fallback: 'nearest' });
    const e = explainName(zone('europe-west1-c', 'europe-west1'), out, [], seedClusters());
    assert.deepEqual(e.steps.map((s) => s.name), [zone('europe-west1-c', 'europe-west1'), region('europe-west1'), region('us-east1')]);
    assert.match(e.steps[0]?.reason ?? '', /aliased one level up, to region europe-west1/);
    assert.match(e.steps[1]?.reason ?? '', /aliased to region us-east1, the nearest region with healthy shards \(region fallback "nearest": 6,822 km from europe-west1; then us-central1 7,190 km, asia-east1 9,669 km\)/);
    assert.match(e.steps[2]?.reason ?? '', /healthy shards in region us-east1/);
  });
});

describe('weights', () => {
  const weights = { 'gce-us-east1b': 1, 'gce-us-east1c': 3, 'gce-us-east1d': 0 };

  test('weight 0 takes a shard out at every level, like a drain of this service', () => {
    const out = build(() => true, { service: { weights } });
    const d = addressOf('gce-us-east1d');
    for (const rs of out) assert.ok(!rs.data.includes(d), `${rs.name} still has ${d}`);
    assert.deepEqual(table(out)[zone('us-east1-d', 'us-east1')], [`CNAME ${region('us-east1')}`]);
  });

  test('a weighted set keeps the union as its data and one variant per shard with its weight', () => {
    const out = build(() => true, { service: { weights } });
    const rs = find(out, region('us-east1'), 'A');
    assert.deepEqual(rs?.data, [addressOf('gce-us-east1b'), addressOf('gce-us-east1c')]);
    assert.deepEqual(rs?.policy, {
      weighted: true,
      variants: [
        { cluster: 'gce-us-east1b', region: 'us-east1', weight: 1, data: [addressOf('gce-us-east1b')] },
        { cluster: 'gce-us-east1c', region: 'us-east1', weight: 3, data: [addressOf('gce-us-east1c')] },
      ],
    });
    // The global name weighs all 12 shards: unnamed clusters weigh 1.
    const g = find(out, global, 'A');
    assert.equal(g?.policy?.variants.length, 12);
    assert.equal(g?.policy?.variants.find((v) => v.cluster === 'gce-us-east1c')?.weight, 3);
    assert.equal(g?.policy?.variants.find((v) => v.cluster === 'gce-asia-east1a')?.weight, 1);
    // A zone with a single shard has nothing to choose between.
    assert.equal(find(out, zone('us-east1-b', 'us-east1'), 'A')?.policy, undefined);
  });

  test('two clusters in one zone are weighed at the zone name too', () => {
    const clusters: ClusterTopology[] = [
      { name: 'a', region: 'us-east1', zones: ['us-east1-b'] },
      { name: 'b', region: 'us-east1', zones: ['us-east1-b'] },
    ];
    const shards: Shard[] = clusters.map((c, i) => ({ cluster: c.name, namespace: 'default', service: 'nginx', addresses: [`192.0.2.${i + 1}`, `2001:db8::${i + 1}`], readyEndpoints: 1, healthy: true }));
    const out = buildRecordSets({ federation: { name: seed.federation, zone: seed.zone }, services: [policy('nginx', 'default', { weights: { a: 1, b: 3 } })], clusters, shards });
    for (const type of ['A', 'AAAA'] as const) {
      const rs = find(out, zone('us-east1-b', 'us-east1'), type);
      assert.deepEqual(rs?.policy?.variants.map((v) => [v.cluster, v.weight]), [['a', 1], ['b', 3]], type);
    }
    assert.deepEqual(find(out, zone('us-east1-b', 'us-east1'), 'AAAA')?.policy?.variants.map((v) => v.data), [['2001:db8::1'], ['2001:db8::2']]);
  });

  test('failing open ignores weights and routing: every known address, no variants', () => {
    const out = build(() => false, { service: { weights, routing: 'nearest' } });
    const g = find(out, global, 'A');
    assert.equal(g?.data.length, 12, 'the weight-0 shard is left out while others are known');
    assert.equal(g?.policy, undefined);
  });

  test('a change of weight alone is a change of the record set', () => {
    const before = build(() => true, { service: { weights } });
    const after = build(() => true, { service: { weights: { ...weights, 'gce-us-east1c': 2 } } });
    const diff = diffRecordSets(before, after);
    assert.deepEqual(diff.upserts.map((r) => r.name).sort(), [global, region('us-east1')].sort());
    assert.deepEqual(diffRecordSets(after, build(() => true, { service: { weights: { ...weights, 'gce-us-east1c': 2 } } })), { upserts: [], deletes: [] });
  });

  test('explain gives each shard its share', () => {
    const out = build(() => true, { service: { weights } });
    const e = explainName(region('us-east1'), out, [], seedClusters());
    assert.match(e.steps[0]?.reason ?? '', /A answered per query one shard per answer in proportion to weight: gce-us-east1b 1 \(25%\), gce-us-east1c 3 \(75%\)/);
  });
});

describe('routing by client location (global name)', () => {
  test('the global name carries one variant per healthy shard, with its region and the region location', () => {
    const out = build((c) => c.name !== 'gce-asia-east1b', { service: { routing: 'nearest' } });
    const g = find(out, global, 'A');
    assert.equal(g?.policy?.routing, 'nearest');
    assert.equal(g?.policy?.weighted, undefined);
    assert.equal(g?.policy?.variants.length, 12);
    const asia = g?.policy?.variants.filter((v) => v.region === 'asia-east1');
    assert.deepEqual(asia?.map((v) => v.cluster), ['gce-asia-east1a', 'gce-asia-east1c']);
    assert.deepEqual(asia?.[0]?.location, { latitude: 24.07, longitude: 120.54 });
    // Region and zone names are what they name: no routing there.
    assert.equal(find(out, region('asia-east1'), 'A')?.policy, undefined);
  });

  test('routing over a single region has nothing to choose', () => {
    const out = build((c) => c.region === 'us-east1', { service: { routing: 'nearest' } });
    assert.equal(find(out, global, 'A')?.policy, undefined);
  });
});

describe('locations', () => {
  test('a region is the centre of its clusters; the nearest region is by great-circle distance, ties by name', () => {
    const locs = regionLocations([
      { region: 'r1', location: { latitude: 0, longitude: 179 } },
      { region: 'r1', location: { latitude: 0, longitude: -179 } },
      { region: 'r2', location: { latitude: 10, longitude: 0 } },
    ]);
    assert.equal(Math.abs(locs.get('r1')?.longitude ?? 0), 180, 'across the antimeridian, not at 0');
    assert.deepEqual(centreOf([{ latitude: 10, longitude: 20 }]), { latitude: 10, longitude: 20 });
    const from = { latitude: 0, longitude: 0 };
    const ties = new Map([
      ['b', { latitude: 0, longitude: 10 }],
      ['a', { latitude: 0, longitude: -10 }],
    ]);
    assert.equal(nearestRegion(from, ['b', 'a'], ties)?.region, 'a');
    assert.equal(Math.round(greatCircleKm({ latitude: 0, longitude: 0 }, { latitude: 0, longitude: 180 })), 20015);
  });
});

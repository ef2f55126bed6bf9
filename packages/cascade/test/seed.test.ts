import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RecordSet, Shard } from '@fedns/model';
import { FAIL_CLOSED_TEXT, buildRecordSets } from '../src/index.js';
import { find, loadSeed, policy, poolAddress, table } from './helpers.js';

// The 13-cluster, 4-region federation of seed 002, service nginx in namespace default.
const seed = loadSeed();
const federation = { name: seed.federation, zone: seed.zone };
const P = 'nginx.default.myfederation.svc';
const global = `${P}.example.com.`;
const region = (r: string) => `${P}.${r}.example.com.`;
const zone = (z: string, r: string) => `${P}.${z}.${r}.example.com.`;
const addressOf = (cluster: string) => poolAddress(seed.clusters.find((c) => c.name === cluster)?.lbPool ?? '');

function build(isUp: (cluster: string, zone: string) => boolean, failMode: 'open' | 'closed' = 'open'): RecordSet[] {
  const shards: Shard[] = seed.clusters.map((c) => ({
    cluster: c.name,
    namespace: 'default',
    service: 'nginx',
    addresses: [poolAddress(c.lbPool)],
    readyEndpoints: isUp(c.name, c.zones[0] ?? '') ? 2 : 0,
    healthy: isUp(c.name, c.zones[0] ?? ''),
  }));
  const clusters = seed.clusters.map(({ name, region, zones }) => ({ name, region, zones }));
  return buildRecordSets({ federation, services: [policy('nginx', 'default', { failMode })], clusters, shards });
}

const sortedAddresses = (clusters: string[]) => clusters.map(addressOf).sort((a, b) => Number(a.split('.')[3]) - Number(b.split('.')[3]));
const allClusters = () => seed.clusters.map((c) => c.name);
const regionOfZone = (z: string) => z.replace(/-[a-z]$/, '');

describe('seed federation (13 clusters, 4 regions)', () => {
  test('the scenario file has the 13 clusters of seed 002', () => {
    assert.equal(seed.clusters.length, 13);
    assert.equal(new Set(seed.clusters.map((c) => c.region)).size, 4);
  });

  test('all healthy: every zone and region answers with its own shards, global with all 13', () => {
    const out = build(() => true);
    const t = table(out);
    assert.equal(Object.keys(t).length, 1 + 4 + 13);
    assert.deepEqual(t[global], [`A ${sortedAddresses(allClusters()).join(',')}`]);
    for (const c of seed.clusters) {
      assert.deepEqual(t[zone(c.zones[0] ?? '', c.region)], [`A ${addressOf(c.name)}`]);
    }
    const usEast = seed.clusters.filter((c) => c.region === 'us-east1').map((c) => c.name);
    assert.deepEqual(t[region('us-east1')], [`A ${sortedAddresses(usEast).join(',')}`]);
    assert.equal(out.filter((rs) => rs.type === 'CNAME').length, 0);
  });

  test('none healthy, fail open: global answers every known address, every other name CNAMEs up', () => {
    const t = table(build(() => false));
    assert.deepEqual(t[global], [`A ${sortedAddresses(allClusters()).join(',')}`]);
    for (const c of seed.clusters) {
      assert.deepEqual(t[zone(c.zones[0] ?? '', c.region)], [`CNAME ${region(c.region)}`]);
      assert.deepEqual(t[region(c.region)], [`CNAME ${global}`]);
    }
  });

  test('none healthy, fail closed: global holds only a TXT (NODATA for A), chains still end there', () => {
    const out = build(() => false, 'closed');
    const t = table(out);
    assert.deepEqual(t[global], [`TXT ${FAIL_CLOSED_TEXT}`]);
    assert.equal(out.filter((rs) => rs.type === 'A' || rs.type === 'AAAA').length, 0);
    assert.deepEqual(t[region('asia-east1')], [`CNAME ${global}`]);
    assert.deepEqual(t[zone('asia-east1-a', 'asia-east1')], [`CNAME ${region('asia-east1')}`]);
  });

  test('one region entirely down: its names fall back to global, global keeps the other 10', () => {
    const t = table(build((_c, z) => regionOfZone(z) !== 'europe-west1'));
    assert.deepEqual(t[region('europe-west1')], [`CNAME ${global}`]);
    for (const z of ['europe-west1-b', 'europe-west1-c', 'europe-west1-d']) {
      assert.deepEqual(t[zone(z, 'europe-west1')], [`CNAME ${region('europe-west1')}`]);
    }
    const up = seed.clusters.filter((c) => c.region !== 'europe-west1').map((c) => c.name);
    assert.equal(up.length, 10);
    assert.deepEqual(t[global], [`A ${sortedAddresses(up).join(',')}`]);
    assert.deepEqual(t[region('us-central1')], [`A ${sortedAddresses(['gce-us-central1a', 'gce-us-central1b', 'gce-us-central1c', 'gce-us-central1f']).join(',')}`]);
  });

  test('seed 002 pattern: us-central1-f, asia-east1-b and all of europe-west1 without pods', () => {
    const down = new Set(['us-central1-f', 'asia-east1-b', 'europe-west1-b', 'europe-west1-c', 'europe-west1-d']);
    const out = build((_c, z) => !down.has(z));
    const t = table(out);
    // The seed's own example: the us-central1-f name CNAMEs to the region, which still has A records.
    assert.deepEqual(t[zone('us-central1-f', 'us-central1')], [`CNAME ${region('us-central1')}`]);
    assert.deepEqual(t[region('us-central1')], [`A ${sortedAddresses(['gce-us-central1a', 'gce-us-central1b', 'gce-us-central1c']).join(',')}`]);
    assert.deepEqual(t[zone('us-central1-a', 'us-central1')], [`A ${addressOf('gce-us-central1a')}`]);
    assert.deepEqual(t[zone('asia-east1-b', 'asia-east1')], [`CNAME ${region('asia-east1')}`]);
    assert.deepEqual(t[region('asia-east1')], [`A ${sortedAddresses(['gce-asia-east1a', 'gce-asia-east1c']).join(',')}`]);
    assert.deepEqual(t[region('europe-west1')], [`CNAME ${global}`]);
    assert.deepEqual(t[zone('europe-west1-d', 'europe-west1')], [`CNAME ${region('europe-west1')}`]);
    assert.deepEqual(t[region('us-east1')], [`A ${sortedAddresses(['gce-us-east1b', 'gce-us-east1c', 'gce-us-east1d']).join(',')}`]);
    const up = seed.clusters.filter((c) => !down.has(c.zones[0] ?? '')).map((c) => c.name);
    assert.equal(up.length, 8);
    assert.deepEqual(t[global], [`A ${sortedAddresses(up).join(',')}`]);
    assert.equal(find(out, global, 'A')?.ttl, 30);
    assert.equal(out.filter((rs) => rs.type === 'CNAME').length, 6);
  });
});

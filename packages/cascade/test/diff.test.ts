import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RecordSet, ServicePolicy, Shard } from '@fedns/model';
import { applyRecordSetDiff, buildRecordSets, diffRecordSets } from '../src/index.js';
import { loadSeed, policy, poolAddress } from './helpers.js';

const seed = loadSeed();
const federation = { name: seed.federation, zone: seed.zone };
const clusters = seed.clusters.map(({ name, region, zones }) => ({ name, region, zones }));
const services = [policy('nginx', 'default'), policy('web', 'default'), policy('api', 'shop')];
const P = 'nginx.default.myfederation.svc';

function shardsFor(isUp: (cluster: string, svc: ServicePolicy) => boolean = () => true): Shard[] {
  return services.flatMap((svc) =>
    seed.clusters.map((c, i) => ({
      cluster: c.name,
      namespace: svc.namespace,
      service: svc.name,
      addresses: [poolAddress(c.lbPool, 1 + (services.indexOf(svc) % 14)), `2001:db8:${i}::${services.indexOf(svc) + 1}`],
      readyEndpoints: 1,
      healthy: isUp(c.name, svc),
    })),
  );
}

const base = buildRecordSets({ federation, services, clusters, shards: shardsFor() });
const summary = (sets: RecordSet[]) => sets.map((rs) => `${rs.name} ${rs.type}`);

describe('diffRecordSets', () => {
  test('unchanged input gives an empty diff', () => {
    const again = buildRecordSets({ federation, services, clusters, shards: shardsFor() });
    assert.deepEqual(diffRecordSets(base, again), { upserts: [], deletes: [] });
  });

  test('one shard flap touches only the names that shard contributed to', () => {
    const flapped = buildRecordSets({
      federation,
      services,
      clusters,
      shards: shardsFor((c, svc) => !(c === 'gce-us-east1d' && svc.name === 'nginx')),
    });
    const diff = diffRecordSets(base, flapped);
    assert.deepEqual(summary(diff.deletes), [`${P}.us-east1-d.us-east1.example.com. A`, `${P}.us-east1-d.us-east1.example.com. AAAA`]);
    assert.deepEqual(summary(diff.upserts), [
      `${P}.example.com. A`,
      `${P}.example.com. AAAA`,
      `${P}.us-east1-d.us-east1.example.com. CNAME`,
      `${P}.us-east1.example.com. A`,
      `${P}.us-east1.example.com. AAAA`,
    ]);
    assert.deepEqual(applyRecordSetDiff(base, diff), flapped);
    // And back: the recovery is the exact inverse.
    assert.deepEqual(summary(diffRecordSets(flapped, base).deletes), [`${P}.us-east1-d.us-east1.example.com. CNAME`]);
  });

  test('deleting a service deletes its whole chain and nothing else', () => {
    const without = buildRecordSets({ federation, services: services.filter((s) => s.name !== 'web'), clusters, shards: shardsFor() });
    const diff = diffRecordSets(base, without);
    assert.deepEqual(diff.upserts, []);
    const webSets = base.filter((rs) => rs.service === 'web');
    assert.equal(webSets.length, 2 * (1 + 4 + 13));
    assert.deepEqual(diff.deletes, webSets);
  });

  test('unjoining a cluster removes exactly what it contributed', () => {
    const remaining = clusters.filter((c) => c.name !== 'gce-us-east1d');
    const diff = diffRecordSets(base, buildRecordSets({ federation, services, clusters: remaining, shards: shardsFor() }));
    // Per service: its zone name goes; the region and global sets lose its address.
    for (const svc of services) {
      const p = `${svc.name}.${svc.namespace}.myfederation.svc`;
      const mine = (sets: RecordSet[]) => summary(sets.filter((rs) => rs.service === svc.name));
      assert.deepEqual(mine(diff.deletes), [`${p}.us-east1-d.us-east1.example.com. A`, `${p}.us-east1-d.us-east1.example.com. AAAA`]);
      assert.deepEqual(mine(diff.upserts), [`${p}.example.com. A`, `${p}.example.com. AAAA`, `${p}.us-east1.example.com. A`, `${p}.us-east1.example.com. AAAA`]);
    }
    const usEast = diff.upserts.find((rs) => rs.name === `${P}.us-east1.example.com.` && rs.type === 'A');
    assert.equal(usEast?.data.length, 2);
  });

  test('unjoining the last cluster of a region removes the region and its zones', () => {
    const oneRegionLess = clusters.filter((c) => c.region !== 'asia-east1');
    const diff = diffRecordSets(base, buildRecordSets({ federation, services, clusters: oneRegionLess, shards: shardsFor() }));
    assert.ok(diff.deletes.every((rs) => rs.region === 'asia-east1'));
    assert.equal(diff.deletes.length, services.length * 2 * (1 + 3));
    assert.ok(diff.upserts.every((rs) => rs.level === 'global'));
  });

  test('a TTL change alone is a change; names compare case-insensitively', () => {
    const set: RecordSet = { name: 'A.Example.com.', type: 'A', ttl: 30, data: ['192.0.2.1'], level: 'global', namespace: 'n', service: 's' };
    const same: RecordSet = { ...set, name: 'a.example.com.' };
    assert.deepEqual(diffRecordSets([set], [same]), { upserts: [], deletes: [] });
    assert.deepEqual(diffRecordSets([set], [{ ...same, ttl: 5 }]).upserts.map((rs) => rs.ttl), [5]);
    assert.deepEqual(diffRecordSets([set], [{ ...same, data: ['192.0.2.2'] }]).deletes, []);
  });
});

/** In-cluster answers (issue 12): local first, else the nearest public name; headless; placement; drains; properties. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ClusterTopology, LocalShard, Shard } from '@fedns/model';
import { buildClusterAnswers, buildServiceRecordSets, diffClusterAnswers } from '../src/index.js';
import { policy, shard } from './helpers.js';

const fed = { name: 'myfed', zone: 'example.com.' };
const P = 'nginx.prod.myfed.svc';
const topo: ClusterTopology[] = [
  { name: 'c1', region: 'us-east1', zones: ['us-east1-b'] },
  { name: 'c2', region: 'us-east1', zones: ['us-east1-c'] },
  { name: 'c3', region: 'europe-west1', zones: ['europe-west1-b'] },
  { name: 'c4', region: 'asia-east1', zones: ['asia-east1-a', 'asia-east1-b'] },
];
const local = (ips: string[], healthy = true, extra: Partial<LocalShard> = {}): LocalShard => ({ clusterIPs: ips, headless: false, endpoints: [], healthy, since: 't', message: '', ...extra });

function answers(shards: Shard[], extra: Parameters<typeof policy>[2] = {}, clusters = topo) {
  const p = policy('nginx', 'prod', extra);
  return buildClusterAnswers(fed, p, clusters, shards, buildServiceRecordSets(fed, p, clusters, shards));
}

describe('in-cluster answers', () => {
  it('a cluster whose own shard is locally healthy answers its cluster IPs; the others the nearest public name', () => {
    const got = answers([
      shard('c1', ['203.0.113.10'], { local: local(['10.96.0.20', 'fd00::20']) }),
      shard('c2', ['203.0.113.20'], { healthy: false, local: local(['10.97.0.5'], false) }),
      shard('c3', ['198.51.100.5'], { local: local(['10.98.0.7']) }),
    ]);
    assert.deepEqual(got, [
      { cluster: 'c1', namespace: 'prod', service: 'nginx', ttl: 5, addresses: ['10.96.0.20', 'fd00::20'] },
      { cluster: 'c2', namespace: 'prod', service: 'nginx', ttl: 5, target: `${P}.us-east1-c.us-east1.example.com.` },
      { cluster: 'c3', namespace: 'prod', service: 'nginx', ttl: 5, addresses: ['10.98.0.7'] },
      // c4 spans two zones: its region's name.
      { cluster: 'c4', namespace: 'prod', service: 'nginx', ttl: 5, target: `${P}.asia-east1.example.com.` },
    ]);
  });

  it('local health needs no load balancer: a shard without LB address (publicly unhealthy) still answers locally', () => {
    const got = answers([shard('c1', [], { healthy: false, local: local(['10.96.0.20']) })]);
    assert.deepEqual(got.find((a) => a.cluster === 'c1')?.addresses, ['10.96.0.20']);
  });

  it('not placed in the cluster, drained, or another federation owns the member Service: the CNAME', () => {
    const shards = [shard('c1', ['203.0.113.10'], { local: local(['10.96.0.20']) })];
    assert.equal(answers(shards, { clusters: ['c3'] }).find((a) => a.cluster === 'c1')?.target, `${P}.example.com.`);
    assert.equal(answers(shards, { clusters: ['c2'] }).find((a) => a.cluster === 'c1')?.target, `${P}.us-east1.example.com.`);
    const drained = topo.map((c) => (c.name === 'c1' ? { ...c, drained: true } : c));
    assert.equal(answers(shards, {}, drained).find((a) => a.cluster === 'c1')?.target, `${P}.us-east1-b.us-east1.example.com.`);
    const zoneDrained = topo.map((c) => (c.name === 'c1' ? { ...c, drainedZones: ['us-east1-b'] } : c));
    assert.ok(answers(shards, {}, zoneDrained).find((a) => a.cluster === 'c1')?.target);
    assert.ok(answers([{ ...(shards[0] as Shard), conflict: 'other/1' } as Shard]).find((a) => a.cluster === 'c1')?.target);
  });

  it('the CNAME target exists in the zone: names only exist where a selected cluster has topology', () => {
    // Placed in c1 only: c3's zone and region have no names for this service; its pods go global.
    const got = answers([], { clusters: ['c1'] });
    assert.equal(got.find((a) => a.cluster === 'c3')?.target, `${P}.example.com.`);
    assert.equal(got.find((a) => a.cluster === 'c2')?.target, `${P}.us-east1.example.com.`);
    // A cluster without topology yet: the global name.
    assert.equal(answers([], {}, [...topo, { name: 'c5', region: '', zones: [] }]).find((a) => a.cluster === 'c5')?.target, `${P}.example.com.`);
  });

  it('headless: the local ready endpoints, else NODATA (no address and no target)', () => {
    const hl = (healthy: boolean, endpoints: string[]) => local([], healthy, { headless: true, endpoints });
    const got = answers([shard('c1', [], { local: hl(true, ['10.244.1.5', '10.244.0.9']) }), shard('c2', [], { local: hl(false, []) })], { headless: true });
    assert.deepEqual(got.find((a) => a.cluster === 'c1')?.addresses, ['10.244.0.9', '10.244.1.5']);
    assert.deepEqual(got.find((a) => a.cluster === 'c2'), { cluster: 'c2', namespace: 'prod', service: 'nginx', ttl: 5 });
    assert.deepEqual(got.find((a) => a.cluster === 'c3'), { cluster: 'c3', namespace: 'prod', service: 'nginx', ttl: 5 });
  });

  it('the TTL is per service (federation.fedns.io/cluster-ttl), 5 s by default', () => {
    assert.ok(answers([], { clusterTtl: 12 }).every((a) => a.ttl === 12));
  });

  it('diff: changed and new answers, deleted keys', () => {
    const a = answers([shard('c1', ['203.0.113.10'], { local: local(['10.96.0.20']) })]);
    const b = answers([shard('c1', ['203.0.113.10'], { local: local(['10.96.0.20'], false) })], {}, topo.slice(0, 3));
    const d = diffClusterAnswers(a, b);
    assert.deepEqual(d.upserts.map((x) => [x.cluster, x.target]), [['c1', `${P}.us-east1-b.us-east1.example.com.`]]);
    assert.deepEqual(d.deletes, [{ cluster: 'c4', namespace: 'prod', service: 'nginx' }]);
    assert.deepEqual(diffClusterAnswers(a, a), { upserts: [], deletes: [] });
  });

  it('properties: one answer per cluster; local addresses only from the own healthy shard; every target is a published name', () => {
    const arbCluster = fc.record({ region: fc.constantFrom('r1', 'r2', ''), zones: fc.uniqueArray(fc.constantFrom('a', 'b', 'c'), { maxLength: 2 }) });
    fc.assert(
      fc.property(fc.array(arbCluster, { minLength: 1, maxLength: 5 }), fc.array(fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()), { maxLength: 5 }), fc.boolean(), (cs, sh, restrict) => {
        const clusters = cs.map((c, i) => ({ name: `c${i}`, region: c.region, zones: c.region ? c.zones.map((z) => `${c.region}-${z}`) : [] }));
        const shards = sh.slice(0, clusters.length).map(([pub, loc, lb], i) => shard(`c${i}`, lb ? [`203.0.113.${i + 1}`] : [], { healthy: pub, local: local([`10.96.0.${i + 1}`], loc) }));
        const p = policy('nginx', 'prod', restrict ? { clusters: ['c0'] } : {});
        const published = buildServiceRecordSets(fed, p, clusters, shards);
        const got = buildClusterAnswers(fed, p, clusters, shards, published);
        assert.equal(got.length, clusters.length);
        const names = new Set(published.map((r) => r.name));
        for (const a of got) {
          const own = shards.find((s) => s.cluster === a.cluster);
          if (a.addresses) {
            assert.ok(own?.local?.healthy);
            assert.deepEqual(a.addresses, own?.local?.clusterIPs);
            assert.equal(a.target, undefined);
          } else assert.ok(a.target && names.has(a.target), `${a.cluster} → ${a.target}`);
        }
      }),
      { numRuns: 300 },
    );
  });
});

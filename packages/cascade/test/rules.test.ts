import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClusterTopology, ServicePolicy, Shard } from '@fedns/model';
import {
  NO_ADDRESS_TEXT,
  buildRecordSets,
  buildServiceRecordSets,
  shardServable,
  summarizeService,
} from '../src/index.js';
import { policy, shard, table } from './helpers.js';

const federation = { name: 'myfed', zone: 'example.com.' };
const P = 'nginx.prod.myfed.svc';
const G = `${P}.example.com.`;
const R = (r: string) => `${P}.${r}.example.com.`;
const Z = (z: string, r: string) => `${P}.${z}.${r}.example.com.`;

const east: ClusterTopology = { name: 'east', region: 'us-east1', zones: ['us-east1-b'] };
const west: ClusterTopology = { name: 'west', region: 'us-west1', zones: ['us-west1-a'] };

function run(clusters: ClusterTopology[], shards: Shard[], service: ServicePolicy = policy('nginx')) {
  return table(buildRecordSets({ federation, services: [service], clusters, shards }));
}

describe('address families and ordering (rule 2)', () => {
  test('dual-stack shards give separate A and AAAA sets at every level, never a CNAME beside them', () => {
    const t = run([east, west], [shard('east', ['203.0.113.10', '2001:db8::10']), shard('west', ['2001:DB8:0:0::20'])]);
    assert.deepEqual(t[G], ['A 203.0.113.10', 'AAAA 2001:db8::10,2001:db8::20']);
    assert.deepEqual(t[R('us-east1')], ['A 203.0.113.10', 'AAAA 2001:db8::10']);
    assert.deepEqual(t[Z('us-east1-b', 'us-east1')], ['A 203.0.113.10', 'AAAA 2001:db8::10']);
    // IPv6-only region: AAAA only, no CNAME (the name has a servable address).
    assert.deepEqual(t[R('us-west1')], ['AAAA 2001:db8::20']);
    assert.deepEqual(t[Z('us-west1-a', 'us-west1')], ['AAAA 2001:db8::20']);
  });

  test('duplicate addresses (also across shards and spellings) are published once, sorted numerically', () => {
    const t = run(
      [east, { ...west, region: 'us-east1', zones: ['us-east1-c'] }],
      [shard('east', ['10.0.0.9', '10.0.0.10', '10.0.0.9', '2001:db8::1']), shard('west', ['10.0.0.10', '2001:0db8::0001', '9.0.0.1'])],
    );
    assert.deepEqual(t[G], ['A 9.0.0.1,10.0.0.9,10.0.0.10', 'AAAA 2001:db8::1']);
    assert.deepEqual(t[R('us-east1')], ['A 9.0.0.1,10.0.0.9,10.0.0.10', 'AAAA 2001:db8::1']);
  });

  test('invalid address literals are ignored; a shard with only invalid ones is not servable', () => {
    const t = run([east, west], [shard('east', ['not-an-ip', '203.0.113.10', '999.1.1.1']), shard('west', ['lb.example.net'])]);
    assert.deepEqual(t[G], ['A 203.0.113.10']);
    assert.deepEqual(t[R('us-west1')], [`CNAME ${G}`]);
  });
});

describe('topology', () => {
  test('a multi-zone cluster gives a zone name for each of its zones (rule 3)', () => {
    const multi: ClusterTopology = { name: 'multi', region: 'us-east1', zones: ['us-east1-b', 'us-east1-c', 'us-east1-d'] };
    const t = run([multi], [shard('multi', ['203.0.113.1'])]);
    for (const z of ['us-east1-b', 'us-east1-c', 'us-east1-d']) assert.deepEqual(t[Z(z, 'us-east1')], ['A 203.0.113.1']);
    assert.deepEqual(t[R('us-east1')], ['A 203.0.113.1']);
  });

  test('topology is compared case-insensitively and published lower-case', () => {
    const t = run([{ name: 'east', region: 'US-East1', zones: ['US-EAST1-B', 'us-east1-b'] }], [shard('east', ['203.0.113.1'])]);
    assert.deepEqual(Object.keys(t).sort(), [G, Z('us-east1-b', 'us-east1'), R('us-east1')].sort());
  });

  test('a cluster whose region is unknown reaches only the global name', () => {
    const t = run([{ name: 'bare', region: '', zones: [] }, east], [shard('bare', ['192.0.2.1']), shard('east', ['203.0.113.1'])]);
    assert.deepEqual(t[G], ['A 192.0.2.1,203.0.113.1']);
    assert.equal(Object.keys(t).length, 3);
  });

  test('record sets exist for every region and zone of a selected cluster, healthy or not (rule 1)', () => {
    const t = run([east, west], [shard('east', ['203.0.113.1'])]); // west has no shard at all
    assert.deepEqual(t[R('us-west1')], [`CNAME ${G}`]);
    assert.deepEqual(t[Z('us-west1-a', 'us-west1')], [`CNAME ${R('us-west1')}`]);
  });
});

describe('drains, placement, thresholds, TTL', () => {
  test('a drained cluster is not published anywhere, its names fall back up the chain', () => {
    const t = run([east, { ...west, drained: true }], [shard('east', ['203.0.113.1']), shard('west', ['203.0.113.2'])]);
    assert.deepEqual(t[G], ['A 203.0.113.1']);
    assert.deepEqual(t[R('us-west1')], [`CNAME ${G}`]);
    assert.deepEqual(t[Z('us-west1-a', 'us-west1')], [`CNAME ${R('us-west1')}`]);
  });

  test('a drained zone CNAMEs to its region; the cluster still serves its other zones', () => {
    const multi: ClusterTopology = { name: 'multi', region: 'us-east1', zones: ['us-east1-b', 'us-east1-c'], drainedZones: ['US-EAST1-C'] };
    const t = run([multi], [shard('multi', ['203.0.113.1'])]);
    assert.deepEqual(t[Z('us-east1-b', 'us-east1')], ['A 203.0.113.1']);
    assert.deepEqual(t[Z('us-east1-c', 'us-east1')], [`CNAME ${R('us-east1')}`]);
    assert.deepEqual(t[R('us-east1')], ['A 203.0.113.1']);
    assert.deepEqual(t[G], ['A 203.0.113.1']);
  });

  test('a cluster with all its zones drained takes no traffic at zone, region or global level', () => {
    const t = run([east, { ...west, drainedZones: ['us-west1-a'] }], [shard('east', ['203.0.113.1']), shard('west', ['203.0.113.2'])]);
    assert.deepEqual(t[Z('us-west1-a', 'us-west1')], [`CNAME ${R('us-west1')}`]);
    assert.deepEqual(t[R('us-west1')], [`CNAME ${G}`]);
    assert.deepEqual(t[G], ['A 203.0.113.1']);
  });

  test('fail open prefers clusters that are not drained, and uses drained ones only if nothing else is known', () => {
    const down = { healthy: false, readyEndpoints: 0 };
    const t1 = run([east, { ...west, drained: true }], [shard('east', ['203.0.113.1'], down), shard('west', ['203.0.113.2'])]);
    assert.deepEqual(t1[G], ['A 203.0.113.1']);
    const t2 = run([east, { ...west, drained: true }], [shard('east', [], down), shard('west', ['203.0.113.2'])]);
    assert.deepEqual(t2[G], ['A 203.0.113.2']);
  });

  test('fail open with no address known anywhere publishes a TXT so the global name exists', () => {
    const t = run([east], [shard('east', [], { healthy: false })]);
    assert.deepEqual(t[G], [`TXT ${NO_ADDRESS_TEXT}`]);
    assert.deepEqual(t[R('us-east1')], [`CNAME ${G}`]);
    assert.deepEqual(run([east], [])[G], [`TXT ${NO_ADDRESS_TEXT}`]);
  });

  test('placement: only the named clusters count, for names and for addresses (also when failing open)', () => {
    const service = policy('nginx', 'prod', { clusters: ['east', 'not-joined'] });
    const t = run([east, west], [shard('east', ['203.0.113.1']), shard('west', ['203.0.113.2'])], service);
    assert.deepEqual(Object.keys(t).sort(), [G, Z('us-east1-b', 'us-east1'), R('us-east1')].sort());
    assert.deepEqual(t[G], ['A 203.0.113.1']);
    const down = run([east, west], [shard('east', ['203.0.113.1'], { healthy: false }), shard('west', ['203.0.113.2'])], service);
    assert.deepEqual(down[G], ['A 203.0.113.1']);
  });

  test('shards of clusters that are not (or no longer) joined are ignored', () => {
    const t = run([east], [shard('east', ['203.0.113.1']), shard('gone', ['203.0.113.9'])]);
    assert.deepEqual(t[G], ['A 203.0.113.1']);
  });

  test('minReadyEndpoints: a shard below the threshold is not servable', () => {
    const service = policy('nginx', 'prod', { minReadyEndpoints: 3 });
    const t = run([east, west], [shard('east', ['203.0.113.1'], { readyEndpoints: 3 }), shard('west', ['203.0.113.2'], { readyEndpoints: 2 })], service);
    assert.deepEqual(t[G], ['A 203.0.113.1']);
    assert.deepEqual(t[R('us-west1')], [`CNAME ${G}`]);
  });

  test('TTL override applies to every record set of the service, and only to it', () => {
    const out = buildRecordSets({
      federation,
      services: [policy('nginx', 'prod', { ttl: 5 }), policy('web')],
      clusters: [east, west],
      shards: [shard('east', ['203.0.113.1']), shard('east', ['203.0.113.7'], { service: 'web' })],
    });
    for (const rs of out) assert.equal(rs.ttl, rs.service === 'nginx' ? 5 : 30, rs.name);
    assert.ok(out.some((rs) => rs.service === 'web'));
  });
});

describe('shardServable', () => {
  const svc = policy('nginx');
  const ok = shard('east', ['203.0.113.1']);
  test('true for a healthy, placed shard with endpoints and an address', () => assert.equal(shardServable(ok, east, svc), true));
  test('false for each missing condition', () => {
    assert.equal(shardServable({ ...ok, healthy: false }, east, svc), false);
    assert.equal(shardServable(ok, undefined, svc), false);
    assert.equal(shardServable(ok, { ...east, drained: true }, svc), false);
    assert.equal(shardServable({ ...ok, readyEndpoints: 0 }, east, svc), false);
    assert.equal(shardServable({ ...ok, addresses: [] }, east, svc), false);
    assert.equal(shardServable(ok, east, policy('nginx', 'prod', { clusters: ['west'] })), false);
  });
});

describe('one service at a time', () => {
  test('buildServiceRecordSets equals that service\'s part of buildRecordSets and ignores other shards', () => {
    const services = [policy('nginx'), policy('web'), policy('nginx', 'staging')];
    const shards = [
      shard('east', ['203.0.113.1']),
      shard('west', ['203.0.113.2'], { service: 'web' }),
      shard('west', ['203.0.113.3'], { namespace: 'staging' }),
    ];
    const whole = buildRecordSets({ federation, services, clusters: [east, west], shards });
    for (const s of services) {
      const one = buildServiceRecordSets(federation, s, [east, west], shards);
      assert.deepEqual(one, whole.filter((rs) => rs.service === s.name && rs.namespace === s.namespace));
    }
  });

  test('summarizeService says how the global name answers', () => {
    const s = (shards: Shard[], p = policy('nginx')) => summarizeService(federation, p, [east, west], shards);
    assert.deepEqual(s([shard('east', ['203.0.113.1'])]), { globalName: G, state: 'healthy', servableClusters: ['east'] });
    assert.equal(s([shard('east', ['203.0.113.1'], { healthy: false })]).state, 'fail-open');
    assert.equal(s([shard('east', ['203.0.113.1'], { healthy: false })], policy('nginx', 'prod', { failMode: 'closed' })).state, 'fail-closed');
    assert.equal(s([]).state, 'no-address');
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterTopology, RecordSet, ServicePolicy, Shard } from '@fedns/model';
import { addressFamily, compareAddresses, nameProblem } from '@fedns/model';
import fc from 'fast-check';
import type { CascadeInput } from '../src/index.js';
import { applyRecordSetDiff, buildRecordSets, buildServiceRecordSets, diffRecordSets } from '../src/index.js';
import { shuffled } from './helpers.js';

const CLUSTER_NAMES = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];
// Includes an unknown region (''), mixed case and labels that break DNS rules: the builder must cope.
const REGIONS = ['us-east1', 'europe-west1', 'Asia-East1', 'us-central1', 'mars-north1', '', 'bad_region'];
const ZONES = ['a', 'b', 'c', 'B', 'bad_zone', 'z'.repeat(63)];
// One zone leaves room; the long one makes region/zone names overflow 253 octets while global fits.
const FED_ZONES = ['example.com.', `${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(40)}.example.com.`];
const ADDRESSES = [
  '192.0.2.1', '192.0.2.10', '192.0.2.9', '198.51.100.7', '203.0.113.255',
  '2001:db8::1', '2001:DB8:0::1', '2001:db8::a', 'fe80::1', '::ffff:192.0.2.1', 'not-an-ip', '',
];
const SERVICE_KEYS: [string, string][] = [['nginx', 'prod'], ['web', 'prod'], ['nginx', 'dev'], ['api', 'shop']];

const clusterArb = (name: string): fc.Arbitrary<ClusterTopology> =>
  fc.record({
    region: fc.constantFrom(...REGIONS),
    zones: fc.uniqueArray(fc.constantFrom(...ZONES), { maxLength: 3 }),
    drained: fc.integer({ min: 0, max: 3 }).map((n) => n === 0), // one in four
    drainedZones: fc.subarray(ZONES, { maxLength: 2 }),
    location: fc.option(fc.record({ latitude: fc.integer({ min: -90, max: 90 }), longitude: fc.integer({ min: -180, max: 180 }) }), { freq: 3, nil: undefined }),
  }).map(({ location, ...c }) => ({ name, ...c, ...(location ? { location } : {}) }));

const inputArb: fc.Arbitrary<CascadeInput> = fc
  .record({
    fedZone: fc.constantFrom(...FED_ZONES),
    clusterNames: fc.subarray(CLUSTER_NAMES, { minLength: 1 }),
    serviceKeys: fc.subarray(SERVICE_KEYS, { minLength: 1 }),
  })
  .chain(({ fedZone, clusterNames, serviceKeys }) =>
    fc.record({
      federation: fc.constantFrom<CascadeInput['federation']>({ name: 'myfed', zone: fedZone }, { name: 'myfed', zone: fedZone, regionFallback: 'nearest' }, { name: 'myfed', zone: fedZone, regionFallback: 'global' }),
      clusters: fc.tuple(...clusterNames.map(clusterArb)),
      services: fc.tuple(
        ...serviceKeys.map(([name, namespace]) =>
          fc.record(
            {
              name: fc.constant(name),
              namespace: fc.constant(namespace),
              ttl: fc.integer({ min: 1, max: 300 }),
              failMode: fc.constantFrom('open' as const, 'closed' as const),
              minReadyEndpoints: fc.integer({ min: 1, max: 2 }),
              clusters: fc.subarray([...CLUSTER_NAMES, 'ghost']),
              weights: fc.dictionary(fc.constantFrom(...CLUSTER_NAMES), fc.integer({ min: 0, max: 4 }), { maxKeys: 4 }),
              routing: fc.constantFrom('all' as const, 'nearest' as const),
            },
            { requiredKeys: ['name', 'namespace', 'ttl', 'failMode', 'minReadyEndpoints'] },
          ),
        ),
      ),
      shards: fc.array(
        fc.record({
          cluster: fc.constantFrom(...CLUSTER_NAMES, 'ghost'),
          key: fc.constantFrom(...SERVICE_KEYS),
          addresses: fc.array(fc.constantFrom(...ADDRESSES), { maxLength: 4 }),
          readyEndpoints: fc.integer({ min: 0, max: 3 }),
          healthy: fc.boolean(),
        }).map(({ key, ...s }): Shard => ({ ...s, service: key[0], namespace: key[1] })),
        { maxLength: 30 },
      ),
    }),
  )
  .map((i) => ({ ...i, clusters: [...i.clusters], services: [...i.services] as ServicePolicy[] }));

/**
 * Inputs where traffic policy has something to do: valid regions with several clusters each, one
 * shard per cluster and service, mostly healthy, weights and routing; duplicate shards of a
 * cluster now and then (a member reporting twice), which must not make the output depend on order.
 */
const POLICY_REGIONS = ['us-east1', 'us-central1', 'europe-west1', 'asia-east1', 'mars-north1'];
const policyInputArb: fc.Arbitrary<CascadeInput> = fc
  .record({
    regions: fc.tuple(...CLUSTER_NAMES.map(() => fc.constantFrom(...POLICY_REGIONS))),
    fallback: fc.constantFrom(undefined, 'nearest' as const, 'global' as const),
    services: fc.uniqueArray(fc.constantFrom(...SERVICE_KEYS), { minLength: 1, maxLength: 3, selector: (k) => k.join('/') }),
    weights: fc.dictionary(fc.constantFrom(...CLUSTER_NAMES), fc.integer({ min: 0, max: 4 }), { maxKeys: 3 }),
    weighted: fc.boolean(),
    routing: fc.constantFrom('all' as const, 'nearest' as const),
    health: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 24, maxLength: 24 }),
    dup: fc.option(fc.constantFrom(...CLUSTER_NAMES), { nil: undefined }),
  })
  .map(({ regions, fallback, services, weights, weighted, routing, health, dup }): CascadeInput => {
    const clusters = CLUSTER_NAMES.map((name, i) => ({ name, region: regions[i] as string, zones: [`${regions[i]}-${i % 2 ? 'b' : 'a'}`] }));
    const shards: Shard[] = [];
    services.forEach(([service, namespace], si) => {
      CLUSTER_NAMES.forEach((cluster, ci) => {
        const healthy = (health[si * 6 + ci] ?? 0) < 8;
        shards.push({ cluster, service, namespace, addresses: [`192.0.2.${si * 10 + ci + 1}`, `2001:db8::${si * 10 + ci + 1}`], readyEndpoints: healthy ? 1 : 0, healthy });
        if (cluster === dup) shards.push({ cluster, service, namespace, addresses: [`198.51.100.${si * 10 + ci + 1}`], readyEndpoints: 1, healthy: true });
      });
    });
    return {
      federation: { name: 'myfed', zone: 'example.com.', ...(fallback ? { regionFallback: fallback } : {}) },
      clusters,
      services: services.map(([name, namespace]) => ({ name, namespace, ttl: 30, failMode: 'open' as const, minReadyEndpoints: 1, routing, ...(weighted ? { weights } : {}) })),
      shards,
    };
  });

const anyInputArb = fc.oneof(inputArb, policyInputArb);

const variantsUnion = (rs: RecordSet) => [...new Set(rs.policy?.variants.flatMap((v) => v.data))].sort(compareAddresses);

function byName(sets: readonly RecordSet[]): Map<string, RecordSet[]> {
  const map = new Map<string, RecordSet[]>();
  for (const rs of sets) map.set(rs.name, [...(map.get(rs.name) ?? []), rs]);
  return map;
}

const RUNS = { numRuns: 400 };

test('property: CNAME targets exist and every chain ends at A/AAAA/TXT within 3 hops', () => {
  fc.assert(
    fc.property(anyInputArb, (input) => {
      const names = byName(buildRecordSets(input));
      for (const start of names.keys()) {
        let name = start;
        for (let hop = 0; ; hop++) {
          const sets = names.get(name);
          assert.ok(sets, `CNAME target ${name} (from ${start}) does not exist`);
          const cname = sets.find((rs) => rs.type === 'CNAME');
          if (!cname) {
            assert.ok(sets.some((rs) => rs.type === 'A' || rs.type === 'AAAA' || rs.type === 'TXT'));
            break;
          }
          assert.ok(hop < 3, `chain from ${start} longer than 3 hops`);
          name = cname.data[0] ?? '';
        }
      }
    }),
    RUNS,
  );
});

test('property: a CNAME never shares its name; names are valid, absolute, lower-case; data well-formed', () => {
  fc.assert(
    fc.property(anyInputArb, (input) => {
      const out = buildRecordSets(input);
      const ttlOf = new Map(input.services.map((s) => [`${s.namespace}/${s.name}`, s.ttl]));
      for (const [name, sets] of byName(out)) {
        if (sets.some((rs) => rs.type === 'CNAME')) assert.equal(sets.length, 1, `${name} has a CNAME beside other data`);
        assert.equal(new Set(sets.map((rs) => rs.type)).size, sets.length, `${name} repeats a type`);
        assert.equal(nameProblem(name), undefined);
        assert.equal(name, name.toLowerCase());
        assert.ok(name.endsWith('.'));
      }
      for (const rs of out) {
        assert.equal(rs.ttl, ttlOf.get(`${rs.namespace}/${rs.service}`));
        assert.ok(rs.data.length > 0);
        if (rs.type === 'A' || rs.type === 'AAAA') {
          const family = rs.type === 'A' ? 4 : 6;
          assert.ok(rs.data.every((a) => addressFamily(a) === family), `${rs.name} ${rs.type} mixes families`);
          rs.data.forEach((a, i) => {
            assert.ok(i === 0 || compareAddresses(rs.data[i - 1] ?? '', a) < 0, 'sorted, unique');
          });
        }
        if (rs.level !== 'global') assert.ok(rs.region);
        if (rs.level === 'zone') assert.ok(rs.zone);
      }
    }),
    RUNS,
  );
});

test('property: traffic policy — variants add up to the data, weigh > 0, route only at the global name, as the service says', () => {
  fc.assert(
    fc.property(anyInputArb, (input) => {
      const svc = new Map(input.services.map((s) => [`${s.namespace}/${s.name}`, s]));
      for (const rs of buildRecordSets(input)) {
        const s = svc.get(`${rs.namespace}/${rs.service}`) as ServicePolicy;
        if (!rs.policy) continue;
        assert.ok(rs.type === 'A' || rs.type === 'AAAA', `${rs.name} ${rs.type} has a policy`);
        assert.ok(rs.policy.variants.length >= 2, 'a policy chooses between at least two shards');
        assert.deepEqual(variantsUnion(rs), rs.data, `${rs.name}: the data is the union of the variants`);
        assert.equal(Boolean(rs.policy.weighted), s.weights !== undefined);
        assert.equal(rs.policy.routing === 'nearest', rs.level === 'global' && s.routing === 'nearest');
        for (const v of rs.policy.variants) {
          assert.ok(v.weight > 0, `${v.cluster} of weight 0 published at ${rs.name}`);
          assert.equal(v.weight, s.weights?.[v.cluster] ?? 1);
        }
      }
    }),
    RUNS,
  );
});

test('property: with nearest fallback a region CNAME goes to another region with addresses, or to the global name', () => {
  fc.assert(
    fc.property(anyInputArb, (input) => {
      const out = buildRecordSets(input);
      const names = byName(out);
      for (const rs of out) {
        if (rs.type !== 'CNAME' || rs.level !== 'region') continue;
        const target = names.get(rs.data[0] ?? '') ?? [];
        const level = target[0]?.level;
        if (input.federation.regionFallback !== 'nearest') assert.equal(level, 'global');
        else if (level === 'region') {
          assert.notEqual(target[0]?.region, rs.region);
          assert.ok(target.some((t) => t.type === 'A' || t.type === 'AAAA'), `${rs.name} aliases to ${rs.data[0]}, which has no addresses`);
        } else assert.equal(level, 'global');
      }
    }),
    RUNS,
  );
});

test('property: zone addresses ⊆ region addresses ⊆ global addresses', () => {
  fc.assert(
    fc.property(anyInputArb, (input) => {
      const out = buildRecordSets(input);
      const names = byName(out);
      const addressesAt = (name: string) => new Set((names.get(name) ?? []).filter((rs) => rs.type === 'A' || rs.type === 'AAAA').flatMap((rs) => rs.data));
      for (const rs of out) {
        if (rs.type !== 'A' && rs.type !== 'AAAA') continue;
        const owner = out.filter((o) => o.namespace === rs.namespace && o.service === rs.service);
        const up = rs.level === 'zone'
          ? owner.find((o) => o.level === 'region' && o.region === rs.region)?.name
          : rs.level === 'region' ? owner.find((o) => o.level === 'global')?.name : undefined;
        if (!up) continue;
        const above = addressesAt(up);
        for (const a of rs.data) assert.ok(above.has(a), `${a} at ${rs.name} missing at ${up}`);
      }
    }),
    { numRuns: 200 },
  );
});

test('property: output is deterministic — shuffled input gives identical output', () => {
  fc.assert(
    fc.property(anyInputArb, fc.integer({ min: 1, max: 2 ** 31 - 1 }), (input, seed) => {
      const shuffledInput: CascadeInput = {
        federation: input.federation,
        services: shuffled(input.services, seed),
        clusters: shuffled(input.clusters, seed + 1).map((c) => ({ ...c, zones: shuffled(c.zones, seed + 2) })),
        shards: shuffled(input.shards, seed + 3).map((s) => ({ ...s, addresses: shuffled(s.addresses, seed + 4) })),
      };
      assert.deepEqual(buildRecordSets(shuffledInput), buildRecordSets(input));
    }),
    RUNS,
  );
});

test('property: per-service builds add up to the whole-zone build', () => {
  fc.assert(
    fc.property(anyInputArb, (input) => {
      const perService = input.services.flatMap((s) => buildServiceRecordSets(input.federation, s, input.clusters, input.shards));
      assert.deepEqual(diffRecordSets(perService, buildRecordSets(input)), { upserts: [], deletes: [] });
      assert.equal(perService.length, buildRecordSets(input).length);
    }),
    { numRuns: 200 },
  );
});

test('property: applying diff(current, desired) to current yields desired, and the diff is minimal', () => {
  // Two states of the same federation (same zone), as before and after any set of changes.
  const pairArb = fc.oneof(
    inputArb.chain((a) => inputArb.map((b): [CascadeInput, CascadeInput] => [a, { ...b, federation: a.federation }])),
    policyInputArb.chain((a) => policyInputArb.map((b): [CascadeInput, CascadeInput] => [a, { ...b, federation: a.federation }])),
  );
  fc.assert(
    fc.property(pairArb, ([before, after]) => {
      const current = buildRecordSets(before);
      const desired = buildRecordSets(after);
      const diff = diffRecordSets(current, desired);
      // Applied independently of the package's own helper, the way a store would.
      const key = (rs: RecordSet) => `${rs.name} ${rs.type}`;
      const state = new Map(current.map((rs) => [key(rs), rs]));
      for (const rs of diff.deletes) assert.ok(state.delete(key(rs)), 'delete of an RRset that does not exist');
      for (const rs of diff.upserts) state.set(key(rs), rs);
      assert.deepEqual(new Map([...state].sort()), new Map(desired.map((rs) => [key(rs), rs] as const).sort()));
      assert.deepEqual(applyRecordSetDiff(current, diff), desired);
      const currentByKey = new Map(current.map((rs) => [key(rs), rs]));
      for (const rs of diff.upserts) {
        const old = currentByKey.get(key(rs));
        assert.ok(!old || old.ttl !== rs.ttl || old.data.join() !== rs.data.join() || JSON.stringify(old.policy) !== JSON.stringify(rs.policy), `${key(rs)} unchanged but upserted`);
      }
      assert.deepEqual(diffRecordSets(desired, applyRecordSetDiff(current, diff)), { upserts: [], deletes: [] });
    }),
    RUNS,
  );
});

test('the generator reaches every shape the properties are about', () => {
  const seen = new Map<string, number>();
  const count = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);
  for (const input of [...fc.sample(inputArb, { numRuns: 2000, seed: 42 }), ...fc.sample(policyInputArb, { numRuns: 300, seed: 42 })]) {
    const out = buildRecordSets(input);
    const levelOf = new Map(out.map((rs) => [rs.name, rs.level]));
    for (const rs of out) {
      count(`${rs.level} ${rs.type}${rs.type === 'TXT' ? ` ${rs.data[0]}` : ''}`);
      if (rs.type === 'CNAME' && rs.level === 'region' && levelOf.get(rs.data[0] ?? '') === 'region') count('region CNAME to the nearest region');
      if (rs.policy?.weighted) count(`${rs.level} weighted`);
      if (rs.policy?.routing) count('global routed');
    }
    if (input.federation.zone !== 'example.com.' && input.clusters.some((c) => c.region !== '')) count('overlong names skipped');
  }
  const shapes = [...seen.keys()].sort();
  for (const expected of [
    'global A', 'global AAAA', 'global TXT fedns: no healthy shard (fail-closed)', 'global TXT fedns: no shard address known',
    'region A', 'region AAAA', 'region CNAME', 'zone A', 'zone AAAA', 'zone CNAME', 'overlong names skipped',
    'region CNAME to the nearest region', 'global weighted', 'region weighted', 'zone weighted', 'global routed',
  ]) {
    assert.ok((seen.get(expected) ?? 0) >= 3, `generator rarely produces "${expected}": ${shapes.map((k) => `${k} ${seen.get(k)}`).join(", ")}`);
  }
});

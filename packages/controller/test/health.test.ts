import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterCountsReady, judgeObservation, nextShardHealth, topologyFromNodes } from '../src/health.js';
import { countReadyEndpoints } from '../src/member.js';
import { desiredMemberService, memberDrift, mergeForReplace } from '../src/propagate.js';

const timing = { stabilizationMs: 1000, clusterGraceMs: 40000 };
const ok = { ok: true, message: '3 ready endpoint(s)' };
const bad = { ok: false, message: '0 ready endpoint(s), fewer than 1' };

test('judging an observation names the reason', () => {
  assert.deepEqual(judgeObservation({ serviceExists: false, addresses: [], readyEndpoints: 0 }, 1), { ok: false, message: 'service missing in the member cluster' });
  assert.equal(judgeObservation({ serviceExists: true, addresses: [], readyEndpoints: 3 }, 1).message, 'no load-balancer address yet');
  assert.equal(judgeObservation({ serviceExists: true, addresses: ['192.0.2.1'], readyEndpoints: 1 }, 2).ok, false);
  assert.equal(judgeObservation({ serviceExists: true, addresses: ['192.0.2.1'], readyEndpoints: 2 }, 2).ok, true);
});

test('a first healthy observation publishes at once; failure leaves at once', () => {
  const first = nextShardHealth(undefined, ok, 1000, timing).state;
  assert.equal(first.healthy, true);
  const failed = nextShardHealth(first, bad, 2000, timing).state;
  assert.equal(failed.healthy, false);
  assert.equal(failed.since, 2000);
});

test('a recovered shard waits out the stabilisation window', () => {
  const s0 = nextShardHealth(undefined, ok, 0, timing).state;
  const s1 = nextShardHealth(s0, bad, 100, timing).state;
  const r1 = nextShardHealth(s1, ok, 200, timing);
  assert.equal(r1.state.healthy, false);
  assert.equal(r1.recheckAt, 1200);
  const r2 = nextShardHealth(r1.state, ok, 700, timing);
  assert.equal(r2.state.healthy, false, 'still inside the window');
  // A relapse inside the window restarts it.
  const relapse = nextShardHealth(r2.state, bad, 800, timing).state;
  assert.equal(relapse.recoveringSince, undefined);
  const r3 = nextShardHealth(relapse, ok, 900, timing);
  assert.equal(r3.recheckAt, 1900);
  assert.equal(nextShardHealth(r3.state, ok, 1900, timing).state.healthy, true);
});

test('an unreachable cluster counts ready only within the grace period', () => {
  assert.equal(clusterCountsReady(undefined, false, 0, timing), false);
  assert.equal(clusterCountsReady(1000, false, 40999, timing), true);
  assert.equal(clusterCountsReady(1000, false, 41000, timing), false);
  assert.equal(clusterCountsReady(undefined, true, 0, timing), true);
});

test('topology comes from node labels, legacy labels as fallback', () => {
  assert.deepEqual(
    topologyFromNodes([
      { metadata: { labels: { 'topology.kubernetes.io/region': 'us-east1', 'topology.kubernetes.io/zone': 'us-east1-c' } } },
      { metadata: { labels: { 'failure-domain.beta.kubernetes.io/region': 'us-east1', 'failure-domain.beta.kubernetes.io/zone': 'us-east1-b' } } },
      { metadata: {} },
    ]),
    { region: 'us-east1', zones: ['us-east1-b', 'us-east1-c'] },
  );
});

test('ready endpoints: ready unset counts, not-ready does not, duplicates once', () => {
  const n = countReadyEndpoints([
    { addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }, { addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.3'], conditions: { ready: false } }] },
    { addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }] },
  ]);
  assert.equal(n, 2);
});

test('member copies: drift is detected and corrected without touching what the member owns', () => {
  const fed = { metadata: { name: 'nginx', namespace: 'default', labels: { run: 'nginx' } }, spec: { type: 'LoadBalancer', selector: { run: 'nginx' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }] } };
  const desired = desiredMemberService(fed, { federation: 'myfed', installationId: 'id-1' });
  assert.equal(desired.metadata?.labels?.['federation.fedns.io/managed'], 'true');
  assert.equal(desired.metadata?.labels?.['federation.fedns.io/federation'], 'myfed');
  assert.equal(desired.metadata?.annotations?.['federation.fedns.io/owner-id'], 'id-1');
  const live = { ...desired, spec: { ...desired.spec, clusterIP: '10.96.0.7', ports: [{ name: 'http', port: 8080, protocol: 'TCP', targetPort: 80 }] } };
  assert.match(memberDrift(live as never, desired) ?? '', /ports/);
  const fixed = mergeForReplace(live as never, desired);
  assert.equal(fixed.spec?.clusterIP, '10.96.0.7');
  assert.equal(memberDrift(fixed, desired), undefined);
  const unlabelled = { ...desired, metadata: { ...desired.metadata, labels: { run: 'nginx' } } };
  assert.match(memberDrift(unlabelled, desired) ?? '', /federation.fedns.io\/managed/);
});

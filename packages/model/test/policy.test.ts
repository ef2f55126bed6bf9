import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANNOTATIONS, locationProblem, parseProbeTarget, parseWeights, policyFromService, policyProblems, topologyFromCluster } from '../src/index.js';

const problems = (annotations: Record<string, string>, clusters?: string[]) => policyProblems({ name: 'web', namespace: 'prod', annotations }, clusters).map((p) => `${p.field}=${p.value}: ${p.message}`);

describe('traffic policy annotations (issue 14)', () => {
  test('weights: CLUSTER=WEIGHT pairs, whole numbers 0-1000, each cluster once, members only', () => {
    assert.deepEqual(parseWeights('gce-us-east1b=1, gce-us-central1a=3'), { ok: true, value: { 'gce-us-east1b': 1, 'gce-us-central1a': 3 } });
    assert.deepEqual(problems({ [ANNOTATIONS.weights]: 'a=1,b=3' }, ['a', 'b']), []);
    for (const [bad, why] of [
      ['a', /"a" is not CLUSTER=WEIGHT/],
      ['a=-1', /weight of a must be a whole number from 0 to 1000, got "-1"/],
      ['a=1.5', /whole number/],
      ['a=1001', /from 0 to 1000/],
      ['a=1,a=2', /cluster a is given twice/],
      [' , ', /names no cluster/],
    ] as const) {
      const p = problems({ [ANNOTATIONS.weights]: bad }, ['a']);
      assert.equal(p.length, 1, bad);
      assert.match(p[0] ?? '', why);
      assert.match(p[0] ?? '', /^metadata\.annotations\[federation\.fedns\.io\/weights\]/);
    }
    assert.match(problems({ [ANNOTATIONS.weights]: 'a=1,ghost=2' }, ['a'])[0] ?? '', /=ghost: names no member cluster/);
  });

  test('routing: all or nearest', () => {
    assert.deepEqual(problems({ [ANNOTATIONS.routing]: 'nearest' }), []);
    assert.match(problems({ [ANNOTATIONS.routing]: 'closest' })[0] ?? '', /must be "all" or "nearest", got "closest"/);
    assert.equal(policyFromService({ annotations: { [ANNOTATIONS.routing]: 'nearest' } }).routing, 'nearest');
  });

  test('probe: tcp:PORT, http(s):PORT/PATH, with interval, timeout and thresholds in range', () => {
    assert.deepEqual(parseProbeTarget('tcp:443'), { ok: true, value: { protocol: 'tcp', port: 443 } });
    assert.deepEqual(parseProbeTarget('http:80/healthz'), { ok: true, value: { protocol: 'http', port: 80, path: '/healthz' } });
    assert.deepEqual(parseProbeTarget('https:8443'), { ok: true, value: { protocol: 'https', port: 8443, path: '/' } });
    const p = policyFromService({ annotations: { [ANNOTATIONS.probe]: 'http:80/healthz', [ANNOTATIONS.probeInterval]: '2s', [ANNOTATIONS.probeTimeout]: '500ms', [ANNOTATIONS.probeFailureThreshold]: '2' } });
    assert.deepEqual(p.probe, { protocol: 'http', port: 80, path: '/healthz', intervalMs: 2000, timeoutMs: 500, failureThreshold: 2, successThreshold: 1 });
    assert.deepEqual(policyFromService({ annotations: { [ANNOTATIONS.probe]: 'tcp:443' } }).probe, { protocol: 'tcp', port: 443, intervalMs: 10000, timeoutMs: 2000, failureThreshold: 3, successThreshold: 1 });
    for (const [annotations, why] of [
      [{ [ANNOTATIONS.probe]: 'udp:53' }, /is not a probe \(want tcp:PORT/],
      [{ [ANNOTATIONS.probe]: 'tcp:0' }, /port 0 of "tcp:0" is out of range/],
      [{ [ANNOTATIONS.probe]: 'tcp:443/x' }, /a tcp probe has no path/],
      [{ [ANNOTATIONS.probe]: 'tcp:443', [ANNOTATIONS.probeInterval]: 'soon' }, /probe-interval\]=soon: "soon" is not a duration/],
      [{ [ANNOTATIONS.probe]: 'tcp:443', [ANNOTATIONS.probeInterval]: '500ms' }, /must be from 1 s to 300 s/],
      [{ [ANNOTATIONS.probe]: 'tcp:443', [ANNOTATIONS.probeInterval]: '2s', [ANNOTATIONS.probeTimeout]: '3s' }, /probe-timeout\]=3s: must not be longer than the interval \(2 s\)/],
      [{ [ANNOTATIONS.probe]: 'tcp:443', [ANNOTATIONS.probeFailureThreshold]: '0' }, /must be a whole number from 1 to 10, got "0"/],
      [{ [ANNOTATIONS.probeInterval]: '5s' }, /only means something with federation\.fedns\.io\/probe/],
    ] as const) {
      const p = problems(annotations);
      assert.equal(p.length, 1, JSON.stringify(annotations));
      assert.match(p[0] ?? '', why);
    }
    // A service with a bad probe gets no probe (the API refuses it; a stored one is never half-read).
    assert.equal(policyFromService({ annotations: { [ANNOTATIONS.probe]: 'tcp:443', [ANNOTATIONS.probeFailureThreshold]: '99' } }).probe, undefined);
  });

  test('Cluster spec.location: latitude and longitude in degrees; topology carries it', () => {
    assert.equal(locationProblem({ latitude: 50.4, longitude: 3.8 }), undefined);
    assert.deepEqual(locationProblem({ latitude: 91, longitude: 0 }), { field: 'latitude', message: 'must be a number of degrees from -90 to 90' });
    assert.deepEqual(locationProblem({ latitude: 1, longitude: '2' }), { field: 'longitude', message: 'must be a number of degrees from -180 to 180' });
    assert.equal(locationProblem('Paris')?.field, '');
    assert.deepEqual(topologyFromCluster({ metadata: { name: 'c' }, spec: { region: 'r', location: { latitude: 1, longitude: 2 } } }).location, { latitude: 1, longitude: 2 });
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClusterTopology } from '@fedns/model';
import { buildRecordSets, serviceNameProblems, serviceNames } from '../src/index.js';
import { loadSeed, policy } from './helpers.js';

const c1: ClusterTopology = { name: 'c1', region: 'us-east1', zones: ['us-east1-b'] };
const clusters: ClusterTopology[] = [c1];

/** A federation zone padded so that the service's longest name (its zone name) is exactly `octets` long. */
function zonePaddedTo(octets: number): string {
  const fixed = 'nginx.prod.myfed.svc.us-east1-b.us-east1.'.length + `${'b'.repeat(63)}.`.length * 3 + 'example.com'.length;
  const pad = octets - fixed - 1; // minus the dot after the pad label
  assert.ok(pad >= 1 && pad <= 63, `pad label length ${pad}`);
  return `${'a'.repeat(pad)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.example.com.`;
}

describe('serviceNameProblems (rule 7)', () => {
  test('fine names give no problems', () => {
    assert.deepEqual(serviceNameProblems({ name: 'myfed', zone: 'example.com.' }, 'prod', 'nginx', clusters), []);
    const seed = loadSeed();
    assert.deepEqual(serviceNameProblems({ name: seed.federation, zone: seed.zone }, 'default', 'nginx', seed.clusters), []);
  });

  test('a longest name of exactly 253 octets passes, and is published', () => {
    const federation = { name: 'myfed', zone: zonePaddedTo(253) };
    const longest = serviceNames(federation, 'prod', 'nginx', clusters).reduce((a, b) => (b.length > a.length ? b : a));
    assert.equal(longest.length - 1, 253);
    assert.deepEqual(serviceNameProblems(federation, 'prod', 'nginx', clusters), []);
    const out = buildRecordSets({ federation, services: [policy('nginx')], clusters, shards: [] });
    assert.ok(out.some((rs) => rs.name === longest));
  });

  test('254 octets fails with a message naming the name', () => {
    const federation = { name: 'myfed', zone: zonePaddedTo(254) };
    const problems = serviceNameProblems(federation, 'prod', 'nginx', clusters);
    assert.equal(problems.length, 1);
    const longest = serviceNames(federation, 'prod', 'nginx', clusters).reduce((a, b) => (b.length > a.length ? b : a));
    assert.equal(problems[0], `name "${longest}" is 254 octets, longer than 253`);
    // The builder never publishes the oversized name, and keeps the chain whole without it.
    const out = buildRecordSets({ federation, services: [policy('nginx')], clusters, shards: [] });
    assert.ok(!out.some((rs) => rs.name === longest));
    assert.equal(out.length, 2);
  });

  test('a 64-octet label fails, reported once however many names contain it', () => {
    const name = 'n'.repeat(64);
    const seed = loadSeed();
    const problems = serviceNameProblems({ name: 'myfed', zone: 'example.com.' }, 'prod', name, seed.clusters);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', new RegExp(`service label "${name}" of "${name}\\.prod\\.myfed\\.svc\\.example\\.com\\." is 64 octets, longer than 63`));
    const topo = serviceNameProblems({ name: 'myfed', zone: 'example.com.' }, 'prod', 'nginx', [{ name: 'c', region: 'r'.repeat(64), zones: ['z'] }]);
    assert.equal(topo.length, 1);
    assert.match(topo[0] ?? '', /label "r{64}" of "nginx\.prod\.myfed\.svc\.r{64}\.example\.com\." is 64 octets, longer than 63/);
  });

  test('upper case and underscores fail', () => {
    const fed = { name: 'myfed', zone: 'example.com.' };
    const upper = serviceNameProblems(fed, 'prod', 'Nginx', clusters);
    assert.equal(upper.length, 1);
    assert.match(upper[0] ?? '', /service label "Nginx"/);
    assert.match(serviceNameProblems(fed, 'prod', 'my_svc', clusters)[0] ?? '', /service label "my_svc" .*lower-case alphanumerics/);
    assert.match(serviceNameProblems(fed, 'Prod', 'nginx', clusters)[0] ?? '', /namespace label "Prod"/);
    assert.match(serviceNameProblems(fed, 'prod', 'nginx', [{ name: 'c', region: 'us_east1', zones: [] }])[0] ?? '', /label "us_east1" of "nginx\.prod\.myfed\.svc\.us_east1\.example\.com\."/);
  });

  test('every problem is listed: an overlong name and a bad label together', () => {
    const fed = { name: 'myfed', zone: zonePaddedTo(254) };
    const problems = serviceNameProblems(fed, 'prod', 'nginx', [{ ...c1, zones: ['us-east1-b', 'bad_zone'] }]);
    // The us-east1-b name is 254 octets; the bad_zone name (252) fits but its label is invalid.
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0] ?? '', /is 254 octets, longer than 253/);
    assert.match(problems[1] ?? '', /label "bad_zone" of "nginx\.prod\.myfed\.svc\.bad_zone\./);
  });
});

/**
 * The plugin's pure parts: its command line, the terminal output of status, history and a
 * cascade, and the member kubeconfig join sends (one context, files inlined, plugins refused).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { formatCascade, formatHistory, formatPolicyHistory, formatStatus, memberKubeconfig, parseArgs, rollbackPatch, run, table, UsageError } from '../src/index.js';

describe('parseArgs', () => {
  it('takes kubectl-style flags in any position', () => {
    const a = parseArgs(['drain', '--context=fed', 'c1', '--zones', 'a,b', '-ojson']);
    assert.equal(a.command, 'drain');
    assert.deepEqual(a.positional, ['c1']);
    assert.deepEqual(a.flags, { context: 'fed', zones: 'a,b', output: 'json' });
    assert.equal(parseArgs(['status', '-o', 'yaml']).flags.output, 'yaml');
    assert.equal(parseArgs(['-h']).help, true);
  });
  it('refuses unknown flags, missing values and unknown output formats', () => {
    assert.throws(() => parseArgs(['status', '--bogus']), (e: Error) => e instanceof UsageError && e.message === 'unknown flag: --bogus');
    assert.throws(() => parseArgs(['status', '--context']), /flag needs an argument: --context/);
    assert.throws(() => parseArgs(['status', '-o', 'wide']), /unsupported output format "wide"/);
  });
  it('run: usage errors exit 2, with one line', async () => {
    const err: string[] = [];
    const code = await run(['nope'], { out: () => {}, err: (s) => err.push(s), width: 0 });
    assert.equal(code, 2);
    assert.equal(err.length, 1);
    assert.match(err[0] as string, /^error: unknown command "nope"/);
  });
});

describe('output', () => {
  it('table: aligned columns, empty cells as -, the last column cut to the width', () => {
    assert.equal(table(['a', 'bb'], [['x', ''], ['yyyy', 'z']]), 'A      BB\nx      -\nyyyy   z');
    assert.equal(table(['a', 'b'], [['x', 'a very long message indeed']], 20), 'A   B\nx   a very long mes…');
  });

  it('status: one row per cluster and zone, drains by zone, problem services listed', () => {
    const out = formatStatus({
      metadata: { name: 'fed' },
      spec: { zone: 'example.com.' },
      status: {
        soaSerial: 7,
        clusterCounts: { total: 2, ready: 1, reachable: 1, drained: 1 },
        clusters: [
          { name: 'c1', region: 'r1', zones: ['a', 'b'], ready: 'True', reachable: 'True', drained: false, drainedZones: ['b'], message: '' },
          { name: 'c2', region: 'r2', zones: ['c'], ready: 'False', reachable: 'False', drained: true, drainedZones: [], message: 'not answering' },
        ],
        regions: [
          { name: 'r1', zones: [{ name: 'a', clusters: ['c1'] }, { name: 'b', clusters: ['c1'] }] },
          { name: 'r2', zones: [{ name: 'c', clusters: ['c2'] }] },
        ],
        serviceCounts: { total: 3, HealthyShards: 2, FailOpen: 1 },
        problemServices: [{ namespace: 'default', name: 'web', state: 'FailOpen', message: '0/2 shards healthy' }],
      },
    });
    assert.match(out, /^Federation fed, zone example\.com\., serial 7\n\nClusters: 2 \(1 ready, 1 reachable, 1 with a drain\)\n/);
    assert.match(out, /r1 +a +c1 +True +True +no +-\n/);
    assert.match(out, /r1 +b +c1 +True +True +zone +-\n/);
    assert.match(out, /r2 +c +c2 +False +False +cluster +not answering\n/);
    assert.match(out, /Services: 3 \(2 HealthyShards, 1 FailOpen, 0 FailClosed, 0 WaitingForClusters, 0 Unknown\)\nSTATE +SERVICE +MESSAGE\nFailOpen +default\/web +0\/2 shards healthy$/);
  });

  it('history: oldest first, record changes under their commit', () => {
    const out = formatHistory('default/web', [
      { kind: 'ZoneChange', time: '2026-01-01T00:00:02Z', serial: 2, cause: 'cluster c1 drained by alice', users: ['alice'], changes: [{ op: 'replace', name: 'w.example.com.', type: 'A', data: ['1.1.1.1'], ttl: 30, oldData: ['1.1.1.1', '2.2.2.2'], oldTtl: 30 }] },
      { kind: 'ObjectChange', time: '2026-01-01T00:00:01Z', resourceVersion: '5', type: 'ADDED', user: 'bob', cause: 'service created by bob' },
    ]);
    assert.equal(
      out,
      [
        'TIME                   CHANGE       USER    CAUSE',
        '2026-01-01T00:00:01Z   added rv 5   bob     service created by bob',
        '2026-01-01T00:00:02Z   serial 2     alice   cluster c1 drained by alice',
        '    ~ w.example.com. A 1.1.1.1, 2.2.2.2 (ttl 30) → 1.1.1.1 (ttl 30)',
      ].join('\n'),
    );
    assert.equal(formatHistory('default/x', []), 'no history kept for service default/x');
  });

  it('cascade: a tree of names with their answers and reasons', () => {
    const node = (name: string, level: 'global' | 'region' | 'zone', data: string, children: never[] = []) => ({ name, level, answer: [{ type: 'A' as const, data: [data], ttl: 30 }], reason: `why ${name}`, shards: [], children });
    const out = formatCascade('default/web', { ...node('g.', 'global', '1.1.1.1'), children: [{ ...node('r.', 'region', '1.1.1.1'), children: [node('z.', 'zone', '1.1.1.1')] }] as never[] });
    assert.equal(out, ['service default/web', 'g. [global] A 1.1.1.1', '   why: why g.', '└─ r. [region] A 1.1.1.1', '      why: why r.', '   └─ z. [zone] A 1.1.1.1', '         why: why z.'].join('\n'));
    assert.equal(formatCascade('default/web', undefined), 'service default/web has no published names yet');
  });
});

describe('memberKubeconfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plugin-join-'));
  const pem = (label: string) => `-----BEGIN ${label}-----\n${Buffer.from(`0${'x'.repeat(40)}`).toString('base64').replace(/^./, 'M')}\n-----END ${label}-----\n`;
  writeFileSync(join(dir, 'ca.crt'), pem('CERTIFICATE'));
  writeFileSync(join(dir, 'token'), 'secret-token\n');
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'm', cluster: { server: 'https://203.0.113.5:6443', 'certificate-authority': 'ca.crt' } },
      { name: 'other', cluster: { server: 'https://198.51.100.1' } },
    ],
    users: [
      { name: 'u', user: { 'token-file': join(dir, 'token') } },
      { name: 'x', user: { exec: { command: 'aws' } } },
    ],
    contexts: [
      { name: 'm', context: { cluster: 'm', user: 'u' } },
      { name: 'x', context: { cluster: 'other', user: 'x' } },
    ],
    'current-context': 'x',
  };
  const file = join(dir, 'member.yaml');
  writeFileSync(file, stringify(doc));

  it('keeps one context and inlines the files it names', () => {
    const out = JSON.parse(memberKubeconfig(stringify(doc), file, 'm'));
    assert.deepEqual(out.contexts.map((c: { name: string }) => c.name), ['m']);
    assert.equal(out.clusters[0].cluster['certificate-authority'], undefined);
    assert.equal(Buffer.from(out.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), pem('CERTIFICATE'));
    assert.deepEqual(out.users[0].user, { token: 'secret-token' });
  });

  it('refuses what cannot be inlined, and unknown contexts', () => {
    assert.throws(() => memberKubeconfig(stringify(doc), file), /user\.exec: the federation cannot run credential plugins/);
    assert.throws(() => memberKubeconfig(stringify(doc), file, 'nope'), /context "nope" names no context/);
  });
});

describe('policy (issue 14)', () => {
  const history: Parameters<typeof formatPolicyHistory>[1] = {
    items: [
      { version: 1, resourceVersion: '10', time: '2026-01-01T00:00:00Z', user: 'alice', type: 'ADDED', policy: { 'federation.fedns.io/weights': 'a=1,b=3' }, changes: [{ key: 'federation.fedns.io/weights', to: 'a=1,b=3' }] },
      { version: 2, resourceVersion: '12', time: '2026-01-02T00:00:00Z', user: 'bob', type: 'MODIFIED', policy: { 'federation.fedns.io/routing': 'nearest' }, changes: [{ key: 'federation.fedns.io/weights', from: 'a=1,b=3' }, { key: 'federation.fedns.io/routing', to: 'nearest' }] },
    ],
    drains: [{ time: '2026-01-03T00:00:00Z', user: 'carol', cluster: 'a', change: 'drained (spec.drained: true)' }],
  };
  it('history: a version per line with who and what changed from what; drains after', () => {
    assert.equal(
      formatPolicyHistory('prod/web', history),
      [
        'VERSION   TIME                   USER    CHANGE',
        '1         2026-01-01T00:00:00Z   alice   weights: (unset) → "a=1,b=3"',
        '2         2026-01-02T00:00:00Z   bob     weights: "a=1,b=3" → (unset); routing: (unset) → "nearest"',
        '',
        'drains of its clusters (cluster-wide; not rolled back with the service):',
        '  2026-01-03T00:00:00Z  a drained (spec.drained: true) by carol',
      ].join('\n'),
    );
    assert.equal(formatPolicyHistory('prod/web', { items: [], drains: [] }), 'no policy history kept for service prod/web');
  });
  it('rollback: sets what differs, removes what the version did not have, leaves the rest', () => {
    const keys = ['federation.fedns.io/weights', 'federation.fedns.io/routing', 'federation.fedns.io/ttl'];
    assert.deepEqual(rollbackPatch({ 'federation.fedns.io/routing': 'nearest', 'federation.fedns.io/ttl': '60' }, { 'federation.fedns.io/weights': 'a=1,b=3', 'federation.fedns.io/ttl': '60' }, keys), {
      'federation.fedns.io/weights': 'a=1,b=3',
      'federation.fedns.io/routing': null,
    });
    assert.deepEqual(rollbackPatch({ 'federation.fedns.io/ttl': '60' }, { 'federation.fedns.io/ttl': '60' }, keys), {});
  });
  it('usage: a subcommand, one service, --to a version number', async () => {
    for (const [argv, want] of [
      [['policy'], /policy takes history or rollback/],
      [['policy', 'undo', 'prod/web'], /policy takes history or rollback .*not "undo"/],
      [['policy', 'rollback', 'prod/web'], /policy rollback needs --to N/],
      [['policy', 'rollback', 'prod/web', '--to', 'two'], /--to must be a version number, got "two"/],
      [['policy', 'history'], /policy history takes one NAMESPACE\/SERVICE/],
    ] as const) {
      const err: string[] = [];
      assert.equal(await run([...argv], { out: () => {}, err: (s) => err.push(s), width: 0 }), 2, argv.join(' '));
      assert.match(err[0] ?? '', want);
    }
  });
});

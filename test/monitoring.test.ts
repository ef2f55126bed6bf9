/**
 * Issue 13: the alerting rules and the Grafana dashboard in deploy/monitoring.
 * `promtool check rules` and `promtool test rules` pass, and every metric the
 * rules and the dashboard name is one fedns exports: scraped from a running
 * `fedns demo` after some activity (a service, its shards, queries, API calls),
 * histograms through their _bucket/_sum/_count series. The leader-election
 * series appear only where controllers elect a leader (a PostgreSQL store,
 * which no test runs yet): they are read from the LeaderElector's own
 * registration. Names from other exporters must be listed in EXTERNAL.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { dnssecMetrics, LeaderElector } from '@fedns/controller';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { dig, type FednsProcess, freePort, kubeRequest, openTestStore, ROOT, spawnFedns, tempDir, waitFor, waitDemoUp } from './helpers.js';

const execFileP = promisify(execFile);
const DIR = join(ROOT, 'deploy/monitoring');
const RULES = join(DIR, 'fedns-rules.yaml');
const DASHBOARD = join(DIR, 'fedns-dashboard.json');
/** Series that come from other exporters, and which. */
const EXTERNAL: Record<string, string> = { probe_dns_serial: 'blackbox_exporter DNS prober (SOA serial of each secondary)' };
/** Exported only by controllers that elect a leader (PostgreSQL): packages/controller/src/leader.ts. */
const LEADER_ONLY = ['fedns_leader', 'fedns_leader_epoch', 'fedns_leader_transitions_total'];

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression selects (functions, keywords, label names, durations and strings left out). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+|\$\{[^}]*\}/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?/g)) {
    const [, name = '', call] = m;
    if (call || PROMQL_WORDS.has(name.toLowerCase()) || /^\d/.test(name)) continue;
    // A number like 1e9 or a duration unit after a number is not a name.
    if (/[0-9.]$/.test(stripped.slice(0, m.index ?? 0))) continue;
    names.add(name);
  }
  return [...names];
}

function ruleExprs(): { where: string; expr: string }[] {
  const doc = parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: String(r.expr) })));
}

function dashboardExprs(): { where: string; expr: string }[] {
  const doc = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[]; templating: { list: { name: string; definition?: string }[] } };
  return [
    ...doc.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
    ...doc.templating.list.filter((v) => v.definition).map((v) => ({ where: `variable ${v.name}`, expr: (v.definition as string).replace(/^label_values\((.*),\s*\w+\)$/, '$1') })),
  ];
}

const dataDir = tempDir('fedns-metrics-');
let demo: FednsProcess;
let scraped = '';

before(async () => {
  const scenario = join(dataDir, 'scenario.yaml');
  writeFileSync(scenario, 'federation: mon\nzone: example.com.\nclusters:\n  - { name: m1, region: r1, zones: [r1-a], lbPool: 198.51.100.0/28 }\n');
  const dnsPort = await freePort();
  const apiPort = await freePort();
  demo = spawnFedns(['demo', '--scenario', scenario, '--data-dir', dataDir, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--stabilization', '0s', '--log-level', 'warn']);
  await waitDemoUp(demo);
  // Some activity: a service through the API, a ready pod in the member, DNS queries.
  const kubeconfig = join(dataDir, 'kubeconfig');
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] } };
  assert.equal((await kubeRequest(kubeconfig, '/api/v1/namespaces/default/services', { method: 'POST', body: svc })).status, 201);
  const kc = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { name: string; cluster: { server: string } }[] };
  const m1 = kc.clusters.find((c) => c.name === 'm1')?.cluster.server;
  await fetch(`${m1}/sim/pods/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ namespace: 'default', labels: { app: 'web' }, count: 1, ready: true }) });
  await waitFor('web answering', async () => (await dig(dnsPort, 'web.default.mon.svc.example.com.')).answer.length > 0, 20000);
  await dig(dnsPort, 'nope.example.com.');
  scraped = (await kubeRequest(kubeconfig, '/metrics')).text;
});

after(async () => {
  await demo?.stop();
});

test('promtool check rules and promtool test rules pass', async () => {
  const check = await execFileP('promtool', ['check', 'rules', RULES]);
  assert.match(check.stdout, /SUCCESS: \d+ rules found/);
  const unit = await execFileP('promtool', ['test', 'rules', join(DIR, 'fedns-rules.test.yaml')]);
  assert.match(`${unit.stdout}${unit.stderr}`, /SUCCESS/);
});

test('metricNames finds the selected series only', () => {
  assert.deepEqual(
    metricNames('sum by (cluster) (increase(fedns_x_total{a="b",c=~"d"}[5m])) / on() group_left scalar(max(fedns_y)) > 0 < 2147483648 and on() (time() - probe_z offset 5m > 1e9)').sort(),
    ['fedns_x_total', 'fedns_y', 'probe_z'],
  );
});

test('every metric the rules and the dashboard use is exported by a running fedns', async () => {
  const exported = new Map<string, string>();
  for (const m of scraped.matchAll(/^# TYPE (\S+) (\S+)$/gm)) exported.set(m[1] as string, m[2] as string);
  assert.ok(exported.size > 20, 'the scrape has fedns metrics');
  // The leader-election series, as a controller that elects a leader registers them.
  const store = await openTestStore(dataDir, { readonly: true });
  const registry = new Registry();
  new LeaderElector({ store, lease: 'fedns-controller', identity: 'test', registry, onStartedLeading: async () => {}, onStoppedLeading: async () => {} });
  const leaderSeries = (await registry.getMetricsAsJSON()).map((m) => m.name);
  await store.close();
  assert.deepEqual(leaderSeries.sort(), [...LEADER_ONLY].sort());
  // The signing series, as a zone writer with --dnssec registers them.
  const signing = new Registry();
  dnssecMetrics(signing);
  const signingSeries = new Set((await signing.getMetricsAsJSON()).map((m) => m.name));

  const used = [...ruleExprs(), ...dashboardExprs()];
  assert.ok(used.length > 40, `rules and panels read: ${used.length}`);
  const missing: string[] = [];
  const seen = new Set<string>();
  for (const { where, expr } of used) {
    for (const name of metricNames(expr)) {
      seen.add(name);
      if (EXTERNAL[name]) continue;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const ok = exported.has(name) || (base !== name && exported.get(base) === 'histogram') || LEADER_ONLY.includes(name) || signingSeries.has(name) || signingSeries.has(base);
      if (!ok) missing.push(`${where}: ${name}`);
    }
  }
  assert.deepEqual(missing, [], 'metrics named in deploy/monitoring that no fedns process exports');
  for (const name of seen) assert.ok(name.startsWith('fedns_') || EXTERNAL[name], `${name} is neither fedns's nor a listed external series`);
  // The rules cover what issue 13 asks for.
  for (const m of ['fedns_cluster_reachable', 'fedns_shard_transitions_total', 'fedns_propagation_failures_total', 'fedns_dns_zone_serial', 'fedns_services_without_healthy_shard', 'fedns_zone_commit_duration_seconds_bucket', 'fedns_leader', 'fedns_dnssec_earliest_expiry_days']) {
    assert.ok(ruleExprs().some((r) => metricNames(r.expr).includes(m)), `an alert on ${m}`);
  }
});

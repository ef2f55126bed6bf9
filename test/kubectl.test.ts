/**
 * Issue 4 end to end: the real kubectl (no extra flags) against `fedns demo`
 * over a small simulated federation — every everyday verb, watch, tables,
 * server-side apply, errors as Status, tokens (admin, read-only, wrong).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CONTROLLER_ACTOR } from '@fedns/store';
import { parse } from 'yaml';
import { type FednsProcess, freePort, kubeRequest, SHARED, spawnFedns, tempDir, waitFor, openTestStore, waitDemoUp } from './helpers.js';

const dataDir = tempDir('fedns-kubectl-');
const kubeconfig = join(dataDir, 'kubeconfig');
const NGINX = join(SHARED, 'scenarios/nginx.yaml');
let demo: FednsProcess;
let adminToken = '';
let viewerToken = '';

// c3's long region and zone make the zone-level names of long service names overflow 253 octets.
const LONG_REGION = `region-${'x'.repeat(50)}`;
const SCENARIO = `federation: kt
zone: example.com.
clusters:
  - { name: c1, region: r1, zones: [r1-a], lbPool: 198.51.100.0/28 }
  - { name: c2, region: r1, zones: [r1-b], lbPool: 198.51.100.16/28 }
  - { name: c3, region: ${LONG_REGION}, zones: [${LONG_REGION}-a], lbPool: 198.51.100.32/28 }
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** kubectl against the demo's kubeconfig, context federation-cluster (its current context). */
function kubectl(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
const ok = async (...args: string[]) => {
  const r = await kubectl(args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const json = async (...args: string[]) => JSON.parse(await ok(...args, '-o', 'json'));
const rvOf = async (kind: string, name: string) => (await json('get', kind, name)).metadata.resourceVersion as string;
/** Waits until the controller has written a service's status (every shard's ingress) and left it alone. */
async function settled(name: string): Promise<void> {
  let last = '';
  await waitFor(`${name} to settle`, async () => {
    const svc = await json('get', 'service', name);
    const rv = svc.metadata.resourceVersion as string;
    const done = svc.status?.loadBalancer?.ingress?.length === 3 && rv === last;
    last = rv;
    return done;
  }, 15000, 400);
}
const file = (name: string, text: string) => {
  const p = join(dataDir, name);
  writeFileSync(p, text);
  return p;
};
const WEB = `apiVersion: v1
kind: Service
metadata:
  name: web
  labels: { app: web }
spec:
  type: LoadBalancer
  selector: { app: web }
  ports:
    - name: http
      port: 80
`;

before(async () => {
  const scenario = file('scenario.yaml', SCENARIO);
  const apiPort = await freePort();
  const dnsPort = await freePort();
  demo = spawnFedns(['demo', '--scenario', scenario, '--data-dir', dataDir, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--stabilization', '0s', '--log-level', 'warn']);
  await waitDemoUp(demo);
  const kc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { name: string; user: { token?: string } }[]; clusters: { name: string; cluster: Record<string, string> }[] };
  adminToken = kc.users.find((u) => u.name === 'federation-cluster')?.user.token ?? '';
  assert.ok(adminToken, 'fedns demo writes its admin token into the federation-cluster context');
  const fed = kc.clusters.find((c) => c.name === 'federation-cluster')?.cluster;
  assert.match(fed?.server ?? '', /^https:\/\/127\.0\.0\.1:/, 'the demo serves the API over HTTPS (kubectl sends tokens over HTTPS only)');
  assert.ok(fed?.['certificate-authority-data'], 'and trusts its certificate in the kubeconfig');
  const tokens = readFileSync(join(dataDir, 'tokens.csv'), 'utf8');
  viewerToken = /^([^,#\s]+),demo-viewer,/m.exec(tokens)?.[1] ?? '';
  assert.ok(viewerToken);
});

after(async () => {
  await demo?.stop();
});

test('discovery, version and OpenAPI: kubectl sees the federation API', async () => {
  const v = JSON.parse(await ok('version', '-o', 'json'));
  assert.match(v.serverVersion.gitVersion, /^v1\.\d+/);
  const ar = await ok('api-resources');
  assert.match(ar, /^services\s+svc\s+v1\s+true\s+Service$/m);
  assert.match(ar, /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m);
  assert.match(ar, /^clusters\s+fc\s+federation\.fedns\.io\/v1\s+false\s+Cluster$/m);
  assert.match(ar, /^dnsrecordsets\s+drs\s+federation\.fedns\.io\/v1\s+false\s+DNSRecordSet$/m);
  const explain = await ok('explain', 'clusters.spec');
  assert.match(explain, /drainedZones/);
});

test('create -f nginx.yaml with validation on; get shows the union of shard ingress; describe lists it', async () => {
  const c = await kubectl(['create', '-f', NGINX]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout.trim(), 'service/nginx created');
  const out = await waitFor('three shard addresses in EXTERNAL-IP', async () => {
    const r = await ok('get', 'services', 'nginx');
    return (r.match(/198\.51\.100\.\d+/g) ?? []).length === 3 && r;
  }, 15000, 100);
  const [header, row] = out.trim().split('\n');
  assert.match(header as string, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/);
  assert.match(row as string, /^nginx\s+LoadBalancer\s+<none>\s+198\.51\.100\.\d+,198\.51\.100\.\d+,198\.51\.100\.\d+\s+80\/TCP\s+\d+s$/);
  const wide = await ok('get', 'services', '-o', 'wide');
  assert.match(wide, /SELECTOR/);
  assert.match(wide, /run=nginx/);
  const svc = parse(await ok('get', 'service', 'nginx', '-o', 'yaml'));
  assert.equal(svc.spec.type, 'LoadBalancer');
  assert.equal(svc.status.loadBalancer.ingress.length, 3);
  assert.equal(svc.metadata.managedFields, undefined, 'managedFields hidden by default as kubectl does');
  const d = await ok('describe', 'services', 'nginx');
  assert.match(d, /^Name:\s+nginx$/m);
  assert.match(d, /^Type:\s+LoadBalancer$/m);
  assert.match(d, /^LoadBalancer Ingress:\s+198\.51\.100\.\d+, 198\.51\.100\.\d+, 198\.51\.100\.\d+/m);
});

test('get dnsrecordsets lists the cascade of a service with the shards behind each name', async () => {
  const out = await waitFor('the cascade', async () => {
    const r = await ok('get', 'dnsrecordsets', '-l', 'federation.fedns.io/service=nginx', '-o', 'wide');
    return r.split('\n').length >= 7 && r;
  }, 10000, 100);
  assert.match(out.split('\n')[0] as string, /^NAME\s+TYPE\s+DATA\s+TTL\s+LEVEL\s+SERVICE\s+HEALTHY$/);
  const P = 'nginx.default.kt.svc';
  // No pods yet: zone → region → global CNAMEs; the global name fails open with every address.
  assert.match(out, new RegExp(`^${P}\\.example\\.com\\.a\\s+A\\s+198\\.51\\.100\\.\\d+,198\\.51\\.100\\.\\d+,198\\.51\\.100\\.\\d+\\s+30\\s+global\\s+default/nginx\\s+0/3$`, 'm'));
  assert.match(out, new RegExp(`^${P}\\.r1\\.example\\.com\\.cname\\s+CNAME\\s+${P}\\.example\\.com\\.\\s+30\\s+region\\s+default/nginx\\s+0/2$`, 'm'));
  assert.match(out, new RegExp(`^${P}\\.r1-a\\.r1\\.example\\.com\\.cname\\s+CNAME\\s+${P}\\.r1\\.example\\.com\\.\\s+30\\s+zone`, 'm'));
  const one = await json('get', 'dnsrecordset', `${P}.r1-a.r1.example.com.cname`);
  assert.deepEqual(one.spec, { name: `${P}.r1-a.r1.example.com.`, type: 'CNAME', ttl: 30, data: [`${P}.r1.example.com.`], level: 'zone', service: 'default/nginx', region: 'r1', zone: 'r1-a' });
  assert.deepEqual(one.status.shards.map((s: { cluster: string; healthy: boolean }) => `${s.cluster}=${s.healthy}`), ['c1=false']);
  const ro = await kubectl(['delete', 'dnsrecordset', `${P}.r1-a.r1.example.com.cname`]);
  assert.notEqual(ro.code, 0, 'the view is read-only');
  // The explain subresource: the chain from the zone name up to the global name, and why.
  const why = JSON.parse(await ok('get', '--raw', `/apis/federation.fedns.io/v1/dnsrecordsets/${P}.r1-a.r1.example.com.cname/explain`));
  assert.deepEqual(why.steps.map((s: { name: string; level: string }) => `${s.level} ${s.name}`), [`zone ${P}.r1-a.r1.example.com.`, `region ${P}.r1.example.com.`, `global ${P}.example.com.`]);
  assert.match(why.steps[0].reason, /^no healthy shard in zone r1-a \(c1: /);
  assert.match(why.steps[2].reason, /failing open/);
});

test('clusters: get shows READY/REGION/ZONES; describe; spec.kubeconfig is never returned; patch drains', async () => {
  const out = await waitFor('three Ready clusters', async () => {
    const r = await ok('get', 'clusters');
    return (r.match(/ True /g) ?? []).length === 3 && r;
  });
  assert.match(out.split('\n')[0] as string, /^NAME\s+READY\s+REGION\s+ZONES\s+AGE$/);
  assert.match(out, /^c1\s+True\s+r1\s+r1-a\s+\d+s$/m);
  const d = await ok('describe', 'cluster', 'c2');
  assert.match(d, /^Name:\s+c2$/m);
  assert.match(d, /Type:\s+Ready/);
  const raw = await ok('get', 'cluster', 'c1', '-o', 'json');
  assert.ok(!raw.includes('kubeconfig'), 'the member kubeconfig is write-only');
  await ok('patch', 'cluster', 'c2', '--type=merge', '-p', '{"spec":{"drained":true}}');
  await waitFor('the Drained condition', async () => (await json('get', 'cluster', 'c2')).status?.conditions?.find((c: { type: string }) => c.type === 'Drained')?.status === 'True');
  await ok('patch', 'cluster', 'c2', '--type=json', '-p', '[{"op":"remove","path":"/spec/drained"}]');
});

test('apply client-side and server-side, each twice: the second is a no-op', async () => {
  const web = file('web.yaml', WEB);
  assert.match(await ok('apply', '-f', web), /service\/web created/);
  await settled('web');
  const rv1 = await rvOf('service', 'web');
  assert.match(await ok('apply', '-f', web), /service\/web unchanged/);
  assert.equal(await rvOf('service', 'web'), rv1);

  const ssa = file('ssa.yaml', WEB.replace('name: web', 'name: ssa'));
  assert.match(await ok('apply', '--server-side', '-f', ssa), /service\/ssa serverside-applied/);
  await settled('ssa');
  const rv2 = await rvOf('service', 'ssa');
  assert.match(await ok('apply', '--server-side', '-f', ssa), /service\/ssa serverside-applied/);
  assert.equal(await rvOf('service', 'ssa'), rv2, 'the second server-side apply changes nothing');
  const managers = (await json('get', 'service', 'ssa', '--show-managed-fields')).metadata.managedFields.map((m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`);
  assert.deepEqual(managers, ['kubectl/Apply']);
  // A field another manager set differently conflicts until forced.
  await ok('patch', 'service', 'ssa', '--type=merge', '-p', '{"spec":{"selector":{"app":"other"}}}');
  const conflict = await kubectl(['apply', '--server-side', '-f', ssa]);
  assert.notEqual(conflict.code, 0);
  assert.match(conflict.stderr, /conflict with "kubectl-patch"/);
  assert.match(conflict.stderr, /\.spec\.selector\.app/);
  await ok('apply', '--server-side', '--force-conflicts', '-f', ssa);
  assert.equal((await json('get', 'service', 'ssa')).spec.selector.app, 'web');
  // Dropping a field from the applied configuration removes it.
  const fewer = file('ssa2.yaml', WEB.replace('name: web', 'name: ssa').replace('  labels: { app: web }\n', ''));
  await ok('apply', '--server-side', '-f', fewer);
  assert.equal((await json('get', 'service', 'ssa')).metadata.labels, undefined);
});

test('get -w sees a change', async () => {
  const child = spawn('kubectl', ['--kubeconfig', kubeconfig, 'get', 'services', 'web', '-w', '--output-watch-events'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitFor('the initial row', async () => /ADDED\s+web\s+LoadBalancer/.test(out), 10000);
    await ok('label', 'service', 'web', 'watched=yes');
    await waitFor('a MODIFIED row', async () => /MODIFIED\s+web\s+LoadBalancer/.test(out), 10000);
  } finally {
    child.kill();
  }
});

test('edit through KUBE_EDITOR, patch (strategic, merge, JSON), label, annotate', async () => {
  const editor = file('editor.sh', '#!/bin/sh\nsed -i "s/sessionAffinity: None/sessionAffinity: ClientIP/" "$1"\n');
  chmodSync(editor, 0o755);
  const e = await kubectl(['edit', 'service', 'web'], { KUBE_EDITOR: editor });
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /service\/web edited/);
  assert.equal((await json('get', 'service', 'web')).spec.sessionAffinity, 'ClientIP');

  await ok('patch', 'service', 'web', '-p', '{"spec":{"ports":[{"port":80,"targetPort":8080}]}}');
  await ok('patch', 'service', 'web', '--type=merge', '-p', '{"spec":{"selector":{"tier":"front"}}}');
  await ok('patch', 'service', 'web', '--type=json', '-p', '[{"op":"add","path":"/spec/ports/-","value":{"name":"https","port":443}}]');
  await ok('label', 'service', 'web', 'env=prod');
  await ok('annotate', 'service', 'web', 'owner=team-a');
  const w = await json('get', 'service', 'web');
  assert.deepEqual(w.spec.ports.map((p: { port: number; targetPort: number }) => `${p.port}->${p.targetPort}`), ['80->8080', '443->443'], 'strategic merge patch merged the port by key');
  assert.deepEqual(w.spec.selector, { app: 'web', tier: 'front' });
  assert.equal(w.metadata.labels.env, 'prod');
  assert.equal(w.metadata.annotations.owner, 'team-a');
  assert.match(await ok('get', 'services', '-l', 'env=prod', '-o', 'name'), /^service\/web$/m);
  assert.doesNotMatch(await ok('get', 'services', '-l', 'env=prod', '-o', 'name'), /nginx/);
  assert.equal((await ok('get', 'services', '--field-selector', 'metadata.name=nginx', '-o', 'name')).trim(), 'service/nginx');
});

test('update with a stale resourceVersion is a 409 Conflict', async () => {
  const stale = await json('get', 'service', 'web');
  await ok('label', 'service', 'web', 'bump=1');
  const r = await kubectl(['replace', '-f', '-'], {}, JSON.stringify(stale));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Operation cannot be fulfilled on services "web": the object has been modified/);
});

test('invalid Services are rejected with field-level messages, and nothing is stored', async () => {
  const bad = file('bad.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  ports:\n    - port: 70000\n');
  const r = await kubectl(['create', '-f', bad]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /The Service "bad" is invalid/);
  assert.match(r.stderr, /spec\.ports\[0\]\.port: Invalid value: 70000: must be between 1 and 65535, inclusive/);
  assert.match((await kubectl(['get', 'service', 'bad'])).stderr, /NotFound/);

  // A name whose zone-level DNS name would exceed 253 octets (c3's long region and zone).
  const ns = 'n'.repeat(63);
  await ok('create', 'namespace', ns);
  const long = `s${'x'.repeat(62)}`;
  const tooLong = file('long.yaml', `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${long}\n  namespace: ${ns}\nspec:\n  ports:\n    - port: 80\n`);
  const l = await kubectl(['create', '-f', tooLong]);
  assert.notEqual(l.code, 0);
  assert.match(l.stderr, new RegExp(`metadata\\.name: Invalid value: "${long}": the federated DNS names of this service would break DNS limits: .*253`));
  assert.match((await kubectl(['get', 'service', long, '-n', ns])).stderr, /NotFound/);

  // Unknown fields under kubectl's default strict validation.
  const unknown = file('unknown.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: unknown\nspec:\n  portz: 1\n  ports:\n    - port: 80\n');
  const u = await kubectl(['create', '-f', unknown]);
  assert.notEqual(u.code, 0);
  assert.match(u.stderr, /BadRequest.*strict decoding error: unknown field "spec\.portz"/);
  assert.match((await kubectl(['get', 'service', 'unknown'])).stderr, /NotFound/);
  const res = await kubeRequest(kubeconfig, '/api/v1/namespaces/default/services?fieldValidation=Strict', {
    method: 'POST',
    body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'unknown' }, spec: { portz: 1, ports: [{ port: 80 }] } },
  });
  assert.equal(res.status, 400);
  const status = res.json() as { kind: string; reason: string; details: { causes: { field: string; reason: string }[] } };
  assert.equal(status.kind, 'Status');
  assert.deepEqual(status.details.causes.map((c) => `${c.reason} ${c.field}`), ['FieldValueUnknown spec.portz']);

  // dryRun=All validates and answers, but stores nothing.
  const dry = await kubectl(['create', '-f', file('dry.yaml', WEB.replace('name: web', 'name: dry')), '--dry-run=server']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /service\/dry created \(server dry run\)/);
  assert.match((await kubectl(['get', 'service', 'dry'])).stderr, /NotFound/);
});

test('tokens: none or a wrong one is 401, the read-only one reads but may not write', async () => {
  const wrong = await kubectl(['--token', 'not-a-token', 'get', 'services']);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /You must be logged in to the server \(Unauthorized\)/);
  const none = await kubeRequest(kubeconfig, '/api/v1/services', { token: null });
  assert.equal(none.status, 401);
  assert.equal((none.json() as { reason: string }).reason, 'Unauthorized');
  assert.match(await ok('--token', viewerToken, 'get', 'services'), /nginx/);
  const write = await kubectl(['--token', viewerToken, 'delete', 'service', 'nginx']);
  assert.notEqual(write.code, 0);
  assert.match(write.stderr, /Forbidden.*User "demo-viewer" cannot delete resource "services" in API group "" in the namespace "default"/);
  assert.match(await ok('get', 'service', 'nginx', '-o', 'name'), /service\/nginx/, 'the forbidden delete changed nothing');
});

test('delete with propagation; deleting a namespace deletes its services; the records go', async () => {
  await ok('create', 'namespace', 'team');
  await ok('create', '-f', NGINX, '-n', 'team');
  await waitFor('team/nginx records', async () => (await ok('get', 'drs', '-l', 'federation.fedns.io/namespace=team', '-o', 'name')).trim() !== '');
  const d = await ok('delete', 'namespace', 'team');
  assert.match(d, /namespace "team" deleted/);
  assert.match((await kubectl(['get', 'service', 'nginx', '-n', 'team'])).stderr, /NotFound/);
  await waitFor('team/nginx records gone', async () => (await ok('get', 'drs', '-l', 'federation.fedns.io/namespace=team', '-o', 'name')).trim() === '');
  assert.match(await ok('delete', 'service', 'web', '--cascade=foreground'), /service "web" deleted/);
  assert.match(await ok('delete', 'service', 'ssa', '--cascade=orphan'), /service "ssa" deleted/);
  assert.match((await kubectl(['get', 'service', 'web'])).stderr, /NotFound/);
  const forbidden = await kubectl(['delete', 'namespace', 'default']);
  assert.match(forbidden.stderr, /Forbidden/);
});

test('/metrics counts requests by verb, resource and code', async () => {
  const text = (await kubeRequest(kubeconfig, '/metrics')).text;
  assert.match(text, /fedns_api_requests_total\{[^}]*verb="create",resource="services",code="201"[^}]*\} [1-9]/);
  assert.match(text, /fedns_api_requests_total\{[^}]*verb="create",resource="services",code="422"[^}]*\} [1-9]/);
  assert.match(text, /fedns_api_requests_total\{[^}]*verb="list",resource="dnsrecordsets\.federation\.fedns\.io",code="200"[^}]*\} [1-9]/);
  assert.match(text, /fedns_api_requests_total\{[^}]*verb="delete",resource="services",code="403"[^}]*\} [1-9]/);
  assert.match(text, /fedns_api_request_duration_seconds_count\{[^}]*verb="patch",resource="services"[^}]*\} [1-9]/);
});

test('validation matches what operators type (issue 9 items 4 and 6); every write names its user', async () => {
  // kubectl's own port naming (80-8080) is a valid DNS-1123 port name.
  assert.match(await ok('create', 'service', 'loadbalancer', 'lb8080', '--tcp=80:8080'), /service\/lb8080 created/);
  assert.equal((await json('get', 'service', 'lb8080')).spec.ports[0].name, '80-8080');

  // A Cluster whose kubeconfig is not YAML: 422 naming the field; the demo keeps serving.
  const brokenCluster = file('broken-cluster.yaml', 'apiVersion: federation.fedns.io/v1\nkind: Cluster\nmetadata:\n  name: broken\nspec:\n  kubeconfig: "clusters: [oops"\n');
  const b = await kubectl(['create', '-f', brokenCluster]);
  assert.notEqual(b.code, 0);
  assert.match(b.stderr, /The Cluster "broken" is invalid: spec\.kubeconfig: Invalid value: "<redacted>": not valid YAML/);
  assert.match((await kubectl(['get', 'cluster', 'broken'])).stderr, /NotFound/);
  assert.equal(demo.child.exitCode, null, 'the demo is still running');

  // A drainedZones typo against the cluster's zones (c1 has r1-a).
  const typo = await kubectl(['patch', 'cluster', 'c1', '--type=merge', '-p', '{"spec":{"drainedZones":["r1a"]}}']);
  assert.notEqual(typo.code, 0);
  assert.match(typo.stderr, /spec\.drainedZones\[0\]: Invalid value: "r1a": cluster "c1" has no such zone \(zones: r1-a\)/);
  // A cluster whose zones are not known yet: accepted, and kubectl prints the server's warning.
  const kc = 'apiVersion: v1\nkind: Config\nclusters: [{name: m, cluster: {server: "https://192.0.2.1:6443"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: m, context: {cluster: m, user: u}}]\ncurrent-context: m\n';
  const pending = file('pending-cluster.yaml', `apiVersion: federation.fedns.io/v1\nkind: Cluster\nmetadata:\n  name: pending\nspec:\n  drainedZones: [zz-1]\n  kubeconfig: ${JSON.stringify(kc)}\n`);
  const p = await kubectl(['create', '-f', pending]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /^Warning: spec\.drainedZones\[0\]: cluster "pending" has not reported its zones yet/m);
  await ok('delete', 'cluster', 'pending');

  // Placement naming an unknown cluster; an unknown federation.fedns.io/* key.
  const placed = await kubectl(['annotate', 'service', 'lb8080', 'federation.fedns.io/clusters=c1,c9']);
  assert.notEqual(placed.code, 0);
  assert.match(placed.stderr, /metadata\.annotations\[federation\.fedns\.io\/clusters\]: Invalid value: "c9": names no member cluster \(clusters: c1, c2, c3\)/);
  const key = await kubectl(['annotate', 'service', 'lb8080', 'federation.fedns.io/tll=5']);
  assert.notEqual(key.code, 0);
  assert.match(key.stderr, /unknown federation\.fedns\.io\/\* annotation/);

  // A field selector on a field Services do not have: kube-apiserver's 400.
  const fs = await kubectl(['get', 'services', '--field-selector', 'spec.foo=x']);
  assert.notEqual(fs.code, 0);
  assert.match(fs.stderr, /field label not supported: spec\.foo/);
  assert.match(await ok('get', 'services', '--field-selector', 'spec.type=LoadBalancer', '-o', 'name'), /service\/lb8080/);

  // The store's object log names the demo's admin user for the create.
  const store = await openTestStore(dataDir, { readonly: true });
  try {
    const changes = await store.objectHistory('services', 'default', 'lb8080');
    assert.equal(changes.find((c) => c.type === 'ADDED')?.actor, 'demo-admin');
    assert.ok(changes.every((c) => c.type === 'ADDED' || c.actor === CONTROLLER_ACTOR), 'after the create, only the controller (status)');
    assert.equal((await store.objectHistory('clusters', '', 'pending', 1))[0]?.type, 'DELETED');
  } finally {
    await store.close();
  }
  await ok('delete', 'service', 'lb8080');
});

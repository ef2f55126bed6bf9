/**
 * Soak: runs `fedns serve` (with two simulated members) or `fedns demo` and
 * drives its API with a loop of valid and invalid writes for a while, checking
 * every second that the same process still runs, answers /readyz and DNS.
 * Issue 9's "done when": 10 minutes each, without a restart.
 *
 *   scripts/pnpm soak                 # serve, 10 minutes
 *   scripts/pnpm soak --demo --minutes 10
 *
 * Prints progress every 30 s and a summary: requests per kind and HTTP code,
 * any 5xx (a bug: bad input must get a 4xx), and the process checks. Exit 1 on
 * a failed check or a 5xx.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { buildKubeconfig, type SimCluster, startSimCluster } from '@fedns/kube-sim';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, demo: { type: 'boolean', default: false } } });
const minutes = Number(values.minutes);
if (!(minutes > 0)) {
  process.stderr.write('soak: --minutes must be a positive number\n');
  process.exit(2);
}
const execFileP = promisify(execFile);
const fedns = (args: string[]) => [process.execPath, ['--import', 'tsx', join(ROOT, 'apps/fedns/src/main.ts'), ...args]] as const;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

const dataDir = mkdtempSync(join(tmpdir(), 'fedns-soak-'));
const [apiPort, dnsPort] = [await freePort(), await freePort()];
const sims: SimCluster[] = [];
let clusters: string[] = [];
let child: ChildProcess;
let output = '';

interface Target {
  base: string;
  token?: string;
  ca?: Buffer;
}
let target: Target;

if (values.demo) {
  [child] = [spawn(...fedns(['demo', '--data-dir', dataDir, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`]), { stdio: ['ignore', 'pipe', 'pipe'] })];
} else {
  for (const [name, zone, pool] of [
    ['m1', 'us-east1-b', '198.51.100.0/28'],
    ['m2', 'europe-west1-b', '198.51.100.16/28'],
  ] as const) {
    const sim = await startSimCluster({ name, region: zone.replace(/-[a-z]$/, ''), zones: [zone], lbPool: pool });
    sims.push(sim);
    const kc = join(dataDir, `${name}.kubeconfig`);
    writeFileSync(kc, buildKubeconfig([{ name, server: sim.url }]));
    await execFileP(...fedns(['join', name, '--kubeconfig', kc, '--data-dir', dataDir]));
  }
  [child] = [spawn(...fedns(['serve', '--data-dir', dataDir, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--log-level', 'warn']), { stdio: ['ignore', 'pipe', 'pipe'] })];
}
child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
const pid = child.pid;

async function waitUntil(what: string, fn: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`fedns exited while waiting for ${what}:\n${output}`);
    if (await Promise.resolve().then(fn).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}:\n${output}`);
}

if (values.demo) {
  await waitUntil('the demo', () => output.includes('Ctrl-C stops everything.'), 90_000);
  const kc = parse(readFileSync(join(dataDir, 'kubeconfig'), 'utf8')) as {
    clusters: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[];
    users: { name: string; user: { token?: string } }[];
  };
  const fed = kc.clusters.find((c) => c.name === 'federation-cluster')?.cluster;
  const ca = fed?.['certificate-authority-data'];
  target = { base: fed?.server ?? '', token: kc.users.find((u) => u.name === 'federation-cluster')?.user.token, ...(ca ? { ca: Buffer.from(ca, 'base64') } : {}) };
  clusters = kc.clusters.map((c) => c.name).filter((n) => n !== 'federation-cluster');
} else {
  target = { base: `http://127.0.0.1:${apiPort}` };
  clusters = sims.map((s) => s.name);
  await waitUntil('serve to be ready', async () => (await fetch(`${target.base}/readyz`)).ok, 30_000);
}

/** One request; the status code (0 when the connection failed). */
async function request(method: string, path: string, body?: string | Buffer, contentType = 'application/json', token = target.token): Promise<number> {
  const url = new URL(path, target.base);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = contentType;
  if (url.protocol === 'https:') {
    return new Promise((resolve) => {
      const req = https.request(url, { method, headers, ca: target.ca, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      req.end(body);
    });
  }
  try {
    const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

const svc = (name: string, extra: Record<string, unknown> = {}) => JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, ...extra }, spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ name: 'http', port: 80 }] } });
const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)] as T;
const S = '/api/v1/namespaces/default/services';
const C = '/apis/federation.fedns.io/v1/clusters';

/** Each operation: a name, and a request that returns its status code. Valid ones first, then invalid input. */
const operations: [string, () => Promise<number>][] = [
  ['create service', () => request('POST', S, svc(`soak-${Math.floor(Math.random() * 20)}`))],
  ['patch ttl', () => request('PATCH', `${S}/soak-${Math.floor(Math.random() * 20)}`, JSON.stringify({ metadata: { annotations: { 'federation.fedns.io/ttl': String(5 + Math.floor(Math.random() * 100)) } } }), 'application/merge-patch+json')],
  ['patch placement', () => request('PATCH', `${S}/soak-${Math.floor(Math.random() * 20)}`, JSON.stringify({ metadata: { annotations: { 'federation.fedns.io/clusters': Math.random() < 0.5 ? pick(clusters) : null } } }), 'application/merge-patch+json')],
  ['delete service', () => request('DELETE', `${S}/soak-${Math.floor(Math.random() * 20)}`)],
  ['drain cluster', () => request('PATCH', `${C}/${pick(clusters)}`, JSON.stringify({ spec: { drained: Math.random() < 0.5 } }), 'application/merge-patch+json')],
  ['list services', () => request('GET', S)],
  ['bad port', () => request('POST', S, JSON.stringify({ metadata: { name: 'bad-port' }, spec: { ports: [{ port: 70000 }] } }))],
  ['name too long', () => request('POST', S, svc('x'.repeat(80)))],
  ['unknown annotation', () => request('POST', S, svc('bad-annotation', { annotations: { 'federation.fedns.io/nope': '1' } }))],
  ['placement unknown cluster', () => request('POST', S, svc('bad-placement', { annotations: { 'federation.fedns.io/clusters': 'no-such-cluster' } }))],
  ['not JSON', () => request('POST', S, '{"metadata": {"name": ')],
  ['YAML garbage', () => request('POST', S, ': : [ {{', 'application/yaml')],
  ['wrong content type', () => request('POST', S, svc('ct'), 'text/plain')],
  ['body over the limit', () => request('POST', S, Buffer.alloc(4 * 1024 * 1024, 0x20))],
  ['bad JSON patch', () => request('PATCH', `${S}/soak-1`, JSON.stringify([{ op: 'copy', from: '/nope', path: '/x' }]), 'application/json-patch+json')],
  ['merge patch not an object', () => request('PATCH', `${S}/soak-1`, '"string"', 'application/merge-patch+json')],
  ['cluster kubeconfig not YAML', () => request('POST', C, JSON.stringify({ apiVersion: 'federation.fedns.io/v1', kind: 'Cluster', metadata: { name: 'bad-yaml' }, spec: { kubeconfig: 'clusters: [ {{ nope' } }))],
  ['cluster kubeconfig without server', () => request('POST', C, JSON.stringify({ apiVersion: 'federation.fedns.io/v1', kind: 'Cluster', metadata: { name: 'no-server' }, spec: { kubeconfig: 'apiVersion: v1\nkind: Config\nclusters: [{name: a, cluster: {}}]\ncontexts: [{name: a, context: {cluster: a, user: u}}]\nusers: [{name: u, user: {}}]\ncurrent-context: a\n' } }))],
  ['drain unknown zone', () => request('PATCH', `${C}/${pick(clusters)}`, JSON.stringify({ spec: { drainedZones: ['no-such-zone-1z'] } }), 'application/merge-patch+json')],
  ['stale update', () => request('PUT', `${S}/soak-2`, JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'soak-2', resourceVersion: '1' }, spec: { ports: [{ port: 80 }] } }))],
  ['unsupported field selector', () => request('GET', `${S}?fieldSelector=spec.foo%3Dbar`)],
  ['bad resourceVersion watch', () => request('GET', `${S}?watch=true&resourceVersion=abc`)],
  ['delete missing', () => request('DELETE', `${S}/does-not-exist`)],
  ['no credentials', () => request('POST', S, svc('anon'), 'application/json', target.token ? 'wrong-token' : undefined)],
];

const counts = new Map<string, Map<number, number>>();
const serverErrors: string[] = [];
const failures: string[] = [];
const started = Date.now();
const end = started + minutes * 60_000;
let checks = 0;

async function checkProcess(): Promise<void> {
  checks++;
  if (child.exitCode !== null || child.pid !== pid) failures.push(`${new Date().toISOString()} fedns exited (${child.exitCode})`);
  if ((await request('GET', '/readyz')) !== 200) failures.push(`${new Date().toISOString()} /readyz not 200`);
  const { stdout } = await execFileP('dig', ['+norec', '+tries=1', '+time=2', '-p', String(dnsPort), '@127.0.0.1', 'example.com.', 'SOA']).catch(() => ({ stdout: '' }));
  if (!/status: NOERROR/.test(stdout)) failures.push(`${new Date().toISOString()} DNS SOA not answered`);
}

const writer = async () => {
  while (Date.now() < end && child.exitCode === null) {
    const [name, op] = pick(operations);
    const code = await op();
    const byCode = counts.get(name) ?? new Map<number, number>();
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
    counts.set(name, byCode);
    // Past the body limit the server answers 413 and may close the connection while the client still sends.
    if (code >= 500 || (code === 0 && name !== 'body over the limit')) serverErrors.push(`${name}: ${code}`);
  }
};
const checker = async () => {
  let lastReport = Date.now();
  while (Date.now() < end && child.exitCode === null) {
    await checkProcess();
    if (Date.now() - lastReport >= 30_000) {
      lastReport = Date.now();
      const total = [...counts.values()].reduce((n, m) => n + [...m.values()].reduce((a, b) => a + b, 0), 0);
      process.stdout.write(`soak: ${Math.round((Date.now() - started) / 1000)}s of ${minutes * 60}s, ${total} requests, ${serverErrors.length} 5xx, ${failures.length} failed checks\n`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
};
process.stdout.write(`soak: ${values.demo ? 'fedns demo' : 'fedns serve with 2 members'} (pid ${pid}) for ${minutes} min, ${operations.length} kinds of request\n`);
await Promise.all([writer(), writer(), checker()]);
await checkProcess();

const total = [...counts.values()].reduce((n, m) => n + [...m.values()].reduce((a, b) => a + b, 0), 0);
process.stdout.write(`\nsoak: ${total} requests in ${Math.round((Date.now() - started) / 1000)} s; ${checks} process checks; same pid ${pid}: ${child.exitCode === null}\n`);
for (const [name, byCode] of [...counts].sort()) {
  process.stdout.write(`  ${name.padEnd(34)} ${[...byCode].sort().map(([c, n]) => `${c}×${n}`).join(' ')}\n`);
}
if (serverErrors.length) process.stdout.write(`5xx or no answer (${serverErrors.length}): ${[...new Set(serverErrors)].join(', ')}\n`);
if (failures.length) process.stdout.write(`failed checks (${failures.length}):\n  ${failures.slice(0, 20).join('\n  ')}\n`);
child.kill('SIGTERM');
await Promise.all(sims.map((s) => s.close()));
process.exit(failures.length || serverErrors.length ? 1 : 0);

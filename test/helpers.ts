/** Shared helpers for the end-to-end tests: real processes, real ports, real dig. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SHARED = join(ROOT, '..', 'shared');
const execFileP = promisify(execFile);

export const tempDir = (prefix = 'fedns-e2e-') => mkdtempSync(join(tmpdir(), prefix));

/** A port free for TCP and UDP on 127.0.0.1, below the ephemeral range (see there why). */
export { freePort } from '../packages/store/test/pg/server.js';

export interface FednsProcess {
  child: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Runs `fedns <args>` from source, as `pnpm fedns` does. */
export function spawnFedns(args: string[], env: NodeJS.ProcessEnv = {}): FednsProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/fedns/src/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs `fedns <args>` to completion. */
export async function runFedns(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/fedns/src/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function waitReady(url: string, proc?: FednsProcess, timeoutMs = 20000): Promise<void> {
  await waitFor(
    `${url}/readyz${proc ? `\n${proc.output()}` : ''}`,
    async () => {
      if (proc && proc.child.exitCode !== null) throw new Error(`process exited early:\n${proc.output()}`);
      const r = await fetch(`${url}/readyz`);
      return r.ok;
    },
    timeoutMs,
  );
}

/** Waits until `fedns demo` has printed its walkthrough (everything up); its output if it exits first. */
export async function waitDemoUp(demo: FednsProcess, timeoutMs = 60_000): Promise<void> {
  await waitFor('the demo to come up', async () => {
    if (demo.child.exitCode !== null) throw new Error(demo.output());
    return demo.output().includes('Ctrl-C stops everything.');
  }, timeoutMs, 100);
}

export interface DigAnswer {
  status: string;
  flags: string[];
  answer: { name: string; ttl: number; type: string; data: string }[];
  authority: { name: string; ttl: number; type: string; data: string }[];
  raw: string;
}

/** Runs the real dig and parses its sections. */
export async function dig(port: number, name: string, type = 'A', extra: string[] = []): Promise<DigAnswer> {
  const { stdout } = await execFileP('dig', ['+norec', '+nocookie', '+tries=1', '+time=2', '-p', String(port), '@127.0.0.1', name, type, ...extra]);
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'NONE';
  const flags = (/;; flags: ([^;]*);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/);
  const section = (title: string) => {
    const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
    if (!m?.[1]) return [];
    return m[1]
      .split('\n')
      .filter((l) => l && !l.startsWith(';'))
      .map((l) => {
        const [n = '', ttl = '0', , t = '', ...rest] = l.split(/\s+/);
        return { name: n, ttl: Number(ttl), type: t, data: rest.join(' ') };
      });
  };
  return { status, flags, answer: section('ANSWER'), authority: section('AUTHORITY'), raw: stdout };
}

/** Answer lines as "name type data", sorted, for exact comparisons. */
export const lines = (a: DigAnswer) => a.answer.map((r) => `${r.name} ${r.type} ${r.data}`).sort();

/**
 * A request to the API server of a kubeconfig context, as kubectl would make it: its server,
 * bearer token and certificate authority. `token: null` sends no credentials.
 */
export async function kubeRequest(
  kubeconfigPath: string,
  path: string,
  init: { method?: string; body?: unknown; contentType?: string; token?: string | null; context?: string } = {},
): Promise<{ status: number; text: string; json: () => unknown }> {
  const { readFileSync } = await import('node:fs');
  const { parse } = await import('yaml');
  const https = await import('node:https');
  const http = await import('node:http');
  const kc = parse(readFileSync(kubeconfigPath, 'utf8')) as {
    'current-context': string;
    contexts: { name: string; context: { cluster: string; user: string } }[];
    clusters: { name: string; cluster: { server: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean } }[];
    users: { name: string; user: { token?: string } }[];
  };
  const ctx = kc.contexts.find((c) => c.name === (init.context ?? kc['current-context']))?.context;
  const cluster = kc.clusters.find((c) => c.name === ctx?.cluster)?.cluster;
  if (!cluster) throw new Error(`kubeconfig ${kubeconfigPath}: no cluster for context`);
  const token = init.token === null ? undefined : (init.token ?? kc.users.find((u) => u.name === ctx?.user)?.user.token);
  const url = new URL(path, cluster.server);
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
  const ca = cluster['certificate-authority-data'] ? Buffer.from(cluster['certificate-authority-data'], 'base64') : undefined;
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method: init.method ?? 'GET', headers, ...(url.protocol === 'https:' ? { ca, rejectUnauthorized: !cluster['insecure-skip-tls-verify'] } : {}) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** DESIGN §4's worked example: member clusters with their topology and nginx's shards (c2 and c5 without ready endpoints). */
export const WORKED_EXAMPLE_CLUSTERS = [
  { name: 'c1', region: 'us-east1', zones: ['us-east1-b'], lb: '203.0.113.10', ready: 3 },
  { name: 'c2', region: 'us-east1', zones: ['us-east1-c'], lb: '203.0.113.20', ready: 0 },
  { name: 'c3', region: 'europe-west1', zones: ['europe-west1-b'], lb: '198.51.100.5', ready: 2 },
  { name: 'c5', region: 'asia-east1', zones: ['asia-east1-a'], lb: '192.0.2.9', ready: 0 },
];

/**
 * Fills a running `fedns serve` with the worked example: clusters and shards through the store
 * package (as the controller records them), the prod/nginx Service through the API.
 */
export async function seedWorkedExample(dataDir: string, api: string): Promise<void> {
  const store = await openTestStore(dataDir);
  for (const c of WORKED_EXAMPLE_CLUSTERS) {
    await store.createObject({ kind: 'clusters', namespace: '', name: c.name, uid: `uid-${c.name}`, object: { apiVersion: 'federation.fedns.io/v1', kind: 'Cluster', metadata: { name: c.name }, status: { region: c.region, zones: c.zones } } });
    await store.putShard({ cluster: c.name, namespace: 'prod', service: 'nginx', addresses: [c.lb], readyEndpoints: c.ready, healthy: c.ready > 0, since: new Date().toISOString(), message: '' });
  }
  await store.close();
  const res = await fetch(`${api}/api/v1/namespaces/prod/services`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'nginx' }, spec: { type: 'LoadBalancer', selector: { run: 'nginx' }, ports: [{ name: 'http', port: 80 }] } }),
  });
  if (res.status !== 201) throw new Error(`creating prod/nginx: ${res.status} ${await res.text()}`);
}

/**
 * A shard of the worked example's prod/nginx changed in the store, as the controller would record it from its member
 * (`since` now). The zone writer sees it once something makes it look at the service again: `touchService`.
 */
export async function changeShard(dataDir: string, cluster: string, change: { healthy: boolean; readyEndpoints: number; message?: string }): Promise<void> {
  const store = await openTestStore(dataDir);
  try {
    const shard = await store.getShard(cluster, 'prod', 'nginx');
    if (!shard) throw new Error(`no shard ${cluster}/prod/nginx in the store`);
    await store.putShard({ ...shard, ...change, since: new Date().toISOString() });
  } finally {
    await store.close();
  }
}

/** Merge-patches annotations onto prod/nginx through a plain-HTTP API, so that the zone writer looks at it again. */
export async function touchService(base: string, annotations: Record<string, string>): Promise<void> {
  const res = await api(base, '/api/v1/namespaces/prod/services/nginx', { method: 'PATCH', body: { metadata: { annotations } }, contentType: 'application/merge-patch+json' });
  if (res.status !== 200) throw new Error(`touching prod/nginx: ${res.status} ${JSON.stringify(res.body)}`);
}

/** The data dir's store, opened beside a running fedns as another process would (SQLite). */
export async function openTestStore(dataDir: string, opts: { readonly?: boolean } = {}): Promise<import('@fedns/store').Store> {
  const { openStore } = await import('@fedns/store');
  return openStore({ dataDir, ...opts });
}

/** Joins in-process simulated members to a data dir with the real `fedns join` (each through its own kubeconfig file). */
export async function joinSims(dataDir: string, federation: string, sims: { name: string; url: string }[]): Promise<void> {
  const { writeFileSync } = await import('node:fs');
  const { buildKubeconfig } = await import('@fedns/kube-sim');
  for (const s of sims) {
    const kc = join(dataDir, `${s.name}.kubeconfig`);
    writeFileSync(kc, buildKubeconfig([{ name: s.name, server: s.url }]));
    const j = await runFedns(['join', s.name, '--kubeconfig', kc, '--data-dir', dataDir, '--federation', federation]);
    if (j.code !== 0) throw new Error(`fedns join ${s.name}: ${j.stderr}`);
  }
}

/** A JSON request to a plain-HTTP fedns API (auth off); the body parsed when there is one. */
export async function api<T = Record<string, unknown>>(base: string, path: string, init: { method?: string; body?: unknown; contentType?: string } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: init.body === undefined ? {} : { 'content-type': init.contentType ?? 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

/**
 * `scripts/pnpm exec tsx bench/probe-failover.ts`: how fast a load balancer
 * that stops accepting connections leaves DNS, and comes back (issue 14:
 * within interval × threshold + 1 s).
 *
 * `fedns serve` over two simulated members whose load balancers hand out
 * loopback addresses, a real TCP listener on each standing in for the load
 * balancer, one service probed with `tcp:PORT` at INTERVAL (default 1s) and
 * FAILURE_THRESHOLD (default 2). ROUNDS times (default 10): close one
 * listener and time until the real dig no longer sees its address; open it
 * again and time until it is back (one good probe, then the stabilisation
 * window, STABILIZATION default 500ms). Rounds are spread over the probe
 * interval (a random wait before each close), so the figures cover where in
 * the interval a failure falls.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildKubeconfig, startSimCluster } from '@fedns/kube-sim';
import { parseDurationMs } from '@fedns/model';
import { freePort, runFedns, spawnFedns, tempDir, waitFor, waitReady } from '../test/helpers.js';

const run = promisify(execFile);
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const INTERVAL = process.env.INTERVAL ?? '1s';
const THRESHOLD = Number(process.env.FAILURE_THRESHOLD ?? 2);
const STABILIZATION = process.env.STABILIZATION ?? '500ms';
const ms = (d: string) => {
  const p = parseDurationMs(d);
  if (!p.ok) throw new Error(p.message);
  return p.value;
};

async function addresses(port: number, name: string): Promise<string[]> {
  const { stdout } = await run('dig', ['+short', '+norec', '+tries=1', '+time=1', '-p', String(port), '@127.0.0.1', name, 'A']);
  return stdout.split('\n').filter((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l)).sort();
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? Number.NaN;

async function main(): Promise<void> {
  const dir = tempDir('fedns-bench-probe-');
  const dataDir = join(dir, 'data');
  const probePort = await freePort();
  const sims = [
    await startSimCluster({ name: 'east', region: 'us-east1', zones: ['us-east1-b'], lbPool: '127.99.1.0/28', kubeletDelayMs: 20, lbDelayMs: 10 }),
    await startSimCluster({ name: 'west', region: 'us-west1', zones: ['us-west1-a'], lbPool: '127.99.2.0/28', kubeletDelayMs: 20, lbDelayMs: 10 }),
  ];
  const lb = { east: '127.99.1.1', west: '127.99.2.1' };
  const listeners = new Map<string, Server>();
  const open = (addr: string) =>
    new Promise<void>((resolve, reject) => {
      const srv = createServer((s) => s.destroy());
      listeners.set(addr, srv);
      srv.once('error', reject);
      srv.listen(probePort, addr, () => resolve());
    });
  const close = (addr: string) => new Promise<void>((resolve) => listeners.get(addr)?.close(() => resolve()));
  await open(lb.east);
  await open(lb.west);
  for (const s of sims) {
    const kc = join(dir, `${s.name}.kubeconfig`);
    (await import('node:fs')).writeFileSync(kc, buildKubeconfig([{ name: s.name, server: s.url }]));
    const j = await runFedns(['join', s.name, '--kubeconfig', kc, '--data-dir', dataDir, '--federation', 'bench']);
    if (j.code !== 0) throw new Error(j.stderr);
  }
  const [apiPort, dnsPort] = [await freePort(), await freePort()];
  const serve = spawnFedns(['serve', '--data-dir', dataDir, '--federation', 'bench', '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--stabilization', STABILIZATION, '--rrl-rate', 'off', '--log-level', 'warn']);
  try {
    await waitReady(`http://127.0.0.1:${apiPort}`, serve);
    const annotations = { 'federation.fedns.io/probe': `tcp:${probePort}`, 'federation.fedns.io/probe-interval': INTERVAL, 'federation.fedns.io/probe-failure-threshold': String(THRESHOLD) };
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/namespaces/default/services`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', annotations }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] } }),
    });
    if (res.status !== 201) throw new Error(await res.text());
    for (const s of sims) s.runPods({ namespace: 'default', labels: { app: 'web' }, count: 1 });
    const name = 'web.default.bench.svc.example.com.';
    await waitFor('both shards published', async () => (await addresses(dnsPort, name)).length === 2, 60_000, 100);
    const interval = ms(INTERVAL);
    const bound = interval * THRESHOLD + 1000;
    console.log(`probe tcp:${probePort}, interval ${INTERVAL}, failure threshold ${THRESHOLD}, success threshold 1, stabilisation ${STABILIZATION}; ${ROUNDS} rounds; target: out within ${bound} ms`);
    const out: number[] = [];
    const back: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await new Promise((res) => setTimeout(res, Math.random() * interval));
      await close(lb.east);
      const t0 = performance.now();
      await waitFor('east out', async () => !(await addresses(dnsPort, name)).includes(lb.east), 30_000, 10);
      out.push(performance.now() - t0);
      await open(lb.east);
      const t1 = performance.now();
      await waitFor('east back', async () => (await addresses(dnsPort, name)).includes(lb.east), 30_000, 10);
      back.push(performance.now() - t1);
      console.log(`  round ${r + 1}: out of DNS after ${Math.round(out.at(-1) as number)} ms, back after ${Math.round(back.at(-1) as number)} ms`);
    }
    const f = (xs: number[]) => `min ${Math.round(Math.min(...xs))}, p50 ${Math.round(pct(xs, 50))}, max ${Math.round(Math.max(...xs))} ms`;
    console.log(`out of DNS: ${f(out)} (target ${bound} ms: ${Math.max(...out) <= bound ? 'met' : 'NOT met'})`);
    console.log(`back in DNS: ${f(back)} (one good probe within an interval, then the ${STABILIZATION} stabilisation window)`);
  } finally {
    await serve.stop();
    for (const s of sims) await s.close();
    for (const srv of listeners.values()) srv.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

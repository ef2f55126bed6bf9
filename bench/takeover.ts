/**
 * `pnpm bench:takeover`: how long the zone goes without a writer when the
 * writer is killed. On PostgreSQL (a primary and two synchronous standbys),
 * two `fedns controller` processes elect a leader; the leader is killed with
 * SIGKILL, a member's pods fail at that moment, and the time until that
 * failure is committed by the standby is measured (issue 11: p99 < lease +
 * 2 s). Beside it, from the same run, the SQLite reference: one `fedns
 * controller` killed and restarted at once, as a supervisor would, measured
 * the same way.
 *   LEASE=15s ROUNDS=10 scripts/pnpm bench:takeover
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildKubeconfig, type SimCluster, startSimCluster } from '@fedns/kube-sim';
import { openStore, type Store } from '@fedns/store';
import { startReplicated } from '../packages/store/test/pg/cluster.js';
import { freePort, runFedns, waitFor } from '../test/helpers.js';

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const LEASE = process.env.LEASE ?? '15s';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'apps/fedns/src/main.ts');
const leaseMs = (() => {
  const m = /^(\d+)(ms|s)$/.exec(LEASE);
  if (!m) throw new Error(`LEASE=${LEASE}: want e.g. 15s or 3000ms`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
})();
// client-go's proportions: renew deadline 2/3 of the lease, retry 2/15.
const timing = ['--lease-duration', `${leaseMs}ms`, '--renew-deadline', `${Math.round((leaseMs * 2) / 3)}ms`, '--retry-period', `${Math.round((leaseMs * 2) / 15)}ms`];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? Number.NaN;

interface Setup {
  dir: string;
  storeFlags: string[];
  sims: SimCluster[];
  store: Store;
}

async function setUp(storeFlags: string[], store: (dir: string) => Promise<Store>): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'fedns-bench-takeover-'));
  const sims: SimCluster[] = [];
  sims.push(await startSimCluster({ name: 'c1', region: 'us-east1', zones: ['us-east1-b'], lbPool: '198.51.100.0/28', kubeletDelayMs: 10 }));
  sims.push(await startSimCluster({ name: 'c2', region: 'europe-west1', zones: ['europe-west1-b'], lbPool: '198.51.100.16/28', kubeletDelayMs: 10 }));
  for (const s of sims) {
    const file = join(dir, `${s.name}.kubeconfig`);
    writeFileSync(file, buildKubeconfig([{ name: s.name, server: s.url }]));
    const r = await runFedns(['join', s.name, '--kubeconfig', file, '--data-dir', dir, ...storeFlags]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  return { dir, storeFlags, sims, store: await store(dir) };
}

function controller(s: Setup, id: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, 'controller', '--data-dir', s.dir, ...s.storeFlags, '--id', id, '--api-listen', '127.0.0.1:0', '--stabilization', '200ms', ...timing, '--log-level', 'warn'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function killed(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
}

/** Creates the measured service through the store's API path (an API server is not needed here). */
async function createService(s: Setup): Promise<void> {
  await s.store.createObject({
    kind: 'services',
    namespace: 'default',
    name: 'web',
    uid: 'web-uid',
    object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', uid: 'web-uid', creationTimestamp: new Date().toISOString() }, spec: { type: 'LoadBalancer', selector: { run: 'web' }, ports: [{ port: 80 }] } },
  });
  for (const sim of s.sims) sim.runPods({ namespace: 'default', labels: { run: 'web' }, count: 1 });
}

/** The time from `t0` until a journal entry after `seq` that the flap caused (and, if given, of a later epoch). */
async function committed(s: Setup, seq: number, t0: number, minEpoch = 0): Promise<{ ms: number; seq: number }> {
  for (;;) {
    const entries = (await s.store.zoneChangesSince(seq).catch(() => [])) ?? [];
    const e = entries.find((x) => /unhealthy|healthy/.test(x.cause) && (x.epoch ?? 0) >= minEpoch);
    if (e) return { ms: Date.parse(e.at) - t0, seq: entries.at(-1)?.seq ?? e.seq };
    if (Date.now() - t0 > leaseMs + 60_000) throw new Error('no commit after the kill within lease + 60 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const head = async (s: Setup) => (await s.store.zoneSnapshot()).seq;
const flapTarget = { namespace: 'default', selector: 'run=web' };

async function onPostgres(): Promise<number[]> {
  const pg = await startReplicated();
  try {
    const url = await pg.createDatabase('takeover');
    const s = await setUp(['--store', url, '--store-password-file', pg.passwordFile], (dir) => openStore({ url, passwordFile: pg.passwordFile, dataDir: dir }));
    const procs = new Map<string, ChildProcess>([['a', controller(s, 'a')], ['b', controller(s, 'b')]]);
    try {
      await createService(s);
      await waitFor('the service published', async () => (await s.store.listRecordSets()).some((r) => r.service === 'web' && r.level === 'global'), 60_000, 100);
      const times: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const lease = await waitFor('a leader', async () => s.store.readLease('fedns-controller'), 60_000, 100);
        const seq = await head(s);
        const t0 = Date.now();
        await killed(procs.get(lease.holder));
        s.sims[i % 2]?.faults.failPods(flapTarget);
        const { ms, seq: after } = await committed(s, seq, t0, lease.epoch + 1);
        times.push(ms);
        procs.set(lease.holder, controller(s, lease.holder));
        s.sims[i % 2]?.faults.recoverPods(flapTarget);
        await committed(s, after, Date.now());
        process.stderr.write(`\rPostgreSQL: round ${i + 1}/${ROUNDS}: ${ms} ms   `);
      }
      process.stderr.write('\n');
      return times;
    } finally {
      for (const p of procs.values()) await killed(p);
      await s.store.close();
      await Promise.all(s.sims.map((x) => x.close()));
    }
  } finally {
    await pg.destroy();
  }
}

async function onSqlite(): Promise<number[]> {
  const s = await setUp([], (dir) => openStore({ dataDir: dir }));
  let proc = controller(s, 'only');
  try {
    await createService(s);
    await waitFor('the service published', async () => (await s.store.listRecordSets()).some((r) => r.service === 'web' && r.level === 'global'), 60_000, 100);
    const times: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const seq = await head(s);
      const t0 = Date.now();
      await killed(proc);
      s.sims[i % 2]?.faults.failPods(flapTarget);
      proc = controller(s, 'only');
      const { ms, seq: after } = await committed(s, seq, t0);
      times.push(ms);
      s.sims[i % 2]?.faults.recoverPods(flapTarget);
      await committed(s, after, Date.now());
      process.stderr.write(`\rSQLite: round ${i + 1}/${ROUNDS}: ${ms} ms   `);
    }
    process.stderr.write('\n');
    return times;
  } finally {
    await killed(proc);
    await s.store.close();
    await Promise.all(s.sims.map((x) => x.close()));
  }
}

const sqlite = await onSqlite();
const postgres = await onPostgres();
const f = (xs: number[]) => `p50 ${pct(xs, 50)} ms  p99 ${pct(xs, 99)} ms  max ${Math.max(...xs)} ms`;
console.log(`writer killed (SIGKILL) -> a member's failure committed, ${ROUNDS} rounds each:`);
console.log(`  SQLite, one controller restarted at once:            ${f(sqlite)}`);
console.log(`  PostgreSQL, the standby takes over (lease ${LEASE}):   ${f(postgres)}`);
console.log(`  PostgreSQL / SQLite, same run: p50 ${(pct(postgres, 50) / pct(sqlite, 50)).toFixed(2)}x, p99 ${(pct(postgres, 99) / pct(sqlite, 99)).toFixed(2)}x`);
const met = pct(postgres, 99) < leaseMs + 2000;
console.log(`  target: takeover p99 < lease + 2 s (${leaseMs + 2000} ms): ${met ? 'met' : 'MISSED'}`);
process.exitCode = met ? 0 : 1;

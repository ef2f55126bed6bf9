/**
 * Issue 11's chaos tests: the highly available shape on a real PostgreSQL 15
 * (a primary and two streaming standbys, synchronous ANY 1) — two controllers
 * (one of them in a network namespace of its own, so it can be partitioned),
 * two API servers, two nameservers, three simulated members and an NSD
 * secondary — while Services are created and annotated through both API
 * servers and their pods fail and recover. Each test is one pass/fail line of
 * the issue; the last one holds what must be true over all of them.
 *
 * Leases are short (2 s, renew deadline 1.5 s, retry 250 ms) so twenty
 * takeovers fit in CI; the bounds are stated in the same terms as the defaults.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildKubeconfig, type SimCluster, startSimCluster } from '@fedns/kube-sim';
import type { RecordSet } from '@fedns/model';
import { type JournalEntry, openStore, type Store } from '@fedns/store';
import { startReplicated, type PgCluster } from '../packages/store/test/pg/cluster.js';
import { TcpProxy } from '../packages/store/test/pg/proxy.js';
import { AnswerProbe, ZoneLedger, ZoneSampler, soaSerial } from './chaos/dns-probe.js';
import { TestNet } from './chaos/netns.js';
import { Workload } from './chaos/workload.js';
import { freePort, ROOT, runFedns, tempDir, waitFor } from './helpers.js';

const LEASE = 'fedns-controller';
const LEASE_MS = 2000;
const RENEW_MS = 1500;
const RETRY_MS = 250;
// FEDNS_CHAOS_KILLS: fewer rounds while working on this file; CI runs the twenty the issue asks for.
const KILLS = Number(process.env.FEDNS_CHAOS_KILLS ?? 20);
const ZONE = 'example.com.';
const MAIN = join(ROOT, 'apps/fedns/src/main.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = tempDir('fedns-chaos-');
let net: TestNet;
let pg: PgCluster;
let pgFromNetns: TcpProxy;
let storeUrl = '';
let store: Store;
const sims: SimCluster[] = [];
const apis: string[] = [];
const nameservers: { name: string; port: number; ops: string }[] = [];
let nsdPort = 0;
const children = new Set<ChildProcess>();
const logs = new Map<string, string>();
let workload: Workload;
let sampler: ZoneSampler;
let probe: AnswerProbe;
const ledger = new ZoneLedger(['nsd']);
const figures: string[] = [];

/** A controller: where it runs (this machine, or the namespace that can be cut off) and its process. */
interface Controller {
  id: string;
  inNetns: boolean;
  ops: string;
  proc?: ChildProcess;
}
const controllers: Controller[] = [];

function track(name: string, child: ChildProcess): ChildProcess {
  children.add(child);
  logs.set(name, logs.has(name) ? `${logs.get(name)}\n--- started again ---\n` : '');
  const add = (d: Buffer) => logs.set(name, ((logs.get(name) ?? '') + d.toString()).slice(-2_000_000));
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  child.once('exit', () => children.delete(child));
  return child;
}

const storeFlags = (url = storeUrl) => ['--store', url, '--store-password-file', pg.passwordFile, '--data-dir', join(dir, 'data'), '--federation', 'myfed'];

function startFedns(name: string, args: string[]): ChildProcess {
  return track(name, spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

function startController(c: Controller): void {
  const args = [
    'controller',
    // The namespaced one reaches PostgreSQL (and the members) only over its veth link.
    ...storeFlags(c.inNetns ? storeUrl.replace(`127.0.0.1:${pg.proxy?.port}/`, `${net.hostIp}:${pgFromNetns.port}/`) : storeUrl),
    '--id', c.id,
    '--api-listen', c.ops.replace('http://', ''),
    '--lease-duration', `${LEASE_MS}ms`, '--renew-deadline', `${RENEW_MS}ms`, '--retry-period', `${RETRY_MS}ms`,
    '--stabilization', '200ms', '--first-report-timeout', '2s', '--cluster-grace', '60s',
    '--log-level', 'info',
  ];
  c.proc = c.inNetns
    ? track(c.id, net.spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: process.env, cwd: ROOT }))
    : startFedns(c.id, args);
}

async function stopped(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

async function readyText(ops: string): Promise<string> {
  const r = await fetch(`${ops}/readyz`, { signal: AbortSignal.timeout(2000) });
  return r.ok ? r.text() : '';
}

/** The lease as the database has it, when it is held. */
async function currentLease() {
  const l = await store.readLease(LEASE);
  return l && Date.parse(l.expiresAt) > Date.now() ? l : undefined;
}

/** Every journal entry the store has committed, oldest first, as they come. */
class JournalFollower {
  readonly entries: JournalEntry[] = [];
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  start(): void {
    this.#timer = setInterval(() => void this.poll(), 100);
  }
  stop(): void {
    clearInterval(this.#timer);
  }
  async poll(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const next = await store.zoneChangesSince(this.entries.at(-1)?.seq ?? 0);
      if (next) this.entries.push(...next);
    } catch {
      // The store is failing over; the next poll catches up.
    } finally {
      this.#busy = false;
    }
  }
  firstOfEpochAbove(epoch: number): JournalEntry | undefined {
    return this.entries.find((e) => (e.epoch ?? 0) > epoch);
  }
}
const journal = new JournalFollower();

/** Waits until some controller leads and has committed under its epoch. */
async function committingLeader() {
  return waitFor(
    'a leader that commits',
    async () => {
      await journal.poll();
      const l = await currentLease();
      return l && journal.entries.some((e) => e.epoch === l.epoch) ? l : undefined;
    },
    30_000,
    100,
  );
}

const controllerOf = (id: string) => {
  const c = controllers.find((x) => x.id === id);
  if (!c) throw new Error(`no controller ${id}`);
  return c;
};

/** Restarts a controller and waits until it stands by. */
async function restart(c: Controller): Promise<void> {
  startController(c);
  await waitFor(`${c.id} standing by\n${logs.get(c.id)}`, async () => (await readyText(c.ops)).startsWith('ok'), 30_000, 100);
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? Number.NaN;

before(async () => {
  net = await TestNet.create();
  pg = await startReplicated();
  pgFromNetns = await TcpProxy.start(pg.primary.port, net.hostIp);
  storeUrl = await pg.createDatabase('fedns');
  store = await openStore({ url: storeUrl, passwordFile: pg.passwordFile, dataDir: join(dir, 'data') });

  // Members listen where both this machine and the namespace reach them.
  const topology = [
    { name: 'c1', region: 'us-east1', zones: ['us-east1-b'], lbPool: '198.51.100.0/26' },
    { name: 'c2', region: 'europe-west1', zones: ['europe-west1-b'], lbPool: '198.51.100.64/26' },
    { name: 'c3', region: 'asia-east1', zones: ['asia-east1-a'], lbPool: '198.51.100.128/26' },
  ];
  for (const t of topology) sims.push(await startSimCluster({ ...t, host: net.hostIp, kubeletDelayMs: 20, lbDelayMs: 10 }));
  for (const s of sims) {
    const kc = join(dir, `${s.name}.kubeconfig`);
    writeFileSync(kc, buildKubeconfig([{ name: s.name, server: s.url }]));
    const j = await runFedns(['join', s.name, '--kubeconfig', kc, ...storeFlags()]);
    assert.equal(j.code, 0, `fedns join ${s.name}: ${j.stderr}`);
  }

  // NSD, a secondary of the first nameserver (IXFR first, AXFR only as a fallback), serving AXFR to this test.
  nsdPort = await freePort();
  const nsPorts = [await freePort(), await freePort()];
  const nsdDir = join(dir, 'nsd');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(nsdDir);
  const { nsdSecondaryConf } = await import('../bench/nsd.js');
  writeFileSync(join(nsdDir, 'nsd.conf'), `${nsdSecondaryConf({ dir: nsdDir, port: nsdPort, serverCount: 1, zone: ZONE, primaryPort: nsPorts[0] as number, transfer: 'IXFR' })}  provide-xfr: 127.0.0.1 NOKEY\n`);

  for (let i = 0; i < 2; i++) {
    const port = nsPorts[i] as number;
    const ops = `http://127.0.0.1:${await freePort()}`;
    nameservers.push({ name: `ns${i + 1}`, port, ops });
    startFedns(`ns${i + 1}`, [
      'nameserver', ...storeFlags(), '--id', `ns${i + 1}`,
      '--dns-listen', `127.0.0.1:${port}`, '--api-listen', ops.replace('http://', ''), '--dns-workers', '1',
      '--xfr-allow', '127.0.0.1/32', '--rrl-rate', 'off',
      ...(i === 0 ? ['--notify', `127.0.0.1:${nsdPort}`] : []),
      '--log-level', 'info',
    ]);
  }
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    apis.push(`http://127.0.0.1:${port}`);
    startFedns(`api${i + 1}`, ['apiserver', ...storeFlags(), '--api-listen', `127.0.0.1:${port}`, '--log-level', 'info']);
  }
  controllers.push({ id: 'ctl-a', inNetns: false, ops: `http://127.0.0.1:${await freePort()}` });
  controllers.push({ id: 'ctl-b', inNetns: true, ops: `http://${net.nsIp}:9464` });
  for (const c of controllers) startController(c);
  for (const u of [...apis, ...nameservers.map((n) => n.ops), ...controllers.map((c) => c.ops)]) {
    await waitFor(`${u}/readyz\n${[...logs].map(([k, v]) => `--- ${k}\n${v.slice(-2000)}`).join('\n')}`, async () => (await readyText(u)).startsWith('ok'), 60_000, 100);
  }
  track('nsd', spawn('nsd', ['-d', '-c', join(nsdDir, 'nsd.conf')], { cwd: nsdDir, stdio: ['ignore', 'pipe', 'pipe'] }));

  journal.start();
  workload = new Workload(apis, sims, { maxServices: 40, everyMs: 300, prefix: 'svc-' });
  workload.start();
  const servers = [...nameservers.map((n) => ({ name: n.name, port: n.port })), { name: 'nsd', port: nsdPort }];
  sampler = new ZoneSampler(ledger, servers, ZONE);
  sampler.start();
  // Every fedns nameserver is asked throughout; NSD follows and is judged by its transfers.
  probe = new AnswerProbe(nameservers, () => [[ZONE, 'SOA'], [`svc-0.default.myfed.svc.${ZONE}`, 'A']]);
  probe.start();
  await committingLeader();
});

after(async () => {
  probe?.stop();
  await sampler?.stop();
  await workload?.stop();
  journal.stop();
  // Every process's log, kept for whoever reads a failure.
  for (const [name, text] of logs) writeFileSync(join(dir, `${name}.log`), text);
  figures.push(`process logs: ${dir}/*.log`);
  console.log(`chaos figures:\n  ${figures.join('\n  ')}`);
  for (const c of [...children]) {
    if (c.signalCode === null) c.kill('SIGCONT');
    await stopped(c, 'SIGKILL');
  }
  await Promise.all(sims.map((s) => s.close()));
  await store?.close();
  await pgFromNetns?.close();
  await pg?.destroy();
  await net?.destroy();
});

test(`kill -9 the leading controller ${KILLS} times while services are created and shards flap: the standby commits within lease + 2 s`, async () => {
  const takeovers: number[] = [];
  const leading: string[] = [];
  for (let i = 0; i < KILLS; i++) {
    const lease = await committingLeader();
    await sleep(Math.random() * 1500); // a random point: idle, mid-reconcile, mid-commit
    const victim = controllerOf(lease.holder);
    const offsets = new Map(controllers.map((c) => [c.id, (logs.get(c.id) ?? '').length]));
    const killedAt = Date.now();
    await stopped(victim.proc, 'SIGKILL');
    workload.failOne(); // a change only a leader can commit, pending from the moment of the kill
    const first = await waitFor(`a commit of an epoch above ${lease.epoch}`, async () => {
      await journal.poll();
      return journal.firstOfEpochAbove(lease.epoch);
    }, 20_000, 50);
    takeovers.push(Date.parse(first.at) - killedAt);
    const winner = controllers.find((c) => (logs.get(c.id) ?? '').slice(offsets.get(c.id)).includes('started leading'));
    leading.push(`${winner?.id ?? '?'}:${winner ? logTime(winner.id, offsets.get(winner.id) ?? 0, 'started leading') - killedAt : '?'}/${Date.parse(first.at) - killedAt}`);
    // Restarted once the standby has taken over, as a supervisor elsewhere would: under the same
    // identity it inherits nothing and stands by. (Restarting it at once would measure this
    // machine's two cores compiling it beside the takeover.)
    await restart(victim);
  }
  figures.push(`takeover after kill -9 of the leader (${KILLS} runs, lease ${LEASE_MS} ms): p50 ${percentile(takeovers, 50)} ms, p99 ${percentile(takeovers, 99)} ms, max ${Math.max(...takeovers)} ms`);
  figures.push(`leading/committing ms after each kill: ${leading.join(' ')}`);
  const late = takeovers.filter((t) => t > LEASE_MS + 2000);
  assert.deepEqual(late, [], `every takeover within lease + 2 s (${LEASE_MS + 2000} ms): ${takeovers.join(', ')}`);
  await assertNothingLost(apis[0] as string);
  await assertJournalReplays();
});

test('SIGSTOP the leader longer than its lease, then SIGCONT: no commit from the old epoch lands', async () => {
  const lease = await committingLeader();
  const victim = controllerOf(lease.holder);
  const stoppedAt = Date.now();
  victim.proc?.kill('SIGSTOP');
  const first = await waitFor('the other controller commits', async () => {
    await journal.poll();
    return journal.firstOfEpochAbove(lease.epoch);
  }, 20_000, 50);
  await sleep(Math.max(0, stoppedAt + LEASE_MS + 1000 - Date.now()));
  victim.proc?.kill('SIGCONT');
  // It wakes with its loops mid-flight: give any write it still had queued the time to try.
  await waitFor(`${victim.id} stepping down\n${logs.get(victim.id)}`, async () => /stopped leading/.test(logs.get(victim.id) ?? ''), 10_000, 100);
  await sleep(2000);
  await journal.poll();
  const stale = journal.entries.filter((e) => e.seq > first.seq && e.epoch === lease.epoch);
  assert.deepEqual(stale.map((e) => e.seq), [], `no entry of epoch ${lease.epoch} after epoch ${first.epoch} began`);
  assertEpochsNeverGoBack();
  assert.match(await readyText(victim.ops), /standby/);
});

test('partition the leader from PostgreSQL: it stops committing within the renew deadline; nameservers keep answering', async () => {
  // The controller in the namespace must lead: move the lease there.
  let lease = await committingLeader();
  while (!controllerOf(lease.holder).inNetns) {
    const host = controllerOf(lease.holder);
    await stopped(host.proc, 'SIGKILL');
    const held = lease.epoch;
    await waitFor('the namespaced controller commits', async () => {
      await journal.poll();
      return journal.firstOfEpochAbove(held);
    }, 20_000, 50);
    await restart(host);
    lease = await committingLeader();
  }
  const victim = controllerOf(lease.holder);
  const logBefore = (logs.get(victim.id) ?? '').length;
  const unansweredBefore = probe.unanswered.length;
  const cutAt = Date.now();
  await net.cut();
  const first = await waitFor('the other controller commits', async () => {
    await journal.poll();
    return journal.firstOfEpochAbove(lease.epoch);
  }, 20_000, 50);
  figures.push(`takeover after the leader was partitioned: ${Date.parse(first.at) - cutAt} ms`);
  await sleep(Math.max(0, cutAt + LEASE_MS + 1000 - Date.now()));
  await net.heal();
  await waitFor(`${victim.id} stepping down\n${logs.get(victim.id)}`, async () => /stopped leading/.test((logs.get(victim.id) ?? '').slice(logBefore)), 10_000, 100);
  const stepDown = logTime(victim.id, logBefore, 'stopped leading');
  figures.push(`partitioned leader stopped acting ${stepDown - cutAt} ms after the cut (renew deadline ${RENEW_MS} ms)`);
  assert.ok(stepDown - cutAt <= RENEW_MS + 500, `stopped acting within the renew deadline (${stepDown - cutAt} ms)`);
  await waitFor(`${victim.id} a standby again`, async () => /standby/.test(await readyText(victim.ops).catch(() => '')), 20_000, 200);
  await sleep(1000);
  await journal.poll();
  const late = journal.entries.filter((e) => e.epoch === lease.epoch && Date.parse(e.at) > cutAt + RENEW_MS);
  assert.deepEqual(late.map((e) => `${e.seq} at ${e.at}`), [], 'no commit of the partitioned epoch after the renew deadline');
  assert.deepEqual(probe.unanswered.slice(unansweredBefore), [], 'every DNS query answered during the partition');
});

test('kill -9 the PostgreSQL primary and promote a standby: nothing acknowledged lost, writes resume within promotion + 2 s, every query answered', async () => {
  await committingLeader();
  const seenBefore = journal.entries.map((e) => `${e.seq} ${e.soaSerial} ${e.epoch}`);
  const ackedBefore = new Map(workload.acked);
  const maxRv = Math.max(...[...ackedBefore.values()].map((a) => a.rv));
  const unansweredBefore = probe.unanswered.length;
  const killedAt = Date.now();
  await pg.primary.kill();
  const standby = await pg.mostAdvancedStandby();
  await pg.promote(standby);
  pgFromNetns.retarget(standby.port);
  await pg.waitForStandbys();
  const promotedAt = Date.now();
  const resumed = await waitFor('an acknowledged write after the kill', async () => workload.firstAckAfter(killedAt), 30_000, 50);
  figures.push(`PostgreSQL failover: promotion ${promotedAt - killedAt} ms; first acknowledged write ${resumed - killedAt} ms after the kill`);
  assert.ok(resumed <= promotedAt + 2000, `writes resumed ${resumed - promotedAt} ms after the promotion`);
  const lease = await committingLeader();
  await waitFor('a commit after the failover', async () => {
    await journal.poll();
    return journal.entries.some((e) => Date.parse(e.at) > promotedAt) || undefined;
  }, 20_000, 100);
  // Nothing the old primary acknowledged is gone.
  const after = new Map((await store.zoneChangesSince(0))?.map((e) => [e.seq, `${e.seq} ${e.soaSerial} ${e.epoch}`]) ?? []);
  assert.deepEqual(seenBefore.filter((line) => after.get(Number(line.split(' ')[0])) !== line), [], 'every journal entry committed before the kill is there as it was');
  assert.ok((await store.revision()) >= maxRv, 'the resourceVersion counter did not go back');
  const missing = (await workload.missing(apis[1] as string)).filter((m) => ackedBefore.has(m.split(':')[0] as string));
  assert.deepEqual(missing, [], 'every write acknowledged before the kill is there');
  assert.deepEqual(probe.unanswered.slice(unansweredBefore), [], 'every DNS query answered throughout');
  assert.ok(lease.epoch >= 1);
});

test('watch handoff on PostgreSQL: a resourceVersion from API server A, watched on B, delivers every later event once, in order', async () => {
  const post = async (api: string, name: string) => {
    const r = await fetch(`${api}/api/v1/namespaces/default/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name }, spec: { ports: [{ port: 80 }] } }) });
    const text = await r.text();
    assert.equal(r.status, 201, text);
    return JSON.parse(text).metadata.resourceVersion as string;
  };
  const from = await post(apis[0] as string, 'handoff-0');
  const names: string[] = [];
  for (let i = 1; i <= 10; i++) {
    names.push(`handoff-${i}`);
    await post(apis[i % 2] as string, `handoff-${i}`);
  }
  const events = await watch(`${apis[1]}/api/v1/namespaces/default/services?watch=1&resourceVersion=${from}`, (e) => e.object.metadata.name.startsWith('handoff-') && e.type === 'ADDED', names.length);
  assert.deepEqual(events, names.map((n) => `ADDED ${n}`));
});

test('over all runs: no serial went back, none was served with two contents, NSD followed by IXFR, every acknowledged write is present and the journal replays to the zone', async () => {
  await workload.stop();
  await waitFor('NSD at the primary nameserver’s serial', async () => {
    const [a, b] = [await soaSerial(nameservers[0]?.port as number, ZONE), await soaSerial(nsdPort, ZONE)];
    return a !== undefined && a === b;
  }, 20_000, 200);
  await sleep(500);
  probe.stop();
  await sampler.stop();
  figures.push(`zone contents sampled: ${ledger.contents.size} serials; transfers per server ${JSON.stringify(Object.fromEntries(ledger.samples))}; DNS questions asked ${probe.asked}, unanswered ${probe.unanswered.length}`);
  figures.push(`workload: ${workload.acked.size} services, ${workload.ackTimes.length} acknowledged writes, ${workload.failures.length} refused or timed out, ${workload.flaps} pod flaps`);
  assert.deepEqual(ledger.violations, []);
  // NSD restarts its server process on every reload, cutting a transfer in flight; fedns's must all complete.
  assert.deepEqual(sampler.errors.filter((e) => !e.startsWith('nsd: Error: read ECONNRESET')), [], 'every transfer of the zone completed');
  assert.deepEqual(probe.unanswered, [], 'every DNS question answered');
  for (const n of ['ns1', 'ns2', 'nsd']) assert.ok((ledger.samples.get(n) ?? 0) > 10, `${n} sampled (${ledger.samples.get(n)})`);

  const metrics = await (await fetch(`${nameservers[0]?.ops}/metrics`)).text();
  const count = (type: string, result: string) =>
    metrics
      .split('\n')
      .filter((l) => l.startsWith('fedns_dns_transfers_total{') && l.includes(`type="${type}"`) && l.includes(`result="${result}"`))
      .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  figures.push(`NSD's transfers from ns1: IXFR incremental ${count('IXFR', 'incremental')}, IXFR answered in full ${count('IXFR', 'full')}`);
  assert.equal(count('IXFR', 'full'), 0, 'no IXFR fell back to the whole zone');
  assert.ok(count('IXFR', 'incremental') > 20, 'NSD followed by IXFR');

  await assertNothingLost(apis[0] as string);
  await assertJournalReplays();
  assertEpochsNeverGoBack();
  // Every Service acknowledged has its global name in the zone.
  const zone = await store.zoneSnapshot();
  const names = new Set(zone.recordSets.map((r) => r.name));
  const unpublished = [...workload.acked.keys()].filter((n) => !names.has(`${n}.default.myfed.svc.${ZONE}`));
  assert.deepEqual(unpublished, [], 'every acknowledged Service is published');
});

/** Every acknowledged write is there; if not, what the object log says of it (who wrote which resourceVersion). */
async function assertNothingLost(api: string): Promise<void> {
  const missing = await workload.missing(api);
  const forensics: string[] = [];
  for (const m of missing) {
    const name = m.split(':')[0] as string;
    const history = await store.objectHistory('services', 'default', name, 30);
    forensics.push(`${name}: ${history.map((h) => `${h.rv} ${h.type} by ${h.actor} at ${h.at}`).join('; ')}`);
    const rv = Number(/acknowledged at (\d+)/.exec(m)?.[1]);
    const at = await store.objectChangesSince(rv - 1, 1);
    if (Array.isArray(at)) forensics.push(`rv ${rv} in the log: ${at.map((c) => `${c.kind} ${c.namespace}/${c.name} ${c.type} by ${c.actor}`).join(', ') || 'none'}`);
  }
  assert.deepEqual(missing, [], `every acknowledged write present\n${forensics.join('\n')}`);
}

/** Journal sequence contiguous, serials chained, and replaying it from the start gives the zone. */
async function assertJournalReplays(): Promise<void> {
  const snap = await store.zoneSnapshot();
  const entries = ((await store.zoneChangesSince(0)) ?? []).filter((e) => e.seq <= snap.seq);
  assert.equal(entries[0]?.seq, 1, 'the journal starts at the first commit');
  entries.forEach((e, i) => {
    if (i === 0) return;
    const prev = entries[i - 1] as JournalEntry;
    assert.equal(e.seq, prev.seq + 1, `seq ${prev.seq} is followed by ${prev.seq + 1}, not ${e.seq}`);
    assert.equal(e.prevSoaSerial, prev.soaSerial, `entry ${e.seq} starts from serial ${prev.soaSerial}`);
  });
  assert.equal(entries.at(-1)?.soaSerial, snap.soaSerial);
  const key = (r: RecordSet) => `${r.name} ${r.type}`;
  const replayed = new Map<string, RecordSet>();
  for (const e of entries) {
    for (const r of e.deleted) replayed.delete(key(r));
    for (const r of e.added) replayed.set(key(r), r);
  }
  const canon = (rs: Iterable<RecordSet>) => [...rs].map((r) => `${key(r)} ${r.ttl} ${[...r.data].sort().join(',')}`).sort();
  assert.deepEqual(canon(replayed.values()), canon(snap.recordSets), 'replaying the journal reproduces the zone');
}

/** In commit order, the leader epoch never goes back: a deposed leader never lands a commit. */
function assertEpochsNeverGoBack(): void {
  let max = 0;
  for (const e of journal.entries) {
    assert.ok((e.epoch ?? 0) >= max, `entry ${e.seq} carries epoch ${e.epoch} after epoch ${max}`);
    max = Math.max(max, e.epoch ?? 0);
  }
}

/** When the controller first logged `msg` (pino's time), after `from` characters of its log. */
function logTime(id: string, from: number, msg: string): number {
  for (const line of (logs.get(id) ?? '').slice(from).split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      return (JSON.parse(line) as { time: number }).time;
    } catch {}
  }
  throw new Error(`${id} did not log "${msg}"`);
}

type WatchEvent = { type: string; object: { metadata: { name: string } } };
async function watch(url: string, keep: (e: WatchEvent) => boolean, count: number): Promise<string[]> {
  const out: string[] = [];
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 10_000);
  try {
    const res = await fetch(url, { signal: ctl.signal });
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += Buffer.from(chunk).toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const e = JSON.parse(buf.slice(0, nl)) as WatchEvent;
        buf = buf.slice(nl + 1);
        if (keep(e)) out.push(`${e.type} ${e.object.metadata.name}`);
      }
      if (out.length >= count) break;
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
  return out;
}

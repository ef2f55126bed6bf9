/**
 * `pnpm bench:dns`: fedns vs NSD, queries per second with dnsperf on the same
 * names in the same run, at 1 and at 2 server processes (DESIGN §8: fedns >=
 * 0.9 × NSD at both, goal parity; 0 queries lost).
 *
 * Builds a federation of SERVICES (default 1,000) services over the seed's 13
 * clusters (store + reconciler, i.e. the cascade engine), serves it with
 * `fedns nameserver`, AXFRs it into NSD as a secondary, then runs dnsperf with
 * ONE query file — every level of every service (zone, region, global; A,
 * CNAME chains included) plus 10% names that do not exist — against each.
 *
 * Fairness: for each process count N (PROCS, default "1,2") fedns runs N DNS
 * worker processes (--dns-workers N, one SO_REUSEPORT socket each) and NSD
 * server-count N with reuseport; both have RRL off, no query logging and 4 MiB
 * socket buffers; dnsperf uses the same options for both. Rounds alternate
 * which server goes first, and each round's ratio compares the two runs of that
 * round; the summary is the median over ROUNDS rounds.
 *
 * Each run is a throughput run (dnsperf -q OUTSTANDING, as fast as the server
 * answers: q/s, lost queries, average latency) followed by a latency run
 * (dnsperf -v at a fixed LATENCY_QPS offered to both: p50/p99 from every
 * reply). The latency is not taken from the throughput run: at saturation it is
 * the queue dnsperf keeps full (OUTSTANDING / q/s), and -v's per-reply output
 * costs dnsperf enough CPU on a small machine to lower both servers' q/s.
 *
 * The floor (FLOOR=0 turns it off): a bare Node.js dgram server (bench/udp-echo.ts) with the
 * same process count, socket options and burst sending, echoing each query with no DNS work at
 * all, measured in the same round. Its ratio to NSD is the most fedns could reach with Node's
 * UDP sockets on this machine.
 *
 * BASELINE=/path/to/checkout adds another fedns (e.g. the commit before a change, with its own
 * node_modules) to every round, for a before/after in the same conditions.
 *
 * Routing by client location (issue 14; ECS=0 turns it off): a second fedns nameserver over the same
 * federation with every service routed by client location (federation.fedns.io/routing: nearest),
 * --client-networks configured, and an EDNS Client Subnet option in every query (dnsperf -E), measured
 * in the same rounds; reported as its ratio to the plain fedns run (DESIGN target for issue 14:
 * within 15%). Its global names answer per region, chosen per query from the ECS address.
 * (The routed run is DO=0: with DNSSEC=1 its zone is signed too, but DO=1 answers on a signed zone
 * carry the whole signed set, not a region's; see the nameserver README.)
 *
 * DNSSEC=1 (issue 15): the zone is signed by the writer (ZoneSigning) before NSD transfers it,
 * and every round adds a DO=1 throughput run (dnsperf -D) of fedns and of NSD: fedns DO=1 q/s
 * beside its DO=0 q/s of the same round (target: within 20%, ratio >= 0.8), and DO=1 against NSD.
 *
 * DNSTAP=1 adds a second fedns with the same flags plus --dnstap-socket, logging every query and
 * response to fstrm_capture (Debian fstrm-bin, writing to /dev/null). After the others, each round
 * runs three throughput runs back to back, in an order rotated every round: fedns without dnstap
 * again ("off"), the dnstap fedns with the collector reading ("tap"; the collector's CPU counted
 * as the server's), and with the collector stopped by SIGSTOP ("stall": it reads nothing, so once
 * the socket buffer and fedns's bounded queue are full every frame is dropped and counted). The
 * summary gives tap/off and stall/off, q/s and CPU per query (issue 13: a stalled collector within
 * 5% of dnstap off). On a shared machine the CPU per query is the steadier of the two.
 *
 * Noise: the machine may be shared. Every run reports the CPU that neither the
 * server nor dnsperf used ("others", from /proc/stat), and the kernel's receive
 * drops on the server's sockets (/proc/net/udp), where lost queries come from.
 */
import { type ChildProcess, execFile, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RecordsReconciler, ZoneSigning } from '@fedns/controller';
import { isDnssecType } from '@fedns/model';
import { openStore } from '@fedns/store';
import { freePort, waitFor } from '../test/helpers.js';
import { nsdSecondaryConf } from './nsd.js';
import { populateSeed, seedScenario } from './seed.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVICES = Number(process.env.SERVICES ?? 1000);
const SECONDS = Number(process.env.SECONDS_PER_RUN ?? 8);
const LATENCY_SECONDS = Number(process.env.LATENCY_SECONDS ?? 3);
const LATENCY_QPS = Number(process.env.LATENCY_QPS ?? 30000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const PROCS = (process.env.PROCS ?? '1,2').split(',').map(Number);
// 16 client sockets: SO_REUSEPORT picks a server socket by the client's address and port, so with
// few client sockets one server process can get most of the load by chance (4 sockets over 2
// processes: a 3:1 or 4:0 split in 5 runs of 8). The load itself is set by OUTSTANDING.
const CLIENTS = Number(process.env.CLIENTS ?? 16);
// One dnsperf thread: on a 2-core machine a second one takes CPU from whichever server is measured.
const THREADS = Number(process.env.THREADS ?? 1);
const OUTSTANDING = Number(process.env.OUTSTANDING ?? 300);
const TARGET = 0.9;
// Also measure a bare Node dgram echo server (bench/udp-echo.ts) with the same process count: the
// most any Node.js UDP server reaches here, fedns's own work excluded.
const FLOOR = process.env.FLOOR !== '0';
// Another fedns checkout (a directory with its own node_modules) measured in the same rounds, e.g.
// the commit before a change: BASELINE=/path/to/checkout. Its --dns-workers N as that version reads it.
const BASELINE = process.env.BASELINE;
// The routed run with ECS in every query (issue 14).
const ECS = process.env.ECS !== '0';
/** ECS option 8: family 1, source /24, scope 0, 198.18.0.0 — a client network mapped to asia-east1 below. */
const ECS_OPTION = '8:00011800c61200';
const CLIENT_NETWORKS = '198.18.0.0/15=asia-east1,100.64.0.0/10=europe-west1,192.0.2.0/24=us-east1,203.0.113.0/24=us-central1';
// Sign the zone and measure DO=1 queries beside DO=0 ones (issue 15: within 20%).
const DNSSEC = process.env.DNSSEC === '1';
const DO_TARGET = 0.8;
// fedns with --dnstap-socket to fstrm_capture, reading and stopped: DNSTAP=1.
const DNSTAP = process.env.DNSTAP === '1';

const scenario = seedScenario;
type Who = 'fedns' | 'NSD';
type Runner = Who | 'floor' | 'base' | 'ecs' | 'off' | 'tap' | 'stall';

async function build(dataDir: string, annotations?: Record<string, string>): Promise<{ names: string[]; recordSets: number }> {
  const store = await openStore({ dataDir });
  await populateSeed(store, SERVICES, annotations);
  const zone = { zone: scenario.zone, soa: { mname: `ns1.${scenario.zone}`, rname: `hostmaster.${scenario.zone}`, refresh: 3600, retry: 600, expire: 604800, minimum: 30, ttl: 3600 }, nameservers: [{ name: `ns1.${scenario.zone}`, addresses: ['127.0.0.1'] }] };
  const dnssec = DNSSEC ? new ZoneSigning({ store, zone, enabled: true }) : undefined;
  const reconciler = new RecordsReconciler({ store, federation: { name: scenario.federation, zone: scenario.zone }, ...(dnssec ? { dnssec } : {}) });
  reconciler.enqueueAll('bench:dns build');
  await reconciler.flush();
  reconciler.stop();
  // The names the cascade published (not the NSEC3 chain's hashed owners).
  const sets = (await store.listRecordSets()).filter((r) => !isDnssecType(r.type));
  await store.close();
  const names = [...new Set(sets.map((r) => r.name))];
  return { names, recordSets: sets.length };
}

function queryFile(path: string, names: string[]): number {
  const lines = names.map((n) => `${n} A`);
  const nx = Math.ceil(names.length / 10);
  for (let i = 0; i < nx; i++) lines.push(`nope-${i}.default.${scenario.federation}.svc.${scenario.zone} A`);
  // Deterministic shuffle so neither server sees a friendlier order.
  let seed = 42;
  for (let i = lines.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return lines.length;
}

// --- what the machine did during a run -------------------------------------------------------

const TICK = 100; // USER_HZ
/** Busy CPU seconds of the whole machine so far (all cores). */
function machineBusy(): number {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) / TICK;
}

/** CPU seconds used so far by a process and every descendant still alive. */
function treeCpu(pid: number): number {
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop() as number;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / TICK; // utime, stime
      for (const t of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/)) if (t) stack.push(Number(t));
    } catch {
      // gone
    }
  }
  return total;
}

/** Datagrams the kernel dropped on the UDP sockets bound to 127.0.0.1:port (full receive buffer). */
function udpDrops(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let drops = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local) drops += Number(f[12] ?? 0);
  }
  return drops;
}

// --- dnsperf ---------------------------------------------------------------------------------

interface Throughput {
  qps: number;
  avgLatencyMs: number;
  lost: number;
  lostPct: number;
  sent: number;
  kernelDrops: number;
  serverCpu: number;
  dnsperfCpu: number;
  othersCpu: number;
  /** Wall-clock seconds of the run (longer than -l when dnsperf waits for lost queries). */
  seconds: number;
}

interface Latency {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  lost: number;
  replies: number;
}

/** dnsperf under bash, so `times` reports its CPU. Returns dnsperf's stdout and its CPU seconds. */
async function dnsperfRun(args: string[], seconds: number, stdoutFile?: string): Promise<{ out: string; cpu: number }> {
  const cmd = `dnsperf "$@"${stdoutFile ? ` > '${stdoutFile}'` : ''}; times`;
  const { stdout } = await run('bash', ['-c', cmd, 'bench', ...args], { timeout: (seconds + 30) * 1000, maxBuffer: 16 * 1024 * 1024 });
  const times = stdout.trim().split('\n').at(-1) ?? '';
  const cpu = [...times.matchAll(/(\d+)m([\d.]+)s/g)].reduce((s, m) => s + Number(m[1]) * 60 + Number(m[2]), 0);
  return { out: stdoutFile ? readFileSync(stdoutFile, 'utf8') : stdout, cpu };
}

const baseArgs = (port: number, file: string) => ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-c', String(CLIENTS), '-T', String(THREADS), '-t', '2'];

async function throughput(port: number, file: string, serverPids: number[], extra: string[] = []): Promise<Throughput> {
  const drops0 = udpDrops(port);
  const busy0 = machineBusy();
  const srv0 = treesCpu(serverPids);
  const t0 = performance.now();
  const { out, cpu } = await dnsperfRun([...baseArgs(port, file), '-l', String(SECONDS), '-q', String(OUTSTANDING), ...extra], SECONDS);
  const serverCpu = treesCpu(serverPids) - srv0;
  const busy = machineBusy() - busy0;
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    sent: num(/Queries sent:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    lostPct: num(/Queries lost:\s+\d+ \(([\d.]+)%\)/),
    kernelDrops: udpDrops(port) - drops0,
    serverCpu,
    dnsperfCpu: cpu,
    othersCpu: Math.max(0, busy - serverCpu - cpu),
    seconds: (performance.now() - t0) / 1000,
  };
}

async function latency(port: number, file: string, dir: string): Promise<Latency> {
  const outFile = join(dir, 'dnsperf-v.out');
  const { out } = await dnsperfRun([...baseArgs(port, file), '-l', String(LATENCY_SECONDS), '-q', String(OUTSTANDING), '-Q', String(LATENCY_QPS), '-v'], LATENCY_SECONDS, outFile);
  // "> NOERROR name A 0.000123" per reply, "> T name A" per lost query.
  const lat: number[] = [];
  let lost = 0;
  for (const line of out.split('\n')) {
    if (!line.startsWith('> ')) continue;
    if (line.startsWith('> T ')) {
      lost++;
      continue;
    }
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) lat.push(v * 1000);
  }
  rmSync(outFile, { force: true });
  const sorted = Float64Array.from(lat).sort();
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  return { p50Ms: q(0.5), p99Ms: q(0.99), maxMs: sorted.at(-1) ?? Number.NaN, lost, replies: sorted.length };
}

// --- processes -------------------------------------------------------------------------------

async function soaSerial(port: number): Promise<number> {
  const { stdout } = await run('dig', ['+short', '+tries=1', '+time=1', '-p', String(port), '@127.0.0.1', scenario.zone, 'SOA']);
  return Number(stdout.trim().split(/\s+/)[2] ?? Number.NaN);
}

function startProcess(cmd: string, args: string[], cwd: string): { child: ChildProcess; output: () => string } {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function readNsdLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'nsd.log'), 'utf8').slice(-4000);
  } catch {
    return '';
  }
}

// --- reporting -------------------------------------------------------------------------------

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const k = (n: number) => `${(n / 1000).toFixed(1)}k`;
const ms = (n: number) => n.toFixed(2);

interface RoundResult {
  t: Record<Who, Throughput>;
  l: Record<Who, Latency>;
  floor?: Throughput;
  base?: Throughput;
  /** The routed fedns with ECS in every query, and the plain fedns measured right beside it. */
  ecs?: { routed: Throughput; plain: Throughput };
  /** DNSSEC=1: the DO=1 throughput runs of the round. */
  signed?: Record<Who, Throughput>;
  /** DNSTAP=1: fedns without dnstap, logging to a reading collector, and to a stopped one, back to back. */
  dnstap?: Record<TapMode, Throughput & Frames>;
  load: number;
}

type TapMode = 'off' | 'tap' | 'stall';
const TAP_ORDERS: TapMode[][] = [['off', 'tap', 'stall'], ['stall', 'off', 'tap'], ['tap', 'stall', 'off']];

interface Frames {
  framesSent: number;
  framesDropped: number;
}

/** fedns_dnstap_frames_total of a fedns, by result. */
async function dnstapFrames(ops: number | undefined): Promise<Frames> {
  if (ops === undefined) return { framesSent: 0, framesDropped: 0 };
  const text = await (await fetch(`http://127.0.0.1:${ops}/metrics`)).text();
  const v = (result: string) => Number(new RegExp(`^fedns_dnstap_frames_total\\{result="${result}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { framesSent: v('sent'), framesDropped: v('dropped') };
}

/** A throughput run of a dnstap fedns, with the frames it sent and dropped meanwhile. */
async function tapThroughput(port: number, ops: number | undefined, file: string, pids: number[]): Promise<Throughput & Frames> {
  const f0 = await dnstapFrames(ops);
  const t = await throughput(port, file, pids);
  const f1 = await dnstapFrames(ops);
  return { ...t, framesSent: f1.framesSent - f0.framesSent, framesDropped: f1.framesDropped - f0.framesDropped };
}

function line(who: Runner, t: Throughput, l: Latency | undefined): string {
  const seconds = t.seconds;
  const lat = l ? `p50 ${ms(l.p50Ms)} p99 ${ms(l.p99Ms)} ms, lost ${l.lost}` : 'no latency run          ';
  return `${who.padEnd(5)} ${k(t.qps).padStart(7)} q/s  avg ${ms(t.avgLatencyMs)} ms  lost ${t.lost} (${t.lostPct}%), kernel drops ${t.kernelDrops}  | ${lat}  | CPU: server ${(t.serverCpu / seconds).toFixed(2)}, dnsperf ${(t.dnsperfCpu / seconds).toFixed(2)}, others ${(t.othersCpu / seconds).toFixed(2)} cores`;
}

/** N bare echo processes on one port (SO_REUSEPORT), each started with fork and ready when bound. */
async function startFloor(n: number, port: number): Promise<ChildProcess[]> {
  const file = fileURLToPath(new URL('./udp-echo.ts', import.meta.url));
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ChildProcess>((resolve, reject) => {
          const c = fork(file, [String(port)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
          c.once('message', () => resolve(c));
          c.once('exit', (code) => reject(new Error(`udp-echo exited (${code})`)));
        }),
    ),
  );
}

/** Queries answered per second of the server's CPU time (steadier than q/s when others share the machine). */
const perCpu = (t: Throughput) => (t.qps * t.seconds) / t.serverCpu;
/** Server CPU per answered query, in microseconds. */
const usPerQuery = (t: Throughput) => ((t.serverCpu / t.seconds) * 1e6) / t.qps;

/** CPU seconds of several process trees. */
const treesCpu = (pids: number[]) => pids.reduce((s, p) => s + treeCpu(p), 0);

async function benchProcs(n: number, dir: string, dataDir: string, file: string, names: string[], routedDir?: string): Promise<RoundResult[]> {
  const procs: ChildProcess[] = [];
  try {
    const [fPort, nPort, opsPort] = [await freePort(), await freePort(), await freePort()];
    const startFedns = async (root: string, port: number, ops: number, data = dataDir, extra: string[] = []) => {
      const p = startProcess(process.execPath, [
        '--import', 'tsx', join(root, 'apps/fedns/src/main.ts'), 'nameserver',
        '--data-dir', data, '--federation', scenario.federation, '--zone', scenario.zone,
        '--dns-listen', `127.0.0.1:${port}`, '--api-listen', `127.0.0.1:${ops}`,
        '--dns-workers', String(n), '--rrl-rate', 'off', '--xfr-allow', '127.0.0.1/32', '--log-level', 'warn', ...extra,
      ], root);
      procs.push(p.child);
      await waitFor(`fedns (${root}) to answer\n${p.output()}`, async () => (await soaSerial(port)) > 0, 120_000, 200);
      return p;
    };
    const fedns = await startFedns(ROOT, fPort, opsPort);
    const serial = await soaSerial(fPort);

    const nd = mkdtempSync(join(dir, `nsd${n}-`));
    writeFileSync(join(nd, 'nsd.conf'), nsdSecondaryConf({ dir: nd, port: nPort, serverCount: n, zone: scenario.zone, primaryPort: fPort, transfer: 'AXFR' }));
    const nsd = startProcess('nsd', ['-d', '-c', join(nd, 'nsd.conf')], nd);
    procs.push(nsd.child);
    await waitFor(`NSD to AXFR serial ${serial} from fedns\n${nsd.output()}\n${readNsdLog(nd)}`, async () => (await soaSerial(nPort)) === serial, 60_000, 200);

    // Same answers first: a benchmark of different answers would be meaningless.
    for (const name of [names[0], names[Math.floor(names.length / 2)], names.at(-1)] as string[]) {
      const [a, b] = await Promise.all([fPort, nPort].map((p) => run('dig', ['+short', '+norec', '-p', String(p), '@127.0.0.1', name, 'A']).then((r) => r.stdout.split('\n').sort().join(' '))));
      if (a !== b) throw new Error(`fedns and NSD answer ${name} differently:\n${a}\n${b}`);
    }
    const floorPort = await freePort();
    const floor = FLOOR ? await startFloor(n, floorPort) : [];
    procs.push(...floor);
    const [basePort, baseOps] = [await freePort(), await freePort()];
    const base = BASELINE ? await startFedns(BASELINE, basePort, baseOps) : undefined;
    if (base) await dnsperfRun([...baseArgs(basePort, file), '-n', '1', '-q', '50'], 10);
    const [ecsPort, ecsOps] = [await freePort(), await freePort()];
    const ecs = routedDir ? await startFedns(ROOT, ecsPort, ecsOps, routedDir, ['--client-networks', CLIENT_NETWORKS]) : undefined;
    if (ecs) {
      // The routed answers are what is measured: check one.
      const global = names.find((x) => /^svc-\d+\.default\.[^.]+\.svc\.[^.]+\.[^.]+\.$/.test(x) && x.split('.').length === 7) ?? names[0];
      const { stdout } = await run('dig', ['+norec', '+subnet=198.18.0.0/24', '-p', String(ecsPort), '@127.0.0.1', global as string, 'A']);
      if (!/CLIENT-SUBNET: 198\.18\.0\.0\/24\/15/.test(stdout)) throw new Error(`the routed fedns does not answer ${global} by client location:\n${stdout}`);
      await dnsperfRun([...baseArgs(ecsPort, file), '-n', '1', '-q', '50', '-E', ECS_OPTION], 10);
    }
    const [tapPort, tapOps] = [await freePort(), await freePort()];
    let collector: ReturnType<typeof startProcess> | undefined;
    let tap: ReturnType<typeof startProcess> | undefined;
    if (DNSTAP) {
      const sock = join(dir, `dnstap-${n}.sock`);
      const c = startProcess('fstrm_capture', ['-t', 'protobuf:dnstap.Dnstap', '-u', sock, '-w', '/dev/null'], dir);
      collector = c;
      procs.push(c.child);
      await waitFor(`fstrm_capture to listen\n${c.output()}`, async () => c.output().includes('opened output file'), 10_000, 50);
      tap = await startFedns(ROOT, tapPort, tapOps, dataDir, ['--dnstap-socket', sock]);
      await dnsperfRun([...baseArgs(tapPort, file), '-n', '1', '-q', '50'], 10);
    }
    // Warm both (fedns compiles answers lazily; NSD pages its database in).
    for (const p of [fPort, nPort]) await dnsperfRun([...baseArgs(p, file), '-n', '1', '-q', '50'], 10);
    if (DNSSEC) for (const p of [fPort, nPort]) await dnsperfRun([...baseArgs(p, file), '-n', '1', '-q', '50', '-D'], 10);

    console.log(`\n${n} process${n > 1 ? 'es' : ''}: fedns --dns-workers ${n} (pid ${fedns.child.pid}), NSD server-count ${n} (pid ${nsd.child.pid})`);
    const pid: Record<Who, number[]> = { fedns: [fedns.child.pid as number], NSD: [nsd.child.pid as number] };
    const port: Record<Who, number> = { fedns: fPort, NSD: nPort };
    const rounds: RoundResult[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order: Who[] = r % 2 === 0 ? ['NSD', 'fedns'] : ['fedns', 'NSD'];
      const load = loadavg()[0] as number;
      const t = {} as Record<Who, Throughput>;
      const l = {} as Record<Who, Latency>;
      for (const who of order) {
        t[who] = await throughput(port[who], file, pid[who]);
        l[who] = await latency(port[who], file, dir);
      }
      let signed: Record<Who, Throughput> | undefined;
      if (DNSSEC) {
        signed = {} as Record<Who, Throughput>;
        for (const who of order) signed[who] = await throughput(port[who], file, pid[who], ['-D']);
      }
      const fl = FLOOR ? await throughput(floorPort, file, floor.map((c) => c.pid as number)) : undefined;
      const bs = base ? await throughput(basePort, file, [base.child.pid as number]) : undefined;
      // A pair of its own, back to back in alternating order: on a shared machine only runs close in time compare.
      let ec: RoundResult['ecs'];
      if (ecs) {
        const routedRun = () => throughput(ecsPort, file, [ecs.child.pid as number], ['-E', ECS_OPTION]);
        const plainRun = () => throughput(port.fedns, file, pid.fedns);
        if (r % 2 === 0) {
          const plain = await plainRun();
          ec = { plain, routed: await routedRun() };
        } else {
          const routed = await routedRun();
          ec = { routed, plain: await plainRun() };
        }
      }
      let tapRuns: Record<TapMode, Throughput & Frames> | undefined;
      const tapOrder = TAP_ORDERS[r % TAP_ORDERS.length] as TapMode[];
      if (tap && collector) {
        const c = collector.child;
        const tapPids = [tap.child.pid as number, c.pid as number];
        tapRuns = {} as Record<TapMode, Throughput & Frames>;
        for (const mode of tapOrder) {
          if (mode === 'off') tapRuns.off = await tapThroughput(fPort, undefined, file, pid.fedns);
          else if (mode === 'tap') tapRuns.tap = await tapThroughput(tapPort, tapOps, file, tapPids);
          else {
            c.kill('SIGSTOP');
            try {
              tapRuns.stall = await tapThroughput(tapPort, tapOps, file, tapPids);
            } finally {
              c.kill('SIGCONT');
            }
          }
        }
      }
      rounds.push({ t, l, load, ...(fl ? { floor: fl } : {}), ...(bs ? { base: bs } : {}), ...(ec ? { ecs: ec } : {}), ...(signed ? { signed } : {}), ...(tapRuns ? { dnstap: tapRuns } : {}) });
      console.log(`  round ${r + 1} (load average ${load.toFixed(2)} at start), ${order.join(' then ')}${fl ? ', then the bare Node echo' : ''}${bs ? ', then the baseline' : ''}${tapRuns ? `, then ${tapOrder.join(', ')} (dnstap)` : ''}:`);
      for (const who of order) console.log(`    ${line(who, t[who], l[who])}`);
      if (signed) for (const who of order) console.log(`    ${line(who, signed[who], undefined)}  (DO=1)`);
      if (signed) console.log(`    fedns DO=1/DO=0 ${(signed.fedns.qps / t.fedns.qps).toFixed(3)}   NSD DO=1/DO=0 ${(signed.NSD.qps / t.NSD.qps).toFixed(3)}   DO=1 fedns/NSD ${(signed.fedns.qps / signed.NSD.qps).toFixed(3)}`);
      if (fl) console.log(`    ${line('floor', fl, undefined)}`);
      if (bs) console.log(`    ${line('base', bs, undefined)}`);
      if (ec) {
        console.log(`    routing by client location, a pair of its own (${r % 2 === 0 ? 'plain first' : 'routed first'}):`);
        console.log(`    ${line('fedns', ec.plain, undefined)}`);
        console.log(`    ${line('ecs', ec.routed, undefined)}`);
        console.log(`    ratio routed+ECS/fedns ${(ec.routed.qps / ec.plain.qps).toFixed(3)}; per server CPU second ${(perCpu(ec.routed) / perCpu(ec.plain)).toFixed(3)}`);
      }
      if (tapRuns) {
        const tr = tapRuns;
        for (const mode of tapOrder) console.log(`    ${line(mode, tr[mode], undefined)}${mode === 'off' ? '' : `  | dnstap frames sent ${tr[mode].framesSent}, dropped ${tr[mode].framesDropped}`}`);
        console.log(`    dnstap q/s: tap/off ${(tr.tap.qps / tr.off.qps).toFixed(3)}, stall/off ${(tr.stall.qps / tr.off.qps).toFixed(3)}; CPU per query (µs): off ${usPerQuery(tr.off).toFixed(2)}, tap ${usPerQuery(tr.tap).toFixed(2)}, stall ${usPerQuery(tr.stall).toFixed(2)}`);
      }
      console.log(`    ratio fedns/NSD ${(t.fedns.qps / t.NSD.qps).toFixed(3)}${fl ? `   (bare Node echo/NSD ${(fl.qps / t.NSD.qps).toFixed(3)})` : ''}${bs ? `   (baseline/NSD ${(bs.qps / t.NSD.qps).toFixed(3)})` : ''}`);
    }
    return rounds;
  } finally {
    for (const c of procs.reverse()) await stop(c);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fedns-bench-dns-'));
  const dataDir = join(dir, 'data');
  try {
    const t0 = Date.now();
    const { names, recordSets } = await build(dataDir);
    const file = join(dir, 'queries.txt');
    const queries = queryFile(file, names);
    console.log(`federation: ${SERVICES} services × ${scenario.clusters.length} clusters → ${recordSets} record sets, ${names.length} names (built in ${Date.now() - t0} ms)`);
    console.log(`query file: ${queries} queries (every name once, A; plus 10% names that do not exist)`);
    console.log(`throughput: dnsperf -c ${CLIENTS} -T ${THREADS} -q ${OUTSTANDING} -l ${SECONDS}; latency: dnsperf -v -Q ${LATENCY_QPS} -l ${LATENCY_SECONDS}; ${ROUNDS} rounds, alternating; ${availableParallelism()} cores`);

    // The same federation, every service routed by client location, in a data dir of its own.
    const routedDir = ECS ? join(dir, 'routed') : undefined;
    if (routedDir) {
      const routed = await build(routedDir, { 'federation.fedns.io/routing': 'nearest' });
      console.log(`routed run: the same federation with federation.fedns.io/routing: nearest on every service (${routed.recordSets} record sets), --client-networks ${CLIENT_NETWORKS}, dnsperf -E ${ECS_OPTION} (ECS 198.18.0.0/24 in every query)`);
    }
    const results = new Map<number, RoundResult[]>();
    for (const n of PROCS) results.set(n, await benchProcs(n, dir, dataDir, file, names, routedDir));

    console.log('\nsummary (medians over the rounds; ratio = median of the per-round ratios; p99 at the fixed latency load)');
    console.log('procs  fedns q/s  NSD q/s  ratio   fedns p99  NSD p99   lost fedns  lost NSD   others (cores, median)  echo/NSD');
    let met = true;
    for (const [n, rounds] of results) {
      const ratio = median(rounds.map((r) => r.t.fedns.qps / r.t.NSD.qps));
      if (ratio < TARGET) met = false;
      const lost = (who: Who) => rounds.reduce((s, r) => s + r.t[who].lost + r.l[who].lost, 0);
      const sent = (who: Who) => rounds.reduce((s, r) => s + r.t[who].sent + r.l[who].replies + r.l[who].lost, 0);
      const others = median(rounds.flatMap((r) => [r.t.fedns.othersCpu / r.t.fedns.seconds, r.t.NSD.othersCpu / r.t.NSD.seconds]));
      console.log(
        `${String(n).padStart(5)}  ${k(median(rounds.map((r) => r.t.fedns.qps))).padStart(9)}  ${k(median(rounds.map((r) => r.t.NSD.qps))).padStart(7)}  ${ratio.toFixed(3)}   ${ms(median(rounds.map((r) => r.l.fedns.p99Ms))).padStart(6)} ms  ${ms(median(rounds.map((r) => r.l.NSD.p99Ms))).padStart(6)} ms  ${`${lost('fedns')}/${sent('fedns')}`.padStart(11)}  ${`${lost('NSD')}/${sent('NSD')}`.padStart(9)}   ${others.toFixed(2).padEnd(22)}  ${FLOOR ? median(rounds.map((r) => (r.floor as Throughput).qps / r.t.NSD.qps)).toFixed(3) : '-'}`,
      );
    }
    if (BASELINE) for (const [n, rounds] of results) console.log(`baseline ${BASELINE}, ${n} process(es): median ratio baseline/NSD ${median(rounds.map((r) => (r.base as Throughput).qps / r.t.NSD.qps)).toFixed(3)}, lost ${rounds.reduce((s, r) => s + (r.base as Throughput).lost, 0)}`);
    if (ECS) {
      for (const [n, rounds] of results) {
        const pairs = rounds.map((r) => r.ecs as NonNullable<RoundResult['ecs']>);
        const ratio = median(pairs.map((p) => p.routed.qps / p.plain.qps));
        const cpuRatio = median(pairs.map((p) => perCpu(p.routed) / perCpu(p.plain)));
        console.log(`routing by client location with ECS in every query, ${n} process(es): ${k(median(pairs.map((p) => p.routed.qps)))} q/s vs ${k(median(pairs.map((p) => p.plain.qps)))} q/s plain; per-pair ratios ${pairs.map((p) => (p.routed.qps / p.plain.qps).toFixed(3)).join(', ')}; median ${ratio.toFixed(3)} (target >= 0.85: ${ratio >= 0.85 ? 'met' : 'NOT met'}); queries per server CPU second, median ratio ${cpuRatio.toFixed(3)}; lost ${pairs.reduce((s, p) => s + p.routed.lost, 0)}`);
      }
    }
    console.log(`target: ratio >= ${TARGET} at every process count: ${met ? 'met' : 'NOT met'}`);
    if (DNSSEC) {
      let doMet = true;
      for (const [n, rounds] of results) {
        const sig = rounds.map((r) => r.signed as Record<Who, Throughput>);
        const doRatio = median(rounds.map((r, i) => (sig[i] as Record<Who, Throughput>).fedns.qps / r.t.fedns.qps));
        if (doRatio < DO_TARGET) doMet = false;
        console.log(`DNSSEC, ${n} process(es): fedns DO=1 ${k(median(sig.map((x) => x.fedns.qps)))} q/s vs DO=0 ${k(median(rounds.map((r) => r.t.fedns.qps)))} q/s, median DO=1/DO=0 ${doRatio.toFixed(3)}; NSD DO=1 ${k(median(sig.map((x) => x.NSD.qps)))} q/s; DO=1 fedns/NSD ${median(sig.map((x) => x.fedns.qps / x.NSD.qps)).toFixed(3)}; lost DO=1 ${sig.reduce((a, x) => a + x.fedns.lost, 0)}`);
      }
      console.log(`target: fedns DO=1 within 20% of DO=0 (ratio >= ${DO_TARGET}): ${doMet ? 'met' : 'NOT met'}`);
    }
    if (DNSTAP) {
      console.log('\ndnstap (medians over the rounds of the per-round ratios to "off", the same fedns without dnstap in the same trio; CPU per query: server CPU / answered, the collector included for tap; frames summed)');
      console.log('procs  tap/off  stall/off   µs/query off  tap  stall   tap frames sent/dropped  stall frames sent/dropped  lost off/tap/stall');
      for (const [n, rounds] of results) {
        const runs = rounds.map((r) => r.dnstap as Record<TapMode, Throughput & Frames>);
        const sum = (mode: TapMode, k: 'framesSent' | 'framesDropped' | 'lost') => runs.reduce((s, x) => s + x[mode][k], 0);
        const ratio = (mode: TapMode) => median(runs.map((x) => x[mode].qps / x.off.qps)).toFixed(3);
        const us = (mode: TapMode) => median(runs.map((x) => usPerQuery(x[mode]))).toFixed(2);
        console.log(
          `${String(n).padStart(5)}  ${ratio('tap').padStart(7)}  ${ratio('stall').padStart(9)}   ${us('off').padStart(12)} ${us('tap').padStart(5)} ${us('stall').padStart(6)}   ${`${sum('tap', 'framesSent')}/${sum('tap', 'framesDropped')}`.padStart(23)}  ${`${sum('stall', 'framesSent')}/${sum('stall', 'framesDropped')}`.padStart(25)}  ${`${sum('off', 'lost')}/${sum('tap', 'lost')}/${sum('stall', 'lost')}`.padStart(17)}`,
        );
      }
      console.log('target (issue 13): a stopped collector within 5% of dnstap off (stall/off >= 0.95)');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

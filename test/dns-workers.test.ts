/**
 * Issue 10 item 4: one socket per DNS worker. `fedns nameserver --dns-workers 3`
 * runs three worker processes that each bind the DNS port themselves
 * (SO_REUSEPORT), seen in /proc/net/udp and /proc/net/tcp and in each worker's
 * file descriptors; the kernel spreads queries from different source ports over
 * them (per-worker counters in the primary's /metrics); a worker killed with
 * SIGKILL is replaced while the others keep answering; and a commit reaches
 * every worker. `serve` keeps answering DNS from its worker while its main
 * process is stopped (SIGSTOP); `--dns-workers 0` answers in the main process.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, test } from 'node:test';
import type { RecordSet } from '@fedns/model';
import { openStore } from '@fedns/store';
import dnsPacket from 'dns-packet';
import { type FednsProcess, freePort, spawnFedns, tempDir, waitFor, waitReady } from './helpers.js';

const Z = 'example.com.';
const rs = (name: string, data: string[]): RecordSet => ({ name, type: 'A', ttl: 30, data, level: 'global', namespace: 'prod', service: 'web' });

const procs: FednsProcess[] = [];
after(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
});

/** Child processes of `pid` that run the DNS worker module. */
function workerPids(pid: number): number[] {
  let children: string[];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
  return children.map(Number).filter((c) => {
    try {
      return readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('dns-worker');
    } catch {
      return false;
    }
  });
}

/** Socket inodes bound to 127.0.0.1:port in /proc/net/udp or /proc/net/tcp (TCP: listening only). */
function socketInodes(table: 'udp' | 'tcp', port: number): Set<string> {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const out = new Set<string>();
  for (const line of readFileSync(`/proc/net/${table}`, 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== local) continue;
    if (table === 'tcp' && f[3] !== '0A') continue; // 0A = LISTEN
    out.add(f[9] as string);
  }
  return out;
}

/** Socket inodes among a process's file descriptors. */
function ownedSockets(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1] as string);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

const alive = (pid: number) => {
  try {
    return !/^\S+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/**
 * One A query from a fresh UDP socket (a new source port, so possibly another worker), sent up to
 * three times a second apart from that same port, as dig does: the answer's addresses, or 'timeout'.
 */
function queryFromNewPort(port: number, name: string, tries = 3): Promise<string> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const q = dnsPacket.encode({ type: 'query', id: 7, flags: 0, questions: [{ name, type: 'A' }] });
    let sent = 0;
    const attempt = () => {
      if (sent++ === tries) {
        s.close();
        resolve('timeout');
        return;
      }
      s.send(q, port, '127.0.0.1');
      t = setTimeout(attempt, 1000);
    };
    let t: NodeJS.Timeout | undefined;
    s.on('message', (msg) => {
      clearTimeout(t);
      s.close();
      const r = dnsPacket.decode(msg) as unknown as { rcode: string; answers?: { data: unknown }[] };
      resolve(`${r.rcode} ${(r.answers ?? []).map((a) => String(a.data)).sort().join(',')}`);
    });
    attempt();
  });
}

/** `fedns_dns_worker_queries_total` by worker slot. */
async function perWorker(ops: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${ops}/metrics`)).text();
  return new Map([...text.matchAll(/^fedns_dns_worker_queries_total\{worker="(\d+)"[^}]*\} (\d+)/gm)].map((m) => [m[1] as string, Number(m[2])]));
}

test('--dns-workers 3: a socket per worker, queries spread over them, a killed worker replaced while the others answer', async () => {
  const dataDir = tempDir();
  const store = await openStore({ dataDir });
  await store.commitZone({ upserts: [rs(`www.${Z}`, ['192.0.2.1'])], deletes: [] }, 'initial zone');
  const [port, opsPort] = [await freePort(), await freePort()];
  const ops = `http://127.0.0.1:${opsPort}`;
  const fedns = spawnFedns(['nameserver', '--data-dir', dataDir, '--dns-listen', `127.0.0.1:${port}`, '--api-listen', `127.0.0.1:${opsPort}`, '--dns-workers', '3', '--rrl-rate', 'off', '--log-level', 'warn']);
  procs.push(fedns);
  await waitReady(ops, fedns);
  const primary = fedns.child.pid as number;

  // Three workers, three UDP sockets and three TCP listeners on the port: one of each per worker,
  // none in the primary (a socket shared through the primary would show once).
  const workers = workerPids(primary);
  assert.equal(workers.length, 3, `three worker processes: ${workers}`);
  const checkSockets = (pids: number[]) => {
    const udp = socketInodes('udp', port);
    const tcp = socketInodes('tcp', port);
    assert.equal(udp.size, 3, 'three UDP sockets on the port');
    assert.equal(tcp.size, 3, 'three TCP listeners on the port');
    for (const pid of pids) {
      const owned = ownedSockets(pid);
      assert.equal([...udp].filter((i) => owned.has(i)).length, 1, `worker ${pid} owns one of the UDP sockets`);
      assert.equal([...tcp].filter((i) => owned.has(i)).length, 1, `worker ${pid} owns one of the TCP listeners`);
    }
    const mine = ownedSockets(primary);
    assert.ok(![...udp, ...tcp].some((i) => mine.has(i)), 'the primary holds none of them');
  };
  checkSockets(workers);

  // Queries from 60 source ports: every one answered, by more than one worker (the kernel hashes
  // the client's address and port to a socket).
  const before = await perWorker(ops);
  const answers = await Promise.all(Array.from({ length: 60 }, () => queryFromNewPort(port, `www.${Z}`)));
  assert.deepEqual(new Set(answers), new Set(['NOERROR 192.0.2.1']));
  const spread = await perWorker(ops);
  const served = [...spread].filter(([w, n]) => n > (before.get(w) ?? 0));
  assert.ok(served.length >= 2, `queries answered by more than one worker: ${JSON.stringify([...spread])}`);
  assert.ok([...spread.values()].reduce((a, b) => a + b, 0) >= 60, 'the primary sums every worker\'s queries');

  // Kill one worker: once it is gone, the other two answer every query.
  const victim = workers[0] as number;
  process.kill(victim, 'SIGKILL');
  await waitFor('the killed worker to be gone', async () => !alive(victim), 5000, 10);
  const during = await Promise.all(Array.from({ length: 40 }, () => queryFromNewPort(port, `www.${Z}`)));
  assert.deepEqual(new Set(during), new Set(['NOERROR 192.0.2.1']), 'the remaining workers answer while one is down');

  // It is replaced: three workers again, the new one with its own socket, and it answers too.
  const replaced = await waitFor('a replacement worker', async () => {
    const now = workerPids(primary);
    return now.length === 3 && !now.includes(victim) && socketInodes('udp', port).size === 3 ? now : undefined;
  }, 15000, 50);
  assert.ok(replaced.filter((p) => !workers.includes(p)).length === 1, 'exactly one new worker process');
  checkSockets(replaced);
  const mark = await perWorker(ops);
  const more = await Promise.all(Array.from({ length: 90 }, () => queryFromNewPort(port, `www.${Z}`)));
  assert.deepEqual(new Set(more), new Set(['NOERROR 192.0.2.1']));
  const after3 = await perWorker(ops);
  assert.deepEqual([...after3.keys()].sort(), ['0', '1', '2']);
  for (const [w, n] of after3) assert.ok(n > (mark.get(w) ?? 0), `worker slot ${w} answers after the replacement: ${JSON.stringify([...after3])}`);
  for (const [w, n] of mark) assert.ok((after3.get(w) ?? 0) >= n, `slot ${w}'s count never goes back (a replacement keeps its predecessor's)`);

  // A commit reaches every worker: from 30 source ports, all see the new address.
  const serial = (await store.commitZone({ upserts: [rs(`www.${Z}`, ['192.0.2.2'])], deletes: [] }, 'change'))?.soaSerial;
  await waitFor('every worker to serve the commit', async () => {
    const seen = await Promise.all(Array.from({ length: 30 }, () => queryFromNewPort(port, `www.${Z}`)));
    return seen.every((a) => a === 'NOERROR 192.0.2.2');
  }, 5000, 20);
  const text = await (await fetch(`${ops}/metrics`)).text();
  assert.match(text, new RegExp(`^fedns_dns_zone_serial\\{zone="example.com."[^}]*\\} ${serial}$`, 'm'), 'the gauge is the serial every worker serves');
  await store.close();
});

test('serve: DNS in a worker keeps answering while the main process is stopped (SIGSTOP); --dns-workers 0 answers in process', async () => {
  const dataDir = tempDir();
  // The apex (NODATA for A: NOERROR, no answer) is there whatever the control plane publishes.
  const APEX = 'NOERROR ';
  const [apiPort, port] = [await freePort(), await freePort()];
  const serve = spawnFedns(['serve', '--data-dir', dataDir, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${port}`, '--dns-workers', '1', '--log-level', 'warn']);
  procs.push(serve);
  await waitReady(`http://127.0.0.1:${apiPort}`, serve);
  const main = serve.child.pid as number;
  assert.equal(workerPids(main).length, 1);
  assert.equal(await queryFromNewPort(port, Z), APEX);
  // The control plane frozen: the API does not answer, DNS does.
  process.kill(main, 'SIGSTOP');
  try {
    await assert.rejects(fetch(`http://127.0.0.1:${apiPort}/readyz`, { signal: AbortSignal.timeout(500) }));
    const answers = await Promise.all(Array.from({ length: 20 }, () => queryFromNewPort(port, Z)));
    assert.deepEqual(new Set(answers), new Set([APEX]), 'DNS answers while the main process is stopped');
  } finally {
    process.kill(main, 'SIGCONT');
  }
  await serve.stop();

  // In process: one socket on the port, the main process's own.
  const [opsPort, port0] = [await freePort(), await freePort()];
  const lone = spawnFedns(['nameserver', '--data-dir', dataDir, '--dns-listen', `127.0.0.1:${port0}`, '--api-listen', `127.0.0.1:${opsPort}`, '--dns-workers', '0', '--log-level', 'warn']);
  procs.push(lone);
  await waitReady(`http://127.0.0.1:${opsPort}`, lone);
  assert.equal(workerPids(lone.child.pid as number).length, 0, 'no worker process');
  const udp = socketInodes('udp', port0);
  assert.equal(udp.size, 1);
  assert.ok(ownedSockets(lone.child.pid as number).has([...udp][0] as string), 'the main process holds the socket');
  assert.equal(await queryFromNewPort(port0, Z), APEX);
});

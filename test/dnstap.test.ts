/**
 * Issue 13 item 4: query logging the DNS way. `fedns nameserver --dnstap-socket SOCK` with two DNS
 * workers logs to the real collector, fstrm_capture (Debian fstrm-bin); dig's queries over UDP and
 * TCP come back from dnstap-ldns (Debian dnstap-ldns) and BIND's dnstap-read as AUTH_QUERY and
 * AUTH_RESPONSE messages with their names, types, RCODEs, protocol and addresses. Each worker holds
 * its own connection. A collector that goes away and comes back gets frames again (those logged
 * meanwhile included); one that stops reading (SIGSTOP) never delays an answer — dig and dnsperf
 * keep being answered at once and the dropped counter rises; without the flag nothing connects.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { RecordSet } from '@fedns/model';
import { startCapture as startCollector, stopCapture } from '../packages/nameserver/test/fstrm-capture.js';
import { dig, type FednsProcess, freePort, openTestStore, spawnFedns, tempDir, waitFor, waitReady } from './helpers.js';

const run = promisify(execFile);
const Z = 'example.com.';
const P = 'web.prod.myfed.svc';
const dir = tempDir('fedns-dnstap-');
const dataDir = join(dir, 'data');
const SOCK = join(dir, 'dnstap.sock');
const rs = (name: string, type: RecordSet['type'], data: string[]): RecordSet => ({ name, type, ttl: 30, data, level: 'global', namespace: 'prod', service: 'web' });

let fedns: FednsProcess;
let port = 0;
let ops = '';
const captures: ChildProcess[] = [];
const capture = () => captures.at(-1) as ChildProcess;
const procs: FednsProcess[] = [];

/** fstrm_capture on `sock` writing `file`, once it listens. */
async function startCapture(file: string, sock = SOCK): Promise<ChildProcess> {
  const cap = await startCollector(sock, file);
  captures.push(cap);
  return cap;
}

/** Connected sockets on `sock` (the collector's end of each connection) in /proc/net/unix. */
function connections(sock = SOCK): number {
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(` ${sock}`) && l.trim().split(/\s+/)[5] === '03').length;
}

async function frames(base = ops): Promise<{ sent: number; dropped: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const v = (result: string) => Number(new RegExp(`^fedns_dnstap_frames_total\\{result="${result}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { sent: v('sent'), dropped: v('dropped') };
}

/** Waits until `n` more frames than `from` have been handed to the collector. */
const sentAtLeast = (n: number) => waitFor(`${n} dnstap frames sent`, async () => (await frames()).sent >= n, 15000, 50);

/** dnstap-ldns -y, one document per message, as {field: value} (the DNS message kept as its text). */
async function decode(file: string): Promise<Record<string, string>[]> {
  const { stdout } = await run('dnstap-ldns', ['-y', '-r', file], { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split(/^---$/m)
    .filter((d) => d.trim())
    .map((doc) => {
      const m: Record<string, string> = { text: doc };
      m.identity = /^identity: "(.*)"$/m.exec(doc)?.[1] ?? '';
      // The Message's fields (indented under "message:").
      for (const [, k, v] of doc.matchAll(/^ {2}(\w+): (.*)$/gm)) m[k as string] = (v as string).replace(/^"|"$/g, '');
      const q = /^ {4};(\S+)\s+IN\s+(\S+)$/m.exec(doc);
      m.qname = q?.[1] ?? '';
      m.qtype = q?.[2] ?? '';
      m.rcode = /rcode: (\w+)/.exec(doc)?.[1] ?? '';
      return m;
    });
}

before(async () => {
  const store = await openTestStore(dataDir);
  await store.commitZone(
    {
      upserts: [rs(`${P}.${Z}`, 'A', ['192.0.2.1', '192.0.2.2']), rs(`${P}.${Z}`, 'AAAA', ['2001:db8::1']), rs(`${P}.eu.${Z}`, 'CNAME', [`${P}.${Z}`]), rs(`txt.${Z}`, 'TXT', ['hello'])],
      deletes: [],
    },
    'initial zone',
  );
  await store.close();
  [port] = [await freePort()];
  const opsPort = await freePort();
  ops = `http://127.0.0.1:${opsPort}`;
  await startCapture(join(dir, 'first.fstrm'));
  fedns = spawnFedns(['nameserver', '--data-dir', dataDir, '--dns-listen', `127.0.0.1:${port}`, '--api-listen', `127.0.0.1:${opsPort}`, '--dns-workers', '2', '--rrl-rate', 'off', '--dnstap-socket', SOCK, '--log-level', 'warn']);
  procs.push(fedns);
  await waitReady(ops, fedns, 60_000);
});

after(async () => {
  for (const c of captures) await stopCapture(c);
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

const QUESTIONS: { name: string; type: string; tcp: boolean; rcode: string }[] = [
  { name: `${P}.${Z}`, type: 'A', tcp: false, rcode: 'NOERROR' },
  { name: `${P}.${Z}`, type: 'AAAA', tcp: true, rcode: 'NOERROR' },
  { name: `${P}.eu.${Z}`, type: 'A', tcp: false, rcode: 'NOERROR' },
  { name: `missing.${Z}`, type: 'A', tcp: false, rcode: 'NXDOMAIN' },
  { name: `missing.${Z}`, type: 'TXT', tcp: true, rcode: 'NXDOMAIN' },
  { name: `txt.${Z}`, type: 'TXT', tcp: true, rcode: 'NOERROR' },
  { name: `txt.${Z}`, type: 'MX', tcp: false, rcode: 'NOERROR' },
  { name: 'example.org.', type: 'A', tcp: false, rcode: 'REFUSED' },
];

test('every query and response reaches fstrm_capture from both workers: names, types, RCODEs, protocol and addresses', async () => {
  // Each worker process keeps its own Frame Streams connection.
  await waitFor('two connections at the collector', async () => connections() === 2, 10000, 50);
  // dig picks a new source port per run: over the runs, both workers answer.
  const sent = new Map<string, number>();
  for (let round = 0; round < 3; round++) {
    for (const q of QUESTIONS) {
      const a = await dig(port, q.name, q.type, q.tcp ? ['+tcp'] : []);
      assert.equal(a.status, q.rcode, `${q.name} ${q.type}`);
      const key = `${q.name} ${q.type} ${q.tcp ? 'TCP' : 'UDP'}`;
      sent.set(key, (sent.get(key) ?? 0) + 1);
    }
  }
  const total = QUESTIONS.length * 3;
  await sentAtLeast(2 * total);
  assert.equal((await frames()).dropped, 0);
  const workers = new Map([...(await (await fetch(`${ops}/metrics`)).text()).matchAll(/^fedns_dns_worker_queries_total\{worker="(\d+)"[^}]*\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]));
  assert.ok([...workers.values()].every((n) => n > 0), `both workers answered (so both logged): ${JSON.stringify([...workers])}`);

  await stopCapture(capture());
  const msgs = await decode(join(dir, 'first.fstrm'));
  assert.equal(msgs.length, 2 * total, 'one message per query and one per response');
  const queries = msgs.filter((m) => m.type === 'AUTH_QUERY');
  const responses = msgs.filter((m) => m.type === 'AUTH_RESPONSE');
  assert.equal(queries.length, total);
  assert.equal(responses.length, total);
  for (const m of msgs) {
    assert.equal(m.identity, hostname());
    assert.equal(m.socket_family, 'INET');
    assert.equal(m.query_address, '127.0.0.1');
    assert.equal(m.response_address, '127.0.0.1');
    assert.equal(m.response_port, String(port));
    assert.match(m.query_port ?? '', /^\d+$/);
    assert.match(m.query_time ?? '', /^!!timestamp \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  }
  for (const q of QUESTIONS) {
    const proto = q.tcp ? 'TCP' : 'UDP';
    const is = (m: Record<string, string>) => m.qname === q.name && m.qtype === q.type && m.socket_protocol === proto;
    assert.equal(queries.filter(is).length, 3, `AUTH_QUERY ${q.name} ${q.type} ${proto}`);
    const rs = responses.filter(is);
    assert.equal(rs.length, 3, `AUTH_RESPONSE ${q.name} ${q.type} ${proto}`);
    for (const r of rs) {
      assert.equal(r.rcode, q.rcode, `${q.name} ${q.type}: ${r.text}`);
      assert.ok(r.response_time, 'a response carries its time');
      // The query of the same exchange: same client port, same ID.
      const id = /id: (\d+)/.exec(r.text ?? '')?.[1];
      assert.ok(queries.some((m) => is(m) && m.query_port === r.query_port && /id: (\d+)/.exec(m.text ?? '')?.[1] === id), 'its query is logged too');
    }
  }
  const answer = responses.find((m) => m.qname === `${P}.${Z}` && m.qtype === 'A')?.text ?? '';
  assert.match(answer, /\t192\.0\.2\.1$/m);
  assert.match(answer, /\t192\.0\.2\.2$/m);
  // BIND's reader shows the same exchanges, with both ends.
  const { stdout } = await run('dnstap-read', [join(dir, 'first.fstrm')]);
  assert.equal(stdout.trim().split('\n').length, 2 * total);
  assert.match(stdout, new RegExp(`AQ 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${port} TCP \\d+b txt\\.example\\.com/IN/TXT`));
  assert.match(stdout, new RegExp(`AR 127\\.0\\.0\\.1:\\d+ <- 127\\.0\\.0\\.1:${port} UDP \\d+b missing\\.example\\.com/IN/A`));
});

test('a collector that goes away and comes back gets frames again, those logged meanwhile included', async () => {
  // The collector is gone (stopped above): answers go on.
  await waitFor('the workers to see the collector gone', async () => connections() === 0, 5000, 50);
  const before = await frames();
  const away = await dig(port, `txt.${Z}`, 'TXT');
  assert.equal(away.status, 'NOERROR');
  const awayTcp = await dig(port, `${P}.eu.${Z}`, 'A', ['+tcp']);
  assert.equal(awayTcp.status, 'NOERROR');
  await new Promise((r) => setTimeout(r, 500));
  await startCapture(join(dir, 'second.fstrm'));
  await waitFor('both workers to reconnect', async () => connections() === 2, 15000, 50);
  const back = await dig(port, `back.${Z}`, 'A');
  assert.equal(back.status, 'NXDOMAIN');
  await sentAtLeast(before.sent + 6);
  await stopCapture(capture());
  const msgs = await decode(join(dir, 'second.fstrm'));
  const seen = msgs.map((m) => `${m.type} ${m.socket_protocol} ${m.qname} ${m.qtype}`);
  for (const e of [`AUTH_QUERY UDP txt.${Z} TXT`, `AUTH_RESPONSE UDP txt.${Z} TXT`, `AUTH_QUERY TCP ${P}.eu.${Z} A`, `AUTH_RESPONSE TCP ${P}.eu.${Z} A`, `AUTH_QUERY UDP back.${Z} A`, `AUTH_RESPONSE UDP back.${Z} A`])
    assert.ok(seen.includes(e), `${e} in ${JSON.stringify(seen)}`);
});

test('a collector that stops reading never delays an answer: dig and dnsperf are answered at once, frames are dropped and counted', async (t) => {
  const cap = await startCapture(join(dir, 'third.fstrm'));
  await waitFor('both workers to connect', async () => connections() === 2, 15000, 50);
  cap.kill('SIGSTOP'); // the collector stops reading; the kernel's socket buffers fill, then fedns's bound
  const before = await frames();
  const qfile = join(dir, 'queries.txt');
  const names = [`${P}.${Z} A`, `${P}.${Z} AAAA`, `${P}.eu.${Z} A`, `txt.${Z} TXT`, `missing.${Z} A`];
  writeFileSync(qfile, `${names.join('\n')}\n`);
  // 5,000 queries/s for 4 s: 40,000 frames, more than both workers' bounds and socket buffers hold.
  const perf = run('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', qfile, '-c', '4', '-l', '4', '-Q', '5000', '-t', '1'], { timeout: 30_000 });
  let perfDone = false;
  void perf.finally(() => {
    perfDone = true;
  });
  const times: number[] = [];
  while (!perfDone) {
    const a = await dig(port, `txt.${Z}`, 'TXT', ['+time=1']);
    assert.equal(a.status, 'NOERROR', 'answered within dig\'s 1 s timeout');
    times.push(Number(/Query time: (\d+) msec/.exec(a.raw)?.[1] ?? Number.NaN));
    const t = await dig(port, `${P}.${Z}`, 'A', ['+tcp', '+time=1']);
    assert.equal(t.status, 'NOERROR', 'TCP answered too');
    await new Promise((r) => setTimeout(r, 100));
  }
  const { stdout } = await perf;
  const lost = Number(/Queries lost:\s+(\d+)/.exec(stdout)?.[1] ?? Number.NaN);
  const completed = Number(/Queries completed:\s+(\d+)/.exec(stdout)?.[1] ?? Number.NaN);
  const after = await frames();
  assert.ok(after.dropped - before.dropped > 1000, `frames dropped while the collector is stopped: ${JSON.stringify({ before, after })}`);
  assert.ok(completed > 15_000, `dnsperf: ${stdout}`);
  assert.equal(lost, 0, `no query lost: ${stdout}`);
  const sorted = times.filter(Number.isFinite).sort((a, b) => a - b);
  const avg = Number(/Average Latency \(s\):\s+([\d.]+)/.exec(stdout)?.[1] ?? Number.NaN) * 1000;
  t.diagnostic(`collector stopped: dnsperf ${completed} answered, ${lost} lost, average ${avg.toFixed(2)} ms; dig ${sorted.join(' ')} ms; frames dropped ${after.dropped - before.dropped}, sent ${after.sent - before.sent}`);
  assert.ok(sorted.length >= 3 && (sorted.at(-1) as number) < 250, `dig's query times with the collector stopped (ms): ${sorted.join(' ')}`);
  // The collector reads again: frames flow again.
  cap.kill('SIGCONT');
  const resumed = await frames();
  await dig(port, `${P}.${Z}`, 'A');
  await waitFor('frames sent again', async () => (await frames()).sent > resumed.sent, 15000, 50);
  await stopCapture(cap);
});

test('without --dnstap-socket nothing connects and nothing is counted', async () => {
  // A collector of its own, so the dnstap nameserver above cannot be the one connecting to it.
  const sock = join(dir, 'none.sock');
  const cap = await startCapture(join(dir, 'none.fstrm'), sock);
  const [p, opsPort] = [await freePort(), await freePort()];
  const plain = spawnFedns(['nameserver', '--data-dir', dataDir, '--dns-listen', `127.0.0.1:${p}`, '--api-listen', `127.0.0.1:${opsPort}`, '--dns-workers', '2', '--rrl-rate', 'off', '--log-level', 'warn']);
  procs.push(plain);
  await waitReady(`http://127.0.0.1:${opsPort}`, plain, 60_000);
  for (const tcp of [false, true]) assert.equal((await dig(p, `txt.${Z}`, 'TXT', tcp ? ['+tcp'] : [])).status, 'NOERROR');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(connections(sock), 0, 'no connection to the collector');
  assert.deepEqual(await frames(`http://127.0.0.1:${opsPort}`), { sent: 0, dropped: 0 });
  await plain.stop();
  await stopCapture(cap);
  assert.equal((await decode(join(dir, 'none.fstrm'))).length, 0);
});

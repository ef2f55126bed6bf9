/**
 * dnstap: the hand encoder against a known byte layout and against dnstap-ldns (Debian
 * dnstap-ldns) decoding it; a server logging to the real collector, fstrm_capture (Debian
 * fstrm-bin), read back with dnstap-ldns and BIND's dnstap-read; and the Frame Streams writer's
 * handshake, bounds and reconnection against a collector written here.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { startCapture, stopCapture } from './fstrm-capture.js';
import { AUTH_QUERY, AUTH_RESPONSE, DNSTAP_CONTENT_TYPE, SOCKET_TCP, SOCKET_UDP, dnstapHead, encodeFrame } from '../src/dnstap.js';
import { FrameStreamWriter, controlFrame, parseControl } from '../src/fstrm.js';
import { startDnsServer } from '../src/index.js';
import { makeIndex } from './fixture.js';
import { TcpClient, mkQuery, udpQuery } from './helpers.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'fedns-dnstap-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Collects frames like a FrameStreamWriter's `buf`/`reserve`, one buffer per frame. */
function sink(limit = Number.POSITIVE_INFINITY) {
  const frames: Buffer[] = [];
  const s = {
    buf: Buffer.alloc(0),
    frames,
    reserve(n: number): number {
      if (frames.length >= limit) return -1;
      s.buf = Buffer.alloc(n);
      frames.push(s.buf);
      return 0;
    },
  };
  return s;
}

/** A frame's dnstap payload decoded by dnstap-ldns (-x: hexlified protobuf on stdin), as YAML text. */
async function ldns(frame: Buffer): Promise<string> {
  const child = execFile('dnstap-ldns', ['-x', '-y']);
  child.stdin?.end(`${frame.subarray(4).toString('hex')}\n`);
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  await new Promise((resolve) => child.on('exit', resolve));
  return out;
}

const QUERY = mkQuery({ name: 'www.example.com.', qtype: 28, id: 0x1234 });
const T = 1_700_000_000_123.5; // 2023-11-14 22:13:20.1235 UTC (exact in a double)

test('encodeFrame: the dnstap.proto byte layout, field by field', () => {
  const head = dnstapHead('ns1', 'fedns');
  assert.equal(head.toString('hex'), `0a03${Buffer.from('ns1').toString('hex')}1205${Buffer.from('fedns').toString('hex')}`);
  const s = sink();
  encodeFrame(s, head, AUTH_QUERY, SOCKET_UDP, Buffer.from([192, 0, 2, 1]), 53000, { address: Buffer.from([192, 0, 2, 53]), port: 53 }, T, QUERY);
  const message = Buffer.concat([
    Buffer.from('0801' + '1001' + '1801', 'hex'), // type AUTH_QUERY, family INET, protocol UDP
    Buffer.from('2204c0000201' + '2a04c0000235', 'hex'), // query_address, response_address
    Buffer.from('30889e03' + '3835', 'hex'), // query_port 53000 (varint), response_port 53
    Buffer.from('4080e2cfaa06' + '4de0755c07', 'hex'), // query_time_sec 1700000000, query_time_nsec 123500000 (fixed32)
    Buffer.from([0x52, QUERY.length]),
    QUERY, // query_message
  ]);
  const dnstap = Buffer.concat([head, Buffer.from([0x72, message.length]), message, Buffer.from('7801', 'hex')]);
  const frame = Buffer.concat([Buffer.from([0, 0, 0, dnstap.length]), dnstap]);
  assert.equal(s.frames[0]?.toString('hex'), frame.toString('hex'));
});

test('encodeFrame: dnstap-ldns decodes queries and responses, IPv4 and IPv6, UDP and TCP', async () => {
  const head = dnstapHead('ns1.example.net', 'fedns');
  const s = sink();
  const reply = Buffer.from(QUERY);
  reply[2] = 0x84; // QR, AA
  reply[3] = 0x03; // NXDOMAIN
  encodeFrame(s, head, AUTH_QUERY, SOCKET_UDP, Buffer.from([192, 0, 2, 1]), 53000, { address: Buffer.from([192, 0, 2, 53]), port: 53 }, T, QUERY);
  const v6 = Buffer.from('20010db8000000000000000000000001', 'hex');
  encodeFrame(s, head, AUTH_RESPONSE, SOCKET_TCP, v6, 40000, { address: null, port: 5353 }, T, reply);
  const q = await ldns(s.frames[0] as Buffer);
  for (const line of ['identity: "ns1.example.net"', 'version: "fedns"', 'type: AUTH_QUERY', 'query_time: !!timestamp 2023-11-14 22:13:20.123500', 'socket_family: INET', 'socket_protocol: UDP', 'query_address: "192.0.2.1"', 'response_address: "192.0.2.53"', 'query_port: 53000', 'response_port: 53', ';www.example.com.\tIN\tAAAA'])
    assert.ok(q.includes(line), `${line} in\n${q}`);
  const r = await ldns(s.frames[1] as Buffer);
  for (const line of ['type: AUTH_RESPONSE', 'response_time: !!timestamp 2023-11-14 22:13:20.123500', 'socket_family: INET6', 'socket_protocol: TCP', 'query_address: "2001:db8::1"', 'query_port: 40000', 'response_port: 5353', 'rcode: NXDOMAIN', 'flags: qr aa'])
    assert.ok(r.includes(line), `${line} in\n${r}`);
  assert.ok(!r.includes('response_address'), 'no response address when the server is bound to a wildcard');
  // A sink that refuses (the writer's bound): nothing is written.
  const full = sink(0);
  encodeFrame(full, head, AUTH_QUERY, SOCKET_UDP, Buffer.from([192, 0, 2, 1]), 1, { address: null, port: 53 }, T, QUERY);
  assert.equal(full.frames.length, 0);
});

async function waitFor(what: string, fn: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const waitUntil = (what: string, fn: () => boolean, ms = 5000) => waitFor(what, async () => fn(), ms);

const tapCount = async (registry: Registry) => {
  const m = await registry.getSingleMetric('fedns_dnstap_frames_total')?.get();
  const v = (result: string) => m?.values.find((x) => x.labels.result === result)?.value ?? 0;
  return { sent: v('sent'), dropped: v('dropped') };
};

test('a server logs every exchange to fstrm_capture: dnstap-ldns and dnstap-read show them (IPv4 and IPv6, UDP and TCP, drops, transfers)', async () => {
  const sock = join(dir, 'server.sock');
  const file = join(dir, 'server.fstrm');
  const cap = await startCapture(sock, file);
  const registry = new Registry();
  const v4 = await startDnsServer({ index: makeIndex(), listen: '127.0.0.1:0', registry, dnstap: { socketPath: sock, identity: 'test-ns' } });
  const registry6 = new Registry();
  const v6 = await startDnsServer({ index: makeIndex(), listen: '[::1]:0', registry: registry6, dnstap: { socketPath: sock, identity: 'test-ns' } });
  try {
    const dig = (port: number, at: string, args: string[]) => run('dig', ['+norec', '+tries=1', '+time=2', '-p', String(port), `@${at}`, ...args]);
    await dig(v4.udpPort, '127.0.0.1', ['nginx.prod.myfed.svc.example.com', 'A']);
    await dig(v4.udpPort, '127.0.0.1', ['+tcp', 'missing.example.com', 'AAAA']);
    await dig(v6.udpPort, '::1', ['txt.example.com', 'TXT']);
    await dig(v4.udpPort, '127.0.0.1', ['example.com', 'AXFR']); // refused: no transfer configuration
    // QR=1: dropped without a reply, still logged as a query.
    assert.equal(await udpQuery(v4.udpPort, mkQuery({ name: 'dropped.example.com.', flags: 0x8000 })), null);
    // Two queries pipelined in one TCP segment.
    const tcp = new TcpClient(v4.tcpPort);
    tcp.sock.write(Buffer.concat([TcpClient.frame(mkQuery({ name: 'pipelined.example.com.', qtype: 16 })), TcpClient.frame(mkQuery({ name: 'txt.example.com.', qtype: 16, id: 2 }))]));
    await tcp.waitFor(2);
    tcp.close();
    // Sent: handed to the kernel, so fstrm_capture has them before it is stopped.
    await waitFor('the frames to be sent', async () => (await tapCount(registry)).sent === 11 && (await tapCount(registry6)).sent === 2);
  } finally {
    await v4.close();
    await v6.close();
    await stopCapture(cap);
  }
  const { stdout: quiet } = await run('dnstap-ldns', ['-q', '-r', file]);
  const lines = quiet.trim().split('\n').map((l) => l.replace(/^\S+ \S+ /, ''));
  const expect = [
    'AQ 127.0.0.1 UDP 73b "nginx.prod.myfed.svc.example.com." IN A',
    'AR 127.0.0.1 UDP 121b "nginx.prod.myfed.svc.example.com." IN A',
    'AQ 127.0.0.1 TCP 60b "missing.example.com." IN AAAA',
    'AR 127.0.0.1 TCP 127b "missing.example.com." IN AAAA',
    'AQ ::1 UDP',
    'AR ::1 UDP',
    'AQ 127.0.0.1 TCP',
    'AR 127.0.0.1 TCP',
    'AQ 127.0.0.1 UDP',
    'AQ 127.0.0.1 TCP',
    'AR 127.0.0.1 TCP',
    'AQ 127.0.0.1 TCP',
    'AR 127.0.0.1 TCP',
  ];
  assert.equal(lines.length, expect.length, quiet);
  for (const e of expect) assert.ok(lines.some((l) => l.startsWith(e)), `"${e}" in\n${quiet}`);
  assert.ok(lines.some((l) => /^AQ ::1 UDP \d+b "txt\.example\.com\." IN TXT$/.test(l)), quiet);
  assert.ok(lines.some((l) => /^AR 127\.0\.0\.1 TCP \d+b "example\.com\." IN AXFR$/.test(l)), quiet);
  assert.ok(lines.some((l) => /^AQ 127\.0\.0\.1 UDP \d+b "dropped\.example\.com\." IN A$/.test(l)), quiet);
  assert.ok(lines.some((l) => /^AR 127\.0\.0\.1 TCP \d+b "pipelined\.example\.com\." IN TXT$/.test(l)), quiet);
  assert.ok(lines.some((l) => /^AR 127\.0\.0\.1 TCP \d+b "txt\.example\.com\." IN TXT$/.test(l)), quiet);
  // BIND's reader agrees, with both ends' addresses and ports.
  const { stdout: bind } = await run('dnstap-read', [file]);
  assert.match(bind, /AQ 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ UDP 73b nginx\.prod\.myfed\.svc\.example\.com\/IN\/A/);
  assert.match(bind, /AR ::1:\d+ <- ::1:\d+ UDP \d+b txt\.example\.com\/IN\/TXT/);
  const { stdout: yaml } = await run('dnstap-ldns', ['-y', '-r', file]);
  assert.match(yaml, /identity: "test-ns"/);
  assert.match(yaml, /rcode: REFUSED/, 'the refused AXFR');
});

/** A Frame Streams reader written here: ACCEPTs `accept`, records frames; `read: false` stops reading after START. */
function fakeCollector(path: string, opts: { accept?: string; read?: boolean } = {}) {
  const controls: { type: number; contentTypes: string[] }[] = [];
  const frames: Buffer[] = [];
  const conns = new Set<net.Socket>();
  const server = net.createServer((s) => {
    conns.add(s);
    s.on('close', () => conns.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (len === 0) {
          const f = parseControl(buf);
          if (!f) return;
          buf = buf.subarray(f.length);
          controls.push(f);
          if (f.type === 4) s.write(controlFrame(1, [opts.accept ?? DNSTAP_CONTENT_TYPE])); // READY → ACCEPT
          if (f.type === 2 && opts.read === false) s.pause(); // START: stop reading
          if (f.type === 3) s.end(controlFrame(5)); // STOP → FINISH
        } else {
          if (buf.length < 4 + len) return;
          frames.push(buf.subarray(4, 4 + len));
          buf = buf.subarray(4 + len);
        }
      }
    });
  });
  const listening = new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    controls,
    frames,
    listening,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
  };
}

function writer(path: string, extra: Partial<ConstructorParameters<typeof FrameStreamWriter>[0]> = {}) {
  const counts = { sent: 0, dropped: 0 };
  const w = new FrameStreamWriter({
    path,
    contentType: DNSTAP_CONTENT_TYPE,
    retryMinMs: 20,
    retryMaxMs: 100,
    onCount: (s, d) => {
      counts.sent += s;
      counts.dropped += d;
    },
    ...extra,
  });
  const put = (payload: Buffer) => {
    const o = w.reserve(4 + payload.length);
    if (o < 0) return false;
    w.buf.writeUInt32BE(payload.length, o);
    payload.copy(w.buf, o + 4);
    return true;
  };
  return { w, counts, put };
}

test('Frame Streams: READY, ACCEPT, START, data frames in order, STOP and FINISH', async () => {
  const path = join(dir, 'hs.sock');
  const c = fakeCollector(path);
  await c.listening;
  const { w, counts, put } = writer(path);
  for (let i = 0; i < 100; i++) assert.ok(put(Buffer.from(`frame ${i}`)));
  await waitUntil('100 frames', () => c.frames.length === 100);
  assert.deepEqual(c.frames.map(String), Array.from({ length: 100 }, (_, i) => `frame ${i}`), 'queued before the handshake, delivered after START, in order');
  assert.deepEqual(c.controls.map((f) => [f.type, f.contentTypes]), [[4, [DNSTAP_CONTENT_TYPE]], [2, [DNSTAP_CONTENT_TYPE]]], 'READY then START, both naming the content type');
  assert.equal(counts.sent, 100);
  await w.close();
  assert.deepEqual(c.controls.at(-1), { type: 3, contentTypes: [], length: 12 }, 'STOP');
  assert.ok(!put(Buffer.from('late')), 'nothing after close');
  await c.close();
});

test('Frame Streams: a collector that stops reading costs dropped frames, never a blocked caller; one that goes away and comes back gets frames again', async () => {
  const path = join(dir, 'slow.sock');
  let c = fakeCollector(path, { read: false });
  await c.listening;
  const { w, counts, put } = writer(path, { maxQueuedFrames: 1000 });
  await waitUntil('the handshake', () => w.connected);
  const payload = Buffer.alloc(200, 0x61);
  // 20 turns of the event loop, 5,000 frames each: far beyond the kernel's socket buffer plus the bound.
  const t0 = performance.now();
  let worst = 0;
  for (let turn = 0; turn < 20; turn++) {
    const s = performance.now();
    for (let i = 0; i < 5000; i++) put(payload);
    worst = Math.max(worst, performance.now() - s);
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(worst < 100, `5,000 frames in one turn take ${worst.toFixed(1)} ms even with the collector stalled`);
  assert.ok(performance.now() - t0 < 3000);
  assert.ok(counts.dropped > 50_000, `dropped: ${JSON.stringify(counts)}`);
  assert.ok(counts.sent + counts.dropped <= 100_000);
  assert.ok(w.full, 'the frame bound is reached: callers count drops without encoding');
  // The collector goes away: what was in flight is counted as dropped; the writer retries.
  await c.close();
  rmSync(path, { force: true });
  await waitUntil('the writer to notice', () => !w.connected);
  assert.ok(put(Buffer.from('while away')), 'frames wait (within the bound) while the collector is away');
  await new Promise((r) => setTimeout(r, 200));
  c = fakeCollector(path);
  await c.listening;
  await waitUntil('a reconnection', () => w.connected);
  put(Buffer.from('after'));
  await waitUntil('frames at the new collector', () => c.frames.map(String).includes('after'));
  assert.deepEqual(c.frames.map(String), ['while away', 'after']);
  await w.close();
  await c.close();
});

test('Frame Streams: a collector that accepts another content type is not written to', async () => {
  const path = join(dir, 'ct.sock');
  const c = fakeCollector(path, { accept: 'protobuf:other' });
  await c.listening;
  const { w, put } = writer(path);
  put(Buffer.from('x'));
  await waitUntil('two attempts', () => c.controls.filter((f) => f.type === 4).length >= 2);
  assert.equal(w.connected, false);
  assert.ok(!c.controls.some((f) => f.type === 2), 'never START');
  assert.equal(c.frames.length, 0);
  await w.close();
  await c.close();
});

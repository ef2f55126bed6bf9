/**
 * Issue 5: fuzzing a running `fedns nameserver` over the wire. More than
 * 100,000 random and mutated packets over UDP and TCP: the process never
 * crashes, never answers what it must drop (QR=1, fewer than 12 octets), and
 * keeps answering good queries correctly all along.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RecordSet } from '@fedns/model';
import { rng, wireName } from '../packages/nameserver/test/helpers.js';
import { type FednsProcess, freePort, spawnFedns, tempDir, waitReady, openTestStore } from './helpers.js';

const dataDir = join(tempDir('fedns-fuzz-'), 'data');
let fedns: FednsProcess;
let ops = '';
let port = 0;
const UDP_PACKETS = 84_000;
const UDP_MUST_DROP = 6_000;
const TCP_FRAMES = 16_000;
const TCP_MUST_DROP = 2_000;

function query(id: number, name: string, qtype = 1, opt: Buffer | null = null): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(1, 4);
  if (opt) h.writeUInt16BE(1, 10);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(qtype, 0);
  q.writeUInt16BE(1, 2);
  return Buffer.concat([h, wireName(name), q, ...(opt ? [opt] : [])]);
}

const OPT = Buffer.from([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0]);
const OPT_COOKIE = Buffer.from([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 12, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
const SEEDS = [
  query(1, 'www.example.com.'),
  query(2, 'a.b.example.com.', 28, OPT),
  query(3, 'big.example.com.', 1, OPT),
  query(4, 'example.com.', 2, OPT_COOKIE),
  query(5, 'example.com.', 252),
  query(6, 'example.com.', 251),
  query(7, 'nx.example.com.', 255),
  query(8, 'www.example.org.', 16, OPT),
  query(9, 'alias.example.com.', 1, OPT),
];

/** A random or mutated message with QR clear and at least 12 octets: the server must answer or FORMERR, never crash. */
function mutated(r: () => number): Buffer {
  let b: Buffer;
  if (r() < 0.1) {
    b = Buffer.alloc(12 + Math.floor(r() * 100));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
  } else {
    b = Buffer.from(SEEDS[Math.floor(r() * SEEDS.length)] as Buffer);
    const n = 1 + Math.floor(r() * 4);
    for (let k = 0; k < n; k++) {
      const op = Math.floor(r() * 6);
      if (op === 0) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      else if (op === 1) {
        const i = Math.floor(r() * b.length);
        b[i] = (b[i] as number) ^ (1 << Math.floor(r() * 8));
      } else if (op === 2) b = b.subarray(0, 12 + Math.floor(r() * (b.length - 12)));
      else if (op === 3) b = Buffer.concat([b, Buffer.from([Math.floor(r() * 256), 0xc0, Math.floor(r() * 64)])]);
      else if (op === 4) b.writeUInt16BE(Math.floor(r() * 4), 4 + 2 * Math.floor(r() * 4));
      else if (b.length > 14) {
        const i = 12 + Math.floor(r() * (b.length - 14));
        b[i] = 0xc0 | Math.floor(r() * 4);
        b[i + 1] = Math.floor(r() * 64);
      }
    }
  }
  b[2] = (b[2] as number) & 0x7f;
  return b;
}

/** What must be dropped: shorter than a header, or a response (QR=1). */
function mustDrop(r: () => number): Buffer {
  if (r() < 0.5) {
    const b = Buffer.alloc(Math.floor(r() * 12));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
    return b;
  }
  const b = r() < 0.5 ? mutated(r) : Buffer.from(SEEDS[Math.floor(r() * SEEDS.length)] as Buffer);
  b[2] = (b[2] as number) | 0x80;
  return b;
}

const rs = (name: string, type: RecordSet['type'], data: string[]): RecordSet => ({ name, type, ttl: 30, data, level: 'global', namespace: 'd', service: 's' });

before(async () => {
  const store = await openTestStore(dataDir);
  await store.commitZone(
    {
      upserts: [
        rs('www.example.com.', 'A', ['192.0.2.1']),
        rs('alias.example.com.', 'CNAME', ['www.example.com.']),
        rs('a.b.example.com.', 'AAAA', ['2001:db8::1']),
        rs('big.example.com.', 'A', Array.from({ length: 80 }, (_, i) => `10.0.0.${i + 1}`)),
      ],
      deletes: [],
    },
    'fuzz zone',
  );
  await store.close();
  port = await freePort();
  const opsPort = await freePort();
  ops = `http://127.0.0.1:${opsPort}`;
  // RRL off: every message of the flood must reach the answering code.
  fedns = spawnFedns(['nameserver', '--data-dir', dataDir, '--dns-listen', `127.0.0.1:${port}`, '--api-listen', `127.0.0.1:${opsPort}`, '--rrl-rate', 'off', '--log-level', 'warn']);
  await waitReady(ops, fedns);
});

after(async () => {
  await fedns?.stop();
});

/** A good query over UDP, answered correctly (retried: under a flood the kernel may drop a datagram). */
async function goodUdp(sock: dgram.Socket, id: number): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const reply = await new Promise<Buffer | null>((resolve) => {
      const t = setTimeout(() => {
        sock.off('message', on);
        resolve(null);
      }, 500);
      const on = (m: Buffer) => {
        if (m.readUInt16BE(0) !== id) return;
        clearTimeout(t);
        sock.off('message', on);
        resolve(m);
      };
      sock.on('message', on);
      sock.send(query(id, 'alias.example.com.'), port, '127.0.0.1');
    });
    if (reply) {
      assert.equal(reply[3] as number & 0x0f, 0, 'NOERROR');
      assert.equal(reply.readUInt16BE(6), 2, 'CNAME and A');
      assert.ok(reply.subarray(-4).equals(Buffer.from([192, 0, 2, 1])));
      return;
    }
  }
  assert.fail(`good query ${id} unanswered during the flood\n${fedns.output().slice(-2000)}`);
}

test(`${UDP_PACKETS + UDP_MUST_DROP + TCP_FRAMES + TCP_MUST_DROP} random and mutated packets over UDP and TCP`, async () => {
  const r = rng(0x5eed);
  const bind = async () => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
    return s;
  };
  const [garbage, dropper, good] = [await bind(), await bind(), await bind()];
  let garbageReplies = 0;
  let dropReplies = 0;
  garbage.on('message', () => garbageReplies++);
  dropper.on('message', () => dropReplies++);
  let goods = 0;
  try {
    const total = UDP_PACKETS + UDP_MUST_DROP;
    let sent = 0;
    for (let i = 0; i < total; i++) {
      if (i % 15 === 7) dropper.send(mustDrop(r), port, '127.0.0.1');
      else {
        garbage.send(mutated(r), port, '127.0.0.1');
        sent++;
      }
      // Flow control: every mutated message gets an answer, so keep a bounded number in flight
      // (an overflowing socket buffer would lose datagrams and prove nothing).
      if (i % 64 === 63) for (let w = 0; w < 50 && sent - garbageReplies > 256; w++) await new Promise((res) => setTimeout(res, 1));
      if (i % 5000 === 4999) await goodUdp(good, ++goods);
    }
    await goodUdp(good, ++goods);
  } finally {
    await new Promise((res) => setTimeout(res, 300));
    garbage.close();
    dropper.close();
    good.close();
  }
  assert.equal(dropReplies, 0, 'nothing answered to QR=1 or short messages');
  assert.ok(garbageReplies > UDP_PACKETS * 0.95, `the mutated messages were answered (${garbageReplies} of ${UDP_PACKETS})`);
  assert.equal(fedns.child.exitCode, null, 'still running');

  // TCP: framed mutated messages on several connections; must-drop frames on one, then a good query on it.
  const conns = 8;
  const perConn = TCP_FRAMES / conns;
  const tcpReplies = await Promise.all(
    Array.from({ length: conns }, (_, c) =>
      new Promise<number>((resolve) => {
        const sock = net.connect(port, '127.0.0.1');
        let bytes = 0;
        sock.on('data', (d) => (bytes += d.length));
        sock.on('error', () => {});
        sock.on('connect', () => {
          const rr = rng(0x7c0 + c);
          const frames: Buffer[] = [];
          for (let i = 0; i < perConn; i++) {
            const m = mutated(rr);
            const h = Buffer.alloc(2);
            h.writeUInt16BE(m.length, 0);
            frames.push(h, m);
          }
          sock.write(Buffer.concat(frames));
          setTimeout(() => {
            sock.destroy();
            resolve(bytes);
          }, 1500);
        });
      }),
    ),
  );
  assert.ok(tcpReplies.every((b) => b > 0), 'every TCP connection got answers');

  const drops = await new Promise<Buffer[]>((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => (buf = Buffer.concat([buf, d as Buffer])));
    sock.on('error', () => {});
    sock.on('connect', () => {
      const frames: Buffer[] = [];
      for (let i = 0; i < TCP_MUST_DROP; i++) {
        const m = mustDrop(r);
        const h = Buffer.alloc(2);
        h.writeUInt16BE(m.length, 0);
        frames.push(h, m);
      }
      const q = query(0xbeef, 'www.example.com.');
      const h = Buffer.alloc(2);
      h.writeUInt16BE(q.length, 0);
      frames.push(h, q);
      sock.write(Buffer.concat(frames));
      setTimeout(() => {
        sock.destroy();
        const out: Buffer[] = [];
        for (let o = 0; o + 2 <= buf.length; ) {
          const l = buf.readUInt16BE(o);
          out.push(buf.subarray(o + 2, o + 2 + l));
          o += 2 + l;
        }
        resolve(out);
      }, 1000);
    });
  });
  assert.equal(drops.length, 1, 'only the good query at the end is answered');
  assert.equal(drops[0]?.readUInt16BE(0), 0xbeef);

  const g = await bind();
  try {
    await goodUdp(g, 4242);
  } finally {
    g.close();
  }
  assert.equal(fedns.child.exitCode, null, 'still running after the TCP round');
  const metrics = await (await fetch(`${ops}/metrics`)).text();
  const dropped = [...metrics.matchAll(/fedns_dns_dropped_total\{protocol="(udp|tcp)"[^}]*\} (\d+)/g)].reduce((n, m) => n + Number(m[2]), 0);
  assert.ok(dropped >= UDP_MUST_DROP * 0.9 + TCP_MUST_DROP, `drops counted (${dropped})`);
  assert.match(metrics, /fedns_dns_queries_total\{qtype="[A-Z]+",rcode="FORMERR",protocol="udp"/);
});

/** Raw-byte tests over real UDP and TCP sockets: malformed input (12-14, 18, 21) and RFC 7766 framing (20). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { type DnsServer, startDnsServer } from '../src/index.js';
import { P, makeIndex } from './fixture.js';
import { TcpClient, mkQuery, optRR, udpQuery, wireName } from './helpers.js';

const G = `${P}.example.com.`;
let server: DnsServer;
let port: number;

before(async () => {
  server = await startDnsServer({ index: makeIndex(), listen: '127.0.0.1:0', tcpIdleTimeoutMs: 400, registry: new Registry() });
  port = server.udpPort;
});
after(async () => {
  await server.close();
});

const rcode = (m: Buffer) => (m[3] as number) & 0x0f;
const flags = (m: Buffer) => m.readUInt16BE(2);
const counts = (m: Buffer) => [m.readUInt16BE(4), m.readUInt16BE(6), m.readUInt16BE(8), m.readUInt16BE(10)];

describe('malformed messages over UDP (12, 13, 14, 18)', () => {
  it('fewer than 12 octets: dropped', async () => {
    assert.equal(await udpQuery(port, Buffer.from([1, 2, 3, 4, 5])), null);
    assert.equal(await udpQuery(port, Buffer.alloc(11)), null);
  });

  it('QR=1: dropped', async () => {
    assert.equal(await udpQuery(port, mkQuery({ name: G, flags: 0x8000 })), null);
    assert.equal(await udpQuery(port, mkQuery({ name: G, flags: 0x8400 })), null);
  });

  it('QDCOUNT 0 and 2: FORMERR', async () => {
    const q0 = Buffer.alloc(12);
    q0.writeUInt16BE(0xabcd, 0);
    const r0 = await udpQuery(port, q0);
    assert.ok(r0);
    assert.equal(r0.readUInt16BE(0), 0xabcd);
    assert.equal(rcode(r0), 1);
    assert.ok(flags(r0) & 0x8000);
    const q2 = mkQuery({ name: G });
    q2.writeUInt16BE(2, 4);
    const two = Buffer.concat([q2, wireName(G), Buffer.from([0, 1, 0, 1])]);
    const r2 = await udpQuery(port, two);
    assert.ok(r2);
    assert.equal(rcode(r2), 1);
    assert.deepEqual(counts(r2), [0, 0, 0, 0]);
  });

  it('compression loop in the question: FORMERR', async () => {
    const h = mkQuery({ name: '.' }).subarray(0, 12);
    const self = Buffer.concat([h, Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    const r = await udpQuery(port, self);
    assert.ok(r);
    assert.equal(rcode(r), 1);
    // Two labels pointing back at each other.
    const loop = Buffer.concat([h, Buffer.from([1, 0x61, 0xc0, 12, 0, 1, 0, 1])]);
    const r2 = await udpQuery(port, loop);
    assert.ok(r2);
    assert.equal(rcode(r2), 1);
  });

  it('compression loop in an additional record name: FORMERR', async () => {
    const q = mkQuery({ name: G });
    q.writeUInt16BE(1, 10);
    const rr = Buffer.concat([Buffer.from([0xc0, q.length]), Buffer.from([0, 1, 0, 1, 0, 0, 0, 0, 0, 0])]);
    const r = await udpQuery(port, Buffer.concat([q, rr]));
    assert.ok(r);
    assert.equal(rcode(r), 1);
  });

  it('bad label type, truncated question, trailing garbage, missing records: FORMERR', async () => {
    const h = mkQuery({ name: '.' }).subarray(0, 12);
    const badLabel = Buffer.concat([h, Buffer.from([0x41, 0x61, 0, 0, 1, 0, 1])]);
    const truncatedName = Buffer.concat([h, Buffer.from([7, 0x65, 0x78])]);
    const truncatedType = Buffer.concat([h, wireName(G), Buffer.from([0, 1, 0])]);
    const trailing = Buffer.concat([mkQuery({ name: G }), Buffer.from([1, 2, 3])]);
    const missing = mkQuery({ name: G });
    missing.writeUInt16BE(1, 10);
    const badOptLen = Buffer.concat([mkQuery({ name: G }), optRR({})]);
    badOptLen.writeUInt16BE(1, 10);
    badOptLen.writeUInt16BE(50, badOptLen.length - 2); // rdlength beyond the end
    for (const [what, m] of Object.entries({ badLabel, truncatedName, truncatedType, trailing, missing, badOptLen })) {
      const r = await udpQuery(port, m);
      assert.ok(r, what);
      assert.equal(rcode(r), 1, what);
      assert.equal(r.readUInt16BE(0), 0x1234, what);
    }
  });

  it('unknown opcode: NOTIMP (14), with RD and CD clear: they are defined for QUERY only (genreport opcodeflg)', async () => {
    for (const opcode of [1, 2, 3, 4, 5, 6, 15]) {
      for (const transport of ['udp', 'tcp'] as const) {
        const q = mkQuery({ name: G, flags: (opcode << 11) | 0x0100 | 0x0010 }); // RD and CD set
        let r: Buffer | null;
        if (transport === 'udp') r = await udpQuery(port, q);
        else {
          const c = new TcpClient(port);
          await c.connected();
          c.sock.write(TcpClient.frame(q));
          r = (await c.waitFor(1))[0] ?? null;
          c.close();
        }
        const what = `opcode ${opcode} over ${transport}`;
        assert.ok(r, what);
        assert.equal(rcode(r), 4, what);
        assert.equal((flags(r) >> 11) & 0xf, opcode, what);
        assert.equal(flags(r) & 0x0100, 0, `RD clear: ${what}`);
        assert.equal(flags(r) & 0x0010, 0, `CD clear: ${what}`);
        assert.ok(!(flags(r) & 0x0400), `AA clear: ${what}`);
        assert.ok(flags(r) & 0x8000, `QR: ${what}`);
      }
    }
  });

  it('RD and CD stay copied in replies to QUERY, errors included', async () => {
    const q = mkQuery({ name: G, flags: 0x0100 | 0x0010 });
    const ok = await udpQuery(port, q);
    assert.ok(ok);
    assert.equal(flags(ok) & 0x0110, 0x0110);
    const bad = Buffer.concat([q, Buffer.from([1])]); // trailing garbage: FORMERR
    const r = await udpQuery(port, bad);
    assert.ok(r);
    assert.equal(rcode(r), 1);
    assert.equal(flags(r) & 0x0110, 0x0110);
  });

  it('two OPT records: FORMERR (18)', async () => {
    const q = Buffer.concat([mkQuery({ name: G, edns: {} }), optRR({})]);
    q.writeUInt16BE(2, 10);
    const r = await udpQuery(port, q);
    assert.ok(r);
    assert.equal(rcode(r), 1);
  });

  it('OPT outside the additional section or not owned by the root: FORMERR', async () => {
    const inAnswer = mkQuery({ name: G, edns: {} });
    inAnswer.writeUInt16BE(1, 6);
    inAnswer.writeUInt16BE(0, 10);
    const r = await udpQuery(port, inAnswer);
    assert.ok(r);
    assert.equal(rcode(r), 1);
    const named = Buffer.concat([mkQuery({ name: G }), Buffer.from([1, 0x61, 0]), optRR({}).subarray(1)]);
    named.writeUInt16BE(1, 10);
    const r2 = await udpQuery(port, named);
    assert.ok(r2);
    assert.equal(rcode(r2), 1);
  });

  it('malformed COOKIE option: FORMERR; a well-formed one is answered (21)', async () => {
    const bad = await udpQuery(port, mkQuery({ name: G, edns: { options: [{ code: 10, data: Buffer.alloc(5) }] } }));
    assert.ok(bad);
    assert.equal(rcode(bad), 1);
    const good = await udpQuery(port, mkQuery({ name: G, edns: { options: [{ code: 10, data: Buffer.alloc(8, 7) }] } }));
    assert.ok(good);
    assert.equal(rcode(good), 0);
    assert.equal(good.readUInt16BE(6), 2);
  });

  it('Z and AD in the query are not echoed', async () => {
    const r = await udpQuery(port, mkQuery({ name: G, flags: 0x0040 | 0x0020 | 0x0010 }));
    assert.ok(r);
    assert.equal(flags(r) & 0x0060, 0);
    assert.equal(flags(r) & 0x0010, 0x0010);
  });

  it('question echoed byte for byte, ID kept', async () => {
    const q = mkQuery({ id: 0xbeef, name: 'NGINX.prod.MYFED.svc.example.COM.', qtype: 1 });
    const r = await udpQuery(port, q);
    assert.ok(r);
    assert.equal(r.readUInt16BE(0), 0xbeef);
    assert.deepEqual(r.subarray(12, q.length), q.subarray(12));
  });

  it('a compressed (but valid) question name is answered', async () => {
    // QNAME = "x" + pointer to offset 2 of the header... not a name; use a pointer to an earlier label instead:
    // labels "com" at 12 are referenced by nothing valid before, so build: name1 = \x03com\x00 is impossible in
    // a single question. A pointer into the header that decodes as a root label is valid though.
    const h = mkQuery({ name: '.' }).subarray(0, 12);
    h.writeUInt16BE(0x0000, 10); // ARCOUNT 0: byte 11 is 0 → a root label
    const q = Buffer.concat([h, Buffer.from([7]), Buffer.from('example'), Buffer.from([3]), Buffer.from('com'), Buffer.from([0xc0, 11, 0, 6, 0, 1])]);
    const r = await udpQuery(port, q);
    assert.ok(r);
    assert.equal(rcode(r), 0);
    assert.equal(r.readUInt16BE(6), 1); // the SOA
  });
});

describe('TCP (20)', () => {
  it('several pipelined queries on one connection', async () => {
    const c = new TcpClient(port);
    await c.connected();
    const ids = [11, 22, 33, 44];
    const names = [G, `${P}.us-east1.example.com.`, 'nx.example.com.', 'example.com.'];
    c.sock.write(Buffer.concat(ids.map((id, i) => TcpClient.frame(mkQuery({ id, name: names[i] as string })))));
    const replies = await c.waitFor(4);
    assert.equal(replies.length, 4);
    const byId = new Map(replies.map((r) => [r.readUInt16BE(0), r]));
    assert.deepEqual([...byId.keys()].sort((a, b) => a - b), ids);
    assert.equal(rcode(byId.get(33) as Buffer), 3);
    assert.equal((byId.get(11) as Buffer).readUInt16BE(6), 2);
    c.close();
  });

  it('a length prefix split across segments, and a message split mid-way', async () => {
    const c = new TcpClient(port);
    await c.connected();
    const f = TcpClient.frame(mkQuery({ id: 77, name: G }));
    c.sock.write(f.subarray(0, 1));
    await new Promise((r) => setTimeout(r, 50));
    c.sock.write(f.subarray(1, 9));
    await new Promise((r) => setTimeout(r, 50));
    c.sock.write(Buffer.concat([f.subarray(9), TcpClient.frame(mkQuery({ id: 78, name: G })).subarray(0, 1)]));
    await new Promise((r) => setTimeout(r, 50));
    c.sock.write(TcpClient.frame(mkQuery({ id: 78, name: G })).subarray(1));
    const replies = await c.waitFor(2);
    assert.deepEqual(replies.map((r) => r.readUInt16BE(0)), [77, 78]);
    c.close();
  });

  it('large answers are not truncated over TCP', async () => {
    const c = new TcpClient(port);
    await c.connected();
    c.sock.write(TcpClient.frame(mkQuery({ name: 'big.example.com.', edns: { size: 512 } })));
    const [r] = await c.waitFor(1);
    assert.ok(r);
    assert.equal(flags(r) & 0x0200, 0);
    assert.equal(r.readUInt16BE(6), 100);
    c.close();
  });

  it('malformed messages on TCP get FORMERR, drops keep the connection', async () => {
    const c = new TcpClient(port);
    await c.connected();
    c.sock.write(Buffer.concat([TcpClient.frame(Buffer.alloc(5)), TcpClient.frame(Buffer.alloc(12)), TcpClient.frame(mkQuery({ id: 5, name: G }))]));
    const replies = await c.waitFor(2);
    assert.equal(replies.length, 2);
    assert.equal(rcode(replies[0] as Buffer), 1);
    assert.equal((replies[1] as Buffer).readUInt16BE(0), 5);
    c.close();
  });

  it('idle connections are closed after the timeout', async () => {
    const c = new TcpClient(port);
    await c.connected();
    const t0 = Date.now();
    await c.waitFor(1, 3000);
    assert.ok(c.closed, 'server closed the idle connection');
    assert.ok(Date.now() - t0 >= 300);
  });
});

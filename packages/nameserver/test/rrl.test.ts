/** Response rate limiting (CONFORMANCE 28): slip, drops, per network, off switch. */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { RateLimiter, startDnsServer } from '../src/index.js';
import { P, makeIndex } from './fixture.js';
import { TcpClient, mkQuery } from './helpers.js';

/** Sends `n` queries as fast as possible from one socket; collects replies for `waitMs`. */
async function flood(port: number, n: number, name: string, waitMs = 400): Promise<Buffer[]> {
  const s = dgram.createSocket('udp4');
  const replies: Buffer[] = [];
  s.on('message', (m) => replies.push(m));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  // Batches of 20, each given a moment to be answered, so no socket buffer overflows (a loss would look like a drop).
  for (let i = 0; i < n; i++) {
    s.send(mkQuery({ id: i, name }), port, '127.0.0.1');
    if (i % 20 === 19) {
      const want = replies.length + 20;
      for (let k = 0; k < 20 && replies.length < want; k++) await new Promise((r) => setTimeout(r, 1));
    }
  }
  await new Promise((r) => setTimeout(r, waitMs));
  s.close();
  return replies;
}

describe('RRL (28)', () => {
  it('a flood gets its rate, then truncated slips and drops; TCP is not limited', async () => {
    const registry = new Registry();
    const srv = await startDnsServer({ index: makeIndex(), listen: '127.0.0.1:0', registry, rrl: { responsesPerSecond: 20, slip: 2 } });
    try {
      const replies = await flood(srv.udpPort, 600, `${P}.example.com.`);
      const tc = replies.filter((r) => (r[2] as number) & 0x02);
      const full = replies.filter((r) => !((r[2] as number) & 0x02));
      assert.ok(full.length >= 20 && full.length < 100, `full answers ${full.length}`);
      assert.ok(tc.length > 100, `slipped ${tc.length}`);
      assert.ok(replies.length < 500, `some dropped (${600 - replies.length})`);
      for (const r of tc) {
        assert.equal(r.readUInt16BE(6), 0, 'a slip carries no answer');
        assert.equal(r.readUInt16BE(4), 1, 'but the question');
      }
      // The same client over TCP still gets full answers.
      const c = new TcpClient(srv.tcpPort);
      await c.connected();
      c.sock.write(TcpClient.frame(mkQuery({ name: `${P}.example.com.` })));
      const [t] = await c.waitFor(1);
      c.close();
      assert.equal(t?.readUInt16BE(6), 2);
      const text = await registry.metrics();
      assert.match(text, /fedns_dns_rrl_total\{action="dropped"\} [1-9]/);
      assert.match(text, /fedns_dns_rrl_total\{action="slipped"\} [1-9]/);
    } finally {
      await srv.close();
    }
  });

  it('RRL off (rate 0): every query of the flood is answered in full', async () => {
    const srv = await startDnsServer({ index: makeIndex(), listen: '127.0.0.1:0', registry: new Registry(), rrl: { responsesPerSecond: 0 } });
    try {
      const replies = await flood(srv.udpPort, 600, `${P}.example.com.`, 800);
      assert.equal(replies.length, 600);
      assert.ok(replies.every((r) => !((r[2] as number) & 0x02)));
    } finally {
      await srv.close();
    }
  });

  it('buckets are per client network, response class and name; tokens refill at the rate', () => {
    const rl = new RateLimiter({ responsesPerSecond: 5, slip: 0, ipv4PrefixLength: 24, ipv6PrefixLength: 56 });
    const q = mkQuery({ name: 'a.example.com.' });
    const nameEnd = 12 + 15;
    const burst = (ip: string, t: number, rcode = 0, an = 1) => Array.from({ length: 10 }, () => rl.check(ip, q, nameEnd, rcode, an, t)).filter((v) => v === 0).length;
    assert.equal(burst('192.0.2.1', 1000), 5);
    assert.equal(burst('192.0.2.200', 1000), 0, 'same /24: same bucket');
    assert.equal(burst('198.51.100.1', 1000), 5, 'another network has its own');
    assert.equal(burst('192.0.2.1', 1000, 3, 0), 5, 'NXDOMAIN is another class');
    assert.equal(burst('192.0.2.1', 1400), 2, 'refilled at 5/s');
    assert.equal(burst('2001:db8:0:1::1', 1000), 5);
    assert.equal(burst('2001:db8:0:1:ffff::9', 1000), 0, 'same /56');
    assert.equal(burst('2001:db8:0:100::1', 1000), 5, 'another /56');
    const slip1 = new RateLimiter({ responsesPerSecond: 1, slip: 1 });
    assert.deepEqual([0, 0, 0].map(() => slip1.check('192.0.2.1', q, nameEnd, 0, 1, 0)), [0, 1, 1], 'slip 1: every limited answer is truncated');
  });
});

/** Fuzz: random and mutated messages never throw, replies stay well-formed, and the server keeps answering (12). */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import packet from 'dns-packet';
import { Registry } from 'prom-client';
import { answerQuery, ClientLocator, startDnsServer, ZoneIndex } from '../src/index.js';
import { P, config, makeIndex } from './fixture.js';
import { mkQuery, optRR, rng, udpQuery } from './helpers.js';

const seeds: Buffer[] = [
  mkQuery({ name: `${P}.example.com.` }),
  mkQuery({ name: `${P}.asia-east1-a.asia-east1.example.com.`, edns: { do: true } }),
  mkQuery({ name: 'big.example.com.', edns: { size: 4096 } }),
  mkQuery({ name: 'example.com.', qtype: 2, edns: {} }),
  mkQuery({ name: 'nx.example.com.', qtype: 28 }),
  mkQuery({ name: 'svc.example.com.', qtype: 255, edns: { options: [{ code: 10, data: Buffer.alloc(8, 1) }] } }),
  mkQuery({ name: 'www.example.org.', qtype: 16 }),
  Buffer.concat([mkQuery({ name: 'txt.example.com.', qtype: 16, edns: {} }), optRR({})]),
];

const ecs = (family: number, source: number, address: number[]) => ({ code: 8, data: Buffer.from([0, family, source, 0, ...address]) });
/** Queries with EDNS Client Subnet options (issue 14), for the traffic-policy fuzz below. */
const ecsSeeds: Buffer[] = [
  mkQuery({ name: `${P}.example.com.`, edns: { options: [ecs(1, 24, [203, 0, 113])] } }),
  mkQuery({ name: `${P}.us-east1-c.us-east1.example.com.`, edns: { options: [ecs(2, 56, [0x20, 0x01, 0x0d, 0xb8, 0, 0xaa, 0])] } }),
  mkQuery({ name: `${P}.example.com.`, qtype: 28, edns: { options: [{ code: 10, data: Buffer.alloc(8, 7) }, ecs(1, 0, [])] } }),
  mkQuery({ name: `${P}.us-east1.example.com.`, edns: { options: [ecs(1, 32, [198, 18, 1, 2])] } }),
];

function mutate(r: () => number, from: Buffer[] = seeds): Buffer {
  const pick = Math.floor(r() * 10);
  if (pick === 0) {
    // Pure noise, sometimes with a plausible header.
    const b = Buffer.alloc(Math.floor(r() * 80));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
    if (b.length >= 6 && r() < 0.5) {
      b[2] = (b[2] as number) & 0x7f;
      b[4] = 0;
      b[5] = 1;
    }
    return b;
  }
  const base = Buffer.from(from[Math.floor(r() * from.length)] as Buffer);
  let b: Buffer = base;
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const op = Math.floor(r() * 6);
    if (op === 0 && b.length) b[Math.floor(r() * b.length)] = Math.floor(r() * 256); // byte
    else if (op === 1 && b.length) {
      const i = Math.floor(r() * b.length);
      b[i] = (b[i] as number) ^ (1 << Math.floor(r() * 8)); // bit flip
    } else if (op === 2) b = b.subarray(0, Math.floor(r() * b.length)); // truncate
    else if (op === 3) b = Buffer.concat([b, Buffer.from([Math.floor(r() * 256), 0xc0, Math.floor(r() * 64)])]); // append
    else if (op === 4 && b.length >= 12) b.writeUInt16BE(Math.floor(r() * 4), 4 + 2 * Math.floor(r() * 4)); // counts
    else if (op === 5 && b.length > 14) {
      const i = 12 + Math.floor(r() * (b.length - 14));
      b[i] = 0xc0 | Math.floor(r() * 4);
      b[i + 1] = Math.floor(r() * 64); // compression pointer
    }
  }
  if (r() < 0.8 && b.length >= 3) b[2] = (b[2] as number) & 0x7f; // mostly keep QR clear so the parser runs
  return b;
}

describe('fuzz', () => {
  it('20,000 random/mutated messages: answerQuery never throws, replies are well-formed', () => {
    const index = makeIndex();
    const r = rng(0xf00d);
    let replies = 0;
    const rcodes = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      const msg = mutate(r);
      const transport = i % 7 === 0 ? 'tcp' : 'udp';
      let reply: Buffer | null;
      try {
        reply = answerQuery(index, msg, transport);
      } catch (err) {
        assert.fail(`threw on ${msg.toString('hex')}: ${String(err)}`);
      }
      if (reply === null) {
        assert.ok(msg.length < 12 || ((msg[2] as number) & 0x80) !== 0, `dropped a query: ${msg.toString('hex')}`);
        continue;
      }
      replies++;
      assert.ok(reply.length >= 12);
      assert.equal(reply.readUInt16BE(0), msg.readUInt16BE(0), 'ID copied');
      assert.ok((reply[2] as number) & 0x80, 'QR set');
      assert.equal((reply[3] as number) & 0x60, 0, 'Z and AD clear');
      assert.equal((reply[3] as number) & 0x80, 0, 'RA clear');
      const rc = (reply[3] as number) & 0xf;
      assert.notEqual(rc, 2, `internal error (SERVFAIL) on ${msg.toString('hex')}`);
      rcodes.set(rc, (rcodes.get(rc) ?? 0) + 1);
      if (transport === 'udp') assert.ok(reply.length <= 1232, 'UDP size');
      if (rc !== 1 && rc !== 4) {
        // Everything that is not a header-only error must decode.
        try {
          packet.decode(reply);
        } catch (err) {
          assert.fail(`undecodable reply ${reply.toString('hex')} to ${msg.toString('hex')}: ${String(err)}`);
        }
      }
    }
    assert.ok(replies > 10_000, `replies: ${replies}`);
    // The fuzzer reached the interesting outcomes.
    for (const rc of [0, 1, 3, 4, 5]) assert.ok((rcodes.get(rc) ?? 0) > 0, `rcode ${rc} seen`);
  });

  it('20,000 mutated ECS queries against routed and weighted sets: never a throw, replies decode', () => {
    const index = new ZoneIndex(config);
    const v = (cluster: string, region: string, data: string[], weight = 1) => ({ cluster, region, location: { latitude: 24, longitude: 120 }, weight, data });
    const set = (name: string, type: 'A' | 'AAAA', data: string[], policy: object) => ({ name, type, ttl: 30, data, level: 'global' as const, namespace: 'prod', service: 'nginx', policy } as Parameters<ZoneIndex['replaceAll']>[1][number]);
    index.replaceAll(7, [
      set(`${P}.example.com.`, 'A', ['192.0.2.1', '192.0.2.2'], { routing: 'nearest', weighted: true, variants: [v('a', 'asia-east1', ['192.0.2.1'], 1), v('b', 'us-east1', ['192.0.2.2'], 3)] }),
      set(`${P}.example.com.`, 'AAAA', ['2001:db8::1', '2001:db8::2'], { routing: 'nearest', variants: [v('a', 'asia-east1', ['2001:db8::1']), v('b', 'us-east1', ['2001:db8::2'])] }),
      set(`${P}.us-east1.example.com.`, 'A', ['192.0.2.3', '192.0.2.4'], { weighted: true, variants: [v('c', 'us-east1', ['192.0.2.3'], 2), v('d', 'us-east1', ['192.0.2.4'], 5)] }),
      { name: `${P}.us-east1-c.us-east1.example.com.`, type: 'CNAME', ttl: 30, data: [`${P}.us-east1.example.com.`], level: 'zone', namespace: 'prod', service: 'nginx' },
    ]);
    const locator = new ClientLocator([{ cidr: '203.0.113.0/24', region: 'asia-east1' }, { cidr: '2001:db8:aa::/48', region: 'us-east1' }]);
    const r = rng(0xec5);
    let answered = 0;
    let echoed = 0;
    for (let i = 0; i < 20_000; i++) {
      const msg = mutate(r, ecsSeeds);
      let reply: Buffer | null;
      try {
        reply = answerQuery(index, msg, i % 5 === 0 ? 'tcp' : 'udp', { locator, clientIp: i % 2 ? '203.0.113.9' : '::1' });
      } catch (err) {
        assert.fail(`threw on ${msg.toString('hex')}: ${String(err)}`);
      }
      if (reply === null) continue;
      const rc = (reply[3] as number) & 0xf;
      assert.notEqual(rc, 2, `SERVFAIL on ${msg.toString('hex')}`);
      if (rc === 1 || rc === 4) continue;
      answered++;
      try {
        const d = packet.decode(reply) as { additionals?: { type: string; options?: { code: number }[] }[] };
        if (d.additionals?.some((a) => a.type === 'OPT' && a.options?.some((o) => o.code === 8))) echoed++;
      } catch (err) {
        assert.fail(`undecodable reply ${reply.toString('hex')} to ${msg.toString('hex')}: ${String(err)}`);
      }
    }
    // Most mutations break the option (FORMERR); enough survive to reach the routed and weighted answers.
    assert.ok(answered > 2_000, `answered: ${answered}`);
    assert.ok(echoed > 1_000, `ECS echoed: ${echoed}`);
  });

  it('the server still answers a good query after a burst of garbage', async () => {
    const server = await startDnsServer({ index: makeIndex(), listen: '127.0.0.1:0', registry: new Registry() });
    try {
      const s = dgram.createSocket('udp4');
      const r = rng(42);
      for (let i = 0; i < 2000; i++) {
        await new Promise<void>((resolve) => s.send(mutate(r), server.udpPort, '127.0.0.1', () => resolve()));
      }
      s.close();
      // A same-process burst overflows the socket buffer (UDP drops are expected); let it drain, then ask.
      await new Promise((resolve) => setTimeout(resolve, 300));
      let reply: Buffer | null = null;
      for (let attempt = 0; attempt < 3 && !reply; attempt++) {
        reply = await udpQuery(server.udpPort, mkQuery({ id: 999, name: `${P}.example.com.` }), 1000);
      }
      assert.ok(reply);
      assert.equal(reply.readUInt16BE(0), 999);
      assert.equal(reply.readUInt16BE(6), 2);
    } finally {
      await server.close();
    }
  });
});

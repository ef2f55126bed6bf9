/** DNS cookies (CONFORMANCE 21): RFC 7873 behaviour with RFC 9018 server cookies, by dig and by raw packets. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { type DnsServer, ServerCookies, siphash24, startDnsServer } from '../src/index.js';
import { P, makeIndex } from './fixture.js';
import { dig, mkQuery, udpQuery } from './helpers.js';

let server: DnsServer;
let port: number;
const SECRET = Buffer.from('e5e973e5a6b2a43f48e7dc849e37bfcf', 'hex');

before(async () => {
  server = await startDnsServer({ index: makeIndex(), listen: '127.0.0.1:0', registry: new Registry(), cookies: { secret: SECRET } });
  port = server.udpPort;
});
after(() => server.close());

/** The COOKIE option of a reply (hex), from the raw bytes. */
function cookieOf(reply: Buffer): string | undefined {
  const i = reply.lastIndexOf(Buffer.from([0, 10]));
  if (i < 0) return undefined;
  const len = reply.readUInt16BE(i + 2);
  return reply.subarray(i + 4, i + 4 + len).toString('hex');
}

const cookieQuery = (cookie: Buffer, name = `${P}.example.com.`) => mkQuery({ name, edns: { options: [{ code: 10, data: cookie }] } });

describe('DNS cookies (21)', () => {
  it('SipHash-2-4 matches the reference vectors', () => {
    const key = Buffer.from([...Array(16).keys()]);
    assert.equal(siphash24(key, Buffer.alloc(0)).toString('hex'), '310e0edd47db6f72');
    assert.equal(siphash24(key, Buffer.from([...Array(8).keys()])).toString('hex'), '6224939a79f5f593');
    assert.equal(siphash24(key, Buffer.from([...Array(15).keys()])).toString('hex'), 'e545be4961ca29a1');
  });

  it('dig +cookie: the client cookie comes back with a server cookie, and dig calls it good', async () => {
    const r = await dig(port, ['+cookie', `${P}.example.com.`, 'A']);
    assert.equal(r.status, 'NOERROR');
    const line = /; COOKIE: ([0-9a-f]+)(.*)/.exec(r.raw);
    assert.ok(line, r.raw);
    assert.equal(line[1]?.length, 48, '8-octet client + 16-octet server cookie');
    assert.match(line[2] ?? '', /good/);
    assert.equal(line[1]?.slice(16, 24), '01000000', 'RFC 9018: version 1, reserved 0');
  });

  it('a valid server cookie is echoed; a forged one is replaced', async () => {
    const client = Buffer.from('2464c4abcf10c957', 'hex');
    const first = await udpQuery(port, cookieQuery(client));
    assert.ok(first);
    const full = cookieOf(first) as string;
    assert.equal(full.slice(0, 16), client.toString('hex'));
    const again = await udpQuery(port, cookieQuery(Buffer.from(full, 'hex')));
    assert.equal(cookieOf(again as Buffer), full, 'same server cookie while fresh');
    const forged = Buffer.from(full, 'hex');
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 0xff;
    const fixed = await udpQuery(port, cookieQuery(forged));
    assert.notEqual(cookieOf(fixed as Buffer), forged.toString('hex'));
    assert.equal(cookieOf(fixed as Buffer)?.slice(0, 16), client.toString('hex'));
  });

  it('server cookies are valid for an hour, then renewed (RFC 9018 4.3)', () => {
    let now = 1_559_731_985;
    const c = new ServerCookies({ secret: SECRET, now: () => now });
    const client = Buffer.from('2464c4abcf10c957', 'hex');
    const sc = c.serverCookie(client, 0, 8, '198.51.100.100');
    const full = Buffer.concat([client, sc]);
    assert.equal(c.valid(full, 0, 24, '198.51.100.100'), true);
    assert.equal(c.valid(full, 0, 24, '198.51.100.101'), false, 'bound to the client address');
    now += 1000;
    assert.deepEqual(c.serverCookie(full, 0, 24, '198.51.100.100'), sc, 'fresh: echoed');
    now += 1000;
    assert.notDeepEqual(c.serverCookie(full, 0, 24, '198.51.100.100'), sc, 'older than 30 min: renewed');
    now += 2000;
    assert.equal(c.valid(full, 0, 24, '198.51.100.100'), false, 'older than an hour: invalid');
  });

  it('a malformed COOKIE is FORMERR', async () => {
    for (const len of [7, 9, 15, 41]) {
      const r = await udpQuery(port, cookieQuery(Buffer.alloc(len, 1)));
      assert.ok(r, `len ${len}`);
      assert.equal((r[3] as number) & 0x0f, 1, `len ${len}`);
    }
    const two = mkQuery({ name: `${P}.example.com.`, edns: { options: [{ code: 10, data: Buffer.alloc(8, 1) }, { code: 10, data: Buffer.alloc(8, 2) }] } });
    assert.equal(((await udpQuery(port, two)) as Buffer)[3] as number & 0x0f, 1, 'two COOKIE options');
  });

  it('QDCOUNT 0 with a COOKIE: NOERROR and the cookies (the one exception to FORMERR, 13)', async () => {
    const r = await dig(port, ['+cookie', '+header-only']);
    assert.equal(r.status, 'NOERROR', r.raw);
    assert.equal(r.counts.query, 0);
    assert.match(r.raw, /; COOKIE: [0-9a-f]{48} \(good\)/);
    const q = mkQuery({ name: 'x.', edns: {} });
    const noCookie = Buffer.concat([q.subarray(0, 12), q.subarray(12 + 3 + 4)]);
    noCookie.writeUInt16BE(0, 4);
    const f = await udpQuery(port, noCookie);
    assert.equal((f?.[3] as number) & 0x0f, 1, 'QDCOUNT 0 without a COOKIE: FORMERR');
  });

  it('no cookie in the query, none in the reply; cookies off: not echoed', async () => {
    const r = await udpQuery(port, mkQuery({ name: `${P}.example.com.`, edns: {} }));
    assert.equal(cookieOf(r as Buffer), undefined);
    const off = await startDnsServer({ index: makeIndex(), listen: '127.0.0.1:0', registry: new Registry(), cookies: false });
    try {
      const o = await udpQuery(off.udpPort, cookieQuery(Buffer.alloc(8, 3)));
      assert.equal((o as Buffer).readUInt16BE(10), 1, 'OPT only');
      assert.equal(cookieOf(o as Buffer), undefined);
    } finally {
      await off.close();
    }
  });
});

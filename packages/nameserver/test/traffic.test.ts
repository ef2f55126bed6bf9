/**
 * Traffic policy in the nameserver (issue 14), against the real dig:
 * EDNS Client Subnet parsed and echoed with its scope (RFC 7871), FORMERR for
 * a malformed one; answers routed by client location (operator networks, a
 * MaxMind-format database, the source address); weighted answers in
 * proportion over 10,000 queries; CNAME chains ending at such a set.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { RecordPolicy, RecordSet } from '@fedns/model';
import { ClientLocator, type DnsServer, RCODE, startDnsServer, ZoneIndex } from '../src/index.js';
import { config } from './fixture.js';
import { dig, mkQuery, rdataOf, udpQuery } from './helpers.js';
import { writeMmdb } from './mmdb-writer.js';

const run = promisify(execFile);
const G = 'web.prod.myfed.svc.example.com.';
const W = 'weighted.prod.myfed.svc.example.com.';
const Z = 'web.prod.myfed.svc.asia-east1-a.asia-east1.example.com.';

const at = (latitude: number, longitude: number) => ({ latitude, longitude });
const variant = (cluster: string, region: string, location: { latitude: number; longitude: number }, data: string[], weight = 1) => ({ cluster, region, location, weight, data });
const routed: RecordPolicy = {
  routing: 'nearest',
  variants: [
    variant('asia-a', 'asia-east1', at(24.07, 120.54), ['192.0.2.1']),
    variant('asia-b', 'asia-east1', at(24.07, 120.54), ['192.0.2.2']),
    variant('eu-b', 'europe-west1', at(50.45, 3.82), ['192.0.2.3']),
    variant('us-b', 'us-east1', at(33.2, -80.01), ['192.0.2.4']),
  ],
};
const ALL = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'];
const rs = (name: string, type: RecordSet['type'], data: string[], policy?: RecordPolicy): RecordSet => ({ name, type, ttl: 30, data, level: 'global', namespace: 'prod', service: 'web', ...(policy ? { policy } : {}) });

let server: DnsServer;
let port = 0;
let index: ZoneIndex;

before(async () => {
  index = new ZoneIndex(config);
  index.replaceAll(1, [
    rs(G, 'A', ALL, routed),
    rs(Z, 'CNAME', [G]),
    rs(W, 'A', ['198.51.100.1', '198.51.100.3'], { weighted: true, variants: [variant('c1', 'us-east1', at(0, 0), ['198.51.100.1'], 1), variant('c3', 'us-central1', at(0, 0), ['198.51.100.3'], 3)] }),
    rs('bad.example.com.', 'A', ['192.0.2.9'], { weighted: true, variants: [variant('x', 'r', at(0, 0), ['2001:db8::1'])] }),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'fedns-geo-'));
  const db = join(dir, 'city.mmdb');
  // Tokyo and Brussels in the database; 203.0.113.0/24 is also an operator network (it wins).
  writeFileSync(db, writeMmdb([
    { cidr: '198.18.0.0/16', latitude: 35.68, longitude: 139.69, city: 'Tokyo' },
    { cidr: '198.19.0.0/16', latitude: 50.85, longitude: 4.35, city: 'Brussels' },
    { cidr: '203.0.113.0/24', latitude: 40.71, longitude: -74.0, city: 'New York' },
  ]));
  const { readFileSync } = await import('node:fs');
  const locator = new ClientLocator(
    [
      { cidr: '203.0.113.0/24', region: 'asia-east1' },
      { cidr: '100.64.0.0/10', region: 'europe-north1' },
      { cidr: '127.0.0.0/8', region: 'us-east1' },
      { cidr: '2001:db8:aa::/48', region: 'europe-west1' },
    ],
    readFileSync(db),
  );
  server = await startDnsServer({ index, listen: '127.0.0.1:0', locator });
  port = server.udpPort;
});
after(async () => {
  await server.close();
});

const addrs = (r: { answer: string[][] }) => rdataOf(r.answer, 'A').sort();
/** dig's rendering of the ECS option in the reply: ADDRESS/SOURCE/SCOPE. */
const ecsOf = (raw: string) => /CLIENT-SUBNET: (\S+)/.exec(raw)?.[1];

describe('EDNS Client Subnet (RFC 7871)', () => {
  it('clients mapped to asia-east1 get only asia-east1’s shards, with the ECS scope set to the network', async () => {
    const r = await dig(port, ['+subnet=203.0.113.0/24', G, 'A']);
    assert.equal(r.status, 'NOERROR');
    assert.deepEqual(addrs(r), ['192.0.2.1', '192.0.2.2']);
    assert.equal(ecsOf(r.raw), '203.0.113.0/24/24');
    // A longer source inside the same network: the answer holds for the whole /24.
    const longer = await dig(port, ['+subnet=203.0.113.77/32', G, 'A']);
    assert.deepEqual(addrs(longer), ['192.0.2.1', '192.0.2.2']);
    assert.equal(ecsOf(longer.raw), '203.0.113.77/32/24');
  });

  it('a client whose region has no shard gets the nearest region’s: europe-north1 (Hamina) → europe-west1', async () => {
    const r = await dig(port, ['+subnet=100.64.10.0/24', G, 'A']);
    assert.deepEqual(addrs(r), ['192.0.2.3']);
    assert.equal(ecsOf(r.raw), '100.64.10.0/24/10');
  });

  it('IPv6 client networks', async () => {
    const r = await dig(port, ['+subnet=2001:db8:aa::/56', G, 'A']);
    assert.deepEqual(addrs(r), ['192.0.2.3']);
    assert.equal(ecsOf(r.raw), '2001:db8:aa::/56/48');
  });

  it('the GeoIP database places clients no network names: Tokyo → asia-east1, Brussels → europe-west1', async () => {
    const tokyo = await dig(port, ['+subnet=198.18.7.0/24', G, 'A']);
    assert.deepEqual(addrs(tokyo), ['192.0.2.1', '192.0.2.2']);
    assert.equal(ecsOf(tokyo.raw), '198.18.7.0/24/16');
    const brussels = await dig(port, ['+subnet=198.19.200.0/24', G, 'A']);
    assert.deepEqual(addrs(brussels), ['192.0.2.3']);
  });

  it('a client of unknown location gets every shard; the scope says for how wide a network that holds', async () => {
    const r = await dig(port, ['+subnet=192.0.2.0/24', G, 'A']);
    assert.deepEqual(addrs(r), ALL);
    const scope = Number(ecsOf(r.raw)?.split('/')[2]);
    assert.ok(scope > 0 && scope <= 24, `scope ${scope}`);
    const zero = await dig(port, ['+subnet=0.0.0.0/0', G, 'A']);
    assert.deepEqual(addrs(zero), ALL, 'SOURCE 0: the resolver asks for no tailoring');
    assert.equal(ecsOf(zero.raw), '0.0.0.0/0/0');
  });

  it('names not routed by location answer with scope 0; a CNAME chain ending at the routed set is routed', async () => {
    const w = await dig(port, ['+subnet=203.0.113.0/24', W, 'A']);
    assert.equal(ecsOf(w.raw), '203.0.113.0/24/0');
    const chain = await dig(port, ['+subnet=203.0.113.0/24', Z, 'A']);
    assert.deepEqual(rdataOf(chain.answer, 'CNAME'), [G]);
    assert.deepEqual(addrs(chain), ['192.0.2.1', '192.0.2.2']);
    assert.equal(ecsOf(chain.raw), '203.0.113.0/24/24');
    const nx = await dig(port, ['+subnet=203.0.113.0/24', `nope.${G}`, 'A']);
    assert.equal(nx.status, 'NXDOMAIN');
    assert.equal(ecsOf(nx.raw), '203.0.113.0/24/0');
  });

  it('without ECS the source address locates the client (127.0.0.0/8 → us-east1); no ECS option in the reply', async () => {
    const r = await dig(port, [G, 'A']);
    assert.deepEqual(addrs(r), ['192.0.2.4']);
    assert.equal(ecsOf(r.raw), undefined);
    const tcp = await dig(port, ['+tcp', '+subnet=203.0.113.0/24', G, 'A']);
    assert.deepEqual(addrs(tcp), ['192.0.2.1', '192.0.2.2'], 'TCP answers alike');
  });

  it('a malformed ECS option is FORMERR, never an answer', async () => {
    const ecs = (family: number, source: number, scope: number, address: number[]) => ({ code: 8, data: Buffer.from([0, family, source, scope, ...address]) });
    for (const [what, options] of [
      ['an unknown family', [ecs(3, 8, 0, [10])]],
      ['a source prefix longer than the address', [ecs(1, 33, 0, [1, 2, 3, 4, 5])]],
      ['a scope in a query', [ecs(1, 24, 24, [203, 0, 113])]],
      ['too many address octets', [ecs(1, 16, 0, [203, 0, 113])]],
      ['too few address octets', [ecs(1, 24, 0, [203, 0])]],
      ['bits set past the source prefix', [ecs(1, 23, 0, [203, 0, 113])]],
      ['shorter than its fixed fields', [{ code: 8, data: Buffer.from([0, 1, 24]) }]],
      ['two ECS options', [ecs(1, 24, 0, [203, 0, 113]), ecs(1, 24, 0, [203, 0, 113])]],
    ] as const) {
      const reply = await udpQuery(port, mkQuery({ name: G, edns: { options: [...options] } }));
      assert.ok(reply, what);
      assert.equal((reply[3] as number) & 0x0f, RCODE.FORMERR, what);
      assert.equal(reply.readUInt16BE(6), 0, `${what}: no answer`);
    }
    // dig's own malformed one (dig sends what it is told with +subnet and a bad prefix) is refused alike.
    const { stdout } = await run('dig', ['+norec', '+nocookie', '+tries=1', '+time=2', '-p', String(port), '@127.0.0.1', '+ednsopt=8:00010f00cb0072', G, 'A']);
    assert.match(stdout, /status: FORMERR/);
  });
});

describe('weights', () => {
  it('a 1:3 weight gives 25% ± 3% over 10,000 queries (one dig, batch mode)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedns-w-'));
    const batch = join(dir, 'queries');
    writeFileSync(batch, `${Array.from({ length: 10_000 }, () => `${W} A`).join('\n')}\n`);
    const { stdout } = await run('dig', ['+norec', '+nocookie', '+tries=3', '+time=2', '+noall', '+answer', '-p', String(port), '@127.0.0.1', '-f', batch], { maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
    const answers = stdout.split('\n').filter((l) => l.startsWith(W));
    assert.equal(answers.length, 10_000, 'one address per answer: one shard');
    const c1 = answers.filter((l) => l.endsWith('198.51.100.1')).length;
    const share = c1 / answers.length;
    assert.ok(Math.abs(share - 0.25) <= 0.03, `weight 1 of 4 answered ${(share * 100).toFixed(1)}% of queries`);
    process.stdout.write(`# weights 1:3 over 10,000 dig queries: ${(share * 100).toFixed(2)}% / ${((1 - share) * 100).toFixed(2)}%\n`);
  });

  it('a policy the nameserver cannot serve is left off: every address, and the set named in rejected', async () => {
    assert.deepEqual(addrs(await dig(port, ['bad.example.com.', 'A'])), ['192.0.2.9']);
    assert.match(index.rejected.find((r) => r.recordSet.name === 'bad.example.com.')?.reason ?? '', /^policy ignored/);
    const fresh = new ZoneIndex(config);
    fresh.replaceAll(2, [rs('bad.example.com.', 'A', ['192.0.2.9'], { weighted: true, variants: [variant('x', 'r', at(0, 0), ['2001:db8::1'])] })]);
    assert.match(fresh.rejected[0]?.reason ?? '', /policy ignored: variant x: data must be A addresses/);
  });
});

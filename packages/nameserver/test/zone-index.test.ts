/** ZoneIndex maintenance (replaceAll/applyDiff) and the answerQuery core, decoded with dns-packet. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordSet } from '@fedns/model';
import packet from 'dns-packet';
import { ZoneIndex, answerQuery } from '../src/index.js';
import { P, config, makeIndex, workedExample } from './fixture.js';
import { mkQuery } from './helpers.js';

const G = `${P}.example.com.`;
const R_AS = `${P}.asia-east1.example.com.`;
const Z_ASA = `${P}.asia-east1-a.asia-east1.example.com.`;
const R_US = `${P}.us-east1.example.com.`;
const Z_USC = `${P}.us-east1-c.us-east1.example.com.`;

interface Decoded {
  rcode: string;
  flags: number;
  answers: { name: string; type: string; data: unknown; ttl?: number }[];
  authorities: { name: string; type: string; data: unknown; ttl?: number }[];
  additionals: { name: string; type: string; data: unknown }[];
}

function ask(index: ZoneIndex, name: string, qtype = 1, transport: 'udp' | 'tcp' = 'udp'): Decoded {
  const reply = answerQuery(index, mkQuery({ name, qtype }), transport);
  assert.ok(reply);
  const d = packet.decode(reply) as unknown as Decoded;
  return d;
}

function soaField(rr: { data: unknown } | undefined, field: 'serial' | 'minimum'): number | undefined {
  return (rr?.data as Record<string, number> | undefined)?.[field];
}
const addrs = (d: Decoded, type = 'A') => d.answers.filter((a) => a.type === type).map((a) => a.data as string);
const cnames = (d: Decoded) => d.answers.filter((a) => a.type === 'CNAME').map((a) => `${a.data as string}.`);

function rs(name: string, type: RecordSet['type'], data: string[]): RecordSet {
  return { name, type, ttl: 30, data, level: 'global', namespace: 'prod', service: 'nginx' };
}

describe('ZoneIndex', () => {
  it('replaceAll loads, counts RRsets and keeps the serial', () => {
    const index = makeIndex(7);
    assert.equal(index.serial, 7);
    assert.equal(index.size, workedExample().length);
    const r = ask(index, 'example.com.', 6);
    assert.equal(soaField(r.answers[0], 'serial'), 7);
  });

  it('replaceAll replaces everything (old names vanish, ENTs recomputed)', () => {
    const index = makeIndex();
    assert.deepEqual(addrs(ask(index, Z_ASA)).sort(), ['198.51.100.5', '203.0.113.10']);
    index.replaceAll(9, [rs('other.example.com.', 'A', ['192.0.2.7'])]);
    assert.equal(index.size, 1);
    assert.equal(index.serial, 9);
    assert.equal(ask(index, Z_ASA).rcode, 'NXDOMAIN');
    assert.equal(ask(index, 'svc.example.com.').rcode, 'NXDOMAIN');
    assert.deepEqual(addrs(ask(index, 'other.example.com.')), ['192.0.2.7']);
    // Config glue survives a reload.
    assert.deepEqual(addrs(ask(index, 'ns1.example.com.')), ['192.0.2.53']);
    const ns = ask(index, 'example.com.', 2);
    assert.equal(ns.additionals.length, 2);
  });

  it('applyDiff changes the answer and the chains that depend on the changed name', () => {
    const index = makeIndex();
    // Compile the answers first so the test proves invalidation.
    assert.deepEqual(addrs(ask(index, Z_ASA)).sort(), ['198.51.100.5', '203.0.113.10']);
    assert.deepEqual(addrs(ask(index, R_AS)).sort(), ['198.51.100.5', '203.0.113.10']);
    ask(index, `${P}.europe-west1.example.com.`);
    index.applyDiff(2024010102, { upserts: [rs(G, 'A', ['198.51.100.5'])], deletes: [] });
    assert.deepEqual(addrs(ask(index, G)), ['198.51.100.5']);
    assert.deepEqual(addrs(ask(index, R_AS)), ['198.51.100.5']);
    assert.deepEqual(addrs(ask(index, Z_ASA)), ['198.51.100.5']);
    assert.deepEqual(cnames(ask(index, Z_ASA)), [R_AS, G]);
    // Untouched names keep their compiled answers.
    const compiledAfterChange = index.compiled;
    assert.deepEqual(addrs(ask(index, `${P}.europe-west1.example.com.`)), ['198.51.100.5']);
    assert.equal(index.compiled, compiledAfterChange);
    assert.equal(index.serial, 2024010102);
  });

  it('applyDiff: a region losing its healthy shards becomes a CNAME; the zone chain follows it', () => {
    const index = makeIndex();
    assert.deepEqual(addrs(ask(index, Z_USC)), ['203.0.113.10']);
    index.applyDiff(2, {
      upserts: [rs(R_US, 'CNAME', [G])],
      deletes: [rs(R_US, 'A', ['203.0.113.10'])],
    });
    const r = ask(index, Z_USC);
    assert.deepEqual(cnames(r), [R_US, G]);
    assert.deepEqual(addrs(r).sort(), ['198.51.100.5', '203.0.113.10']);
    assert.equal(index.size, workedExample().length);
  });

  it('applyDiff: deleting a chain end makes dependants NXDOMAIN; ENTs vanish with their last child', () => {
    const index = makeIndex();
    assert.equal(ask(index, 'default.myfederation.svc.example.com.').rcode, 'NOERROR');
    index.applyDiff(3, { upserts: [], deletes: [rs('nginx.default.myfederation.svc.example.com.', 'A', ['192.0.2.80'])] });
    assert.equal(ask(index, 'nginx.default.myfederation.svc.example.com.').rcode, 'NXDOMAIN');
    assert.equal(ask(index, 'default.myfederation.svc.example.com.').rcode, 'NXDOMAIN');
    // svc.example.com. still has nginx.prod.myfed.svc.example.com. below it.
    assert.equal(ask(index, 'svc.example.com.').rcode, 'NOERROR');
    assert.equal(ask(index, 'toent.example.com.').rcode, 'NOERROR');

    assert.deepEqual(addrs(ask(index, Z_ASA)).length, 2);
    index.applyDiff(4, { upserts: [], deletes: [rs(G, 'A', []), rs(G, 'AAAA', [])] });
    const r = ask(index, Z_ASA);
    assert.equal(r.rcode, 'NXDOMAIN');
    assert.deepEqual(cnames(r), [R_AS, G]);
    assert.equal(r.authorities[0]?.type, 'SOA');
    assert.equal(soaField(r.authorities[0], 'serial'), 4);
  });

  it('applyDiff: data appearing at an empty non-terminal reaches the CNAMEs pointing at it', () => {
    const index = makeIndex();
    assert.equal(addrs(ask(index, 'toent.example.com.')).length, 0);
    index.applyDiff(5, { upserts: [rs('svc.example.com.', 'A', ['192.0.2.99'])], deletes: [] });
    assert.deepEqual(addrs(ask(index, 'toent.example.com.')), ['192.0.2.99']);
    // A dangling CNAME gets its target.
    assert.equal(ask(index, 'dangling.example.com.').rcode, 'NXDOMAIN');
    index.applyDiff(6, { upserts: [rs('missing.example.com.', 'A', ['192.0.2.98'])], deletes: [] });
    const d = ask(index, 'dangling.example.com.');
    assert.equal(d.rcode, 'NOERROR');
    assert.deepEqual(addrs(d), ['192.0.2.98']);
  });

  it('a serial change shows in the apex SOA and in negative answers', () => {
    const index = makeIndex(100);
    assert.equal(soaField(ask(index, 'example.com.', 6).answers[0], 'serial'), 100);
    assert.equal(soaField(ask(index, 'nx.example.com.').authorities[0], 'serial'), 100);
    index.applyDiff(4294967295, { upserts: [], deletes: [] });
    assert.equal(soaField(ask(index, 'example.com.', 6).answers[0], 'serial'), 4294967295);
    assert.equal(soaField(ask(index, 'nx.example.com.').authorities[0], 'serial'), 4294967295);
    assert.equal(soaField(ask(index, G, 15).authorities[0], 'serial'), 4294967295);
  });

  it('negative TTL is min(SOA TTL, MINIMUM) both ways (4)', () => {
    const a = new ZoneIndex({ ...config, soa: { ...config.soa, ttl: 20, minimum: 60 } });
    a.replaceAll(1, workedExample());
    const nx = ask(a, 'nx.example.com.');
    assert.equal(nx.authorities[0]?.ttl, 20);
    assert.equal(soaField(nx.authorities[0], 'minimum'), 60);
    assert.equal(ask(a, 'example.com.', 6).answers[0]?.ttl, 20);
    const b = makeIndex();
    assert.equal(ask(b, 'svc.example.com.').authorities[0]?.ttl, 30);
  });

  it('invalid record sets are rejected, not served, and never break the index', () => {
    const index = new ZoneIndex(config);
    index.replaceAll(1, [
      rs('bad.example.com.', 'A', ['not-an-ip']),
      rs('outside.example.org.', 'A', ['192.0.2.1']),
      rs('v6.example.com.', 'AAAA', ['192.0.2.1']),
      rs('two.example.com.', 'CNAME', ['a.example.com.', 'b.example.com.']),
      rs('ok.example.com.', 'A', ['192.0.2.1']),
    ]);
    assert.equal(index.rejected.length, 4);
    assert.equal(index.size, 1);
    assert.equal(ask(index, 'bad.example.com.').rcode, 'NXDOMAIN');
    assert.deepEqual(addrs(ask(index, 'ok.example.com.')), ['192.0.2.1']);
  });

  it('names are compressed in replies (22)', () => {
    const index = makeIndex();
    const q = mkQuery({ name: Z_ASA });
    const reply = answerQuery(index, q, 'udp');
    assert.ok(reply);
    const d = packet.decode(reply);
    const uncompressed = packet.encode({ ...d, id: d.id } as packet.Packet);
    assert.ok(reply.length < uncompressed.length - 60, `${reply.length} vs ${uncompressed.length}`);
    // The first answer's owner is a pointer to the question name.
    assert.deepEqual([...reply.subarray(q.length, q.length + 2)], [0xc0, 12]);
  });

  it('the same answer object serves different cases and IDs (precompiled bytes)', () => {
    const index = makeIndex();
    const a = answerQuery(index, mkQuery({ id: 1, name: G }), 'udp') as Buffer;
    const b = answerQuery(index, mkQuery({ id: 2, name: G.toUpperCase() }), 'udp') as Buffer;
    assert.equal(a.length, b.length);
    assert.equal(b.readUInt16BE(0), 2);
    assert.deepEqual(a.subarray(12 + G.length + 5), b.subarray(12 + G.length + 5));
    const d = packet.decode(b);
    assert.equal(d.questions?.[0]?.name, G.slice(0, -1).toUpperCase());
  });

  it('TXT strings longer than 255 octets are split into character-strings', () => {
    const index = new ZoneIndex(config);
    index.replaceAll(1, [rs('long.example.com.', 'TXT', ['x'.repeat(300)])]);
    const d = ask(index, 'long.example.com.', 16);
    const data = d.answers[0]?.data as Buffer[];
    assert.deepEqual(data.map((b) => b.length), [255, 45]);
  });

  it('qclass ANY is answered, CHAOS is refused', () => {
    const index = makeIndex();
    const anyClass = answerQuery(index, mkQuery({ name: G, qclass: 255 }), 'udp') as Buffer;
    assert.equal((anyClass[3] as number) & 0xf, 0);
    assert.equal(anyClass.readUInt16BE(6), 2);
    const ch = answerQuery(index, mkQuery({ name: 'version.bind.', qtype: 16, qclass: 3 }), 'udp') as Buffer;
    assert.equal((ch[3] as number) & 0xf, 5);
  });
});

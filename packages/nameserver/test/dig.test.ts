/** Conformance against the real dig/kdig over UDP and TCP (CONFORMANCE.md items noted per test). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { type DnsServer, startDnsServer } from '../src/index.js';
import { P, makeIndex } from './fixture.js';
import { dig, rdataOf } from './helpers.js';

const G = `${P}.example.com.`;
const R_US = `${P}.us-east1.example.com.`;
const Z_USB = `${P}.us-east1-b.us-east1.example.com.`;
const Z_USC = `${P}.us-east1-c.us-east1.example.com.`;
const R_EU = `${P}.europe-west1.example.com.`;
const Z_EUB = `${P}.europe-west1-b.europe-west1.example.com.`;
const R_AS = `${P}.asia-east1.example.com.`;
const Z_ASA = `${P}.asia-east1-a.asia-east1.example.com.`;

let server: DnsServer;
let port: number;
const registry = new Registry();

before(async () => {
  server = await startDnsServer({ index: makeIndex(), listen: '127.0.0.1:0', registry });
  port = server.udpPort;
  assert.equal(server.tcpPort, server.udpPort);
});
after(async () => {
  await server.close();
});

describe('answers from the worked example (dig)', () => {
  it('A at the global level: both healthy addresses, AA set, RA clear (1)', async () => {
    const r = await dig(port, [G, 'A']);
    assert.equal(r.status, 'NOERROR');
    assert.ok(r.flags.includes('aa'));
    assert.ok(!r.flags.includes('ra'));
    assert.ok(!r.flags.includes('rd'));
    assert.deepEqual(rdataOf(r.answer, 'A').sort(), ['198.51.100.5', '203.0.113.10']);
    assert.equal(r.answer[0]?.[1], '30');
    assert.equal(r.counts.authority, 0);
  });

  it('A at region and zone levels', async () => {
    for (const [name, addrs] of [
      [R_US, ['203.0.113.10']],
      [Z_USB, ['203.0.113.10']],
      [R_EU, ['198.51.100.5']],
      [Z_EUB, ['198.51.100.5']],
    ] as const) {
      const r = await dig(port, [name, 'A']);
      assert.equal(r.status, 'NOERROR', name);
      assert.ok(r.flags.includes('aa'));
      assert.deepEqual(rdataOf(r.answer, 'A'), addrs, name);
      assert.equal(rdataOf(r.answer, 'CNAME').length, 0);
    }
  });

  it('zone → region CNAME chain resolved in one answer (5)', async () => {
    const r = await dig(port, [Z_USC, 'A']);
    assert.equal(r.status, 'NOERROR');
    assert.ok(r.flags.includes('aa'));
    assert.deepEqual(rdataOf(r.answer, 'CNAME'), [R_US]);
    assert.deepEqual(rdataOf(r.answer, 'A'), ['203.0.113.10']);
    assert.equal(r.answer.find((rr) => rr[3] === 'A')?.[0], R_US);
  });

  it('zone → region → global chain resolved in one answer (5)', async () => {
    const r = await dig(port, [Z_ASA, 'A']);
    assert.equal(r.status, 'NOERROR');
    assert.deepEqual(r.answer.map((rr) => rr[3]), ['CNAME', 'CNAME', 'A', 'A']);
    assert.deepEqual(rdataOf(r.answer, 'CNAME'), [R_AS, G]);
    assert.deepEqual(rdataOf(r.answer, 'A'), ['198.51.100.5', '203.0.113.10']);
    const r6 = await dig(port, [Z_ASA, 'AAAA']);
    assert.deepEqual(rdataOf(r6.answer, 'AAAA'), ['2001:db8::10']);
    assert.equal(rdataOf(r6.answer, 'CNAME').length, 2);
  });

  it('the same chain over TCP (20)', async () => {
    const r = await dig(port, ['+tcp', Z_ASA, 'A']);
    assert.equal(r.server, 'TCP');
    assert.equal(r.status, 'NOERROR');
    assert.deepEqual(rdataOf(r.answer, 'A'), ['198.51.100.5', '203.0.113.10']);
  });

  it('qtype CNAME at a CNAME name: the CNAME only', async () => {
    const r = await dig(port, [Z_ASA, 'CNAME']);
    assert.deepEqual(r.answer.map((rr) => rr[3]), ['CNAME']);
  });

  it('CNAME out of the zone: the CNAME alone, AA set (6)', async () => {
    const r = await dig(port, ['out.example.com', 'A']);
    assert.equal(r.status, 'NOERROR');
    assert.ok(r.flags.includes('aa'));
    assert.deepEqual(rdataOf(r.answer, 'CNAME'), ['www.example.org.']);
    assert.equal(r.counts.answer, 1);
    assert.equal(r.counts.authority, 0);
  });

  it('CNAME to a missing in-zone name: NXDOMAIN with the CNAME and the SOA (5, RFC 6604)', async () => {
    const r = await dig(port, ['dangling.example.com', 'A']);
    assert.equal(r.status, 'NXDOMAIN');
    assert.deepEqual(rdataOf(r.answer, 'CNAME'), ['missing.example.com.']);
    assert.equal(rdataOf(r.authority, 'SOA').length, 1);
  });

  it('CNAME to an empty non-terminal: NOERROR, CNAME, SOA', async () => {
    const r = await dig(port, ['toent.example.com', 'A']);
    assert.equal(r.status, 'NOERROR');
    assert.deepEqual(rdataOf(r.answer, 'CNAME'), ['svc.example.com.']);
    assert.equal(rdataOf(r.authority, 'SOA').length, 1);
  });

  it('CNAME loop terminates', async () => {
    const r = await dig(port, ['loop1.example.com', 'A']);
    assert.equal(r.status, 'NOERROR');
    assert.equal(rdataOf(r.answer, 'CNAME').length, 2);
  });

  it('TXT', async () => {
    const r = await dig(port, ['txt.example.com', 'TXT']);
    assert.deepEqual(rdataOf(r.answer, 'TXT').sort(), ['"hello world"', '"v=spf1 -all"']);
  });

  it('NXDOMAIN with the SOA in authority, negative TTL = min(SOA TTL, MINIMUM) (2, 4)', async () => {
    const r = await dig(port, [`nope.${G}`, 'A']);
    assert.equal(r.status, 'NXDOMAIN');
    assert.ok(r.flags.includes('aa'));
    assert.equal(r.counts.answer, 0);
    const soa = r.authority.find((rr) => rr[3] === 'SOA');
    assert.ok(soa);
    assert.equal(soa[0], 'example.com.');
    assert.equal(soa[1], '30'); // min(300, 30)
    assert.deepEqual(soa.slice(4), ['ns1.example.com.', 'hostmaster.example.com.', '2024010101', '3600', '600', '604800', '30']);
  });

  it('NODATA for an existing name without the type (3)', async () => {
    for (const t of ['MX', 'TXT', 'NS', 'SOA', 'SRV']) {
      const r = await dig(port, [G, t]);
      assert.equal(r.status, 'NOERROR', t);
      assert.ok(r.flags.includes('aa'));
      assert.equal(r.counts.answer, 0, t);
      assert.equal(rdataOf(r.authority, 'SOA').length, 1, t);
      assert.equal(r.authority[0]?.[1], '30');
    }
  });

  it('NODATA, not NXDOMAIN, for empty non-terminals (3, RFC 8020)', async () => {
    for (const n of ['svc.example.com', 'myfederation.svc.example.com', 'default.myfederation.svc.example.com', 'us-east1.example.com', 'svc.us-east1.example.com', 'myfed.svc.example.com']) {
      const r = await dig(port, [n, 'A']);
      assert.equal(r.status, 'NOERROR', n);
      assert.equal(r.counts.answer, 0, n);
      assert.equal(rdataOf(r.authority, 'SOA').length, 1, n);
    }
    const leaf = await dig(port, ['nginx.default.myfederation.svc.example.com', 'A']);
    assert.deepEqual(rdataOf(leaf.answer, 'A'), ['192.0.2.80']);
  });

  it('unknown and meta types: NODATA, never silence (8)', async () => {
    for (const t of ['TYPE65000', 'TYPE253', 'HTTPS', 'DNSKEY', 'TYPE0']) {
      const r = await dig(port, [G, t]);
      assert.equal(r.status, 'NOERROR', t);
      assert.equal(r.counts.answer, 0, t);
      assert.equal(rdataOf(r.authority, 'SOA').length, 1, t);
    }
  });

  it('ANY: one RRset only (9)', async () => {
    const r = await dig(port, [G, 'ANY']);
    assert.equal(r.status, 'NOERROR');
    const types = new Set(r.answer.map((rr) => rr[3]));
    assert.equal(types.size, 1);
    const apex = await dig(port, ['+notcp', 'example.com', 'ANY']);
    assert.deepEqual(apex.answer.map((rr) => rr[3]), ['SOA']);
  });

  it('REFUSED with AA clear outside the zone (7)', async () => {
    for (const n of ['www.google.com', 'com', '.', 'example.org', 'xexample.com']) {
      const r = await dig(port, [n, 'A']);
      assert.equal(r.status, 'REFUSED', n);
      assert.ok(!r.flags.includes('aa'), n);
      assert.equal(r.counts.answer, 0);
    }
  });

  it('apex SOA and NS with glue (11)', async () => {
    const soa = await dig(port, ['example.com', 'SOA']);
    assert.equal(soa.status, 'NOERROR');
    assert.ok(soa.flags.includes('aa'));
    assert.deepEqual(soa.answer[0]?.slice(4), ['ns1.example.com.', 'hostmaster.example.com.', '2024010101', '3600', '600', '604800', '30']);
    assert.equal(soa.answer[0]?.[1], '300');
    const ns = await dig(port, ['example.com', 'NS']);
    assert.deepEqual(rdataOf(ns.answer, 'NS').sort(), ['ns1.example.com.', 'ns2.example.net.']);
    assert.deepEqual(rdataOf(ns.additional, 'A'), ['192.0.2.53']);
    assert.deepEqual(rdataOf(ns.additional, 'AAAA'), ['2001:db8::53']);
    assert.ok(ns.additional.every((rr) => rr[0] === 'ns1.example.com.'));
    const glue = await dig(port, ['ns1.example.com', 'A']);
    assert.ok(glue.flags.includes('aa'));
    assert.deepEqual(rdataOf(glue.answer, 'A'), ['192.0.2.53']);
  });

  it('0x20: the question comes back with its case, answer follows it (10)', async () => {
    const mixed = 'NgInX.pRoD.MyFeD.sVc.ExAmPlE.cOm.';
    for (const extra of [[], ['+tcp']]) {
      const r = await dig(port, [...extra, mixed, 'A']);
      assert.equal(r.status, 'NOERROR');
      assert.equal(r.question[0]?.split(/\s+/)[0], mixed);
      assert.equal(rdataOf(r.answer, 'A').length, 2);
      assert.ok(!/WARNING|mismatch/i.test(r.raw), r.raw);
    }
    const nx = await dig(port, ['NoPe.ExAmPlE.CoM', 'A']);
    assert.equal(nx.status, 'NXDOMAIN');
    assert.equal(nx.question[0]?.split(/\s+/)[0], 'NoPe.ExAmPlE.CoM.');
  });

  it('RD and CD copied, RA never, Z/AD clear (1)', async () => {
    const r = await dig(port, ['+rec', '+cdflag', '+adflag', G, 'A']);
    assert.ok(r.flags.includes('rd'));
    assert.ok(r.flags.includes('cd'));
    assert.ok(!r.flags.includes('ra'));
    assert.ok(!r.flags.includes('ad'));
  });

  it('another opcode (STATUS, NOTIFY, UPDATE): NOTIMP without RD and CD, which only QUERY defines (14)', async () => {
    for (const opcode of ['status', 'notify', 'update']) {
      for (const tcp of [[], ['+tcp']]) {
        const r = await dig(port, ['+rec', '+cdflag', `+opcode=${opcode}`, ...tcp, 'example.com', 'SOA']);
        const what = `opcode ${opcode} ${tcp.join('')}`;
        assert.equal(r.status, 'NOTIMP', `${what}: ${r.raw}`);
        assert.match(r.raw, new RegExp(`opcode: ${opcode.toUpperCase()}`), what);
        assert.ok(!r.flags.includes('rd'), `RD clear: ${what}`);
        assert.ok(!r.flags.includes('cd'), `CD clear: ${what}`);
        assert.ok(!r.flags.includes('aa'), `AA clear: ${what}`);
      }
    }
  });
});

describe('EDNS and sizes (dig, kdig)', () => {
  it('OPT only when the query had one; 1232 advertised (15)', async () => {
    const withOpt = await dig(port, [G, 'A']);
    assert.equal(withOpt.edns?.udp, 1232);
    assert.equal(withOpt.edns?.version, 0);
    const noOpt = await dig(port, ['+noedns', G, 'A']);
    assert.equal(noOpt.edns, undefined);
    assert.equal(noOpt.counts.additional, 0);
  });

  it('EDNS version 1: BADVERS with OPT version 0 (16)', async () => {
    const r = await dig(port, ['+edns=1', '+noednsneg', G, 'A']);
    assert.equal(r.status, 'BADVERS');
    assert.equal(r.edns?.version, 0);
    assert.equal(r.counts.answer, 0);
  });

  it('DO copied, unknown options and NSID not echoed (17)', async () => {
    const r = await dig(port, ['+dnssec', '+nsid', '+ednsopt=65001:c0ffee', G, 'A']);
    assert.ok(r.edns?.flags.includes('do'));
    assert.ok(!/NSID|65001|OPT=/.test(r.raw), r.raw);
    const nodo = await dig(port, [G, 'A']);
    assert.ok(!nodo.edns?.flags.includes('do'));
  });

  it('large RRset: TC over UDP within the limit, full answer over TCP (19, 20, 22)', async () => {
    const udp = await dig(port, ['+ignore', '+bufsize=4096', 'big.example.com', 'A']);
    assert.ok(udp.flags.includes('tc'));
    assert.equal(udp.counts.answer, 0);
    assert.ok((udp.size ?? 0) <= 1232);
    assert.equal(udp.edns?.udp, 1232);
    const tcp = await dig(port, ['+tcp', 'big.example.com', 'A']);
    assert.ok(!tcp.flags.includes('tc'));
    assert.equal(rdataOf(tcp.answer, 'A').length, 100);
    // Compressed: each A record owner is a 2-octet pointer (16 octets per record).
    assert.equal(tcp.size, 12 + 21 + 100 * 16 + 11);
    // dig without +ignore retries over TCP by itself.
    const auto = await dig(port, ['big.example.com', 'A']);
    assert.equal(rdataOf(auto.answer, 'A').length, 100);
  });

  it('UDP limit is min(max(bufsize, 512), 1232); 512 without EDNS (19)', async () => {
    const fits = await dig(port, ['+ignore', '+bufsize=1232', 'mid.example.com', 'A']);
    assert.ok(!fits.flags.includes('tc'));
    assert.equal(fits.counts.answer, 40);
    assert.ok((fits.size ?? 0) > 512 && (fits.size ?? 0) <= 1232);
    const noedns = await dig(port, ['+ignore', '+noedns', 'mid.example.com', 'A']);
    assert.ok(noedns.flags.includes('tc'));
    assert.ok((noedns.size ?? 0) <= 512);
    const small = await dig(port, ['+ignore', '+bufsize=600', 'mid.example.com', 'A']);
    assert.ok(small.flags.includes('tc'));
    const tiny = await dig(port, ['+ignore', '+bufsize=100', G, 'A']);
    assert.ok(!tiny.flags.includes('tc')); // treated as 512
    assert.equal(tiny.counts.answer, 2);
  });

  it('kdig agrees on a chain and on NODATA', async () => {
    const r = await dig(port, [Z_ASA, 'A'], 'kdig');
    assert.equal(r.status, 'NOERROR');
    assert.ok(r.flags.includes('aa'));
    assert.deepEqual(rdataOf(r.answer, 'A'), ['198.51.100.5', '203.0.113.10']);
    const nd = await dig(port, ['svc.example.com', 'AAAA'], 'kdig');
    assert.equal(nd.status, 'NOERROR');
    assert.equal(rdataOf(nd.authority, 'SOA').length, 1);
  });

  it('metrics are exported with the fedns_dns_ prefix', async () => {
    const text = await registry.metrics();
    assert.match(text, /fedns_dns_queries_total\{qtype="A",rcode="NOERROR",protocol="udp"\} \d+/);
    assert.match(text, /fedns_dns_queries_total\{qtype="A",rcode="NXDOMAIN",protocol="udp"\} \d+/);
    assert.match(text, /fedns_dns_truncated_total\{protocol="udp"\} [1-9]/);
    assert.match(text, /fedns_dns_response_size_bytes_bucket\{le="1232",protocol="tcp"\} \d+/);
    assert.match(text, /fedns_dns_response_size_bytes_count\{protocol="udp"\} [1-9]/);
  });
});

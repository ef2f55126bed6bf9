/**
 * DO=1 answers (issue 15), in process: the signed zone's DO=0 answers are the
 * unsigned zone's bytes; DO=1 answers carry RRSIGs that verify (question case
 * preserved, signer lower case), NODATA and empty non-terminals their NSEC3,
 * NXDOMAIN the closest encloser proof found by hash; a chain of 13 addresses
 * fits in 1232 bytes; a diff recompiles what it touched, NSEC3 users included.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base32hex, CSK_FLAGS, covers, generateKey, loadKey, nsec3Hash, publicKeyObject, type RRset, soaText, verifyRRset, ZoneSigner } from '@fedns/dnssec';
import type { RecordSet, RecordSetDiff } from '@fedns/model';
import dnsPacket from 'dns-packet';
import { answerQuery, ZoneIndex } from '../src/index.js';
import { config, P, workedExample } from './fixture.js';

const key = loadKey(generateKey().pkcs8, CSK_FLAGS);
const SERIAL = 2024010101;
const now = Math.floor(Date.now() / 1000);

/** The worked example signed as the zone writer signs it, and the same data unsigned, at one serial. */
function zones(extra: RecordSet[] = []) {
  const signer = new ZoneSigner(config);
  signer.setKeys({ published: [key], active: key, entry: [key] });
  const data = [...workedExample().filter((r) => !r.name.startsWith('loop') && r.name !== 'dangling.example.com.'), ...extra];
  const d = signer.sign({ upserts: data, deletes: [] }, now, { full: true });
  const sets = [...d.upserts, ...signer.soaHook(now)(SERIAL)];
  const signed = new ZoneIndex(config);
  signed.replaceAll(SERIAL, sets);
  const plain = new ZoneIndex(config);
  plain.replaceAll(SERIAL, data);
  return { signed, plain, signer, sets };
}

function query(name: string, type: string, dnssec: boolean, id = 7): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ name, type: type as 'A', class: 'IN' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnssec ? dnsPacket.DNSSEC_OK : 0 } as dnsPacket.Answer] });
}

const ask = (index: ZoneIndex, name: string, type: string, dnssec: boolean) => answerQuery(index, query(name, type, dnssec), 'udp') as Buffer;
const rcode = (p: dnsPacket.Packet) => (p as { rcode?: string }).rcode;
type Rr = dnsPacket.Answer & { data: unknown };

test('DO=0 answers of the signed zone are byte for byte those of the unsigned zone', () => {
  const { signed, plain } = zones();
  for (const [n, t] of [[`${P}.example.com`, 'A'], [`${P}.asia-east1-a.asia-east1.example.com`, 'A'], ['nope.example.com', 'A'], ['svc.example.com', 'A'], [`${P}.example.com`, 'TXT'], ['example.com', 'SOA'], ['example.com', 'NS'], ['NGINX.prod.myfed.svc.Example.COM', 'AAAA']] as const) {
    assert.deepEqual(ask(signed, n, t, false), ask(plain, n, t, false), `${n} ${t}`);
  }
});

/** Verifies every RRSIG of a decoded reply over the RRset it covers. */
function verifyAll(reply: dnsPacket.Packet, sections: ('answers' | 'authorities')[]): number {
  const pub = publicKeyObject(key.publicKey);
  let n = 0;
  for (const sec of sections) {
    const rrs = (reply[sec] ?? []) as dnsPacket.Answer[];
    for (const sig of rrs.filter((r) => r.type === 'RRSIG')) {
      const d = (sig as Rr).data as dnsPacket.RrsigData;
      assert.equal(d.signersName, 'example.com', 'signer name lower case');
      const covered = rrs.filter((r) => r.type === d.typeCovered && r.name.toLowerCase() === sig.name.toLowerCase());
      assert.ok(covered.length, `${sig.name} ${d.typeCovered}: the covered set is there`);
      const text = (r: dnsPacket.Answer): string => {
        const v = (r as Rr).data;
        if (r.type === 'NSEC3') {
          const x = v as { algorithm: number; flags: number; iterations: number; nextDomain: Buffer; rrtypes: string[] };
          return `${x.algorithm} ${x.flags} ${x.iterations} - ${base32hex(x.nextDomain)} ${x.rrtypes.join(' ')}`;
        }
        if (r.type === 'DNSKEY') {
          const x = v as { flags: number; algorithm: number; key: Buffer };
          return `${x.flags} 3 ${x.algorithm} ${x.key.toString('base64')}`;
        }
        if (r.type === 'SOA') {
          const x = v as dnsPacket.SoaData;
          return soaText({ mname: x.mname, rname: x.rname, refresh: x.refresh ?? 0, retry: x.retry ?? 0, expire: x.expire ?? 0, minimum: x.minimum ?? 0 }, x.serial ?? 0);
        }
        return String(v);
      };
      const set: RRset = { name: sig.name, type: d.typeCovered, ttl: d.originalTTL, data: covered.map(text) };
      const rrsig = `${d.typeCovered} ${d.algorithm} ${d.labels} ${d.originalTTL} ${d.expiration} ${d.inception} ${d.keyTag} ${d.signersName}. ${d.signature.toString('base64')}`;
      assert.ok(verifyRRset(set, rrsig, pub), `${sig.name} ${d.typeCovered} verifies`);
      n++;
    }
  }
  return n;
}

test('DO=1: positive answers and CNAME chains carry RRSIGs that verify; the question case is kept', () => {
  const { signed } = zones();
  const name = `NGINX.Prod.myfed.svc.ASIA-EAST1-A.asia-east1.example.COM`;
  const raw = ask(signed, name, 'A', true);
  const reply = dnsPacket.decode(raw);
  assert.equal(reply.questions?.[0]?.name, name);
  assert.deepEqual(reply.answers?.map((r) => r.type), ['CNAME', 'RRSIG', 'CNAME', 'RRSIG', 'A', 'A', 'RRSIG']);
  assert.equal(verifyAll(reply, ['answers']), 3);
  assert.ok(raw.length <= 1232);
  for (const [n, t] of [['example.com', 'SOA'], ['example.com', 'NS'], ['example.com', 'DNSKEY'], ['ns1.example.com', 'A'], [`${P}.example.com`, 'AAAA']]) {
    const r = dnsPacket.decode(ask(signed, n as string, t as string, true));
    assert.ok(verifyAll(r, ['answers']) >= 1, `${n} ${t}`);
  }
});

test('DO=1: NODATA and empty non-terminals carry the matching NSEC3; NXDOMAIN the closest encloser proof', () => {
  const { signed } = zones();
  const nodata = dnsPacket.decode(ask(signed, `${P}.example.com`, 'TXT', true));
  assert.equal(rcode(nodata), 'NOERROR');
  const n3 = (nodata.authorities ?? []).filter((r) => r.type === 'NSEC3');
  assert.equal(n3.length, 1);
  assert.equal(n3[0]?.name.split('.')[0], nsec3Hash(`${P}.example.com.`));
  assert.ok(verifyAll(nodata, ['authorities']) >= 2, 'SOA and NSEC3 signed');

  const ent = dnsPacket.decode(ask(signed, 'SVC.example.com', 'A', true));
  assert.equal(rcode(ent), 'NOERROR');
  const e3 = (ent.authorities ?? []).filter((r) => r.type === 'NSEC3');
  assert.equal(e3[0]?.name.split('.')[0], nsec3Hash('svc.example.com.'));
  assert.deepEqual(((e3[0] as Rr | undefined)?.data as { rrtypes: string[] } | undefined)?.rrtypes, [], 'an ENT has an empty bitmap');

  const nx = dnsPacket.decode(ask(signed, `x.y.${P}.us-west1.example.com`, 'A', true));
  assert.equal(rcode(nx), 'NXDOMAIN');
  const proof = (nx.authorities ?? []).filter((r) => r.type === 'NSEC3');
  assert.ok(proof.length >= 2 && proof.length <= 3);
  verifyAll(nx, ['authorities']);
  // No us-west1.example.com. exists: the closest encloser is the apex (matched); the next closer
  // name us-west1.example.com. and the wildcard *.example.com. are covered.
  const owners = proof.map((r) => r.name.split('.')[0] as string);
  assert.ok(owners.includes(nsec3Hash('example.com.')), 'the closest encloser matched');
  const covered = (h: string) => proof.some((r) => covers(r.name.split('.')[0] as string, base32hex(((r as Rr).data as { nextDomain: Buffer }).nextDomain), h));
  assert.ok(covered(nsec3Hash('us-west1.example.com.')), 'the next closer name covered');
  assert.ok(covered(nsec3Hash('*.example.com.')), 'the wildcard covered');
  // Below an existing name: the closest encloser is that name.
  const deep = dnsPacket.decode(ask(signed, `nope.${P}.example.com`, 'A', true));
  assert.ok((deep.authorities ?? []).some((r) => r.name.split('.')[0] === nsec3Hash(`${P}.example.com.`)));
});

test('DO=1: a cascade chain of 13 addresses fits in 1232 bytes', () => {
  const addrs = Array.from({ length: 13 }, (_, i) => `203.0.113.${i + 1}`);
  const many: RecordSet = { name: `big13.example.com.`, type: 'A', ttl: 30, data: addrs, level: 'global', namespace: 'prod', service: 'big' };
  const region: RecordSet = { name: `big13.asia-southeast1.example.com.`, type: 'CNAME', ttl: 30, data: ['big13.example.com.'], level: 'region', namespace: 'prod', service: 'big' };
  const zone: RecordSet = { name: `big13.asia-southeast1-b.asia-southeast1.example.com.`, type: 'CNAME', ttl: 30, data: ['big13.asia-southeast1.example.com.'], level: 'zone', namespace: 'prod', service: 'big' };
  const { signed } = zones([many, region, zone]);
  const raw = ask(signed, 'big13.asia-southeast1-b.asia-southeast1.example.com', 'A', true);
  const r = dnsPacket.decode(raw);
  assert.ok(!((r.flags ?? 0) & 0x200), 'not truncated');
  assert.ok(raw.length <= 1232, `${raw.length} bytes`);
  assert.equal(verifyAll(r, ['answers']), 3);
});

test('a diff recompiles the DO=1 answers it touched, NSEC3 users included', () => {
  const { signed, signer } = zones();
  const before = dnsPacket.decode(ask(signed, `${P}.us-east1.example.com`, 'AAAA', true));
  assert.equal(rcode(before), 'NOERROR');
  // us-east1 loses its shard: the region name becomes a CNAME to the global name.
  const change: RecordSetDiff = {
    upserts: [{ name: `${P}.us-east1.example.com.`, type: 'CNAME', ttl: 30, data: [`${P}.example.com.`], level: 'region', namespace: 'prod', service: 'nginx' }],
    deletes: [{ name: `${P}.us-east1.example.com.`, type: 'A', ttl: 30, data: [], level: 'region', namespace: 'prod', service: 'nginx' }],
  };
  const d = signer.sign(change, now);
  const hook = signer.soaHook(now)(SERIAL + 1);
  const byKey = new Map(hook.map((r) => [`${r.name}/${r.type}`, r]));
  signed.applyDiff(SERIAL + 1, { upserts: [...d.upserts.filter((r) => !byKey.has(`${r.name}/${r.type}`)), ...hook], deletes: d.deletes });
  const after = dnsPacket.decode(ask(signed, `${P}.us-east1.example.com`, 'A', true));
  assert.deepEqual(after.answers?.map((r) => r.type), ['CNAME', 'RRSIG', 'A', 'A', 'RRSIG']);
  verifyAll(after, ['answers']);
  const nodata = dnsPacket.decode(ask(signed, `${P}.example.com`, 'TXT', true));
  verifyAll(nodata, ['authorities']);
  const soa = (nodata.authorities ?? []).find((r) => r.type === 'SOA');
  assert.equal(((soa as Rr | undefined)?.data as dnsPacket.SoaData | undefined)?.serial, SERIAL + 1, 'the new serial, signed');
});

test('random and mutated DO=1 queries against the signed zone never throw and decode', () => {
  const { signed } = zones();
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const names = [`${P}.example.com`, `${P}.asia-east1-a.asia-east1.example.com`, 'svc.example.com', 'nope.example.com', 'a.b.c.d.example.com', 'example.com', 'ns1.example.com'];
  const types = ['A', 'AAAA', 'TXT', 'CNAME', 'SOA', 'NS', 'DNSKEY', 'NSEC3PARAM', 'CDS', 'RRSIG', 'NSEC3', 'DS', 'ANY', 'MX'];
  for (let i = 0; i < 5000; i++) {
    const q = Buffer.from(query(names[rnd(names.length)] as string, types[rnd(types.length)] as string, true, i & 0xffff));
    if (i % 2) for (let m = 0; m < 1 + rnd(3); m++) q[rnd(q.length)] = rnd(256);
    const r = answerQuery(signed, q, i % 3 ? 'udp' : 'tcp');
    if (r && r.length > 12 && i % 2 === 0) assert.doesNotThrow(() => dnsPacket.decode(r), `query ${i}`);
  }
});

test('DNSSEC x traffic policy: DO=1 on a signed zone answers a weighted set whole, and it validates; DO=0 keeps the weights', () => {
  // A 1:3 weighted global set, a routed one, and a region name that CNAMEs to the weighted one.
  const variant = (cluster: string, region: string, data: string[], weight: number) => ({ cluster, region, location: { latitude: 0, longitude: 0 }, weight, data });
  const weighted: RecordSet = {
    ...{ name: 'wt.prod.myfed.svc.example.com.', type: 'A', ttl: 30, data: ['198.51.100.1', '198.51.100.3'], level: 'global', namespace: 'prod', service: 'wt' },
    policy: { weighted: true, variants: [variant('c1', 'us-east1', ['198.51.100.1'], 1), variant('c3', 'us-central1', ['198.51.100.3'], 3)] },
  };
  const routed: RecordSet = {
    ...{ name: 'rt.prod.myfed.svc.example.com.', type: 'A', ttl: 30, data: ['198.51.100.5', '198.51.100.6'], level: 'global', namespace: 'prod', service: 'rt' },
    policy: { routing: 'nearest', variants: [variant('c5', 'us-east1', ['198.51.100.5'], 1), variant('c6', 'asia-east1', ['198.51.100.6'], 1)] },
  };
  const region: RecordSet = { name: 'wt.prod.myfed.svc.us-west1.example.com.', type: 'CNAME', ttl: 30, data: ['wt.prod.myfed.svc.example.com.'], level: 'region', namespace: 'prod', service: 'wt', region: 'us-west1' };
  const { signed, plain, sets } = zones([weighted, routed, region]);
  assert.equal(signed.rejected.length, 0, JSON.stringify(signed.rejected));
  // The signer signed the published set, the union of the variants.
  assert.ok(sets.some((r) => r.type === 'RRSIG' && r.name === weighted.name && r.data.some((d) => d.startsWith('A '))));
  const addressesOf = (p: dnsPacket.Packet) => (p.answers ?? []).filter((r) => r.type === 'A').map((r) => String((r as Rr).data)).sort();
  for (let i = 0; i < 200; i++) {
    for (const [name, all] of [
      ['wt.prod.myfed.svc.example.com', weighted.data],
      ['WT.prod.myfed.svc.US-WEST1.example.com', weighted.data],
      ['rt.prod.myfed.svc.example.com', routed.data],
    ] as const) {
      const r = dnsPacket.decode(ask(signed, name, 'A', true));
      assert.equal(rcode(r), 'NOERROR');
      assert.deepEqual(addressesOf(r), [...all], `${name}: DO=1 on a signed zone gets the whole signed set`);
      assert.ok(verifyAll(r, ['answers']) >= 1, `${name}: its RRSIGs verify`);
    }
  }
  // DO=0 (signed zone) and DO=1 on an unsigned zone: one variant per answer, about 1:3.
  for (const [index, dnssec] of [[signed, false], [plain, true]] as const) {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const got = addressesOf(dnsPacket.decode(ask(index, 'wt.prod.myfed.svc.example.com', 'A', dnssec)));
      assert.equal(got.length, 1, 'one shard per answer');
      counts.set(got[0] as string, (counts.get(got[0] as string) ?? 0) + 1);
    }
    const share = (counts.get('198.51.100.1') ?? 0) / 2000;
    assert.ok(share > 0.2 && share < 0.3, `weight 1 of 4: ${share}`);
  }
});

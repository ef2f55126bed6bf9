/** A small signed zone for the tests: the DESIGN §4 worked example, glue, an ENT, and a zone-file writer. */
import type { RecordSet } from '@fedns/model';
import { CSK_FLAGS, generateKey, loadKey, type SigningKey, soaText, ZoneSigner, type SignerZone } from '../src/index.js';

export const Z = 'example.com.';
export const P = 'nginx.prod.myfed.svc';
export const ZONE: SignerZone = {
  zone: Z,
  soa: { mname: 'ns1.example.com.', rname: 'hostmaster.example.com.', refresh: 3600, retry: 600, expire: 604800, minimum: 30, ttl: 3600 },
  nameservers: [{ name: 'ns1.example.com.', addresses: ['192.0.2.53', '2001:db8::53'] }, { name: 'ns.example.net.', addresses: [] }],
};

export const rs = (name: string, type: RecordSet['type'], data: string[], ttl = 30): RecordSet => ({ name, type, ttl, data, level: 'global', namespace: 'prod', service: 'nginx' });
export const DATA: RecordSet[] = [
  rs(`${P}.${Z}`, 'A', ['198.51.100.5', '203.0.113.10']),
  rs(`${P}.${Z}`, 'AAAA', ['2001:db8::10']),
  rs(`${P}.us-east1.${Z}`, 'A', ['203.0.113.10']),
  rs(`${P}.us-east1-b.us-east1.${Z}`, 'A', ['203.0.113.10']),
  rs(`${P}.us-east1-c.us-east1.${Z}`, 'CNAME', [`${P}.us-east1.${Z}`]),
  rs(`${P}.asia-east1.${Z}`, 'CNAME', [`${P}.${Z}`]),
  rs(`${P}.asia-east1-a.asia-east1.${Z}`, 'CNAME', [`${P}.asia-east1.${Z}`]),
  rs(`txt.${Z}`, 'TXT', ['hello world', 'x'.repeat(300)]),
];

export function newKey(): { key: SigningKey; pkcs8: Buffer } {
  const { pkcs8 } = generateKey();
  return { key: loadKey(pkcs8, CSK_FLAGS), pkcs8 };
}

/** A signer with one CSK and the example zone signed; `sets` is what the store would hold. */
export function signedZone(key = newKey().key, now = Math.floor(Date.now() / 1000), serial = 2024010101) {
  const signer = new ZoneSigner(ZONE);
  signer.setKeys({ published: [key], active: key, entry: [key] });
  const store = new Map<string, RecordSet>();
  const apply = (d: { upserts: RecordSet[]; deletes: RecordSet[] }) => {
    for (const x of d.deletes) store.delete(`${x.name}/${x.type}`);
    for (const x of d.upserts) store.set(`${x.name}/${x.type}`, x);
  };
  const commit = (d: { upserts: RecordSet[]; deletes: RecordSet[] }, s: number, opts = {}) => {
    apply(signer.sign(d, now, opts));
    apply({ upserts: signer.soaHook(now)(s), deletes: [] });
  };
  commit({ upserts: DATA, deletes: [] }, serial, { full: true });
  return { signer, key, store, commit, now };
}

/** TXT in zone-file form: quoted character-strings of at most 255 octets. */
export const txtText = (d: string) => (d.match(/.{1,255}/g) ?? ['']).map((c) => JSON.stringify(c)).join(' ');

/** A zone file of the store's sets plus the config's SOA, NS and glue. */
export function zoneFile(sets: Iterable<RecordSet>, serial: number): string {
  const lines = [`${Z} ${ZONE.soa.ttl} IN SOA ${soaText(ZONE.soa, serial)}`];
  for (const ns of ZONE.nameservers) lines.push(`${Z} ${ZONE.soa.ttl} IN NS ${ns.name}`);
  lines.push(`ns1.${Z} ${ZONE.soa.ttl} IN A 192.0.2.53`, `ns1.${Z} ${ZONE.soa.ttl} IN AAAA 2001:db8::53`);
  for (const s of sets) {
    for (const d of s.data) {
      const ttl = s.type === 'RRSIG' ? Number(d.split(' ')[3]) : s.ttl;
      const text = s.type === 'TXT' ? txtText(d) : d;
      lines.push(`${s.name} ${ttl} IN ${s.type} ${text}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Key tag, DS, NSEC3 hash against BIND's tools; canonical order; the chain; rollover steps. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareNames, DEFAULT_ROLLOVER_TIMING, type DnssecState, dnskeyText, dsText, keyRoles, Nsec3Chain, nsec3Hash, stepRollover, type StoredKey } from '../src/index.js';
import { newKey, signedZone } from './fixture.js';

test('key tag and DS match dnssec-dsfromkey', () => {
  const { key } = newKey();
  const dir = mkdtempSync(join(tmpdir(), 'fedns-ds-'));
  writeFileSync(join(dir, 'k'), `example.com. 3600 IN DNSKEY ${dnskeyText(257, key.publicKey)}\n`);
  const out = execFileSync('dnssec-dsfromkey', ['-2', '-f', join(dir, 'k'), 'example.com'], { encoding: 'utf8' }).trim();
  assert.equal(out.replace(/\s+/g, ' '), `example.com. IN DS ${dsText('example.com.', 257, key.publicKey)}`);
  assert.equal(Number(out.split(/\s+/)[3]), key.tag);
});

test('NSEC3 hashes match ldns-nsec3-hash (SHA-1, 0 iterations, no salt)', () => {
  for (const name of ['example.com.', 'svc.example.com.', 'NGINX.prod.myfed.svc.example.com.']) {
    const out = execFileSync('ldns-nsec3-hash', ['-t', '0', name], { encoding: 'utf8' });
    assert.equal(nsec3Hash(name), out.trim().replace(/\.$/, '').toLowerCase(), name);
  }
});

test('canonical name order (RFC 4034 6.1)', () => {
  const names = ['z.example.', '*.z.example.', 'zABC.a.EXAMPLE.', 'example.', '\u0001.z.example.', 'Z.a.example.', 'a.example.', 'yljkjljk.a.example.'];
  // RFC 4034's example order (its \200 label left out): '*' (0x2a) sorts after \001.
  assert.deepEqual([...names].sort(compareNames).map((n) => n.toLowerCase()), ['example.', 'a.example.', 'yljkjljk.a.example.', 'z.a.example.', 'zabc.a.example.', 'z.example.', '\u0001.z.example.', '*.z.example.']);
});

test('the chain: covering hash, wrap-around, predecessors', () => {
  const c = new Nsec3Chain();
  for (const h of ['b', 'd', 'f']) c.insert(h, { name: h });
  assert.equal(c.covering('c'), 'b');
  assert.equal(c.covering('g'), 'f');
  assert.equal(c.covering('a'), 'f');
  assert.equal(c.insert('e', { name: 'e' }), 'd');
  assert.equal(c.remove('b'), 'f');
  assert.equal(c.next('f'), 'd');
});

test('an unchanged commit re-signs nothing but the SOA; an expired signature is refreshed', () => {
  const z = signedZone();
  const before = z.signer.signatures;
  const d = z.signer.sign({ upserts: [], deletes: [] }, z.now);
  assert.equal(d.upserts.length + d.deletes.length, 0);
  const later = z.now + 8 * 86_400; // fewer than 7 days left on every signature
  const r = z.signer.sign({ upserts: [], deletes: [] }, later, { refresh: 1_000_000 });
  assert.ok(r.upserts.length > 10, `${r.upserts.length} sets re-signed`);
  assert.ok(z.signer.signatures > before);
  assert.ok((z.signer.earliestExpiry() ?? 0) > later + 7 * 86_400);
});

test('rollover steps: publish, activate after Ipub, retire after the DS and every signature moved', () => {
  const t = DEFAULT_ROLLOVER_TIMING;
  const keys: StoredKey[] = [{ id: 'old', flags: 257, algorithm: 13, privateKey: Buffer.alloc(0), state: 'active', created: '' }];
  let st: DnssecState = { signed: true, rollover: { phase: 'published', newKey: 'new', oldKey: 'old', published: 1000 } };
  assert.deepEqual(keyRoles(keys, st), { published: ['old', 'new'], active: 'old', entry: ['old'] });
  assert.equal(stepRollover(st, 1000 + t.propagation + t.dnskeyTtl - 1, t, { allSignedByActive: false }), undefined);
  const a = stepRollover(st, 1000 + t.propagation + t.dnskeyTtl, t, { allSignedByActive: false });
  assert.equal(a?.state.rollover?.phase, 'active');
  st = a?.state as DnssecState;
  assert.deepEqual(keyRoles(keys, st), { published: ['old', 'new'], active: 'new', entry: ['old', 'new'], cds: ['new'] });
  st = stepRollover(st, 6000, t, { allSignedByActive: true })?.state as DnssecState;
  assert.equal(stepRollover(st, 6001, t, { allSignedByActive: true }), undefined, 'waits for the DS');
  st = stepRollover({ ...st, dsSeen: 7000 }, 7000, t, { allSignedByActive: true })?.state as DnssecState;
  assert.equal(stepRollover(st, 7000 + t.parentDs - 1, t, { allSignedByActive: true }), undefined);
  const done = stepRollover(st, 7000 + t.parentDs, t, { allSignedByActive: true });
  assert.equal(done?.state.rollover, undefined);
  assert.deepEqual(done?.keyStates, { old: 'retired' });
});

test('a changed nameserver config re-signs the apex NS at the next full check; a dropped glue name loses its records', async () => {
  const { ZoneSigner } = await import('../src/index.js');
  const { ZONE, DATA } = await import('./fixture.js');
  const { key } = newKey();
  const now = Math.floor(Date.now() / 1000);
  const a = new ZoneSigner(ZONE);
  a.setKeys({ published: [key], active: key, entry: [key] });
  const first = a.sign({ upserts: DATA, deletes: [] }, now, { full: true });
  const stored = [...first.upserts, ...a.soaHook(now)(1)];
  const b = new ZoneSigner({ ...ZONE, nameservers: [{ name: 'ns9.example.net.', addresses: [] }] });
  b.setKeys({ published: [key], active: key, entry: [key] });
  b.load(stored);
  const d = b.sign({ upserts: [], deletes: [] }, now, { full: true });
  const apex = b.soaHook(now)(2).find((r) => r.name === 'example.com.');
  assert.ok(apex?.data.some((x) => x.startsWith('NS ')), 'the apex RRSIG set carries a new NS signature');
  const nsSig = apex?.data.find((x) => x.startsWith('NS ')) as string;
  assert.ok(!stored.find((r) => r.name === 'example.com.' && r.type === 'RRSIG')?.data.includes(nsSig), 'a new signature, not the stored one');
  assert.ok(d.deletes.some((r) => r.name === 'ns1.example.com.' && r.type === 'RRSIG'), 'the old glue name’s signatures go');
});

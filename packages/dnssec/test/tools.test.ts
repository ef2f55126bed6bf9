/**
 * Canonical form and signatures against the real tools: a zone signed by
 * ZoneSigner passes BIND's dnssec-verify, ldns-verify-zone and Knot's
 * kzonecheck; RRsets signed by ldns-signzone and BIND's dnssec-signzone with
 * the same key verify with verifyRRset.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dnskeyText, publicKeyObject, type RRset, verifyRRset } from '../src/index.js';
import { DATA, newKey, P, rs, signedZone, txtText, Z, zoneFile } from './fixture.js';

const run = (cmd: string, args: string[], cwd?: string) => {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout}\n${e.stderr}`);
  }
};

function checkWithTools(text: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'fedns-dnssec-'));
  const file = join(dir, 'example.com.zone');
  writeFileSync(file, text);
  // -z: a combined signing key (KSK flag set) also signs the zone data.
  run('dnssec-verify', ['-z', '-o', 'example.com', file]);
  run('ldns-verify-zone', [file]);
  run('kzonecheck', ['-o', 'example.com', '-d', 'on', file]);
}

test('a zone ZoneSigner signed passes dnssec-verify, ldns-verify-zone and kzonecheck', () => {
  const z = signedZone();
  checkWithTools(zoneFile(z.store.values(), 2024010101));
});

test('after changes (A → CNAME, a name gone, an ENT gone, a new name) the zone still verifies', () => {
  const z = signedZone();
  z.commit(
    {
      upserts: [rs(`${P}.us-east1-b.us-east1.${Z}`, 'CNAME', [`${P}.us-east1.${Z}`]), rs(`${P}.us-east1.${Z}`, 'CNAME', [`${P}.${Z}`]), rs(`new.deep.er.${Z}`, 'A', ['192.0.2.1'])],
      deletes: [rs(`${P}.us-east1-b.us-east1.${Z}`, 'A', []), rs(`${P}.us-east1.${Z}`, 'A', []), rs(`${P}.asia-east1-a.asia-east1.${Z}`, 'CNAME', [])],
    },
    2024010102,
  );
  checkWithTools(zoneFile(z.store.values(), 2024010102));
  z.commit({ upserts: [], deletes: [rs(`new.deep.er.${Z}`, 'A', [])] }, 2024010103);
  checkWithTools(zoneFile(z.store.values(), 2024010103));
});


test('signatures made by ldns-signzone and dnssec-signzone with our key verify with verifyRRset', async () => {
  const { key, pkcs8 } = newKey();
  const { createPrivateKey } = await import('node:crypto');
  const jwk = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  const dir = mkdtempSync(join(tmpdir(), 'fedns-dnssec-tools-'));
  // The key in BIND's file format (ldns reads it too).
  const base = `Kexample.com.+013+${String(key.tag).padStart(5, '0')}`;
  writeFileSync(join(dir, `${base}.key`), `example.com. 3600 IN DNSKEY ${dnskeyText(257, key.publicKey)}\n`);
  writeFileSync(join(dir, `${base}.private`), `Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: ${Buffer.from(jwk.d as string, 'base64url').toString('base64')}\n`);
  const unsigned = zoneFile([], 2024010101).split('\n').filter((l) => l).concat(DATA.flatMap((s) => s.data.map((d) => `${s.name} ${s.ttl} IN ${s.type} ${s.type === 'TXT' ? txtText(d) : d}`)), [`example.com. 3600 IN DNSKEY ${dnskeyText(257, key.publicKey)}`]);
  writeFileSync(join(dir, 'zone'), `${unsigned.join('\n')}\n`);
  run('ldns-signzone', ['-o', 'example.com.', '-f', join(dir, 'ldns.signed'), join(dir, 'zone'), join(dir, base)], dir);
  run('dnssec-signzone', ['-z', '-o', 'example.com', '-K', dir, '-f', join(dir, 'bind.signed'), '-3', '-', join(dir, 'zone')], dir);
  const pub = publicKeyObject(key.publicKey);
  for (const file of ['ldns.signed', 'bind.signed']) {
    // BIND writes multi-line records: named-compilezone puts each on one line.
    const text = file === 'bind.signed' ? run('named-compilezone', ['-q', '-s', 'full', '-o', '-', 'example.com', join(dir, file)]) : readFileSync(join(dir, file), 'utf8');
    const rrs = text.split('\n').map((l) => l.replace(/;.*$/, '').trim()).filter((l) => l).map((l) => l.split(/\s+/));
    const sets = new Map<string, RRset>();
    const sigs: { owner: string; text: string }[] = [];
    for (const f of rrs) {
      const [owner, ttl, , type] = f as [string, string, string, string];
      const data = f.slice(4).join(' ');
      if (!owner) continue;
      if (type === 'RRSIG') sigs.push({ owner: owner.toLowerCase(), text: data });
      else if (type !== 'TXT') {
        const k = `${owner.toLowerCase()}/${type}`;
        const s = sets.get(k) ?? { name: owner.toLowerCase(), type, ttl: Number(ttl), data: [] };
        s.data.push(data);
        sets.set(k, s);
      }
    }
    let checked = 0;
    for (const s of sigs) {
      const covered = s.text.split(' ')[0] as string;
      if (!['A', 'AAAA', 'CNAME', 'NS', 'DNSKEY'].includes(covered)) continue;
      const set = sets.get(`${s.owner}/${covered}`);
      assert.ok(set, `${file}: the RRset ${s.owner} ${covered}`);
      assert.ok(verifyRRset(set, s.text, pub), `${file}: ${s.owner} ${covered} verifies`);
      checked++;
    }
    assert.ok(checked >= DATA.length, `${file}: ${checked} signatures checked`);
  }
});

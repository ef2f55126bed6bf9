/**
 * Signing keys: ECDSA P-256 with SHA-256 (algorithm 13, RFC 6605), the DNSKEY
 * RDATA (public key x || y), the key tag (RFC 4034 appendix B) and the DS
 * (SHA-256 digest, RFC 4509). Private keys travel as PKCS#8 DER.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { nameWire } from './names.js';

export const ALGORITHM = 13;
/** Flags of a combined signing key: Zone Key + Secure Entry Point. */
export const CSK_FLAGS = 257;
export const PROTOCOL = 3;
export const DIGEST_SHA256 = 2;

/** A key as the signer uses it. */
export interface SigningKey {
  /** The private key (node:crypto). */
  key: KeyObject;
  /** The 64-octet public key, x || y. */
  publicKey: Buffer;
  flags: number;
  tag: number;
}

export function generateKey(): { pkcs8: Buffer } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }) };
}

/** The 64-octet public key of a P-256 private or public key object. */
export function rawPublicKey(k: KeyObject): Buffer {
  const jwk = (k.type === 'private' ? createPublicKey(k) : k).export({ format: 'jwk' });
  return Buffer.concat([Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
}

export function dnskeyRdata(flags: number, publicKey: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(flags);
  head[2] = PROTOCOL;
  head[3] = ALGORITHM;
  return Buffer.concat([head, publicKey]);
}

/** RFC 4034 appendix B. */
export function keyTag(rdata: Buffer): number {
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? (rdata[i] as number) : (rdata[i] as number) << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

export function loadKey(pkcs8: Buffer, flags = CSK_FLAGS): SigningKey {
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const publicKey = rawPublicKey(key);
  return { key, publicKey, flags, tag: keyTag(dnskeyRdata(flags, publicKey)) };
}

/** A public-only key (for verification) from DNSKEY fields. */
export function publicKeyObject(publicKey: Buffer): KeyObject {
  if (publicKey.length !== 64) throw new Error('an algorithm 13 public key has 64 octets');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: publicKey.subarray(0, 32).toString('base64url'), y: publicKey.subarray(32).toString('base64url') }, format: 'jwk' });
}

/** DNSKEY presentation RDATA: `257 3 13 <base64>`. */
export function dnskeyText(flags: number, publicKey: Buffer): string {
  return `${flags} ${PROTOCOL} ${ALGORITHM} ${publicKey.toString('base64')}`;
}

/** DS presentation RDATA for the zone's parent: `<tag> 13 2 <SHA-256 hex>`. */
export function dsText(zone: string, flags: number, publicKey: Buffer): string {
  const rdata = dnskeyRdata(flags, publicKey);
  const digest = createHash('sha256').update(nameWire(zone)).update(rdata).digest('hex').toUpperCase();
  return `${keyTag(rdata)} ${ALGORITHM} ${DIGEST_SHA256} ${digest}`;
}

/** RFC 8078 4: the CDS and CDNSKEY that ask the parent to remove the DS. */
export const CDS_DELETE = '0 0 0 00';
export const CDNSKEY_DELETE = '0 3 0 AA==';

/**
 * RRSIG over an RRset (RFC 4034 3, 6): the signed data is the RRSIG RDATA
 * without its signature followed by every RR of the set in canonical form and
 * order (owner lower case, the original TTL, RDATA sorted as octet strings,
 * duplicates removed). ECDSA signatures are r || s (RFC 6605 4), which
 * node:crypto writes instead of DER with dsaEncoding 'ieee-p1363'.
 */
import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { ALGORITHM, type SigningKey } from './keys.js';
import { absName, labelCount, nameWire } from './names.js';
import { rdataWire, rrsigHeader, sigTime, typeCode } from './rdata.js';

/** One RRset: owner, type, TTL, RDATA in presentation form. */
export interface RRset {
  name: string;
  type: string;
  ttl: number;
  data: string[];
  /** Precomputed wire RDATA (same order as data), e.g. the synthesised SOA. */
  wire?: Buffer[];
}

/** The canonical RRs of a set, sorted and deduplicated, each as owner|type|class|ttl|rdlen|rdata. */
export function canonicalRRs(rs: RRset, originalTtl: number): Buffer[] {
  const owner = nameWire(rs.name);
  const type = typeCode(rs.type);
  const rdatas = (rs.wire ?? rs.data.map((d) => rdataWire(rs.type, d))).slice().sort(Buffer.compare);
  const out: Buffer[] = [];
  let prev: Buffer | undefined;
  for (const rd of rdatas) {
    if (prev?.equals(rd)) continue;
    prev = rd;
    const head = Buffer.alloc(10);
    head.writeUInt16BE(type, 0);
    head.writeUInt16BE(1, 2);
    head.writeUInt32BE(originalTtl >>> 0, 4);
    head.writeUInt16BE(rd.length, 8);
    out.push(owner, head, rd);
  }
  return out;
}

/** The fields of an RRSIG before its signature, as presentation strings. */
function rrsigFields(rs: RRset, key: { tag: number }, signer: string, inception: number, expiration: number): string[] {
  return [rs.type, String(ALGORITHM), String(labelCount(rs.name)), String(rs.ttl), sigTime(expiration), sigTime(inception), String(key.tag), absName(signer)];
}

/** Signs an RRset; returns the RRSIG presentation RDATA. Times are Unix seconds. */
export function signRRset(rs: RRset, key: SigningKey, signer: string, inception: number, expiration: number): string {
  const fields = rrsigFields(rs, key, signer, inception, expiration);
  const data = Buffer.concat([rrsigHeader(fields), ...canonicalRRs(rs, rs.ttl)]);
  const sig = cryptoSign('sha256', data, { key: key.key, dsaEncoding: 'ieee-p1363' });
  return `${fields.join(' ')} ${sig.toString('base64')}`;
}

/** Parsed RRSIG presentation RDATA. */
export interface RrsigInfo {
  covered: string;
  algorithm: number;
  labels: number;
  originalTtl: number;
  expiration: string;
  inception: string;
  tag: number;
  signer: string;
  signature: Buffer;
}

export function parseRrsig(text: string): RrsigInfo {
  const f = text.trim().split(/\s+/);
  return {
    covered: f[0] as string,
    algorithm: Number(f[1]),
    labels: Number(f[2]),
    originalTtl: Number(f[3]),
    expiration: f[4] as string,
    inception: f[5] as string,
    tag: Number(f[6]),
    signer: absName(f[7] as string),
    signature: Buffer.from(f.slice(8).join(''), 'base64'),
  };
}

/** Verifies one RRSIG (presentation RDATA) over an RRset with a public key; times are not checked. */
export function verifyRRset(rs: RRset, rrsig: string, publicKey: KeyObject): boolean {
  const f = rrsig.trim().split(/\s+/);
  const info = parseRrsig(rrsig);
  if (info.algorithm !== ALGORITHM || info.covered !== rs.type) return false;
  const data = Buffer.concat([rrsigHeader(f), ...canonicalRRs(rs, info.originalTtl)]);
  return cryptoVerify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, info.signature);
}

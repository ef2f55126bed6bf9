/**
 * RDATA in presentation form (what the store keeps, one string per record)
 * and in canonical wire form (RFC 4034 6.2: names in CNAME, NS, SOA lower
 * case; RRSIG's signer name uncompressed and lower case).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipv6Words, type SoaConfig } from '@fedns/model';
import { absName, nameWire } from './names.js';

export const TYPE_CODES: Record<string, number> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, DS: 43, RRSIG: 46, NSEC: 47, DNSKEY: 48, NSEC3: 50, NSEC3PARAM: 51, CDS: 59, CDNSKEY: 60,
};
const TYPE_NAMES = new Map(Object.entries(TYPE_CODES).map(([k, v]) => [v, k]));

export function typeCode(type: string): number {
  const c = TYPE_CODES[type.toUpperCase()];
  if (c !== undefined) return c;
  const m = /^TYPE(\d+)$/i.exec(type);
  if (m) return Number(m[1]);
  throw new Error(`unknown RR type ${type}`);
}

export function typeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `TYPE${code}`;
}

/** The SOA fields a zone's SOA RDATA is made of (the serial apart): the configured SOA but its TTL. */
export type SoaFields = Omit<SoaConfig, 'ttl'>;

const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff);
  return b;
};
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};

export function soaRdata(soa: SoaFields, serial: number): Buffer {
  return Buffer.concat([nameWire(soa.mname), nameWire(soa.rname), u32(serial), u32(soa.refresh), u32(soa.retry), u32(soa.expire), u32(soa.minimum)]);
}

export function soaText(soa: SoaFields, serial: number): string {
  return `${absName(soa.mname)} ${absName(soa.rname)} ${serial >>> 0} ${soa.refresh} ${soa.retry} ${soa.expire} ${soa.minimum}`;
}

/** RRSIG time fields: YYYYMMDDHHmmSS in UTC (RFC 4034 3.2). */
export function sigTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function parseSigTime(t: string): number {
  if (/^\d{1,10}$/.test(t)) return Number(t);
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(t);
  if (!m) throw new Error(`bad RRSIG time ${t}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
}

/** A type bitmap (RFC 4034 4.1.2) from type names. */
export function typeBitmap(types: Iterable<string>): Buffer {
  const codes = [...new Set([...types].map(typeCode))].sort((a, b) => a - b);
  const windows = new Map<number, number[]>();
  for (const c of codes) {
    const w = c >> 8;
    const bits = windows.get(w) ?? [];
    bits.push(c & 0xff);
    windows.set(w, bits);
  }
  const parts: Buffer[] = [];
  for (const [w, bits] of windows) {
    const len = ((bits[bits.length - 1] as number) >> 3) + 1;
    const map = Buffer.alloc(len);
    for (const b of bits) map[b >> 3] = (map[b >> 3] as number) | (0x80 >> (b & 7));
    parts.push(Buffer.from([w, len]), map);
  }
  return Buffer.concat(parts);
}

function txtWire(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length === 0) return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += 255) {
    const chunk = b.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

function ipv6Wire(a: string): Buffer {
  const b = Buffer.alloc(16);
  const w = ipv6Words(a);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(w[i] ?? 0, i * 2);
  return b;
}

const hexOrEmpty = (s: string) => (s === '-' ? Buffer.alloc(0) : Buffer.from(s, 'hex'));

/** Canonical wire RDATA of one record given in presentation form (as the store keeps it; SOA as `soaText` writes it). */
export function rdataWire(type: string, text: string): Buffer {
  const f = text.trim().split(/\s+/);
  switch (type) {
    case 'A':
      if (!isIPv4(text)) throw new Error(`bad A ${text}`);
      return Buffer.from(text.split('.').map(Number));
    case 'AAAA':
      if (!isIPv6(text)) throw new Error(`bad AAAA ${text}`);
      return ipv6Wire(text);
    case 'CNAME':
    case 'NS':
      return nameWire(text);
    case 'TXT':
      return txtWire(text);
    case 'SOA':
      return soaRdata({ mname: f[0] as string, rname: f[1] as string, refresh: Number(f[3]), retry: Number(f[4]), expire: Number(f[5]), minimum: Number(f[6]) }, Number(f[2]));
    case 'DNSKEY':
    case 'CDNSKEY':
      return Buffer.concat([u16(Number(f[0])), Buffer.from([Number(f[1]), Number(f[2])]), Buffer.from(f.slice(3).join(''), 'base64')]);
    case 'DS':
    case 'CDS':
      return Buffer.concat([u16(Number(f[0])), Buffer.from([Number(f[1]), Number(f[2])]), Buffer.from(f.slice(3).join(''), 'hex')]);
    case 'NSEC3PARAM': {
      const salt = hexOrEmpty(f[3] as string);
      return Buffer.concat([Buffer.from([Number(f[0]), Number(f[1])]), u16(Number(f[2])), Buffer.from([salt.length]), salt]);
    }
    case 'NSEC3': {
      const salt = hexOrEmpty(f[3] as string);
      const next = base32hexDecode(f[4] as string);
      return Buffer.concat([Buffer.from([Number(f[0]), Number(f[1])]), u16(Number(f[2])), Buffer.from([salt.length]), salt, Buffer.from([next.length]), next, typeBitmap(f.slice(5))]);
    }
    case 'RRSIG':
      return Buffer.concat([rrsigHeader(f), Buffer.from(f.slice(8).join(''), 'base64')]);
    default:
      throw new Error(`no RDATA codec for ${type}`);
  }
}

/** The RRSIG RDATA up to the signature (fields: covered alg labels ttl expiration inception tag signer). */
export function rrsigHeader(f: string[]): Buffer {
  return Buffer.concat([
    u16(typeCode(f[0] as string)),
    Buffer.from([Number(f[1]), Number(f[2])]),
    u32(Number(f[3])),
    u32(parseSigTime(f[4] as string)),
    u32(parseSigTime(f[5] as string)),
    u16(Number(f[6])),
    nameWire(f[7] as string),
  ]);
}

const B32 = '0123456789abcdefghijklmnopqrstuv';

/** Base 32 with the extended hex alphabet, lower case, no padding (RFC 4648 7, as NSEC3 owner labels use it). */
export function base32hex(b: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function base32hexDecode(s: string): Buffer {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of s.toLowerCase()) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error(`bad base32hex ${s}`);
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/**
 * Wire-format helpers used when (re)compiling answers. Not on the per-query
 * hot path: the hot path only copies bytes these helpers produced.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipv6Words } from '@fedns/model';

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  HINFO: 13,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const CLASS_IN = 1;
export const CLASS_ANY = 255;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Not authorized: the answer to a bad TSIG (RFC 8945). */
  NOTAUTH: 9,
  /** Extended RCODE (needs OPT): upper 8 bits 1, lower 4 bits 0. */
  BADVERS: 16,
} as const;

/** EDNS(0) UDP payload size we advertise and the ceiling of every UDP reply (DNS Flag Day 2020). */
export const EDNS_UDP_SIZE = 1232;

/** Lower-case absolute presentation name → uncompressed wire form as a latin1 string (the lookup key). */
export function wireKey(name: string): string {
  const abs = name.endsWith('.') ? name : `${name}.`;
  if (abs === '.') return '\x00';
  let out = '';
  for (const label of abs.slice(0, -1).split('.')) {
    if (label.length === 0 || label.length > 63) throw new Error(`bad label in ${name}`);
    out += String.fromCharCode(label.length) + label.toLowerCase();
  }
  return `${out}\x00`;
}

/** Labels of a lower-case absolute name, without the root. */
function labelsOf(name: string): string[] {
  const abs = name.endsWith('.') ? name : `${name}.`;
  return abs === '.' ? [] : abs.slice(0, -1).split('.');
}

/**
 * Growable message writer with RFC 1035 4.1.4 name compression. Offsets are
 * absolute from the start of the DNS message.
 */
export class Writer {
  buf: Buffer;
  pos = 0;
  /** lower-case suffix (`a.b.`) → offset of its first label. */
  private readonly dict = new Map<string, number>();

  constructor(size = 512) {
    this.buf = Buffer.alloc(size);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let len = this.buf.length * 2;
    while (len < this.pos + n) len *= 2;
    const nb = Buffer.alloc(len);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Registers a name already present at `offset` (e.g. the question) as a compression target. */
  remember(name: string, offset: number): void {
    const labels = labelsOf(name.toLowerCase());
    let off = offset;
    for (let i = 0; i < labels.length; i++) {
      const suffix = `${labels.slice(i).join('.')}.`;
      if (off < 0x4000 && !this.dict.has(suffix)) this.dict.set(suffix, off);
      off += 1 + (labels[i]?.length ?? 0);
    }
  }

  /** Writes a name, compressed against every name written or remembered before. */
  name(name: string, compress = true): void {
    const labels = labelsOf(name.toLowerCase());
    for (let i = 0; i < labels.length; i++) {
      const suffix = `${labels.slice(i).join('.')}.`;
      const at = compress ? this.dict.get(suffix) : undefined;
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.pos < 0x4000 && !this.dict.has(suffix)) this.dict.set(suffix, this.pos);
      const label = labels[i] as string;
      this.u8(label.length);
      this.bytes(Buffer.from(label, 'latin1'));
    }
    this.u8(0);
  }

  /** Starts an RR; returns the offset of RDLENGTH for `endRdata`. */
  rrHeader(owner: string, type: number, ttl: number, cls = CLASS_IN): number {
    this.name(owner);
    this.u16(type);
    this.u16(cls);
    this.u32(ttl);
    const at = this.pos;
    this.u16(0);
    return at;
  }

  endRdata(rdlenAt: number): void {
    this.buf.writeUInt16BE(this.pos - rdlenAt - 2, rdlenAt);
  }

  result(from = 0): Buffer {
    return Buffer.from(this.buf.subarray(from, this.pos));
  }
}

export function ipv4Bytes(addr: string): Buffer {
  if (!isIPv4(addr)) throw new Error(`not an IPv4 address: ${addr}`);
  return Buffer.from(addr.split('.').map(Number));
}

export function ipv6Bytes(addr: string): Buffer {
  if (!isIPv6(addr)) throw new Error(`not an IPv6 address: ${addr}`);
  const words = ipv6Words(addr);
  const b = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(words[i] ?? 0, i * 2);
  return b;
}

/** TXT rdata: each string as <len><bytes>, strings longer than 255 octets split. */
export function txtRdata(strings: string[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of strings.length ? strings : ['']) {
    const b = Buffer.from(s, 'utf8');
    if (b.length === 0) parts.push(Buffer.from([0]));
    for (let i = 0; i < b.length; i += 255) {
      const chunk = b.subarray(i, i + 255);
      parts.push(Buffer.from([chunk.length]), chunk);
    }
  }
  return Buffer.concat(parts);
}

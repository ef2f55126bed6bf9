/**
 * DNS Cookies (RFC 7873) with interoperable server cookies (RFC 9018):
 * Server Cookie = Version (1) | Reserved (3) | Timestamp (4) | Hash (8), where
 * Hash = SipHash-2-4(key = server secret, Client Cookie | Version | Reserved | Timestamp | Client IP).
 * Any server of an anycast set sharing the secret validates the others' cookies.
 */
import { randomBytes } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { ipv4Bytes, ipv6Bytes } from './wire.js';

// ---- SipHash-2-4 on 32-bit halves (no BigInt on this path) ------------------

/** SipHash-2-4 of `msg` under a 16-octet key; the 8-octet result in the reference byte order. */
export function siphash24(key: Uint8Array, msg: Uint8Array): Buffer {
  const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const k0l = k.readUInt32LE(0);
  const k0h = k.readUInt32LE(4);
  const k1l = k.readUInt32LE(8);
  const k1h = k.readUInt32LE(12);
  // v0..v3 as [hi, lo] pairs in one array: v0h v0l v1h v1l v2h v2l v3h v3l.
  const v = new Uint32Array(8);
  v[0] = k0h ^ 0x736f6d65;
  v[1] = k0l ^ 0x70736575;
  v[2] = k1h ^ 0x646f7261;
  v[3] = k1l ^ 0x6e646f6d;
  v[4] = k0h ^ 0x6c796765;
  v[5] = k0l ^ 0x6e657261;
  v[6] = k1h ^ 0x74656462;
  v[7] = k1l ^ 0x79746573;
  const len = msg.length;
  const end = len - (len % 8);
  const m = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  for (let i = 0; i < end; i += 8) compress(v, m.readUInt32LE(i + 4), m.readUInt32LE(i));
  // Last block: remaining bytes, length in the top byte.
  let lo = 0;
  let hi = (len & 0xff) << 24;
  for (let i = end, s = 0; i < len; i++, s++) {
    const b = m[i] as number;
    if (s < 4) lo |= b << (8 * s);
    else hi |= b << (8 * (s - 4));
  }
  compress(v, hi >>> 0, lo >>> 0);
  v[5] = (v[5] as number) ^ 0xff; // v2 ^= 0xff
  for (let r = 0; r < 4; r++) sipRound(v);
  const outH = ((v[0] as number) ^ (v[2] as number) ^ (v[4] as number) ^ (v[6] as number)) >>> 0;
  const outL = ((v[1] as number) ^ (v[3] as number) ^ (v[5] as number) ^ (v[7] as number)) >>> 0;
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32LE(outL, 0);
  out.writeUInt32LE(outH, 4);
  return out;
}

function compress(v: Uint32Array, mh: number, ml: number): void {
  v[6] = (v[6] as number) ^ mh;
  v[7] = (v[7] as number) ^ ml;
  sipRound(v);
  sipRound(v);
  v[0] = (v[0] as number) ^ mh;
  v[1] = (v[1] as number) ^ ml;
}

/** (hi, lo) += (bh, bl) into slot i. */
function add(v: Uint32Array, i: number, j: number): void {
  const lo = (v[i + 1] as number) + (v[j + 1] as number);
  v[i] = (v[i] as number) + (v[j] as number) + (lo > 0xffffffff ? 1 : 0);
  v[i + 1] = lo;
}

function rotl(v: Uint32Array, i: number, n: number): void {
  const h = v[i] as number;
  const l = v[i + 1] as number;
  if (n === 32) {
    v[i] = l;
    v[i + 1] = h;
  } else if (n < 32) {
    v[i] = (h << n) | (l >>> (32 - n));
    v[i + 1] = (l << n) | (h >>> (32 - n));
  } else {
    const s = n - 32;
    v[i] = (l << s) | (h >>> (32 - s));
    v[i + 1] = (h << s) | (l >>> (32 - s));
  }
}

function xorInto(v: Uint32Array, i: number, j: number): void {
  v[i] = (v[i] as number) ^ (v[j] as number);
  v[i + 1] = (v[i + 1] as number) ^ (v[j + 1] as number);
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function sipRound(v: Uint32Array): void {
  add(v, V0, V1);
  rotl(v, V1, 13);
  xorInto(v, V1, V0);
  rotl(v, V0, 32);
  add(v, V2, V3);
  rotl(v, V3, 16);
  xorInto(v, V3, V2);
  add(v, V0, V3);
  rotl(v, V3, 21);
  xorInto(v, V3, V0);
  add(v, V2, V1);
  rotl(v, V1, 17);
  xorInto(v, V1, V2);
  rotl(v, V2, 32);
}

// ---- server cookies ----------------------------------------------------------

export const COOKIE_OPTION = 10;
const SERVER_COOKIE_LEN = 16;
/** RFC 9018 4.3: a cookie older than 1 hour (or more than 5 minutes in the future) is not valid. */
const MAX_AGE_S = 3600;
const MAX_FUTURE_S = 300;
/** A valid cookie younger than this is echoed as is; an older one is renewed. */
const RENEW_AFTER_S = 1800;

export interface CookieOptions {
  /** 16-octet server secret shared by the servers of an anycast set; random per process when unset. */
  secret?: Buffer;
  /** Clock in seconds (tests). */
  now?: () => number;
}

/** Makes and checks RFC 9018 server cookies. */
export class ServerCookies {
  private readonly secret: Buffer;
  private readonly now: () => number;
  private readonly input = Buffer.alloc(8 + 8 + 16);
  /** Whether the last `serverCookie` call found a valid server cookie of ours in the query. */
  lastValid = false;

  constructor(opts: CookieOptions = {}) {
    this.secret = opts.secret ?? randomBytes(16);
    if (this.secret.length !== 16) throw new Error('cookie secret must be 16 octets');
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  }

  private hash(client: Buffer, clientOff: number, ts: number, ip: Buffer): Buffer {
    const b = this.input;
    client.copy(b, 0, clientOff, clientOff + 8);
    b[8] = 1;
    b[9] = 0;
    b[10] = 0;
    b[11] = 0;
    b.writeUInt32BE(ts >>> 0, 12);
    ip.copy(b, 16);
    return siphash24(this.secret, b.subarray(0, 16 + ip.length));
  }

  /**
   * The 16-octet server cookie to send for a COOKIE option found at `off`
   * (its data, `len` octets: client cookie, then the client's server cookie if any).
   */
  serverCookie(q: Buffer, off: number, len: number, clientIp: string | undefined): Buffer {
    const ip = ipBytes(clientIp);
    const now = this.now() >>> 0;
    this.lastValid = false;
    if (len === 8 + SERVER_COOKIE_LEN && q[off + 8] === 1) {
      const ts = q.readUInt32BE(off + 12);
      const age = (now - ts) | 0; // RFC 1982-style difference
      if (age >= -MAX_FUTURE_S && age <= MAX_AGE_S) {
        const h = this.hash(q, off, ts, ip);
        if (h.equals(q.subarray(off + 16, off + 24))) {
          this.lastValid = true;
          if (age < RENEW_AFTER_S) return Buffer.from(q.subarray(off + 8, off + 24));
        }
      }
    }
    const out = Buffer.alloc(SERVER_COOKIE_LEN);
    out[0] = 1;
    out.writeUInt32BE(now, 4);
    this.hash(q, off, now, ip).copy(out, 8);
    return out;
  }

  /** True when the COOKIE option at `off` carries a valid server cookie of ours (RRL exempts such clients). */
  valid(q: Buffer, off: number, len: number, clientIp: string | undefined): boolean {
    if (len !== 8 + SERVER_COOKIE_LEN || q[off + 8] !== 1) return false;
    const ts = q.readUInt32BE(off + 12);
    const age = ((this.now() >>> 0) - ts) | 0;
    if (age < -MAX_FUTURE_S || age > MAX_AGE_S) return false;
    return this.hash(q, off, ts, ipBytes(clientIp)).equals(q.subarray(off + 16, off + 24));
  }
}

const NO_IP = Buffer.alloc(0);
const ipCache = new Map<string, Buffer>();

function ipBytes(ip: string | undefined): Buffer {
  if (!ip) return NO_IP;
  let b = ipCache.get(ip);
  if (!b) {
    try {
      const plain = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
      b = isIPv4(plain) ? ipv4Bytes(plain) : ipv6Bytes(plain);
    } catch {
      b = NO_IP;
    }
    if (ipCache.size > 10_000) ipCache.clear();
    ipCache.set(ip, b);
  }
  return b;
}

/**
 * TSIG (RFC 8945) with hmac-sha256: verifying signed requests, signing
 * replies (every message of a multi-message transfer), and signing NOTIFY.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { skipName } from './answer.js';
import { TYPE, wireKey } from './wire.js';

export interface TsigKey {
  /** Key name as configured (a domain name, compared case-insensitively). */
  name: string;
  algorithm: 'hmac-sha256';
  secret: Buffer;
}

export const TSIG_ERROR = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

const ALGORITHMS: Record<string, { hash: string; size: number }> = {
  [wireKey('hmac-sha256.')]: { hash: 'sha256', size: 32 },
};
const ALG_WIRE = { 'hmac-sha256': Buffer.from(wireKey('hmac-sha256.'), 'latin1') } as const;
const CLASS_ANY = 255;
const DEFAULT_FUDGE = 300;

/** A TSIG record found at the end of a message. */
export interface TsigRecord {
  /** Lower-case wire form of the key name. */
  keyWire: Buffer;
  /** Lower-case wire form of the algorithm name. */
  algWire: Buffer;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
  /** Offset of the TSIG RR in the message (the message before it is what was signed). */
  start: number;
}

/** Reads a wire name at `at` (uncompressed only, as RFC 8945 requires) and lower-cases it. */
function plainName(m: Buffer, at: number): { wire: Buffer; next: number } | null {
  let p = at;
  for (;;) {
    if (p >= m.length) return null;
    const l = m[p] as number;
    if (l === 0) break;
    if (l > 63) return null;
    p += l + 1;
  }
  const wire = Buffer.from(m.subarray(at, p + 1));
  for (let i = 0; i < wire.length; ) {
    const l = wire[i] as number;
    for (let j = i + 1; j <= i + l; j++) {
      const c = wire[j] as number;
      if (c >= 0x41 && c <= 0x5a) wire[j] = c + 32;
    }
    i += l + 1;
  }
  return { wire, next: p + 1 };
}

/**
 * Finds the TSIG RR, which must be the last record of the message. Returns
 * null when there is none, 'formerr' when it is malformed.
 */
export function findTsig(m: Buffer): TsigRecord | null | 'formerr' {
  if (m.length < 12) return null;
  const qd = m.readUInt16BE(4);
  const total = m.readUInt16BE(6) + m.readUInt16BE(8) + m.readUInt16BE(10);
  if (total === 0) return null;
  let p = 12;
  for (let i = 0; i < qd; i++) {
    p = skipName(m, p, m.length);
    if (p < 0) return 'formerr';
    p += 4;
  }
  let start = -1;
  let type = 0;
  let rdata = 0;
  let rdlen = 0;
  for (let i = 0; i < total; i++) {
    start = p;
    p = skipName(m, p, m.length);
    if (p < 0 || p + 10 > m.length) return 'formerr';
    type = m.readUInt16BE(p);
    rdlen = m.readUInt16BE(p + 8);
    rdata = p + 10;
    p = rdata + rdlen;
    if (p > m.length) return 'formerr';
    if (type === TYPE.TSIG && i !== total - 1) return 'formerr';
  }
  if (type !== TYPE.TSIG) return null;
  const owner = plainName(m, start);
  const alg = plainName(m, rdata);
  if (!owner || !alg) return 'formerr';
  let o = alg.next;
  const end = rdata + rdlen;
  if (o + 10 > end) return 'formerr';
  const timeSigned = m.readUInt16BE(o) * 2 ** 32 + m.readUInt32BE(o + 2);
  const fudge = m.readUInt16BE(o + 6);
  const macSize = m.readUInt16BE(o + 8);
  o += 10;
  if (o + macSize + 6 > end) return 'formerr';
  const mac = Buffer.from(m.subarray(o, o + macSize));
  o += macSize;
  const originalId = m.readUInt16BE(o);
  const error = m.readUInt16BE(o + 2);
  const otherLen = m.readUInt16BE(o + 4);
  o += 6;
  if (o + otherLen !== end) return 'formerr';
  return { keyWire: owner.wire, algWire: alg.wire, timeSigned, fudge, mac, originalId, error, other: Buffer.from(m.subarray(o, o + otherLen)), start };
}

/** The message as signed: without the TSIG RR, ARCOUNT one less, the original ID. */
export function strippedMessage(m: Buffer, t: TsigRecord): Buffer {
  const out = Buffer.from(m.subarray(0, t.start));
  out.writeUInt16BE(t.originalId, 0);
  out.writeUInt16BE(out.readUInt16BE(10) - 1, 10);
  return out;
}

function u48(v: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(v / 2 ** 32) & 0xffff, 0);
  b.writeUInt32BE(v >>> 0, 2);
  return b;
}

/** TSIG variables (RFC 8945 4.3.3) for a full digest. */
function variables(keyWire: Buffer, algWire: Buffer, time: number, fudge: number, error: number, other: Buffer): Buffer {
  const b = Buffer.alloc(2 + 4 + 6 + 2 + 2 + 2);
  b.writeUInt16BE(CLASS_ANY, 0);
  b.writeUInt32BE(0, 2);
  u48(time).copy(b, 6);
  b.writeUInt16BE(fudge, 12);
  b.writeUInt16BE(error, 14);
  b.writeUInt16BE(other.length, 16);
  return Buffer.concat([keyWire, b.subarray(0, 6), algWire, b.subarray(6), other]);
}

function withLength(mac: Buffer): Buffer {
  const l = Buffer.alloc(2);
  l.writeUInt16BE(mac.length, 0);
  return Buffer.concat([l, mac]);
}

export type TsigVerdict =
  | { ok: true; key: TsigKey; record: TsigRecord }
  | { ok: false; error: number; record: TsigRecord; key?: TsigKey };

/** Verifies a request's TSIG against the configured keys (RFC 8945 5.2). */
export function verifyRequest(m: Buffer, t: TsigRecord, keys: TsigKey[], nowSec = Math.floor(Date.now() / 1000)): TsigVerdict {
  const key = keys.find((k) => Buffer.from(wireKey(k.name), 'latin1').equals(t.keyWire));
  const alg = ALGORITHMS[t.algWire.toString('latin1')];
  if (!key || !alg || !ALG_WIRE[key.algorithm].equals(t.algWire)) return { ok: false, error: TSIG_ERROR.BADKEY, record: t };
  // RFC 8945 5.2.2.1: a truncated MAC must keep at least half the hash and 10 octets.
  if (t.mac.length > alg.size || t.mac.length < Math.max(10, alg.size / 2)) return { ok: false, error: TSIG_ERROR.BADSIG, record: t, key };
  const digest = createHmac(alg.hash, key.secret)
    .update(strippedMessage(m, t))
    .update(variables(t.keyWire, t.algWire, t.timeSigned, t.fudge, t.error, t.other))
    .digest()
    .subarray(0, t.mac.length);
  if (!timingSafeEqual(digest, t.mac)) return { ok: false, error: TSIG_ERROR.BADSIG, record: t, key };
  if (Math.abs(nowSec - t.timeSigned) > t.fudge) return { ok: false, error: TSIG_ERROR.BADTIME, record: t, key };
  return { ok: true, key, record: t };
}

/** Appends a TSIG RR to a message and bumps ARCOUNT. */
function appendTsig(msg: Buffer, keyWire: Buffer, algWire: Buffer, time: number, fudge: number, mac: Buffer, originalId: number, error: number, other: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPE.TSIG, 0);
  fixed.writeUInt16BE(CLASS_ANY, 2);
  fixed.writeUInt32BE(0, 4);
  const rd1 = Buffer.alloc(6 + 2 + 2);
  u48(time).copy(rd1, 0);
  rd1.writeUInt16BE(fudge, 6);
  rd1.writeUInt16BE(mac.length, 8);
  const rd2 = Buffer.alloc(6);
  rd2.writeUInt16BE(originalId, 0);
  rd2.writeUInt16BE(error, 2);
  rd2.writeUInt16BE(other.length, 4);
  const rdata = Buffer.concat([algWire, rd1, mac, rd2, other]);
  fixed.writeUInt16BE(rdata.length, 8);
  const out = Buffer.concat([msg, keyWire, fixed, rdata]);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return out;
}

/**
 * Signs the messages of one reply (RFC 8945 5.3): the first covers the
 * request's MAC, each later one (a TCP transfer) the previous MAC and timers.
 */
export class TsigSigner {
  private prior: Buffer;
  private first = true;
  private readonly keyWire: Buffer;
  private readonly algWire: Buffer;

  constructor(
    private readonly key: TsigKey,
    requestMac: Buffer,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.prior = requestMac;
    this.keyWire = Buffer.from(wireKey(key.name), 'latin1');
    this.algWire = ALG_WIRE[key.algorithm];
  }

  /** The MAC of the last message signed. */
  get lastMac(): Buffer {
    return this.prior;
  }

  sign(msg: Buffer, error = 0, other: Buffer = Buffer.alloc(0), time = this.now()): Buffer {
    const h = createHmac('sha256', this.key.secret);
    if (this.prior.length) h.update(withLength(this.prior));
    h.update(msg);
    if (this.first) h.update(variables(this.keyWire, this.algWire, time, DEFAULT_FUDGE, error, other));
    else {
      const timers = Buffer.alloc(8);
      u48(time).copy(timers, 0);
      timers.writeUInt16BE(DEFAULT_FUDGE, 6);
      h.update(timers);
    }
    const mac = h.digest();
    this.first = false;
    this.prior = mac;
    return appendTsig(msg, this.keyWire, this.algWire, time, DEFAULT_FUDGE, mac, msg.readUInt16BE(0), error, other);
  }
}

/** Signs a request (NOTIFY) with a key: no prior MAC. Returns the message and its MAC (to check the reply). */
export function signRequest(msg: Buffer, key: TsigKey, now = Math.floor(Date.now() / 1000)): { message: Buffer; mac: Buffer } {
  const signer = new TsigSigner(key, Buffer.alloc(0), () => now);
  const message = signer.sign(msg);
  return { message, mac: signer.lastMac };
}

/**
 * The unsigned error TSIG for BADKEY/BADSIG (RFC 8945 5.3.2): same key name
 * and algorithm, MAC empty, the error code set.
 */
export function unsignedError(msg: Buffer, t: TsigRecord, error: number): Buffer {
  return appendTsig(msg, t.keyWire, t.algWire, t.timeSigned, t.fudge, Buffer.alloc(0), t.originalId, error, Buffer.alloc(0));
}

/** Verifies a reply (e.g. a NOTIFY acknowledgement) signed over the request's MAC. */
export function verifyReply(m: Buffer, key: TsigKey, requestMac: Buffer): boolean {
  const t = findTsig(m);
  if (!t || t === 'formerr' || t.error !== 0) return false;
  if (!Buffer.from(wireKey(key.name), 'latin1').equals(t.keyWire)) return false;
  const digest = createHmac('sha256', key.secret)
    .update(withLength(requestMac))
    .update(strippedMessage(m, t))
    .update(variables(t.keyWire, t.algWire, t.timeSigned, t.fudge, t.error, t.other))
    .digest();
  return t.mac.length >= 16 && t.mac.length <= 32 && timingSafeEqual(digest.subarray(0, t.mac.length), t.mac);
}

/** `[hmac-sha256:]name:base64secret` (dig -y syntax) → key; throws with a reason. */
export function parseTsigKey(spec: string): TsigKey {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw new Error(`"${spec}" is not [hmac-sha256:]name:secret`);
  const [alg, name, secret] = parts.length === 3 ? parts : ['hmac-sha256', ...parts];
  if (alg?.toLowerCase() !== 'hmac-sha256') throw new Error(`algorithm "${alg}" is not supported (only hmac-sha256)`);
  return makeKey(name ?? '', secret ?? '');
}

export function makeKey(name: string, secretB64: string): TsigKey {
  try {
    wireKey(name.endsWith('.') ? name : `${name}.`);
  } catch {
    throw new Error(`key name "${name}" is not a domain name`);
  }
  if (!name || name === '.') throw new Error('key name is empty');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secretB64)) throw new Error(`secret of key "${name}" is not base64`);
  const secret = Buffer.from(secretB64, 'base64');
  if (secret.length < 16) throw new Error(`secret of key "${name}" is shorter than 16 octets`);
  return { name: name.toLowerCase().endsWith('.') ? name.toLowerCase() : `${name.toLowerCase()}.`, algorithm: 'hmac-sha256', secret };
}

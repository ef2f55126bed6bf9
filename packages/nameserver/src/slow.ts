/**
 * The slow path: messages the hot path hands over (SLOW_PATH) — zone
 * transfers (AXFR/IXFR) and TSIG-signed messages. Verifies TSIG, applies the
 * transfer ACL, builds the transfer and signs every reply message.
 */
import { compareSerial } from '@fedns/model';
import type { JournalEntry } from '@fedns/store';
import { type AclEntry, aclAllows } from './acl.js';
import { type QueryInfo, type RespondContext, SLOW_PATH, expandName, headerOnly, replyFlags, respond, skipName } from './answer.js';
import { TSIG_ERROR, type TsigKey, TsigSigner, findTsig, unsignedError, verifyRequest } from './tsig.js';
import { RCODE, TYPE } from './wire.js';
import { type XfrRequest, axfrMessages, ixfrMessages, singleSoa } from './xfr.js';
import type { ZoneIndex } from './zone-index.js';

/** Primary-side settings: who may transfer, with which keys, where the journal is. */
export interface TransferOptions {
  /** Journal entries from SOA serial `from` to the head (Store.journalFromSoa); undefined = unknown serial. */
  journal?: (from: number) => JournalEntry[] | undefined;
  /** Who may transfer the zone: networks, each optionally requiring a TSIG key. Empty or unset: nobody. */
  allow?: AclEntry[];
  /** TSIG keys known to the server (transfers, signed queries, NOTIFY). */
  tsigKeys?: TsigKey[];
}

/** What the slow path did, for metrics and logs. */
export interface SlowOutcome {
  /** 'AXFR' | 'IXFR' for transfers, 'query' for a signed ordinary query. */
  kind: 'AXFR' | 'IXFR' | 'query';
  /** full (whole zone), incremental, uptodate (single SOA), refused, notauth, formerr. */
  result: 'full' | 'incremental' | 'uptodate' | 'refused' | 'notauth' | 'formerr' | 'answered';
  messages: Buffer[];
  rrs?: number;
  key?: string;
  /** RCODE of the reply (of its first message); -1 when nothing is sent. What the query metrics count. */
  rcode: number;
}

interface Parsed {
  qEnd: number;
  qtype: number;
  qclass: number;
  /** The question with the name uncompressed. */
  question: Buffer;
  edns: boolean;
  /** IXFR: the serial in the authority SOA, or -1. */
  clientSerial: number;
}

/** Header, question (if any), given RCODE: the short replies of the slow path. */
function shortReply(m: Buffer, qEnd: number, rcode: number, aa: boolean): Buffer {
  if (qEnd <= 12) return headerOnly(m, 0, rcode);
  const out = Buffer.alloc(qEnd);
  m.copy(out, 0, 0, qEnd);
  [out[2], out[3]] = replyFlags(m, aa, rcode);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}

function parse(m: Buffer): Parsed | null {
  if (m.length < 12 || m.readUInt16BE(4) !== 1) return null;
  const ex = expandName(m, 12);
  if (!ex || ex.next + 4 > m.length) return null;
  const qtype = m.readUInt16BE(ex.next);
  const qclass = m.readUInt16BE(ex.next + 2);
  const qEnd = ex.next + 4;
  const question = Buffer.concat([ex.name, m.subarray(ex.next, qEnd)]);
  const an = m.readUInt16BE(6);
  const ns = m.readUInt16BE(8);
  const ar = m.readUInt16BE(10);
  let p = qEnd;
  let clientSerial = -1;
  let edns = false;
  for (let i = 0; i < an + ns + ar; i++) {
    p = skipName(m, p, m.length);
    if (p < 0 || p + 10 > m.length) return null;
    const type = m.readUInt16BE(p);
    const rdlen = m.readUInt16BE(p + 8);
    const rd = p + 10;
    if (rd + rdlen > m.length) return null;
    if (type === TYPE.SOA && i >= an && i < an + ns && clientSerial < 0) {
      let o = skipName(m, rd, m.length);
      if (o > 0) o = skipName(m, o, m.length);
      if (o < 0 || o + 4 > rd + rdlen) return null;
      clientSerial = m.readUInt32BE(o);
    }
    if (type === TYPE.OPT && i >= an + ns) edns = true;
    p = rd + rdlen;
  }
  return { qEnd, qtype, qclass, question, edns, clientSerial };
}

/** Handles a SLOW_PATH message; returns the reply messages (none = drop) and their RCODE. Never throws for bad input. */
export function handleSlow(index: ZoneIndex, q: Buffer, tcp: boolean, clientIp: string, opts: TransferOptions, ctx?: RespondContext): SlowOutcome {
  const out = slowReply(index, q, tcp, clientIp, opts, ctx);
  const first = out.messages[0];
  return { ...out, rcode: first && first.length >= 12 ? (first[3] as number) & 0x0f : -1 };
}

function slowReply(index: ZoneIndex, q: Buffer, tcp: boolean, clientIp: string, opts: TransferOptions, ctx?: RespondContext): Omit<SlowOutcome, 'rcode'> {
  const t = findTsig(q);
  if (t === 'formerr') return { kind: 'query', result: 'formerr', messages: [headerOnly(q, 0, RCODE.FORMERR)] };
  let signer: TsigSigner | null = null;
  let keyName: string | undefined;
  let msg = q;
  if (t) {
    const v = verifyRequest(q, t, opts.tsigKeys ?? []);
    const parsed = parse(q);
    const base = shortReply(q, parsed?.qEnd ?? 12, RCODE.NOTAUTH, false);
    const kind = parsed?.qtype === TYPE.AXFR ? 'AXFR' : parsed?.qtype === TYPE.IXFR ? 'IXFR' : 'query';
    if (!v.ok) {
      if (v.error === TSIG_ERROR.BADTIME && v.key) {
        // RFC 8945 5.2.3: signed, our time in Other Data so the client can see the skew.
        const other = Buffer.alloc(6);
        const now = Math.floor(Date.now() / 1000);
        other.writeUInt16BE(Math.floor(now / 2 ** 32), 0);
        other.writeUInt32BE(now >>> 0, 2);
        const s = new TsigSigner(v.key, t.mac);
        return { kind, result: 'notauth', messages: [s.sign(base, v.error, other, t.timeSigned)] };
      }
      return { kind, result: 'notauth', messages: [unsignedError(base, t, v.error)] };
    }
    signer = new TsigSigner(v.key, t.mac);
    keyName = v.key.name;
    msg = Buffer.from(q.subarray(0, t.start));
    msg.writeUInt16BE(msg.readUInt16BE(10) - 1, 10);
  }
  const sign = (m: Buffer) => (signer ? signer.sign(m) : m);
  const p = parse(msg);
  const isXfr = p && (p.qtype === TYPE.AXFR || p.qtype === TYPE.IXFR) && ((msg[2] as number) & 0x78) === 0;
  if (!p || !isXfr) {
    // A signed ordinary query: the hot path's answer, signed.
    const info: QueryInfo = { qtype: -1, rcode: 0, truncated: false };
    const r = respond(index, msg, tcp, 0, info, ctx);
    if (r === null) return { kind: 'query', result: 'answered', messages: [] };
    const reply = r === SLOW_PATH ? shortReply(msg, p?.qEnd ?? 12, RCODE.FORMERR, false) : r;
    return { kind: 'query', result: 'answered', messages: [sign(reply)], ...(keyName ? { key: keyName } : {}) };
  }
  const kind = p.qtype === TYPE.AXFR ? 'AXFR' : 'IXFR';
  const withKey = keyName ? { key: keyName } : {};
  if (p.qclass !== 1) return { kind, result: 'refused', messages: [sign(shortReply(msg, p.qEnd, RCODE.REFUSED, false))], ...withKey };
  // The question must be the zone apex.
  const qname = p.question.subarray(0, p.question.length - 4).toString('latin1').toLowerCase();
  if (qname !== index.zoneKey) return { kind, result: 'refused', messages: [sign(shortReply(msg, p.qEnd, RCODE.REFUSED, false))], ...withKey };
  if (!aclAllows(opts.allow ?? [], clientIp, keyName)) {
    return { kind, result: 'refused', messages: [sign(shortReply(msg, p.qEnd, RCODE.REFUSED, false))], ...withKey };
  }
  const req: XfrRequest = { id: msg.readUInt16BE(0), flags1: msg[2] as number, flags2: msg[3] as number, question: p.question, edns: p.edns };
  if (kind === 'AXFR') {
    if (!tcp) return { kind, result: 'refused', messages: [sign(shortReply(msg, p.qEnd, RCODE.REFUSED, false))], ...withKey };
    return { kind, result: 'full', messages: axfrMessages(index, req).map(sign), ...withKey };
  }
  if (p.clientSerial < 0) return { kind, result: 'formerr', messages: [sign(shortReply(msg, p.qEnd, RCODE.FORMERR, false))], ...withKey };
  const cmp = compareSerial(p.clientSerial, index.serial);
  // Over UDP, or a client that is current (or claims to be ahead): the single SOA (RFC 1995 2, 4).
  if (cmp === 0 || cmp === 1 || !tcp) return { kind, result: 'uptodate', messages: singleSoa(index, req).map(sign), ...withKey };
  const inc = ixfrMessages(index, req, p.clientSerial, opts.journal?.(p.clientSerial));
  if (inc) return { kind, result: 'incremental', messages: inc.map(sign), ...withKey };
  return { kind, result: 'full', messages: axfrMessages(index, req).map(sign), ...withKey };
}

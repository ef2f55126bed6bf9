/**
 * The per-query hot path: parse header, question and OPT by hand, look the
 * lower-cased qname up in a Map, copy the precompiled answer bytes, patch ID,
 * flags and the question (case preserved). No dns-packet, no allocation beyond
 * the reply buffer and the lookup key.
 */
import type { ClientLocator, Located } from './client-location.js';
import type { ClusterView } from './cluster-view.js';
import type { ServerCookies } from './cookies.js';
import { type ClientSubnet, ECS_OPTION, parseClientSubnet } from './client-subnet.js';
import { pick } from './variants.js';
import { EDNS_UDP_SIZE, RCODE, TYPE } from './wire.js';
import { type Answer, type ZoneIndex, slotOf } from './zone-index.js';

/** What the server learns about a query it answered (for metrics). */
export interface QueryInfo {
  /** qtype of the question, -1 when none could be parsed. */
  qtype: number;
  /** Full (extended) RCODE of the reply. */
  rcode: number;
  truncated: boolean;
  /** Offset just past the question section (0 when there is none): what an RRL slip reply keeps. */
  qEnd?: number;
  /** The query carried a valid server cookie of ours (RRL exempts it). */
  cookieOk?: boolean;
}

/** Per-query context the transports pass in: the client (for cookies and client location), the cookie maker, the locator. */
export interface RespondContext {
  cookies?: ServerCookies;
  clientIp?: string;
  /** Client location for answers routed by it (issue 14): clientNetworks and the GeoIP database. */
  locator?: ClientLocator;
  /** The in-cluster view (cluster-view.ts): private names, answered to its allowed networks only. */
  clusterView?: ClusterView;
}

/**
 * Returned by `respond` for a message the hot path does not answer itself: a
 * zone transfer (AXFR/IXFR) or a TSIG-signed message. The server hands it to
 * the slow path (slow.ts). Compare by identity.
 */
export const SLOW_PATH: Buffer = Buffer.alloc(0);

const OPT_LEN = 11;
/** OPT with a COOKIE option: client cookie (8) + server cookie (16). */
const OPT_COOKIE_LEN = OPT_LEN + 4 + 24;
const MAX_UDP_NO_EDNS = 512;

/** Pure message-in → message-out core used by both transports; null = drop. Never throws. */
export function answerQuery(index: ZoneIndex, query: Buffer, transport: 'udp' | 'tcp', ctx?: RespondContext): Buffer | null {
  const r = respond(index, query, transport === 'tcp', 0, null, ctx);
  // Without a transfer configuration the slow path refuses transfers and cannot verify TSIG.
  return r === SLOW_PATH ? slowRefusal(query) : r;
}

/** What a server without transfer configuration answers to a message that needs the slow path. */
function slowRefusal(q: Buffer): Buffer {
  return headerOnly(q, 0, RCODE.REFUSED);
}

/**
 * As answerQuery, with `reserve` bytes left free at the start of the returned
 * buffer (2 for the TCP length prefix, filled by the caller) and query facts
 * written to `info`.
 */
export function respond(index: ZoneIndex, q: Buffer, tcp: boolean, reserve: number, info: QueryInfo | null, ctx?: RespondContext): Buffer | null {
  try {
    return respondInner(index, q, tcp, reserve, info, 0, ctx);
  } catch {
    // Defensive: a bug must never take the server down. Answer SERVFAIL if we can.
    if (q.length < 12 || (q[2] as number) & 0x80) return null;
    if (info) {
      info.rcode = RCODE.SERVFAIL;
      info.truncated = false;
    }
    return headerOnly(q, reserve, RCODE.SERVFAIL);
  }
}

/**
 * The two flag octets of a reply to `q`: QR, the opcode, AA as given, the RCODE; RD and CD copied
 * only for opcode QUERY — they are defined for queries alone (RFC 1035 4.1.1, RFC 4035 3.1.6), so
 * a NOTIMP to another opcode carries neither (as NSD answers; ISC's genreport flags it otherwise).
 */
export function replyFlags(q: Buffer, aa: boolean, rcode: number): [number, number] {
  const f1 = q[2] as number;
  const query = (f1 & 0x78) === 0;
  return [0x80 | (f1 & 0x78) | (aa ? 0x04 : 0) | (query ? f1 & 0x01 : 0), (query ? (q[3] as number) & 0x10 : 0) | (rcode & 0x0f)];
}

/** Header-only error reply (FORMERR, NOTIMP, SERVFAIL): ID and opcode copied; RD and CD for QUERY only. */
export function headerOnly(q: Buffer, reserve: number, rcode: number): Buffer {
  const out = Buffer.alloc(reserve + 12);
  out[reserve] = q[0] as number;
  out[reserve + 1] = q[1] as number;
  [out[reserve + 2], out[reserve + 3]] = replyFlags(q, false, rcode);
  return out;
}

/**
 * Skips a (possibly compressed) name in an RR; returns the offset after it or
 * -1 when malformed (bad label type, pointer loop or forward pointer, > 255 octets, truncated).
 */
export function skipName(q: Buffer, start: number, len: number): number {
  let p = start;
  let end = -1;
  let total = 1;
  let hops = 0;
  for (;;) {
    if (p >= len) return -1;
    const l = q[p] as number;
    if (l === 0) return end < 0 ? p + 1 : end;
    if (l < 64) {
      total += l + 1;
      if (total > 255) return -1;
      p += l + 1;
      continue;
    }
    if (l < 0xc0 || p + 1 >= len) return -1;
    const target = ((l & 0x3f) << 8) | (q[p + 1] as number);
    if (end < 0) end = p + 2;
    if (target >= p || ++hops > 127) return -1;
    p = target;
  }
}

/** Expands a compressed question name; returns the uncompressed wire bytes or null if malformed. */
export function expandName(q: Buffer, start: number): { name: Buffer; next: number } | null {
  const len = q.length;
  const parts: number[] = [];
  let p = start;
  let next = -1;
  let hops = 0;
  for (;;) {
    if (p >= len) return null;
    const l = q[p] as number;
    if (l === 0) {
      parts.push(0);
      if (parts.length > 255) return null;
      return { name: Buffer.from(parts), next: next < 0 ? p + 1 : next };
    }
    if (l < 64) {
      if (p + 1 + l > len) return null;
      for (let i = p; i <= p + l; i++) parts.push(q[i] as number);
      if (parts.length > 255) return null;
      p += l + 1;
      continue;
    }
    if (l < 0xc0 || p + 1 >= len) return null;
    const target = ((l & 0x3f) << 8) | (q[p + 1] as number);
    if (next < 0) next = p + 2;
    if (target >= p || ++hops > 127) return null;
    p = target;
  }
}

function respondInner(index: ZoneIndex, q: Buffer, tcp: boolean, reserve: number, info: QueryInfo | null, depth: number, ctx: RespondContext | undefined): Buffer | null {
  const len = q.length;
  if (len < 12) return null;
  const f1 = q[2] as number;
  if (f1 & 0x80) return null; // QR=1: a response, never answer it
  if (info) {
    info.qtype = -1;
    info.truncated = false;
    info.qEnd = 0;
    info.cookieOk = false;
  }
  if (f1 & 0x78) {
    // opcode != QUERY
    if (info) info.rcode = RCODE.NOTIMP;
    return headerOnly(q, reserve, RCODE.NOTIMP);
  }
  const qdcount = ((q[4] as number) << 8) | (q[5] as number);
  if (qdcount > 1) return formerr(q, reserve, info);
  const ancount = ((q[6] as number) << 8) | (q[7] as number);
  const nscount = ((q[8] as number) << 8) | (q[9] as number);
  const arcount = ((q[10] as number) << 8) | (q[11] as number);

  let p = 12;
  let nameEnd = 12;
  let qtype = 0;
  let qclass = 0;
  if (qdcount === 1) {
    // Question name: uncompressed on the fast path.
    for (;;) {
      if (p >= len) return formerr(q, reserve, info);
      const l = q[p] as number;
      if (l === 0) {
        p++;
        break;
      }
      if (l > 63) {
        if (l >= 0xc0 && depth === 0) return compressedQuestion(index, q, tcp, reserve, info, p, ctx);
        return formerr(q, reserve, info);
      }
      p += l + 1;
      if (p - 12 > 255) return formerr(q, reserve, info);
    }
    nameEnd = p;
    if (p + 4 > len) return formerr(q, reserve, info);
    qtype = ((q[p] as number) << 8) | (q[p + 1] as number);
    qclass = ((q[p + 2] as number) << 8) | (q[p + 3] as number);
    p += 4;
    if (info) info.qtype = qtype;
  }
  const qEnd = p;

  // Answer, authority and additional: find OPT, validate the rest.
  let edns = false;
  let udpSize = 0;
  let version = 0;
  let doBit = 0;
  let cookieAt = -1;
  let cookieLen = 0;
  let ecs: ClientSubnet | null = null;
  let tsig = false;
  const rrs = ancount + nscount + arcount;
  for (let i = 0; i < rrs; i++) {
    const start = p;
    p = skipName(q, p, len);
    if (p < 0 || p + 10 > len) return formerr(q, reserve, info);
    const type = ((q[p] as number) << 8) | (q[p + 1] as number);
    const rdlen = ((q[p + 8] as number) << 8) | (q[p + 9] as number);
    const rdata = p + 10;
    if (rdata + rdlen > len) return formerr(q, reserve, info);
    if (type === TYPE.OPT) {
      // One OPT, in the additional section, owned by the root (RFC 6891 6.1.1).
      if (edns || i < ancount + nscount || q[start] !== 0) return formerr(q, reserve, info);
      edns = true;
      udpSize = ((q[p + 2] as number) << 8) | (q[p + 3] as number);
      version = q[p + 5] as number;
      doBit = (q[p + 6] as number) & 0x80;
      let o = rdata;
      const oe = rdata + rdlen;
      while (o < oe) {
        if (o + 4 > oe) return formerr(q, reserve, info);
        const code = ((q[o] as number) << 8) | (q[o + 1] as number);
        const olen = ((q[o + 2] as number) << 8) | (q[o + 3] as number);
        o += 4;
        if (o + olen > oe) return formerr(q, reserve, info);
        if (code === 10) {
          // COOKIE (RFC 7873): client cookie 8 octets, optional server cookie 8..32; one per message.
          if ((olen !== 8 && (olen < 16 || olen > 40)) || cookieAt >= 0) return formerr(q, reserve, info);
          cookieAt = o;
          cookieLen = olen;
        } else if (code === ECS_OPTION) {
          // EDNS Client Subnet (RFC 7871): one per message, well formed, or FORMERR.
          if (ecs) return formerr(q, reserve, info);
          ecs = parseClientSubnet(q, o, olen);
          if (!ecs) return formerr(q, reserve, info);
        }
        o += olen;
      }
    } else if (type === TYPE.TSIG) {
      // TSIG must be the last record (RFC 8945 5.1); the slow path verifies it.
      if (i !== rrs - 1 || i < ancount + nscount) return formerr(q, reserve, info);
      tsig = true;
    }
    p = rdata + rdlen;
  }
  if (p !== len) return formerr(q, reserve, info); // trailing garbage

  const cookies = ctx?.cookies;
  let serverCookie: Buffer | null = null;
  if (cookieAt >= 0 && cookies) {
    serverCookie = cookies.serverCookie(q, cookieAt, cookieLen, ctx?.clientIp);
    if (info) info.cookieOk = cookies.lastValid;
  }

  if (qdcount === 0) {
    // RFC 7873 5.4: a query with no question and a COOKIE learns a server cookie; anything else is FORMERR.
    if (!serverCookie || tsig) return formerr(q, reserve, info);
    if (info) info.rcode = RCODE.NOERROR;
    return cookieOnly(q, reserve, q.subarray(cookieAt, cookieAt + 8), serverCookie, udpSize, doBit);
  }
  const cookie = serverCookie ? { client: q.subarray(cookieAt, cookieAt + 8), server: serverCookie } : null;

  if (edns && version > 0) {
    if (info) info.rcode = RCODE.BADVERS;
    return build(q, reserve, qEnd, 0, null, null, RCODE.BADVERS, false, true, doBit, tcp, udpSize, info, cookie, null);
  }
  if (tsig || ((qtype === TYPE.AXFR || qtype === TYPE.IXFR) && (qclass === 1 || qclass === 255))) {
    if (info) info.rcode = RCODE.NOERROR;
    return SLOW_PATH;
  }

  let answer: Answer;
  const aa = true;
  if ((qclass !== 1 && qclass !== 255) || qtype === TYPE.OPT || qtype === TYPE.TSIG) {
    // Other classes and meta types that are not questions: REFUSED.
    return build(q, reserve, qEnd, 0, null, null, RCODE.REFUSED, false, edns, doBit, tcp, udpSize, info, cookie, ecs);
  }
  const key = q.toString('latin1', 12, nameEnd).toLowerCase();
  const node = index.nodes.get(key);
  // DO=1 on a signed zone: the precompiled signed variant (RRSIGs, NSEC3); NXDOMAIN's proof found by hash.
  const signed = doBit !== 0 && index.signed;
  if (node === undefined) {
    if (!index.keyInZone(key)) {
      // Outside the zone: the in-cluster view's private names, for its networks only; else REFUSED.
      const view = ctx?.clusterView;
      const priv = view?.covers(key) && view.allows(ctx?.clientIp) ? view.answer(key, qtype, index) : undefined;
      if (priv) return build(q, reserve, qEnd, nameEnd, priv, null, priv.rcode, true, edns, doBit, tcp, udpSize, info, cookie, ecs);
      return build(q, reserve, qEnd, 0, null, null, RCODE.REFUSED, false, edns, doBit, tcp, udpSize, info, cookie, ecs);
    }
    answer = signed ? index.nxdomainDo(key, nameEnd) : index.nxdomain;
  } else {
    answer = signed ? index.answerDo(node, slotOf(qtype)) : index.answer(node, slotOf(qtype));
    if (answer.choice) {
      // A traffic policy: the client's region's answer (routed), one shard's by weight (weighted).
      const locator = ctx?.locator;
      let at: Located | undefined;
      if (answer.choice.routed && locator) {
        if (ecs) at = ecs.source > 0 ? locator.locate(ecs.family === 1 ? 4 : 6, ecs.address, ecs.source) : undefined;
        else if (ctx?.clientIp) at = locator.locateAddress(ctx.clientIp);
        // The answer depends on the client: say over how many bits (RFC 7871 7.2.1).
        if (ecs && at) ecs.scope = at.scope;
      }
      answer = pick(answer.choice, at?.id ?? -1, locator?.points ?? []);
    }
  }
  return build(q, reserve, qEnd, nameEnd, answer, index, answer.rcode, aa, edns, doBit, tcp, udpSize, info, cookie, ecs, signed);
}

/** Reply to a question-less COOKIE query: header and an OPT with the cookies (what NSD sends). */
function cookieOnly(q: Buffer, reserve: number, client: Buffer, server: Buffer, _udpSize: number, doBit: number): Buffer {
  const out = Buffer.alloc(reserve + 12 + OPT_COOKIE_LEN);
  const o = reserve;
  out[o] = q[0] as number;
  out[o + 1] = q[1] as number;
  out[o + 2] = 0x80 | ((q[2] as number) & 0x01);
  out[o + 3] = (q[3] as number) & 0x10;
  out[o + 11] = 1;
  writeOpt(out, o + 12, 0, doBit, client, server);
  return out;
}

/** OPT: root owner, class = our UDP size, TTL = ext-rcode | version 0 | DO, then the COOKIE and ECS options if any. */
function writeOpt(out: Buffer, w: number, rcode: number, doBit: number, client: Buffer | null, server: Buffer | null, ecs: ClientSubnet | null = null): void {
  out[w] = 0;
  out[w + 1] = 0;
  out[w + 2] = TYPE.OPT;
  out[w + 3] = EDNS_UDP_SIZE >> 8;
  out[w + 4] = EDNS_UDP_SIZE & 0xff;
  out[w + 5] = rcode >> 4;
  out[w + 6] = 0;
  out[w + 7] = doBit;
  out[w + 8] = 0;
  const ecsLen = ecs ? 8 + ecs.addressLength : 0;
  const rdlen = (client && server ? 28 : 0) + ecsLen;
  out[w + 9] = rdlen >> 8;
  out[w + 10] = rdlen & 0xff;
  let o = w + 11;
  if (client && server) {
    out[o] = 0;
    out[o + 1] = 10;
    out[o + 2] = 0;
    out[o + 3] = 24;
    client.copy(out, o + 4);
    server.copy(out, o + 12);
    o += 28;
  }
  if (ecs) {
    // FAMILY, SOURCE PREFIX-LENGTH and ADDRESS as the query gave them; SCOPE PREFIX-LENGTH ours.
    out[o] = 0;
    out[o + 1] = ECS_OPTION;
    out[o + 2] = 0;
    out[o + 3] = 4 + ecs.addressLength;
    out[o + 4] = 0;
    out[o + 5] = ecs.family;
    out[o + 6] = ecs.source;
    out[o + 7] = ecs.scope;
    for (let i = 0; i < ecs.addressLength; i++) out[o + 8 + i] = ecs.address[i] as number;
  }
}

function formerr(q: Buffer, reserve: number, info: QueryInfo | null): Buffer {
  if (info) info.rcode = RCODE.FORMERR;
  return headerOnly(q, reserve, RCODE.FORMERR);
}

/** Re-runs a query whose question name uses compression with the name expanded (rare path). */
function compressedQuestion(index: ZoneIndex, q: Buffer, tcp: boolean, reserve: number, info: QueryInfo | null, at: number, ctx: RespondContext | undefined): Buffer | null {
  const ex = expandName(q, 12);
  if (!ex || at < 12) return formerr(q, reserve, info);
  const rebuilt = Buffer.concat([q.subarray(0, 12), ex.name, q.subarray(ex.next)]);
  return respondInner(index, rebuilt, tcp, reserve, info, 1, ctx);
}

/** Assembles a reply: header, the query's question bytes, the answer, the negative SOA, OPT. */
function build(
  q: Buffer,
  reserve: number,
  qEnd: number,
  nameEnd: number,
  answer: Answer | null,
  index: ZoneIndex | null,
  rcode: number,
  aa: boolean,
  edns: boolean,
  doBit: number,
  tcp: boolean,
  udpSize: number,
  info: QueryInfo | null,
  cookie: { client: Buffer; server: Buffer } | null,
  ecs: ClientSubnet | null,
  signed = false,
): Buffer {
  const qsecEnd = qEnd; // header (12) + question
  const body = answer ? answer.body : null;
  const tail = answer?.soa && index ? (signed ? index.soaTailDo : index.soaTail) : null;
  const optLen = edns ? (cookie ? OPT_COOKIE_LEN : OPT_LEN) + (ecs ? 8 + ecs.addressLength : 0) : 0;
  let total = qsecEnd + (body ? body.length : 0) + (tail ? tail.bytes.length : 0) + optLen;
  const limit = tcp ? 65535 : edns ? Math.min(Math.max(udpSize, MAX_UDP_NO_EDNS), EDNS_UDP_SIZE) : MAX_UDP_NO_EDNS;
  let tc = false;
  if (total > limit) {
    tc = true;
    total = qsecEnd + optLen;
  }
  const out = Buffer.allocUnsafe(reserve + total);
  const o = reserve;
  out[o] = q[0] as number;
  out[o + 1] = q[1] as number;
  out[o + 2] = 0x80 | (aa ? 0x04 : 0) | (tc ? 0x02 : 0) | ((q[2] as number) & 0x01);
  out[o + 3] = ((q[3] as number) & 0x10) | (rcode & 0x0f);
  out[o + 4] = 0;
  out[o + 5] = 1;
  let an = 0;
  let ns = 0;
  let ar = edns ? 1 : 0;
  q.copy(out, o + 12, 12, qEnd);
  let w = o + qsecEnd;
  if (!tc && answer) {
    an = answer.an;
    ns = answer.ns;
    ar += answer.ar;
    if (body?.length) {
      body.copy(out, w);
      w += body.length;
    }
    if (tail) {
      tail.bytes.copy(out, w);
      const ptr = 0xc000 | (nameEnd - (index as ZoneIndex).zoneKey.length);
      for (const pp of tail.ptrs) {
        out[w + pp] = ptr >> 8;
        out[w + pp + 1] = ptr & 0xff;
      }
      w += tail.bytes.length;
      ns += tail.count;
    }
  }
  out[o + 6] = an >> 8;
  out[o + 7] = an & 0xff;
  out[o + 8] = ns >> 8;
  out[o + 9] = ns & 0xff;
  out[o + 10] = ar >> 8;
  out[o + 11] = ar & 0xff;
  if (edns) writeOpt(out, w, rcode, doBit, cookie ? cookie.client : null, cookie ? cookie.server : null, ecs);
  if (info) {
    info.rcode = rcode;
    info.truncated = tc;
    info.qEnd = qsecEnd;
  }
  return out;
}

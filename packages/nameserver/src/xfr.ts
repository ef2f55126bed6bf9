/**
 * Zone transfers out of the index: AXFR (RFC 5936) and IXFR from the change
 * journal (RFC 1995), as lists of DNS messages ready for TCP.
 */
import { isDnssecType, type RecordSet } from '@fedns/model';
import { parseRrsig, rdataWire, typeCode } from '@fedns/dnssec';
import type { JournalEntry } from '@fedns/store';
import { isIPv6 } from 'node:net';
import { CLASS_IN, TYPE, Writer, ipv4Bytes, ipv6Bytes, txtRdata } from './wire.js';
import { type ZoneIndex, recordProblem } from './zone-index.js';

/** One resource record of a transfer. */
interface XRR {
  name: string;
  type: number;
  ttl: number;
  /** A/AAAA address, CNAME/NS target, TXT string; unused for SOA. */
  data: string;
  /** SOA only. */
  serial?: number;
  /** DNSSEC types: the RR type name (RDATA written by @fedns/dnssec's codec). */
  dnssec?: string;
}

/** What a transfer reply copies from its request. */
export interface XfrRequest {
  id: number;
  /** Byte 2 and 3 of the request header (RD and CD are copied). */
  flags1: number;
  flags2: number;
  /** The question as received: wire name (uncompressed), qtype, qclass. */
  question: Buffer;
  /** The request had an OPT record: every reply message carries one. */
  edns: boolean;
}

/** Soft size of one transfer message; one more RR never takes it past 64 KiB. */
const MESSAGE_TARGET = 16_000;

const TYPE_OF: Record<string, number> = { A: TYPE.A, AAAA: TYPE.AAAA, CNAME: TYPE.CNAME, TXT: TYPE.TXT };

function abs(n: string): string {
  const l = n.toLowerCase();
  return l.endsWith('.') ? l : `${l}.`;
}

function soaRR(index: ZoneIndex, serial: number): XRR {
  return { name: index.zone, type: TYPE.SOA, ttl: index.config.soa.ttl, data: '', serial: serial >>> 0 };
}

function rrsOf(rs: RecordSet): XRR[] {
  const name = abs(rs.name);
  if (isDnssecType(rs.type)) {
    // An RRSIG RR keeps the TTL of the set it covers (its Original TTL).
    return rs.data.map((d) => ({ name, type: typeCode(rs.type), ttl: rs.type === 'RRSIG' ? parseRrsig(d).originalTtl : rs.ttl, data: d, dnssec: rs.type }));
  }
  const type = TYPE_OF[rs.type] as number;
  return rs.data.map((d) => ({ name, type, ttl: rs.ttl, data: rs.type === 'CNAME' ? abs(d) : d }));
}

/** Identity of one RR for diffs: owner, type, TTL, canonical data. */
function rrKey(rr: XRR): string {
  const data = rr.type === TYPE.AAAA && isIPv6(rr.data) ? ipv6Bytes(rr.data).toString('hex') : rr.data;
  return `${rr.name}\u0000${rr.type}\u0000${rr.ttl}\u0000${data}`;
}

/** Every RR of the zone in AXFR order, without the closing SOA. */
function* zoneRRs(index: ZoneIndex): Generator<XRR> {
  yield soaRR(index, index.serial);
  for (const ns of index.config.nameservers) yield { name: index.zone, type: TYPE.NS, ttl: index.config.soa.ttl, data: abs(ns.name) };
  for (const rs of index.recordSets()) yield* rrsOf(rs);
}

function writeRR(w: Writer, index: ZoneIndex, rr: XRR): void {
  const at = w.rrHeader(rr.name, rr.type, rr.ttl, CLASS_IN);
  if (rr.dnssec) {
    w.bytes(rdataWire(rr.dnssec, rr.data));
    w.endRdata(at);
    return;
  }
  switch (rr.type) {
    case TYPE.A:
      w.bytes(ipv4Bytes(rr.data));
      break;
    case TYPE.AAAA:
      w.bytes(ipv6Bytes(rr.data));
      break;
    case TYPE.CNAME:
    case TYPE.NS:
      w.name(rr.data);
      break;
    case TYPE.TXT:
      w.bytes(txtRdata([rr.data]));
      break;
    case TYPE.SOA: {
      const soa = index.config.soa;
      w.name(abs(soa.mname));
      w.name(abs(soa.rname));
      w.u32(rr.serial ?? 0);
      w.u32(soa.refresh);
      w.u32(soa.retry);
      w.u32(soa.expire);
      w.u32(soa.minimum);
      break;
    }
  }
  w.endRdata(at);
}

/** Packs RRs into reply messages: header, the question, answers, OPT if the request had one. */
function pack(index: ZoneIndex, req: XfrRequest, rrs: Iterable<XRR>): Buffer[] {
  const out: Buffer[] = [];
  let w: Writer | null = null;
  let count = 0;
  const qname = req.question.subarray(0, req.question.length - 4);
  const start = () => {
    const nw = new Writer(MESSAGE_TARGET + 1024);
    nw.u16(req.id);
    nw.u8(0x80 | 0x04 | (req.flags1 & 0x01)); // QR, AA, opcode QUERY, RD copied
    nw.u8(req.flags2 & 0x10); // CD copied
    nw.u16(1);
    nw.u16(0);
    nw.u16(0);
    nw.u16(0);
    nw.bytes(req.question);
    nw.remember(nameOf(qname), 12);
    return nw;
  };
  const finish = () => {
    if (!w) return;
    const wr = w;
    wr.buf.writeUInt16BE(count, 6);
    if (req.edns) {
      wr.u8(0);
      wr.u16(TYPE.OPT);
      wr.u16(1232);
      wr.u32(0);
      wr.u16(0);
      wr.buf.writeUInt16BE(1, 10);
    }
    out.push(wr.result());
    w = null;
    count = 0;
  };
  for (const rr of rrs) {
    if (!w) w = start();
    writeRR(w, index, rr);
    count++;
    if (w.pos >= MESSAGE_TARGET) finish();
  }
  finish();
  return out;
}

/** Presentation form of an uncompressed wire name (for the compression dictionary). */
function nameOf(wire: Buffer): string {
  const labels: string[] = [];
  for (let i = 0; i < wire.length && wire[i] !== 0; ) {
    const l = wire[i] as number;
    labels.push(wire.toString('latin1', i + 1, i + 1 + l));
    i += l + 1;
  }
  return labels.length ? `${labels.join('.')}.` : '.';
}

/** AXFR: SOA, every RR, SOA (RFC 5936 2.2). */
export function axfrMessages(index: ZoneIndex, req: XfrRequest): Buffer[] {
  const all = function* () {
    yield* zoneRRs(index);
    yield soaRR(index, index.serial);
  };
  return pack(index, req, all());
}

/** IXFR answer to a client that is current (or ahead): the single SOA. */
export function singleSoa(index: ZoneIndex, req: XfrRequest): Buffer[] {
  return pack(index, req, [soaRR(index, index.serial)]);
}

/** The RR-level difference of one journal entry: deleted old RRs, added new ones (condensed, RFC 1995 sec. 5). */
function entryDiff(index: ZoneIndex, e: JournalEntry): { del: XRR[]; add: XRR[] } {
  const servable = (rs: RecordSet) => recordProblem(rs, index.zone) === undefined;
  const before = new Map<string, XRR>();
  const after = new Map<string, XRR>();
  for (const rs of e.deleted) if (servable(rs)) for (const rr of rrsOf(rs)) before.set(rrKey(rr), rr);
  for (const rs of e.added) if (servable(rs)) for (const rr of rrsOf(rs)) after.set(rrKey(rr), rr);
  const del = [...before].filter(([k]) => !after.has(k)).map(([, rr]) => rr);
  const add = [...after].filter(([k]) => !before.has(k)).map(([, rr]) => rr);
  return { del, add };
}

/**
 * IXFR (RFC 1995 4): from `clientSerial` to the index's serial through the
 * journal entries `journal` returned for it. Returns undefined when the
 * journal cannot bridge the gap (unknown or pruned serial, or the journal and
 * the served zone disagree): the caller then sends the whole zone.
 */
export function ixfrMessages(index: ZoneIndex, req: XfrRequest, clientSerial: number, journal: JournalEntry[] | undefined): Buffer[] | undefined {
  if (!journal) return undefined;
  const target = index.serial;
  const used: JournalEntry[] = [];
  let prev = clientSerial >>> 0;
  for (const e of journal) {
    if (e.prevSoaSerial >>> 0 !== prev) return undefined;
    used.push(e);
    prev = e.soaSerial >>> 0;
    if (prev === target) break;
  }
  if (prev !== target || used.length === 0) return undefined;
  let size = 0;
  const diffs = used.map((e) => {
    const d = entryDiff(index, e);
    size += d.del.length + d.add.length + 2;
    return { e, ...d };
  });
  // A longer history than the zone itself: the whole zone is the better answer (RFC 1995 4).
  if (size > index.size * 4 + 64) return undefined;
  const rrs = function* () {
    yield soaRR(index, target);
    for (const d of diffs) {
      yield soaRR(index, d.e.prevSoaSerial);
      yield* d.del;
      yield soaRR(index, d.e.soaSerial);
      yield* d.add;
    }
    yield soaRR(index, target);
  };
  return pack(index, req, rrs());
}

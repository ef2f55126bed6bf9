/**
 * A small DNS message codec for the simulated cluster DNS (RFC 1035, EDNS(0) as an opaque OPT).
 * It is kube-sim's own, independent of the nameserver under test: decode what arrives, let the
 * plugins change names and TTLs, encode again with name compression. Names are absolute
 * presentation strings that keep the case they arrived in; labels with dots, backslashes or
 * unprintable octets are escaped as in zone files (`\.`, `\\`, `\DDD`).
 */

export const T = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, AXFR: 252, IXFR: 251, ANY: 255 } as const;
export const RC = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface Soa {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/** Record data by type: an address, a name, an SOA, MX/SRV parts, TXT strings, or raw octets. */
export type RData = string | Soa | { preference: number; exchange: string } | { priority: number; weight: number; port: number; target: string } | Buffer[] | Buffer;

export interface RR {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: RData;
}

export interface Message {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  rcode: number;
  questions: Question[];
  answers: RR[];
  authorities: RR[];
  /** Additional records, OPT included (class = UDP size, ttl = extended RCODE/version/flags). */
  additionals: RR[];
}

export class WireError extends Error {}

const NAME_TYPES = new Set<number>([T.NS, T.CNAME, T.PTR, 39 /* DNAME */]);

// ---- decoding ----------------------------------------------------------------------------------

function readName(b: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let p = start;
  let next = -1;
  let hops = 0;
  let total = 0;
  for (;;) {
    if (p >= b.length) throw new WireError('name runs past the message');
    const len = b[p] as number;
    if (len === 0) {
      if (next < 0) next = p + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= b.length) throw new WireError('truncated pointer');
      if (next < 0) next = p + 2;
      p = ((len & 0x3f) << 8) | (b[p + 1] as number);
      if (++hops > 64) throw new WireError('pointer loop');
      continue;
    }
    if (len > 63) throw new WireError('bad label type');
    if (p + 1 + len > b.length) throw new WireError('label runs past the message');
    total += len + 1;
    if (total > 255) throw new WireError('name too long');
    labels.push(escapeLabel(b.subarray(p + 1, p + 1 + len)));
    p += 1 + len;
  }
  return { name: labels.length ? `${labels.join('.')}.` : '.', next };
}

function escapeLabel(bytes: Buffer): string {
  let s = '';
  for (const c of bytes) {
    if (c === 0x2e || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c < 0x21 || c > 0x7e) s += `\\${String(c).padStart(3, '0')}`;
    else s += String.fromCharCode(c);
  }
  return s;
}

/** The labels of a presentation name as octets (escapes resolved); [] for the root. */
export function nameLabels(name: string): Buffer[] {
  if (name === '.' || name === '') return [];
  const out: Buffer[] = [];
  let cur: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const ch = name[i] as string;
    if (ch === '\\') {
      const d = name.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(d)) {
        cur.push(Number(d));
        i += 3;
      } else {
        cur.push(name.charCodeAt(i + 1));
        i += 1;
      }
    } else if (ch === '.') {
      if (cur.length === 0) throw new WireError(`empty label in ${name}`);
      out.push(Buffer.from(cur));
      cur = [];
    } else cur.push(name.charCodeAt(i) & 0xff);
  }
  if (cur.length) out.push(Buffer.from(cur));
  for (const l of out) if (l.length > 63) throw new WireError(`label too long in ${name}`);
  return out;
}

function readRR(b: Buffer, p: number): { rr: RR; next: number } {
  const { name, next: afterName } = readName(b, p);
  if (afterName + 10 > b.length) throw new WireError('truncated record');
  const type = b.readUInt16BE(afterName);
  const cls = b.readUInt16BE(afterName + 2);
  const ttl = b.readUInt32BE(afterName + 4);
  const rdlen = b.readUInt16BE(afterName + 8);
  const rd = afterName + 10;
  const end = rd + rdlen;
  if (end > b.length) throw new WireError('rdata runs past the message');
  let data: RData;
  if (type === T.A && rdlen === 4) data = [...b.subarray(rd, end)].join('.');
  else if (type === T.AAAA && rdlen === 16) {
    const words: string[] = [];
    for (let i = 0; i < 16; i += 2) words.push(b.readUInt16BE(rd + i).toString(16));
    data = compressV6(words);
  } else if (NAME_TYPES.has(type)) data = readName(b, rd).name;
  else if (type === T.SOA) {
    const m = readName(b, rd);
    const r = readName(b, m.next);
    const q = r.next;
    if (q + 20 > end) throw new WireError('truncated SOA');
    data = { mname: m.name, rname: r.name, serial: b.readUInt32BE(q), refresh: b.readUInt32BE(q + 4), retry: b.readUInt32BE(q + 8), expire: b.readUInt32BE(q + 12), minimum: b.readUInt32BE(q + 16) };
  } else if (type === T.MX && rdlen >= 3) data = { preference: b.readUInt16BE(rd), exchange: readName(b, rd + 2).name };
  else if (type === T.SRV && rdlen >= 7) data = { priority: b.readUInt16BE(rd), weight: b.readUInt16BE(rd + 2), port: b.readUInt16BE(rd + 4), target: readName(b, rd + 6).name };
  else if (type === T.TXT) {
    const strings: Buffer[] = [];
    for (let i = rd; i < end; ) {
      const l = b[i] as number;
      strings.push(Buffer.from(b.subarray(i + 1, i + 1 + l)));
      i += 1 + l;
    }
    data = strings;
  } else data = Buffer.from(b.subarray(rd, end));
  return { rr: { name, type, class: cls, ttl, data }, next: end };
}

function compressV6(words: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

export function decode(b: Buffer): Message {
  if (b.length < 12) throw new WireError('shorter than a header');
  const f1 = b[2] as number;
  const f2 = b[3] as number;
  const counts = [b.readUInt16BE(4), b.readUInt16BE(6), b.readUInt16BE(8), b.readUInt16BE(10)] as const;
  const msg: Message = {
    id: b.readUInt16BE(0),
    qr: (f1 & 0x80) !== 0,
    opcode: (f1 >> 3) & 0x0f,
    aa: (f1 & 0x04) !== 0,
    tc: (f1 & 0x02) !== 0,
    rd: (f1 & 0x01) !== 0,
    ra: (f2 & 0x80) !== 0,
    ad: (f2 & 0x20) !== 0,
    cd: (f2 & 0x10) !== 0,
    rcode: f2 & 0x0f,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
  };
  let p = 12;
  for (let i = 0; i < counts[0]; i++) {
    const { name, next } = readName(b, p);
    if (next + 4 > b.length) throw new WireError('truncated question');
    msg.questions.push({ name, type: b.readUInt16BE(next), class: b.readUInt16BE(next + 2) });
    p = next + 4;
  }
  for (const [section, n] of [[msg.answers, counts[1]], [msg.authorities, counts[2]], [msg.additionals, counts[3]]] as const) {
    for (let i = 0; i < n; i++) {
      const { rr, next } = readRR(b, p);
      section.push(rr);
      p = next;
    }
  }
  return msg;
}

// ---- encoding ----------------------------------------------------------------------------------

class Out {
  buf = Buffer.alloc(512);
  pos = 0;
  private readonly dict = new Map<string, number>();

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const nb = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
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
  name(name: string, compress = true): void {
    const labels = nameLabels(name);
    for (let i = 0; i < labels.length; i++) {
      const key = labels
        .slice(i)
        .map((l) => l.toString('latin1').toLowerCase())
        .join('.');
      const at = compress ? this.dict.get(key) : undefined;
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.pos < 0x4000 && !this.dict.has(key)) this.dict.set(key, this.pos);
      const l = labels[i] as Buffer;
      this.u8(l.length);
      this.bytes(l);
    }
    this.u8(0);
  }
}

function writeAddress(o: Out, type: number, addr: string): void {
  if (type === T.A) {
    for (const part of addr.split('.')) o.u8(Number(part));
    return;
  }
  const [head = '', tail] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const words = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  for (const w of words) o.u16(Number.parseInt(w || '0', 16));
}

function writeRR(o: Out, rr: RR): void {
  o.name(rr.name);
  o.u16(rr.type);
  o.u16(rr.class);
  o.u32(rr.ttl);
  const lenAt = o.pos;
  o.u16(0);
  const d = rr.data;
  if (Buffer.isBuffer(d)) o.bytes(d);
  else if ((rr.type === T.A || rr.type === T.AAAA) && typeof d === 'string') writeAddress(o, rr.type, d);
  else if (typeof d === 'string') o.name(d);
  else if (Array.isArray(d)) {
    for (const s of d) {
      o.u8(s.length);
      o.bytes(s);
    }
  } else if ('mname' in d) {
    o.name(d.mname);
    o.name(d.rname);
    for (const v of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) o.u32(v);
  } else if ('exchange' in d) {
    o.u16(d.preference);
    o.name(d.exchange);
  } else {
    o.u16(d.priority);
    o.u16(d.weight);
    o.u16(d.port);
    o.name(d.target, false);
  }
  o.buf.writeUInt16BE(o.pos - lenAt - 2, lenAt);
}

/** Encodes a message; with `maxSize`, records that do not fit are dropped and TC is set (UDP). */
export function encode(m: Message, maxSize = 65535): Buffer {
  const build = (answers: RR[], authorities: RR[], additionals: RR[], tc: boolean) => {
    const o = new Out();
    o.u16(m.id);
    o.u8((m.qr ? 0x80 : 0) | ((m.opcode & 0x0f) << 3) | (m.aa ? 0x04 : 0) | (tc ? 0x02 : 0) | (m.rd ? 0x01 : 0));
    o.u8((m.ra ? 0x80 : 0) | (m.ad ? 0x20 : 0) | (m.cd ? 0x10 : 0) | (m.rcode & 0x0f));
    for (const n of [m.questions.length, answers.length, authorities.length, additionals.length]) o.u16(n);
    for (const q of m.questions) {
      o.name(q.name);
      o.u16(q.type);
      o.u16(q.class);
    }
    for (const rr of answers) writeRR(o, rr);
    for (const rr of authorities) writeRR(o, rr);
    for (const rr of additionals) writeRR(o, rr);
    return Buffer.from(o.buf.subarray(0, o.pos));
  };
  const full = build(m.answers, m.authorities, m.additionals, m.tc);
  if (full.length <= maxSize) return full;
  // Too big for the transport: header, question and OPT only, with TC (what a server sends).
  return build([], [], m.additionals.filter((r) => r.type === T.OPT), true);
}

/** A reply skeleton for a request: same ID, opcode, question, RD and CD; QR set. */
export function replyTo(req: Message, rcode: number = RC.NOERROR): Message {
  return {
    id: req.id,
    qr: true,
    opcode: req.opcode,
    aa: false,
    tc: false,
    rd: req.rd,
    ra: true,
    ad: false,
    cd: req.cd,
    rcode,
    questions: req.questions.map((q) => ({ ...q })),
    answers: [],
    authorities: [],
    additionals: req.additionals.filter((r) => r.type === T.OPT).map((r) => ({ ...r, class: 1232, ttl: r.ttl & 0x8000, data: Buffer.alloc(0) })),
  };
}

/** A deep copy (plugins change names and TTLs in place). */
export function cloneMessage(m: Message): Message {
  const rr = (r: RR): RR => ({ ...r, data: typeof r.data === 'object' && !Buffer.isBuffer(r.data) && !Array.isArray(r.data) ? { ...r.data } : r.data });
  return { ...m, questions: m.questions.map((q) => ({ ...q })), answers: m.answers.map(rr), authorities: m.authorities.map(rr), additionals: m.additionals.map(rr) };
}

/** The UDP payload size a request allows (512 without EDNS). */
export function udpLimit(req: Message): number {
  const opt = req.additionals.find((r) => r.type === T.OPT);
  return opt ? Math.max(512, opt.class) : 512;
}

/** Lower-case absolute name, for comparisons (escapes kept). */
export function canonical(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

/** Whether `name` equals `zone` or lies below it, label-wise (both absolute). */
export function inZone(name: string, zone: string): boolean {
  const n = canonical(name);
  const z = canonical(zone);
  return z === '.' || n === z || n.endsWith(`.${z}`);
}

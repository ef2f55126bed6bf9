/** Test helpers: raw query builder, UDP/TCP senders, a real-dig runner and parser. */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface QueryOpts {
  id?: number;
  name: string;
  qtype?: number;
  qclass?: number;
  /** Raw 16-bit flags word (default RD clear). */
  flags?: number;
  edns?: { size?: number; version?: number; do?: boolean; options?: { code: number; data: Buffer }[] } | false;
}

/** Deterministic PRNG (mulberry32) so a fuzz failure reproduces from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uncompressed wire name, case preserved. */
export function wireName(name: string): Buffer {
  const parts: Buffer[] = [];
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n.length) for (const l of n.split('.')) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function optRR(edns: { size?: number; version?: number; do?: boolean; options?: { code: number; data: Buffer }[] }): Buffer {
  const opts = Buffer.concat(
    (edns.options ?? []).map((o) => {
      const h = Buffer.alloc(4);
      h.writeUInt16BE(o.code, 0);
      h.writeUInt16BE(o.data.length, 2);
      return Buffer.concat([h, o.data]);
    }),
  );
  const rr = Buffer.alloc(11);
  rr[0] = 0;
  rr.writeUInt16BE(41, 1);
  rr.writeUInt16BE(edns.size ?? 1232, 3);
  rr[5] = 0;
  rr[6] = edns.version ?? 0;
  rr.writeUInt16BE(edns.do ? 0x8000 : 0, 7);
  rr.writeUInt16BE(opts.length, 9);
  return Buffer.concat([rr, opts]);
}

export function mkQuery(o: QueryOpts): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(o.id ?? 0x1234, 0);
  h.writeUInt16BE(o.flags ?? 0, 2);
  h.writeUInt16BE(1, 4);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(o.qtype ?? 1, 0);
  q.writeUInt16BE(o.qclass ?? 1, 2);
  const parts = [h, wireName(o.name), q];
  if (o.edns) {
    h.writeUInt16BE(1, 10);
    parts.push(optRR(o.edns));
  }
  return Buffer.concat(parts);
}

/** Sends one datagram; resolves with the reply or null after `timeoutMs`. */
export function udpQuery(port: number, msg: Buffer, timeoutMs = 300): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

/** Opens a TCP connection and collects length-prefixed replies. */
export class TcpClient {
  readonly sock: net.Socket;
  private buf = Buffer.alloc(0);
  readonly replies: Buffer[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  constructor(port: number) {
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d as Buffer]);
      while (this.buf.length >= 2) {
        const l = this.buf.readUInt16BE(0);
        if (this.buf.length < 2 + l) break;
        this.replies.push(this.buf.subarray(2, 2 + l));
        this.buf = this.buf.subarray(2 + l);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    this.sock.on('error', () => {});
  }

  connected(): Promise<void> {
    return new Promise((resolve) => this.sock.once('connect', () => resolve()));
  }

  async waitFor(n: number, timeoutMs = 2000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < n && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.replies;
  }

  static frame(msg: Buffer): Buffer {
    const h = Buffer.alloc(2);
    h.writeUInt16BE(msg.length, 0);
    return Buffer.concat([h, msg]);
  }

  close(): void {
    this.sock.destroy();
  }
}

export interface DigResult {
  raw: string;
  status: string;
  flags: string[];
  counts: { query: number; answer: number; authority: number; additional: number };
  edns?: { version: number; flags: string[]; udp: number; line: string };
  question: string[];
  answer: string[][];
  authority: string[][];
  additional: string[][];
  size?: number;
  server?: string;
}

/** Runs the real dig (or kdig) and parses its presentation output. */
export async function dig(port: number, args: string[], tool: 'dig' | 'kdig' = 'dig'): Promise<DigResult> {
  const base = tool === 'dig' ? ['+nocmd', '+norec', '+nocookie', '+tries=1', '+time=2', '@127.0.0.1', '-p', String(port)] : ['+norec', '+nocookie', '+retry=0', '+time=2', '@127.0.0.1', '-p', String(port)];
  const { stdout } = await run(tool, [...base, ...args], { timeout: 10_000 });
  return parseDig(stdout);
}

export function parseDig(out: string): DigResult {
  const r: DigResult = {
    raw: out,
    status: '',
    flags: [],
    counts: { query: 0, answer: 0, authority: 0, additional: 0 },
    question: [],
    answer: [],
    authority: [],
    additional: [],
  };
  let section: 'question' | 'answer' | 'authority' | 'additional' | null = null;
  for (const line of out.split('\n')) {
    let m = /status: (\w+)/.exec(line);
    if (m && /HEADER|opcode/.test(line)) r.status = m[1] as string;
    m = /;; [Ff]lags:([^;]*);\s*QUERY: (\d+)[,;] ANSWER: (\d+)[,;] AUTHORITY: (\d+)[,;] ADDITIONAL: (\d+)/.exec(line);
    if (m) {
      r.flags = (m[1] as string).trim().split(/\s+/).filter(Boolean);
      r.counts = { query: Number(m[2]), answer: Number(m[3]), authority: Number(m[4]), additional: Number(m[5]) };
    }
    m = /; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)/.exec(line);
    if (m) r.edns = { version: Number(m[1]), flags: (m[2] as string).trim().split(/\s+/).filter(Boolean), udp: Number(m[3]), line };
    m = /;; MSG SIZE\s+rcvd: (\d+)/.exec(line);
    if (m) r.size = Number(m[1]);
    m = /;; SERVER: \S+ \((\w+)\)/.exec(line);
    if (m) r.server = m[1];
    if (/^;; QUESTION SECTION:/.test(line)) section = 'question';
    else if (/^;; ANSWER SECTION:/.test(line)) section = 'answer';
    else if (/^;; AUTHORITY SECTION:/.test(line)) section = 'authority';
    else if (/^;; ADDITIONAL SECTION:/.test(line)) section = 'additional';
    else if (line.trim() === '') section = null;
    else if (section === 'question' && line.startsWith(';')) r.question.push(line.slice(1).trim());
    else if (section && section !== 'question' && !line.startsWith(';')) r[section].push(line.trim().split(/\s+/));
  }
  return r;
}

/** Rdata (5th column onwards) of the records of a dig section with a given type. */
export function rdataOf(rrs: string[][], type: string): string[] {
  return rrs.filter((rr) => rr[3] === type).map((rr) => rr.slice(4).join(' '));
}

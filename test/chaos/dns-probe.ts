/**
 * What the chaos tests watch of DNS, in-process (thousands of queries; a dig
 * per query would cost more than what it measures): single queries over UDP,
 * whole-zone transfers over TCP, and a ledger of every zone content served,
 * per serial, across every nameserver.
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';

/** dns-packet decodes the response code, though its types do not say so. */
const rcodeOf = (p: dnsPacket.DecodedPacket) => (p as { rcode?: string }).rcode ?? 'NOERROR';

export interface Answer {
  rcode: string;
  answers: dnsPacket.Answer[];
}

/** One UDP question; undefined when nothing came back within `timeoutMs`. */
export function query(port: number, name: string, type: dnsPacket.RecordType, timeoutMs = 2000): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const id = Math.floor(Math.random() * 65535);
    const done = (a: Answer | undefined) => {
      clearTimeout(timer);
      sock.close();
      resolve(a);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('error', () => done(undefined));
    sock.on('message', (msg) => {
      try {
        const p = dnsPacket.decode(msg);
        if (p.id !== id) return;
        done({ rcode: rcodeOf(p), answers: p.answers ?? [] });
      } catch {
        done(undefined);
      }
    });
    sock.send(dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ name, type }] }), port, '127.0.0.1');
  });
}

/** The zone's SOA serial as `port` answers it now. */
export async function soaSerial(port: number, zone: string): Promise<number | undefined> {
  const a = await query(port, zone, 'SOA');
  const soa = a?.answers.find((r) => r.type === 'SOA') as dnsPacket.SoaAnswer | undefined;
  return soa?.data.serial;
}

/** A whole AXFR over TCP: its records (the closing SOA dropped). */
export function axfr(port: number, zone: string, timeoutMs = 10_000): Promise<dnsPacket.Answer[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const records: dnsPacket.Answer[] = [];
    let buf = Buffer.alloc(0);
    let soas = 0;
    const timer = setTimeout(() => fail(new Error(`AXFR from ${port}: timed out`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    sock.on('error', fail);
    sock.on('connect', () => {
      const q = dnsPacket.encode({ type: 'query', id: 1, flags: 0, questions: [{ name: zone, type: 'AXFR' }] });
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      sock.write(Buffer.concat([len, q]));
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const p = dnsPacket.decode(msg);
        if (rcodeOf(p) !== 'NOERROR') return fail(new Error(`AXFR from ${port}: ${rcodeOf(p)}`));
        for (const r of p.answers ?? []) {
          if (r.type === 'SOA' && ++soas === 2) {
            clearTimeout(timer);
            sock.destroy();
            return resolve(records);
          }
          records.push(r);
        }
      }
    });
    sock.on('close', () => soas < 2 && fail(new Error(`AXFR from ${port}: closed after ${records.length} records`)));
  });
}

/** A transferred zone in one comparable form: its serial and a hash of its sorted records. */
export function fingerprint(records: dnsPacket.Answer[]): { serial: number; hash: string; size: number } {
  const soa = records.find((r) => r.type === 'SOA') as dnsPacket.SoaAnswer | undefined;
  if (!soa) throw new Error('zone without SOA');
  const lines = records.map((r) => `${r.name.toLowerCase()} ${(r as { ttl?: number }).ttl ?? 0} ${r.type} ${JSON.stringify('data' in r ? r.data : null)}`).sort();
  return { serial: soa.data.serial ?? 0, hash: createHash('sha256').update(lines.join('\n')).digest('hex'), size: records.length };
}

/** RFC 1982: whether serial `b` comes after `a`. */
export const serialAfter = (a: number, b: number) => a !== b && ((b - a) >>> 0) < 2 ** 31;

/**
 * Every zone served, per serial, at every nameserver sampled: a serial going
 * back at one server, or one serial with two contents anywhere, is a violation.
 */
export class ZoneLedger {
  readonly contents = new Map<number, { hash: string; server: string }>();
  readonly violations: string[] = [];
  readonly lastSerial = new Map<string, number>();
  readonly samples = new Map<string, number>();

  /**
   * Servers whose serial may be seen going back for a moment without a fault of
   * theirs: NSD switches to a reloaded zone by starting new server processes
   * beside the old ones, so one query can still reach the old zone after another
   * reached the new. Their contents per serial are still checked.
   */
  constructor(private readonly switchesNonAtomically: string[] = []) {}

  /** A serial a server answered with. */
  sawSerial(server: string, serial: number): void {
    const last = this.lastSerial.get(server);
    const back = last !== undefined && serial !== last && !serialAfter(last, serial);
    if (back && !this.switchesNonAtomically.includes(server)) this.violations.push(`${server} went back from serial ${last} to ${serial}`);
    if (last === undefined || serialAfter(last, serial)) this.lastSerial.set(server, serial);
  }

  /** A whole zone a server transferred. */
  sawZone(server: string, zone: { serial: number; hash: string }): void {
    this.sawSerial(server, zone.serial);
    this.samples.set(server, (this.samples.get(server) ?? 0) + 1);
    const known = this.contents.get(zone.serial);
    if (!known) this.contents.set(zone.serial, { hash: zone.hash, server });
    else if (known.hash !== zone.hash) this.violations.push(`serial ${zone.serial} served with two contents (${known.server}: ${known.hash.slice(0, 12)}, ${server}: ${zone.hash.slice(0, 12)})`);
  }
}

/**
 * Samples nameservers until stopped: each round asks every server its serial
 * and transfers the zone whenever that changed.
 */
export class ZoneSampler {
  #stopped = false;
  #done: Promise<void> | undefined;
  readonly errors: string[] = [];

  constructor(
    private readonly ledger: ZoneLedger,
    private readonly servers: { name: string; port: number }[],
    private readonly zone: string,
    private readonly everyMs = 150,
  ) {}

  start(): void {
    const hashed = new Map<string, number>();
    const round = async (s: { name: string; port: number }) => {
      const serial = await soaSerial(s.port, this.zone);
      if (serial === undefined) return;
      this.ledger.sawSerial(s.name, serial);
      if (hashed.get(s.name) === serial) return;
      try {
        const z = fingerprint(await axfr(s.port, this.zone));
        this.ledger.sawZone(s.name, z);
        hashed.set(s.name, z.serial);
      } catch (err) {
        this.errors.push(`${s.name}: ${String(err)}`);
      }
    };
    this.#done = (async () => {
      while (!this.#stopped) {
        await Promise.all(this.servers.map(round));
        await new Promise((r) => setTimeout(r, this.everyMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

/**
 * Asks every nameserver a question every `everyMs`: a question with no answer
 * (timeout, SERVFAIL, REFUSED) is counted with when it happened.
 */
export class AnswerProbe {
  #timer: NodeJS.Timeout | undefined;
  readonly unanswered: string[] = [];
  asked = 0;

  constructor(
    private readonly servers: { name: string; port: number }[],
    private readonly questions: () => [string, dnsPacket.RecordType][],
    private readonly everyMs = 100,
  ) {}

  start(): void {
    this.#timer = setInterval(() => {
      for (const s of this.servers) {
        for (const [name, type] of this.questions()) {
          this.asked++;
          void query(s.port, name, type).then((a) => {
            if (!a) this.unanswered.push(`${new Date().toISOString()} ${s.name} ${name} ${type}: no answer in 2 s`);
            else if (a.rcode !== 'NOERROR' && a.rcode !== 'NXDOMAIN') this.unanswered.push(`${new Date().toISOString()} ${s.name} ${name} ${type}: ${a.rcode}`);
          });
        }
      }
    }, this.everyMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/**
 * NOTIFY (RFC 1996) to the configured secondaries on every serial change,
 * retried with backoff until each one acknowledges, optionally TSIG-signed.
 * A newer serial replaces a notification still waiting for its answer.
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { type TsigKey, signRequest, verifyReply } from './tsig.js';
import { CLASS_IN, TYPE, Writer } from './wire.js';
import type { ZoneIndex } from './zone-index.js';

export interface NotifyTarget {
  host: string;
  port: number;
  /** Name of the TSIG key to sign with (one of `keys`). */
  key?: string;
}

export interface NotifyOptions {
  index: ZoneIndex;
  targets: NotifyTarget[];
  keys?: TsigKey[];
  /** Source address to send from (the DNS listener's, so ACLs on the secondary match). */
  source?: string;
  /** First retry after this long, doubling up to `maxRetryMs`. Defaults 1 s and 60 s. */
  retryMs?: number;
  maxRetryMs?: number;
  logger?: { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void };
  /** Called on every send, acknowledgement and error reply (metrics). */
  onEvent?: (event: 'sent' | 'acked' | 'error' | 'retry', target: NotifyTarget) => void;
}

interface Pending {
  target: NotifyTarget;
  serial: number;
  id: number;
  mac: Buffer | null;
  attempts: number;
  timer: NodeJS.Timeout | null;
}

/** Builds a NOTIFY request: opcode 4, AA, question zone/SOA, the new SOA in the answer section (RFC 1996 3.7). */
export function notifyMessage(index: ZoneIndex, id: number, serial: number): Buffer {
  const w = new Writer(512);
  w.u16(id);
  w.u8((4 << 3) | 0x04); // opcode NOTIFY, AA
  w.u8(0);
  w.u16(1);
  w.u16(1);
  w.u16(0);
  w.u16(0);
  w.name(index.zone);
  w.u16(TYPE.SOA);
  w.u16(CLASS_IN);
  const soa = index.config.soa;
  const at = w.rrHeader(index.zone, TYPE.SOA, soa.ttl);
  w.name(soa.mname);
  w.name(soa.rname);
  w.u32(serial);
  w.u32(soa.refresh);
  w.u32(soa.retry);
  w.u32(soa.expire);
  w.u32(soa.minimum);
  w.endRdata(at);
  return w.result();
}

export class Notifier {
  private readonly sockets = new Map<string, dgram.Socket>();
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(private readonly opts: NotifyOptions) {}

  private keyOf(t: NotifyTarget): string {
    return `${t.host}#${t.port}`;
  }

  private socket(family: 'udp4' | 'udp6'): dgram.Socket {
    let s = this.sockets.get(family);
    if (!s) {
      const sock = dgram.createSocket(family);
      sock.on('message', (m, rinfo) => this.onReply(m, rinfo));
      sock.on('error', (err) => this.opts.logger?.warn({ err }, 'notify socket error'));
      const src = this.opts.source;
      const srcOk = src && src !== '0.0.0.0' && src !== '::' && isIPv6(src) === (family === 'udp6');
      sock.bind(0, srcOk ? src : undefined);
      sock.unref();
      this.sockets.set(family, sock);
      s = sock;
    }
    return s;
  }

  /** Announces `serial` to every target (call on each serial change). */
  notify(serial: number): void {
    if (this.closed) return;
    for (const target of this.opts.targets) {
      const k = this.keyOf(target);
      const old = this.pending.get(k);
      if (old?.timer) clearTimeout(old.timer);
      const p: Pending = { target, serial: serial >>> 0, id: randomInt(0, 65536), mac: null, attempts: 0, timer: null };
      this.pending.set(k, p);
      this.send(p);
    }
  }

  /** Serials still waiting for an acknowledgement, by target (tests, status). */
  outstanding(): { target: NotifyTarget; serial: number; attempts: number }[] {
    return [...this.pending.values()].map((p) => ({ target: p.target, serial: p.serial, attempts: p.attempts }));
  }

  private send(p: Pending): void {
    if (this.closed || this.pending.get(this.keyOf(p.target)) !== p) return;
    let msg = notifyMessage(this.opts.index, p.id, p.serial);
    if (p.target.key) {
      const key = this.opts.keys?.find((k) => k.name === p.target.key);
      if (key) {
        const signed = signRequest(msg, key);
        msg = signed.message;
        p.mac = signed.mac;
      }
    }
    p.attempts++;
    this.opts.onEvent?.(p.attempts === 1 ? 'sent' : 'retry', p.target);
    this.socket(isIPv6(p.target.host) ? 'udp6' : 'udp4').send(msg, p.target.port, p.target.host);
    const base = this.opts.retryMs ?? 1000;
    const delay = Math.min(this.opts.maxRetryMs ?? 60_000, base * 2 ** Math.min(p.attempts - 1, 16));
    p.timer = setTimeout(() => this.send(p), delay);
    p.timer.unref();
  }

  private onReply(m: Buffer, rinfo: dgram.RemoteInfo): void {
    if (m.length < 12) return;
    const id = m.readUInt16BE(0);
    const qr = (m[2] as number) & 0x80;
    const opcode = ((m[2] as number) >> 3) & 0x0f;
    if (!qr || opcode !== 4) return;
    for (const [k, p] of this.pending) {
      if (p.id !== id || p.target.port !== rinfo.port || rinfo.address.replace(/^::ffff:/, '') !== p.target.host.replace(/^::ffff:/, '')) continue;
      if (p.mac && p.target.key) {
        const key = this.opts.keys?.find((kk) => kk.name === p.target.key);
        if (key && !verifyReply(m, key, p.mac)) {
          this.opts.logger?.warn({ target: k, serial: p.serial }, 'NOTIFY reply without a valid TSIG; retrying');
          return;
        }
      }
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(k);
      const rcode = (m[3] as number) & 0x0f;
      if (rcode === 0) {
        this.opts.onEvent?.('acked', p.target);
        this.opts.logger?.info({ target: k, serial: p.serial, attempts: p.attempts }, 'NOTIFY acknowledged');
      } else {
        // An error reply is an answer: retrying would get the same one.
        this.opts.onEvent?.('error', p.target);
        this.opts.logger?.warn({ target: k, serial: p.serial, rcode }, 'NOTIFY refused by the secondary');
      }
      return;
    }
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    this.pending.clear();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}

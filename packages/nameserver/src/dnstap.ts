/**
 * dnstap (dnstap.info, the query log NSD, Knot, Unbound and CoreDNS write): one AUTH_QUERY and
 * one AUTH_RESPONSE message per exchange, sent over Frame Streams (fstrm.ts) to a collector.
 *
 * The protobuf is encoded by hand, straight into the Frame Streams buffer: only the fields of
 * dnstap.proto (github.com/dnstap/dnstap.pb) an authoritative server fills, in field order.
 *
 *   Dnstap   1 identity (bytes)  2 version (bytes)  14 message (Message)  15 type (enum, MESSAGE = 1)
 *   Message  1 type (AUTH_QUERY 1, AUTH_RESPONSE 2)  2 socket_family (INET 1, INET6 2)
 *            3 socket_protocol (UDP 1, TCP 2)  4 query_address  5 response_address (4 or 16 octets)
 *            6 query_port  7 response_port  8 query_time_sec (uint64)  9 query_time_nsec (fixed32)
 *            10 query_message  12 response_time_sec  13 response_time_nsec  14 response_message
 *
 * Nothing here runs unless --dnstap-socket is set: the transports hold `null` instead of a
 * DnstapLog and test it once per message.
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { FrameStreamWriter, type FrameStreamOptions } from './fstrm.js';

export const DNSTAP_CONTENT_TYPE = 'protobuf:dnstap.Dnstap';
export const AUTH_QUERY = 1;
export const AUTH_RESPONSE = 2;
export const SOCKET_UDP = 1;
export const SOCKET_TCP = 2;
const INET = 1;
const INET6 = 2;

export interface DnstapOptions {
  /** The collector's unix socket (fstrm_capture -u, dnstap-receiver, Vector, …). */
  socketPath: string;
  /** Dnstap.identity; default the host name (as NSD and Knot). */
  identity?: string;
  /** Dnstap.version; default "fedns". */
  version?: string;
  /** Frames waiting for the collector, at most (then dropped and counted). */
  maxQueuedFrames?: number;
  /** Octets waiting for the collector, at most. */
  maxQueuedBytes?: number;
}

/** One end of an exchange as dnstap writes it: the address as 4 or 16 octets, or none. */
export interface Endpoint {
  address: Buffer | null;
  port: number;
}

function varintLen(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

function varint(buf: Buffer, off: number, v: number): number {
  while (v >= 0x80) {
    buf[off++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[off++] = v;
  return off;
}

/** `tag` then a length-delimited byte string. */
function bytesField(buf: Buffer, off: number, tag: number, b: Buffer): number {
  buf[off++] = tag;
  off = varint(buf, off, b.length);
  return off + b.copy(buf, off);
}

/** The IPv4 or IPv6 text form of an address as its 4 or 16 octets; null if it is neither. */
export function addressBytes(text: string): Buffer | null {
  const out = Buffer.alloc(text.includes(':') ? 16 : 4);
  return (out.length === 4 ? ipv4(text, out, 0) : ipv6(text, out)) ? out : null;
}

/** Writes dotted-quad `s` at `out[off..off+4)`; false if `s` is not one. */
function ipv4(s: string, out: Buffer, off: number): boolean {
  let octet = 0;
  let digits = 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || n === 3) return false;
      out[off + n++] = octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + c - 48;
      digits++;
      if (octet > 255) return false;
    } else return false;
  }
  if (digits === 0 || n !== 3) return false;
  out[off + 3] = octet;
  return true;
}

function ipv6(text: string, out: Buffer): boolean {
  const s = text.split('%')[0] as string; // a zone index (fe80::1%eth0) is not part of the address
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  const all = [...head, ...tail];
  const last = all.at(-1) ?? '';
  const v4 = last.includes('.');
  const words = all.length + (v4 ? 1 : 0);
  if (halves.length === 1 ? words !== 8 : words > 7) return false;
  const write = (list: string[], at: number): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i] as string;
      if (g.includes('.')) {
        if (at + i * 2 !== 12 || !ipv4(g, out, 12)) return false;
      } else if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      else out.writeUInt16BE(Number.parseInt(g, 16), at + i * 2);
    }
    return true;
  };
  return write(head, 0) && write(tail, 16 - (tail.length + (tail.at(-1)?.includes('.') ? 1 : 0)) * 2);
}

/**
 * Encodes Dnstap messages into a FrameStreamWriter. One per DNS server (per worker process).
 * `udp`/`tcp` log an exchange: the query (AUTH_QUERY) and, if one was sent, the reply
 * (AUTH_RESPONSE), both stamped with the time of the call.
 */
export class DnstapLog {
  readonly writer: FrameStreamWriter;
  /** identity and version fields, the same in every message. */
  private readonly head: Buffer;
  private readonly udpServer: Endpoint;
  /** The client address of the last UDP message: most bursts come from few clients. */
  private lastIp = '';
  private lastIpBytes: Buffer | null = null;

  constructor(opts: DnstapOptions, server: { address: string; udpPort: number }, fstrm: Omit<FrameStreamOptions, 'path' | 'contentType'> = {}) {
    const identity = Buffer.from(opts.identity ?? hostname());
    const version = Buffer.from(opts.version ?? 'fedns');
    this.head = Buffer.alloc(2 + varintLen(identity.length) + identity.length + varintLen(version.length) + version.length);
    bytesField(this.head, bytesField(this.head, 0, 0x0a, identity), 0x12, version);
    // A wildcard bind (0.0.0.0, ::) does not tell which of the host's addresses a query reached.
    const unspecified = server.address === '0.0.0.0' || server.address === '::' || server.address === '';
    this.udpServer = { address: unspecified ? null : addressBytes(server.address), port: server.udpPort };
    this.writer = new FrameStreamWriter({
      ...fstrm,
      path: opts.socketPath,
      contentType: DNSTAP_CONTENT_TYPE,
      ...(opts.maxQueuedFrames ? { maxQueuedFrames: opts.maxQueuedFrames } : {}),
      ...(opts.maxQueuedBytes ? { maxQueuedBytes: opts.maxQueuedBytes } : {}),
    });
  }

  /** A UDP exchange: `reply` null when none was sent (dropped, rate-limited). */
  udp(query: Buffer, reply: Buffer | null, address: string, port: number): void {
    if (address !== this.lastIp) {
      this.lastIp = address;
      this.lastIpBytes = addressBytes(address);
    }
    const client = this.lastIpBytes;
    if (client === null) return;
    const t = now();
    this.frame(AUTH_QUERY, SOCKET_UDP, client, port, this.udpServer, t, query);
    if (reply !== null) this.frame(AUTH_RESPONSE, SOCKET_UDP, client, port, this.udpServer, t, reply);
  }

  /** A TCP exchange on a connection whose ends `tcpPeer` described; `query` null for a transfer's later messages. */
  tcp(query: Buffer | null, reply: Buffer | null, peer: TcpPeer): void {
    if (peer.client === null) return;
    const t = now();
    if (query !== null) this.frame(AUTH_QUERY, SOCKET_TCP, peer.client, peer.clientPort, peer.server, t, query);
    if (reply !== null) this.frame(AUTH_RESPONSE, SOCKET_TCP, peer.client, peer.clientPort, peer.server, t, reply);
  }

  /** The ends of a TCP connection, worked out once per connection. */
  tcpPeer(remote: string | undefined, remotePort: number | undefined, local: string | undefined, localPort: number | undefined): TcpPeer {
    const client = remote ? addressBytes(remote) : null;
    const server = local ? addressBytes(local) : null;
    return { client, clientPort: remotePort ?? 0, server: { address: server && client && server.length === client.length ? server : null, port: localPort ?? 0 } };
  }

  /** Sends STOP to the collector (waiting briefly for its FINISH) and stops reconnecting. */
  close(): Promise<void> {
    return this.writer.close();
  }

  /** Encodes one Dnstap message as one frame (dropped, and counted, when the writer is full). */
  private frame(type: number, protocol: number, client: Buffer, clientPort: number, server: Endpoint, t: number, dns: Buffer): void {
    const sec = Math.floor(t / 1000);
    const nsec = Math.floor((t - sec * 1000) * 1e6);
    const alen = client.length;
    const saddr = server.address;
    let m = 6 + 2 + alen + (saddr !== null ? 2 + alen : 0) + 1 + varintLen(clientPort) + 1 + varintLen(server.port) + 1 + varintLen(sec) + 5;
    m += type === AUTH_QUERY ? 1 + varintLen(dns.length) + dns.length : 1 + varintLen(sec) + 5 + 1 + varintLen(dns.length) + dns.length;
    const d = this.head.length + 1 + varintLen(m) + m + 2;
    const w = this.writer;
    let o = w.reserve(4 + d);
    if (o < 0) return;
    const b = w.buf;
    b.writeUInt32BE(d, o);
    o += 4;
    o += this.head.copy(b, o);
    b[o++] = 0x72; // 14: message
    o = varint(b, o, m);
    b[o++] = 0x08; // 1: type
    b[o++] = type;
    b[o++] = 0x10; // 2: socket_family
    b[o++] = alen === 4 ? INET : INET6;
    b[o++] = 0x18; // 3: socket_protocol
    b[o++] = protocol;
    o = bytesField(b, o, 0x22, client); // 4: query_address
    if (saddr !== null) o = bytesField(b, o, 0x2a, saddr); // 5: response_address
    b[o++] = 0x30; // 6: query_port
    o = varint(b, o, clientPort);
    b[o++] = 0x38; // 7: response_port
    o = varint(b, o, server.port);
    b[o++] = 0x40; // 8: query_time_sec
    o = varint(b, o, sec);
    b[o++] = 0x4d; // 9: query_time_nsec, fixed32
    o = b.writeUInt32LE(nsec, o);
    if (type === AUTH_QUERY) {
      o = bytesField(b, o, 0x52, dns); // 10: query_message
    } else {
      b[o++] = 0x60; // 12: response_time_sec
      o = varint(b, o, sec);
      b[o++] = 0x6d; // 13: response_time_nsec
      o = b.writeUInt32LE(nsec, o);
      o = bytesField(b, o, 0x72, dns); // 14: response_message
    }
    b[o++] = 0x78; // 15: type = MESSAGE
    b[o] = 1;
  }
}

export interface TcpPeer {
  client: Buffer | null;
  clientPort: number;
  server: Endpoint;
}

/** Wall-clock milliseconds with sub-millisecond precision. */
const now = (): number => performance.timeOrigin + performance.now();

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
import { addressBytes } from './acl.js';
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

/** Octets of a varint; every value written here (lengths, ports, seconds until 2106) is below 2^32. */
const varintLen = (v: number): number => (v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5);

function varint(buf: Buffer, off: number, v: number): number {
  while (v > 0x7f) {
    buf[off++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[off++] = v;
  return off;
}

/** A fixed32 field's value: little-endian. */
function fixed32(buf: Buffer, off: number, v: number): number {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = v >>> 24;
  return off + 4;
}

/** `tag` then a length-delimited byte string. */
function bytesField(buf: Buffer, off: number, tag: number, b: Buffer): number {
  buf[off++] = tag;
  const n = b.length;
  off = varint(buf, off, n);
  // An address by hand; a message with TypedArray.set (Buffer.copy costs more for short copies).
  if (n <= 16) for (let i = 0; i < n; i++) buf[off + i] = b[i] as number;
  else buf.set(b, off);
  return off + n;
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

  constructor(opts: DnstapOptions, server: { address: string; udpPort: number }, fstrm: Omit<FrameStreamOptions, 'path' | 'contentType'> = {}) {
    this.head = dnstapHead(opts.identity ?? hostname(), opts.version ?? 'fedns');
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
    // A collector behind by the whole bound: count, and skip the address, the clock and the encoding.
    if (this.writer.full) {
      this.writer.drop(reply === null ? 1 : 2);
      return;
    }
    // Cached per address (acl.ts); an IPv4-mapped IPv6 address is logged as the IPv4 address it is.
    const client = addressBytes(address);
    if (client === null) return;
    const t = now();
    encodeFrame(this.writer, this.head, AUTH_QUERY, SOCKET_UDP, client, port, this.udpServer, t, query);
    if (reply !== null) encodeFrame(this.writer, this.head, AUTH_RESPONSE, SOCKET_UDP, client, port, this.udpServer, t, reply);
  }

  /** A TCP exchange on a connection whose ends `tcpPeer` described; `query` null for a transfer's later messages. */
  tcp(query: Buffer | null, reply: Buffer | null, peer: TcpPeer): void {
    if (peer.client === null) return;
    if (this.writer.full) {
      this.writer.drop((query === null ? 0 : 1) + (reply === null ? 0 : 1));
      return;
    }
    const t = now();
    if (query !== null) encodeFrame(this.writer, this.head, AUTH_QUERY, SOCKET_TCP, peer.client, peer.clientPort, peer.server, t, query);
    if (reply !== null) encodeFrame(this.writer, this.head, AUTH_RESPONSE, SOCKET_TCP, peer.client, peer.clientPort, peer.server, t, reply);
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
}

/** Where frames are encoded: `reserve(n)` gives the offset of n octets in `buf`, or -1 (dropped). */
export interface FrameSink {
  readonly buf: Buffer;
  reserve(n: number): number;
}

/**
 * Encodes one Dnstap message as one Frame Streams data frame (a 32-bit length, then the
 * protobuf) into `w`. `head` holds the identity and version fields; `t` is wall-clock ms.
 */
export function encodeFrame(w: FrameSink, head: Buffer, type: number, protocol: number, client: Buffer, clientPort: number, server: Endpoint, t: number, dns: Buffer): void {
  const sec = Math.floor(t / 1000);
  const nsec = Math.floor((t - sec * 1000) * 1e6);
  const alen = client.length;
  const saddr = server.address;
  let m = 6 + 2 + alen + (saddr !== null ? 2 + alen : 0) + 1 + varintLen(clientPort) + 1 + varintLen(server.port) + 1 + varintLen(sec) + 5;
  m += type === AUTH_QUERY ? 1 + varintLen(dns.length) + dns.length : 1 + varintLen(sec) + 5 + 1 + varintLen(dns.length) + dns.length;
  const d = head.length + 1 + varintLen(m) + m + 2;
  let o = w.reserve(4 + d);
  if (o < 0) return;
  const b = w.buf;
  b[o++] = d >>> 24; // the frame's length, big-endian
  b[o++] = (d >>> 16) & 0xff;
  b[o++] = (d >>> 8) & 0xff;
  b[o++] = d & 0xff;
  b.set(head, o);
  o += head.length;
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
  o = fixed32(b, o, nsec);
  if (type === AUTH_QUERY) {
    o = bytesField(b, o, 0x52, dns); // 10: query_message
  } else {
    b[o++] = 0x60; // 12: response_time_sec
    o = varint(b, o, sec);
    b[o++] = 0x6d; // 13: response_time_nsec
    o = fixed32(b, o, nsec);
    o = bytesField(b, o, 0x72, dns); // 14: response_message
  }
  b[o++] = 0x78; // 15: type = MESSAGE
  b[o] = 1;
}

/** identity (1) and version (2), the fields every message of a server starts with. */
export function dnstapHead(identity: string, version: string): Buffer {
  const id = Buffer.from(identity);
  const v = Buffer.from(version);
  const head = Buffer.alloc(2 + varintLen(id.length) + id.length + varintLen(v.length) + v.length);
  bytesField(head, bytesField(head, 0, 0x0a, id), 0x12, v);
  return head;
}

export interface TcpPeer {
  client: Buffer | null;
  clientPort: number;
  server: Endpoint;
}

/** Wall-clock milliseconds with sub-millisecond precision. */
const now = (): number => performance.timeOrigin + performance.now();

/** UDP and TCP (RFC 7766) transports around the answerQuery core. */
import dgram from 'node:dgram';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { type QueryInfo, type RespondContext, SLOW_PATH, respond } from './answer.js';
import type { ClientLocator } from './client-location.js';
import type { ClusterView } from './cluster-view.js';
import { type CookieOptions, ServerCookies } from './cookies.js';
import { DnstapLog, type DnstapOptions, type TcpPeer } from './dnstap.js';
import { DnsMetrics } from './metrics.js';
import { RRL_SEND, RRL_SLIP, RateLimiter, type RrlOptions, slipReply } from './rrl.js';
import { type SlowOutcome, type TransferOptions, handleSlow } from './slow.js';
import type { ZoneIndex } from './zone-index.js';

type LogFn = (...args: unknown[]) => void;

export interface DnsServerOptions {
  index: ZoneIndex;
  /** 'host:port' ('[::1]:53' for IPv6); port 0 picks a port free for both UDP and TCP. */
  listen: string;
  /** Close TCP connections idle this long (RFC 7766 6.2.3). Default 10 s. */
  tcpIdleTimeoutMs?: number;
  logger?: { info: LogFn; warn: LogFn; error: LogFn };
  registry?: Registry;
  /** Metrics to count into (default: a new DnsMetrics on `registry`). */
  metrics?: DnsMetrics;
  /** Zone transfers, TSIG keys and the journal for IXFR; unset: transfers REFUSED, signed queries NOTAUTH. */
  transfers?: TransferOptions;
  /** Response rate limiting over UDP; unset or rate 0: off. */
  rrl?: RrlOptions;
  /** DNS cookies (RFC 7873/9018): on by default with a random secret; false turns them off. */
  cookies?: CookieOptions | false;
  /** Where clients are (issue 14): for answers routed by client location (ECS, else the source address). */
  locator?: ClientLocator;
  /**
   * Bind UDP and TCP with SO_REUSEPORT, so sibling worker processes (--dns-workers) each bind a
   * socket of their own on the same address and the kernel spreads queries across them.
   */
  reusePort?: boolean;
  /**
   * SO_RCVBUF/SO_SNDBUF of the UDP socket (default 4 MiB, as NSD's receive-buffer-size); the kernel
   * caps it at net.core.rmem_max / wmem_max. A full receive buffer is where a burst of queries is lost.
   */
  udpBufferBytes?: number;
  /** In-cluster answers (issue 12): private names answered to the view's networks only. */
  clusterView?: ClusterView;
  /** dnstap: a message per query and per response to a Frame Streams collector; unset: off. */
  dnstap?: DnstapOptions;
}

export interface DnsServer {
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly address: string;
  readonly metrics: DnsMetrics;
  close(): Promise<void>;
}

/**
 * UDP replies leave together at the end of the event loop's poll phase (setImmediate). libuv
 * hands the datagrams waiting on the socket (up to 32 per wake-up) to the message handler one
 * after the other; sending their replies back to back wakes a client once per burst instead of
 * once per reply, and on a busy machine a wake-up costs more than the send itself. A reply waits
 * at most for the rest of its burst to be answered; the latency metric includes that wait.
 */
class UdpReplies {
  private readonly bufs: Buffer[] = [];
  private readonly ports: number[] = [];
  private readonly addrs: string[] = [];
  private scheduled = false;
  private closed = false;
  private burstStart = 0;

  constructor(
    private readonly sock: dgram.Socket,
    private readonly onFlushed: (replies: number, seconds: number) => void,
  ) {}

  /** A datagram is being answered: the first of a burst starts its clock and schedules the flush. */
  started(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.burstStart = performance.now();
    setImmediate(this.flush);
  }

  /** Queues a reply (after `started()` in the same turn of the event loop). */
  push(reply: Buffer, port: number, address: string): void {
    this.bufs.push(reply);
    this.ports.push(port);
    this.addrs.push(address);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const n = this.bufs.length;
    try {
      if (!this.closed) for (let i = 0; i < n; i++) this.sock.send(this.bufs[i] as Buffer, this.ports[i] as number, this.addrs[i] as string);
    } catch {
      // The socket went away under us (closed after an error): these replies are lost with it.
    } finally {
      this.bufs.length = 0;
      this.ports.length = 0;
      this.addrs.length = 0;
    }
    if (n) this.onFlushed(n, (performance.now() - this.burstStart) / 1000);
  };

  /** Sends what is answered, then nothing more (the socket is closing). */
  close(): void {
    this.flush();
    this.closed = true;
  }
}

/** Largest DNS message over TCP plus its length prefix; a connection buffering more is broken. */
const MAX_TCP_FRAME = 65535 + 2;

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(listen) ?? /^([^:]*):(\d+)$/.exec(listen);
  if (!m) throw new Error(`listen address must be host:port, got "${listen}"`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port in "${listen}"`);
  return { host: m[1] || '0.0.0.0', port };
}

/** Default UDP socket buffers: room for a few thousand queries in flight (NSD's receive-buffer-size). */
export const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Replies go to the address a query came from, always an IP literal: resolve it to itself at
 * once (dgram's default defers every send by a tick to look the literal up).
 */
const literal = (address: string, family: unknown, cb: (err: null, address: string, family: unknown) => void) => cb(null, address, family);

function bindUdp(host: string, port: number, reusePort: boolean, bufferBytes?: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({
      type: net.isIPv6(host) ? 'udp6' : 'udp4',
      reusePort,
      // The bind address goes through the lookup too: keep the default for a host name.
      ...(net.isIP(host) ? { lookup: literal as never } : {}),
      ...(bufferBytes ? { recvBufferSize: bufferBytes, sendBufferSize: bufferBytes } : {}),
    });
    const onError = (err: Error) => {
      sock.close();
      reject(err);
    };
    sock.once('error', onError);
    // exclusive: never hand the bind to a node:cluster primary; with reusePort each process binds its own.
    sock.bind({ port, address: host, exclusive: true }, () => {
      sock.off('error', onError);
      resolve(sock);
    });
  });
}

function bindTcp(server: net.Server, host: string, port: number, reusePort: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ port, host, exclusive: true, reusePort }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Checks that host:port is free for both UDP and TCP, binding each without SO_REUSEPORT (so a
 * port another server holds, even one that uses SO_REUSEPORT itself, is refused), and returns
 * the port (port 0: one free for both). The probe's sockets are closed again; worker processes
 * then bind the port with `reusePort`.
 */
export async function probePort(listen: string): Promise<number> {
  const { host, port } = parseListen(listen);
  for (let attempt = 0; ; attempt++) {
    const u = await bindUdp(host, port, false);
    const chosen = u.address().port;
    const t = net.createServer();
    try {
      await bindTcp(t, host, chosen, false);
      await new Promise<void>((resolve) => t.close(() => resolve()));
      await new Promise<void>((resolve) => u.close(() => resolve()));
      return chosen;
    } catch (err) {
      u.close();
      t.close();
      if (port !== 0 || attempt >= 20) throw err;
    }
  }
}

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const { index } = opts;
  const { host, port } = parseListen(opts.listen);
  const idleMs = opts.tcpIdleTimeoutMs ?? 10_000;
  const log = opts.logger;
  const metrics = opts.metrics ?? new DnsMetrics(opts.registry);
  metrics.servedSerial(index.zone, () => index.serial);
  const sockets = new Set<net.Socket>();
  const udpInfo: QueryInfo = { qtype: -1, rcode: 0, truncated: false };
  const cookies = opts.cookies === false ? undefined : new ServerCookies(opts.cookies ?? {});
  const locator = opts.locator?.enabled ? opts.locator : undefined;
  const view = opts.clusterView ? { clusterView: opts.clusterView } : {};
  const udpCtx: RespondContext = { ...(cookies ? { cookies } : {}), ...(locator ? { locator } : {}), ...view };
  const transfers = opts.transfers ?? {};
  const rrl = opts.rrl && opts.rrl.responsesPerSecond > 0 ? new RateLimiter(opts.rrl) : null;
  /** Set once the port is bound, before any message is read; null (one test per message) when off. */
  let tap: DnstapLog | null = null;

  /** Transfers and signed messages; the reply's RCODE goes into `info`, which the query metrics count. */
  const slow = (msg: Buffer, tcp: boolean, clientIp: string, ctx: RespondContext, info: QueryInfo): Buffer[] => {
    let out: SlowOutcome;
    try {
      out = handleSlow(index, msg, tcp, clientIp, transfers, ctx);
    } catch (err) {
      log?.error({ err }, 'slow path failed');
      return [];
    }
    if (out.rcode >= 0) info.rcode = out.rcode;
    if (out.kind !== 'query') {
      metrics.recordTransfer(out.kind, out.result);
      log?.info({ client: clientIp, type: out.kind, result: out.result, serial: index.serial, messages: out.messages.length, key: out.key }, 'zone transfer');
    }
    return out.messages;
  };

  const onUdp = (out: UdpReplies) => (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    out.started();
    udpCtx.clientIp = rinfo.address;
    let reply = respond(index, msg, false, 0, udpInfo, udpCtx);
    if (reply === SLOW_PATH) reply = slow(msg, false, rinfo.address, udpCtx, udpInfo)[0] ?? null;
    if (!reply) {
      metrics.recordDrop(false);
      if (tap !== null) tap.udp(msg, null, rinfo.address, rinfo.port);
      return;
    }
    if (rrl && !udpInfo.cookieOk) {
      const an = ((reply[6] as number) << 8) | (reply[7] as number);
      const qEnd = udpInfo.qEnd ?? 0;
      const verdict = rrl.check(rinfo.address, msg, qEnd > 16 ? qEnd - 4 : 0, udpInfo.rcode, an, Date.now());
      if (verdict !== RRL_SEND) {
        metrics.recordRrl(verdict === RRL_SLIP);
        if (verdict !== RRL_SLIP) {
          if (tap !== null) tap.udp(msg, null, rinfo.address, rinfo.port);
          return;
        }
        reply = slipReply(reply, qEnd);
        udpInfo.truncated = true;
      }
    }
    // The latency is counted when the reply leaves (UdpReplies.flush).
    metrics.record(udpInfo, false, reply.length);
    out.push(reply, rinfo.port, rinfo.address);
    if (tap !== null) tap.udp(msg, reply, rinfo.address, rinfo.port);
  };

  const onConnection = (sock: net.Socket) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.setTimeout(idleMs);
    const info: QueryInfo = { qtype: -1, rcode: 0, truncated: false };
    const clientIp = sock.remoteAddress ?? '';
    const ctx: RespondContext = { ...(cookies ? { cookies } : {}), ...(locator ? { locator } : {}), clientIp, ...view };
    const peer: TcpPeer | null = tap === null ? null : tap.tcpPeer(sock.remoteAddress, sock.remotePort, sock.localAddress, sock.localPort);
    let pending: Buffer | null = null;
    sock.on('timeout', () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => sockets.delete(sock));
    sock.on('data', (chunk: Buffer) => {
      const t0 = performance.now();
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      let off = 0;
      const replies: Buffer[] = [];
      while (buf.length - off >= 2) {
        const mlen = ((buf[off] as number) << 8) | (buf[off + 1] as number);
        if (buf.length - off - 2 < mlen) break;
        const msg = buf.subarray(off + 2, off + 2 + mlen);
        off += 2 + mlen;
        const reply = respond(index, msg, true, 2, info, ctx);
        if (reply === SLOW_PATH) {
          const msgs = slow(Buffer.from(msg), true, clientIp, ctx, info);
          if (msgs.length === 0) metrics.recordDrop(true);
          if (peer !== null) {
            // A transfer: the query once, then every message of the reply.
            (tap as DnstapLog).tcp(msg, msgs[0] ?? null, peer);
            for (let i = 1; i < msgs.length; i++) (tap as DnstapLog).tcp(null, msgs[i] as Buffer, peer);
          }
          for (const m of msgs) {
            const framed = Buffer.allocUnsafe(m.length + 2);
            framed.writeUInt16BE(m.length, 0);
            m.copy(framed, 2);
            replies.push(framed);
          }
          if (msgs.length) metrics.record(info, true, msgs.reduce((n, m) => n + m.length, 0), (performance.now() - t0) / 1000);
          continue;
        }
        if (!reply) {
          metrics.recordDrop(true);
          if (peer !== null) (tap as DnstapLog).tcp(msg, null, peer);
          continue;
        }
        const rlen = reply.length - 2;
        reply[0] = rlen >> 8;
        reply[1] = rlen & 0xff;
        metrics.record(info, true, rlen, (performance.now() - t0) / 1000);
        replies.push(reply);
        if (peer !== null) (tap as DnstapLog).tcp(msg, reply.subarray(2), peer);
      }
      if (off < buf.length) {
        buf = buf.subarray(off);
        if (buf.length > MAX_TCP_FRAME) {
          sock.destroy();
          return;
        }
        pending = Buffer.from(buf); // copy: do not pin the socket's chunk
      }
      if (replies.length) {
        const ok = sock.write(replies.length === 1 ? (replies[0] as Buffer) : Buffer.concat(replies));
        if (!ok) {
          // Back-pressure: stop reading until the client drains its replies.
          sock.pause();
          sock.once('drain', () => sock.resume());
        }
      }
    });
  };

  // Bind UDP and TCP on the same port; with port 0, retry until a port is free for both.
  let udp: dgram.Socket | undefined;
  let tcp: net.Server | undefined;
  const reusePort = opts.reusePort === true;
  const bufferBytes = opts.udpBufferBytes ?? UDP_BUFFER_BYTES;
  for (let attempt = 0; ; attempt++) {
    const u = await bindUdp(host, port, reusePort, bufferBytes);
    const chosen = u.address().port;
    const t = net.createServer(onConnection);
    try {
      await bindTcp(t, host, chosen, reusePort);
      udp = u;
      tcp = t;
      break;
    } catch (err) {
      u.close();
      t.close();
      if (port !== 0 || attempt >= 20) throw err;
    }
  }
  if (opts.dnstap) tap = new DnstapLog(opts.dnstap, { address: host, udpPort: udp.address().port }, { onCount: (sent, dropped) => metrics.recordDnstap(sent, dropped), ...(log ? { logger: log } : {}) });
  const udpOut = new UdpReplies(udp, (n, seconds) => metrics.recordLatency(false, seconds, n));
  udp.on('message', onUdp(udpOut));
  udp.on('error', (err) => log?.error({ err }, 'dns udp socket error'));
  tcp.on('error', (err) => log?.error({ err }, 'dns tcp server error'));
  const udpPort = udp.address().port;
  const tcpAddr = tcp.address() as net.AddressInfo;
  // Linux reports twice the size it grants; less than asked means net.core.rmem_max capped it.
  const granted = udp.getRecvBufferSize();
  if (granted < bufferBytes) {
    log?.warn({ asked: bufferBytes, granted, sysctl: 'net.core.rmem_max' }, 'the UDP receive buffer is smaller than asked: a burst of queries larger than it fits is dropped by the kernel; raise net.core.rmem_max');
  }
  log?.info({ address: host, port: udpPort, zone: index.zone, reusePort, udpReceiveBuffer: granted, dnstap: opts.dnstap?.socketPath ?? 'off' }, 'dns server listening (udp+tcp)');

  let closed = false;
  return {
    udpPort,
    tcpPort: tcpAddr.port,
    address: host,
    metrics,
    close: async () => {
      if (closed) return;
      closed = true;
      const tcpClosed = new Promise<void>((resolve) => (tcp as net.Server).close(() => resolve()));
      for (const s of sockets) s.destroy();
      udpOut.close();
      await new Promise<void>((resolve) => (udp as dgram.Socket).close(() => resolve()));
      await tcpClosed;
      await tap?.close();
    },
  };
}

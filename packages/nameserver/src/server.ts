/** UDP and TCP (RFC 7766) transports around the answerQuery core. */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Registry } from 'prom-client';
import { type QueryInfo, respond } from './answer.js';
import { DnsMetrics } from './metrics.js';
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
}

export interface DnsServer {
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly address: string;
  close(): Promise<void>;
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

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
    const onError = (err: Error) => {
      sock.close();
      reject(err);
    };
    sock.once('error', onError);
    sock.bind(port, host, () => {
      sock.off('error', onError);
      resolve(sock);
    });
  });
}

function bindTcp(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const { index } = opts;
  const { host, port } = parseListen(opts.listen);
  const idleMs = opts.tcpIdleTimeoutMs ?? 10_000;
  const log = opts.logger;
  const metrics = new DnsMetrics(opts.registry);
  const sockets = new Set<net.Socket>();
  const udpInfo: QueryInfo = { qtype: -1, rcode: 0, truncated: false };

  const onUdp = (udp: dgram.Socket) => (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    const reply = respond(index, msg, false, 0, udpInfo);
    if (!reply) {
      metrics.recordDrop(false);
      return;
    }
    metrics.record(udpInfo, false, reply.length);
    udp.send(reply, rinfo.port, rinfo.address);
  };

  const onConnection = (sock: net.Socket) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.setTimeout(idleMs);
    const info: QueryInfo = { qtype: -1, rcode: 0, truncated: false };
    let pending: Buffer | null = null;
    sock.on('timeout', () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => sockets.delete(sock));
    sock.on('data', (chunk: Buffer) => {
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      let off = 0;
      const replies: Buffer[] = [];
      while (buf.length - off >= 2) {
        const mlen = ((buf[off] as number) << 8) | (buf[off + 1] as number);
        if (buf.length - off - 2 < mlen) break;
        const msg = buf.subarray(off + 2, off + 2 + mlen);
        off += 2 + mlen;
        const reply = respond(index, msg, true, 2, info);
        if (!reply) {
          metrics.recordDrop(true);
          continue;
        }
        const rlen = reply.length - 2;
        reply[0] = rlen >> 8;
        reply[1] = rlen & 0xff;
        metrics.record(info, true, rlen);
        replies.push(reply);
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
  for (let attempt = 0; ; attempt++) {
    const u = await bindUdp(host, port);
    const chosen = u.address().port;
    const t = net.createServer(onConnection);
    try {
      await bindTcp(t, host, chosen);
      udp = u;
      tcp = t;
      break;
    } catch (err) {
      u.close();
      t.close();
      if (port !== 0 || attempt >= 20) throw err;
    }
  }
  udp.on('message', onUdp(udp));
  udp.on('error', (err) => log?.error({ err }, 'dns udp socket error'));
  tcp.on('error', (err) => log?.error({ err }, 'dns tcp server error'));
  const udpPort = udp.address().port;
  const tcpAddr = tcp.address() as net.AddressInfo;
  log?.info({ address: host, port: udpPort, zone: index.zone }, 'dns server listening (udp+tcp)');

  let closed = false;
  return {
    udpPort,
    tcpPort: tcpAddr.port,
    address: host,
    close: async () => {
      if (closed) return;
      closed = true;
      const tcpClosed = new Promise<void>((resolve) => (tcp as net.Server).close(() => resolve()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => (udp as dgram.Socket).close(() => resolve()));
      await tcpClosed;
    },
  };
}

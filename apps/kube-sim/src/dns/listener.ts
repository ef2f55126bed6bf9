/**
 * The cluster DNS's sockets: UDP and TCP (length-prefixed, pipelined) on one loopback port, and
 * the server around the plugin chains: a query goes to the block with the longest zone that
 * contains its name (none: REFUSED); a chain that answers nothing, or fails, is SERVFAIL; an
 * undecodable query FORMERR; an opcode other than QUERY NOTIMP. UDP replies larger than the
 * client allows go out truncated (TC), and the client asks again over TCP.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { DnsRequest } from './plugin.js';
import { type RunnableConfig, runChain, selectBlock } from './server-blocks.js';
import { decode, encode, type Message, RC, replyTo, udpLimit } from './wire.js';

export interface DnsListener {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

function headerOnly(raw: Buffer, rcode: number): Buffer | null {
  if (raw.length < 12 || (raw[2] as number) & 0x80) return null;
  const out = Buffer.alloc(12);
  raw.copy(out, 0, 0, 2);
  out[2] = 0x80 | ((raw[2] as number) & 0x79);
  out[3] = 0x80 | rcode;
  return out;
}

/** One query through the configuration in force; null = no reply (a response, or garbage). */
export async function handleQuery(config: () => RunnableConfig | undefined, raw: Buffer, proto: 'udp' | 'tcp', client: string): Promise<Buffer | null> {
  let req: Message;
  try {
    req = decode(raw);
  } catch {
    return headerOnly(raw, RC.FORMERR);
  }
  if (req.qr) return null;
  if (req.opcode !== 0) return headerOnly(raw, RC.NOTIMP);
  const q = req.questions[0];
  if (!q || req.questions.length !== 1) return headerOnly(raw, RC.FORMERR);
  const limit = proto === 'udp' ? udpLimit(req) : 65535;
  const cfg = config();
  if (!cfg) return encode(replyTo(req, RC.SERVFAIL), limit);
  const block = selectBlock(cfg, q.name);
  if (!block) return encode(replyTo(req, RC.REFUSED), limit);
  let res: Message | undefined;
  try {
    const r: DnsRequest = { msg: req, proto, client };
    res = await runChain(block, r);
  } catch {
    res = undefined;
  }
  if (!res) res = replyTo(req, RC.SERVFAIL);
  res.id = req.id;
  res.qr = true;
  return encode(res, limit);
}

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(port, host, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

function bindTcp(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Binds UDP and TCP on one port (port 0: a port free for both). */
export async function listen(host: string, port: number, config: () => RunnableConfig | undefined): Promise<DnsListener> {
  const sockets = new Set<Socket>();
  const onConnection = (sock: Socket) => {
    sockets.add(sock);
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => sockets.delete(sock));
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void handleQuery(config, Buffer.from(msg), 'tcp', sock.remoteAddress ?? '').then((reply) => {
          if (!reply || sock.destroyed) return;
          const framed = Buffer.alloc(reply.length + 2);
          framed.writeUInt16BE(reply.length, 0);
          reply.copy(framed, 2);
          sock.write(framed);
        });
      }
    });
  };
  let udp: UdpSocket | undefined;
  let tcp: Server | undefined;
  for (let attempt = 0; ; attempt++) {
    const u = await bindUdp(host, port);
    const t = createServer(onConnection);
    try {
      await bindTcp(t, host, u.address().port);
      udp = u;
      tcp = t;
      break;
    } catch (err) {
      u.close();
      t.close();
      if (port !== 0 || attempt > 20) throw err;
    }
  }
  const u = udp;
  u.on('message', (msg, rinfo) => {
    void handleQuery(config, msg, 'udp', rinfo.address).then((reply) => {
      if (reply) u.send(reply, rinfo.port, rinfo.address);
    });
  });
  u.on('error', () => {});
  const bound = u.address().port;
  const server = tcp;
  return {
    host,
    port: bound,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => u.close(() => r()));
    },
  };
}

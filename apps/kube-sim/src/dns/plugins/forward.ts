/**
 * forward, as CoreDNS documents it: `forward FROM TO… { except NAMES…; force_tcp; prefer_udp;
 * policy random|round_robin|sequential; max_concurrent N; read_timeout D; … }`. A query under
 * FROM (and not under an `except` name) is sent as it is — after any rewrite — to an upstream,
 * over the protocol the client used (TCP with force_tcp; UDP first with prefer_udp, then TCP when
 * truncated), and the upstream's answer is passed back as it came: a CNAME is never chased, so
 * the answer is only as complete as the upstream made it. A network error or timeout (2 s) tries
 * the next upstream; when every one failed the query gets SERVFAIL. `/etc/resolv.conf` stands for
 * the node's resolvers (the cluster's `resolvConf` option; none by default: SERVFAIL).
 */
import { createSocket } from 'node:dgram';
import { isIP, Socket } from 'node:net';
import type { Directive } from '../corefile.js';
import { type DnsRequest, type Next, type Plugin, SetupError, type SetupContext } from '../plugin.js';
import { canonical, decode, encode, inZone, type Message, RC, replyTo } from '../wire.js';

interface Upstream {
  host: string;
  port: number;
}

function parseUpstream(d: Directive, text: string): Upstream {
  const t = text.replace(/^dns:\/\//, '');
  if (/^(tls|https|grpc):\/\//.test(t)) throw new SetupError(d, `${text}: only plain DNS upstreams are simulated`);
  let host = t;
  let port = 53;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) {
    host = v6[1] as string;
    port = v6[2] ? Number(v6[2]) : 53;
  } else if (t.includes(':') && isIP(t) !== 6) {
    const i = t.lastIndexOf(':');
    host = t.slice(0, i);
    port = Number(t.slice(i + 1));
  }
  if (isIP(host) === 0) throw new SetupError(d, `${text}: not an IP address (hostnames are not simulated)`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SetupError(d, `${text}: bad port`);
  return { host, port };
}

function exchangeUdp(u: Upstream, wire: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIP(u.host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('timeout'));
    }, timeoutMs);
    sock.once('error', (err) => {
      clearTimeout(timer);
      sock.close();
      reject(err);
    });
    sock.on('message', (msg) => {
      if (msg.length < 2 || msg.readUInt16BE(0) !== wire.readUInt16BE(0)) return;
      clearTimeout(timer);
      sock.close();
      resolve(msg);
    });
    sock.send(wire, u.port, u.host);
  });
}

function exchangeTcp(u: Upstream, wire: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, msg?: Buffer) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(msg as Buffer);
    };
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    sock.once('error', (err) => done(err));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(null, buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    sock.connect(u.port, u.host, () => {
      const framed = Buffer.alloc(wire.length + 2);
      framed.writeUInt16BE(wire.length, 0);
      wire.copy(framed, 2);
      sock.write(framed);
    });
  });
}

export function setupForward(d: Directive, ctx: SetupContext): Plugin {
  const [from, ...to] = d.args;
  if (!from || to.length === 0) throw new SetupError(d, 'forward needs FROM and at least one TO');
  const base = canonical(from);
  const upstreams: Upstream[] = [];
  for (const t of to) {
    if (t === '/etc/resolv.conf') for (const r of ctx.resolvConf) upstreams.push(parseUpstream(d, r));
    else upstreams.push(parseUpstream(d, t));
  }
  if (upstreams.length > 15) throw new SetupError(d, 'more than 15 upstreams');
  let except: string[] = [];
  let forceTcp = false;
  let preferUdp = false;
  let policy = 'random';
  let readTimeoutMs = 2000;
  let maxConcurrent = 0;
  for (const l of d.block ?? []) {
    switch (l.name) {
      case 'except':
        except = l.args.map(canonical);
        break;
      case 'force_tcp':
        forceTcp = true;
        break;
      case 'prefer_udp':
        preferUdp = true;
        break;
      case 'policy':
        if (!['random', 'round_robin', 'sequential'].includes(l.args[0] ?? '')) throw new SetupError(l, `unknown policy ${l.args[0]}`);
        policy = l.args[0] as string;
        break;
      case 'read_timeout': {
        const m = /^(\d+)(ms|s)$/.exec(l.args[0] ?? '');
        if (!m) throw new SetupError(l, 'read_timeout needs a duration');
        readTimeoutMs = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
        break;
      }
      case 'max_concurrent':
        maxConcurrent = Number(l.args[0]);
        if (!Number.isInteger(maxConcurrent) || maxConcurrent < 0) throw new SetupError(l, 'max_concurrent needs a number');
        break;
      case 'expire':
      case 'max_fails':
      case 'health_check':
      case 'max_idle_conns':
      case 'max_connect_attempts':
        break; // connection reuse and health checking: no effect on what is answered
      default:
        throw new SetupError(l, `forward option "${l.name}" is not simulated by kube-sim`);
    }
  }
  let rr = 0;
  let inFlight = 0;
  const order = (): Upstream[] => {
    if (policy === 'sequential') return [...upstreams];
    if (policy === 'round_robin') {
      const start = rr++ % upstreams.length;
      return [...upstreams.slice(start), ...upstreams.slice(0, start)];
    }
    return [...upstreams].sort(() => Math.random() - 0.5);
  };
  return {
    name: 'forward',
    async serve(req: DnsRequest, next: Next) {
      const q = req.msg.questions[0];
      const qname = q ? canonical(q.name) : '.';
      if (!inZone(qname, base) || except.some((e) => inZone(qname, e))) return next(req);
      if (upstreams.length === 0) return replyTo(req.msg, RC.SERVFAIL);
      if (maxConcurrent > 0 && inFlight >= maxConcurrent) return replyTo(req.msg, RC.REFUSED);
      inFlight++;
      try {
        const wire = encode(req.msg);
        for (const u of order()) {
          try {
            let raw: Buffer;
            if (forceTcp || (req.proto === 'tcp' && !preferUdp)) raw = await exchangeTcp(u, wire, readTimeoutMs);
            else {
              raw = await exchangeUdp(u, wire, readTimeoutMs);
              if (preferUdp && (raw[2] as number) & 0x02) raw = await exchangeTcp(u, wire, readTimeoutMs);
            }
            const res: Message = decode(raw);
            res.id = req.msg.id;
            return res;
          } catch {
            // the next upstream
          }
        }
        return replyTo(req.msg, RC.SERVFAIL);
      } finally {
        inFlight--;
      }
    },
  };
}

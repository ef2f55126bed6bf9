/**
 * The floor of a Node.js UDP server, for `bench:dns` (FLOOR=1): binds like a fedns DNS worker
 * (SO_REUSEPORT, 4 MiB buffers, replies sent per burst) and answers every query with a copy of
 * itself with QR set — no parsing, no lookup, no metrics. What it reaches is what Node's dgram
 * allows at all on this machine; fedns cannot do better than that.
 *
 * usage: tsx bench/udp-echo.ts PORT
 */
import dgram from 'node:dgram';

const port = Number(process.argv[2]);
const sock = dgram.createSocket({ type: 'udp4', reusePort: true, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20, lookup: ((a: string, f: unknown, cb: (e: null, a: string, f: unknown) => void) => cb(null, a, f)) as never });
const bufs: Buffer[] = [];
const ports: number[] = [];
const addrs: string[] = [];
let scheduled = false;
const flush = () => {
  scheduled = false;
  for (let i = 0; i < bufs.length; i++) sock.send(bufs[i] as Buffer, ports[i] as number, addrs[i] as string);
  bufs.length = 0;
  ports.length = 0;
  addrs.length = 0;
};
sock.on('message', (msg, rinfo) => {
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
  const r = Buffer.allocUnsafe(msg.length);
  msg.copy(r);
  r[2] = 0x84 | ((msg[2] as number) & 0x01);
  r[3] = 0;
  bufs.push(r);
  ports.push(rinfo.port);
  addrs.push(rinfo.address);
});
sock.bind({ port, address: '127.0.0.1', exclusive: true }, () => process.send?.('ready'));
process.on('SIGTERM', () => sock.close(() => process.exit(0)));

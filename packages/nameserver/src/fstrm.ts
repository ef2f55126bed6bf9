/**
 * A Frame Streams writer (github.com/farsightsec/fstrm, the transport of dnstap) on a unix
 * socket, bidirectional: READY with our content type, the collector's ACCEPT, START, then data
 * frames (a 32-bit big-endian length and the payload); STOP and the collector's FINISH at the end.
 *
 * It never blocks the caller and never grows without bound. Frames are encoded straight into a
 * slab (`reserve` returns where), and what a turn of the event loop wrote leaves in one socket
 * write. Frames not yet handed to the kernel — waiting for a connection, or behind a collector
 * that reads slowly — are limited in number and octets; past either limit a frame is dropped and
 * counted, not written. When the collector goes away the writer reconnects with back-off
 * (100 ms doubling to 5 s) and keeps what it holds within the limits meanwhile.
 */
import net from 'node:net';

type LogFn = (obj: object, msg?: string) => void;

export interface FrameStreamOptions {
  path: string;
  contentType: string;
  /** Frames not yet handed to the kernel, at most (default 10,000). */
  maxQueuedFrames?: number;
  /** Their octets, at most (default 8 MiB). */
  maxQueuedBytes?: number;
  /** Counts frames handed to the kernel (`sent`) and frames given up (`dropped`). */
  onCount?: (sent: number, dropped: number) => void;
  logger?: { info: LogFn; warn: LogFn; debug?: LogFn };
  /** Reconnect delays: the first, and the most it backs off to (defaults 100 ms, 5 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** A collector that does not ACCEPT within this is reconnected to (default 5 s). */
  handshakeTimeoutMs?: number;
}

const ACCEPT = 1;
const START = 2;
const STOP = 3;
const READY = 4;
const FINISH = 5;
const FIELD_CONTENT_TYPE = 1;
/** fstrm's limit on a control frame. */
const MAX_CONTROL = 512;
const SLAB = 128 * 1024;
const FINISH_WAIT_MS = 500;

/** A control frame: the escape (a zero length), its length, its type, the content-type fields. */
export function controlFrame(type: number, contentTypes: string[] = []): Buffer {
  const fields = contentTypes.map((ct) => Buffer.from(ct));
  const len = 4 + fields.reduce((n, f) => n + 8 + f.length, 0);
  const out = Buffer.alloc(8 + len);
  out.writeUInt32BE(len, 4);
  out.writeUInt32BE(type, 8);
  let o = 12;
  for (const f of fields) {
    out.writeUInt32BE(FIELD_CONTENT_TYPE, o);
    out.writeUInt32BE(f.length, o + 4);
    o += 8 + f.copy(out, o + 8);
  }
  return out;
}

/** The first control frame in `buf`: null when incomplete; throws on anything but a control frame. */
export function parseControl(buf: Buffer): { type: number; contentTypes: string[]; length: number } | null {
  if (buf.length < 8) return null;
  if (buf.readUInt32BE(0) !== 0) throw new Error('the collector sent a data frame');
  const len = buf.readUInt32BE(4);
  if (len < 4 || len > MAX_CONTROL) throw new Error(`control frame of ${len} octets`);
  if (buf.length < 8 + len) return null;
  const type = buf.readUInt32BE(8);
  const contentTypes: string[] = [];
  for (let o = 12; o < 8 + len; ) {
    if (o + 8 > 8 + len) throw new Error('truncated control field');
    const ft = buf.readUInt32BE(o);
    const fl = buf.readUInt32BE(o + 4);
    if (o + 8 + fl > 8 + len) throw new Error('truncated control field');
    if (ft === FIELD_CONTENT_TYPE) contentTypes.push(buf.toString('latin1', o + 8, o + 8 + fl));
    o += 8 + fl;
  }
  return { type, contentTypes, length: 8 + len };
}

interface Chunk {
  data: Buffer;
  frames: number;
}

export class FrameStreamWriter {
  /** The slab `reserve` hands out offsets in (replaced when full: read it after each `reserve`). */
  buf: Buffer = Buffer.allocUnsafe(SLAB);
  private start = 0;
  private used = 0;
  private slabFrames = 0;
  private queuedFrames = 0;
  private queuedBytes = 0;
  /** Cut from the slab while there was no started connection. */
  private readonly waiting: Chunk[] = [];
  private sock: net.Socket | null = null;
  private state: 'idle' | 'connecting' | 'started' | 'closed' = 'idle';
  private scheduled = false;
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Set while an outage is being reported, so a collector that stays away is logged once. */
  private down = false;
  private finished: (() => void) | undefined;
  private readonly maxFrames: number;
  private readonly maxBytes: number;
  private readonly onCount: (sent: number, dropped: number) => void;

  constructor(private readonly opts: FrameStreamOptions) {
    this.maxFrames = opts.maxQueuedFrames ?? 10_000;
    this.maxBytes = opts.maxQueuedBytes ?? 8 * 1024 * 1024;
    this.onCount = opts.onCount ?? (() => {});
    this.retryMs = opts.retryMinMs ?? 100;
    this.connect();
  }

  /** True once the collector has ACCEPTed and been sent START. */
  get connected(): boolean {
    return this.state === 'started';
  }

  /**
   * True while no frame fits (the frame bound is reached): the caller may count its frames with
   * `drop` without encoding anything. `reserve` checks the octet bound as well.
   */
  get full(): boolean {
    return this.queuedFrames >= this.maxFrames || this.state === 'closed';
  }

  /** Counts `n` frames as dropped (the caller found the writer `full`). */
  drop(n: number): void {
    this.onCount(0, n);
  }

  /**
   * Room for one frame of `n` octets: its offset in `buf`, or -1 when the limits are reached
   * (the frame is counted as dropped; the caller skips encoding it).
   */
  reserve(n: number): number {
    if (this.queuedFrames >= this.maxFrames || this.queuedBytes + n > this.maxBytes || this.state === 'closed') {
      this.onCount(0, 1);
      return -1;
    }
    if (this.used + n > this.buf.length) {
      this.cut();
      this.buf = Buffer.allocUnsafe(Math.max(SLAB, n));
      this.start = 0;
      this.used = 0;
    }
    const off = this.used;
    this.used += n;
    this.slabFrames++;
    this.queuedFrames++;
    this.queuedBytes += n;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return off;
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    this.cut();
  };

  /** What was reserved since the last cut becomes one chunk: written now, or kept until START. */
  private cut(): void {
    if (this.used === this.start) return;
    const chunk = { data: this.buf.subarray(this.start, this.used), frames: this.slabFrames };
    this.start = this.used;
    this.slabFrames = 0;
    if (this.state === 'started') this.send(chunk);
    else this.waiting.push(chunk);
  }

  private send(c: Chunk): void {
    // The callback runs once the kernel has the octets, or with an error if the connection dies first.
    (this.sock as net.Socket).write(c.data, (err) => {
      this.queuedFrames -= c.frames;
      this.queuedBytes -= c.data.length;
      if (err) this.onCount(0, c.frames);
      else this.onCount(c.frames, 0);
    });
  }

  private connect(): void {
    const { path, contentType } = this.opts;
    const log = this.opts.logger;
    this.state = 'connecting';
    const sock = net.createConnection({ path });
    sock.unref();
    this.sock = sock;
    let inbox: Buffer = Buffer.alloc(0);
    let failure: Error | undefined;
    const handshake = setTimeout(() => sock.destroy(new Error('the collector sent no ACCEPT')), this.opts.handshakeTimeoutMs ?? 5000);
    handshake.unref();
    sock.on('connect', () => sock.write(controlFrame(READY, [contentType])));
    sock.on('data', (d: Buffer) => {
      inbox = inbox.length ? Buffer.concat([inbox, d]) : d;
      try {
        for (let f = parseControl(inbox); f; f = parseControl(inbox)) {
          inbox = inbox.subarray(f.length);
          if (f.type === ACCEPT && this.state === 'connecting') {
            if (!f.contentTypes.includes(contentType)) throw new Error(`the collector accepts ${f.contentTypes.join(', ') || 'no content type'}, not ${contentType}`);
            clearTimeout(handshake);
            sock.write(controlFrame(START, [contentType]));
            this.state = 'started';
            this.retryMs = this.opts.retryMinMs ?? 100;
            this.down = false;
            log?.info({ socket: path, waiting: this.queuedFrames }, 'dnstap: connected to the collector');
            for (const c of this.waiting.splice(0)) this.send(c);
          } else if (f.type === FINISH) this.finished?.();
        }
      } catch (err) {
        sock.destroy(err as Error);
      }
    });
    sock.on('error', (err) => {
      failure = err;
    });
    sock.on('close', () => {
      clearTimeout(handshake);
      if (this.sock !== sock) return;
      this.sock = null;
      if (this.state === 'closed') return;
      const was = this.state;
      this.state = 'idle';
      const info = { socket: path, err: failure?.message, retryInMs: this.retryMs, waiting: this.queuedFrames };
      if (!this.down) log?.warn(info, was === 'started' ? 'dnstap: the collector went away; reconnecting (frames wait within the limits, the rest are dropped and counted)' : 'dnstap: cannot reach the collector; retrying (frames wait within the limits, the rest are dropped and counted)');
      else log?.debug?.(info, 'dnstap: collector still unreachable');
      this.down = true;
      this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(this.retryMs * 2, this.opts.retryMaxMs ?? 5000);
    });
  }

  /** Sends what is reserved, then STOP; waits briefly for FINISH and closes. Frames after this are dropped. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.cut();
    const started = this.state === 'started';
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    const sock = this.sock;
    if (!sock) return;
    if (started) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, FINISH_WAIT_MS);
        this.finished = () => {
          clearTimeout(t);
          resolve();
        };
        sock.once('close', this.finished);
        sock.write(controlFrame(STOP));
      });
    }
    sock.destroy();
  }
}

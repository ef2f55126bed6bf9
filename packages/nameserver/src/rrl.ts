/**
 * Response rate limiting over UDP, after NSD's and Knot's RRL: responses are
 * counted per (client network, response class, name) bucket; a bucket over its
 * rate drops its responses, except every `slip`-th, which goes out truncated
 * (TC=1, header and question only) so a legitimate client behind a busy
 * network retries over TCP. TCP is never limited (the handshake proves the
 * source address), nor are queries with a valid server cookie.
 */

export interface RrlOptions {
  /** Responses per second per bucket; 0 turns RRL off. */
  responsesPerSecond: number;
  /** Every slip-th limited response is sent truncated; 0 = drop all, 1 = truncate all. Default 2. */
  slip?: number;
  /** Network prefix lengths that make one client (defaults 24 and 56, as Knot). */
  ipv4PrefixLength?: number;
  ipv6PrefixLength?: number;
  /** Buckets in the table (a power of two; default 65536). Collisions share a bucket, as in NSD. */
  tableSize?: number;
}

export const RRL_SEND = 0;
export const RRL_SLIP = 1;
export const RRL_DROP = 2;

/** Response classes (each has its own buckets): NXDOMAIN and errors are keyed without the name. */
const CLASS_POSITIVE = 1;
const CLASS_NODATA = 2;
const CLASS_NXDOMAIN = 3;
const CLASS_ERROR = 4;

/** Octet → its ASCII lower case: a table lookup instead of a branch per octet (names mix letters, digits and lengths). */
const FOLD = new Uint8Array(256).map((_, c) => (c >= 0x41 && c <= 0x5a ? c + 32 : c));

export class RateLimiter {
  readonly rate: number;
  readonly slip: number;
  private readonly v4Bytes: number;
  private readonly v4Mask: number;
  private readonly v6Prefix: number;
  private readonly mask: number;
  private readonly keys: Int32Array;
  private readonly tokens: Float64Array;
  private readonly stamps: Float64Array;
  private readonly slips: Uint32Array;

  constructor(opts: RrlOptions) {
    this.rate = opts.responsesPerSecond;
    this.slip = opts.slip ?? 2;
    const v4 = opts.ipv4PrefixLength ?? 24;
    this.v4Bytes = Math.ceil(v4 / 8);
    this.v4Mask = v4 % 8 === 0 ? 0xff : (0xff << (8 - (v4 % 8))) & 0xff;
    this.v6Prefix = opts.ipv6PrefixLength ?? 56;
    let size = opts.tableSize ?? 65536;
    size = 2 ** Math.ceil(Math.log2(Math.max(16, size)));
    this.mask = size - 1;
    this.keys = new Int32Array(size);
    this.tokens = new Float64Array(size);
    this.stamps = new Float64Array(size);
    this.slips = new Uint32Array(size);
  }

  get enabled(): boolean {
    return this.rate > 0;
  }

  /**
   * Decides for one UDP response: RRL_SEND, RRL_SLIP or RRL_DROP. `q` is the
   * query, `nameEnd` the end of its question name (0 when none), `rcode` and
   * `ancount` describe the response.
   */
  check(clientIp: string, q: Buffer, nameEnd: number, rcode: number, ancount: number, nowMs: number): number {
    if (this.rate <= 0) return RRL_SEND;
    const cls = rcode === 0 ? (ancount > 0 ? CLASS_POSITIVE : CLASS_NODATA) : rcode === 3 ? CLASS_NXDOMAIN : CLASS_ERROR;
    // FNV-1a over network prefix, class and (for positive/NODATA) the lower-cased name.
    let h = 0x811c9dc5;
    h = this.hashNetwork(clientIp, h);
    h = Math.imul(h ^ cls, 0x01000193);
    if ((cls === CLASS_POSITIVE || cls === CLASS_NODATA) && nameEnd > 12) {
      for (let i = 12; i < nameEnd; i++) h = Math.imul(h ^ (FOLD[q[i] as number] as number), 0x01000193);
    }
    h |= 1; // 0 marks an empty bucket
    const b = h & this.mask;
    if (this.keys[b] !== h) {
      this.keys[b] = h;
      this.tokens[b] = this.rate;
      this.stamps[b] = nowMs;
      this.slips[b] = 0;
    } else {
      const elapsed = nowMs - (this.stamps[b] as number);
      if (elapsed > 0) {
        this.tokens[b] = Math.min(this.rate, (this.tokens[b] as number) + (elapsed * this.rate) / 1000);
        this.stamps[b] = nowMs;
      }
    }
    if ((this.tokens[b] as number) >= 1) {
      this.tokens[b] = (this.tokens[b] as number) - 1;
      return RRL_SEND;
    }
    if (this.slip === 0) return RRL_DROP;
    const n = ((this.slips[b] as number) + 1) >>> 0;
    this.slips[b] = n;
    return n % this.slip === 0 ? RRL_SLIP : RRL_DROP;
  }

  /** Hashes the client's network (address masked to the prefix) straight from its text form. */
  private hashNetwork(ip: string, h: number): number {
    if (ip.indexOf(':') < 0 || (ip.startsWith('::ffff:') && ip.indexOf('.') > 0)) {
      // IPv4 (or IPv4-mapped): octets parsed from the dotted string.
      let i = ip.lastIndexOf(':') + 1;
      for (let octet = 0; octet < 4; octet++) {
        let v = 0;
        while (i < ip.length && ip.charCodeAt(i) !== 46) v = v * 10 + (ip.charCodeAt(i++) - 48);
        i++;
        if (octet < this.v4Bytes) h = Math.imul(h ^ (octet === this.v4Bytes - 1 ? v & this.v4Mask : v), 0x01000193);
      }
      return Math.imul(h ^ 4, 0x01000193);
    }
    // IPv6: expand the groups and keep the prefix.
    const [head = '', tail] = ip.split('::');
    const hs = head ? head.split(':') : [];
    const ts = tail ? tail.split(':') : [];
    const groups = [...hs, ...Array(Math.max(0, 8 - hs.length - ts.length)).fill('0'), ...ts];
    let bits = this.v6Prefix;
    for (let g = 0; g < 8 && bits > 0; g++, bits -= 16) {
      let v = Number.parseInt(groups[g] ?? '0', 16) || 0;
      if (bits < 16) v &= (0xffff << (16 - bits)) & 0xffff;
      h = Math.imul(h ^ v, 0x01000193);
    }
    return Math.imul(h ^ 6, 0x01000193);
  }
}

/** The truncated "slip" reply: the response's header and question, TC set, no records. */
export function slipReply(reply: Buffer, qEnd: number): Buffer {
  const end = qEnd > 12 && qEnd <= reply.length ? qEnd : 12;
  const out = Buffer.from(reply.subarray(0, end));
  out[2] = (out[2] as number) | 0x02;
  out.fill(0, 6, 12);
  if (end === 12) out.fill(0, 4, 6);
  return out;
}

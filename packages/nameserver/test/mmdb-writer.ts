/**
 * A small writer of MaxMind DB files (the format GeoIP2/GeoLite2 City use),
 * for tests: networks → `{ location: { latitude, longitude }, city: { names: { en } } }`,
 * an IPv6 tree with IPv4 under ::/96 as real City databases have it, 32-bit
 * records. Written from the format's public specification so that the real
 * reader (mmdb-lib, what fedns uses) reads a real file.
 */

export interface GeoEntry {
  /** `203.0.113.0/24` or `2001:db8::/32`. */
  cidr: string;
  latitude: number;
  longitude: number;
  city?: string;
}

const METADATA_MARKER = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com', 'latin1')]);

function ctrl(type: number, size: number): Buffer {
  const head: number[] = [];
  const ext = type > 7;
  let sizeBytes: number[] = [];
  let s = size;
  if (s >= 29) {
    if (s < 285) {
      sizeBytes = [s - 29];
      s = 29;
    } else if (s < 65821) {
      const v = s - 285;
      sizeBytes = [v >> 8, v & 0xff];
      s = 30;
    } else {
      const v = s - 65821;
      sizeBytes = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
      s = 31;
    }
  }
  head.push(((ext ? 0 : type) << 5) | s);
  if (ext) head.push(type - 7);
  return Buffer.from([...head, ...sizeBytes]);
}

/** A number written as a double (latitudes and longitudes are doubles even when whole). */
class Double {
  constructor(readonly value: number) {}
}

function encode(v: unknown): Buffer {
  if (v instanceof Double) {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v.value);
    return Buffer.concat([ctrl(3, 8), b]);
  }
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([ctrl(2, b.length), b]);
  }
  if (typeof v === 'number' || typeof v === 'bigint') {
    // uint32 when it fits, else uint64; minimal big-endian bytes.
    let n = BigInt(v);
    const bytes: number[] = [];
    while (n > 0n) {
      bytes.unshift(Number(n & 0xffn));
      n >>= 8n;
    }
    const type = bytes.length <= 4 ? 6 : 9;
    return Buffer.concat([ctrl(type, bytes.length), Buffer.from(bytes)]);
  }
  if (Array.isArray(v)) return Buffer.concat([ctrl(11, v.length), ...v.map(encode)]);
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v);
    return Buffer.concat([ctrl(7, entries.length), ...entries.flatMap(([k, x]) => [encode(k), encode(x)])]);
  }
  throw new Error(`cannot encode ${String(v)}`);
}

function bits128(cidr: string): { bytes: number[]; bits: number } {
  const [addr = '', len = ''] = cidr.split('/');
  if (addr.includes('.')) {
    const v4 = addr.split('.').map(Number);
    return { bytes: [...new Array<number>(12).fill(0), ...v4], bits: 96 + Number(len) };
  }
  const [head = '', tail] = addr.split('::');
  const part = (s: string) => (s ? s.split(':').map((h) => Number.parseInt(h, 16)) : []);
  const h = part(head);
  const t = tail === undefined ? [] : part(tail);
  const words = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return { bytes: words.flatMap((w) => [w >> 8, w & 0xff]), bits: Number(len) };
}

/** The bytes of a MaxMind DB holding `entries`. */
export function writeMmdb(entries: GeoEntry[]): Buffer {
  // Tree: node i = [left, right]; a slot is a node index (> 0), -(1 + data index) for data, or 0 for empty.
  const nodes: [number, number][] = [[0, 0]];
  const data: Buffer[] = [];
  const offsets: number[] = [];
  let dataSize = 0;
  for (const e of entries) {
    const { bytes, bits } = bits128(e.cidr);
    const record = encode({ city: { names: { en: e.city ?? e.cidr } }, location: { latitude: new Double(e.latitude), longitude: new Double(e.longitude) } });
    offsets.push(dataSize);
    data.push(record);
    dataSize += record.length;
    const leaf = -data.length;
    let n = 0;
    for (let i = 0; i < bits; i++) {
      const b = (((bytes[i >> 3] as number) >> (7 - (i & 7))) & 1) as 0 | 1;
      const node = nodes[n] as [number, number];
      if (i === bits - 1) {
        node[b] = leaf;
        break;
      }
      if (node[b] <= 0) {
        nodes.push([0, 0]);
        node[b] = nodes.length - 1;
      }
      n = node[b];
    }
  }
  const count = nodes.length;
  const tree = Buffer.alloc(count * 8);
  const value = (slot: number) => (slot > 0 ? slot : slot === 0 ? count : count + 16 + (offsets[-slot - 1] as number));
  nodes.forEach(([l, r], i) => {
    tree.writeUInt32BE(value(l), i * 8);
    tree.writeUInt32BE(value(r), i * 8 + 4);
  });
  const metadata = encode({
    node_count: count,
    record_size: 32,
    ip_version: 6,
    database_type: 'fedns-test-City',
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: Math.floor(Date.now() / 1000),
    description: { en: 'fedns test geolocation' },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...data, METADATA_MARKER, metadata]);
}

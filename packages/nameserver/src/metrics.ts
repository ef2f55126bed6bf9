/**
 * DNS metrics. Counting on the hot path is a typed-array increment; the
 * prom-client metrics read those arrays when scraped (collect hooks), so a
 * query never pays for label hashing. Worker processes (--dns-workers) send
 * their arrays to the primary (`snapshot()` → `setRemote()`), whose scrape
 * sums them with its own.
 */
import { Counter, Gauge, type Registry, register as defaultRegistry } from 'prom-client';
import type { QueryInfo } from './answer.js';

const QTYPES: [number, string][] = [
  [1, 'A'], [2, 'NS'], [5, 'CNAME'], [6, 'SOA'], [12, 'PTR'], [13, 'HINFO'], [15, 'MX'], [16, 'TXT'],
  [28, 'AAAA'], [33, 'SRV'], [43, 'DS'], [46, 'RRSIG'], [48, 'DNSKEY'], [64, 'SVCB'], [65, 'HTTPS'],
  [251, 'IXFR'], [252, 'AXFR'], [255, 'ANY'],
];
const QTYPE_LABELS = ['none', 'other', ...QTYPES.map(([, n]) => n)];
const QTYPE_INDEX = new Int16Array(65536).fill(1);
QTYPES.forEach(([t], i) => {
  QTYPE_INDEX[t] = i + 2;
});

const RCODE_LABELS = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'BADVERS', 'NOTAUTH', 'OTHER'];
function rcodeIndex(rcode: number): number {
  if (rcode >= 0 && rcode <= 5) return rcode;
  return rcode === 16 ? 6 : rcode === 9 ? 7 : 8;
}

const PROTOCOLS = ['udp', 'tcp'];
const SIZE_BUCKETS = [64, 128, 256, 512, 768, 1024, 1232, 1500, 4096, 16384, 65535];
/** Seconds from a message's arrival to its reply being handed to the socket. */
const LATENCY_BUCKETS = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025, 0.1];
const RRL_ACTIONS = ['dropped', 'slipped'];
export const XFR_TYPES = ['AXFR', 'IXFR'] as const;
export const XFR_RESULTS = ['full', 'incremental', 'uptodate', 'refused', 'notauth', 'formerr'] as const;
export const NOTIFY_EVENTS = ['sent', 'retry', 'acked', 'error'] as const;
const DNSTAP_RESULTS = ['sent', 'dropped'];

const NQ = QTYPE_LABELS.length;
const NR = RCODE_LABELS.length;
const NP = PROTOCOLS.length;

/** Every counter, as plain arrays; also the shape a worker sends to the primary. */
const SHAPE = {
  queries: NP * NR * NQ,
  truncated: NP,
  dropped: NP,
  sizeBuckets: NP * (SIZE_BUCKETS.length + 1),
  sizeSum: NP,
  sizeCount: NP,
  latBuckets: NP * (LATENCY_BUCKETS.length + 1),
  latSum: NP,
  latCount: NP,
  rrl: RRL_ACTIONS.length,
  transfers: XFR_TYPES.length * XFR_RESULTS.length,
  notify: NOTIFY_EVENTS.length,
  dnstap: DNSTAP_RESULTS.length,
} as const;
type Name = keyof typeof SHAPE;
export type MetricsSnapshot = Record<Name, number[]>;

function inc(a: Float64Array, i: number, v: number): void {
  a[i] = (a[i] as number) + v;
}

const NAMES = [
  'fedns_dns_queries_total',
  'fedns_dns_truncated_total',
  'fedns_dns_dropped_total',
  'fedns_dns_response_size_bytes',
  'fedns_dns_request_duration_seconds',
  'fedns_dns_rrl_total',
  'fedns_dns_transfers_total',
  'fedns_dns_notify_total',
  'fedns_dns_zone_serial',
  'fedns_dns_worker_queries_total',
  'fedns_dnstap_frames_total',
];

/** Adds snapshot `b` into `a` (a worker that exits leaves its counts to its successor). */
export function addSnapshot(a: MetricsSnapshot | undefined, b: MetricsSnapshot): MetricsSnapshot {
  if (!a) return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, [...v]])) as MetricsSnapshot;
  for (const k of Object.keys(SHAPE) as Name[]) {
    const x = a[k];
    const y = b[k];
    for (let i = 0; i < SHAPE[k]; i++) x[i] = (x[i] ?? 0) + (y?.[i] ?? 0);
  }
  return a;
}

export class DnsMetrics {
  private readonly a: Record<Name, Float64Array>;
  private readonly remotes = new Map<string, MetricsSnapshot>();
  private served: { zone: string; serial: () => number | undefined } | undefined;
  private refresher: (() => Promise<void>) | undefined;
  private refreshing: Promise<void> | undefined;
  readonly registry: Registry;

  constructor(registry?: Registry) {
    this.registry = registry ?? defaultRegistry;
    this.a = Object.fromEntries(Object.entries(SHAPE).map(([k, n]) => [k, new Float64Array(n)])) as Record<Name, Float64Array>;
    const self = this;
    // Re-registering on the same registry (several servers, tests): the later server takes the names over.
    for (const n of NAMES) if (this.registry.getSingleMetric(n)) this.registry.removeSingleMetric(n);
    new Counter({
      name: 'fedns_dns_queries_total',
      help: 'DNS queries answered, by qtype, response code and protocol.',
      labelNames: ['qtype', 'rcode', 'protocol'],
      registers: [this.registry],
      async collect() {
        await self.fresh();
        this.reset();
        for (let p = 0; p < NP; p++)
          for (let r = 0; r < NR; r++)
            for (let t = 0; t < NQ; t++) {
              const v = self.total('queries', (p * NR + r) * NQ + t);
              if (v) this.inc({ qtype: QTYPE_LABELS[t] as string, rcode: RCODE_LABELS[r] as string, protocol: PROTOCOLS[p] as string }, v);
            }
      },
    });
    const perProtocol = (name: string, help: string, key: Name) =>
      new Counter({
        name,
        help,
        labelNames: ['protocol'],
        registers: [this.registry],
        async collect() {
          await self.fresh();
          this.reset();
          for (let p = 0; p < NP; p++) this.inc({ protocol: PROTOCOLS[p] as string }, self.total(key, p));
        },
      });
    perProtocol('fedns_dns_truncated_total', 'Replies sent with TC set because they did not fit the UDP limit.', 'truncated');
    perProtocol('fedns_dns_dropped_total', 'Messages dropped without a reply (shorter than a header, or QR=1).', 'dropped');
    new Counter({
      name: 'fedns_dns_rrl_total',
      help: 'UDP responses withheld by response rate limiting: dropped, or slipped (sent truncated instead).',
      labelNames: ['action'],
      registers: [this.registry],
      async collect() {
        await self.fresh();
        this.reset();
        RRL_ACTIONS.forEach((action, i) => {
          this.inc({ action }, self.total('rrl', i));
        });
      },
    });
    new Counter({
      name: 'fedns_dns_transfers_total',
      help: 'Zone transfer requests by type and result (full zone, incremental, up to date, refused, bad TSIG, malformed).',
      labelNames: ['type', 'result'],
      registers: [this.registry],
      async collect() {
        await self.fresh();
        this.reset();
        XFR_TYPES.forEach((type, t) => {
          XFR_RESULTS.forEach((result, r) => {
            const v = self.total('transfers', t * XFR_RESULTS.length + r);
            if (v) this.inc({ type, result }, v);
          });
        });
      },
    });
    new Counter({
      name: 'fedns_dns_notify_total',
      help: 'NOTIFY messages to secondaries: sent (first try), retry, acked, error (an error reply).',
      labelNames: ['event'],
      registers: [this.registry],
      async collect() {
        await self.fresh();
        this.reset();
        NOTIFY_EVENTS.forEach((event, i) => {
          this.inc({ event }, self.total('notify', i));
        });
      },
    });
    new Counter({
      name: 'fedns_dnstap_frames_total',
      help: 'dnstap frames (one per query and one per response, --dnstap-socket): sent to the collector, or dropped (the collector away or slower than the queries, and the buffer full).',
      labelNames: ['result'],
      registers: [this.registry],
      async collect() {
        await self.fresh();
        this.reset();
        DNSTAP_RESULTS.forEach((result, i) => {
          this.inc({ result }, self.total('dnstap', i));
        });
      },
    });
    new Gauge({
      name: 'fedns_dns_zone_serial',
      help: 'SOA serial of the zone this nameserver answers with (compare with the secondaries\' to find one lagging behind).',
      labelNames: ['zone'],
      registers: [this.registry],
      async collect() {
        await self.fresh();
        this.reset();
        const v = self.served?.serial();
        if (self.served && v !== undefined) this.set({ zone: self.served.zone }, v >>> 0);
      },
    });
    new Counter({
      name: 'fedns_dns_worker_queries_total',
      help: 'DNS queries answered by each worker process (--dns-workers; a replacement continues its slot\'s count): how SO_REUSEPORT spreads the load.',
      labelNames: ['worker'],
      registers: [this.registry],
      async collect() {
        await self.fresh();
        this.reset();
        for (const [worker, snap] of self.remoteEntries()) {
          let v = 0;
          for (const n of snap.queries) v += n;
          this.inc({ worker }, v);
        }
      },
    });
    this.registry.registerMetric(new ArrayHistogram(this, 'fedns_dns_response_size_bytes', 'Size of DNS replies in octets, by protocol.', SIZE_BUCKETS, 'sizeBuckets', 'sizeSum', 'sizeCount') as never);
    this.registry.registerMetric(
      new ArrayHistogram(this, 'fedns_dns_request_duration_seconds', 'Time from a message arriving to its reply being sent, by protocol.', LATENCY_BUCKETS, 'latBuckets', 'latSum', 'latCount') as never,
    );
  }

  /** Where fedns_dns_zone_serial reads the serial being served (the zone index, or the workers' lowest). */
  servedSerial(zone: string, serial: () => number | undefined): void {
    this.served = { zone, serial };
  }

  /**
   * Called before a scrape reads the counters: the primary asks its workers for their counters
   * here, so a scrape sees every query answered before it. prom-client collects the metrics of a
   * scrape concurrently; they share one refresh.
   */
  refreshWith(fn: () => Promise<void>): void {
    this.refresher = fn;
  }

  /** Runs the refresher, or joins the one in flight. */
  async fresh(): Promise<void> {
    if (!this.refresher) return;
    if (!this.refreshing) {
      this.refreshing = this.refresher()
        .catch(() => {})
        .finally(() => {
          this.refreshing = undefined;
        });
    }
    await this.refreshing;
  }

  remoteEntries(): IterableIterator<[string, MetricsSnapshot]> {
    return this.remotes.entries();
  }

  /** Local value plus every worker's. */
  total(key: Name, i: number): number {
    let v = this.a[key][i] as number;
    for (const r of this.remotes.values()) v += r[key]?.[i] ?? 0;
    return v;
  }

  /** Records one reply (`size` in octets, without the TCP length prefix; `seconds` spent on it). */
  record(info: QueryInfo, tcp: boolean, size: number, seconds = -1): void {
    const p = tcp ? 1 : 0;
    const a = this.a;
    const t = info.qtype < 0 ? 0 : (QTYPE_INDEX[info.qtype] as number);
    inc(a.queries, (p * NR + rcodeIndex(info.rcode)) * NQ + t, 1);
    if (info.truncated) inc(a.truncated, p, 1);
    let b = 0;
    while (b < SIZE_BUCKETS.length && size > (SIZE_BUCKETS[b] as number)) b++;
    inc(a.sizeBuckets, p * (SIZE_BUCKETS.length + 1) + b, 1);
    inc(a.sizeSum, p, size);
    inc(a.sizeCount, p, 1);
    if (seconds >= 0) this.recordLatency(tcp, seconds);
  }

  /** Adds `n` observations of `seconds` to the latency histogram (UDP replies sent together). */
  recordLatency(tcp: boolean, seconds: number, n = 1): void {
    const p = tcp ? 1 : 0;
    const a = this.a;
    let l = 0;
    while (l < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[l] as number)) l++;
    inc(a.latBuckets, p * (LATENCY_BUCKETS.length + 1) + l, n);
    inc(a.latSum, p, seconds * n);
    inc(a.latCount, p, n);
  }

  recordDrop(tcp: boolean): void {
    inc(this.a.dropped, tcp ? 1 : 0, 1);
  }

  recordRrl(slipped: boolean): void {
    inc(this.a.rrl, slipped ? 1 : 0, 1);
  }

  recordTransfer(type: (typeof XFR_TYPES)[number], result: string): void {
    const r = XFR_RESULTS.indexOf(result as (typeof XFR_RESULTS)[number]);
    if (r >= 0) inc(this.a.transfers, XFR_TYPES.indexOf(type) * XFR_RESULTS.length + r, 1);
  }

  recordNotify(event: (typeof NOTIFY_EVENTS)[number]): void {
    inc(this.a.notify, NOTIFY_EVENTS.indexOf(event), 1);
  }

  /** Frames handed to the dnstap collector and frames dropped. */
  recordDnstap(sent: number, dropped: number): void {
    const a = this.a.dnstap;
    a[0] = (a[0] as number) + sent;
    a[1] = (a[1] as number) + dropped;
  }

  /** This process's counters (a worker sends them to the primary). */
  snapshot(): MetricsSnapshot {
    return Object.fromEntries(Object.entries(this.a).map(([k, v]) => [k, Array.from(v)])) as MetricsSnapshot;
  }

  /** The latest counters of a worker; `undefined` forgets it (its counts stop contributing). */
  setRemote(id: string, snap: MetricsSnapshot | undefined): void {
    if (snap) this.remotes.set(id, snap);
    else this.remotes.delete(id);
  }

  /** Histogram values in prom-client's `get()` shape. */
  histValues(name: string, bounds: number[], bk: Name, sk: Name, ck: Name): { labels: Record<string, string | number>; value: number; metricName: string }[] {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (let p = 0; p < NP; p++) {
      const protocol = PROTOCOLS[p] as string;
      let cum = 0;
      for (let b = 0; b <= bounds.length; b++) {
        cum += this.total(bk, p * (bounds.length + 1) + b);
        values.push({ labels: { le: b < bounds.length ? (bounds[b] as number) : '+Inf', protocol }, value: cum, metricName: `${name}_bucket` });
      }
      values.push({ labels: { protocol }, value: this.total(sk, p), metricName: `${name}_sum` });
      values.push({ labels: { protocol }, value: this.total(ck, p), metricName: `${name}_count` });
    }
    return values;
  }

  reset(keys: Name[]): void {
    for (const k of keys) this.a[k].fill(0);
  }
}

/** A histogram metric read from DnsMetrics' arrays; implements what prom-client's Registry calls. */
class ArrayHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(
    private readonly m: DnsMetrics,
    readonly name: string,
    readonly help: string,
    private readonly bounds: number[],
    private readonly bk: Name,
    private readonly sk: Name,
    private readonly ck: Name,
  ) {}
  async get() {
    await this.m.fresh();
    return { name: this.name, help: this.help, type: this.type, values: this.m.histValues(this.name, this.bounds, this.bk, this.sk, this.ck), aggregator: this.aggregator };
  }
  reset(): void {
    this.m.reset([this.bk, this.sk, this.ck]);
  }
}

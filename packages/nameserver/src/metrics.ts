/**
 * DNS metrics. Counting on the hot path is a typed-array increment; the
 * prom-client metrics read those arrays when scraped (collect hooks), so a
 * query never pays for label hashing.
 */
import { Counter, type Registry, register as defaultRegistry } from 'prom-client';
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

const RCODE_LABELS = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'BADVERS', 'OTHER'];
function rcodeIndex(rcode: number): number {
  if (rcode >= 0 && rcode <= 5) return rcode;
  return rcode === 16 ? 6 : 7;
}

const PROTOCOLS = ['udp', 'tcp'];
const SIZE_BUCKETS = [64, 128, 256, 512, 768, 1024, 1232, 1500, 4096, 16384, 65535];

const NQ = QTYPE_LABELS.length;
const NR = RCODE_LABELS.length;

function inc(a: Float64Array, i: number, v: number): void {
  a[i] = (a[i] as number) + v;
}

export class DnsMetrics {
  private readonly queries = new Float64Array(PROTOCOLS.length * NR * NQ);
  private readonly truncated = new Float64Array(PROTOCOLS.length);
  private readonly dropped = new Float64Array(PROTOCOLS.length);
  private readonly sizeBuckets = new Float64Array(PROTOCOLS.length * (SIZE_BUCKETS.length + 1));
  private readonly sizeSum = new Float64Array(PROTOCOLS.length);
  private readonly sizeCount = new Float64Array(PROTOCOLS.length);
  readonly registry: Registry;

  constructor(registry?: Registry) {
    this.registry = registry ?? defaultRegistry;
    const self = this;
    const existing = (name: string) => this.registry.getSingleMetric(name);
    // Re-registering on the same registry (several servers, tests) reuses the first set of metrics' names:
    // the later server takes the names over.
    for (const n of ['fedns_dns_queries_total', 'fedns_dns_truncated_total', 'fedns_dns_dropped_total', 'fedns_dns_response_size_bytes']) {
      if (existing(n)) this.registry.removeSingleMetric(n);
    }
    new Counter({
      name: 'fedns_dns_queries_total',
      help: 'DNS queries answered, by qtype, response code and protocol.',
      labelNames: ['qtype', 'rcode', 'protocol'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (let p = 0; p < PROTOCOLS.length; p++)
          for (let r = 0; r < NR; r++)
            for (let t = 0; t < NQ; t++) {
              const v = self.queries[(p * NR + r) * NQ + t] as number;
              if (v) this.inc({ qtype: QTYPE_LABELS[t] as string, rcode: RCODE_LABELS[r] as string, protocol: PROTOCOLS[p] as string }, v);
            }
      },
    });
    new Counter({
      name: 'fedns_dns_truncated_total',
      help: 'Replies sent with TC set because they did not fit the UDP limit.',
      labelNames: ['protocol'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (let p = 0; p < PROTOCOLS.length; p++) this.inc({ protocol: PROTOCOLS[p] as string }, self.truncated[p] as number);
      },
    });
    new Counter({
      name: 'fedns_dns_dropped_total',
      help: 'Messages dropped without a reply (shorter than a header, or QR=1).',
      labelNames: ['protocol'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (let p = 0; p < PROTOCOLS.length; p++) this.inc({ protocol: PROTOCOLS[p] as string }, self.dropped[p] as number);
      },
    });
    this.registry.registerMetric(new SizeHistogram(this) as never);
  }

  /** Records one reply (`size` in octets, without the TCP length prefix). */
  record(info: QueryInfo, tcp: boolean, size: number): void {
    const p = tcp ? 1 : 0;
    const t = info.qtype < 0 ? 0 : (QTYPE_INDEX[info.qtype] as number);
    inc(this.queries, (p * NR + rcodeIndex(info.rcode)) * NQ + t, 1);
    if (info.truncated) inc(this.truncated, p, 1);
    let b = 0;
    while (b < SIZE_BUCKETS.length && size > (SIZE_BUCKETS[b] as number)) b++;
    inc(this.sizeBuckets, p * (SIZE_BUCKETS.length + 1) + b, 1);
    inc(this.sizeSum, p, size);
    inc(this.sizeCount, p, 1);
  }

  recordDrop(tcp: boolean): void {
    inc(this.dropped, tcp ? 1 : 0, 1);
  }

  /** Histogram values in prom-client's `get()` shape. */
  sizeValues(): { labels: Record<string, string | number>; value: number; metricName: string }[] {
    const name = 'fedns_dns_response_size_bytes';
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (let p = 0; p < PROTOCOLS.length; p++) {
      const protocol = PROTOCOLS[p] as string;
      let cum = 0;
      for (let b = 0; b <= SIZE_BUCKETS.length; b++) {
        cum += this.sizeBuckets[p * (SIZE_BUCKETS.length + 1) + b] as number;
        values.push({ labels: { le: b < SIZE_BUCKETS.length ? (SIZE_BUCKETS[b] as number) : '+Inf', protocol }, value: cum, metricName: `${name}_bucket` });
      }
      values.push({ labels: { protocol }, value: this.sizeSum[p] as number, metricName: `${name}_sum` });
      values.push({ labels: { protocol }, value: this.sizeCount[p] as number, metricName: `${name}_count` });
    }
    return values;
  }

  resetSizes(): void {
    this.sizeBuckets.fill(0);
    this.sizeSum.fill(0);
    this.sizeCount.fill(0);
  }
}

/** A histogram metric read from DnsMetrics' arrays; implements what prom-client's Registry calls. */
class SizeHistogram {
  readonly name = 'fedns_dns_response_size_bytes';
  readonly help = 'Size of DNS replies in octets, by protocol.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(private readonly m: DnsMetrics) {}
  async get() {
    return { name: this.name, help: this.help, type: this.type, values: this.m.sizeValues(), aggregator: this.aggregator };
  }
  reset(): void {
    this.m.resetSizes();
  }
}

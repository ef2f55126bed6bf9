/**
 * The in-cluster view (issue 12): each member cluster's private answers, kept apart from the
 * public zone — its own index, fed by its own follower (follow-answers.ts), never in the zone's
 * record sets, journal, transfers or NOTIFYs. Names are `<svc>.<ns>.<federation>.svc.<cluster>.<suffix>`
 * (what a member's CoreDNS asks once its fedns block rewrote the pod's question), and only the
 * configured client networks (`--cluster-dns-allow`, the members' egress) are answered; anyone
 * else gets REFUSED, exactly as for any name outside the zone, so nothing shows the view exists.
 *
 * An answer is built in the public zone's compiled form (the bytes after the question, owner
 * names pointing at the question), so the hot path's reply assembly sends it: the cluster IPs as
 * A/AAAA; or a CNAME to the public name nearest the cluster followed through the public zone to
 * its end — CoreDNS's forward never chases CNAMEs, so the chain must be whole in this one answer;
 * NODATA and NXDOMAIN carry the SOA of the cluster's private zone (or the public SOA where a
 * chain ends negative in the public zone). Answers are cached until the view or the zone moves.
 */
import type { ClusterAnswer, ClusterAnswerKey } from '@fedns/model';
import type { Network } from './acl.js';
import { inNetwork } from './acl.js';
import { CLASS_IN, RCODE, TYPE, Writer, ipv4Bytes, ipv6Bytes, txtRdata, wireKey } from './wire.js';
import type { Answer, ZoneIndex, ZoneNode } from './zone-index.js';

export interface ClusterViewOptions {
  /** The federation's name (the `<federation>.svc` labels). */
  federation: string;
  /** The private suffix, absolute (`clusters.fedns.internal.`). */
  suffix: string;
  /** Who may be answered: the member clusters' networks. */
  allow: Network[];
}


const MAX_CHAIN = 16;

/** Presentation name of a wire key (labels are plain LDH here). */
function keyToName(key: string): string {
  const labels: string[] = [];
  for (let i = 0; i < key.length; ) {
    const len = key.charCodeAt(i);
    if (len === 0) break;
    labels.push(key.slice(i + 1, i + 1 + len));
    i += 1 + len;
  }
  return labels.length ? `${labels.join('.')}.` : '.';
}

export class ClusterView {
  readonly suffixKey: string;
  private readonly fedLabel: string;
  private readonly entries = new Map<string, ClusterAnswer>();
  /** Names with entries below them (empty non-terminals), with how many. */
  private readonly below = new Map<string, number>();
  private readonly cache = new Map<string, Answer>();
  private cacheSerial = -1;
  private _seq = -1;

  constructor(private readonly opts: ClusterViewOptions) {
    this.suffixKey = wireKey(opts.suffix.toLowerCase());
    this.fedLabel = opts.federation.toLowerCase();
  }

  get seq(): number {
    return this._seq;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The private name of an answer. */
  nameOf(k: ClusterAnswerKey): string {
    return `${k.service}.${k.namespace}.${this.fedLabel}.svc.${k.cluster}.${this.opts.suffix}`.toLowerCase();
  }

  /** Whether a question name (lower-case wire key) lies under the private suffix. */
  covers(key: string): boolean {
    return key.length > this.suffixKey.length && key.endsWith(this.suffixKey);
  }

  /** Whether a client may be answered. */
  allows(ip: string | undefined): boolean {
    if (!ip) return false;
    for (const n of this.opts.allow) if (inNetwork(ip, n)) return true;
    return false;
  }

  replaceAll(seq: number, answers: ClusterAnswer[]): void {
    this.entries.clear();
    this.below.clear();
    for (const a of answers) this.put(a);
    this._seq = seq;
    this.cache.clear();
  }

  apply(seq: number, upserts: ClusterAnswer[], deletes: ClusterAnswerKey[]): void {
    for (const k of deletes) this.remove(k);
    for (const a of upserts) this.put(a);
    this._seq = seq;
    this.cache.clear();
  }

  private put(a: ClusterAnswer): void {
    const key = wireKey(this.nameOf(a));
    if (!this.entries.has(key)) this.count(key, 1);
    this.entries.set(key, a);
  }

  private remove(k: ClusterAnswerKey): void {
    const key = wireKey(this.nameOf(k));
    if (this.entries.delete(key)) this.count(key, -1);
  }

  /** Counts the empty non-terminals between a name and its cluster's apex. */
  private count(key: string, by: number): void {
    // <svc>.<ns>.<fed>.svc.<cluster>.<suffix>: the ENT is <ns>.<fed>.svc.<cluster>.<suffix>.
    const ent = key.slice(key.charCodeAt(0) + 1);
    const n = (this.below.get(ent) ?? 0) + by;
    if (n > 0) this.below.set(ent, n);
    else this.below.delete(ent);
  }

  /**
   * The apex of the cluster zone a key lies in (`<fed>.svc.<cluster>.<suffix>`), with how many labels
   * the key has above it; undefined when the key is not under such an apex.
   */
  private apexOf(key: string): { apex: string; depth: number } | undefined {
    const labels: number[] = [];
    for (let i = 0; i < key.length - this.suffixKey.length; ) {
      labels.push(i);
      i += key.charCodeAt(i) + 1;
    }
    // From the suffix upwards: <cluster>, svc, <fed>.
    if (labels.length < 3) return undefined;
    const at = labels[labels.length - 3] as number;
    const apex = key.slice(at);
    const fed = key.slice(at + 1, at + 1 + key.charCodeAt(at));
    const svc = labels[labels.length - 2] as number;
    if (fed !== this.fedLabel || key.slice(svc, svc + 4) !== '\x03svc') return undefined;
    return { apex, depth: labels.length - 3 };
  }

  /** The answer for a question (lower-case wire key, qtype) against the public index; undefined: not ours (REFUSED). */
  answer(key: string, qtype: number, index: ZoneIndex): Answer | undefined {
    const z = this.apexOf(key);
    if (!z) return undefined;
    if (this.cacheSerial !== index.serial) {
      this.cache.clear();
      this.cacheSerial = index.serial;
    }
    const ck = `${qtype}/${key}`;
    let a = this.cache.get(ck);
    if (!a) {
      a = this.compile(key, qtype, z.apex, z.depth, index);
      if (this.cache.size > 50_000) this.cache.clear();
      this.cache.set(ck, a);
    }
    return a;
  }

  private compile(key: string, qtype: number, apex: string, depth: number, index: ZoneIndex): Answer {
    const w = new Writer(512);
    // A stand-in header and question, so names compress against the question at offset 12.
    for (let i = 0; i < 12; i++) w.u8(0);
    const qname = keyToName(key);
    w.bytes(Buffer.from(key, 'latin1'));
    w.u16(qtype);
    w.u16(CLASS_IN);
    w.remember(qname, 12);
    const start = w.pos;
    const apexName = keyToName(apex);
    let an = 0;
    let ns = 0;
    let rcode: number = RCODE.NOERROR;
    const soa = (owner: string, ttl: number, serial: number) => {
      const cfg = index.config.soa;
      const at = w.rrHeader(owner, TYPE.SOA, ttl);
      w.name(cfg.mname);
      w.name(cfg.rname);
      w.u32(serial);
      w.u32(cfg.refresh);
      w.u32(cfg.retry);
      w.u32(cfg.expire);
      w.u32(ttl);
      w.endRdata(at);
    };
    const privateSoa = (ttl: number) => {
      soa(apexName, ttl, this._seq >>> 0);
      ns++;
    };
    const entry = depth === 2 ? this.entries.get(key) : undefined;
    if (depth === 0) {
      // The cluster zone's apex: its SOA, nothing else.
      if (qtype === TYPE.SOA || qtype === TYPE.ANY) {
        soa(apexName, 5, this._seq >>> 0);
        an++;
      } else privateSoa(5);
      return { rcode, an, ns, ar: 0, body: w.result(start), soa: false };
    }
    if (!entry) {
      if (!this.below.has(key)) rcode = RCODE.NXDOMAIN;
      privateSoa(5);
      return { rcode, an, ns, ar: 0, body: w.result(start), soa: false };
    }
    const a = entry;
    if (a.addresses) {
      const want = qtype === TYPE.AAAA ? 'v6' : qtype === TYPE.A || qtype === TYPE.ANY ? 'v4' : undefined;
      let list = want ? a.addresses.filter((x) => (want === 'v6' ? x.includes(':') : !x.includes(':'))) : [];
      if (qtype === TYPE.ANY && list.length === 0) list = a.addresses.filter((x) => x.includes(':'));
      for (const addr of list) {
        const v6 = addr.includes(':');
        const at = w.rrHeader(qname, v6 ? TYPE.AAAA : TYPE.A, a.ttl);
        w.bytes(v6 ? ipv6Bytes(addr) : ipv4Bytes(addr));
        w.endRdata(at);
        an++;
      }
      if (an === 0) privateSoa(a.ttl);
      return { rcode, an, ns, ar: 0, body: w.result(start), soa: false };
    }
    if (!a.target) {
      privateSoa(a.ttl);
      return { rcode, an, ns, ar: 0, body: w.result(start), soa: false };
    }
    // The CNAME, then its chain through the public zone, down to the asked type.
    let at = w.rrHeader(qname, TYPE.CNAME, a.ttl);
    w.name(a.target);
    w.endRdata(at);
    an++;
    if (qtype === TYPE.CNAME || qtype === TYPE.ANY) return { rcode, an, ns, ar: 0, body: w.result(start), soa: false };
    let name = a.target.toLowerCase();
    const seen = new Set<string>();
    for (let hop = 0; hop < MAX_CHAIN; hop++) {
      const node: ZoneNode | undefined = index.nodes.get(wireKey(name));
      if (!node || (!node.hasData && node.below === 0)) {
        // The chain ends outside what the zone has: NXDOMAIN there (or a name outside the zone: the CNAME alone).
        if (index.keyInZone(wireKey(name))) {
          rcode = RCODE.NXDOMAIN;
          soa(index.zone, index.negativeTtl, index.serial);
          ns++;
        }
        break;
      }
      const cname = node.rr('CNAME');
      if (cname && !seen.has(name)) {
        seen.add(name);
        const target = cname.data[0] as string;
        at = w.rrHeader(name, TYPE.CNAME, cname.ttl);
        w.name(target);
        w.endRdata(at);
        an++;
        name = target.toLowerCase();
        continue;
      }
      const type = qtype === TYPE.AAAA ? 'AAAA' : qtype === TYPE.A ? 'A' : qtype === TYPE.TXT ? 'TXT' : undefined;
      const rs = type ? node.rr(type) : undefined;
      if (rs && type) {
        for (const d of rs.data) {
          at = w.rrHeader(name, TYPE[type], rs.ttl);
          if (rs.type === 'A') w.bytes(ipv4Bytes(d));
          else if (rs.type === 'AAAA') w.bytes(ipv6Bytes(d));
          else w.bytes(txtRdata([d]));
          w.endRdata(at);
          an++;
        }
      } else {
        soa(index.zone, index.negativeTtl, index.serial);
        ns++;
      }
      break;
    }
    return { rcode, an, ns, ar: 0, body: w.result(start), soa: false };
  }
}

/**
 * The zone index: every owner name of the federation zone, keyed by its
 * lower-case uncompressed wire form, with lazily compiled wire answers.
 *
 * An answer is compiled for an exact owner name and a qtype slot. Its bytes are
 * everything after the question section, with compression pointers into the
 * question at offset 12: since a query for that name has a question of the same
 * length (only the case may differ), the bytes are valid for every such query.
 * Negative answers share one SOA "tail" whose owner and in-zone names are
 * pointers to the zone suffix of the question; the hot path patches those.
 */
import { type FederationConfig, type RecordSet, type RecordSetDiff, type RecordType, isInZone } from '@fedns/model';
import { rdataWire, typeCode } from '@fedns/dnssec';
import { isIPv4, isIPv6 } from 'node:net';
import { hashKey, Nsec3Index, type PatchBlock, rrsigRdatas } from './nsec3-index.js';
import { buildChoice, type Choice, policyProblem } from './variants.js';
import { CLASS_IN, RCODE, TYPE, Writer, ipv4Bytes, ipv6Bytes, txtRdata, wireKey } from './wire.js';

/** Qtype slots: one compiled answer per (name, slot). */
export const SLOT = { A: 0, AAAA: 1, CNAME: 2, TXT: 3, SOA: 4, NS: 5, ANY: 6, OTHER: 7, DNSKEY: 8, NSEC3PARAM: 9, CDS: 10, CDNSKEY: 11, RRSIG: 12 } as const;
export const SLOTS = 13;
/** The type each slot answers (OTHER and ANY: none). */
const SLOT_TYPE = ['A', 'AAAA', 'CNAME', 'TXT', 'SOA', 'NS', '', '', 'DNSKEY', 'NSEC3PARAM', 'CDS', 'CDNSKEY', 'RRSIG'] as const;

/** Maps a qtype to its slot. */
export function slotOf(qtype: number): number {
  switch (qtype) {
    case 1: return SLOT.A;
    case 28: return SLOT.AAAA;
    case 5: return SLOT.CNAME;
    case 16: return SLOT.TXT;
    case 6: return SLOT.SOA;
    case 2: return SLOT.NS;
    case 255: return SLOT.ANY;
    case 48: return SLOT.DNSKEY;
    case 51: return SLOT.NSEC3PARAM;
    case 59: return SLOT.CDS;
    case 60: return SLOT.CDNSKEY;
    case 46: return SLOT.RRSIG;
    default: return SLOT.OTHER;
  }
}

/** A compiled answer. `body` follows the question; offsets in it assume a question of the owner's length. */
export interface Answer {
  rcode: number;
  an: number;
  ns: number;
  ar: number;
  body: Buffer;
  /** Append the zone's negative SOA in authority (NXDOMAIN / NODATA, also at the end of a CNAME chain). */
  soa: boolean;
  /**
   * Traffic policy (issue 14): the chain ends at a set with variants; this
   * answer is the one with every address, `choice` the precompiled answers a
   * query picks from (variants.ts).
   */
  choice?: Choice;
}

/** The negative-answer SOA record; `ptrs` are offsets (within `bytes`) of pointers to the zone suffix of the question. */
export interface SoaTail {
  bytes: Buffer;
  ptrs: number[];
  /** RRs in it: the SOA, and with DNSSEC its RRSIG. */
  count: number;
}

const EMPTY = Buffer.alloc(0);
/** DO=1 NXDOMAIN replies kept for names asked again. */
const NX_CACHE = 10_000;
const NODATA: Answer = Object.freeze({ rcode: RCODE.NOERROR, an: 0, ns: 0, ar: 0, body: EMPTY, soa: true }) as Answer;
const NXDOMAIN: Answer = Object.freeze({ rcode: RCODE.NXDOMAIN, an: 0, ns: 0, ar: 0, body: EMPTY, soa: true }) as Answer;

type Typed = Partial<Record<RecordType, RecordSet>>;

/** One owner name (or empty non-terminal) of the zone. */
export class ZoneNode {
  /** Record sets from the store (replaceAll/applyDiff). */
  dyn: Typed = {};
  /** Record sets from the federation config (glue of in-zone nameservers). */
  base: Typed = {};
  /** Number of names with data strictly below this one (> 0 and no data: empty non-terminal). */
  below = 0;
  /** Compiled answers: slots, then (DO=1 on a signed zone) the same slots with RRSIGs and NSEC3. */
  answers: (Answer | undefined)[] | undefined;
  /** NSEC3 hashes of this name and of `*.` this name (cached for denial of existence). */
  hash?: string;
  wildHash?: string;

  constructor(
    readonly name: string,
    readonly key: string,
    readonly apex: boolean,
  ) {}

  rr(type: RecordType): RecordSet | undefined {
    return this.dyn[type] ?? this.base[type];
  }

  get hasData(): boolean {
    if (this.apex) return true;
    for (const t in this.dyn) if (this.dyn[t as RecordType]) return true;
    for (const t in this.base) if (this.base[t as RecordType]) return true;
    return false;
  }
}

/** Why a record set cannot be served, or undefined. */
export function recordProblem(rs: RecordSet, zone: string): string | undefined {
  if (typeof rs.name !== 'string' || !isInZone(rs.name, zone)) return `name ${rs.name} is outside zone ${zone}`;
  try {
    wireKey(rs.name);
  } catch {
    return `name ${rs.name} is not a valid DNS name`;
  }
  if (!Number.isInteger(rs.ttl) || rs.ttl < 0 || rs.ttl > 0x7fffffff) return `bad ttl ${rs.ttl}`;
  if (!Array.isArray(rs.data) || rs.data.length === 0) return 'empty data';
  switch (rs.type) {
    case 'A':
      return rs.data.every((a) => isIPv4(a)) ? undefined : 'A data must be IPv4 literals';
    case 'AAAA':
      return rs.data.every((a) => isIPv6(a)) ? undefined : 'AAAA data must be IPv6 literals';
    case 'CNAME':
      if (rs.data.length !== 1) return 'CNAME must have exactly one target';
      if (absName(rs.name) === absName(zone)) return 'CNAME at the zone apex';
      try {
        wireKey(absName(rs.data[0] as string));
      } catch {
        return `bad CNAME target ${rs.data[0]}`;
      }
      return undefined;
    case 'TXT':
      return rs.data.every((s) => typeof s === 'string') ? undefined : 'TXT data must be strings';
    case 'RRSIG':
    case 'NSEC3':
    case 'NSEC3PARAM':
    case 'DNSKEY':
    case 'CDS':
    case 'CDNSKEY':
      try {
        for (const d of rs.data) rdataWire(rs.type, d);
      } catch (err) {
        return `bad ${rs.type} data: ${(err as Error).message}`;
      }
      return undefined;
    default:
      return `unsupported type ${String(rs.type)}`;
  }
}

function absName(n: string): string {
  const l = n.toLowerCase();
  return l.endsWith('.') ? l : `${l}.`;
}

export class ZoneIndex {
  readonly config: FederationConfig;
  readonly zone: string;
  readonly zoneKey: string;
  /** owner wire key → node (names with data and empty non-terminals). */
  readonly nodes = new Map<string, ZoneNode>();
  /** CNAME target key → keys of the names whose CNAME points at it. */
  private readonly rev = new Map<string, Set<string>>();
  private readonly apexNode: ZoneNode;
  private readonly nsKeys = new Set<string>();
  private _serial = 0;
  private _size = 0;
  /** The negative SOA (owner and in-zone names point into the question). */
  soaTail: SoaTail = { bytes: EMPTY, ptrs: [], count: 1 };
  /** The same with the SOA's RRSIG, for DO=1 on a signed zone. */
  soaTailDo: SoaTail = { bytes: EMPTY, ptrs: [], count: 1 };
  /** The NSEC3 chain (hashed owners are not names of the zone). */
  readonly nsec3: Nsec3Index;
  /** DO=1 NXDOMAIN replies by the query's name (bounded; emptied whenever an NSEC3 changes). */
  private readonly nxCache = new Map<string, Answer>();
  /** NSEC3 owner hash → keys of the names whose compiled DO=1 answers carry that NSEC3. */
  private readonly nsec3Users = new Map<string, Set<string>>();
  /** Record sets refused by the last replaceAll/applyDiff, with the reason (never served). */
  rejected: { recordSet: RecordSet; reason: string }[] = [];
  /** Count of answers compiled (for tests and metrics). */
  compiled = 0;

  readonly nxdomain = NXDOMAIN;
  readonly nodata = NODATA;

  constructor(config: FederationConfig) {
    this.config = config;
    this.zone = absName(config.zone);
    this.zoneKey = wireKey(this.zone);
    this.apexNode = new ZoneNode(this.zone, this.zoneKey, true);
    this.nsec3 = new Nsec3Index(this.zone);
    this.nodes.set(this.zoneKey, this.apexNode);
    for (const ns of config.nameservers) {
      const name = absName(ns.name);
      if (!isInZone(name, this.zone)) continue;
      const key = wireKey(name);
      this.nsKeys.add(key);
      const v4 = ns.addresses.filter((a) => isIPv4(a));
      const v6 = ns.addresses.filter((a) => isIPv6(a));
      const common = { name, ttl: config.soa.ttl, level: 'global' as const, namespace: '', service: '' };
      if (v4.length) this.setRR({ ...common, type: 'A', data: v4 }, true);
      if (v6.length) this.setRR({ ...common, type: 'AAAA', data: v6 }, true);
    }
    this.compileSoaTail();
  }

  get serial(): number {
    return this._serial;
  }

  /** Number of record sets loaded through replaceAll/applyDiff (apex SOA/NS and config glue not counted). */
  get size(): number {
    return this._size;
  }

  /** Negative TTL (RFC 2308 3): min(SOA TTL, SOA MINIMUM). */
  get negativeTtl(): number {
    return Math.min(this.config.soa.ttl, this.config.soa.minimum);
  }

  /** Full (re)load. */
  replaceAll(serial: number, recordSets: RecordSet[]): void {
    for (const node of [...this.nodes.values()]) {
      if (node.apex) {
        node.dyn = {};
        node.below = 0;
        node.answers = undefined;
      } else if (Object.keys(node.base).length === 0) {
        this.nodes.delete(node.key);
      } else {
        node.dyn = {};
        node.below = 0;
        node.answers = undefined;
      }
    }
    this.rev.clear();
    this.nsec3.clear();
    this.nsec3Users.clear();
    this.nxCache.clear();
    // Recount ancestors of config glue names.
    for (const node of this.nodes.values()) if (!node.apex && node.hasData) this.addAncestors(node.name, null);
    this._size = 0;
    this.rejected = [];
    this._serial = serial >>> 0;
    for (const rs of recordSets) this.upsert(rs, null);
    this.compileSoaTail();
  }

  /** Incremental update: invalidates only touched names and the names whose CNAME chains reach them. */
  applyDiff(serial: number, diff: RecordSetDiff): void {
    const touched = new Set<string>();
    this.touchedHashes.clear();
    this.rejected = [];
    for (const rs of diff.deletes) this.remove(rs, touched);
    for (const rs of diff.upserts) this.upsert(rs, touched);
    if ((serial >>> 0) !== this._serial) {
      this._serial = serial >>> 0;
      this.compileSoaTail();
      touched.add(this.zoneKey);
    }
    if (this.touchedHashes.size) {
      this.touchedHashes.add('*');
      this.nxCache.clear();
    }
    for (const h of this.touchedHashes) {
      for (const k of this.nsec3Users.get(h) ?? []) touched.add(k);
      this.nsec3Users.delete(h);
    }
    for (const k of touched) {
      if (this.nsKeys.has(k)) {
        touched.add(this.zoneKey);
        break;
      }
    }
    this.invalidate(touched);
  }

  /** The compiled answer for a node and slot (compiled on first use after a change). */
  answer(node: ZoneNode, slot: number): Answer {
    let answers = node.answers;
    if (!answers) {
      answers = new Array<Answer | undefined>(SLOTS);
      node.answers = answers;
    }
    let a = answers[slot];
    if (!a) {
      a = this.compile(node, slot);
      answers[slot] = a;
    }
    return a;
  }

  /** The zone is signed (a DNSKEY at the apex): DO=1 queries get the signed variants. */
  get signed(): boolean {
    return this.apexNode.dyn.DNSKEY !== undefined;
  }

  /** The DO=1 answer for a node and slot on a signed zone: RRSIGs with each RRset, NSEC3 for denial. */
  answerDo(node: ZoneNode, slot: number): Answer {
    let answers = node.answers;
    if (!answers) {
      answers = new Array<Answer | undefined>(SLOTS * 2);
      node.answers = answers;
    }
    let a = answers[SLOTS + slot];
    if (!a) {
      a = this.compile(node, slot, true);
      answers[SLOTS + slot] = a;
    }
    return a;
  }

  /**
   * NXDOMAIN with DO=1 on a signed zone, for one query (RFC 5155 7.2.2): the
   * NSEC3 matching the closest encloser, the one covering the next closer
   * name, the one covering the wildcard — found by hash, copied from their
   * compiled blocks, owners pointed at the zone in this query's question.
   */
  nxdomainDo(key: string, nameEnd: number): Answer {
    // Names asked for again (a resolver retrying, a typo many clients make) reuse their reply until the chain changes.
    const cached = this.nxCache.get(key);
    if (cached) return cached;
    const blocks = this.nxProof(key);
    let len = 0;
    let count = 0;
    for (const b of blocks) {
      len += b.bytes.length;
      count += b.count;
    }
    const body = Buffer.allocUnsafe(len);
    const ptr = 0xc000 | (nameEnd - this.zoneKey.length);
    let at = 0;
    for (const b of blocks) {
      b.bytes.copy(body, at);
      for (const p of b.ptrs) body.writeUInt16BE(ptr, at + p);
      at += b.bytes.length;
    }
    const answer: Answer = { rcode: RCODE.NXDOMAIN, an: 0, ns: count, ar: 0, body, soa: true };
    if (this.nxCache.size >= NX_CACHE) this.nxCache.clear();
    this.nxCache.set(key, answer);
    return answer;
  }

  /** The closest encloser proof of a name that does not exist (a lower-case wire key in the zone). */
  private nxProof(key: string): PatchBlock[] {
    let nc = key;
    let ce = key.slice(key.charCodeAt(0) + 1);
    let node = this.nodes.get(ce);
    while (!node && ce.length > this.zoneKey.length) {
      nc = ce;
      ce = ce.slice(ce.charCodeAt(0) + 1);
      node = this.nodes.get(ce);
    }
    node ??= this.apexNode;
    node.hash ??= hashKey(node.key);
    node.wildHash ??= hashKey(`\x01*${node.key}`);
    const owners = new Set<string>();
    for (const h of [node.hash, hashKey(nc), node.wildHash]) {
      const o = this.nsec3.find(h);
      if (o) owners.add(o);
    }
    const out: PatchBlock[] = [];
    for (const o of owners) {
      const b = this.nsec3.block(o);
      if (b) out.push(b);
    }
    return out;
  }

  /** True when a wire key lies in the zone (label-aligned suffix match). */
  keyInZone(key: string): boolean {
    const zl = this.zoneKey.length;
    let i = 0;
    while (i < key.length) {
      if (key.length - i === zl) return key.endsWith(this.zoneKey);
      i += key.charCodeAt(i) + 1;
    }
    return false;
  }

  /** Every served record set (store data, DNSSEC records, config glue), owners absolute and lower case; apex SOA/NS excluded. */
  *recordSets(): Generator<RecordSet> {
    for (const node of this.nodes.values()) {
      for (const t of ['A', 'AAAA', 'CNAME', 'TXT', 'DNSKEY', 'NSEC3PARAM', 'CDS', 'CDNSKEY', 'RRSIG'] as const) {
        const rs = node.rr(t);
        if (rs) yield rs;
      }
    }
    yield* this.nsec3.recordSets();
  }

  /** Eagerly compiles every answer (optional; answers are otherwise compiled on first query). */
  warm(): void {
    for (const node of this.nodes.values()) {
      if (!node.hasData) continue;
      for (let s = 0; s < SLOTS; s++) this.answer(node, s);
    }
  }

  // ---- maintenance -------------------------------------------------------

  /** NSEC3 hashes whose records changed in the current applyDiff. */
  private readonly touchedHashes = new Set<string>();

  private upsert(given: RecordSet, touched: Set<string> | null): void {
    const problem = recordProblem(given, this.zone);
    if (problem) {
      this.rejected.push({ recordSet: given, reason: problem });
      return;
    }
    if (this.nsec3.owns(given)) {
      const h = this.nsec3.upsert({ ...given, name: absName(given.name) });
      if (h) this.touchedHashes.add(h);
      return;
    }
    let rs = given;
    const pp = policyProblem(rs);
    if (pp) {
      // Served as published (every address), without the choice it cannot make.
      this.rejected.push({ recordSet: rs, reason: `policy ignored: ${pp}` });
      rs = { ...rs, policy: undefined };
    }
    const name = absName(rs.name);
    const key = wireKey(name);
    if (touched) touched.add(key);
    const node = this.nodes.get(key);
    if (!node?.dyn[rs.type]) this._size++;
    this.setRR({ ...rs, name }, false, touched);
  }

  private remove(rs: RecordSet, touched: Set<string>): void {
    if (this.nsec3.owns(rs)) {
      const h = this.nsec3.remove(rs);
      if (h) this.touchedHashes.add(h);
      return;
    }
    let key: string;
    try {
      key = wireKey(absName(rs.name));
    } catch {
      return;
    }
    const node = this.nodes.get(key);
    if (!node?.dyn[rs.type]) return;
    touched.add(key);
    const hadData = node.hasData;
    if (rs.type === 'CNAME') this.unlinkCname(node);
    delete node.dyn[rs.type];
    this._size--;
    if (rs.type === 'CNAME' && node.base.CNAME) this.linkCname(node);
    if (hadData && !node.hasData) {
      this.removeAncestors(node.name, touched);
      if (node.below === 0) this.nodes.delete(key);
    }
  }

  private setRR(rs: RecordSet, isBase: boolean, touched: Set<string> | null = null): void {
    const key = wireKey(rs.name);
    let node = this.nodes.get(key);
    if (!node) {
      node = new ZoneNode(rs.name, key, false);
      this.nodes.set(key, node);
    }
    const hadData = node.hasData;
    if (rs.type === 'CNAME') this.unlinkCname(node);
    if (isBase) node.base[rs.type] = rs;
    else node.dyn[rs.type] = rs;
    if (rs.type === 'CNAME') this.linkCname(node);
    if (!hadData) this.addAncestors(node.name, touched);
  }

  private linkCname(node: ZoneNode): void {
    const target = node.rr('CNAME')?.data[0];
    if (!target) return;
    const tkey = wireKey(absName(target));
    let set = this.rev.get(tkey);
    if (!set) {
      set = new Set();
      this.rev.set(tkey, set);
    }
    set.add(node.key);
  }

  private unlinkCname(node: ZoneNode): void {
    const target = node.rr('CNAME')?.data[0];
    if (!target) return;
    const tkey = wireKey(absName(target));
    const set = this.rev.get(tkey);
    if (!set) return;
    set.delete(node.key);
    if (set.size === 0) this.rev.delete(tkey);
  }

  /** Proper ancestors of `name` strictly below the apex. */
  private *ancestors(name: string): Generator<string> {
    let n = name;
    while (n !== this.zone) {
      const dot = n.indexOf('.');
      if (dot < 0 || dot === n.length - 1) return;
      n = n.slice(dot + 1);
      if (n === this.zone) return;
      yield n;
    }
  }

  private addAncestors(name: string, touched: Set<string> | null): void {
    for (const anc of this.ancestors(name)) {
      const key = wireKey(anc);
      let node = this.nodes.get(key);
      if (!node) {
        node = new ZoneNode(anc, key, false);
        this.nodes.set(key, node);
        touched?.add(key);
      }
      node.below++;
    }
  }

  private removeAncestors(name: string, touched: Set<string>): void {
    for (const anc of this.ancestors(name)) {
      const key = wireKey(anc);
      const node = this.nodes.get(key);
      if (!node) continue;
      node.below--;
      if (node.below <= 0) {
        node.below = 0;
        if (!node.hasData) {
          this.nodes.delete(key);
          touched.add(key);
        }
      }
    }
  }

  /** Drops the compiled answers of `keys` and of every name whose CNAME chain reaches one of them. */
  private invalidate(keys: Iterable<string>): void {
    const queue = [...keys];
    const seen = new Set<string>(queue);
    while (queue.length) {
      const k = queue.pop() as string;
      const node = this.nodes.get(k);
      if (node) node.answers = undefined;
      const srcs = this.rev.get(k);
      if (!srcs) continue;
      for (const s of srcs) {
        if (!seen.has(s)) {
          seen.add(s);
          queue.push(s);
        }
      }
    }
  }

  // ---- compilation -------------------------------------------------------

  private compileSoaTail(): void {
    const soa = this.config.soa;
    const zk = Buffer.from(this.zoneKey, 'latin1');
    const parts: number[] = [];
    const ptrs: number[] = [];
    const put16 = (v: number) => parts.push((v >> 8) & 0xff, v & 0xff);
    const put32 = (v: number) => {
      put16((v >>> 16) & 0xffff);
      put16(v & 0xffff);
    };
    const putName = (name: string) => {
      const n = absName(name);
      if (n === this.zone) {
        ptrs.push(parts.length);
        put16(0);
        return;
      }
      if (isInZone(n, this.zone)) {
        const prefix = Buffer.from(wireKey(n), 'latin1').subarray(0, -zk.length);
        parts.push(...prefix);
        ptrs.push(parts.length);
        put16(0);
        return;
      }
      parts.push(...Buffer.from(wireKey(n), 'latin1'));
    };
    putName(this.zone);
    put16(TYPE.SOA);
    put16(CLASS_IN);
    put32(this.negativeTtl);
    const rdlenAt = parts.length;
    put16(0);
    putName(soa.mname);
    putName(soa.rname);
    put32(this._serial);
    put32(soa.refresh);
    put32(soa.retry);
    put32(soa.expire);
    put32(soa.minimum);
    const rdlen = parts.length - rdlenAt - 2;
    parts[rdlenAt] = (rdlen >> 8) & 0xff;
    parts[rdlenAt + 1] = rdlen & 0xff;
    this.soaTail = { bytes: Buffer.from(parts), ptrs, count: 1 };
    // DO=1 on a signed zone: the SOA's RRSIG follows, its owner a pointer too (its signer name is uncompressed RDATA).
    const sig = rrsigRdatas(this.apexNode.dyn.RRSIG).find((x) => x.covered === 'SOA');
    if (!sig) {
      this.soaTailDo = this.soaTail;
      return;
    }
    ptrs.push(parts.length);
    put16(0);
    put16(46);
    put16(CLASS_IN);
    put32(this.negativeTtl);
    put16(sig.rdata.length);
    parts.push(...sig.rdata);
    this.soaTailDo = { bytes: Buffer.from(parts), ptrs, count: 2 };
  }

  private writeRRset(w: Writer, owner: string, rs: RecordSet): number {
    switch (rs.type) {
      case 'A':
      case 'AAAA': {
        const t = rs.type === 'A' ? TYPE.A : TYPE.AAAA;
        for (const addr of rs.data) {
          const at = w.rrHeader(owner, t, rs.ttl);
          w.bytes(rs.type === 'A' ? ipv4Bytes(addr) : ipv6Bytes(addr));
          w.endRdata(at);
        }
        return rs.data.length;
      }
      case 'CNAME': {
        const at = w.rrHeader(owner, TYPE.CNAME, rs.ttl);
        w.name(absName(rs.data[0] as string));
        w.endRdata(at);
        return 1;
      }
      case 'TXT': {
        for (const s of rs.data) {
          const at = w.rrHeader(owner, TYPE.TXT, rs.ttl);
          w.bytes(txtRdata([s]));
          w.endRdata(at);
        }
        return rs.data.length;
      }
      case 'RRSIG':
        for (const s of rrsigRdatas(rs)) {
          const at = w.rrHeader(owner, 46, s.ttl);
          w.bytes(s.rdata);
          w.endRdata(at);
        }
        return rs.data.length;
      default: {
        // DNSKEY, NSEC3PARAM, CDS, CDNSKEY (NSEC3 lives in the chain index): no names inside, RDATA as is.
        const t = typeCode(rs.type);
        for (const d of rs.data) {
          const at = w.rrHeader(owner, t, rs.ttl);
          w.bytes(rdataWire(rs.type, d));
          w.endRdata(at);
        }
        return rs.data.length;
      }
    }
  }

  /** The RRSIGs at `node` covering `type` (DO=1 answers). */
  private writeSigs(w: Writer, node: ZoneNode, type: string): number {
    let n = 0;
    for (const s of rrsigRdatas(node.rr('RRSIG'))) {
      if (s.covered !== type) continue;
      const at = w.rrHeader(node.name, 46, s.ttl);
      w.bytes(s.rdata);
      w.endRdata(at);
      n++;
    }
    return n;
  }

  /**
   * Copies NSEC3 blocks into an answer being compiled for `user` (a question
   * of its length: the zone's pointer is fixed) and remembers who uses them.
   */
  private writeBlocks(w: Writer, user: ZoneNode, owners: (string | undefined)[]): number {
    const ptr = 0xc000 | (12 + user.key.length - this.zoneKey.length);
    let n = 0;
    for (const o of new Set(owners)) {
      const b = o ? this.nsec3.block(o) : undefined;
      if (!o || !b) continue;
      const at = w.pos;
      w.bytes(b.bytes);
      for (const p of b.ptrs) w.buf.writeUInt16BE(ptr, at + p);
      n += b.count;
      this.usersOf(o).add(user.key);
    }
    return n;
  }

  /** NODATA proof: the NSEC3 whose owner is the hash of `node` (its bitmap lacks the type; empty for an ENT). */
  private writeNodata(w: Writer, user: ZoneNode, node: ZoneNode): number {
    node.hash ??= hashKey(node.key);
    return this.writeBlocks(w, user, [this.nsec3.find(node.hash)]);
  }

  private writeSoa(w: Writer): number {
    const soa = this.config.soa;
    const at = w.rrHeader(this.zone, TYPE.SOA, soa.ttl);
    w.name(absName(soa.mname));
    w.name(absName(soa.rname));
    w.u32(this._serial);
    w.u32(soa.refresh);
    w.u32(soa.retry);
    w.u32(soa.expire);
    w.u32(soa.minimum);
    w.endRdata(at);
    return 1;
  }

  private writeNs(w: Writer): number {
    for (const ns of this.config.nameservers) {
      const at = w.rrHeader(this.zone, TYPE.NS, this.config.soa.ttl);
      w.name(absName(ns.name));
      w.endRdata(at);
    }
    return this.config.nameservers.length;
  }

  /** Glue: A/AAAA of the in-zone nameserver names. */
  private writeGlue(w: Writer): number {
    let n = 0;
    for (const ns of this.config.nameservers) {
      const node = this.nodes.get(wireKey(absName(ns.name)));
      if (!node) continue;
      for (const t of ['A', 'AAAA'] as const) {
        const rs = node.rr(t);
        if (rs) n += this.writeRRset(w, node.name, rs);
      }
    }
    return n;
  }

  /** Writes the `slot` RRset of `node` if it has one (or `override`'s, for that node); returns the RR count (0 = none). */
  private writeSlot(w: Writer, node: ZoneNode, slot: number, override?: Override): number {
    switch (slot) {
      case SLOT.A:
      case SLOT.AAAA: {
        const rs = override && override.node === node ? override.rs : node.rr(slot === SLOT.A ? 'A' : 'AAAA');
        return rs ? this.writeRRset(w, node.name, rs) : 0;
      }
      case SLOT.TXT: {
        const rs = node.rr('TXT');
        return rs ? this.writeRRset(w, node.name, rs) : 0;
      }
      case SLOT.CNAME: {
        const rs = node.rr('CNAME');
        return rs ? this.writeRRset(w, node.name, rs) : 0;
      }
      case SLOT.SOA:
        return node.apex ? this.writeSoa(w) : 0;
      case SLOT.NS:
        return node.apex && this.config.nameservers.length ? this.writeNs(w) : 0;
      case SLOT.DNSKEY:
      case SLOT.NSEC3PARAM:
      case SLOT.CDS:
      case SLOT.CDNSKEY:
      case SLOT.RRSIG: {
        const rs = node.rr(SLOT_TYPE[slot] as RecordType);
        return rs ? this.writeRRset(w, node.name, rs) : 0;
      }
      default:
        return 0;
    }
  }

  private compile(node: ZoneNode, slot: number, dnssec = false, override?: Override): Answer {
    this.compiled++;
    if (!node.hasData && !dnssec) return NODATA;
    const w = new Writer(512);
    w.pos = 12;
    w.bytes(Buffer.from(node.key, 'latin1'));
    w.remember(node.name, 12);
    w.pos += 4;
    const bodyStart = w.pos;
    let an = 0;
    let ns = 0;
    let ar = 0;
    let rcode: number = RCODE.NOERROR;
    let soa = false;
    let policyAt: { node: ZoneNode; rs: RecordSet } | undefined;
    // DO=1: every RRset with its RRSIGs (a query for RRSIG itself gets none of its own).
    const sigs = (n: ZoneNode, s: number) => (dnssec && s !== SLOT.RRSIG ? this.writeSigs(w, n, SLOT_TYPE[s] as string) : 0);

    if (!node.hasData) {
      soa = true; // an empty non-terminal: NODATA, with its NSEC3 (empty bitmap)
      ns += this.writeNodata(w, node, node);
    } else if (slot === SLOT.ANY) {
      // RFC 8482: one RRset, never the whole node.
      for (const s of node.apex ? [SLOT.SOA] : [SLOT.CNAME, SLOT.A, SLOT.AAAA, SLOT.TXT]) {
        an = this.writeSlot(w, node, s);
        if (an) {
          an += sigs(node, s);
          break;
        }
      }
      if (!an) {
        soa = true;
        if (dnssec) ns += this.writeNodata(w, node, node);
      }
    } else {
      let cur = node;
      const seen = new Set<ZoneNode>();
      for (let hops = 0; ; hops++) {
        seen.add(cur);
        const n = this.writeSlot(w, cur, slot, override);
        if (n) {
          an += n + sigs(cur, slot);
          if (slot === SLOT.NS && cur.apex) ar += this.writeGlue(w);
          // The chain ends at an address set with a traffic policy: the query picks among its variants.
          // Not with DO=1 on a signed zone: a variant is a subset of the RRset, which the set's RRSIG
          // does not cover; the validating answer is the whole signed set (README: DNSSEC and traffic policy).
          if (!override && !dnssec && (slot === SLOT.A || slot === SLOT.AAAA)) {
            const rs = cur.rr(slot === SLOT.A ? 'A' : 'AAAA');
            if (rs?.policy) policyAt = { node: cur, rs };
          }
          break;
        }
        const cname = slot === SLOT.CNAME ? undefined : cur.rr('CNAME');
        if (!cname) {
          soa = true; // NODATA at the end of the chain
          if (dnssec) ns += this.writeNodata(w, node, cur);
          break;
        }
        an += this.writeRRset(w, cur.name, cname) + sigs(cur, SLOT.CNAME);
        const target = absName(cname.data[0] as string);
        if (!isInZone(target, this.zone)) break; // out of zone: the CNAME alone
        const tkey = wireKey(target);
        const next = this.nodes.get(tkey);
        if (!next) {
          rcode = RCODE.NXDOMAIN; // RFC 6604: RCODE of the end of the chain
          soa = true;
          if (dnssec) {
            const blocks = this.nxProof(tkey);
            for (const b of blocks) {
              const at = w.pos;
              w.bytes(b.bytes);
              for (const p of b.ptrs) w.buf.writeUInt16BE(0xc000 | (12 + node.key.length - this.zoneKey.length), at + p);
              ns += b.count;
            }
            // The proof changes with any NSEC3: recompiled on every chain change through the apex's users.
            this.usersOf('*').add(node.key);
          }
          break;
        }
        if (!next.hasData) {
          soa = true; // empty non-terminal: NODATA
          if (dnssec) ns += this.writeNodata(w, node, next);
          break;
        }
        if (seen.has(next) || hops >= 16) break; // loop: what we have so far
        cur = next;
      }
    }
    if (!dnssec && an === 0 && ar === 0 && rcode === RCODE.NOERROR && soa) return NODATA;
    const answer: Answer = { rcode, an, ns, ar, body: w.result(bodyStart), soa };
    if (policyAt) {
      const at = policyAt;
      const choice = buildChoice(at.rs, (data) => this.compile(node, slot, false, { node: at.node, rs: { ...at.rs, data, policy: undefined } }));
      if (choice) answer.choice = choice;
    }
    return answer;
  }

  private usersOf(h: string): Set<string> {
    let users = this.nsec3Users.get(h);
    if (!users) this.nsec3Users.set(h, (users = new Set()));
    return users;
  }
}

/** The one RRset a compile writes in place of a node's own (a variant's data). */
interface Override {
  node: ZoneNode;
  rs: RecordSet;
}

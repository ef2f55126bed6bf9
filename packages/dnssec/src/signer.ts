/**
 * The zone writer's signer (issue 15): sign on commit, not per query. It keeps
 * the zone as the store holds it (data, RRSIG sets, the NSEC3 chain) and turns
 * each data diff into the signed diff that goes into the same commit: new
 * RRSIGs for the RRsets that changed, the NSEC3 records whose owner appeared,
 * vanished or changed types (and their predecessors), and, through the commit
 * hook, the apex RRSIG set with the SOA signed for the commit's serial.
 * Pure: no I/O; the caller loads it from a snapshot and reloads after a failed commit.
 */
import { type RecordSet, type RecordSetDiff, isDnssecType } from '@fedns/model';
import { Nsec3Chain } from './chain.js';
import { CDNSKEY_DELETE, CDS_DELETE, dnskeyText, dsText, publicKeyObject, type SigningKey } from './keys.js';
import { absName, parentName } from './names.js';
import { NSEC3PARAM_TEXT, nsec3Hash } from './nsec3.js';
import { parseSigTime, soaRdata, soaText } from './rdata.js';
import { type RRset, parseRrsig, signRRset, verifyRRset } from './sign.js';
import { DEFAULT_TIMING, type SignerTiming, type SignerZone, configSets } from './zone.js';

/** Which keys do what (the rollover decides). */
export interface KeyPlan {
  /** Keys in the DNSKEY RRset. */
  published: SigningKey[];
  /** The key that signs every RRset except DNSKEY, CDS and CDNSKEY. */
  active: SigningKey;
  /** The keys that sign DNSKEY, CDS and CDNSKEY (those a DS at the parent may name). */
  entry: SigningKey[];
  /** CDS/CDNSKEY: the keys the parent's DS should name, 'delete' (RFC 8078), or none. */
  cds?: SigningKey[] | 'delete';
}

interface Sig {
  text: string;
  expires: number;
  tag: number;
  ttl: number;
}

/** RRsets signed with the entry keys (a DS may point at them). */
const ENTRY_TYPES = new Set(['DNSKEY', 'CDS', 'CDNSKEY']);
const APEX_MANAGED = ['DNSKEY', 'NSEC3PARAM', 'CDS', 'CDNSKEY'] as const;

const zoneSet = (name: string, type: RecordSet['type'], ttl: number, data: string[]): RecordSet => ({ name, type, ttl, data, level: 'global', namespace: '', service: '' });
const sigOf = (text: string): Sig => {
  const i = parseRrsig(text);
  return { text, expires: parseSigTime(i.expiration), tag: i.tag, ttl: i.originalTtl };
};

export class ZoneSigner {
  readonly zone: string;
  private readonly timing: SignerTiming;
  private plan: KeyPlan | undefined;
  /** name → type → RRset: store data, the config's NS and glue, the apex DNSSEC sets. */
  private readonly data = new Map<string, Map<string, RecordSet>>();
  private readonly below = new Map<string, number>();
  /** name → covered type → RRSIGs (the SOA's apart). */
  private readonly sigs = new Map<string, Map<string, Sig[]>>();
  private soaSig: Sig | undefined;
  private readonly chain = new Nsec3Chain();
  private readonly chainSigs = new Map<string, Sig>();
  private readonly hashOf = new Map<string, string>();
  private out = new Map<string, RecordSet | null>();
  /** Signatures made so far (metrics). */
  signatures = 0;

  constructor(
    private readonly cfg: SignerZone,
    timing: Partial<SignerTiming> = {},
  ) {
    this.zone = absName(cfg.zone);
    this.timing = { ...DEFAULT_TIMING, ...timing };
    for (const rs of configSets(cfg)) this.setData(rs);
  }

  get negativeTtl(): number {
    return Math.min(this.cfg.soa.ttl, this.cfg.soa.minimum);
  }

  /** Loads what the store holds (a snapshot's record sets). */
  load(recordSets: Iterable<RecordSet>): void {
    for (const rs of recordSets) {
      const name = absName(rs.name);
      if (rs.type === 'RRSIG') {
        const list = rs.data.map(sigOf);
        if (list.length && parseRrsig(rs.data[0] as string).covered === 'NSEC3') this.chainSigs.set(name.split('.')[0] as string, list[0] as Sig);
        else for (const s of list) this.addSig(name, s);
      } else if (rs.type === 'NSEC3') this.chain.insert(name.split('.')[0] as string, { text: rs.data[0] });
      else if (!isDnssecType(rs.type) || name === this.zone) this.setData({ ...rs, name });
    }
    for (const name of this.existing()) {
      const h = this.hash(name);
      if (this.chain.has(h)) this.chain.insert(h, { name });
    }
  }

  /** Sets the keys; the next `sign` brings DNSKEY, CDS, CDNSKEY and every signature in line. */
  setKeys(plan: KeyPlan): void {
    this.plan = plan;
  }

  get keys(): KeyPlan | undefined {
    return this.plan;
  }

  /**
   * The signed diff for a data diff: the data diff itself plus every DNSSEC
   * record set that changes with it (the apex RRSIG set excepted: `soaHook`).
   * `full` checks the whole zone (after a load: missing, stale or foreign
   * signatures, the NSEC3 chain); `refresh` re-signs up to that many RRsets
   * whose signatures expire soon or were made by a key no longer active.
   */
  sign(diff: RecordSetDiff, now: number, opts: { full?: boolean; refresh?: number } = {}): RecordSetDiff {
    const plan = this.plan;
    if (!plan) throw new Error('dnssec: no keys');
    this.out = new Map();
    const touched = new Set<string>();
    const changed = new Map<string, Set<string>>();
    const exist = new Set<string>();
    const mark = (name: string, type: string) => {
      touched.add(name);
      exist.add(name);
      let s = changed.get(name);
      if (!s) changed.set(name, (s = new Set()));
      s.add(type);
    };
    for (const rs of diff.deletes) {
      if (isDnssecType(rs.type)) continue;
      const name = absName(rs.name);
      if (this.removeData(name, rs.type, exist)) mark(name, rs.type);
    }
    for (const rs of diff.upserts) {
      if (isDnssecType(rs.type)) continue;
      const name = absName(rs.name);
      this.setData({ ...rs, name }, exist);
      mark(name, rs.type);
    }
    for (const rs of this.apexSets(plan)) {
      const cur = this.data.get(this.zone)?.get(rs.type);
      if (cur ? cur.data.join('\n') === rs.data.join('\n') && cur.ttl === rs.ttl : !rs.data.length) continue;
      if (rs.data.length) this.setData(rs);
      else this.removeData(this.zone, rs.type, exist);
      this.emit(rs.data.length ? rs : zoneSet(this.zone, rs.type, rs.ttl, []), !rs.data.length);
      mark(this.zone, rs.type);
    }
    if (opts.full) {
      // The config's NS and glue are not stored, only their signatures: a changed config shows as a
      // signature that no longer verifies.
      for (const rs of configSets(this.cfg)) {
        const sigs = this.sigs.get(rs.name)?.get(rs.type) ?? [];
        const ok = sigs.length > 0 && sigs.every((sg) => sg.tag !== plan.active.tag || verifyRRset(this.rrsetOf(rs), sg.text, publicKeyObject(plan.active.publicKey)));
        if (!ok) mark(rs.name, rs.type);
      }
      for (const name of this.data.keys()) touched.add(name);
      for (const name of this.sigs.keys()) touched.add(name);
      for (const name of this.existing()) exist.add(name);
    }
    if (opts.refresh) this.dueForRefresh(now, opts.refresh, mark);
    touched.add(this.zone);
    for (const name of touched) this.resign(name, changed.get(name), now);
    this.updateChain(exist, now, Boolean(opts.full));
    const upserts = [...diff.upserts];
    const deletes = [...diff.deletes];
    for (const [, rs] of this.out) if (rs) upserts.push(rs);
    for (const [k, rs] of this.out) if (!rs) deletes.push(zoneSet(k.slice(0, k.lastIndexOf('/')), k.slice(k.lastIndexOf('/') + 1) as RecordSet['type'], 0, []));
    this.out = new Map(); // a whole zone's worth after a full signing: not kept
    return { upserts, deletes };
  }

  /** The commit hook: the apex RRSIG set, the SOA signed for the serial the store chose. */
  soaHook(now: number): (serial: number) => RecordSet[] {
    return (serial) => {
      const plan = this.plan as KeyPlan;
      const soa: RRset = { name: this.zone, type: 'SOA', ttl: this.cfg.soa.ttl, data: [soaText(this.cfg.soa, serial)], wire: [soaRdata(this.cfg.soa, serial)] };
      this.soaSig = this.makeSig(soa, plan.active, now);
      return [this.rrsigSet(this.zone)];
    };
  }

  /** Every DNSSEC record set deleted (going unsigned), and the state cleared of them. */
  unsign(): RecordSetDiff {
    const deletes: RecordSet[] = [];
    for (const name of new Set([...this.sigs.keys(), this.zone])) deletes.push(zoneSet(name, 'RRSIG', 0, []));
    for (const h of this.chain.hashes) deletes.push(zoneSet(`${h}.${this.zone}`, 'NSEC3', 0, []), zoneSet(`${h}.${this.zone}`, 'RRSIG', 0, []));
    for (const t of APEX_MANAGED) if (this.data.get(this.zone)?.has(t)) deletes.push(zoneSet(this.zone, t, 0, []));
    return { upserts: [], deletes };
  }

  /** The earliest signature expiry (Unix seconds), or undefined when nothing is signed. */
  earliestExpiry(): number | undefined {
    let min: number | undefined;
    const see = (s: Sig) => {
      if (min === undefined || s.expires < min) min = s.expires;
    };
    for (const m of this.sigs.values()) for (const l of m.values()) l.forEach(see);
    for (const s of this.chainSigs.values()) see(s);
    return min;
  }

  /** True when every signature is made by the active key (entry-key sets by the entry keys). */
  allSignedByActive(): boolean {
    const plan = this.plan;
    if (!plan) return false;
    for (const m of this.sigs.values()) for (const [t, l] of m) if (!ENTRY_TYPES.has(t) && l.some((s) => s.tag !== plan.active.tag)) return false;
    for (const s of this.chainSigs.values()) if (s.tag !== plan.active.tag) return false;
    return true;
  }

  /** Presentation DS records of the entry keys, for the parent. */
  ds(): string[] {
    return (this.plan?.entry ?? []).map((k) => dsText(this.zone, k.flags, k.publicKey));
  }

  // ---- data ------------------------------------------------------------------------------------

  private *existing(): Generator<string> {
    yield this.zone;
    for (const name of this.data.keys()) if (name !== this.zone) yield name;
    for (const [name, n] of this.below) if (n > 0 && !this.data.has(name)) yield name;
  }

  private hash(name: string): string {
    let h = this.hashOf.get(name);
    if (!h) this.hashOf.set(name, (h = nsec3Hash(name)));
    return h;
  }

  private setData(rs: RecordSet, exist?: Set<string>): void {
    let m = this.data.get(rs.name);
    if (!m) {
      this.data.set(rs.name, (m = new Map()));
      this.walkUp(rs.name, 1, exist);
    }
    m.set(rs.type, rs);
  }

  private removeData(name: string, type: string, exist: Set<string>): boolean {
    const m = this.data.get(name);
    if (!m?.delete(type)) return false;
    if (m.size === 0 && name !== this.zone) {
      this.data.delete(name);
      this.walkUp(name, -1, exist);
    }
    return true;
  }

  /** Counts a name with data in (or out of) each ancestor below the apex: empty non-terminals come and go. */
  private walkUp(name: string, delta: number, exist?: Set<string>): void {
    for (let p = parentName(name); p && p !== this.zone && p.endsWith(this.zone); p = parentName(p)) {
      const n = (this.below.get(p) ?? 0) + delta;
      if (n > 0) this.below.set(p, n);
      else this.below.delete(p);
      exist?.add(p);
    }
  }

  private apexSets(plan: KeyPlan): RecordSet[] {
    const ttl = this.cfg.soa.ttl;
    const cds = plan.cds;
    return [
      zoneSet(this.zone, 'DNSKEY', ttl, plan.published.map((k) => dnskeyText(k.flags, k.publicKey)).sort()),
      zoneSet(this.zone, 'NSEC3PARAM', ttl, [NSEC3PARAM_TEXT]),
      zoneSet(this.zone, 'CDS', ttl, cds === 'delete' ? [CDS_DELETE] : (cds ?? []).map((k) => dsText(this.zone, k.flags, k.publicKey)).sort()),
      zoneSet(this.zone, 'CDNSKEY', ttl, cds === 'delete' ? [CDNSKEY_DELETE] : (cds ?? []).map((k) => dnskeyText(k.flags, k.publicKey)).sort()),
    ];
  }

  // ---- signatures ------------------------------------------------------------------------------

  private addSig(name: string, s: Sig): void {
    const covered = s.text.slice(0, s.text.indexOf(' '));
    if (name === this.zone && covered === 'SOA') {
      this.soaSig = s;
      return;
    }
    let m = this.sigs.get(name);
    if (!m) this.sigs.set(name, (m = new Map()));
    m.set(covered, [...(m.get(covered) ?? []), s]);
  }

  private makeSig(rs: RRset, key: SigningKey, now: number): Sig {
    const t = this.timing;
    const expiration = now + t.validity - Math.floor(Math.random() * t.jitter);
    this.signatures++;
    return { text: signRRset(rs, key, this.zone, now - t.inceptionOffset, expiration), expires: expiration, tag: key.tag, ttl: rs.ttl };
  }

  private fresh(list: Sig[] | undefined, keys: SigningKey[], ttl: number, now: number): boolean {
    if (!list || list.length !== keys.length) return false;
    return keys.every((k) => list.some((s) => s.tag === k.tag && s.ttl === ttl && s.expires - now > this.timing.refreshBefore));
  }

  private rrsetOf(rs: RecordSet): RRset {
    return { name: rs.name, type: rs.type, ttl: rs.ttl, data: rs.type === 'CNAME' || (rs.type as string) === 'NS' ? rs.data.map(absName) : rs.data };
  }

  /** Brings the RRSIG set of one name in line with its data. */
  private resign(name: string, changed: Set<string> | undefined, now: number): void {
    const plan = this.plan as KeyPlan;
    const before = this.sigs.get(name);
    const next = new Map<string, Sig[]>();
    for (const [type, rs] of this.data.get(name) ?? []) {
      const keys = ENTRY_TYPES.has(type) ? plan.entry : [plan.active];
      const cur = before?.get(type);
      const ok = !changed?.has(type) && this.fresh(cur, keys, rs.ttl, now);
      next.set(type, ok ? (cur as Sig[]) : keys.map((k) => this.makeSig(this.rrsetOf(rs), k, now)));
    }
    if (next.size) this.sigs.set(name, next);
    else this.sigs.delete(name);
    if (name === this.zone) return; // soaHook writes the apex set
    const text = (m: Map<string, Sig[]> | undefined) => [...(m?.values() ?? [])].flat().map((s) => s.text).sort().join('\n');
    if (text(before) === text(next)) return;
    if (next.size) this.emit(this.rrsigSet(name));
    else if (before?.size) this.emit(zoneSet(name, 'RRSIG', 0, []), true);
  }

  private rrsigSet(name: string): RecordSet {
    const list = [...(this.sigs.get(name)?.values() ?? [])].flat();
    if (name === this.zone && this.soaSig) list.push(this.soaSig);
    return zoneSet(name, 'RRSIG', Math.min(...list.map((s) => s.ttl)), list.map((s) => s.text).sort());
  }

  private emit(rs: RecordSet, del = false): void {
    this.out.set(`${rs.name}/${rs.type}`, del ? null : rs);
  }

  private dueForRefresh(now: number, limit: number, mark: (name: string, type: string) => void): void {
    const plan = this.plan as KeyPlan;
    let n = 0;
    const due = (s: Sig, type: string) => s.expires - now <= this.timing.refreshBefore || (!ENTRY_TYPES.has(type) && s.tag !== plan.active.tag);
    for (const [name, m] of this.sigs) {
      for (const [type, list] of m) {
        if (n >= limit) return;
        if (list.some((s) => due(s, type))) {
          mark(name, type);
          n++;
        }
      }
    }
    for (const [h, s] of this.chainSigs) {
      if (n >= limit) return;
      if (due(s, 'NSEC3')) {
        const e = this.chain.entries.get(h);
        if (e) e.text = undefined;
        if (e?.name) mark(e.name, 'NSEC3');
        n++;
      }
    }
  }

  // ---- NSEC3 -----------------------------------------------------------------------------------

  private typesAt(name: string): string[] {
    const m = this.data.get(name);
    const types = [...(m?.keys() ?? [])];
    if (name === this.zone) types.push('SOA', 'NS');
    if (types.length) types.push('RRSIG');
    return [...new Set(types)];
  }

  private updateChain(names: Set<string>, now: number, full: boolean): void {
    const dirty = new Set<string>();
    const removed = new Set<string>();
    const isName = (name: string) => name === this.zone || this.data.has(name) || (this.below.get(name) ?? 0) > 0;
    const drop = (h: string) => {
      const p = this.chain.remove(h);
      removed.add(h);
      dirty.delete(h);
      if (p) dirty.add(p);
    };
    const fresh: [string, { name: string }][] = [];
    for (const name of names) {
      const h = this.hash(name);
      if (isName(name)) {
        if (this.chain.has(h)) {
          this.chain.entries.set(h, { ...this.chain.entries.get(h), name });
          dirty.add(h);
        } else fresh.push([h, { name }]);
      } else if (this.chain.has(h)) drop(h);
    }
    if (fresh.length > 64) {
      // Many new names (a zone signed at once): one sort, and every entry's NSEC3 is made anyway.
      this.chain.insertMany(fresh);
      for (const [h] of fresh) {
        dirty.add(h);
        const p = this.chain.prev(h);
        if (p) dirty.add(p);
      }
    } else {
      for (const [h, e] of fresh) {
        const p = this.chain.insert(h, e);
        dirty.add(h);
        if (p) dirty.add(p);
      }
    }
    if (full) for (const h of [...this.chain.hashes]) if (!this.chain.entries.get(h)?.name) drop(h);
    const ttl = this.negativeTtl;
    for (const h of dirty) {
      const e = this.chain.entries.get(h);
      if (!e?.name) continue;
      const text = this.chain.textFor(h, this.typesAt(e.name));
      const owner = `${h}.${this.zone}`;
      const sig = this.chainSigs.get(h);
      if (text === e.text && this.fresh(sig ? [sig] : undefined, [(this.plan as KeyPlan).active], ttl, now)) continue;
      e.text = text;
      const nsec3 = zoneSet(owner, 'NSEC3', ttl, [text]);
      const s = this.makeSig(this.rrsetOf(nsec3), (this.plan as KeyPlan).active, now);
      this.chainSigs.set(h, s);
      this.emit(nsec3);
      this.emit(zoneSet(owner, 'RRSIG', ttl, [s.text]));
    }
    for (const h of removed) {
      this.chainSigs.delete(h);
      this.emit(zoneSet(`${h}.${this.zone}`, 'NSEC3', 0, []), true);
      this.emit(zoneSet(`${h}.${this.zone}`, 'RRSIG', 0, []), true);
    }
  }
}

/**
 * DNSSEC in the zone writer (issue 15): the RecordsReconciler hands each data
 * diff to `prepare`, which returns the signed diff and the serial hook for the
 * same commit. Keys and the signing state live in the store (private keys
 * sealed); a periodic `tick` reads that state (a rollover or DS confirmation
 * asked for by `fedns dnssec …`), steps the rollover and asks for a signing
 * commit (refreshes, re-signing with a new key in batches).
 */
import { randomBytes } from 'node:crypto';
import {
  CSK_FLAGS,
  DEFAULT_ROLLOVER_TIMING,
  type DnssecState,
  generateKey,
  type KeyPlan,
  keyRoles,
  loadKey,
  type RolloverTiming,
  type SignerTiming,
  type SignerZone,
  type SigningKey,
  stepRollover,
  withdrawDone,
  ZoneSigner,
} from '@fedns/dnssec';
import type { RecordSetDiff } from '@fedns/model';
import type { Fence, JournalEntry, SerialHook, Store, StoredDnssecKey } from '@fedns/store';
import type { Registry } from 'prom-client';
import { type Logger, SILENT } from './logger.js';
import { type DnssecMetrics, dnssecMetrics } from './metrics.js';

export interface ZoneSigningOptions {
  store: Store;
  zone: SignerZone;
  /** `--dnssec`: sign the zone; false on a signed zone starts going unsigned (RFC 8078). */
  enabled: boolean;
  fence?: () => Fence | undefined;
  timing?: Partial<SignerTiming>;
  rollover?: Partial<RolloverTiming>;
  /** Unix seconds (a test may compress it). */
  clock?: () => number;
  /** RRsets re-signed per commit by refreshes and key changes (default 5,000). */
  refreshBatch?: number;
  logger?: Logger;
  registry?: Registry;
  metrics?: DnssecMetrics;
}

export interface SignedCommit {
  diff: RecordSetDiff;
  onSerial?: SerialHook;
  /** Why, when the commit is the signer's own (a refresh, switching on or off). */
  cause?: string;
  /** Applied to the state once the commit landed. */
  after?: DnssecState;
}

export class ZoneSigning {
  private signer: ZoneSigner | undefined;
  private state: DnssecState = { signed: false };
  private keys: StoredDnssecKey[] = [];
  private stale = true;
  private readonly log: Logger;
  readonly metrics: DnssecMetrics;
  private pendingAfter: DnssecState | undefined;

  constructor(private readonly opts: ZoneSigningOptions) {
    this.log = opts.logger ?? SILENT;
    this.metrics = opts.metrics ?? dnssecMetrics(opts.registry);
  }

  private now(): number {
    return Math.floor(this.opts.clock?.() ?? Date.now() / 1000);
  }

  private get zone(): string {
    return this.opts.zone.zone;
  }

  private get timing(): RolloverTiming {
    return { ...DEFAULT_ROLLOVER_TIMING, ...this.opts.rollover };
  }

  /** The signed form of a data diff (undefined: the zone is and stays unsigned, commit it as it is). */
  async prepare(diff: RecordSetDiff, refresh: boolean): Promise<SignedCommit | undefined> {
    if (this.stale) await this.reload();
    const st = this.state;
    if (!st.signed && !this.opts.enabled) return undefined;
    if (!this.signer) await this.reload();
    const signer = this.signer as ZoneSigner;
    const now = this.now();
    const started = performance.now();
    const before = signer.signatures;
    let out: SignedCommit;
    if (st.signed && withdrawDone(st, now, this.timing)) {
      const unsigned = signer.unsign();
      out = { diff: { upserts: diff.upserts, deletes: [...diff.deletes, ...unsigned.deletes] }, cause: 'DNSSEC off: the DS is withdrawn; every signature, NSEC3 and DNSKEY removed', after: { signed: false } };
      this.stale = true; // the signer's state no longer matches; rebuilt on the next commit
    } else {
      signer.setKeys(this.plan());
      const full = !st.signed || this.fullCheckDue;
      const signed = signer.sign(diff, now, { full, refresh: refresh ? (this.opts.refreshBatch ?? 5000) : 0 });
      this.fullCheckDue = false;
      out = { diff: signed, onSerial: signer.soaHook(now) };
      if (!st.signed) out = { ...out, cause: 'DNSSEC on: the zone signed in one commit with its DNSKEY', after: { ...st, signed: true } };
      else if (diff.upserts.length + diff.deletes.length === 0 && signed.upserts.length + signed.deletes.length > 0) out.cause = 'DNSSEC: signatures refreshed';
    }
    this.metrics.signatures.inc(signer.signatures - before);
    this.metrics.signSeconds.observe((performance.now() - started) / 1000);
    this.pendingAfter = out.after;
    return out;
  }

  private fullCheckDue = true;

  /** The commit landed: record the state change it carried, and the metrics. */
  async committed(_entry: JournalEntry | undefined): Promise<void> {
    const after = this.pendingAfter;
    this.pendingAfter = undefined;
    if (after) {
      this.state = after;
      await this.opts.store.putDnssecState(this.zone, after, this.opts.fence?.());
      this.log.info({ zone: this.zone, signed: after.signed }, after.signed ? 'zone signed' : 'zone unsigned');
    }
    this.metrics.signed.set(this.state.signed ? 1 : 0);
  }

  /** The commit failed: the signer may hold what never landed; rebuild it from the store. */
  failed(): void {
    this.stale = true;
    this.pendingAfter = undefined;
  }

  /** Reads the store's state (`fedns dnssec …` writes there), steps the rollover; true when a signing commit is due. */
  async tick(): Promise<boolean> {
    if (this.stale) await this.reload();
    const store = this.opts.store;
    const fence = this.opts.fence?.();
    const stored = (await store.dnssecState<DnssecState>(this.zone)) ?? this.state;
    let st: DnssecState = { ...stored, signed: this.state.signed };
    const now = this.now();
    if (!this.opts.enabled && st.signed && !st.withdraw) {
      st = { ...st, withdraw: { since: now } };
      this.log.warn({ zone: this.zone }, 'DNSSEC switched off: CDS/CDNSKEY delete published; the zone stays signed until the DS is withdrawn (confirm with `fedns dnssec ds --withdrawn`)');
    }
    if (st.rolloverRequested !== undefined && !st.rollover && st.signed) {
      const old = this.keys.find((k) => k.state === 'active');
      if (old) {
        const nk = newStoredKey('published');
        await store.putDnssecKey(this.zone, nk, fence);
        this.keys.push(nk);
        const { rolloverRequested: _r, ...rest } = st;
        st = { ...rest, rollover: { phase: 'published', newKey: nk.id, oldKey: old.id, published: now } };
        this.log.info({ zone: this.zone, newKey: nk.id, oldKey: old.id }, 'DNSSEC rollover: new key published');
      }
    }
    const step = stepRollover(st, now, this.timing, { allSignedByActive: this.signer?.allSignedByActive() ?? false });
    if (step) {
      st = step.state;
      for (const [id, state] of Object.entries(step.keyStates ?? {})) {
        const k = this.keys.find((x) => x.id === id);
        if (k && k.state !== state) {
          k.state = state;
          await store.putDnssecKey(this.zone, k, fence);
        }
      }
      this.log.info({ zone: this.zone, phase: st.rollover?.phase ?? 'done' }, `DNSSEC rollover: ${step.event}`);
    }
    if (JSON.stringify(st) !== JSON.stringify(stored)) {
      // A request `fedns dnssec …` wrote while this tick ran is carried over, not overwritten.
      const latest = (await store.dnssecState<DnssecState>(this.zone)) ?? stored;
      if (latest.rolloverRequested !== stored.rolloverRequested) st = { ...st, rolloverRequested: latest.rolloverRequested as number };
      if (latest.dsSeen !== stored.dsSeen) st = { ...st, dsSeen: latest.dsSeen as number };
      if (latest.withdraw?.dsGone !== stored.withdraw?.dsGone && st.withdraw) st = { ...st, withdraw: { ...st.withdraw, dsGone: latest.withdraw?.dsGone as number } };
      await store.putDnssecState(this.zone, st, fence);
    }
    this.state = st;
    // A scan of every signature: here, not in each commit.
    const exp = this.signer?.earliestExpiry();
    if (exp !== undefined && st.signed) this.metrics.expiryDays.set((exp - now) / 86_400);
    return st.signed || this.opts.enabled;
  }

  /** Loads keys, state and the zone; makes the first key when switching on. */
  private async reload(): Promise<void> {
    const { store } = this.opts;
    this.state = (await store.dnssecState<DnssecState>(this.zone)) ?? { signed: false };
    this.stale = false;
    if (!this.opts.enabled && !this.state.signed) {
      this.signer = undefined; // unsigned and staying so: nothing to load
      return;
    }
    const snap = await store.zoneSnapshot();
    // A zone with a DNSKEY is signed whatever the state row says (a lost state write).
    if (!this.state.signed && snap.recordSets.some((r) => r.type === 'DNSKEY')) this.state = { ...this.state, signed: true };
    this.keys = await store.dnssecKeys(this.zone);
    if (this.opts.enabled && !this.keys.some((k) => k.state === 'active')) {
      const k = newStoredKey('active');
      await store.putDnssecKey(this.zone, k, this.opts.fence?.());
      this.keys.push(k);
      this.log.info({ zone: this.zone, key: k.id }, 'DNSSEC: signing key created');
    }
    const signer = new ZoneSigner(this.opts.zone, this.opts.timing);
    signer.load(snap.recordSets);
    this.signer = signer;
    this.fullCheckDue = true;
    this.stale = false;
  }

  private readonly loaded = new Map<string, SigningKey>();

  private plan(): KeyPlan {
    const roles = keyRoles(this.keys, this.state);
    if (!roles) throw new Error('dnssec: the zone has no signing key');
    const loaded = this.loaded;
    const key = (id: string) => {
      let k = loaded.get(id);
      if (!k) {
        const stored = this.keys.find((x) => x.id === id);
        if (!stored) throw new Error(`dnssec: key ${id} is not in the store`);
        k = loadKey(stored.privateKey, stored.flags);
        loaded.set(id, k);
      }
      return k;
    };
    return {
      published: roles.published.map(key),
      active: key(roles.active),
      entry: roles.entry.map(key),
      ...(roles.cds ? { cds: roles.cds === 'delete' ? ('delete' as const) : roles.cds.map(key) } : {}),
    };
  }
}

function newStoredKey(state: StoredDnssecKey['state']): StoredDnssecKey {
  const { pkcs8 } = generateKey();
  const k = loadKey(pkcs8, CSK_FLAGS);
  return { id: `${k.tag}-${randomBytes(3).toString('hex')}`, flags: CSK_FLAGS, algorithm: 13, privateKey: pkcs8, state, created: new Date().toISOString() };
}

/**
 * Key life cycle and the CSK rollover with RFC 7583 timings (section 3.3,
 * "double-signature" for the DNSKEY RRset), as pure steps over state the
 * caller keeps in the store, so a rollover resumes across restarts:
 *
 *   start    new CSK published in the DNSKEY RRset (signed by the old one)      Tpub
 *   ready    Tpub + Ipub, Ipub = Dprp + TTLkey: every cache can hold the new DNSKEY.
 *            The new key becomes active: it signs every RRset (re-signed in
 *            batches), both keys sign the DNSKEY RRset, CDS/CDNSKEY name the new key.
 *   ds       the parent publishes the new DS (the operator confirms with
 *            `fedns dnssec rollover --ds-seen`, or a configured wait passes).
 *   retire   once every signature is by the new key, and
 *            max(Tds + Dprp(parent) + TTLds, Tall-signed + Dprp + TTLsig) has passed:
 *            the old key leaves the DNSKEY RRset and the CDS/CDNSKEY go.
 *
 * Going unsigned (RFC 8078): CDS/CDNSKEY delete are published; once the
 * parent's DS is gone (confirmed) and Dprp(parent) + TTLds have passed, every
 * DNSSEC record leaves the zone in one commit.
 */

export type KeyState = 'published' | 'active' | 'retired';

/** A key as the store keeps it (the private key sealed at rest). */
export interface StoredKey {
  id: string;
  flags: number;
  algorithm: number;
  /** PKCS#8 DER. */
  privateKey: Buffer;
  state: KeyState;
  created: string;
}

export interface RolloverState {
  phase: 'published' | 'active' | 'retired';
  newKey: string;
  oldKey: string;
  /** Unix seconds of each event. */
  published: number;
  activated?: number;
  allSigned?: number;
  dsSeen?: number;
  retired?: number;
}

/** The zone's DNSSEC state in the store (JSON). */
export interface DnssecState {
  /** The zone is signed (DNSKEY published). */
  signed: boolean;
  rollover?: RolloverState;
  /** A rollover asked for (by `fedns dnssec rollover`), not yet started. */
  rolloverRequested?: number;
  /** The parent's new DS is confirmed (`--ds-seen`): Unix seconds. */
  dsSeen?: number;
  /** Going unsigned: since when CDS/CDNSKEY delete are published, and when the DS was confirmed gone. */
  withdraw?: { since: number; dsGone?: number };
  /** Rollovers finished (history, newest last). */
  history?: { newKey: string; oldKey: string; finished: number }[];
}

/** RFC 7583 parameters, seconds. */
export interface RolloverTiming {
  /** Dprp: propagation delay to every nameserver (secondaries' transfers). */
  propagation: number;
  /** TTLkey: the DNSKEY TTL. */
  dnskeyTtl: number;
  /** TTLsig: the longest TTL of a signed RRset in the zone. */
  maxZoneTtl: number;
  /** Dprp(parent) + TTLds: how long a DS change at the parent takes to reach every cache. */
  parentDs: number;
}

export const DEFAULT_ROLLOVER_TIMING: RolloverTiming = { propagation: 300, dnskeyTtl: 3600, maxZoneTtl: 3600, parentDs: 86_400 + 3600 };

/** What the zone's keys do now: ids published, active (signs data), entry (signs DNSKEY), in CDS. */
export interface KeyRoles {
  published: string[];
  active: string;
  entry: string[];
  cds?: string[] | 'delete';
}

export function keyRoles(keys: StoredKey[], st: DnssecState): KeyRoles | undefined {
  const live = keys.filter((k) => k.state !== 'retired');
  const r = st.rollover;
  if (r && r.phase !== 'retired') {
    if (r.phase === 'published') return { published: [r.oldKey, r.newKey], active: r.oldKey, entry: [r.oldKey] };
    return { published: [r.oldKey, r.newKey], active: r.newKey, entry: [r.oldKey, r.newKey], cds: [r.newKey] };
  }
  const active = live.find((k) => k.state === 'active') ?? live[0];
  if (!active) return undefined;
  return { published: [active.id], active: active.id, entry: [active.id], ...(st.withdraw ? { cds: 'delete' as const } : {}) };
}

/** The next step of a rollover at `now`: the new state and what changed (undefined: nothing to do). */
export function stepRollover(st: DnssecState, now: number, t: RolloverTiming, facts: { allSignedByActive: boolean }): { state: DnssecState; event: string; keyStates?: Record<string, KeyState> } | undefined {
  const r = st.rollover;
  if (!r) return undefined;
  if (r.phase === 'published' && now >= r.published + t.propagation + t.dnskeyTtl) {
    return { state: { ...st, rollover: { ...r, phase: 'active', activated: now } }, event: `new key ${r.newKey} active; CDS/CDNSKEY name it: put its DS at the parent`, keyStates: { [r.newKey]: 'active', [r.oldKey]: 'published' } };
  }
  if (r.phase === 'active') {
    if (facts.allSignedByActive && r.allSigned === undefined) return { state: { ...st, rollover: { ...r, allSigned: now } }, event: `every signature is by ${r.newKey}` };
    const dsSeen = r.dsSeen ?? st.dsSeen;
    if (dsSeen !== undefined && r.dsSeen === undefined) return { state: { ...st, rollover: { ...r, dsSeen } }, event: 'the parent serves the new DS' };
    if (r.allSigned !== undefined && r.dsSeen !== undefined && now >= Math.max(r.dsSeen + t.parentDs, r.allSigned + t.propagation + t.maxZoneTtl)) {
      const history = [...(st.history ?? []), { newKey: r.newKey, oldKey: r.oldKey, finished: now }];
      const { rollover: _r, dsSeen: _d, ...rest } = st;
      return { state: { ...rest, history }, event: `old key ${r.oldKey} retired: rollover done`, keyStates: { [r.oldKey]: 'retired' } };
    }
  }
  return undefined;
}

/** Going unsigned may finish: the DS is confirmed gone and its TTL plus propagation have passed. */
export function withdrawDone(st: DnssecState, now: number, t: RolloverTiming): boolean {
  return st.withdraw?.dsGone !== undefined && now >= st.withdraw.dsGone + t.parentDs;
}

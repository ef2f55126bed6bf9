/**
 * `fedns dnssec ds | rollover | status` (issue 15): what the parent needs, and
 * requests to the zone writer through the store (it acts on its next check).
 *
 *   dnssec ds                 the DNSKEY and DS records to give the parent (from the served DNSKEY RRset)
 *   dnssec ds --withdrawn     confirm the parent removed the DS (going unsigned may finish)
 *   dnssec rollover           start a CSK rollover (RFC 7583 timings; resumes across restarts)
 *   dnssec rollover --ds-seen confirm the parent serves the new key's DS
 *   dnssec status             signing state, keys and rollover phase
 */
import { dsText, type DnssecState } from '@fedns/dnssec';
import { openStore, type Store } from '@fedns/store';
import { type Config, storeUrlOf, UsageError } from './config.js';
import { storeSecrets } from './roles.js';

async function withStore<T>(c: Config, readonly: boolean, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ url: storeUrlOf(c), dataDir: c.dataDir, readonly, ...storeSecrets(c) });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const now = () => Math.floor(Date.now() / 1000);

export async function dnssecCommand(c: Config, args: string[]): Promise<string> {
  const [sub] = args;
  const zone = c.zone;
  switch (sub) {
    case 'ds':
      if (c.withdrawn) {
        return withStore(c, false, async (s) => {
          const st = (await s.dnssecState<DnssecState>(zone)) ?? { signed: false };
          if (!st.withdraw) throw new UsageError('dnssec ds --withdrawn: the zone is not going unsigned (switch DNSSEC off first: --dnssec=false, CDS/CDNSKEY delete are then published)');
          await s.putDnssecState(zone, { ...st, withdraw: { ...st.withdraw, dsGone: now() } });
          return `${zone}: DS withdrawal recorded; the zone goes unsigned once the parent's DS TTL and propagation have passed`;
        });
      }
      return withStore(c, true, async (s) => {
        const keys = (await s.zoneSnapshot()).recordSets.find((r) => r.name === zone && r.type === 'DNSKEY');
        if (!keys) throw new UsageError(`dnssec ds: ${zone} is not signed (start with --dnssec)`);
        const lines: string[] = [];
        for (const k of keys.data) {
          const [flags, , , ...b64] = k.split(' ');
          if ((Number(flags) & 1) === 0) continue; // only keys with the SEP bit go to the parent
          lines.push(`${zone} ${keys.ttl} IN DNSKEY ${k}`, `${zone} IN DS ${dsText(zone, Number(flags), Buffer.from(b64.join(''), 'base64'))}`);
        }
        return lines.join('\n');
      });
    case 'rollover':
      return withStore(c, false, async (s) => {
        const st = (await s.dnssecState<DnssecState>(zone)) ?? { signed: false };
        if (!st.signed) throw new UsageError(`dnssec rollover: ${zone} is not signed`);
        if (c.dsSeen) {
          if (st.rollover?.phase !== 'active') throw new UsageError('dnssec rollover --ds-seen: no rollover waits for the new DS (its phase must be active)');
          await s.putDnssecState(zone, { ...st, dsSeen: now() });
          return `${zone}: the new DS is recorded as seen at the parent; the old key is retired after the parent's DS TTL`;
        }
        if (st.rollover || st.rolloverRequested !== undefined) return `${zone}: a rollover is already under way (${st.rollover?.phase ?? 'requested'})`;
        await s.putDnssecState(zone, { ...st, rolloverRequested: now() });
        return `${zone}: CSK rollover requested; the zone writer publishes the new key at its next check (fedns dnssec status)`;
      });
    case 'status':
      return withStore(c, true, async (s) => {
        const st = (await s.dnssecState<DnssecState>(zone)) ?? { signed: false };
        return JSON.stringify({ zone, ...st }, null, 2);
      });
    default:
      throw new UsageError('dnssec: one of ds [--withdrawn], rollover [--ds-seen], status');
  }
}

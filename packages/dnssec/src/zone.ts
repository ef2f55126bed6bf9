/** The zone as the signer sees it: SOA fields, the apex NS and glue from the federation config, timing. */
import type { RecordSet, SoaConfig } from '@fedns/model';
import { absName, inZone } from './names.js';
import { isIPv4, isIPv6 } from 'node:net';

export interface SignerZone {
  zone: string;
  soa: SoaConfig;
  nameservers: { name: string; addresses: string[] }[];
}

/** Signature lifetimes, seconds. */
export interface SignerTiming {
  /** Validity of a new signature (14 days). */
  validity: number;
  /** Inception back-dated by this much (1 hour: clocks that run behind). */
  inceptionOffset: number;
  /** Re-signed once less than this remains (7 days). */
  refreshBefore: number;
  /** Expirations spread over this much, so a full signing does not all expire at once (12 hours). */
  jitter: number;
}

const DAY = 86_400;
export const DEFAULT_TIMING: SignerTiming = { validity: 14 * DAY, inceptionOffset: 3600, refreshBefore: 7 * DAY, jitter: DAY / 2 };

/** The RRsets the config makes (not stored, but signed): apex NS (a type only the signer holds), glue of in-zone nameservers. */
export function configSets(cfg: SignerZone): RecordSet[] {
  const zone = absName(cfg.zone);
  const ttl = cfg.soa.ttl;
  const base = { level: 'global' as const, namespace: '', service: '' };
  const out: RecordSet[] = [];
  if (cfg.nameservers.length) out.push({ ...base, name: zone, type: 'NS' as RecordSet['type'], ttl, data: cfg.nameservers.map((n) => absName(n.name)) });
  for (const ns of cfg.nameservers) {
    const name = absName(ns.name);
    if (!inZone(name, zone)) continue;
    const v4 = ns.addresses.filter((a) => isIPv4(a));
    const v6 = ns.addresses.filter((a) => isIPv6(a));
    if (v4.length) out.push({ ...base, name, type: 'A', ttl, data: v4 });
    if (v6.length) out.push({ ...base, name, type: 'AAAA', ttl, data: v6 });
  }
  return out;
}

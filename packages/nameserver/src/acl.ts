/** Address ACLs for zone transfers: networks in CIDR notation, each optionally bound to a TSIG key. */
import { isIPv4, isIPv6 } from 'node:net';
import { ipv4Bytes, ipv6Bytes, wireKey } from './wire.js';

export interface Network {
  bytes: Buffer;
  prefix: number;
}

export interface AclEntry {
  network: Network;
  /** Key name (absolute, lower case) the request must be signed with; undefined = no TSIG needed. */
  key?: string;
  /** The entry as written, for logs. */
  text: string;
}

/** `192.0.2.0/24`, `2001:db8::/32`, a bare address (a host), or `any`. Throws with a reason. */
export function parseNetwork(text: string): Network {
  if (text === 'any') return { bytes: Buffer.alloc(0), prefix: 0 };
  const [addr = '', len] = text.split('/');
  let bytes: Buffer;
  if (isIPv4(addr)) bytes = ipv4Bytes(addr);
  else if (isIPv6(addr)) bytes = ipv6Bytes(addr);
  else throw new Error(`"${text}" is not an address or CIDR network`);
  const max = bytes.length * 8;
  const prefix = len === undefined ? max : Number(len);
  if (!/^\d+$/.test(len ?? String(max)) || prefix > max) throw new Error(`"${text}": prefix length must be 0-${max}`);
  return { bytes, prefix };
}

/** `NETWORK [KEYNAME]` (as NSD's provide-xfr: `127.0.0.1/32 xfr-key`); `any KEYNAME` for a key from anywhere. */
export function parseAclEntry(text: string): AclEntry {
  const [net = '', key, ...rest] = text.trim().split(/\s+/);
  if (rest.length) throw new Error(`"${text}" is not NETWORK [KEYNAME]`);
  const entry: AclEntry = { network: parseNetwork(net), text };
  if (key && key.toUpperCase() !== 'NOKEY') {
    const abs = key.endsWith('.') ? key.toLowerCase() : `${key.toLowerCase()}.`;
    try {
      wireKey(abs);
    } catch {
      throw new Error(`"${key}" is not a key name`);
    }
    entry.key = abs;
  }
  return entry;
}

const cache = new Map<string, Buffer | null>();

/** Address bytes of a client address as a socket reports it (IPv4-mapped IPv6 counts as IPv4). */
export function addressBytes(ip: string): Buffer | null {
  let b = cache.get(ip);
  if (b === undefined) {
    const plain = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
    b = isIPv4(plain) ? ipv4Bytes(plain) : isIPv6(plain) ? ipv6Bytes(plain) : null;
    if (cache.size > 10_000) cache.clear();
    cache.set(ip, b);
  }
  return b;
}

export function inNetwork(ip: string, net: Network): boolean {
  if (net.bytes.length === 0) return true; // any
  const a = addressBytes(ip);
  if (!a || a.length !== net.bytes.length) return false;
  const full = net.prefix >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== net.bytes[i]) return false;
  const rem = net.prefix & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return ((a[full] as number) & mask) === ((net.bytes[full] as number) & mask);
}

/**
 * Whether a transfer request from `ip`, signed with `keyName` (verified, or
 * undefined for none) passes: some entry matches the network and, if the entry
 * names a key, the request was signed with it.
 */
export function aclAllows(acl: AclEntry[], ip: string, keyName: string | undefined): boolean {
  for (const e of acl) {
    if (!inNetwork(ip, e.network)) continue;
    if (e.key === undefined || e.key === keyName) return true;
  }
  return false;
}

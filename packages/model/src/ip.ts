import { isIPv4, isIPv6 } from 'node:net';

export type AddressFamily = 4 | 6;

export function addressFamily(addr: string): AddressFamily | undefined {
  if (isIPv4(addr)) return 4;
  if (isIPv6(addr)) return 6;
  return undefined;
}

/** Canonical text of an address so equal addresses compare equal (IPv6 compressed, lower-case). */
export function canonicalAddress(addr: string): string {
  if (isIPv4(addr)) return addr.split('.').map((o) => String(Number(o))).join('.');
  if (isIPv6(addr)) return ipv6Canonical(addr);
  throw new Error(`not an IP address: ${addr}`);
}

function ipv6Canonical(addr: string): string {
  const words = ipv6Words(addr);
  // RFC 5952: compress the longest run (>= 2) of zero words, first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** The 8 16-bit words of an IPv6 literal (embedded IPv4 tail allowed). */
export function ipv6Words(addr: string): number[] {
  let text = addr.toLowerCase();
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // Embedded IPv4 tail (::ffff:192.0.2.1): rewrite it as two hex words.
    const o = last.split('.').map(Number);
    const hi = (((o[0] ?? 0) << 8) | (o[1] ?? 0)).toString(16);
    const lo = (((o[2] ?? 0) << 8) | (o[3] ?? 0)).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => Number.parseInt(h, 16)));
  const h = parse(head);
  if (rest === undefined) return h;
  const r = parse(rest);
  return [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
}

/** Sort key giving numeric order for IPv4 and IPv6 literals of one family. */
export function compareAddresses(a: string, b: string): number {
  const fa = addressFamily(a);
  const fb = addressFamily(b);
  if (fa !== fb) return (fa ?? 0) - (fb ?? 0);
  const wa = fa === 4 ? a.split('.').map(Number) : ipv6Words(a);
  const wb = fb === 4 ? b.split('.').map(Number) : ipv6Words(b);
  for (let i = 0; i < wa.length; i++) {
    const d = (wa[i] ?? 0) - (wb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

import { addressFamily, canonicalAddress, ipv6Words } from '@fedns/model';

/** A valid address in canonical text, with a key whose string order is numeric order within its family. */
export interface ParsedAddress {
  text: string;
  key: string;
}

/** Valid addresses split by family, each list de-duplicated and sorted. */
export interface ParsedAddresses {
  v4: ParsedAddress[];
  v6: ParsedAddress[];
}

/** Final per-family data of an A and an AAAA RRset. */
export interface AddressesByFamily {
  v4: string[];
  v6: string[];
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

function parseAddress(literal: string): { family: 4 | 6; address: ParsedAddress } | undefined {
  const family = addressFamily(literal);
  if (family === undefined) return undefined; // unparsable literals are dropped, never published
  const text = canonicalAddress(literal);
  const key = family === 4
    ? text.split('.').map((o) => hex(Number(o), 2)).join('')
    : ipv6Words(text).map((w) => hex(w, 4)).join('');
  return { family, address: { text, key } };
}

const byKey = (a: ParsedAddress, b: ParsedAddress) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

function uniqueSorted(addresses: Iterable<ParsedAddress>): ParsedAddress[] {
  const byText = new Map<string, ParsedAddress>();
  for (const a of addresses) byText.set(a.text, a);
  return [...byText.values()].sort(byKey);
}

/**
 * Parses one shard's addresses once per build, so the three levels it is
 * published at (and fail-open) never re-parse or re-canonicalise them.
 */
export function parseAddresses(literals: readonly string[]): ParsedAddresses {
  const v4: ParsedAddress[] = [];
  const v6: ParsedAddress[] = [];
  for (const literal of literals) {
    const parsed = parseAddress(literal);
    if (parsed) (parsed.family === 4 ? v4 : v6).push(parsed.address);
  }
  return { v4: v4.length > 1 ? uniqueSorted(v4) : v4, v6: v6.length > 1 ? uniqueSorted(v6) : v6 };
}

export function hasValidAddress(literals: readonly string[]): boolean {
  return literals.some((a) => addressFamily(a) !== undefined);
}

function mergeFamily(parts: ParsedAddress[][]): string[] {
  const nonEmpty = parts.filter((p) => p.length > 0);
  // One contributing shard (the common zone case): its list is already unique and sorted.
  const merged = nonEmpty.length === 1 ? (nonEmpty[0] ?? []) : uniqueSorted(nonEmpty.flat());
  return merged.map((a) => a.text);
}

/** The union of several shards' addresses: per family, de-duplicated, numerically sorted. */
export function mergeAddresses(parts: readonly ParsedAddresses[]): AddressesByFamily {
  return { v4: mergeFamily(parts.map((p) => p.v4)), v6: mergeFamily(parts.map((p) => p.v6)) };
}

export function isEmpty(addresses: AddressesByFamily): boolean {
  return addresses.v4.length === 0 && addresses.v6.length === 0;
}

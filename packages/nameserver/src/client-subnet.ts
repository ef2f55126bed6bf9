/**
 * EDNS Client Subnet (RFC 7871), the option a resolver sends to say where its
 * client is: FAMILY (1 IPv4, 2 IPv6), SOURCE PREFIX-LENGTH, SCOPE
 * PREFIX-LENGTH (0 in a query) and ADDRESS (SOURCE bits, in as few octets as
 * hold them, the bits after SOURCE zero). Anything else is malformed, and the
 * query gets FORMERR (RFC 7871 6: too few or too many octets, bits set past
 * the prefix, an unknown family, a prefix longer than the address).
 */

export const ECS_OPTION = 8;

export interface ClientSubnet {
  family: 1 | 2;
  source: number;
  /** What the answer holds for: 0 until an answer depends on the client. */
  scope: number;
  /** The address, zero-filled to 4 or 16 octets (a view the next query reuses: copy to keep). */
  address: Uint8Array;
  /** ADDRESS octets in the option. */
  addressLength: number;
}

// One query at a time per thread: the parsed option reuses these.
const scratch4 = new Uint8Array(4);
const scratch16 = new Uint8Array(16);
const parsed: ClientSubnet = { family: 1, source: 0, scope: 0, address: scratch4, addressLength: 0 };

/** The option whose data starts at `o` (length `len`), or null when it is malformed. */
export function parseClientSubnet(q: Buffer, o: number, len: number): ClientSubnet | null {
  if (len < 4) return null;
  const family = ((q[o] as number) << 8) | (q[o + 1] as number);
  if (family !== 1 && family !== 2) return null;
  const source = q[o + 2] as number;
  const scope = q[o + 3] as number;
  const max = family === 1 ? 32 : 128;
  if (source > max || scope !== 0) return null;
  const octets = (source + 7) >> 3;
  if (len - 4 !== octets) return null;
  const address = family === 1 ? scratch4 : scratch16;
  address.fill(0);
  for (let i = 0; i < octets; i++) address[i] = q[o + 4 + i] as number;
  const spare = octets * 8 - source;
  if (spare > 0 && ((address[octets - 1] as number) & ((1 << spare) - 1)) !== 0) return null;
  parsed.family = family;
  parsed.source = source;
  parsed.scope = 0;
  parsed.address = address;
  parsed.addressLength = octets;
  return parsed;
}

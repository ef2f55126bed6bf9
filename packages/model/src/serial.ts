/** RFC 1982 serial-number arithmetic for 32-bit SOA serials. */

const MOD = 2 ** 32;
const HALF = 2 ** 31;

/** serial + 1 with wrap-around (0 is allowed; RFC 1982 has no forbidden value). */
export function nextSerial(serial: number): number {
  return (serial + 1) % MOD;
}

/** -1 when a precedes b, 1 when a follows b, 0 when equal; undefined when incomparable (distance 2^31). */
export function compareSerial(a: number, b: number): -1 | 0 | 1 | undefined {
  if (a === b) return 0;
  const d = (b - a + MOD) % MOD;
  if (d === HALF) return undefined;
  return d < HALF ? -1 : 1;
}

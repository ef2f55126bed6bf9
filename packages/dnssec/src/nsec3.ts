/**
 * NSEC3 (RFC 5155) with the RFC 9276 parameters: SHA-1, no extra iterations,
 * no salt, opt-out off. The hash of a name is its owner label in the chain.
 */
import { createHash } from 'node:crypto';
import { nameWire } from './names.js';
import { base32hex } from './rdata.js';

export const NSEC3_ALG = 1;
export const NSEC3_ITERATIONS = 0;
/** NSEC3PARAM presentation RDATA: SHA-1, flags 0, 0 iterations, no salt. */
export const NSEC3PARAM_TEXT = `${NSEC3_ALG} 0 ${NSEC3_ITERATIONS} -`;

/** IH(salt, x, 0) = SHA-1(x || salt) with an empty salt, as 32 base32hex characters. */
export function nsec3Hash(name: string): string {
  return base32hex(createHash('sha1').update(nameWire(name)).digest());
}

/** NSEC3 presentation RDATA: `1 0 0 - <next hash> <types…>`. */
export function nsec3Text(nextHash: string, types: string[]): string {
  return [`${NSEC3_ALG} 0 ${NSEC3_ITERATIONS} -`, nextHash, ...types].join(' ');
}

/** True when `h` lies strictly between `owner` and `next` in the (circular) hash order. */
export function covers(owner: string, next: string, h: string): boolean {
  if (owner < next) return owner < h && h < next;
  // The last NSEC3 of the chain wraps around to the first.
  return h > owner || h < next;
}

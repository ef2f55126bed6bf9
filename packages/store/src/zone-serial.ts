/**
 * The next SOA serial of a zone commit (engine-neutral): one step past the
 * current serial (RFC 1982), and strictly above every serial a nameserver
 * reported serving, so a new leader whose store lost a commit in a failover
 * never reuses a serial that secondaries already saw with other content.
 */
import { compareSerial, nextSerial } from '@fedns/model';

export function nextZoneSerial(current: number, served: readonly number[]): number {
  let serial = nextSerial(current);
  // Each pass lifts the candidate above every served serial that is not below it;
  // bounded, since incomparable serials (2^31 apart) could otherwise chase each other.
  for (let pass = 0; pass <= served.length; pass++) {
    let moved = false;
    for (const s of served) {
      if (compareSerial(serial, s) !== 1) {
        serial = nextSerial(s);
        moved = true;
      }
    }
    if (!moved) break;
  }
  return serial;
}

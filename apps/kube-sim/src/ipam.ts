/** IPv4 CIDR arithmetic and address pools (service ClusterIPs, load-balancer pools, pod IPs). */

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`invalid IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new Error(`invalid IPv4 address: ${ip}`);
    n = n * 256 + v;
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  base: number;
  prefix: number;
  size: number;
  text: string;
}

export function parseCidr(text: string): Cidr {
  const m = text.trim().match(/^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/);
  if (!m) throw new Error(`invalid IPv4 CIDR: ${text}`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw new Error(`invalid IPv4 CIDR prefix: ${text}`);
  const size = 2 ** (32 - prefix);
  const base = Math.floor(ipToInt(m[1] as string) / size) * size;
  return { base, prefix, size, text: `${intToIp(base)}/${prefix}` };
}

export function cidrContains(c: Cidr, ip: string): boolean {
  try {
    const n = ipToInt(ip);
    return n >= c.base && n < c.base + c.size;
  } catch {
    return false;
  }
}

/**
 * A pool of addresses in a CIDR. By default the network and broadcast addresses are excluded
 * (for prefixes shorter than /31); `reserveFirst` skips more low addresses (e.g. the
 * kubernetes service's .1).
 */
export class IpPool {
  readonly cidr: Cidr;
  #first: number;
  #last: number;
  #used = new Map<number, string>();
  #next: number;

  constructor(cidr: string, opts: { reserveFirst?: number; includeNetworkAndBroadcast?: boolean } = {}) {
    this.cidr = parseCidr(cidr);
    const edge = opts.includeNetworkAndBroadcast || this.cidr.prefix >= 31 ? 0 : 1;
    this.#first = this.cidr.base + edge + (opts.reserveFirst ?? 0);
    this.#last = this.cidr.base + this.cidr.size - 1 - edge;
    this.#next = this.#first;
  }

  get capacity(): number {
    return Math.max(0, this.#last - this.#first + 1);
  }

  get used(): number {
    return this.#used.size;
  }

  contains(ip: string): boolean {
    return cidrContains(this.cidr, ip);
  }

  isAllocated(ip: string): boolean {
    try {
      return this.#used.has(ipToInt(ip));
    } catch {
      return false;
    }
  }

  owner(ip: string): string | undefined {
    try {
      return this.#used.get(ipToInt(ip));
    } catch {
      return undefined;
    }
  }

  /** Allocates the next free address (round-robin, like the apiserver's allocator), or undefined when exhausted. */
  allocate(owner: string): string | undefined {
    const n = this.capacity;
    for (let i = 0; i < n; i++) {
      const cand = this.#next;
      this.#next = this.#next >= this.#last ? this.#first : this.#next + 1;
      if (!this.#used.has(cand)) {
        this.#used.set(cand, owner);
        return intToIp(cand);
      }
    }
    return undefined;
  }

  /** Marks a specific address as used. Returns false if it is outside the pool or taken by another owner. */
  allocateSpecific(ip: string, owner: string): boolean {
    let n: number;
    try {
      n = ipToInt(ip);
    } catch {
      return false;
    }
    if (n < this.#first || n > this.#last) return false;
    const cur = this.#used.get(n);
    if (cur !== undefined && cur !== owner) return false;
    this.#used.set(n, owner);
    return true;
  }

  release(ip: string): void {
    try {
      this.#used.delete(ipToInt(ip));
    } catch {
      /* ignore */
    }
  }
}

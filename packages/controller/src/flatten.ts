import { Resolver } from 'node:dns/promises';

export interface FlattenOptions {
  /** Resolver addresses ("ip" or "ip:port"); the system's when empty. */
  servers?: string[];
  refreshMs?: number;
  /** How long the last good addresses are kept after lookups start failing. */
  keepLastMs?: number;
  onChange?: (hostname: string) => void;
}

interface Entry {
  addresses: string[];
  lastOk: number;
  /** Whether a lookup has answered (or failed) once. */
  settled: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * DESIGN §4 rule 4: load-balancer ingress given as a hostname (AWS ELB style)
 * is flattened to A/AAAA, refreshed on an interval; a failed lookup keeps the
 * last addresses for a bounded time.
 */
export class HostnameFlattener {
  private readonly entries = new Map<string, Entry>();
  private readonly resolver = new Resolver({ timeout: 2000, tries: 2 });

  constructor(private readonly opts: FlattenOptions = {}) {
    if (opts.servers?.length) this.resolver.setServers(opts.servers);
  }

  /**
   * Current addresses of a hostname; starts tracking it. Undefined until the
   * first lookup has answered, so a caller can keep what it knew before.
   */
  addresses(hostname: string): string[] | undefined {
    const e = this.entries.get(hostname);
    if (e) {
      if (e.addresses.length && Date.now() - e.lastOk > (this.opts.keepLastMs ?? 300_000)) e.addresses = [];
      return e.settled ? e.addresses : undefined;
    }
    const entry: Entry = { addresses: [], lastOk: 0, settled: false };
    this.entries.set(hostname, entry);
    void this.refresh(hostname, entry);
    return undefined;
  }

  private async refresh(hostname: string, entry: Entry): Promise<void> {
    const [v4, v6] = await Promise.all([
      this.resolver.resolve4(hostname).catch(() => undefined),
      this.resolver.resolve6(hostname).catch(() => undefined),
    ]);
    if (!this.entries.has(hostname)) return;
    const first = !entry.settled;
    entry.settled = true;
    let changed = first;
    if (v4 || v6) {
      const next = [...(v4 ?? []), ...(v6 ?? [])].sort();
      entry.lastOk = Date.now();
      if (next.join() !== entry.addresses.join()) {
        entry.addresses = next;
        changed = true;
      }
    }
    if (changed) this.opts.onChange?.(hostname);
    entry.timer = setTimeout(() => void this.refresh(hostname, entry), this.opts.refreshMs ?? 30_000);
    entry.timer.unref();
  }

  stop(): void {
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.entries.clear();
  }
}

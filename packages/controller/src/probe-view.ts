/**
 * The leader's view of every prober's verdicts (issue 14): re-read when the
 * store's probe revision moves (polled), when this process's own prober
 * recorded something, and every few seconds anyway (a prober that went quiet
 * stops counting without writing anything). Shards whose verdicts changed are
 * handed to the shard reconciler, which combines the judgement with
 * readiness. Runs only while this process leads; it also forgets probers gone
 * quiet for long (identities such as host-pid change at every restart).
 */
import type { Store, StoredProbeVerdict } from '@fedns/store';
import type { Logger } from './logger.js';
import type { ControllerMetrics } from './metrics.js';
import { judgeProbes, type ProbeJudgement, PROBE_HEARTBEAT_MS, PROBE_STALE_MS, verdictCounts } from './probe-judge.js';

export interface ProbeViewOptions {
  store: Store;
  metrics: ControllerMetrics;
  log: Logger;
  /** Shards (`cluster/namespace/name`) whose verdicts changed. */
  onChanged(keys: string[]): void;
  pollMs?: number;
  /** Probers not heard from for this long are removed with their verdicts (default 10 minutes). */
  forgetAfterMs?: number;
}

const shardKeyOf = (v: { cluster: string; namespace: string; service: string }) => `${v.cluster}/${v.namespace}/${v.service}`;

export class ProbeView {
  private byShard = new Map<string, StoredProbeVerdict[]>();
  private signatures = new Map<string, string>();
  private revision: number | undefined;
  private lastFull = 0;
  private lastForget = 0;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private again = false;

  constructor(private readonly opts: ProbeViewOptions) {}

  /** Reads everything now and polls from here on. */
  async start(): Promise<void> {
    await this.refresh(true);
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(false), this.opts.pollMs ?? 500);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The judgement of one shard with these addresses under this probe; undefined when no verdict counts. */
  judge(cluster: string, namespace: string, service: string, target: string, addresses: readonly string[]): ProbeJudgement | undefined {
    return judgeProbes(this.byShard.get(`${cluster}/${namespace}/${service}`) ?? [], target, addresses);
  }

  /** The verdicts behind a shard as last read (for explain-like views and tests). */
  verdicts(cluster: string, namespace: string, service: string): StoredProbeVerdict[] {
    return this.byShard.get(`${cluster}/${namespace}/${service}`) ?? [];
  }

  /** Re-reads when the revision moved, or `force`, or the periodic full read is due. */
  refresh(force: boolean): Promise<void> {
    if (this.refreshing) {
      this.again ||= force;
      return this.refreshing;
    }
    this.refreshing = this.read(force)
      .catch((err) => this.opts.log.warn({ err: String(err) }, 'cannot read probe verdicts; the next poll tries again'))
      .finally(() => {
        this.refreshing = undefined;
        if (this.again) {
          this.again = false;
          void this.refresh(true);
        }
      });
    return this.refreshing;
  }

  private async read(force: boolean): Promise<void> {
    const { store } = this.opts;
    const revision = await store.probeRevision();
    const now = Date.now();
    if (!force && revision === this.revision && now - this.lastFull < PROBE_HEARTBEAT_MS) return;
    this.revision = revision;
    this.lastFull = now;
    const all = await store.probeVerdicts();
    const byShard = new Map<string, StoredProbeVerdict[]>();
    for (const v of all) {
      const k = shardKeyOf(v);
      const list = byShard.get(k);
      if (list) list.push(v);
      else byShard.set(k, [v]);
    }
    // What a judgement depends on: each verdict's prober, outcome, probe, addresses and whether it counts.
    const signatures = new Map<string, string>();
    for (const [k, list] of byShard) {
      signatures.set(k, list.map((v) => `${v.prober}:${v.ok}:${v.target}:${v.addresses.join(',')}:${v.proberAgeMs < PROBE_STALE_MS}`).join('|'));
    }
    const changed: string[] = [];
    for (const [k, sig] of signatures) if (this.signatures.get(k) !== sig) changed.push(k);
    for (const k of this.signatures.keys()) if (!signatures.has(k)) changed.push(k);
    this.byShard = byShard;
    this.signatures = signatures;
    let failed = 0;
    for (const list of byShard.values()) {
      const first = list[0];
      if (first && judgeProbes(list, first.target, first.addresses)?.failed) failed++;
    }
    this.opts.metrics.probeFailedShards.set(failed);
    this.opts.metrics.probers.set(new Set(all.filter((v) => verdictCounts(v, v.target, v.addresses)).map((v) => v.prober)).size);
    if (changed.length) this.opts.onChanged(changed);
    if (now - this.lastForget > 60_000) {
      this.lastForget = now;
      const gone = await store.forgetProbers(this.opts.forgetAfterMs ?? 600_000);
      if (gone.length) this.opts.log.info({ probers: gone }, 'forgot probers not heard from for long (their verdicts went with them)');
    }
  }
}

/**
 * A work queue in the shape of client-go's rate-limited queue: keys, not
 * events. A key queued twice is processed once; a key is never processed by
 * two workers at once (one added while it runs is processed again after);
 * a failure is retried with per-key exponential back-off and never escapes
 * to the process. Reconcilers return "look again in N ms" instead of
 * keeping timers of their own. A paused queue keeps collecting keys and
 * processes none (a standby's write side, until it leads). Keys from sweeps
 * (a resync, a takeover's look at everything) are queued at low priority:
 * a change that just happened goes ahead of them, as in controller-runtime's
 * priority queue, so a backlog of thousands never delays a failover.
 */

export interface ReconcileResult {
  /** Process this key again after this long, even if nothing changes. */
  requeueAfterMs?: number;
}

export type Reconcile = (key: string) => Promise<unknown> | unknown;

export interface WorkQueueOptions {
  /** For logs and metrics. */
  name: string;
  reconcile: Reconcile;
  /** Keys processed at once (each key alone). Default 16. */
  concurrency?: number;
  /** First retry delay; doubles per failure up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Told of every failure (attempt counts from 1), for logs and metrics. */
  onError?: (key: string, err: unknown, attempt: number, retryInMs: number) => void;
  /** Told when a key that had failed succeeds again. */
  onRecovered?: (key: string, failedAttempts: number) => void;
}

export class WorkQueue {
  private readonly pending = new Set<string>();
  /** Keys from sweeps: taken only when no ordinary key waits. */
  private readonly pendingLow = new Set<string>();
  private readonly running = new Set<string>();
  /** Keys added again while running: processed once more when the run ends. */
  private readonly dirtyWhileRunning = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly urgentWaiters: (() => void)[] = [];
  /** Running keys that were queued by an event (not by a sweep). */
  private readonly runningUrgent = new Set<string>();
  private scheduled = false;
  private stopped = false;
  private paused: boolean;

  constructor(private readonly opts: WorkQueueOptions & { paused?: boolean }) {
    this.paused = opts.paused ?? false;
  }

  /** Stops taking keys up (keys still queue; running ones finish). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.schedule();
  }

  get name(): string {
    return this.opts.name;
  }

  /** Keys waiting or running (for metrics). */
  get depth(): number {
    return this.pending.size + this.pendingLow.size + this.running.size;
  }

  /** Queues a key; `low` for sweeps (an event's key moves it ahead again). */
  add(key: string, priority: 'normal' | 'low' = 'normal'): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirtyWhileRunning.add(key);
      return;
    }
    if (priority === 'low') {
      if (!this.pending.has(key)) this.pendingLow.add(key);
    } else {
      this.pendingLow.delete(key);
      this.pending.add(key);
    }
    this.schedule();
  }

  /** Adds the key after `ms`; an earlier pending delay for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const cur = this.delayed.get(key);
    if (cur && cur.at <= at) return;
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /** Resolves once no key queued by an event waits (sweeps' keys may still). */
  whenUrgentDone(): Promise<void> {
    if ((this.pending.size === 0 && this.runningUrgent.size === 0) || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.urgentWaiters.push(resolve));
  }

  /** Resolves once nothing is pending or running (delayed keys do not count). */
  whenIdle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    this.pending.clear();
    this.pendingLow.clear();
    this.dirtyWhileRunning.clear();
    this.settleIdle();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.paused) return;
    const limit = this.opts.concurrency ?? 16;
    for (const set of [this.pending, this.pendingLow]) {
      for (const key of set) {
        if (this.running.size >= limit) break;
        set.delete(key);
        this.running.add(key);
        if (set === this.pending) this.runningUrgent.add(key);
        void this.process(key);
      }
    }
    this.settleIdle();
  }

  private async process(key: string): Promise<void> {
    try {
      const result = (await this.opts.reconcile(key)) as ReconcileResult | undefined;
      const failed = this.failures.get(key);
      if (failed !== undefined) {
        this.failures.delete(key);
        this.opts.onRecovered?.(key, failed);
      }
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      const base = this.opts.baseDelayMs ?? 200;
      const delay = Math.min(base * 2 ** (attempt - 1), this.opts.maxDelayMs ?? 30_000);
      try {
        this.opts.onError?.(key, err, attempt, delay);
      } catch {
        // A failing error reporter must not take the queue down either.
      }
      this.addAfter(key, delay);
    } finally {
      this.running.delete(key);
      this.runningUrgent.delete(key);
      if (this.dirtyWhileRunning.delete(key) && !this.stopped) this.pending.add(key);
      if (this.pending.size + this.pendingLow.size > 0 && !this.paused) this.schedule();
      else this.settleIdle();
    }
  }

  /** Forgets a key's failures (e.g. the object is gone). */
  forget(key: string): void {
    this.failures.delete(key);
    const d = this.delayed.get(key);
    if (d) clearTimeout(d.timer);
    this.delayed.delete(key);
  }

  private settleIdle(): void {
    if ((this.pending.size === 0 && this.runningUrgent.size === 0) || this.stopped) for (const w of this.urgentWaiters.splice(0)) w();
    if (this.depth !== 0 && !this.stopped) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

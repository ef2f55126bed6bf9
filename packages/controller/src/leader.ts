/**
 * Leader election over the store (client-go's leaderelection, on a lease row
 * the database judges by its own clock). Exactly one candidate acts; it renews
 * every retry period and stops acting once it has not renewed for the renew
 * deadline — before its lease can expire and another take over. Every write
 * it makes carries its fence (lease and epoch), which the store checks inside
 * the write's own transaction, so a deposed leader (paused, partitioned,
 * slow) can never commit, whatever its own clock believes.
 */
import type { Fence, Store } from '@fedns/store';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type Logger, SILENT } from './logger.js';

export interface LeaderElectionTiming {
  /** How long a lease lasts without renewal (client-go default 15 s). */
  leaseDurationMs: number;
  /** A leader that has not renewed for this long stops acting (10 s). */
  renewDeadlineMs: number;
  /** How often candidates try and the leader renews (2 s). */
  retryPeriodMs: number;
}

/** A candidate tries this long after the lease's expiry, so that the database sees it expired. */
const EXPIRY_MARGIN_MS = 20;

export const DEFAULT_LEADER_TIMING: LeaderElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export interface LeaderElectorOptions {
  store: Store;
  /** The lease's name, e.g. `fedns-controller`. */
  lease: string;
  /** This candidate, e.g. `host-pid`. */
  identity: string;
  timing?: LeaderElectionTiming;
  /** Called when this candidate wins; the fence goes with every write until it stops. */
  onStartedLeading(fence: Fence): Promise<void>;
  /** Called when it stops acting (lost, could not renew in time, or shutting down). */
  onStoppedLeading(reason: string): Promise<void>;
  logger?: Logger;
  registry?: Registry;
}

export interface LeaderStatus {
  leading: boolean;
  identity: string;
  /** The lease's current holder and epoch as last read (this candidate or another). */
  holder?: string;
  epoch?: number;
}

export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  readonly #t: LeaderElectionTiming;
  readonly #log: Logger;
  readonly #metrics;
  #fence: Fence | undefined;
  /** When the last successful acquire/renew was sent (ms, this process's clock). */
  #renewedAt = 0;
  #holder: string | undefined;
  #epoch: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #stopped = false;
  #transition: Promise<void> = Promise.resolve();

  constructor(opts: LeaderElectorOptions) {
    this.#o = opts;
    this.#t = opts.timing ?? DEFAULT_LEADER_TIMING;
    if (!(this.#t.renewDeadlineMs < this.#t.leaseDurationMs)) throw new Error('leader election: the renew deadline must be shorter than the lease duration');
    if (!(this.#t.retryPeriodMs < this.#t.renewDeadlineMs)) throw new Error('leader election: the retry period must be shorter than the renew deadline');
    this.#log = opts.logger ?? SILENT;
    const registers = opts.registry ? [opts.registry] : [];
    this.#metrics = {
      leader: new Gauge({ name: 'fedns_leader', help: 'Whether this process leads (1) or stands by (0)', labelNames: ['lease', 'identity'], registers }),
      epoch: new Gauge({ name: 'fedns_leader_epoch', help: 'The epoch of the lease as this process last saw it', labelNames: ['lease'], registers }),
      transitions: new Counter({ name: 'fedns_leader_transitions_total', help: 'Times this process started or stopped leading', labelNames: ['lease', 'to'], registers }),
    };
    this.#metrics.leader.set({ lease: opts.lease, identity: opts.identity }, 0);
  }

  /** The fence of the current leadership, or undefined while not leading. */
  get fence(): Fence | undefined {
    return this.#fence;
  }

  status(): LeaderStatus {
    return { leading: this.#fence !== undefined, identity: this.#o.identity, ...(this.#holder ? { holder: this.#holder } : {}), ...(this.#epoch !== undefined ? { epoch: this.#epoch } : {}) };
  }

  start(): void {
    void this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const sent = Date.now();
    let nextInMs = this.#t.retryPeriodMs;
    try {
      const lease = await this.#o.store.acquireLease(this.#o.lease, this.#o.identity, this.#t.leaseDurationMs, this.#fence?.epoch);
      if (this.#stopped) return;
      if (lease) {
        this.#holder = lease.holder;
        this.#epoch = lease.epoch;
        this.#metrics.epoch.set({ lease: this.#o.lease }, lease.epoch);
        if (this.#fence && this.#fence.epoch !== lease.epoch) this.#stepDown(`the lease moved to epoch ${lease.epoch}`);
        this.#renewedAt = sent;
        if (!this.#fence) this.#startLeading({ lease: this.#o.lease, holder: this.#o.identity, epoch: lease.epoch });
      } else {
        if (this.#fence) this.#stepDown('another candidate holds the lease');
        const cur = await this.#o.store.readLease(this.#o.lease).catch(() => undefined);
        this.#holder = cur?.holder;
        this.#epoch = cur?.epoch;
        if (cur) this.#metrics.epoch.set({ lease: this.#o.lease }, cur.epoch);
        // Try again the moment it expires (by the database's clock), not up to a retry period later.
        if (cur?.remainingMs) nextInMs = Math.min(nextInMs, cur.remainingMs + EXPIRY_MARGIN_MS);
      }
    } catch (err) {
      this.#log.warn({ lease: this.#o.lease, err: String(err) }, this.#fence ? 'cannot renew the lease; still leading until the renew deadline' : 'cannot reach the store to take the lease');
    }
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), nextInMs);
    this.#timer.unref();
  }

  #startLeading(fence: Fence): void {
    this.#fence = fence;
    this.#metrics.leader.set({ lease: this.#o.lease, identity: this.#o.identity }, 1);
    this.#metrics.transitions.inc({ lease: this.#o.lease, to: 'leading' });
    this.#log.info({ lease: fence.lease, identity: fence.holder, epoch: fence.epoch }, 'started leading');
    this.#armDeadline();
    this.#transition = this.#transition.then(() => this.#o.onStartedLeading(fence)).catch((err) => {
      this.#log.error({ err: String(err) }, 'could not start acting as leader; stepping down');
      this.#stepDown('failed to start');
    });
  }

  /** Steps down on its own clock once it has not renewed for the renew deadline, even while a renewal hangs. */
  #armDeadline(): void {
    clearInterval(this.#deadline);
    this.#deadline = setInterval(() => {
      if (this.#fence && Date.now() - this.#renewedAt >= this.#t.renewDeadlineMs) this.#stepDown(`not renewed for ${this.#t.renewDeadlineMs} ms`);
    }, Math.max(50, Math.min(500, this.#t.retryPeriodMs / 4)));
    this.#deadline.unref();
  }

  #stepDown(reason: string): void {
    if (!this.#fence) return;
    const fence = this.#fence;
    this.#fence = undefined;
    clearInterval(this.#deadline);
    this.#metrics.leader.set({ lease: this.#o.lease, identity: this.#o.identity }, 0);
    this.#metrics.transitions.inc({ lease: this.#o.lease, to: 'standby' });
    this.#log.warn({ lease: fence.lease, epoch: fence.epoch, reason }, 'stopped leading');
    this.#transition = this.#transition.then(() => this.#o.onStoppedLeading(reason)).catch((err) => this.#log.error({ err: String(err) }, 'stopping the leader’s work failed'));
  }

  /** The store refused this leadership's fence: stop acting now rather than at the renew deadline. */
  deposed(reason: string): void {
    this.#stepDown(reason);
  }

  /** Stops campaigning; a leader stops acting and gives the lease up so a standby takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const leading = this.#fence !== undefined;
    this.#stepDown('shutting down');
    await this.#transition;
    if (leading) await this.#o.store.releaseLease(this.#o.lease, this.#o.identity).catch(() => undefined);
  }
}

/**
 * Probes from outside (issue 14): every controller process — leading or
 * standing by — probes the load-balancer addresses of each shard of every
 * service with a `federation.fedns.io/probe`, on the service's interval, and
 * records its own verdicts (after the failure and success thresholds) under
 * its identity. Those rows, and its heartbeat, are the only writes a standby
 * makes; they are never fenced. The leader counts the fresh verdicts of every
 * prober (probe-view.ts): an HA installation probes from several places.
 */
import type { ProbeSpec } from '@fedns/model';
import { policyFromService, probeTargetText } from '@fedns/model';
import type { ProbeVerdict, ShardRef, Store } from '@fedns/store';
import { type CheckResult, checkAddress } from './probe-check.js';
import { PROBE_HEARTBEAT_MS } from './probe-judge.js';
import type { Logger } from './logger.js';
import type { ControllerMetrics } from './metrics.js';
import type { FederatedService } from './propagate.js';
import { normaliseAddresses, placedIn } from './shards.js';

export interface ProberOptions {
  store: Store;
  /** Who probes: the process's identity (`--id`), the key of its rows. */
  identity: string;
  metrics: ControllerMetrics;
  log: Logger;
  /** This prober's recorded verdicts changed (a leader in this process looks again at once). */
  onRecorded?: () => void;
  /** Probes one address (tests pass a fake). */
  check?: (spec: ProbeSpec, address: string) => Promise<CheckResult>;
  heartbeatMs?: number;
  /** Probes in flight at most (over every service). */
  concurrency?: number;
}

/** One shard's probe state in this prober: consecutive results and the verdict they make. */
interface TargetState {
  addresses: string[];
  okRun: number;
  failRun: number;
  verdict?: { ok: boolean; since: string; message: string };
}

interface ServiceProbe {
  namespace: string;
  name: string;
  spec: ProbeSpec;
  target: string;
  shards: Map<string, TargetState>;
  timer?: NodeJS.Timeout;
  running: boolean;
}

const key = (ns: string, name: string) => `${ns}/${name}`;

export class Prober {
  private readonly services = new Map<string, ServiceProbe>();
  private readonly check: (spec: ProbeSpec, address: string) => Promise<CheckResult>;
  private pendingPut = new Map<string, ProbeVerdict>();
  private pendingRemove = new Map<string, ShardRef>();
  private writing: Promise<void> | undefined;
  private lastWrite = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private stopped = false;
  /** Shards this prober holds a verdict row for (a heartbeat is only needed while it has any). */
  private readonly recorded = new Set<string>();

  constructor(private readonly opts: ProberOptions) {
    this.check = opts.check ?? ((spec, address) => checkAddress(spec, address));
  }

  get identity(): string {
    return this.opts.identity;
  }

  /** Clears what an earlier run under this identity left, looks at every service, and starts the heartbeat. */
  async start(): Promise<void> {
    const own = (await this.opts.store.probeVerdicts()).filter((v) => v.prober === this.opts.identity);
    if (own.length) await this.opts.store.recordProbes(this.opts.identity, [], own.map(({ cluster, namespace, service }) => ({ cluster, namespace, service })));
    await this.resync();
    this.heartbeat = setInterval(() => {
      if (this.recorded.size > 0 && Date.now() - this.lastWrite >= (this.opts.heartbeatMs ?? PROBE_HEARTBEAT_MS) * 0.9) this.flush(true);
    }, (this.opts.heartbeatMs ?? PROBE_HEARTBEAT_MS) / 2);
    this.heartbeat.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    for (const s of this.services.values()) clearTimeout(s.timer);
    await this.writing?.catch(() => undefined);
  }

  /** Every service looked at again (start, resync). */
  async resync(): Promise<void> {
    const items = (await this.opts.store.listObjects<FederatedService>('services')).items;
    const seen = new Set<string>();
    for (const s of items) {
      seen.add(key(s.namespace, s.name));
      this.apply(s.namespace, s.name, s.object);
    }
    for (const k of [...this.services.keys()]) if (!seen.has(k)) this.drop(k);
  }

  /** A service was created, changed or deleted: start, adjust or stop probing it. */
  async serviceChanged(namespace: string, name: string): Promise<void> {
    const s = await this.opts.store.getObject<FederatedService>('services', namespace, name);
    if (s) this.apply(namespace, name, s.object);
    else this.drop(key(namespace, name));
  }

  /** Shards this prober probes now. */
  get targets(): number {
    let n = 0;
    for (const s of this.services.values()) n += s.shards.size;
    return n;
  }

  private apply(namespace: string, name: string, svc: FederatedService): void {
    if (this.stopped) return;
    const k = key(namespace, name);
    const spec = policyFromService({ ...svc.metadata, namespace, name }).probe;
    const cur = this.services.get(k);
    if (!spec) {
      if (cur) this.drop(k);
      return;
    }
    const target = probeTargetText(spec);
    if (cur && cur.target === target && JSON.stringify(cur.spec) === JSON.stringify(spec)) return;
    if (cur) {
      clearTimeout(cur.timer);
      // Another probe: what the old one found says nothing about it.
      if (cur.target !== target) for (const st of cur.shards.values()) Object.assign(st, { okRun: 0, failRun: 0, verdict: undefined });
      cur.spec = spec;
      cur.target = target;
      this.schedule(cur, 0);
      return;
    }
    const probe: ServiceProbe = { namespace, name, spec, target, shards: new Map(), running: false };
    this.services.set(k, probe);
    this.schedule(probe, 0);
  }

  private drop(k: string): void {
    const s = this.services.get(k);
    if (!s) return;
    clearTimeout(s.timer);
    this.services.delete(k);
    for (const cluster of s.shards.keys()) this.remove({ cluster, namespace: s.namespace, service: s.name });
    this.flush();
    this.opts.metrics.probeTargets.set(this.targets);
  }

  private schedule(s: ServiceProbe, delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(s.timer);
    s.timer = setTimeout(() => void this.round(s), delayMs);
    s.timer.unref();
  }

  /** One round of a service: every shard's addresses probed, verdicts updated, the next round on the interval. */
  private async round(s: ServiceProbe): Promise<void> {
    if (this.stopped || this.services.get(key(s.namespace, s.name)) !== s || s.running) return;
    s.running = true;
    const started = Date.now();
    try {
      const fed = (await this.opts.store.getObject<FederatedService>('services', s.namespace, s.name))?.object;
      const shards = (await this.opts.store.shardsOfService(s.namespace, s.name)).filter((sh) => !sh.conflict && placedIn(sh.cluster, fed));
      const live = new Set<string>();
      await Promise.all(
        shards.map(async (sh) => {
          const addresses = normaliseAddresses(sh.addresses);
          if (addresses.length === 0) return;
          live.add(sh.cluster);
          let st = s.shards.get(sh.cluster);
          if (!st || st.addresses.join() !== addresses.join()) {
            // New addresses: a new target; the old verdict is about another load balancer.
            st = { addresses, okRun: 0, failRun: 0 };
            s.shards.set(sh.cluster, st);
          }
          const results = await Promise.all(addresses.map((a) => this.limited(() => this.probeOne(s.spec, a))));
          if (this.services.get(key(s.namespace, s.name)) !== s) return;
          this.observe(s, sh.cluster, st, results);
        }),
      );
      for (const cluster of [...s.shards.keys()]) {
        if (live.has(cluster)) continue;
        s.shards.delete(cluster);
        this.remove({ cluster, namespace: s.namespace, service: s.name });
      }
      this.flush();
    } catch (err) {
      this.opts.log.warn({ service: key(s.namespace, s.name), err: String(err) }, 'probe round failed; trying again at the next interval');
    } finally {
      s.running = false;
      this.opts.metrics.probeTargets.set(this.targets);
      this.schedule(s, Math.max(0, s.spec.intervalMs - (Date.now() - started)));
    }
  }

  private async probeOne(spec: ProbeSpec, address: string): Promise<CheckResult> {
    const r = await this.check(spec, address).catch((err: unknown): CheckResult => ({ ok: false, message: String(err), ms: 0 }));
    this.opts.metrics.probes.inc({ protocol: spec.protocol, result: r.ok ? 'success' : 'failure' });
    this.opts.metrics.probeSeconds.observe({ protocol: spec.protocol }, r.ms / 1000);
    return r;
  }

  /** Thresholds: failureThreshold failures in a row make a failed verdict, successThreshold successes a healthy one. */
  private observe(s: ServiceProbe, cluster: string, st: TargetState, results: CheckResult[]): void {
    const bad = results.find((r) => !r.ok);
    if (bad) {
      st.failRun++;
      st.okRun = 0;
    } else {
      st.okRun++;
      st.failRun = 0;
    }
    const message = bad ? bad.message : (results[0]?.message ?? '');
    let ok: boolean | undefined;
    if (bad && st.failRun >= s.spec.failureThreshold) ok = false;
    else if (!bad && (st.okRun >= s.spec.successThreshold || st.verdict === undefined)) ok = true;
    if (ok === undefined) return; // not enough in a row yet: the verdict stands
    if (st.verdict && st.verdict.ok === ok) {
      // Same verdict: keep its since; a failure's reason may change (refused → timeout) and is worth recording.
      if (ok || st.verdict.message === message) return;
      st.verdict = { ...st.verdict, message };
    } else {
      st.verdict = { ok, since: new Date().toISOString(), message };
      this.opts.metrics.probeVerdicts.inc({ verdict: ok ? 'healthy' : 'failed' });
      const fields = { prober: this.opts.identity, shard: `${cluster}/${s.namespace}/${s.name}`, probe: s.target, message };
      if (ok) this.opts.log.info(fields, 'probe verdict: healthy');
      else this.opts.log.warn(fields, 'probe verdict: failed');
    }
    const ref = { cluster, namespace: s.namespace, service: s.name };
    this.pendingRemove.delete(refKey(ref));
    this.pendingPut.set(refKey(ref), { ...ref, target: s.target, addresses: st.addresses, ok: st.verdict.ok, since: st.verdict.since, message: st.verdict.message });
  }

  private remove(ref: ShardRef): void {
    this.pendingPut.delete(refKey(ref));
    this.pendingRemove.set(refKey(ref), ref);
  }

  /** Writes what changed (or, with `heartbeat`, at least marks this prober alive); one write at a time. */
  private flush(heartbeat = false): void {
    if (this.writing) {
      void this.writing.then(() => this.flush(heartbeat));
      return;
    }
    const put = [...this.pendingPut.values()];
    const remove = [...this.pendingRemove.values()];
    if (!put.length && !remove.length && !heartbeat) return;
    this.pendingPut.clear();
    this.pendingRemove.clear();
    this.writing = this.opts.store
      .recordProbes(this.opts.identity, put, remove)
      .then(() => {
        this.lastWrite = Date.now();
        for (const v of put) this.recorded.add(refKey(v));
        for (const r of remove) this.recorded.delete(refKey(r));
        if (put.length || remove.length) this.opts.onRecorded?.();
      })
      .catch((err: unknown) => {
        // Put back what was not written (unless something newer replaced it meanwhile).
        for (const v of put) if (!this.pendingPut.has(refKey(v)) && !this.pendingRemove.has(refKey(v))) this.pendingPut.set(refKey(v), v);
        for (const r of remove) if (!this.pendingPut.has(refKey(r))) this.pendingRemove.set(refKey(r), r);
        this.opts.log.warn({ prober: this.opts.identity, err: String(err) }, 'cannot record probe verdicts; retrying');
      })
      .finally(() => {
        this.writing = undefined;
      });
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    const max = this.opts.concurrency ?? 256;
    while (this.inFlight >= max) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight++;
    try {
      return await fn();
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }
}

const refKey = (r: ShardRef) => `${r.cluster}/${r.namespace}/${r.service}`;

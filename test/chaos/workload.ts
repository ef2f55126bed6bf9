/**
 * The chaos tests' traffic: Services created and annotated through the API
 * servers in turn (every acknowledged write remembered), and their pods in the
 * simulated members failing and recovering so their shards flap.
 */
import type { SimCluster } from '@fedns/kube-sim';

const SEQ = 'chaos.fedns.io/seq';

export interface Acked {
  /** The resourceVersion the API acknowledged for the last write of it. */
  rv: number;
  /** The annotation value of that write (0 for the create). */
  seq: number;
}

export class Workload {
  /** Service name → its last acknowledged write. */
  readonly acked = new Map<string, Acked>();
  /** When each write was acknowledged (ms since the epoch), in order. */
  readonly ackTimes: number[] = [];
  readonly failures: string[] = [];
  flaps = 0;
  /** `cluster/service` pairs whose pods are failed now. */
  readonly #failed = new Set<string>();
  #stopped = true;
  #loop: Promise<void> | undefined;
  #n = 0;

  constructor(
    private readonly apis: string[],
    private readonly sims: SimCluster[],
    private readonly opts: { maxServices: number; everyMs: number; prefix: string },
  ) {}

  start(): void {
    this.#stopped = false;
    this.#loop = (async () => {
      while (!this.#stopped) {
        await this.#write();
        this.#flap();
        await new Promise((r) => setTimeout(r, this.opts.everyMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }

  /** The first acknowledgement at or after `t`, if any. */
  firstAckAfter(t: number): number | undefined {
    return this.ackTimes.find((a) => a >= t);
  }

  /**
   * Every write acknowledged before the list is asked for, checked through `api`: a list of what is
   * missing or older than acknowledged. (The workload may still run: a write acknowledged while
   * the list is in flight may or may not be in it, so it is not judged by this list.)
   */
  async missing(api: string): Promise<string[]> {
    const acked = new Map(this.acked);
    const res = await fetch(`${api}/api/v1/namespaces/default/services`);
    if (!res.ok) return [`listing services: ${res.status} ${await res.text()}`];
    const items = ((await res.json()) as { items: { metadata: { name: string; resourceVersion: string; annotations?: Record<string, string> } }[] }).items;
    const byName = new Map(items.map((i) => [i.metadata.name, i.metadata]));
    const out: string[] = [];
    for (const [name, a] of acked) {
      const m = byName.get(name);
      if (!m) out.push(`${name}: acknowledged at resourceVersion ${a.rv}, gone`);
      else if (Number(m.resourceVersion) < a.rv) out.push(`${name}: acknowledged at ${a.rv}, stored at ${m.resourceVersion}`);
      else if (Number(m.annotations?.[SEQ] ?? 0) < a.seq) out.push(`${name}: annotation ${SEQ}=${a.seq} acknowledged, stored ${m.annotations?.[SEQ]}`);
    }
    return out;
  }

  async #write(): Promise<void> {
    const api = this.apis[this.#n++ % this.apis.length] as string;
    const names = [...this.acked.keys()];
    try {
      if (names.length < this.opts.maxServices) {
        const name = `${this.opts.prefix}${names.length + this.failures.length}`;
        const body = { metadata: { name }, spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80 }] } };
        const res = await fetch(`${api}/api/v1/namespaces/default/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
        const text = await res.text();
        if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${text.slice(0, 200)}`);
        this.#ack(name, { rv: Number(JSON.parse(text).metadata.resourceVersion), seq: 0 });
        for (const s of this.sims) s.runPods({ namespace: 'default', name, labels: { app: name }, count: 1 });
      } else {
        const name = names[Math.floor(Math.random() * names.length)] as string;
        const seq = (this.acked.get(name)?.seq ?? 0) + 1;
        const res = await fetch(`${api}/api/v1/namespaces/default/services/${name}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/merge-patch+json' },
          body: JSON.stringify({ metadata: { annotations: { [SEQ]: String(seq) } } }),
          signal: AbortSignal.timeout(5000),
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`patch ${name}: ${res.status} ${text.slice(0, 200)}`);
        this.#ack(name, { rv: Number(JSON.parse(text).metadata.resourceVersion), seq });
      }
    } catch (err) {
      // Not acknowledged: allowed to be lost (it may also have landed).
      this.failures.push(`${new Date().toISOString()} ${api}: ${String(err)}`);
    }
  }

  #ack(name: string, a: Acked): void {
    this.acked.set(name, a);
    this.ackTimes.push(Date.now());
  }

  /**
   * Fails the pods of one service in one member that are healthy now: a change
   * only a leader can commit (the takeover measurements start one at the kill).
   */
  failOne(): void {
    const pairs = [...this.acked.keys()].flatMap((name) => this.sims.map((sim) => ({ name, sim }))).filter((p) => !this.#failed.has(`${p.sim.name}/${p.name}`));
    const p = pairs[Math.floor(Math.random() * pairs.length)];
    if (p) this.#set(p.sim, p.name, false);
  }

  #flap(): void {
    const names = [...this.acked.keys()];
    if (!names.length) return;
    const name = names[Math.floor(Math.random() * names.length)] as string;
    const sim = this.sims[Math.floor(Math.random() * this.sims.length)] as SimCluster;
    this.#set(sim, name, Math.random() < 0.5);
  }

  #set(sim: SimCluster, name: string, ready: boolean): void {
    const target = { namespace: 'default', selector: `app=${name}` };
    if (ready) {
      sim.faults.recoverPods(target);
      this.#failed.delete(`${sim.name}/${name}`);
    } else {
      sim.faults.failPods(target);
      this.#failed.add(`${sim.name}/${name}`);
    }
    this.flaps++;
  }
}

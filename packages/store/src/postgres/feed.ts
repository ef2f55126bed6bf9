/**
 * The change feed of a PostgreSQL store. Writers NOTIFY inside their
 * transactions (delivered at commit, in commit order); each store keeps one
 * dedicated LISTEN connection while anyone watches, reconnecting with back-off.
 * While LISTEN is down or impossible (a hot standby refuses it), or when
 * disabled, it polls the object revision and the zone head every `pollMs`;
 * while it is up, a slow poll (every 10 × pollMs) still catches a silently dead
 * connection. Changes are delivered once per new high-water mark; a head that
 * went back (a failover lost commits) is delivered too, so followers re-read.
 */
import pg from 'pg';
import type { StoreChange } from '../types.js';
import { NOTIFY_CHANNEL } from './tx.js';

type Listener = (change: StoreChange) => void;

export class PgFeed {
  readonly #listeners = new Set<Listener>();
  /** Highest rv / seq delivered; -1 before the first poll (then the first poll wakes everyone, once). */
  #rv = -1;
  #seq = -1;
  #answers = -1;
  #client: pg.Client | undefined;
  #listening = false;
  #timer: NodeJS.Timeout | undefined;
  #reconnectDelay = 0;
  #running = false;
  /** A poll saw the head below the mark: a second one in a row confirms it went back (not a poll racing a NOTIFY). */
  #backSeen = { objects: false, zone: false, clusterAnswers: false };

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly pool: pg.Pool,
    private readonly opts: { listen: boolean; pollMs: number },
  ) {}

  /** Whether a LISTEN connection is up (for metrics and tests). */
  get listening(): boolean {
    return this.#listening;
  }

  watch(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (!this.#running) this.#start();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  /** A commit made through this store: delivered at once. */
  local(change: StoreChange): void {
    this.#deliver(change, false);
  }

  stop(): void {
    this.#running = false;
    this.#listening = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    this.#client = undefined;
    client?.removeAllListeners('notification');
    client?.end().catch(() => {});
  }

  #start(): void {
    this.#running = true;
    this.#schedulePoll(0);
    if (this.opts.listen) void this.#connect();
  }

  #deliver(change: StoreChange, allowBack: boolean): void {
    if (change.what === 'objects') {
      if (change.rv === this.#rv || (change.rv < this.#rv && !allowBack)) return;
      this.#rv = change.rv;
    } else if (change.what === 'zone') {
      if (change.seq === this.#seq || (change.seq < this.#seq && !allowBack)) return;
      this.#seq = change.seq;
    } else {
      if (change.seq === this.#answers || (change.seq < this.#answers && !allowBack)) return;
      this.#answers = change.seq;
    }
    for (const l of [...this.#listeners]) {
      try {
        l(change);
      } catch {
        // A listener's failure is its own; the feed goes on.
      }
    }
  }

  #schedulePoll(delay: number): void {
    clearTimeout(this.#timer);
    if (!this.#running) return;
    this.#timer = setTimeout(() => void this.#poll(), delay);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    try {
      const r = await this.pool.query('SELECT (SELECT rv FROM object_revision) AS rv, (SELECT seq FROM zone_head) AS seq, (SELECT seq FROM cluster_answer_head) AS aseq');
      const row = r.rows[0] as { rv: number; seq: number; aseq: number | string };
      if (this.#running) {
        this.#deliver({ what: 'objects', rv: row.rv }, this.#confirmBack('objects', row.rv < this.#rv));
        this.#deliver({ what: 'zone', seq: row.seq }, this.#confirmBack('zone', row.seq < this.#seq));
        const aseq = Number(row.aseq);
        this.#deliver({ what: 'clusterAnswers', seq: aseq }, this.#confirmBack('clusterAnswers', aseq < this.#answers));
      }
    } catch {
      // Unreachable for now: the next poll tries again.
    }
    this.#schedulePoll(this.#listening ? this.opts.pollMs * 10 : this.opts.pollMs);
  }

  #confirmBack(what: 'objects' | 'zone' | 'clusterAnswers', below: boolean): boolean {
    const confirmed = below && this.#backSeen[what];
    this.#backSeen[what] = below && !confirmed;
    return confirmed;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ ...this.config, application_name: `${this.config.application_name ?? 'fedns'}-listen` });
    this.#client = client;
    client.on('notification', (msg) => {
      const [what, n] = (msg.payload ?? '').split(' ');
      if (what === 'objects') this.#deliver({ what, rv: Number(n) }, false);
      else if (what === 'zone' || what === 'clusterAnswers') this.#deliver({ what, seq: Number(n) }, false);
    });
    const down = () => this.#down(client);
    client.on('error', down);
    client.on('end', down);
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
      if (this.#client !== client) return void client.end().catch(() => {});
      this.#listening = true;
      this.#reconnectDelay = 0;
      // Commits made before LISTEN took effect were not notified: catch up now.
      this.#schedulePoll(0);
    } catch {
      down();
    }
  }

  #down(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#listening = false;
    client.end().catch(() => {});
    if (!this.#running) return;
    this.#schedulePoll(0);
    this.#reconnectDelay = Math.min(10_000, Math.max(500, this.#reconnectDelay * 2));
    setTimeout(() => {
      if (this.#running && !this.#client) void this.#connect();
    }, this.#reconnectDelay).unref();
  }
}

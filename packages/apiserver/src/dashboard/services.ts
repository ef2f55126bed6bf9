/**
 * The dashboard's service list: one compact row per federated service (how its
 * global name answers, from the ShardsHealthy condition), filtered by a name
 * substring and a state, paged by an opaque continue token — so the browser
 * gets 50 rows of 10,000, never the objects. Rows are rebuilt only when the
 * store's revision moved.
 */
import type { ServicePage, ServiceRow } from '@fedns/model';
import type { Store } from '@fedns/store';
import { type ServiceState, serviceState } from '../federation-status.js';

export type { ServicePage, ServiceRow } from '@fedns/model';

export interface ServiceQuery {
  q?: string;
  state?: ServiceState;
  limit: number;
  continue?: string;
}

type Svc = {
  metadata?: { creationTimestamp?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] }; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
};

/** A continue token: the key of the last row served, opaque to the client. */
const encode = (key: string) => Buffer.from(key, 'utf8').toString('base64url');
const decode = (token: string) => Buffer.from(token, 'base64url').toString('utf8');
const keyOf = (r: ServiceRow) => `${r.namespace}/${r.name}`;

/** Filters and pages sorted rows. */
export function pageOf(rows: ServiceRow[], query: ServiceQuery): ServicePage {
  const q = query.q?.trim().toLowerCase();
  const matching = rows.filter((r) => (!q || keyOf(r).toLowerCase().includes(q)) && (!query.state || r.state === query.state));
  let start = 0;
  if (query.continue) {
    const after = decode(query.continue);
    start = matching.findIndex((r) => keyOf(r) > after);
    if (start < 0) start = matching.length;
  }
  const items = matching.slice(start, start + query.limit);
  const last = items.at(-1);
  return { items, total: matching.length, ...(last && start + items.length < matching.length ? { continue: encode(keyOf(last)) } : {}) };
}

export class ServiceRows {
  #revision = -1;
  #rows: ServiceRow[] = [];

  constructor(private readonly store: Store) {}

  /** Every service as a row, sorted by namespace/name. */
  async rows(): Promise<ServiceRow[]> {
    const revision = await this.store.revision();
    if (revision === this.#revision) return this.#rows;
    const { items } = await this.store.listObjects<Svc>('services');
    this.#rows = items
      .map((r) => {
        const shards = r.object.status?.conditions?.find((c) => c.type === 'ShardsHealthy');
        return {
          namespace: r.namespace,
          name: r.name,
          state: serviceState(r.object),
          message: shards?.message ?? 'no status yet',
          ingress: (r.object.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').filter(Boolean),
          created: r.object.metadata?.creationTimestamp ?? '',
        };
      })
      .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
    this.#revision = revision;
    return this.#rows;
  }
}

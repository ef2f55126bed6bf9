/**
 * One service: its cascade as a tree — the global name, its regions, their
 * zones — with what each name answers now and why, and the shards behind it
 * (the Service `cascade` subresource), reloaded live from watches of the
 * service's record sets, the Service and the clusters; and its history
 * (the `history` subresource) as a timeline with causes and users.
 */
import { useState } from 'preact/hooks';
import { api, type CascadeNode, FED, type HistoryEvent, servicePath, setDrain, type Shard, type WhoAmI } from '../api';
import { Badge } from '../components/badge';
import { Confirm, type ConfirmRequest } from '../components/confirm';
import { useLive } from '../live';

interface Loaded {
  root?: CascadeNode;
  history: HistoryEvent[];
  state: string;
  message: string;
}

const answerText = (n: CascadeNode) => n.answer.map((a) => `${a.type} ${a.data.join(', ') || '(none)'}`).join(' · ') || '(nothing)';
const time = (t: string) => new Date(t).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function ShardChip({ s, me, ask }: { s: Shard; me: WhoAmI; ask: (r: ConfirmRequest) => void }) {
  const state = s.healthy ? (s.drained ? 'drained' : 'healthy') : 'unhealthy';
  const clusterDrained = s.drained?.startsWith('cluster drained') ?? false;
  return (
    <span class={`shard ${state}`} data-shard={s.cluster} data-state={state} title={s.message || s.drained || ''}>
      <b>{s.cluster}</b> {state}
      <span class="muted">
        {' '}
        · {s.readyEndpoints} ready · {s.addresses.join(', ') || 'no LB'}
        {s.since ? ` · since ${time(s.since)}` : ''}
      </span>
      {!s.healthy && s.message && <span class="why"> — {s.message}</span>}
      {me.canWrite && (
        <button
          type="button"
          class="link"
          data-test={clusterDrained ? 'undrain-cluster' : 'drain-cluster'}
          onClick={() =>
            ask({
              title: `${clusterDrained ? 'Undrain' : 'Drain'} cluster ${s.cluster}?`,
              body: clusterDrained ? `${s.cluster}'s healthy shards are published again, for every service.` : `No shard of ${s.cluster} is published any more — for every service, not only this one.`,
              action: clusterDrained ? 'Undrain cluster' : 'Drain cluster',
              run: () => setDrain({ name: s.cluster, drainedZones: [] }, !clusterDrained),
            })
          }
        >
          {clusterDrained ? 'undrain' : 'drain'}
        </button>
      )}
    </span>
  );
}

function Node({ n, me, ask }: { n: CascadeNode; me: WhoAmI; ask: (r: ConfirmRequest) => void }) {
  const kind = n.answer.some((a) => a.type === 'CNAME') ? 'alias' : n.answer.some((a) => a.type === 'A' || a.type === 'AAAA') ? 'answers' : 'empty';
  return (
    <li>
      <div class={`node ${kind}`} data-name={n.name} data-level={n.level} data-answer={answerText(n)}>
        <div class="node-head">
          <span class="level">{n.level}</span>
          <span class="mono name">{n.name}</span>
        </div>
        <div class="answer mono">{answerText(n)}</div>
        <div class="why">{n.reason}</div>
        {n.shards.length > 0 && (
          <div class="shards">
            {n.shards.map((s) => (
              <ShardChip key={s.cluster} s={s} me={me} ask={ask} />
            ))}
          </div>
        )}
      </div>
      {n.children.length > 0 && (
        <ul>
          {n.children.map((c) => (
            <Node key={c.name} n={c} me={me} ask={ask} />
          ))}
        </ul>
      )}
    </li>
  );
}

function Timeline({ items }: { items: HistoryEvent[] }) {
  if (items.length === 0) return <p class="empty">No history kept for this service.</p>;
  return (
    <ol class="timeline">
      {items.map((e) => (
        <li key={e.kind === 'ZoneChange' ? `z${e.serial}` : `o${e.resourceVersion}`} class={e.kind}>
          <div class="when">{time(e.time)}</div>
          <div class="what">
            <div>
              {e.kind === 'ZoneChange' ? <span class="tag">serial {e.serial}</span> : <span class="tag obj">{e.type.toLowerCase()}</span>}
              {(e.kind === 'ZoneChange' ? e.users : [e.user]).map((u) => (
                <span key={u} class="user">
                  {u}
                </span>
              ))}
              <span class="cause">{e.cause}</span>
            </div>
            {e.kind === 'ZoneChange' && e.changes.length > 0 && (
              <ul class="changes mono">
                {e.changes.map((c) => (
                  <li key={`${c.op}${c.name}${c.type}`} class={c.op}>
                    {c.op === 'add' ? '+' : c.op === 'remove' ? '−' : '~'} {c.name} {c.type} {c.op === 'replace' ? `${(c.oldData ?? []).join(', ')} → ` : ''}
                    {c.data.join(', ')}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </li>
      ))}
    </ol>
  );
}

export function ServicePage({ me, namespace, name }: { me: WhoAmI; namespace: string; name: string }) {
  const [confirm, setConfirm] = useState<ConfirmRequest | undefined>(undefined);
  const path = servicePath(namespace, name);
  const load = async (): Promise<Loaded> => {
    const [cascade, history, svc] = await Promise.all([
      api<{ root?: CascadeNode }>(`${path}/cascade`),
      api<{ items: HistoryEvent[] }>(`${path}/history?limit=100`),
      api<{ status?: { conditions?: { type: string; reason?: string; message?: string }[] } }>(path),
    ]);
    const c = svc.status?.conditions?.find((x) => x.type === 'ShardsHealthy');
    return { root: cascade.root, history: history.items, state: c?.reason ?? 'Unknown', message: c?.message ?? 'no status yet' };
  };
  const sel = encodeURIComponent(`federation.fedns.io/service=${name},federation.fedns.io/namespace=${namespace}`);
  const { data, error, live, updated } = useLive(
    load,
    [`${FED}/dnsrecordsets?labelSelector=${sel}`, `/api/v1/namespaces/${encodeURIComponent(namespace)}/services?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`, `${FED}/clusters`],
    [namespace, name],
  );
  return (
    <div class="service">
      <div class="title">
        <h1>
          <span class="muted">{namespace}/</span>
          {name}
        </h1>
        {data && <Badge value={data.state} />}
        <span class={`live ${live ? 'on' : ''}`} data-test="live" title={updated ? `updated ${updated.toLocaleTimeString()}` : ''}>
          {live ? '● live' : '○ connecting'}
        </span>
      </div>
      {data && <p class="why">{data.message}</p>}
      {error && <p class="error">{error}</p>}
      <div class="columns">
        <section>
          <h2>Cascade</h2>
          {data ? (
            data.root ? (
              <ul class="tree" data-test="cascade">
                <Node n={data.root} me={me} ask={setConfirm} />
              </ul>
            ) : (
              <p class="empty">Nothing published yet.</p>
            )
          ) : (
            <p class="loading">Loading…</p>
          )}
        </section>
        <section>
          <h2>History</h2>
          {data && <Timeline items={data.history} />}
        </section>
      </div>
      <Confirm request={confirm} onClose={() => setConfirm(undefined)} />
    </div>
  );
}

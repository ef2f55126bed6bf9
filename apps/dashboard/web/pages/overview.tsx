/**
 * The overview: regions → zones → clusters with Ready, Reachable and Drained,
 * live from a watch on clusters; the services by how their global name
 * answers (refreshed every 10 s: at 10,000 services a watch of every status
 * write would cost more than it shows); drain and undrain with a confirmation.
 */
import { useState } from 'preact/hooks';
import { SERVICE_STATES } from '@fedns/model/federation-status';
import { api, type ClusterSummary, FED, type FederationStatus, setDrain, type WhoAmI } from '../api';
import { Badge } from '../components/badge';
import { Confirm, type ConfirmRequest } from '../components/confirm';
import { useLive } from '../live';
import { usePoll } from '../poll';


function ClusterTile({ c, zone, me, ask }: { c: ClusterSummary; zone: string; me: WhoAmI; ask: (r: ConfirmRequest) => void }) {
  const zoneDrained = c.drainedZones.includes(zone);
  const drainedHere = c.drained || zoneDrained;
  return (
    <div class={`cluster ${c.ready === 'True' ? '' : 'down'} ${drainedHere ? 'drained' : ''}`} data-cluster={c.name} data-zone={zone}>
      <div class="cluster-name">{c.name}</div>
      <div class="badges">
        <Badge label="Ready" value={c.ready} />
        <Badge label="Reachable" value={c.reachable} />
        <Badge label="Drained" value={c.drained ? 'cluster' : zoneDrained ? 'zone' : 'no'} tone={drainedHere ? 'warn' : 'muted'} />
      </div>
      {c.ready !== 'True' && c.message && <div class="why">{c.message}</div>}
      {me.canWrite && (
        <div class="tile-actions">
          <button
            type="button"
            data-test={c.drained ? 'undrain-cluster' : 'drain-cluster'}
            onClick={() =>
              ask({
                title: `${c.drained ? 'Undrain' : 'Drain'} cluster ${c.name}?`,
                body: c.drained
                  ? `The healthy shards of ${c.name} are published again in every name they belong to.`
                  : `No shard of ${c.name} is published any more: its zones and region fall back up the cascade, and the global name stops answering with its addresses.`,
                action: c.drained ? 'Undrain cluster' : 'Drain cluster',
                run: () => setDrain(c, !c.drained),
              })
            }
          >
            {c.drained ? 'Undrain cluster' : 'Drain cluster'}
          </button>
          {zone && !c.drained && (
            <button
              type="button"
              data-test={zoneDrained ? 'undrain-zone' : 'drain-zone'}
              onClick={() =>
                ask({
                  title: `${zoneDrained ? 'Undrain' : 'Drain'} zone ${zone} of ${c.name}?`,
                  body: zoneDrained ? `${c.name}'s shards are published in ${zone} again.` : `${c.name}'s shards are no longer published in ${zone}; its other zones are unaffected.`,
                  action: zoneDrained ? 'Undrain zone' : 'Drain zone',
                  run: () => setDrain(c, !zoneDrained, zone),
                })
              }
            >
              {zoneDrained ? 'Undrain zone' : 'Drain zone'}
            </button>
          )}
        </div>
      )}
    </div>
  );
}

export function Overview({ me }: { me: WhoAmI }) {
  const load = () => api<{ items: FederationStatus[] }>(`${FED}/federationstatuses`).then((l) => l.items[0]);
  const live = useLive(load, [`${FED}/clusters`], []);
  const polled = usePoll(load, 10000);
  const [confirm, setConfirm] = useState<ConfirmRequest | undefined>(undefined);
  // The newer of the two reads.
  const fs = [live, polled].filter((x) => x.data).sort((a, b) => (b.updated?.getTime() ?? 0) - (a.updated?.getTime() ?? 0))[0]?.data;
  if (!fs) return <div class="loading">{live.error || 'Loading…'}</div>;
  const s = fs.status;
  const byName = new Map(s.clusters.map((c) => [c.name, c]));
  return (
    <div class="overview">
      <section class="summary">
        <div class="stat">
          <span class="n">{s.clusterCounts.total}</span> clusters
          <small>
            {s.clusterCounts.ready} ready · {s.clusterCounts.reachable} reachable · {s.clusterCounts.drained} drained
          </small>
        </div>
        <div class="stat">
          <span class="n">{s.serviceCounts.total}</span> services
          <small>
            {SERVICE_STATES.filter((st) => (s.serviceCounts[st] ?? 0) > 0).map((st) => (
              <a key={st} href={`#/services?state=${st}`} class={`count ${st}`}>
                {s.serviceCounts[st]} {st}
              </a>
            ))}
          </small>
        </div>
        <div class="stat">
          zone <b>{fs.spec.zone}</b>
          <small>serial {s.soaSerial}</small>
        </div>
        <div class={`live ${live.live ? 'on' : ''}`} title="clusters watched live">
          {live.live ? '● live' : '○ reconnecting'}
        </div>
      </section>
      <section class="regions">
        {s.regions.map((r) => (
          <div class="region" key={r.name} data-region={r.name}>
            <h2>{r.name || 'unknown region'}</h2>
            {r.zones.map((z) => (
              <div class="zone" key={z.name} data-zone={z.name}>
                <h3>{z.name || 'unknown zone'}</h3>
                <div class="clusters">
                  {z.clusters.map((n) => {
                    const c = byName.get(n);
                    return c ? <ClusterTile key={n} c={c} zone={z.name} me={me} ask={setConfirm} /> : null;
                  })}
                </div>
              </div>
            ))}
          </div>
        ))}
        {s.regions.length === 0 && <p class="empty">No member clusters joined yet.</p>}
      </section>
      {s.problemServices.length > 0 && (
        <section class="problems">
          <h2>Services not answering from healthy shards</h2>
          <table>
            <tbody>
              {s.problemServices.slice(0, 20).map((p) => (
                <tr key={`${p.namespace}/${p.name}`}>
                  <td>
                    <a href={`#/services/${encodeURIComponent(p.namespace)}/${encodeURIComponent(p.name)}`}>
                      {p.namespace}/{p.name}
                    </a>
                  </td>
                  <td>
                    <Badge value={p.state} />
                  </td>
                  <td class="why">{p.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <Confirm request={confirm} onClose={() => setConfirm(undefined)} />
    </div>
  );
}

import { shardsWithProbes } from '@fedns/apiserver';
import { explainName, formatExplanation } from '@fedns/cascade';
import type { ClusterObject, RecordSet } from '@fedns/model';
import { absoluteName, isInZone, topologyFromCluster } from '@fedns/model';
import { openStore, type Store } from '@fedns/store';
import { existsSync } from 'node:fs';
import { type Config, storeUrlOf, UsageError } from './config.js';
import { storeSecrets } from './roles.js';

async function openForReading(c: Config): Promise<Store> {
  const url = storeUrlOf(c);
  if (url.startsWith('sqlite:') && !existsSync(url.slice('sqlite:'.length))) throw new UsageError(`store: ${url} holds no fedns database`);
  return openStore({ url, dataDir: c.dataDir, readonly: true, ...storeSecrets(c) });
}

/** `explain NAME`: the chain a name resolves through now, the shards behind each level, and why. */
export async function explain(c: Config, name: string | undefined): Promise<string> {
  if (!name) throw new UsageError('explain: NAME is required (a DNS name in the federation zone)');
  const abs = absoluteName(name);
  if (!isInZone(abs, c.zone)) throw new UsageError(`explain: ${abs} is not inside the zone ${c.zone}`);
  const store = await openForReading(c);
  try {
    const clusters = (await store.listObjects<ClusterObject>('clusters')).items.map((cl) => topologyFromCluster(cl.object));
    return formatExplanation(explainName(abs, await store.listRecordSets(), await shardsWithProbes(store, await store.listShards()), clusters)).trimEnd();
  } finally {
    await store.close();
  }
}

/** `history SERVICE` (namespace/name, or name in default): every record change with its cause and time. */
export async function history(c: Config, ref: string | undefined): Promise<string> {
  if (!ref) throw new UsageError('history: SERVICE is required (NAMESPACE/NAME or NAME)');
  const [namespace, name] = ref.includes('/') ? (ref.split('/', 2) as [string, string]) : ['default', ref];
  const store = await openForReading(c);
  try {
    const entries = await store.historyOf(namespace, name, 200);
    if (entries.length === 0) return `no record changes kept for service ${namespace}/${name}`;
    const lines: string[] = [];
    const show = (r: RecordSet) => `${r.name} ${r.type} ${r.data.join(', ')} (ttl ${r.ttl})`;
    for (const e of entries.reverse()) {
      lines.push(`${e.at}  serial ${e.soaSerial}  ${e.cause}`);
      const mine = (r: RecordSet) => r.namespace === namespace && r.service === name;
      const before = new Map(e.deleted.filter(mine).map((r) => [`${r.name}/${r.type}`, r]));
      for (const r of e.added.filter(mine)) {
        const old = before.get(`${r.name}/${r.type}`);
        before.delete(`${r.name}/${r.type}`);
        // A replaced RRset shows what it was: a TTL-only change is a change too.
        lines.push(old ? `    ~ ${show(old)} → ${r.data.join(', ')} (ttl ${r.ttl})` : `    + ${show(r)}`);
      }
      for (const r of before.values()) lines.push(`    - ${show(r)}`);
    }
    return lines.join('\n');
  } finally {
    await store.close();
  }
}

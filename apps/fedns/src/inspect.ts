import { explainName, formatExplanation } from '@fedns/cascade';
import type { ClusterObject, RecordSet } from '@fedns/model';
import { absoluteName, isInZone, topologyFromCluster } from '@fedns/model';
import { Store } from '@fedns/store';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, UsageError } from './config.js';

function openForReading(c: Config): Store {
  if (!existsSync(join(c.dataDir, 'fedns.db'))) throw new UsageError(`data-dir: ${c.dataDir} holds no fedns database`);
  return Store.open({ dataDir: c.dataDir, readonly: true });
}

/** `explain NAME`: the chain a name resolves through now, the shards behind each level, and why. */
export function explain(c: Config, name: string | undefined): string {
  if (!name) throw new UsageError('explain: NAME is required (a DNS name in the federation zone)');
  const abs = absoluteName(name);
  if (!isInZone(abs, c.zone)) throw new UsageError(`explain: ${abs} is not inside the zone ${c.zone}`);
  const store = openForReading(c);
  try {
    const clusters = store.listClusters<ClusterObject>().map((cl) => topologyFromCluster(cl.object));
    return formatExplanation(explainName(abs, store.listRecordSets(), store.listShards(), clusters)).trimEnd();
  } finally {
    store.close();
  }
}

/** `history SERVICE` (namespace/name, or name in default): every record change with its cause and time. */
export function history(c: Config, ref: string | undefined): string {
  if (!ref) throw new UsageError('history: SERVICE is required (NAMESPACE/NAME or NAME)');
  const [namespace, name] = ref.includes('/') ? (ref.split('/', 2) as [string, string]) : ['default', ref];
  const store = openForReading(c);
  try {
    const entries = store.historyOf(namespace, name, 200);
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
    store.close();
  }
}

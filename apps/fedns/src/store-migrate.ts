/**
 * `fedns store migrate --from sqlite:PATH --to postgres://…`: moves an
 * installation to another store (engine) through the store interface —
 * objects with their resourceVersions and sealed credentials, shards, member
 * state, the zone, its serial and its journal, DNSSEC keys and signing state — so API watches, IXFR and
 * `fedns history` carry on, and the next serial is above every one served.
 */
import { dirname } from 'node:path';
import { acquireWriterLock, type BulkData, type JournalEntry, type ObjectKind, openStore, type Store, WriterLockHeldError } from '@fedns/store';
import { type Config, parseStoreUrl, UsageError } from './config.js';
import { storeSecrets } from './roles.js';

const KINDS: ObjectKind[] = ['namespaces', 'clusters', 'services'];

/** The journal as far back as the source keeps it. */
async function wholeJournal(store: Store, head: number): Promise<JournalEntry[]> {
  let from = 0;
  for (;;) {
    const entries = await store.zoneChangesSince(from);
    if (entries) return entries;
    if (from >= head) return [];
    from += Math.max(1, Math.ceil((head - from) / 2));
  }
}

export async function migrateStore(c: Config, args: string[], progress: (line: string) => void): Promise<string> {
  if (args[0] !== 'migrate') throw new UsageError('store: the only subcommand is migrate (fedns store migrate --from URL --to URL)');
  if (!c.from || !c.to) throw new UsageError('store migrate: --from and --to are required (e.g. --from sqlite:./data/fedns.db --to postgres://fedns@db:5432/fedns)');
  const from = parseStoreUrl(c.from);
  const to = parseStoreUrl(c.to);
  if (from === to) throw new UsageError('store migrate: --from and --to name the same store');
  // A consistent copy needs the source quiet: no fedns writing it meanwhile.
  let release = () => {};
  if (from.startsWith('sqlite:')) {
    try {
      release = acquireWriterLock(dirname(from.slice('sqlite:'.length)), 'store migrate').release;
    } catch (err) {
      if (err instanceof WriterLockHeldError) throw new UsageError(`store migrate: ${err.message}`);
      throw err;
    }
  }
  // The source keeps its own credentials key (beside a SQLite file); the target seals with --secret-key-file.
  const source = await openStore({ url: from, dataDir: c.dataDir, ...(c.storePasswordFile ? { passwordFile: c.storePasswordFile } : {}) });
  try {
    const target = await openStore({ url: to, dataDir: c.dataDir, ...storeSecrets(c) });
    try {
      for (const kind of KINDS) {
        if ((await target.listObjects(kind)).items.length > 0) throw new UsageError(`store migrate: ${target.location} already holds ${kind}; migrate into an empty store`);
      }
      const data: Required<BulkData> = { objects: [], shards: [], memberStates: [], zone: { soaSerial: 0, seq: 0, recordSets: [], journal: [] } };
      for (const kind of KINDS) {
        const { items } = await source.listObjects(kind);
        for (const o of items) {
          const history = await source.objectHistory(kind, o.namespace, o.name, 1);
          const credentials = kind === 'clusters' ? await source.clusterCredentials(o.name) : undefined;
          data.objects.push({ ...o, ...(history[0] ? { actor: history[0].actor } : {}), ...(credentials !== undefined ? { credentials } : {}) });
        }
        progress(`read ${items.length} ${kind}`);
      }
      data.shards = await source.listShards();
      progress(`read ${data.shards.length} shards`);
      for (const o of data.objects.filter((x) => x.kind === 'clusters')) {
        const state = await source.memberState(o.name);
        if (state) data.memberStates.push({ cluster: o.name, state });
      }
      const snap = await source.zoneSnapshot();
      const journal = await wholeJournal(source, snap.seq);
      data.zone = { soaSerial: snap.soaSerial, seq: snap.seq, recordSets: snap.recordSets, journal };
      progress(`read the zone: serial ${snap.soaSerial}, ${snap.recordSets.length} record sets, ${journal.length} journal entries`);
      progress(`writing into ${target.location} (one transaction)…`);
      await target.load(data);
      // DNSSEC keys (re-sealed with the target's key) and signing state: the parent's DS stays valid.
      const keys = await source.dnssecKeys(c.zone);
      for (const k of keys) await target.putDnssecKey(c.zone, k);
      const dnssec = await source.dnssecState(c.zone);
      if (dnssec) await target.putDnssecState(c.zone, dnssec);
      if (keys.length) progress(`copied ${keys.length} DNSSEC keys of ${c.zone} and its signing state`);
      const check = await target.zoneSnapshot();
      if (check.soaSerial !== snap.soaSerial || check.recordSets.length !== snap.recordSets.length) throw new Error(`store migrate: the target reads back serial ${check.soaSerial} with ${check.recordSets.length} record sets, not what was written`);
      const count = (k: ObjectKind) => data.objects.filter((o) => o.kind === k).length;
      return `migrated ${count('services')} services, ${count('clusters')} clusters, ${count('namespaces')} namespaces, ${data.shards.length} shards, ${snap.recordSets.length} record sets and ${journal.length} journal entries (serial ${snap.soaSerial}) from ${source.location} to ${target.location}; point every fedns at --store ${to}`;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
    release();
  }
}

/** The store's rows for each kind the API serves (services, clusters, namespaces). */
import type { KubeObject } from '@fedns/kubewire';
import type { Store } from '@fedns/store';
import { keyOf, type Row, type RowTable } from './sqlite-backend.js';

type Versions = Map<string, { namespace?: string; name: string; rv: number }>;

export function servicesTable(store: Store): RowTable {
  const versions = store.db.prepare('SELECT namespace, name, resource_version AS rv FROM services');
  return {
    get: (ns, name) => {
      const s = store.getService<KubeObject>(ns ?? '', name);
      return s && { namespace: s.namespace, name: s.name, uid: s.uid, resourceVersion: s.resourceVersion, object: s.object };
    },
    list: () => store.listServices<KubeObject>().map((s) => ({ namespace: s.namespace, name: s.name, uid: s.uid, resourceVersion: s.resourceVersion, object: s.object })),
    versions: () => {
      const out: Versions = new Map();
      for (const r of versions.all() as { namespace: string; name: string; rv: number }[]) out.set(keyOf(r.namespace, r.name), r);
      return out;
    },
    put: (row: Row, actor) => store.putService({ namespace: row.namespace ?? '', name: row.name, uid: row.uid, resourceVersion: row.resourceVersion, object: row.object }, actor),
    remove: (ns, name, actor) => store.deleteService(ns ?? '', name, actor),
  };
}

export function clustersTable(store: Store): RowTable {
  const versions = store.db.prepare('SELECT name, resource_version AS rv FROM clusters');
  return {
    get: (_ns, name) => {
      const c = store.getCluster<KubeObject>(name);
      return c && { name: c.name, uid: c.uid, resourceVersion: c.resourceVersion, object: c.object };
    },
    list: () => store.listClusters<KubeObject>().map((c) => ({ name: c.name, uid: c.uid, resourceVersion: c.resourceVersion, object: c.object })),
    versions: () => {
      const out: Versions = new Map();
      for (const r of versions.all() as { name: string; rv: number }[]) out.set(keyOf(undefined, r.name), r);
      return out;
    },
    put: (row: Row, actor) => store.putCluster({ name: row.name, uid: row.uid, resourceVersion: row.resourceVersion, object: row.object }, actor),
    remove: (_ns, name, actor) => store.deleteCluster(name, actor),
  };
}

interface NsRow {
  name: string;
  uid: string;
  resource_version: number;
  object: string;
}

/** Namespaces live in their own table (migration 0004); only the API writes them, each change in the store's object log. */
export function namespacesTable(store: Store): RowTable {
  const db = store.db;
  const get = db.prepare('SELECT name, uid, resource_version, object FROM namespaces WHERE name = ?');
  const list = db.prepare('SELECT name, uid, resource_version, object FROM namespaces ORDER BY name');
  const versions = db.prepare('SELECT name, resource_version AS rv FROM namespaces');
  const put = db.prepare(
    `INSERT INTO namespaces (name, uid, resource_version, object) VALUES (?, ?, ?, ?)
     ON CONFLICT(name) DO UPDATE SET uid = excluded.uid, resource_version = excluded.resource_version, object = excluded.object`,
  );
  const remove = db.prepare('DELETE FROM namespaces WHERE name = ?');
  const toRow = (r: NsRow): Row => ({ name: r.name, uid: r.uid, resourceVersion: r.resource_version, object: JSON.parse(r.object) as KubeObject });
  return {
    get: (_ns, name) => {
      const r = get.get(name) as NsRow | undefined;
      return r && toRow(r);
    },
    list: () => (list.all() as unknown as NsRow[]).map(toRow),
    versions: () => {
      const out: Versions = new Map();
      for (const r of versions.all() as { name: string; rv: number }[]) out.set(keyOf(undefined, r.name), r);
      return out;
    },
    put: (row, actor) =>
      store.tx(() => {
        const existed = get.get(row.name) !== undefined;
        put.run(row.name, row.uid, row.resourceVersion, JSON.stringify(row.object));
        store.logChange('namespaces', '', row.name, existed ? 'MODIFIED' : 'ADDED', row.resourceVersion, actor, row.object);
      }),
    remove: (_ns, name, actor) =>
      store.tx(() => {
        const prior = get.get(name) as NsRow | undefined;
        if (!prior || remove.run(name).changes === 0) return false;
        store.logChange('namespaces', '', name, 'DELETED', store.nextResourceVersion(), actor, JSON.parse(prior.object));
        return true;
      }),
  };
}

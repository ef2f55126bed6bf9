/**
 * Field ownership (`metadata.managedFields`, FieldsV1) and server-side apply.
 *
 * An approximation of structured-merge-diff that is enough for kubectl: every write records which
 * manager set which fields; `PATCH application/apply-patch+yaml` merges the applied configuration
 * into the live object, removes the fields the manager applied before and no longer applies (unless
 * another manager owns them), and refuses (409 Conflict) to change a field another manager owns,
 * unless `force=true`. Lists follow the kind's schema (listtypes.ts `ssaListOf`): associative lists
 * (`x-kubernetes-list-type: map`) merge by their keys, sets by value, other lists are atomic.
 */
import { itemSchema, propertySchema, type SsaList, ssaListOf, withObjectMeta } from './listtypes.js';
import type { JsonSchema } from './openapi.js';
import { statusError, type StatusCause } from './status.js';
import type { KubeObject } from './types.js';
import { clone, deepEqual, isPlainObject, rfc3339 } from './util.js';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** A path element: `f:<field>`, `k:<sorted key JSON>` (map item) or `v:<value JSON>` (set item). A path is encoded as JSON for set membership. */
type Path = string[];
const enc = (p: Path) => JSON.stringify(p);
const dec = (s: string) => JSON.parse(s) as Path;

/** The path element of a list item, or undefined when the list is atomic. */
function itemElement(item: unknown, list: SsaList): string | undefined {
  if (list.type === 'set') return isPlainObject(item) || Array.isArray(item) ? undefined : `v:${JSON.stringify(item)}`;
  if (list.type !== 'map' || !isPlainObject(item)) return undefined;
  const o: Record<string, unknown> = {};
  for (const k of [...list.keys].sort()) {
    const v = item[k] ?? list.defaults[k];
    if (v !== undefined) o[k] = v;
  }
  return `k:${JSON.stringify(o)}`;
}

/** Whether a list's items are owned one by one (a map of objects, a set of primitives). */
const itemized = (value: unknown[], list: SsaList) => value.every((item) => itemElement(item, list) !== undefined);

/** metadata itself is no one's: only what is in it (labels, annotations, ...) is owned. */
const isMetadata = (p: Path) => p.length === 1 && p[0] === 'f:metadata';

/** Fields that belong to the server or to identity, never owned by a manager. */
function ignoredTop(path: Path, opts: TrackOptions): boolean {
  const [a, b] = path;
  if (a === 'f:apiVersion' || a === 'f:kind') return true;
  if (a === 'f:metadata' && b !== undefined) {
    return ['f:name', 'f:namespace', 'f:uid', 'f:resourceVersion', 'f:creationTimestamp', 'f:managedFields', 'f:generation', 'f:deletionTimestamp', 'f:deletionGracePeriodSeconds', 'f:selfLink'].includes(b);
  }
  if (a === 'f:status' && opts.statusSubresource && opts.subresource !== 'status') return true;
  if (a !== 'f:status' && a !== 'f:metadata' && opts.subresource === 'status') return true;
  return false;
}

export interface TrackOptions {
  /** status belongs to the /status subresource: the main resource's managers do not own it. */
  statusSubresource?: boolean;
  subresource?: string;
  /** The kind's OpenAPI schema: its x-kubernetes-list-* extensions say which lists are associative. */
  schema?: JsonSchema;
}

/** Every owned path of an object: each map field, each associative-list item, down to the leaves. */
export function fieldPaths(obj: unknown, opts: TrackOptions = {}): Set<string> {
  const out = new Set<string>();
  const walk = (value: unknown, path: Path, schema: JsonSchema | undefined) => {
    if (isPlainObject(value)) {
      for (const [k, v] of Object.entries(value)) {
        const p = [...path, `f:${k}`];
        if (path.length <= 1 && ignoredTop(p, opts)) continue;
        if (!isMetadata(p)) out.add(enc(p));
        walk(v, p, propertySchema(schema, k));
      }
    } else if (Array.isArray(value)) {
      const list = ssaListOf(schema);
      if (!itemized(value, list)) return; // atomic list: the list is the leaf
      for (const item of value) {
        const p = [...path, itemElement(item, list) as string];
        out.add(enc(p));
        walk(item, p, itemSchema(schema));
      }
    }
  };
  walk(obj, [], withObjectMeta(opts.schema));
  return out;
}

/** FieldsV1 tree (`{"f:spec":{"f:ports":{".":{},...}}}`) ⇄ a set of paths. */
export function toFieldsV1(paths: Set<string>): Record<string, unknown> {
  const root: Record<string, Record<string, unknown>> = {};
  const all = [...paths].map(dec);
  const parents = new Set(all.map((p) => enc(p.slice(0, -1))));
  for (const p of all) {
    let node: Record<string, unknown> = root;
    for (const el of p) {
      node[el] ??= {};
      node = node[el] as Record<string, unknown>;
    }
    // An interior node that is itself owned (a list item, a map) is marked with ".".
    if (parents.has(enc(p)) && p[p.length - 1]?.startsWith('k:')) node['.'] = {};
  }
  return root;
}

export function fromFieldsV1(tree: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, path: Path) => {
    if (!isPlainObject(node)) return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '.') continue;
      const p = [...path, k];
      if (!isMetadata(p)) out.add(enc(p));
      walk(v, p);
    }
  };
  walk(tree, []);
  return out;
}

interface Found {
  value: unknown;
  found: boolean;
  schema?: JsonSchema;
  index?: number;
}

function childOf(node: unknown, el: string, schema: JsonSchema | undefined): Found {
  if (el.startsWith('f:')) {
    if (!isPlainObject(node)) return { value: undefined, found: false };
    const k = el.slice(2);
    return { value: node[k], found: k in node, schema: propertySchema(schema, k) };
  }
  if (Array.isArray(node)) {
    const list = ssaListOf(schema);
    const index = node.findIndex((item) => itemElement(item, list) === el);
    if (index >= 0) return { value: node[index], found: true, index, schema: itemSchema(schema) };
  }
  return { value: undefined, found: false };
}

/** The value at a path of the object; `schema` is the kind's (ObjectMeta added). */
function lookup(obj: unknown, path: Path, schema: JsonSchema): Found {
  let cur: Found = { value: obj, found: true, schema };
  for (const el of path) {
    cur = childOf(cur.value, el, cur.schema);
    if (!cur.found) return cur;
  }
  return cur;
}

function removeAt(obj: unknown, path: Path, schema: JsonSchema): void {
  if (!path.length) return;
  const parent = lookup(obj, path.slice(0, -1), schema);
  if (!parent.found) return;
  const last = path[path.length - 1] as string;
  if (last.startsWith('f:') && isPlainObject(parent.value)) delete parent.value[last.slice(2)];
  else if (Array.isArray(parent.value)) {
    const c = childOf(parent.value, last, parent.schema);
    if (c.index !== undefined) parent.value.splice(c.index, 1);
  }
}

/** Human form of a path for conflict messages: `.spec.ports[port=80,protocol="TCP"].targetPort`. */
export function describePath(p: Path): string {
  return p
    .map((el) => {
      if (el.startsWith('f:')) return `.${el.slice(2)}`;
      if (el.startsWith('v:')) return `[=${el.slice(2)}]`;
      const keys = JSON.parse(el.slice(2)) as Record<string, unknown>;
      return `[${Object.entries(keys).map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`).join(',')}]`;
    })
    .join('');
}

/** Paths that have owned paths below them (maps, associative lists and their items); the rest are leaves. */
function interiorOf(paths: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const s of paths) {
    const p = dec(s);
    if (p.length > 1) out.add(enc(p.slice(0, -1)));
  }
  return out;
}

/** Merges an applied configuration into the live object: maps recursively, associative lists by key, sets by value. */
function mergeApplied(live: unknown, applied: unknown, schema: JsonSchema | undefined): unknown {
  if (isPlainObject(applied)) {
    const out: Record<string, unknown> = isPlainObject(live) ? clone(live) : {};
    for (const [k, v] of Object.entries(applied)) out[k] = mergeApplied(out[k], v, propertySchema(schema, k));
    return out;
  }
  const list = ssaListOf(schema);
  if (Array.isArray(applied) && Array.isArray(live) && itemized(applied, list) && itemized(live, list)) {
    const out = clone(live) as unknown[];
    for (const item of applied) {
      const el = itemElement(item, list);
      const i = out.findIndex((x) => itemElement(x, list) === el);
      if (i >= 0) out[i] = mergeApplied(out[i], item, itemSchema(schema));
      else out.push(clone(item));
    }
    return out;
  }
  return clone(applied);
}

const entriesOf = (obj: KubeObject | undefined): ManagedFieldsEntry[] =>
  Array.isArray(obj?.metadata?.managedFields) ? (clone(obj.metadata.managedFields) as ManagedFieldsEntry[]) : [];

const sameEntry = (e: ManagedFieldsEntry, manager: string, operation: string, subresource?: string) =>
  e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');

export interface ApplyOptions extends TrackOptions {
  manager: string;
  apiVersion: string;
  force?: boolean;
  now?: string;
}

/**
 * Server-side apply: the object to store (with managedFields) for `applied` by `manager`.
 * `live` undefined means the object is created. Throws 409 Conflict naming each conflicting field.
 */
export function serverSideApply(live: KubeObject | undefined, applied: KubeObject, opts: ApplyOptions): KubeObject {
  const schema = withObjectMeta(opts.schema);
  const cfg = clone(applied);
  if (cfg.metadata) delete cfg.metadata.managedFields;
  const newSet = fieldPaths(cfg, opts);
  const entries = entriesOf(live);
  const mine = entries.find((e) => sameEntry(e, opts.manager, 'Apply', opts.subresource));
  const oldSet = mine ? fromFieldsV1(mine.fieldsV1) : new Set<string>();
  const others = entries.filter((e) => e !== mine).map((e) => ({ e, set: fromFieldsV1(e.fieldsV1) }));

  // Conflicts: a leaf this manager sets to a different value than another manager set it to.
  const conflicts: { path: Path; manager: string; apiVersion: string }[] = [];
  if (live) {
    const interior = interiorOf(newSet);
    for (const s of newSet) {
      if (interior.has(s)) continue;
      const p = dec(s);
      const want = lookup(cfg, p, schema);
      const have = lookup(live, p, schema);
      if (!have.found || deepEqual(have.value, want.value)) continue;
      for (const o of others) if (o.set.has(s)) conflicts.push({ path: p, manager: o.e.manager, apiVersion: o.e.apiVersion });
    }
  }
  if (conflicts.length && !opts.force) {
    const causes: StatusCause[] = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: describePath(c.path) }));
    const summary = conflicts.map((c) => `- ${c.manager}: ${describePath(c.path)}`).join('\n');
    throw statusError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.map((c) => `conflict with "${c.manager}" using ${c.apiVersion}: ${describePath(c.path)}`).join(', ')}\n${summary}`, {
      name: applied.metadata?.name,
      causes,
    });
  }
  // With force, the applier takes the conflicting fields.
  for (const c of conflicts) for (const o of others) o.set.delete(enc(c.path));

  const base = live ? clone(live) : { apiVersion: cfg.apiVersion, kind: cfg.kind, metadata: {} };
  const merged = mergeApplied(base, cfg, schema) as KubeObject;
  // Fields this manager applied before and no longer applies go, unless someone else owns them.
  const dropped = [...oldSet].filter((s) => !newSet.has(s) && !others.some((o) => o.set.has(s))).map(dec);
  dropped.sort((a, b) => b.length - a.length);
  for (const p of dropped) removeAt(merged, p, schema);

  const now = opts.now ?? rfc3339();
  const out: ManagedFieldsEntry[] = [];
  for (const e of entries) {
    if (e === mine) continue;
    const o = others.find((x) => x.e === e);
    if (!o || o.set.size === 0) continue;
    const before = fromFieldsV1(e.fieldsV1);
    out.push(before.size === o.set.size ? e : { ...e, fieldsV1: toFieldsV1(o.set), time: now });
  }
  const setChanged = !mine || mine.apiVersion !== opts.apiVersion || oldSet.size !== newSet.size || [...newSet].some((s) => !oldSet.has(s));
  const liveWithout = live ? { ...live, metadata: { ...live.metadata, managedFields: undefined } } : undefined;
  const mergedWithout = { ...merged, metadata: { ...merged.metadata, managedFields: undefined } };
  const objectChanged = !deepEqual(liveWithout, mergedWithout);
  const entry: ManagedFieldsEntry =
    mine && !setChanged && !objectChanged
      ? mine
      : { manager: opts.manager, operation: 'Apply', apiVersion: opts.apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(newSet), ...(opts.subresource ? { subresource: opts.subresource } : {}) };
  // Keep the original order: the applier's entry where it was, or last.
  const idx = mine ? entries.indexOf(mine) : -1;
  const kept = entries.filter((e) => e !== mine).map((e) => out.find((x) => x.manager === e.manager && x.operation === e.operation && (x.subresource ?? '') === (e.subresource ?? ''))).filter((x): x is ManagedFieldsEntry => !!x);
  if (newSet.size) {
    if (idx >= 0) kept.splice(Math.min(idx, kept.length), 0, entry);
    else kept.push(entry);
  }
  merged.metadata.managedFields = kept;
  if (!kept.length) delete merged.metadata.managedFields;
  return merged;
}

export interface UpdateTrackOptions extends TrackOptions {
  manager: string;
  apiVersion: string;
  now?: string;
}

/**
 * Ownership after a non-apply write (create, update, patch): the manager takes every field it
 * added or changed; fields that disappeared are no longer owned by anyone. Sets
 * `next.metadata.managedFields`; leaves it as it was when nothing changed.
 */
export function trackUpdate(old: KubeObject | undefined, next: KubeObject, opts: UpdateTrackOptions): void {
  const schema = withObjectMeta(opts.schema);
  const entries = entriesOf(old);
  const oldSet = old ? fieldPaths(old, opts) : new Set<string>();
  const newSet = fieldPaths(next, opts);
  const changed = new Set<string>();
  const interior = interiorOf(newSet);
  for (const s of newSet) {
    if (!oldSet.has(s)) {
      changed.add(s);
      continue;
    }
    if (interior.has(s)) continue;
    const p = dec(s);
    if (!deepEqual(lookup(next, p, schema).value, lookup(old, p, schema).value)) changed.add(s);
  }
  const removed = [...oldSet].filter((s) => !newSet.has(s));
  if (!changed.size && !removed.length) {
    if (old) next.metadata.managedFields = old.metadata.managedFields;
    if (next.metadata.managedFields === undefined) delete next.metadata.managedFields;
    return;
  }
  const now = opts.now ?? rfc3339();
  const out: ManagedFieldsEntry[] = [];
  let mine: ManagedFieldsEntry | undefined;
  for (const e of entries) {
    const set = fromFieldsV1(e.fieldsV1);
    const before = set.size;
    for (const r of removed) set.delete(r);
    if (sameEntry(e, opts.manager, 'Update', opts.subresource)) {
      for (const c of changed) set.add(c);
      mine = { ...e, apiVersion: opts.apiVersion, time: now, fieldsV1: toFieldsV1(set) };
      if (set.size) out.push(mine);
      continue;
    }
    for (const c of changed) set.delete(c);
    if (!set.size) continue;
    out.push(set.size === before ? e : { ...e, fieldsV1: toFieldsV1(set) });
  }
  if (!mine && changed.size) {
    out.push({ manager: opts.manager, operation: 'Update', apiVersion: opts.apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(changed), ...(opts.subresource ? { subresource: opts.subresource } : {}) });
  }
  if (out.length) next.metadata.managedFields = out;
  else delete next.metadata.managedFields;
}

/** The field manager of a request: `fieldManager`, else the User-Agent's program name (as kube-apiserver). */
export function fieldManagerOf(query: Record<string, string>, userAgent: string | undefined): string {
  if (query.fieldManager) return query.fieldManager;
  const ua = (userAgent ?? '').split('/')[0]?.trim();
  return ua || 'unknown';
}

/**
 * Strategic merge patch: a JSON merge patch whose lists follow the kind's schema (listtypes.ts):
 * a list with `x-kubernetes-patch-strategy: merge` merges by its `x-kubernetes-patch-merge-key`
 * (or, for primitives, as a set); every other list is replaced, as upstream does where the
 * schema says nothing. Honours the `$patch: replace|delete|merge`, `$retainKeys`,
 * `$deleteFromPrimitiveList/<f>` and `$setElementOrder/<f>` directives kubectl generates.
 */
import type { JsonSchema } from './openapi.js';
import { itemSchema, propertySchema, smpListOf, withObjectMeta } from './listtypes.js';
import { errors } from './status.js';
import { clone, deepEqual, isPlainObject } from './util.js';

/** Applies `patch` to a copy of `target`, the lists merged per `schema` (the kind's OpenAPI schema). */
export function strategicMergePatch(target: unknown, patch: unknown, schema?: JsonSchema): unknown {
  return smp(target, patch, withObjectMeta(schema));
}

function smp(target: unknown, patch: unknown, schema: JsonSchema | undefined): unknown {
  if (Array.isArray(patch)) return smpList(Array.isArray(target) ? target : [], patch, schema);
  if (!isPlainObject(patch)) return clone(patch);
  const directive = patch.$patch;
  if (directive === 'replace') {
    const rest = { ...patch };
    delete rest.$patch;
    return clone(rest);
  }
  if (directive === 'delete') return undefined;
  const out: Record<string, unknown> = isPlainObject(target) ? clone(target) : {};
  const retain = Array.isArray(patch.$retainKeys) ? (patch.$retainKeys as string[]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[f]) && Array.isArray(v)) out[f] = (out[f] as unknown[]).filter((x) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const merged = smp(out[k], v, propertySchema(schema, k));
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k) && !(k in patch)) delete out[k];
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/') || !Array.isArray(order)) continue;
    const f = k.slice('$setElementOrder/'.length);
    const list = out[f];
    if (Array.isArray(list) && smpListOf(propertySchema(schema, f)).merge) out[f] = orderList(list, order);
  }
  return out;
}

function orderList(list: unknown[], order: unknown[]): unknown[] {
  const matchesOrder = (item: unknown, o: unknown) => {
    if (!isPlainObject(o)) return deepEqual(item, o);
    if (!isPlainObject(item)) return false;
    return Object.entries(o).every(([k, v]) => deepEqual(item[k], v));
  };
  const ordered: unknown[] = [];
  const rest = [...list];
  for (const o of order) {
    const i = rest.findIndex((item) => matchesOrder(item, o));
    if (i >= 0) ordered.push(...rest.splice(i, 1));
  }
  return [...ordered, ...rest];
}

const isReplace = (p: unknown) => isPlainObject(p) && p.$patch === 'replace';

function smpList(target: unknown[], patch: unknown[], schema: JsonSchema | undefined): unknown[] {
  const meta = smpListOf(schema);
  // Not a merge list, or `{$patch: replace}` among the items: the patch's items are the list.
  if (!meta.merge || patch.some(isReplace)) return clone(patch.filter((p) => !isReplace(p)));
  const key = meta.mergeKey;
  if (!key) {
    const out = [...target];
    for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(clone(v));
    return out;
  }
  const items = itemSchema(schema);
  const out = clone(target) as unknown[];
  for (const item of patch) {
    if (!isPlainObject(item) || item[key] === undefined)
      throw errors.badRequest(`strategic merge patch: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const idx = out.findIndex((x) => isPlainObject(x) && deepEqual(x[key], item[key]));
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    const merged = smp(idx >= 0 ? out[idx] : {}, item, items);
    if (idx < 0) {
      if (merged !== undefined) out.push(merged);
    } else if (merged === undefined) out.splice(idx, 1);
    else out[idx] = merged;
  }
  return out;
}

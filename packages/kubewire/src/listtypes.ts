/**
 * What a kind's OpenAPI schema says about each of its lists, read from the x-kubernetes-*
 * extensions kubewire serves, the way kube-apiserver reads them:
 *
 * - strategic merge patch: `x-kubernetes-patch-strategy` (`merge`, `merge,retainKeys`) and
 *   `x-kubernetes-patch-merge-key`; any other list is replaced;
 * - server-side apply: `x-kubernetes-list-type` (`atomic`, `set`, `map` with
 *   `x-kubernetes-list-map-keys`), else a merge patch strategy (a map keyed by the merge key, or a
 *   set), else atomic. Map keys missing from an item take their schema `default`.
 *
 * Every Kubernetes object has ObjectMeta: where a kind's schema does not describe `metadata`,
 * `objectMetaSchema` (finalizers a set, ownerReferences keyed by uid) applies.
 */
import { objectMetaSchema } from './fieldvalidation.js';
import type { JsonSchema } from './openapi.js';
import { isPlainObject } from './util.js';

/** The schema of member `key` of an object node (`properties`, else `additionalProperties`). */
export function propertySchema(node: JsonSchema | undefined, key: string): JsonSchema | undefined {
  if (!node) return undefined;
  const props = node.properties;
  if (isPlainObject(props) && Object.hasOwn(props, key) && isPlainObject(props[key])) return props[key] as JsonSchema;
  return isPlainObject(node.additionalProperties) ? (node.additionalProperties as JsonSchema) : undefined;
}

/** The schema of the items of an array node. */
export const itemSchema = (node: JsonSchema | undefined): JsonSchema | undefined => (isPlainObject(node?.items) ? (node?.items as JsonSchema) : undefined);

export interface SmpList {
  /** merge the list (by mergeKey, or as a set of primitives); otherwise replace it */
  merge: boolean;
  mergeKey?: string;
  retainKeys: boolean;
}

export function smpListOf(node: JsonSchema | undefined): SmpList {
  const strategy = String(node?.['x-kubernetes-patch-strategy'] ?? '').split(',');
  const key = node?.['x-kubernetes-patch-merge-key'];
  return { merge: strategy.includes('merge'), mergeKey: typeof key === 'string' ? key : undefined, retainKeys: strategy.includes('retainKeys') };
}

export type SsaList = { type: 'atomic' } | { type: 'set' } | { type: 'map'; keys: string[]; defaults: Record<string, unknown> };

const stringList = (v: unknown): string[] | undefined => (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string') ? v : undefined);

function keyedBy(node: JsonSchema | undefined, keys: string[]): SsaList {
  const defaults: Record<string, unknown> = {};
  for (const k of keys) {
    const d = propertySchema(itemSchema(node), k)?.default;
    if (d !== undefined) defaults[k] = d;
  }
  return { type: 'map', keys, defaults };
}

export function ssaListOf(node: JsonSchema | undefined): SsaList {
  const listType = node?.['x-kubernetes-list-type'];
  if (listType === 'set') return { type: 'set' };
  if (listType === 'map') {
    const keys = stringList(node?.['x-kubernetes-list-map-keys']);
    return keys ? keyedBy(node, keys) : { type: 'atomic' };
  }
  if (listType === undefined) {
    const smp = smpListOf(node);
    if (smp.merge) return smp.mergeKey ? keyedBy(node, [smp.mergeKey]) : { type: 'set' };
  }
  return { type: 'atomic' };
}

/** The kind's schema, with ObjectMeta's list semantics where it does not describe `metadata`. */
export function withObjectMeta(schema: JsonSchema | undefined): JsonSchema {
  const meta = propertySchema(schema, 'metadata');
  if (meta && isPlainObject(meta.properties)) return schema as JsonSchema;
  const props = isPlainObject(schema?.properties) ? (schema?.properties as Record<string, JsonSchema>) : {};
  return { ...schema, properties: { ...props, metadata: objectMetaSchema } };
}

// ---- helpers for writing schemas -------------------------------------------------------------

/** A list replaced whole by patches and owned whole under server-side apply. */
export const atomicList = (items: JsonSchema): JsonSchema => ({ type: 'array', items, 'x-kubernetes-list-type': 'atomic' });

/** A list of unique primitives; `merge` also makes strategic merge patches add to it (finalizers). */
export const setList = (items: JsonSchema, merge = false): JsonSchema => ({
  type: 'array',
  items,
  'x-kubernetes-list-type': 'set',
  ...(merge ? { 'x-kubernetes-patch-strategy': 'merge' } : {}),
});

/**
 * A list of objects keyed by `keys` (server-side apply), merged by `mergeKey` (default the first
 * key) under strategic merge patch with `strategy` (default `merge`), as upstream declares them.
 */
export function mapList(items: JsonSchema, keys: string[], smp: { mergeKey?: string; strategy?: 'merge' | 'merge,retainKeys' } = {}): JsonSchema {
  return {
    type: 'array',
    items,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': keys,
    'x-kubernetes-patch-merge-key': smp.mergeKey ?? keys[0],
    'x-kubernetes-patch-strategy': smp.strategy ?? 'merge',
  };
}

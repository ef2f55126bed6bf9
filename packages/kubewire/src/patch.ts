/** The PATCH flavours a Kubernetes apiserver accepts (server-side apply is apply.ts, JSON patch jsonpatch.ts). */
import { jsonPatch } from './jsonpatch.js';
import { errors } from './status.js';
import { clone, deepEqual, isPlainObject } from './util.js';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** RFC 7386 JSON merge patch. Returns a new value. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Merge keys of the lists the strategic merge patch merges (others are replaced). */
const MERGE_KEYS: Record<string, (item: Record<string, unknown>) => string | undefined> = {
  containers: () => 'name',
  initContainers: () => 'name',
  ephemeralContainers: () => 'name',
  env: () => 'name',
  volumes: () => 'name',
  volumeMounts: () => 'mountPath',
  volumeDevices: () => 'devicePath',
  imagePullSecrets: () => 'name',
  conditions: () => 'type',
  hostAliases: () => 'ip',
  topologySpreadConstraints: () => 'topologyKey',
  ownerReferences: () => 'uid',
  // Service ports merge by port, container ports by containerPort; fall back to name.
  ports: (item) => ('containerPort' in item ? 'containerPort' : 'port' in item ? 'port' : 'name'),
};

/** Primitive lists that merge (union) rather than replace. */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

/**
 * Strategic merge patch, approximated: a JSON merge patch whose known lists (containers by name,
 * ports by port/containerPort, env by name, conditions by type, ...) merge by key, honouring the
 * `$patch: replace|delete|merge`, `$retainKeys`, `$deleteFromPrimitiveList/<f>` and
 * `$setElementOrder/<f>` directives that kubectl generates.
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  return smp(target, patch, undefined);
}

function smp(target: unknown, patch: unknown, field: string | undefined): unknown {
  if (Array.isArray(patch)) return smpList(Array.isArray(target) ? target : [], patch, field);
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
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[f]) && Array.isArray(v)) out[f] = (out[f] as unknown[]).filter((x) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const merged = smp(out[k], v, k);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k) && !(k in patch)) delete out[k];
  // Apply $setElementOrder for merged lists.
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/') || !Array.isArray(order)) continue;
    const f = k.slice('$setElementOrder/'.length);
    const list = out[f];
    if (!Array.isArray(list)) continue;
    out[f] = orderList(list, order as unknown[]);
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

function smpList(target: unknown[], patch: unknown[], field: string | undefined): unknown[] {
  const keyFn = field ? MERGE_KEYS[field] : undefined;
  if (field && MERGED_PRIMITIVE_LISTS.has(field)) {
    const out = [...target];
    for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(v);
    return out;
  }
  if (!keyFn || !patch.every(isPlainObject)) {
    // $patch: replace inside a list means "replace the whole list"
    return clone(patch.filter((p) => !(isPlainObject(p) && p.$patch === 'replace')));
  }
  const out = clone(target) as unknown[];
  for (const item of patch as Record<string, unknown>[]) {
    if (item.$patch === 'replace') return clone((patch as Record<string, unknown>[]).filter((p) => p.$patch !== 'replace'));
    const key = keyFn(item);
    const idx = key
      ? out.findIndex((x) => isPlainObject(x) && item[key] !== undefined && deepEqual(x[key], item[key]))
      : -1;
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) {
      const merged = smp(out[idx], item, undefined);
      if (merged === undefined) out.splice(idx, 1);
      else out[idx] = merged;
    } else {
      const fresh = smp({}, item, undefined);
      if (fresh !== undefined) out.push(fresh);
    }
  }
  return out;
}

/** Applies a PATCH body of the given Content-Type to `target`. */
export function applyPatch(contentType: string, target: unknown, body: unknown): unknown {
  const ct = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  switch (ct) {
    case PATCH_TYPES.json:
      return jsonPatch(target, body);
    case PATCH_TYPES.merge:
      return mergePatch(target, body);
    case PATCH_TYPES.strategic:
      return strategicMergePatch(target, body);
    case 'application/json':
      // Some clients send merge patches as application/json.
      return mergePatch(target, body);
    default:
      throw errors.unsupportedMediaType(contentType);
  }
}

/** The three PATCH flavours a Kubernetes apiserver accepts (server-side apply is not supported). */
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

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(ptr: string): string[] {
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw errors.badRequest(`json patch: invalid pointer "${ptr}"`);
  return ptr
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function resolveParent(doc: unknown, tokens: string[], ptr: string): { parent: unknown; last: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isPlainObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw errors.invalid('', '', [{ message: `doc is missing path: "${ptr}": missing value` }]);
  }
  return { parent: cur, last: tokens[tokens.length - 1] as string };
}

function getAt(doc: unknown, ptr: string): unknown {
  let cur = doc;
  for (const t of parsePointer(ptr)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isPlainObject(cur)) cur = cur[t];
    else return undefined;
  }
  return cur;
}

function patchError(message: string) {
  return errors.invalid('', '', [{ message }]);
}

/** RFC 6902 JSON patch. Returns a new document. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw errors.badRequest('json patch must be a JSON array of operations');
  let root = clone(doc);
  for (const raw of ops as JsonPatchOp[]) {
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string')
      throw errors.badRequest('json patch: every operation needs "op" and "path"');
    const tokens = parsePointer(raw.path);
    const setAt = (value: unknown, insert: boolean) => {
      if (tokens.length === 0) {
        root = value;
        return;
      }
      const { parent, last } = resolveParent(root, tokens, raw.path);
      if (Array.isArray(parent)) {
        const idx = last === '-' ? parent.length : Number(last);
        if (!Number.isInteger(idx) || idx < 0 || idx > parent.length) throw patchError(`index out of range: ${raw.path}`);
        if (insert) parent.splice(idx, 0, value);
        else {
          if (idx >= parent.length) throw patchError(`index out of range: ${raw.path}`);
          parent[idx] = value;
        }
      } else if (isPlainObject(parent)) {
        if (!insert && !(last in parent)) throw patchError(`doc is missing key: ${raw.path}: missing value`);
        parent[last] = value;
      } else throw patchError(`doc is missing path: "${raw.path}": missing value`);
    };
    const removeAt = (): unknown => {
      if (tokens.length === 0) throw patchError('cannot remove the root');
      const { parent, last } = resolveParent(root, tokens, raw.path);
      if (Array.isArray(parent)) {
        const idx = Number(last);
        if (!Number.isInteger(idx) || idx < 0 || idx >= parent.length) throw patchError(`index out of range: ${raw.path}`);
        return parent.splice(idx, 1)[0];
      }
      if (isPlainObject(parent) && last in parent) {
        const v = parent[last];
        delete parent[last];
        return v;
      }
      throw patchError(`Unable to remove nonexistent key: ${last}: missing value`);
    };
    switch (raw.op) {
      case 'add':
        setAt(clone(raw.value), true);
        break;
      case 'replace':
        setAt(clone(raw.value), false);
        break;
      case 'remove':
        removeAt();
        break;
      case 'move': {
        if (typeof raw.from !== 'string') throw errors.badRequest('json patch: move needs "from"');
        const fromTokens = parsePointer(raw.from);
        const saved = tokens.splice(0, tokens.length, ...fromTokens);
        const v = removeAt();
        tokens.splice(0, tokens.length, ...saved);
        setAt(v, true);
        break;
      }
      case 'copy': {
        if (typeof raw.from !== 'string') throw errors.badRequest('json patch: copy needs "from"');
        setAt(clone(getAt(root, raw.from)), true);
        break;
      }
      case 'test':
        if (!deepEqual(getAt(root, raw.path), raw.value)) throw patchError(`testing value ${raw.path} failed: test failed`);
        break;
      default:
        throw errors.badRequest(`json patch: unexpected operation "${raw.op}"`);
    }
  }
  return root;
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

/** The PATCH flavours a Kubernetes apiserver accepts (server-side apply is apply.ts, JSON patch jsonpatch.ts). */
import { jsonPatch } from './jsonpatch.js';
import type { JsonSchema } from './openapi.js';
import { errors } from './status.js';
import { strategicMergePatch } from './strategic.js';
import { clone, isPlainObject } from './util.js';

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

/** Applies a PATCH body of the given Content-Type to `target`; `schema` (the kind's) drives strategic merge. */
export function applyPatch(contentType: string, target: unknown, body: unknown, schema?: JsonSchema): unknown {
  const ct = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  switch (ct) {
    case PATCH_TYPES.json:
      return jsonPatch(target, body);
    case PATCH_TYPES.merge:
      return mergePatch(target, body);
    case PATCH_TYPES.strategic:
      return strategicMergePatch(target, body, schema);
    case 'application/json':
      // Some clients send merge patches as application/json.
      return mergePatch(target, body);
    default:
      throw errors.unsupportedMediaType(contentType);
  }
}

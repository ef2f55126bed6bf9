/**
 * `fieldValidation=Strict|Warn|Ignore`: unknown fields of a request body, found by walking the
 * kind's OpenAPI schema. A schema node with `properties` knows its fields (unless it carries
 * `x-kubernetes-preserve-unknown-fields`); `additionalProperties` is a map; `items` a list.
 */
import type { JsonSchema } from './openapi.js';
import { errors, type StatusCause, statusError } from './status.js';
import { isPlainObject } from './util.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export function parseFieldValidation(v: string | undefined): FieldValidation {
  if (v === undefined || v === '') return 'Warn';
  if (v === 'Ignore' || v === 'Warn' || v === 'Strict') return v;
  throw errors.badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${v}"`);
}

/** Dotted paths (`spec.ports[0].foo`) of the fields the schema does not know. */
export function unknownFields(value: unknown, schema: JsonSchema | undefined, path = ''): string[] {
  if (!schema || schema['x-kubernetes-preserve-unknown-fields'] === true) return [];
  const out: string[] = [];
  if (Array.isArray(value)) {
    const items = schema.items as JsonSchema | undefined;
    value.forEach((v, i) => {
      out.push(...unknownFields(v, items, `${path}[${i}]`));
    });
    return out;
  }
  if (!isPlainObject(value)) return out;
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  const additional = schema.additionalProperties;
  for (const [k, v] of Object.entries(value)) {
    const p = path ? `${path}.${k}` : k;
    if (props && k in props) out.push(...unknownFields(v, props[k], p));
    else if (isPlainObject(additional)) out.push(...unknownFields(v, additional as JsonSchema, p));
    else if (props && additional !== true) out.push(p);
  }
  return out;
}

/** Strict: 400 naming every unknown field. Warn: the warnings to send. Ignore: nothing. */
export function checkFields(mode: FieldValidation, value: unknown, schema: JsonSchema | undefined): string[] {
  if (mode === 'Ignore' || !schema) return [];
  const unknown = unknownFields(value, schema);
  if (!unknown.length) return [];
  const messages = unknown.map((f) => `unknown field "${f}"`);
  if (mode === 'Strict') {
    const causes: StatusCause[] = unknown.map((f) => ({ reason: 'FieldValueUnknown', message: `unknown field "${f}"`, field: f }));
    throw statusError(400, 'BadRequest', `strict decoding error: ${messages.join(', ')}`, { causes });
  }
  return messages;
}

const str = { type: 'string' };
const strMap = { type: 'object', additionalProperties: { type: 'string' } };

/** meta/v1 ObjectMeta, for schemas that validate their fields; its lists as upstream declares them (listtypes.ts). */
export const objectMetaSchema: JsonSchema = {
  type: 'object',
  description: "Standard object's metadata.",
  properties: {
    name: str,
    generateName: str,
    namespace: str,
    uid: str,
    resourceVersion: str,
    generation: { type: 'integer' },
    creationTimestamp: str,
    deletionTimestamp: str,
    deletionGracePeriodSeconds: { type: 'integer' },
    labels: strMap,
    annotations: strMap,
    ownerReferences: {
      type: 'array',
      items: {
        type: 'object',
        properties: { apiVersion: str, kind: str, name: str, uid: str, controller: { type: 'boolean' }, blockOwnerDeletion: { type: 'boolean' } },
      },
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['uid'],
      'x-kubernetes-patch-merge-key': 'uid',
      'x-kubernetes-patch-strategy': 'merge',
    },
    finalizers: { type: 'array', items: str, 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
    managedFields: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, 'x-kubernetes-list-type': 'atomic' },
    selfLink: str,
  },
};

/** A kind's schema: apiVersion, kind, metadata, plus the given top-level properties. */
export function kindSchema(description: string, properties: Record<string, JsonSchema>): JsonSchema {
  return {
    type: 'object',
    description,
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      metadata: objectMetaSchema,
      ...properties,
    },
  };
}

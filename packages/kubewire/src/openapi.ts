/**
 * Minimal OpenAPI documents. Enough for kubectl: /openapi/v3 lists the group-versions, and each
 * group-version document declares for every kind a PATCH operation with the `fieldValidation`
 * query parameter, so kubectl's `--validate=strict` (the default) leaves validation to the server
 * instead of fetching the protobuf OpenAPI v2 schema.
 */
import { createHash } from 'node:crypto';
import type { DiscoveryResource } from './discovery.js';
import { objectMetaSchema } from './fieldvalidation.js';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiResource extends DiscoveryResource {
  /** OpenAPI schema of the kind; a permissive object schema by default. */
  schema?: JsonSchema;
}

/**
 * The schema served for a kind: its own, else a permissive object with ObjectMeta (whose lists
 * carry their x-kubernetes-* extensions; every other list is atomic, as upstream's default).
 */
export function servedSchema(r: { kind: string; schema?: JsonSchema }): JsonSchema {
  if (r.schema) return r.schema;
  return {
    type: 'object',
    description: `${r.kind} (served by kubewire).`,
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      metadata: objectMetaSchema,
      spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
    'x-kubernetes-preserve-unknown-fields': true,
  };
}

/** `io.k8s.api.core.v1.Service`, `io.k8s.api.discovery.v1.EndpointSlice`, `io.fedns.federation.v1.Cluster`. */
export function schemaName(group: string, version: string, kind: string): string {
  if (group === '') return `io.k8s.api.core.${version}.${kind}`;
  if (group.endsWith('.k8s.io')) return `io.k8s.api.${group.split('.')[0]}.${version}.${kind}`;
  return `${group.split('.').reverse().join('.')}.${version}.${kind}`;
}

export const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const qp = (name: string, description: string, type = 'string') => ({
  name,
  in: 'query',
  description,
  schema: { type, uniqueItems: true },
});

const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string', uniqueItems: true } });

const WRITE_PARAMS = [
  qp('dryRun', 'When present, indicates that modifications should not be persisted.'),
  qp('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  qp('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.'),
];

const LIST_PARAMS = [
  qp('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK".', 'boolean'),
  qp('continue', 'The continue option should be set when retrieving more results from the server.'),
  qp('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
  qp('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  qp('limit', 'limit is a maximum number of responses to return for a list call.', 'integer'),
  qp('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  qp('timeoutSeconds', 'Timeout for the list/watch call.', 'integer'),
  qp('watch', 'Watch for changes to the described resources.', 'boolean'),
];

function jsonContent(schema: unknown) {
  return { 'application/json': { schema }, 'application/yaml': { schema } };
}

/** The OpenAPI v3 document of one group-version. */
export function openApiV3GroupVersion(group: string, version: string, resources: OpenApiResource[], kubeVersion: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {
    'io.k8s.apimachinery.pkg.apis.meta.v1.Status': {
      type: 'object',
      description: 'Status is a return value for calls that do not return other objects.',
      properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, code: { type: 'integer' }, message: { type: 'string' }, reason: { type: 'string' }, status: { type: 'string' } },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'Status', version: 'v1' }],
    },
    'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions': {
      type: 'object',
      description: 'DeleteOptions may be provided when deleting an API object.',
      properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, propagationPolicy: { type: 'string' }, gracePeriodSeconds: { type: 'integer' } },
    },
  };
  for (const r of resources.filter((x) => x.group === group && x.version === version)) {
    const gvk = { group, version, kind: r.kind };
    const name = schemaName(group, version, r.kind);
    const listName = `${name}List`;
    schemas[name] = { ...servedSchema(r), 'x-kubernetes-group-version-kind': [gvk] };
    schemas[listName] = {
      type: 'object',
      required: ['items'],
      properties: { apiVersion: { type: 'string' }, items: { type: 'array', items: ref(name) }, kind: { type: 'string' }, metadata: { type: 'object' } },
      'x-kubernetes-group-version-kind': [{ group, version, kind: `${r.kind}List` }],
    };
    const base = `/${gvPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
    const scopeParams = r.namespaced ? [pathParam('namespace', 'object name and auth scope, such as for teams and projects')] : [];
    const op = (action: string, id: string, extra: Record<string, unknown>) => ({
      tags: [gvPath(group, version).replace(/\//g, '_')],
      description: `${action} ${r.kind}`,
      operationId: `${id}${r.namespaced ? 'Namespaced' : ''}${r.kind}`,
      ...extra,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
    });
    const okObject = { '200': { description: 'OK', content: jsonContent(ref(name)) }, '401': { description: 'Unauthorized' } };
    paths[base] = {
      parameters: [...scopeParams, qp('pretty', "If 'true', then the output is pretty printed.")],
      get: op('list', 'list', { parameters: LIST_PARAMS, responses: { '200': { description: 'OK', content: jsonContent(ref(listName)) } } }),
      post: op('post', 'create', {
        parameters: WRITE_PARAMS,
        requestBody: { content: { '*/*': { schema: ref(name) } }, required: true },
        responses: { ...okObject, '201': { description: 'Created', content: jsonContent(ref(name)) } },
      }),
      delete: op('deletecollection', 'deleteCollection', {
        parameters: [...LIST_PARAMS, qp('dryRun', 'dry run')],
        responses: { '200': { description: 'OK', content: jsonContent(ref('io.k8s.apimachinery.pkg.apis.meta.v1.Status')) } },
      }),
    };
    paths[`${base}/{name}`] = {
      parameters: [pathParam('name', `name of the ${r.kind}`), ...scopeParams, qp('pretty', "If 'true', then the output is pretty printed.")],
      get: op('get', 'read', { responses: okObject }),
      put: op('put', 'replace', {
        parameters: WRITE_PARAMS,
        requestBody: { content: { '*/*': { schema: ref(name) } }, required: true },
        responses: { ...okObject, '201': { description: 'Created', content: jsonContent(ref(name)) } },
      }),
      patch: op('patch', 'patch', {
        parameters: [...WRITE_PARAMS, qp('force', 'Force is going to "force" Apply requests.', 'boolean')],
        requestBody: {
          content: {
            'application/json-patch+json': { schema: { type: 'object' } },
            'application/merge-patch+json': { schema: { type: 'object' } },
          },
          required: true,
        },
        responses: okObject,
      }),
      delete: op('delete', 'delete', {
        parameters: [qp('dryRun', 'dry run'), qp('gracePeriodSeconds', 'grace period', 'integer'), qp('propagationPolicy', 'propagation policy')],
        requestBody: { content: { '*/*': { schema: ref('io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions') } } },
        responses: { ...okObject, '202': { description: 'Accepted', content: jsonContent(ref(name)) } },
      }),
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: kubeVersion }, paths, components: { schemas } };
}

export function hashOf(doc: unknown): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 128).toUpperCase();
}

/** /openapi/v2 (JSON only): definitions with their group-version-kinds, no paths. */
export function openApiV2(resources: OpenApiResource[], kubeVersion: string): Record<string, unknown> {
  const definitions: Record<string, unknown> = {};
  for (const r of resources) {
    definitions[schemaName(r.group, r.version, r.kind)] = {
      type: 'object',
      description: r.kind,
      'x-kubernetes-group-version-kind': [{ group: r.group, version: r.version, kind: r.kind }],
    };
  }
  return { swagger: '2.0', info: { title: 'Kubernetes', version: kubeVersion }, paths: {}, definitions };
}

/** @fedns/kubewire — Kubernetes API wire machinery (Status, stores, watch, patch, Table, discovery, OpenAPI) for Fastify. */
export * from './types.js';
export * from './status.js';
export * from './util.js';
export * from './selectors.js';
export * from './store.js';
export * from './watchers.js';
export * from './patch.js';
export * from './jsonpatch.js';
export * from './table.js';
export * from './discovery.js';
export * from './openapi.js';
export * from './server.js';
export * from './protobuf.js';
export * from './protobuf-kinds.js';
export * from './apply.js';
export * from './fieldvalidation.js';

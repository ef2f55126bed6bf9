export { buildApiServer, type ApiServer, type ApiServerOptions } from './server.js';
export { authenticator, authorize, loadTokenFile, parseTokenFile, ADMIN_GROUPS, READONLY_GROUP } from './auth.js';
export { registerFederationResources, serviceSchema, clusterSchema, type FederationBackends } from './resources.js';
export { recordSetObjectName, RecordSetBackend, FEDERATION_GROUP } from './recordsets.js';
export { StoreBackend, type StoreBackendOptions } from './store-backend.js';
export { ObjectLogFeed, KindWatch } from './feed.js';
export { validateService, defaultService, type ServiceObject, type ServicePort } from './validate-service.js';

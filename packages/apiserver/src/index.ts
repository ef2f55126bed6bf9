export { buildApiServer, type ApiServerOptions } from './server.js';
export { ApiError, invalid, notFound, alreadyExists, badRequest, conflict, type StatusBody, type StatusCause } from './status.js';
export { validateService, defaultService, type ServiceObject, type ServicePort } from './validate-service.js';

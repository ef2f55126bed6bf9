/** Kubernetes `Status` objects and the errors that carry them. */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never> | { resourceVersion?: string };
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error that renders as a Kubernetes Status with an HTTP code. */
export class StatusError extends Error {
  readonly status: Status;
  constructor(status: Status) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = 'StatusError';
    this.status = status;
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): string | undefined {
    return this.status.reason;
  }
}

export function isStatusError(e: unknown): e is StatusError {
  return e instanceof StatusError;
}

/** A failure Status. */
export function statusObject(code: number, reason: string, message: string, details?: StatusDetails): Status {
  const st: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) st.details = details;
  return st;
}

/** A StatusError: `throw statusError(404, 'NotFound', 'services "x" not found', { name: 'x', kind: 'services' })`. */
export function statusError(code: number, reason: string, message: string, details?: StatusDetails): StatusError {
  return new StatusError(statusObject(code, reason, message, details));
}

export function statusSuccess(details?: StatusDetails): Status {
  const st: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (details) st.details = details;
  return st;
}

/** `services` or `endpointslices.discovery.k8s.io`, as messages name resources. */
const qualified = (resource: string, group?: string) => (group ? `${resource}.${group}` : resource);

/** One field problem, in the shape of field.Error in apimachinery. */
export const fieldError = {
  required: (field: string, detail?: string): StatusCause => ({
    reason: 'FieldValueRequired',
    message: detail ? `Required value: ${detail}` : 'Required value',
    field,
  }),
  invalid: (field: string, value: unknown, detail: string): StatusCause => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${formatValue(value)}: ${detail}`,
    field,
  }),
  notSupported: (field: string, value: unknown, valid: string[]): StatusCause => ({
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${formatValue(value)}: supported values: ${valid.map((v) => `"${v}"`).join(', ')}`,
    field,
  }),
  duplicate: (field: string, value: unknown): StatusCause => ({
    reason: 'FieldValueDuplicate',
    message: `Duplicate value: ${formatValue(value)}`,
    field,
  }),
  forbidden: (field: string, detail: string): StatusCause => ({ reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field }),
  immutable: (field: string, value: unknown): StatusCause => ({
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${formatValue(value)}: field is immutable`,
    field,
  }),
};

function formatValue(v: unknown): string {
  if (typeof v === 'string') return `"${v}"`;
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Constructors for the usual failures, with the messages a real apiserver uses. */
export const errors = {
  notFound: (resource: string, name: string, group?: string): StatusError =>
    statusError(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, {
      name,
      ...(group ? { group } : {}),
      kind: resource,
    }),
  pathNotFound: (): StatusError => statusError(404, 'NotFound', 'the server could not find the requested resource', {}),
  alreadyExists: (resource: string, name: string, group?: string): StatusError =>
    statusError(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, {
      name,
      ...(group ? { group } : {}),
      kind: resource,
    }),
  conflict: (resource: string, name: string, detail: string, group?: string): StatusError =>
    statusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${detail}`, {
      name,
      ...(group ? { group } : {}),
      kind: resource,
    }),
  staleUpdate: (resource: string, name: string, group?: string): StatusError =>
    errors.conflict(
      resource,
      name,
      'the object has been modified; please apply your changes to the latest version and try again',
      group,
    ),
  invalid: (kind: string, name: string, causes: StatusCause[], group?: string): StatusError => {
    const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message ?? ''}` : (c.message ?? '')));
    const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
    return statusError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${joined}`, {
      name,
      ...(group ? { group } : {}),
      kind,
      causes,
    });
  },
  badRequest: (message: string): StatusError => statusError(400, 'BadRequest', message),
  unauthorized: (message = 'Unauthorized'): StatusError => statusError(401, 'Unauthorized', message),
  forbidden: (resource: string, name: string, detail: string, group?: string): StatusError =>
    statusError(403, 'Forbidden', `${qualified(resource, group)} "${name}" is forbidden: ${detail}`, {
      name,
      ...(group ? { group } : {}),
      kind: resource,
    }),
  methodNotAllowed: (method: string, resource?: string): StatusError =>
    statusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, {
      ...(resource ? { kind: resource } : {}),
      causes: [{ reason: 'MethodNotAllowed', message: `${method} is not supported` }],
    }),
  notAcceptable: (message = 'the server was unable to respond with a content type that the client supports'): StatusError =>
    statusError(406, 'NotAcceptable', message),
  /** 410 Expired: the watch/list resourceVersion has been compacted. */
  expired: (message: string): StatusError => statusError(410, 'Expired', message),
  gone: (message: string): StatusError => statusError(410, 'Gone', message),
  unsupportedMediaType: (contentType: string): StatusError =>
    statusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/merge-patch+json, application/json-patch+json, application/strategic-merge-patch+json (got ${contentType})`),
  tooManyRequests: (message = 'Too many requests, please try again later.', retryAfterSeconds = 1): StatusError =>
    statusError(429, 'TooManyRequests', message, { retryAfterSeconds }),
  internal: (message: string): StatusError =>
    statusError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
  serviceUnavailable: (message = 'the server is currently unable to handle the request'): StatusError =>
    statusError(503, 'ServiceUnavailable', message),
};

/** Maps any thrown value (StatusError, Fastify error, Error) to a Status. */
export function toStatus(err: unknown): Status {
  if (isStatusError(err)) return err.status;
  const e = err as { statusCode?: number; message?: string; code?: string };
  const code = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  const message = e?.message ?? String(err);
  switch (code) {
    case 400:
      return statusObject(400, 'BadRequest', message);
    case 401:
      return statusObject(401, 'Unauthorized', message);
    case 403:
      return statusObject(403, 'Forbidden', message);
    case 404:
      return statusObject(404, 'NotFound', message);
    case 405:
      return statusObject(405, 'MethodNotAllowed', message);
    case 406:
      return statusObject(406, 'NotAcceptable', message);
    case 409:
      return statusObject(409, 'Conflict', message);
    case 413:
      return statusObject(413, 'RequestEntityTooLarge', message);
    case 415:
      return statusObject(415, 'UnsupportedMediaType', message);
    case 422:
      return statusObject(422, 'Invalid', message);
    case 429:
      return statusObject(429, 'TooManyRequests', message);
    default:
      if (code >= 400 && code < 500) return statusObject(code, 'BadRequest', message);
      return statusObject(500, 'InternalError', `Internal error occurred: ${message}`);
  }
}

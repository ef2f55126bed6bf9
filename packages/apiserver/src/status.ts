/** Kubernetes `Status` errors (meta/v1), the only error shape the API returns. */

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] };
  code: number;
}

/** An error that renders as a Kubernetes Status with its HTTP code. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusBody['details'],
  ) {
    super(message);
  }

  toStatus(): StatusBody {
    const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
    if (this.details) body.details = this.details;
    return body;
  }
}

export const notFound = (kind: string, name: string, group = '') =>
  new ApiError(404, 'NotFound', `${kind.toLowerCase()}s${group ? `.${group}` : ''} "${name}" not found`, { name, kind: `${kind.toLowerCase()}s`, ...(group ? { group } : {}) });

export const alreadyExists = (kind: string, name: string, group = '') =>
  new ApiError(409, 'AlreadyExists', `${kind.toLowerCase()}s${group ? `.${group}` : ''} "${name}" already exists`, { name, kind: `${kind.toLowerCase()}s`, ...(group ? { group } : {}) });

export const conflict = (kind: string, name: string, why: string) =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${kind.toLowerCase()}s "${name}": ${why}`, { name, kind: `${kind.toLowerCase()}s` });

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);

/** 422 with one cause per field problem, worded the way kube-apiserver words them. */
export function invalid(kind: string, name: string, causes: StatusCause[], group = ''): ApiError {
  const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
  const list = causes.length > 1 ? `[${summary}]` : summary;
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${list}`, { name, kind, ...(group ? { group } : {}), causes });
}

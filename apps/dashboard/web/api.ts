/**
 * Talking to the federation API from the page: every request carries the
 * bearer token (kept in sessionStorage: gone when the tab closes, never in a
 * URL); a 401 ends the session and sends the user back to the login screen
 * with a message; errors are the API's Status messages.
 */

const TOKEN_KEY = 'fedns.token';

// The API's own shapes, from the definitions the API server builds them with (types only: nothing is bundled).
import type { ClusterSummary, FederationStatusView as FederationStatus, ServicePage, ServiceRow } from '@fedns/model/federation-status';
import type { HistoryEvent, RecordChange } from '@fedns/model/history';

export type { ClusterSummary, FederationStatus, HistoryEvent, RecordChange, ServicePage, ServiceRow };

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

type Listener = (message: string) => void;
const logoutListeners = new Set<Listener>();

export const session = {
  token: (): string => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set(token: string): void {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  /** Ends the session: the app shows the login screen with `message`. */
  end(message = ''): void {
    sessionStorage.removeItem(TOKEN_KEY);
    for (const l of logoutListeners) l(message);
  },
  onEnd(l: Listener): () => void {
    logoutListeners.add(l);
    return () => logoutListeners.delete(l);
  },
};

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = session.token();
  return { accept: 'application/json', ...(t ? { authorization: `Bearer ${t}` } : {}), ...extra };
}

/** The API's path relative to the page (served at /ui/): the API is at the origin's root. */
const url = (path: string) => new URL(path, window.location.origin).toString();

async function failure(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body && typeof body.message === 'string') message = body.message;
  } catch {
    // not JSON
  }
  // A refused token ends the session; no token at all (the first visit) just shows the login screen.
  if (res.status === 401 && session.token()) session.end('The token was not accepted (401 Unauthorized). Log in again.');
  return new ApiError(message, res.status);
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; contentType?: string } = {}): Promise<T> {
  const res = await fetch(url(path), {
    method: init.method ?? 'GET',
    headers: headers(init.body !== undefined ? { 'content-type': init.contentType ?? 'application/json' } : {}),
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    cache: 'no-store',
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: { metadata?: { name?: string; resourceVersion?: string }; code?: number };
}

/**
 * A Kubernetes watch (`?watch=1`, newline-delimited JSON over one long
 * response), read with fetch so that it carries the token. It resumes from
 * the last resourceVersion when the stream ends, starts over after a 410,
 * and calls `onChange` for every change (and once per (re)start, so the
 * caller reloads what it shows). Returns the function that stops it.
 */
export function watch(path: string, onChange: (e: WatchEvent | { type: 'RESTART' }) => void, onState?: (live: boolean) => void): () => void {
  const ctrl = new AbortController();
  let rv = '';
  let stopped = false;
  let live = false;
  const state = (on: boolean) => {
    if (on !== live) {
      live = on;
      onState?.(on);
    }
  };
  (async () => {
    while (!stopped) {
      try {
        const sep = path.includes('?') ? '&' : '?';
        const res = await fetch(url(`${path}${sep}watch=1&allowWatchBookmarks=true${rv ? `&resourceVersion=${rv}` : ''}`), { headers: headers(), signal: ctrl.signal, cache: 'no-store' });
        if (!res.ok || !res.body) {
          const err = await failure(res);
          if (res.status === 401 || res.status === 403) return;
          throw err;
        }
        state(true);
        if (!rv) onChange({ type: 'RESTART' });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (!line) continue;
            const e = JSON.parse(line) as WatchEvent;
            if (e.type === 'ERROR') {
              rv = ''; // 410 Expired or another error: list again
              break;
            }
            rv = e.object.metadata?.resourceVersion ?? rv;
            if (e.type !== 'BOOKMARK') onChange(e);
          }
        }
      } catch {
        if (stopped) return;
      }
      state(false);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return () => {
    stopped = true;
    ctrl.abort();
    state(false);
  };
}

// ---- the resources the pages read ------------------------------------------------------------

export const FED = '/apis/federation.fedns.io/v1';

export interface WhoAmI {
  user: string;
  groups: string[];
  canWrite: boolean;
  federation: string;
  zone: string;
  authenticated: boolean;
}


export interface Shard {
  cluster: string;
  healthy: boolean;
  drained?: string;
  addresses: string[];
  readyEndpoints: number;
  since?: string;
  message?: string;
}

export interface CascadeNode {
  name: string;
  level?: 'global' | 'region' | 'zone';
  region?: string;
  zone?: string;
  answer: { type: string; data: string[]; ttl: number }[];
  reason: string;
  shards: Shard[];
  children: CascadeNode[];
}

export const clusterPath = (name: string) => `${FED}/clusters/${encodeURIComponent(name)}`;
export const servicePath = (ns: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}`;

/** Drain or undrain a whole cluster (spec.drained), or one zone of it (spec.drainedZones), as a merge patch. */
export async function setDrain(cluster: Pick<ClusterSummary, 'name' | 'drainedZones'>, drain: boolean, zone?: string): Promise<void> {
  let spec: Record<string, unknown>;
  if (zone === undefined) spec = drain ? { drained: true } : { drained: false };
  else {
    const zones = drain ? [...new Set([...cluster.drainedZones, zone])] : cluster.drainedZones.filter((z) => z !== zone);
    spec = { drainedZones: zones.length ? zones : null };
  }
  await api(clusterPath(cluster.name), { method: 'PATCH', body: { spec }, contentType: 'application/merge-patch+json' });
}

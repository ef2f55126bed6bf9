/**
 * JSON requests to a Kubernetes API server with a kubeconfig's credentials
 * (bearer token, client certificate, basic auth; the cluster's CA or
 * insecure-skip-tls-verify). An error answer becomes a KubeApiError carrying
 * the Status message; a connection that fails names the server and the cause.
 * `Warning` headers are handed to `onWarning` (kubectl prints them).
 */
import http from 'node:http';
import https from 'node:https';
import type { ClusterConnection } from './kubeconfig.js';

export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly reason: string,
    readonly status?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
}

export class KubeClient {
  readonly #agent: http.Agent;

  constructor(
    readonly connection: ClusterConnection,
    readonly opts: { userAgent?: string; onWarning?: (text: string) => void } = {},
  ) {
    const c = connection;
    this.#agent = c.server.startsWith('https:')
      ? new https.Agent({
          keepAlive: true,
          rejectUnauthorized: !c.insecureSkipTlsVerify,
          ...(c.ca ? { ca: c.ca } : {}),
          ...(c.cert ? { cert: c.cert } : {}),
          ...(c.key ? { key: c.key } : {}),
          ...(c.tlsServerName ? { servername: c.tlsServerName } : {}),
        })
      : new http.Agent({ keepAlive: true });
  }

  get<T = Record<string, unknown>>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, opts);
  }

  /** One request; the answer parsed as JSON (text when it is not JSON). */
  request<T = Record<string, unknown>>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const c = this.connection;
    const url = new URL(c.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.opts.userAgent ?? 'fedns-kubeclient' };
    if (c.token) headers.authorization = `Bearer ${c.token}`;
    else if (c.username !== undefined) headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
    if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise<T>((resolve, reject) => {
      const req = lib.request(url, { method, headers, agent: this.#agent, timeout: opts.timeoutMs ?? 30000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const warnings = res.headers.warning;
          for (const w of Array.isArray(warnings) ? warnings : warnings ? [warnings] : []) this.opts.onWarning?.(w.replace(/^\d{3} [^ ]+ "(.*)"$/, '$1').replace(/\\(.)/g, '$1'));
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) return resolve(parsed as T);
          const st = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
          const message = st?.kind === 'Status' && typeof st.message === 'string' ? st.message : `${method} ${url.pathname}: HTTP ${code}${text ? `: ${text.slice(0, 200).trim()}` : ''}`;
          reject(new KubeApiError(message, code, typeof st?.reason === 'string' ? st.reason : '', st));
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${(opts.timeoutMs ?? 30000) / 1000} s`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof KubeApiError) return reject(err);
        reject(new KubeApiError(`cannot reach the API server ${c.server} (context "${c.context}"): ${err.code ?? err.message}`, 0, 'ConnectionFailed'));
      });
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

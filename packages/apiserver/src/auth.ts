/**
 * Authentication (bearer tokens from a token file; client certificates when
 * TLS asks for them) and authorization (admin vs read-only) for the federation API.
 *
 * Token file: kube-apiserver's `--token-auth-file` CSV, one line per token:
 *   token,user,uid[,"group1,group2"]
 * Lines starting with `#` and blank lines are ignored. Groups decide what a user may do:
 *   fedns:admin (or system:masters)  every verb
 *   fedns:readonly                   get, list, watch
 * anyone else authenticated may read discovery, /version and OpenAPI only.
 * A client certificate signed by the client CA authenticates as CN = user, O = groups.
 */
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { errors, type RequestAttributes, statusError, type UserInfo } from '@fedns/kubewire';
import type { FastifyRequest } from 'fastify';

export const ADMIN_GROUPS = ['fedns:admin', 'system:masters'];
export const READONLY_GROUP = 'fedns:readonly';
const READ_VERBS = ['get', 'list', 'watch'];

/** Splits one CSV line (double quotes group commas; "" is a quote). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new Error('unterminated quote');
  out.push(cur.trim());
  return out;
}

/** Parses a token file's text; errors name the line. */
export function parseTokenFile(text: string, source = 'token file'): Map<string, UserInfo> {
  const tokens = new Map<string, UserInfo>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    let f: string[];
    try {
      f = csvFields(line);
    } catch (err) {
      throw new Error(`${source} line ${i + 1}: ${(err as Error).message}`);
    }
    const [token = '', name = '', uid = '', groups = ''] = f;
    if (!token || !name) throw new Error(`${source} line ${i + 1}: want token,user,uid[,"group1,group2"]`);
    if (tokens.has(token)) throw new Error(`${source} line ${i + 1}: duplicate token`);
    tokens.set(token, { name, uid: uid || name, groups: groups.split(',').map((g) => g.trim()).filter(Boolean) });
  });
  return tokens;
}

export function loadTokenFile(path: string): Map<string, UserInfo> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`token file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseTokenFile(text, `token file ${path}`);
}

export interface AuthOptions {
  tokens?: Map<string, UserInfo>;
  /** Accept client certificates verified against the TLS client CA. */
  clientCertificates?: boolean;
}

/** Who is asking; 401 when neither a known token nor a verified client certificate says. */
export function authenticator(opts: AuthOptions): (req: FastifyRequest) => UserInfo {
  return (req) => {
    const header = req.headers.authorization;
    if (header) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const user = m && opts.tokens?.get(m[1] as string);
      if (user) return { ...user, groups: [...user.groups, 'system:authenticated'] };
      throw errors.unauthorized();
    }
    if (opts.clientCertificates) {
      const sock = req.raw.socket as TLSSocket;
      if (sock.encrypted && sock.authorized) {
        const cert = sock.getPeerCertificate();
        const cn = cert?.subject?.CN;
        const o = cert?.subject?.O;
        if (typeof cn === 'string' && cn) {
          const groups = (Array.isArray(o) ? o : o ? [o] : []).map(String);
          return { name: cn, groups: [...groups, 'system:authenticated'] };
        }
      }
    }
    throw errors.unauthorized();
  };
}

/** Whether a user may change things (admin groups). */
export function mayWrite(user: UserInfo): boolean {
  return user.groups.some((g) => ADMIN_GROUPS.includes(g));
}

/** Whether a user may read the federation's resources (admin or read-only). */
export function mayRead(user: UserInfo): boolean {
  return mayWrite(user) || user.groups.includes(READONLY_GROUP);
}

/** Admin may do anything; read-only may get/list/watch; everyone authenticated may read discovery. */
export function authorize(attrs: RequestAttributes): void {
  const user = attrs.user;
  if (!user) return;
  if (user.groups.some((g) => ADMIN_GROUPS.includes(g))) return;
  if (!attrs.resourceRequest) {
    if (attrs.verb === 'get' || attrs.verb === 'head') return;
    throw statusError(403, 'Forbidden', `forbidden: User "${user.name}" cannot ${attrs.verb} path "${attrs.path}"`, {});
  }
  if (user.groups.includes(READONLY_GROUP) && READ_VERBS.includes(attrs.verb)) return;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : (attrs.resource ?? '');
  const qualified = attrs.apiGroup ? `${attrs.resource}.${attrs.apiGroup}` : (attrs.resource ?? '');
  const scope = attrs.namespace ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope';
  throw statusError(
    403,
    'Forbidden',
    `${qualified}${attrs.name ? ` "${attrs.name}"` : ''} is forbidden: User "${user.name}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.apiGroup ?? ''}" ${scope}`,
    { ...(attrs.name ? { name: attrs.name } : {}), ...(attrs.apiGroup ? { group: attrs.apiGroup } : {}), kind: attrs.resource },
  );
}


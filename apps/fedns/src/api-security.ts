/**
 * The federation API's security settings (bearer tokens, TLS, client CA), secure by default:
 *
 * - a data directory can carry its own settings in `<data-dir>/api-security.yaml` (what
 *   `fedns demo` writes: its token file and self-signed certificate), which `serve` and
 *   `apiserver` on that directory use — flags, environment and --config keys win, key by key;
 * - an API without authentication is refused on a non-loopback address unless `--insecure-api`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { type Config, UsageError } from './config.js';

export const SECURITY_FILE = 'api-security.yaml';

/** What a data directory records: paths relative to the directory (or absolute). */
export interface DataDirSecurity {
  tokenAuthFile?: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  clientCaFile?: string;
}

const KEYS: (keyof DataDirSecurity)[] = ['tokenAuthFile', 'tlsCertFile', 'tlsPrivateKeyFile', 'clientCaFile'];

/** The data directory's recorded settings with absolute paths, or undefined when it records none. */
export function readDataDirSecurity(dataDir: string): { file: string; settings: DataDirSecurity } | undefined {
  const file = resolve(join(dataDir, SECURITY_FILE));
  if (!existsSync(file)) return undefined;
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new UsageError(`${file}: must be a YAML mapping of ${KEYS.join(', ')}`);
  const settings: DataDirSecurity = {};
  for (const [k, v] of Object.entries(doc)) {
    if (!KEYS.includes(k as keyof DataDirSecurity)) throw new UsageError(`${file}: unknown key "${k}" (known: ${KEYS.join(', ')})`);
    if (typeof v !== 'string' || v === '') throw new UsageError(`${file}: ${k} must be a file path`);
    settings[k as keyof DataDirSecurity] = resolve(dataDir, v);
  }
  return { file, settings };
}

/** Records settings for a data directory (paths relative to it when inside it). */
export function writeDataDirSecurity(dataDir: string, settings: DataDirSecurity): string {
  const file = resolve(join(dataDir, SECURITY_FILE));
  const root = `${resolve(dataDir)}/`;
  const rel = Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, typeof v === 'string' && v.startsWith(root) ? v.slice(root.length) : v]));
  const header = '# The federation API security settings of this data directory (written by fedns demo).\n# fedns serve / apiserver on it use them; flags and FEDNS_* variables win.\n';
  writeFileSync(file, header + stringifyYaml(rel), { mode: 0o600 });
  return file;
}

export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/**
 * The effective API security of a role that serves the API: the config's own settings, completed
 * from the data directory's file; `from` names that file when it contributed. Throws a UsageError
 * (one line, exit 2) for an unauthenticated API on a non-loopback address without --insecure-api.
 */
export function resolveApiSecurity(c: Config): { tokenAuthFile?: string; tls?: Config['tls']; from?: string } {
  let { tokenAuthFile, tls } = c;
  let from: string | undefined;
  const recorded = readDataDirSecurity(c.dataDir);
  if (recorded) {
    const s = recorded.settings;
    if (!tokenAuthFile && s.tokenAuthFile) {
      tokenAuthFile = s.tokenAuthFile;
      from = recorded.file;
    }
    if (!tls && s.tlsCertFile && s.tlsPrivateKeyFile) {
      tls = { certFile: s.tlsCertFile, keyFile: s.tlsPrivateKeyFile, ...(s.clientCaFile ? { clientCaFile: s.clientCaFile } : {}) };
      from = recorded.file;
    }
  }
  const authenticated = tokenAuthFile !== undefined || tls?.clientCaFile !== undefined;
  if (!authenticated && !isLoopback(c.apiListen.host) && !c.insecureApi) {
    throw new UsageError(
      `api-listen: ${c.apiListen.host} is not a loopback address and the API has no authentication; give --token-auth-file (with --tls-cert-file and --tls-private-key-file) or --client-ca-file, or --insecure-api to serve it unauthenticated anyway`,
    );
  }
  return { tokenAuthFile, tls, ...(from ? { from } : {}) };
}

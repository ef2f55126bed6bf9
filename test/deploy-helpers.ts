/**
 * Shared by the deployment tests (compose.test.ts, deploy.test.ts): a fedns command line as a
 * container would run it, parsed by fedns's own flag parser, and the checks that no secret is
 * given as a value.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ParsedCommand, parseCommand } from '../apps/fedns/src/config.js';
import { tempDir } from './helpers.js';

export const ROLES = ['controller', 'apiserver', 'nameserver'] as const;
export type Role = (typeof ROLES)[number];

/** Environment variable names that must never carry a secret as a literal value. */
export const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|TSIG|COOKIE|(^|_)KEY(S)?($|_)|CREDENTIAL/i;

/** Flags whose value is a secret: never allowed on a command line (they would show in ps and in the object). */
export const SECRET_FLAGS = ['--tsig-keys', '--cookie-secret', '--store-password', '--password'];

/**
 * Parses a container's fedns command line (arguments after the entrypoint `fedns`) with its
 * environment the way the process would. `files` maps paths the container would read (a
 * mounted --config file) to their contents; they are written to a temporary directory and the
 * path is rewritten, so that the config file is really parsed.
 */
export function parseContainerCommand(args: string[], env: Record<string, string>, files: Record<string, string> = {}): ParsedCommand {
  const dir = tempDir('fedns-deploy-');
  const local = new Map<string, string>();
  for (const [path, text] of Object.entries(files)) {
    const p = join(dir, `${local.size}-${path.replace(/[^A-Za-z0-9.]+/g, '_')}`);
    writeFileSync(p, text);
    local.set(path, p);
  }
  const swap = (v: string) => local.get(v) ?? v;
  const localArgs = args.map((a) => {
    const m = /^(--config)=(.*)$/.exec(a);
    return m ? `${m[1]}=${swap(m[2] ?? '')}` : swap(a);
  });
  const localEnv = { ...env };
  if (localEnv.FEDNS_CONFIG !== undefined) localEnv.FEDNS_CONFIG = swap(localEnv.FEDNS_CONFIG);
  return parseCommand(localArgs, localEnv);
}

/** Problems with a postgres store URL: not postgres, or carries a password. */
export function storeUrlProblems(url: string | undefined): string[] {
  if (url === undefined) return ['no store URL'];
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [`not a URL: ${url}`];
  }
  const problems: string[] = [];
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') problems.push(`not a postgres:// URL: ${url}`);
  if (u.password) problems.push(`password in the store URL ${url}`);
  if (!u.username) problems.push(`no user in the store URL ${url}`);
  if (/password/i.test(u.search)) problems.push(`password parameter in the store URL ${url}`);
  return problems;
}

/** Problems in a command line: secret flags with values, URLs with passwords. */
export function argProblems(args: string[]): string[] {
  const problems: string[] = [];
  for (const [i, a] of args.entries()) {
    const flag = a.split('=')[0] ?? a;
    if (SECRET_FLAGS.includes(flag)) problems.push(`secret on the command line: ${a}${a.includes('=') ? '' : ` ${args[i + 1] ?? ''}`}`);
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(a)) problems.push(`URL with a password on the command line: ${a}`);
    if (/^PGPASSWORD=/i.test(a)) problems.push(`PGPASSWORD on the command line: ${a}`);
  }
  return problems;
}

/**
 * Problems with literal environment values: a secret-looking name must not carry a literal value,
 * except a *_FILE variable naming a path (the secret is the file's content).
 */
export function literalEnvProblems(env: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (/_FILE$/.test(k)) {
      if (!v.startsWith('/')) problems.push(`${k} should name an absolute path, not "${v}"`);
      continue;
    }
    if (SECRET_NAME.test(k)) problems.push(`${k} has a literal value`);
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(v)) problems.push(`${k} holds a URL with a password`);
  }
  return problems;
}

/** Shared helpers for the end-to-end tests: real processes, real ports, real dig. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SHARED = join(ROOT, '..', 'shared');
const execFileP = promisify(execFile);

export const tempDir = (prefix = 'fedns-e2e-') => mkdtempSync(join(tmpdir(), prefix));

/** A port free for both TCP and UDP on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

export interface FednsProcess {
  child: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Runs `fedns <args>` from source, as `pnpm fedns` does. */
export function spawnFedns(args: string[], env: NodeJS.ProcessEnv = {}): FednsProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/fedns/src/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs `fedns <args>` to completion. */
export async function runFedns(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/fedns/src/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function waitReady(url: string, proc?: FednsProcess, timeoutMs = 20000): Promise<void> {
  await waitFor(
    `${url}/readyz${proc ? `\n${proc.output()}` : ''}`,
    async () => {
      if (proc && proc.child.exitCode !== null) throw new Error(`process exited early:\n${proc.output()}`);
      const r = await fetch(`${url}/readyz`);
      return r.ok;
    },
    timeoutMs,
  );
}

export interface DigAnswer {
  status: string;
  flags: string[];
  answer: { name: string; ttl: number; type: string; data: string }[];
  authority: { name: string; ttl: number; type: string; data: string }[];
  raw: string;
}

/** Runs the real dig and parses its sections. */
export async function dig(port: number, name: string, type = 'A', extra: string[] = []): Promise<DigAnswer> {
  const { stdout } = await execFileP('dig', ['+norec', '+nocookie', '+tries=1', '+time=2', '-p', String(port), '@127.0.0.1', name, type, ...extra]);
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'NONE';
  const flags = (/;; flags: ([^;]*);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/);
  const section = (title: string) => {
    const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
    if (!m?.[1]) return [];
    return m[1]
      .split('\n')
      .filter((l) => l && !l.startsWith(';'))
      .map((l) => {
        const [n = '', ttl = '0', , t = '', ...rest] = l.split(/\s+/);
        return { name: n, ttl: Number(ttl), type: t, data: rest.join(' ') };
      });
  };
  return { status, flags, answer: section('ANSWER'), authority: section('AUTHORITY'), raw: stdout };
}

/** Answer lines as "name type data", sorted, for exact comparisons. */
export const lines = (a: DigAnswer) => a.answer.map((r) => `${r.name} ${r.type} ${r.data}`).sort();

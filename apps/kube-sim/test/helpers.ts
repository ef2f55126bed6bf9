/** Helpers for the kube-sim tests: temp kubeconfigs, running the real kubectl, polling. */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKubeconfig, type SimCluster } from '../src/index.js';

export interface Kubectl {
  (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  kubeconfig: string;
  cacheDir: string;
  /** Starts a long-running kubectl (e.g. -w); returns its output so far and a kill function. */
  spawn(...args: string[]): { output: () => string; kill: () => Promise<void> };
}

export function kubectlFor(clusters: SimCluster[], currentContext?: string): Kubectl {
  const dir = mkdtempSync(join(tmpdir(), 'kube-sim-test-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, buildKubeconfig(clusters.map((c) => ({ name: c.name, server: c.url, token: 'anything' })), currentContext));
  const cacheDir = join(dir, 'cache');
  const base = ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir];
  const env = { ...process.env, HOME: dir, KUBECONFIG: '' };
  const run = ((...args: string[]) =>
    new Promise((resolve) => {
      execFile('kubectl', [...base, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code as number) : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    })) as Kubectl;
  run.kubeconfig = kubeconfig;
  run.cacheDir = cacheDir;
  run.spawn = (...args: string[]) => {
    const child = spawn('kubectl', [...base, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    return {
      output: () => out,
      kill: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      },
    };
  };
  return run;
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function http(method: string, url: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 5000) {
  const res = await fetch(url, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, text };
}

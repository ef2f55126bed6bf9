/** DNSSEC end-to-end helpers: the zone's DS as a trust anchor, delv, AXFR checked by the real verifiers. */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runFedns } from './helpers.js';

const run = promisify(execFile);

/** `fedns dnssec ds` for a data dir: the DS records (presentation RDATA) the parent would hold. */
export async function zoneDs(dataDir: string, extra: string[] = []): Promise<string[]> {
  const r = await runFedns(['dnssec', 'ds', '--data-dir', dataDir, ...extra]);
  if (r.code !== 0) throw new Error(`fedns dnssec ds: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => / IN DS /.test(l)).map((l) => l.split(' IN DS ')[1] as string);
}

/** A delv anchor file: the DS records as static-ds trust anchors for example.com. */
export function anchorFile(dir: string, ds: string[], name = 'anchors.conf'): string {
  const file = join(dir, name);
  const lines = ds.map((d) => {
    const [tag, alg, type, ...hex] = d.split(' ');
    return `  example.com. static-ds ${tag} ${alg} ${type} "${hex.join('')}";`;
  });
  writeFileSync(file, `trust-anchors {\n${lines.join('\n')}\n};\n`);
  return file;
}

export interface DelvResult {
  validated: boolean;
  negative: boolean;
  out: string;
}

/** delv against one server with the zone's DS as the only trust anchor: fully validated or not. */
export async function delv(port: number, anchors: string, name: string, type = 'A'): Promise<DelvResult> {
  let out = '';
  try {
    const r = await run('delv', ['-a', anchors, '+root=example.com', '-p', String(port), '@127.0.0.1', name, type, '+tcp'], { timeout: 15_000 });
    out = r.stdout + r.stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  // delv says "; fully validated" for answers and "; negative response, fully validated" for NXDOMAIN and NODATA.
  return { validated: /^; (negative response, )?fully validated$/m.test(out), negative: /^; negative response, fully validated$/m.test(out), out };
}

/** AXFR from a server, written to a zone file. */
export async function axfrToFile(port: number, dir: string): Promise<string> {
  const { stdout } = await run('dig', ['+nocookie', '+tries=1', '+time=5', '-p', String(port), '@127.0.0.1', 'example.com', 'AXFR', '+onesoa', '+nocmd', '+nostats'], { maxBuffer: 64 << 20 });
  const file = join(dir, `axfr-${port}.zone`);
  writeFileSync(file, stdout);
  return file;
}

/** Runs dnssec-verify, ldns-verify-zone and kzonecheck on a zone file; throws with their output. */
export async function verifyZoneFile(file: string): Promise<void> {
  for (const [cmd, args] of [
    ['dnssec-verify', ['-z', '-o', 'example.com', file]],
    ['ldns-verify-zone', [file]],
    ['kzonecheck', ['-o', 'example.com', '-d', 'on', file]],
  ] as const) {
    try {
      await run(cmd, [...args]);
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`${cmd} rejects the zone:\n${e.stdout}\n${e.stderr}`);
    }
  }
}

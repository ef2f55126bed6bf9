/** Debian's fstrm_capture (fstrm-bin) as a dnstap collector for tests: started, and stopped cleanly. */
import { type ChildProcess, spawn } from 'node:child_process';
import { DNSTAP_CONTENT_TYPE } from '../src/dnstap.js';

/** Collects dnstap frames arriving on unix socket `sock` into `file`; resolves once it is listening. */
export function startCapture(sock: string, file: string): Promise<ChildProcess> {
  const cap = spawn('fstrm_capture', ['-t', DNSTAP_CONTENT_TYPE, '-u', sock, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    cap.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('opened output file')) resolve(cap);
    });
    cap.once('exit', (code) => reject(new Error(`fstrm_capture exited (${code}): ${err}`)));
  });
}

/** Stops it cleanly (SIGINT: it closes the file with a STOP frame), woken first if a test stopped it. */
export async function stopCapture(cap: ChildProcess): Promise<void> {
  if (cap.exitCode !== null || cap.signalCode !== null) return;
  const exited = new Promise((resolve) => cap.once('exit', resolve));
  cap.kill('SIGCONT');
  cap.kill('SIGINT');
  await exited;
}

/** A real Unbound for end-to-end tests: a recursive resolver whose stub zone points at a fedns nameserver. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './helpers.js';

const run = promisify(execFile);

export interface Unbound {
  port: number;
  /**
   * Asks Unbound (recursion desired; with +dnssec when validating): status, whether it said
   * secure (AD), and the answer as "type data" lines in order, RRSIGs left out.
   */
  resolve(name: string, type?: string, extra?: string[]): Promise<{ status: string; ad: boolean; answer: string[]; raw: string }>;
  log(): string;
  stop(): Promise<void>;
}

export interface UnboundOptions {
  /** Validate with this DS (the zone's) as the trust anchor; answers then live at most a second in its cache. */
  trustAnchorDs?: string;
  /** Started once this name resolves to something (default: the zone's SOA answers NOERROR). */
  readyName?: string;
}

export async function startUnbound(dir: string, zone: string, nameserverPort: number, opts: UnboundOptions = {}): Promise<Unbound> {
  const port = await freePort();
  const bare = zone.replace(/\.$/, '');
  const validation = opts.trustAnchorDs
    ? `  module-config: "validator iterator"
  trust-anchor: "${bare}. DS ${opts.trustAnchorDs}"
  val-log-level: 2
  # No answer outlives a second in the cache: what is measured is fedns, not Unbound's TTL.
  cache-max-ttl: 0
  cache-max-negative-ttl: 0
`
    : `  module-config: "iterator"
`;
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    `server:
  interface: 127.0.0.1
  port: ${port}
  do-ip6: no
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "${dir}"
  pidfile: "${dir}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
${validation}remote-control:
  control-enable: no
stub-zone:
  name: "${bare}"
  stub-addr: 127.0.0.1@${nameserverPort}
`,
  );
  let output = '';
  const child: ChildProcess = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const resolve = async (name: string, type = 'A', extra: string[] = []) => {
    const dnssec = opts.trustAnchorDs ? ['+dnssec'] : [];
    const { stdout } = await run('dig', ['+tries=1', '+time=3', ...dnssec, '-p', String(port), '@127.0.0.1', name, type, ...extra]);
    const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'NONE';
    const flags = /;; flags: ([^;]*);/.exec(stdout)?.[1] ?? '';
    const m = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(stdout);
    const answer = (m?.[1] ?? '')
      .split('\n')
      .filter((l) => l && !l.startsWith(';'))
      .map((l) => l.split(/\s+/))
      .filter((f) => f[3] !== 'RRSIG')
      .map((f) => `${f[3]} ${f.slice(4).join(' ')}`);
    return { status, ad: /\bad\b/.test(flags), answer, raw: stdout };
  };
  await waitFor(`unbound to answer\n${output}`, async () => {
    if (child.exitCode !== null) throw new Error(`unbound exited: ${output}`);
    return opts.readyName ? (await resolve(opts.readyName)).answer.length > 0 : (await resolve(zone, 'SOA')).status === 'NOERROR';
  }, 20_000, 200);
  return {
    port,
    resolve,
    log: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    },
  };
}

/**
 * NSD and Knot as real secondaries of a fedns nameserver, for the end-to-end
 * tests: NSD proves a TSIG key (xfr-key) and takes NOTIFY from 127.0.0.1;
 * Knot transfers from 127.0.0.2 without keys (an address ACL at fedns). Both
 * keep everything in `dir`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Secondaries {
  /** Their logs, for a failure message. */
  logs(): string;
  stop(): Promise<void>;
}

export function startNsdAndKnot(o: { dir: string; primaryPort: number; nsdPort: number; knotPort: number; tsigSecret: string }): Secondaries {
  const { dir } = o;
  writeFileSync(
    join(dir, 'nsd.conf'),
    `server:
  ip-address: 127.0.0.1@${o.nsdPort}
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  database: ""
  zonelistfile: "${dir}/zone.list"
  pidfile: "${dir}/nsd.pid"
  xfrdfile: "${dir}/xfrd.state"
  xfrdir: "${dir}"
  logfile: "${dir}/nsd.log"
  verbosity: 2
  do-ip6: no
  rrl-ratelimit: 0
remote-control:
  control-enable: no
key:
  name: xfr-key
  algorithm: hmac-sha256
  secret: "${o.tsigSecret}"
zone:
  name: example.com
  zonefile: nsd-example.com.zone
  allow-notify: 127.0.0.1 xfr-key
  request-xfr: 127.0.0.1@${o.primaryPort} xfr-key
`,
  );
  writeFileSync(
    join(dir, 'knot.conf'),
    `server:
  rundir: "${dir}"
  listen: 127.0.0.1@${o.knotPort}
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: info
database:
  storage: "${dir}/knot-db"
remote:
  - id: fedns
    address: 127.0.0.1@${o.primaryPort}
    via: 127.0.0.2
acl:
  - id: notify_from_fedns
    address: 127.0.0.1
    action: notify
zone:
  - domain: example.com
    storage: "${dir}"
    file: knot-example.com.zone
    master: fedns
    acl: notify_from_fedns
    zonefile-sync: -1
    zonefile-load: none
    journal-content: changes
`,
  );
  const logs = new Map<string, string>();
  const children: ChildProcess[] = [];
  const start = (name: string, cmd: string, args: string[]) => {
    const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    logs.set(name, '');
    const add = (d: Buffer) => logs.set(name, (logs.get(name) ?? '') + d.toString());
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
    children.push(child);
  };
  start('nsd', 'nsd', ['-d', '-c', join(dir, 'nsd.conf')]);
  start('knot', 'knotd', ['-c', join(dir, 'knot.conf')]);
  return {
    logs: () => `\n--- nsd ---\n${logs.get('nsd')}\n--- knot ---\n${logs.get('knot')}`,
    async stop() {
      for (const c of children) {
        if (c.exitCode !== null || c.signalCode !== null) continue;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }
    },
  };
}

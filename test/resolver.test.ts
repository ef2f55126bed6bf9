/**
 * Issue 5: a real resolver path. Unbound, with a stub zone pointing at
 * `fedns serve`, resolves every level of a service's chain (zone → region →
 * global) to the right addresses, following the CNAMEs fedns publishes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { dig, type FednsProcess, freePort, spawnFedns, tempDir, waitFor, seedWorkedExample, waitReady } from './helpers.js';

const run = promisify(execFile);
const P = 'nginx.prod.myfed.svc';
const dir = tempDir('fedns-resolver-');
const dataDir = join(dir, 'data');
let serve: FednsProcess;
let unbound: ChildProcess | undefined;
let unboundLog = '';
let dnsPort = 0;
let resolverPort = 0;

/** Asks Unbound (recursion desired) and returns status and the answer as "type data" lines in order. */
async function resolve(name: string, type = 'A'): Promise<{ status: string; answer: string[]; raw: string }> {
  const { stdout } = await run('dig', ['+tries=1', '+time=3', '-p', String(resolverPort), '@127.0.0.1', name, type]);
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'NONE';
  const m = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(stdout);
  const answer = (m?.[1] ?? '').split('\n').filter((l) => l && !l.startsWith(';')).map((l) => {
    const f = l.split(/\s+/);
    return `${f[3]} ${f.slice(4).join(' ')}`;
  });
  return { status, answer, raw: stdout };
}

before(async () => {
  const apiPort = await freePort();
  dnsPort = await freePort();
  resolverPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  serve = spawnFedns(['serve', '--data-dir', dataDir, '--federation', 'myfed', '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--log-level', 'warn']);
  await waitReady(api, serve);
  await seedWorkedExample(dataDir, api);
  // Unbound caches what it hears: ask it only once fedns publishes the whole chain.
  const chain = `${P}.asia-east1-a.asia-east1.example.com`;
  await waitFor('fedns to publish the chain', async () => (await dig(dnsPort, chain)).answer.length === 4).catch(async (e) => {
    throw new Error(`${e}\n${(await dig(dnsPort, chain)).raw}\n${serve.output()}`);
  });

  writeFileSync(
    join(dir, 'unbound.conf'),
    `server:
  interface: 127.0.0.1
  port: ${resolverPort}
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
  module-config: "iterator"
remote-control:
  control-enable: no
stub-zone:
  name: "example.com"
  stub-addr: 127.0.0.1@${dnsPort}
`,
  );
  unbound = spawn('unbound', ['-d', '-c', join(dir, 'unbound.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  unbound.stdout?.on('data', (d: Buffer) => (unboundLog += d.toString()));
  unbound.stderr?.on('data', (d: Buffer) => (unboundLog += d.toString()));
  await waitFor(`unbound to resolve the global name\n${unboundLog}`, async () => (await resolve(`${P}.example.com`)).answer.length > 0, 20_000, 200);
});

after(async () => {
  if (unbound && unbound.exitCode === null) {
    const exited = new Promise((r) => unbound?.once('exit', r));
    unbound.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  }
  await serve?.stop();
});

test('Unbound resolves every level of the chain to the right addresses', async () => {
  const addrs = (a: { answer: string[] }) => a.answer.filter((l) => l.startsWith('A ')).map((l) => l.slice(2)).sort();
  const cnames = (a: { answer: string[] }) => a.answer.filter((l) => l.startsWith('CNAME ')).map((l) => l.slice(6));
  const cases: [string, string[], string[]][] = [
    // name, CNAMEs followed, final addresses
    [`${P}.example.com`, [], ['198.51.100.5', '203.0.113.10']],
    [`${P}.us-east1.example.com`, [], ['203.0.113.10']],
    [`${P}.us-east1-b.us-east1.example.com`, [], ['203.0.113.10']],
    [`${P}.us-east1-c.us-east1.example.com`, [`${P}.us-east1.example.com.`], ['203.0.113.10']],
    [`${P}.europe-west1.example.com`, [], ['198.51.100.5']],
    [`${P}.europe-west1-b.europe-west1.example.com`, [], ['198.51.100.5']],
    [`${P}.asia-east1.example.com`, [`${P}.example.com.`], ['198.51.100.5', '203.0.113.10']],
    [`${P}.asia-east1-a.asia-east1.example.com`, [`${P}.asia-east1.example.com.`, `${P}.example.com.`], ['198.51.100.5', '203.0.113.10']],
  ];
  for (const [name, chain, want] of cases) {
    const r = await resolve(name);
    assert.equal(r.status, 'NOERROR', r.raw);
    assert.deepEqual(cnames(r), chain, `${name}\n${r.raw}`);
    assert.deepEqual(addrs(r), want, `${name}\n${r.raw}`);
  }
  const nx = await resolve(`${P}.us-west1.example.com`);
  assert.equal(nx.status, 'NXDOMAIN', nx.raw);
  const ent = await resolve('svc.example.com');
  assert.equal(ent.status, 'NOERROR', 'the empty non-terminal is NODATA through the resolver too');
});

/**
 * Issue 5: a real resolver path. Unbound, with a stub zone pointing at
 * `fedns serve`, resolves every level of a service's chain (zone → region →
 * global) to the right addresses, following the CNAMEs fedns publishes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dig, type FednsProcess, freePort, spawnFedns, tempDir, waitFor, seedWorkedExample, waitReady } from './helpers.js';
import { startUnbound, type Unbound } from './unbound.js';

const P = 'nginx.prod.myfed.svc';
const dir = tempDir('fedns-resolver-');
const dataDir = join(dir, 'data');
let serve: FednsProcess;
let unbound: Unbound;
let dnsPort = 0;

const resolve = (name: string, type = 'A') => unbound.resolve(name, type);

before(async () => {
  const apiPort = await freePort();
  dnsPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  serve = spawnFedns(['serve', '--data-dir', dataDir, '--federation', 'myfed', '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--log-level', 'warn']);
  await waitReady(api, serve);
  await seedWorkedExample(dataDir, api);
  // Unbound caches what it hears: ask it only once fedns publishes the whole chain.
  const chain = `${P}.asia-east1-a.asia-east1.example.com`;
  await waitFor('fedns to publish the chain', async () => (await dig(dnsPort, chain)).answer.length === 4).catch(async (e) => {
    throw new Error(`${e}\n${(await dig(dnsPort, chain)).raw}\n${serve.output()}`);
  });

  unbound = await startUnbound(dir, 'example.com.', dnsPort, { readyName: `${P}.example.com` });
});

after(async () => {
  await unbound?.stop();
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

/**
 * Issue 2 end to end: `fedns serve` with the DESIGN §4 worked example — the
 * service through the API, clusters and shard status through the store
 * package — checked name by name with the real dig; a second
 * `fedns nameserver` process follows the same data directory.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { changeShard, dig, type FednsProcess, freePort, lines, runFedns, spawnFedns, tempDir, touchService, waitFor, seedWorkedExample, waitReady, openTestStore } from './helpers.js';

const P = 'nginx.prod.myfed.svc';
const dataDir = tempDir();
let serve: FednsProcess;
let follower: FednsProcess | undefined;
let api = '';
let dnsPort = 0;


before(async () => {
  const apiPort = await freePort();
  dnsPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  serve = spawnFedns(['serve', '--data-dir', dataDir, '--federation', 'myfed', '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--log-level', 'warn']);
  await waitReady(api, serve);

  // The §4 example: clusters and shards as the controller would record them, the Service through the API.
  await seedWorkedExample(dataDir, api);
  await waitFor('the global name to answer', async () => (await dig(dnsPort, `${P}.example.com`)).answer.length > 0);
});

after(async () => {
  await follower?.stop();
  await serve?.stop();
});

test('every name of the worked example answers as DESIGN §4 says', async () => {
  const expectA = async (name: string, data: string[]) => {
    const a = await dig(dnsPort, name);
    assert.equal(a.status, 'NOERROR', a.raw);
    assert.ok(a.flags.includes('aa'), `AA on ${name}`);
    assert.deepEqual(lines(a), data.map((d) => `${name} A ${d}`).sort(), a.raw);
    assert.ok(a.answer.every((r) => r.ttl === 30), 'TTL 30 by default');
  };
  await expectA(`${P}.example.com.`, ['198.51.100.5', '203.0.113.10']);
  await expectA(`${P}.us-east1.example.com.`, ['203.0.113.10']);
  await expectA(`${P}.us-east1-b.us-east1.example.com.`, ['203.0.113.10']);
  await expectA(`${P}.europe-west1.example.com.`, ['198.51.100.5']);
  await expectA(`${P}.europe-west1-b.europe-west1.example.com.`, ['198.51.100.5']);

  // CNAME rows: the CNAME itself, and the chain followed to addresses in the same answer.
  const chains: [string, string[], string[]][] = [
    [`${P}.us-east1-c.us-east1.example.com.`, [`${P}.us-east1.example.com.`], ['203.0.113.10']],
    [`${P}.asia-east1.example.com.`, [`${P}.example.com.`], ['198.51.100.5', '203.0.113.10']],
    [`${P}.asia-east1-a.asia-east1.example.com.`, [`${P}.asia-east1.example.com.`, `${P}.example.com.`], ['198.51.100.5', '203.0.113.10']],
  ];
  for (const [name, targets, addrs] of chains) {
    const c = await dig(dnsPort, name, 'CNAME');
    assert.deepEqual(c.answer.map((r) => `${r.name} ${r.type} ${r.data}`), [`${name} CNAME ${targets[0]}`], c.raw);
    const a = await dig(dnsPort, name, 'A');
    assert.equal(a.status, 'NOERROR');
    const cnames = a.answer.filter((r) => r.type === 'CNAME').map((r) => r.data);
    assert.deepEqual(cnames, targets, a.raw);
    assert.deepEqual(a.answer.filter((r) => r.type === 'A').map((r) => r.data).sort(), addrs, a.raw);
  }
});

test('the zone holds nothing else for the service, and negative answers carry the SOA', async () => {
  const nx = await dig(dnsPort, `${P}.us-west1.example.com.`);
  assert.equal(nx.status, 'NXDOMAIN');
  assert.equal(nx.authority[0]?.type, 'SOA');
  const ent = await dig(dnsPort, 'svc.example.com.');
  assert.equal(ent.status, 'NOERROR', 'an empty non-terminal is NODATA');
  assert.equal(ent.answer.length, 0);
  const soa = await dig(dnsPort, 'example.com.', 'SOA');
  assert.equal(soa.answer[0]?.type, 'SOA');
  const outside = await dig(dnsPort, 'example.org.', 'A');
  assert.equal(outside.status, 'REFUSED');
});

test('a second `fedns nameserver` process follows commits of `fedns serve` within one second', async () => {
  const port = await freePort();
  const opsPort = await freePort();
  follower = spawnFedns(['nameserver', '--data-dir', dataDir, '--federation', 'myfed', '--dns-listen', `127.0.0.1:${port}`, '--api-listen', `127.0.0.1:${opsPort}`, '--log-level', 'warn']);
  await waitReady(`http://127.0.0.1:${opsPort}`, follower);
  assert.deepEqual(lines(await dig(port, `${P}.europe-west1.example.com.`)), lines(await dig(dnsPort, `${P}.europe-west1.example.com.`)));

  // c3 loses its endpoints: Europe falls back to global. (The shard as the controller would record it;
  // a touch of the Service through the API makes the controller look at the service again.)
  await changeShard(dataDir, 'c3', { healthy: false, readyEndpoints: 0, message: 'no ready endpoints' });
  await touchService(api, { 'test.fedns.io/c3': 'down' });
  const t0 = Date.now();
  await waitFor('the follower to see the change', async () => (await dig(port, `${P}.europe-west1.example.com.`, 'CNAME')).answer[0]?.data === `${P}.example.com.`, 1000, 20);
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 1000, `seen after ${elapsed} ms`);
  const serial = (await dig(port, 'example.com.', 'SOA')).answer[0]?.data.split(' ')[2];
  assert.equal(serial, (await dig(dnsPort, 'example.com.', 'SOA')).answer[0]?.data.split(' ')[2], 'both serve the same serial');
});

test('`fedns explain` shows the chain and the shards behind it; `fedns history` the changes with causes', async () => {
  const e = await runFedns(['explain', `${P}.europe-west1-b.europe-west1.example.com`, '--data-dir', dataDir, '--federation', 'myfed']);
  assert.equal(e.code, 0, e.stderr);
  const out = e.stdout;
  assert.match(out, /europe-west1-b\.europe-west1\.example\.com\. \[zone\] CNAME/);
  assert.match(out, /why: no healthy shard in zone europe-west1-b \(c3: no ready endpoints\)/);
  assert.match(out, /→ nginx\.prod\.myfed\.svc\.europe-west1\.example\.com\. \[region\] CNAME/);
  assert.match(out, /\[global\] A 203\.0\.113\.10 \(ttl 30\)/, "c3 went unhealthy in the previous test: only c1 is left");
  assert.match(out, /- c1: healthy since .*3 ready, LB 203\.0\.113\.10/);
  const h = await runFedns(['history', 'prod/nginx', '--data-dir', dataDir]);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /serial \d+ .*service prod\/nginx created by system:anonymous/);
  assert.match(h.stdout, /\+ nginx\.prod\.myfed\.svc\.europe-west1\.example\.com\. CNAME/);
  const bad = await runFedns(['explain', 'www.example.org', '--data-dir', dataDir]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not inside the zone example\.com\./);
});

test('deleting the service removes its whole chain', async () => {
  const res = await fetch(`${api}/api/v1/namespaces/prod/services/nginx`, { method: 'DELETE' });
  assert.equal(res.status, 200);
  await waitFor('the global name to go', async () => (await dig(dnsPort, `${P}.example.com.`)).status === 'NXDOMAIN');
  for (const name of [`${P}.us-east1.example.com.`, `${P}.asia-east1-a.asia-east1.example.com.`]) {
    assert.equal((await dig(dnsPort, name)).status, 'NXDOMAIN');
  }
});

test('an invalid Service is rejected with a Status naming the field, and nothing is stored', async () => {
  // A member cluster with long topology labels makes the zone-level name overflow 253 octets.
  const store = await openTestStore(dataDir);
  await store.createObject({ kind: 'clusters', namespace: '', name: 'c9', uid: 'uid-c9', object: { metadata: { name: 'c9' }, status: { region: 'r'.repeat(63), zones: ['z'.repeat(63)] } } });
  await store.close();
  const long = 'x'.repeat(60);
  const res = await fetch(`${api}/api/v1/namespaces/${long}/services`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ metadata: { name: `a${'b'.repeat(61)}` }, spec: { ports: [{ port: 70000 }] } }),
  });
  assert.equal(res.status, 422);
  const status = (await res.json()) as { kind: string; reason: string; details: { causes: { field: string; message: string }[] } };
  assert.equal(status.kind, 'Status');
  assert.equal(status.reason, 'Invalid');
  const fields = status.details.causes.map((c) => c.field);
  assert.ok(fields.includes('spec.ports[0].port'), JSON.stringify(status));
  assert.ok(status.details.causes.some((c) => c.field === 'metadata.name' && /longer than 253/.test(c.message)), JSON.stringify(status));
  const get = await fetch(`${api}/api/v1/namespaces/${long}/services/a${'b'.repeat(61)}`);
  assert.equal(get.status, 404);
});

test('bad flags: one clear line and exit code 2', async () => {
  const r = await runFedns(['serve', '--dns-listen', 'nowhere']);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^fedns: dns-listen: "nowhere" is not host:port/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  const u = await runFedns(['serve', '--no-such-flag']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /no-such-flag/);
});

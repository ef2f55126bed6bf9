/**
 * Issue 15 end to end: `fedns serve --dnssec` signs on commit. With the zone's
 * DS as the only trust anchor, delv fully validates every kind of answer;
 * the AXFR passes dnssec-verify, ldns-verify-zone and kzonecheck; Unbound
 * (validator, stub zone) says secure (AD) for each cascade name, and still
 * after a failover, the new answer validating within a second.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { anchorFile, axfrToFile, delv, verifyZoneFile, zoneDs } from './dnssec-helpers.js';
import { dig, type FednsProcess, changeShard, freePort, seedWorkedExample, spawnFedns, tempDir, touchService, waitFor, waitReady } from './helpers.js';
import { startUnbound, type Unbound } from './unbound.js';

const P = 'nginx.prod.myfed.svc';
const Z = 'example.com';
const dir = tempDir('fedns-dnssec-');
const dataDir = join(dir, 'data');
let serve: FednsProcess;
let unbound: Unbound;
let api = '';
let dnsPort = 0;
let anchors = '';
let ds: string[] = [];

before(async () => {
  const apiPort = await freePort();
  dnsPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  serve = spawnFedns([
    'serve', '--dnssec', '--data-dir', dataDir, '--federation', 'myfed', '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`,
    '--cluster-grace', '600s', '--xfr-allow', '127.0.0.1/32', '--log-level', 'warn',
  ]);
  await waitReady(api, serve);
  await seedWorkedExample(dataDir, api);
  const chain = `${P}.asia-east1-a.asia-east1.${Z}`;
  await waitFor('fedns to publish the signed chain', async () => (await dig(dnsPort, chain, 'A', ['+dnssec'])).answer.filter((r) => r.type === 'RRSIG').length === 3).catch(async (e) => {
    throw new Error(`${e}\n${(await dig(dnsPort, chain, 'A', ['+dnssec'])).raw}\n${serve.output()}`);
  });
  ds = await zoneDs(dataDir);
  assert.equal(ds.length, 1, 'one CSK, one DS');
  anchors = anchorFile(dir, ds);
});

after(async () => {
  await unbound?.stop();
  await serve?.stop();
});

test('delv with the zone’s DS as trust anchor fully validates every kind of answer', async () => {
  const cases: [string, string, 'positive' | 'negative'][] = [
    [`${P}.us-east1-b.us-east1.${Z}`, 'A', 'positive'], // zone name
    [`${P}.europe-west1.${Z}`, 'A', 'positive'], // region name
    [`${P}.${Z}`, 'A', 'positive'], // global name
    [`${P}.asia-east1-a.asia-east1.${Z}`, 'A', 'positive'], // CNAME → CNAME → A
    [`${P}.us-east1-c.us-east1.${Z}`, 'A', 'positive'], // CNAME → A
    [`${P}.us-west1.${Z}`, 'A', 'negative'], // NXDOMAIN
    [`nope.${P}.${Z}`, 'A', 'negative'], // NXDOMAIN below an existing name
    [`${P}.${Z}`, 'TXT', 'negative'], // NODATA
    [`svc.${Z}`, 'A', 'negative'], // the empty non-terminal
    [`myfed.svc.${Z}`, 'AAAA', 'negative'], // a deeper empty non-terminal
    [`NGINX.Prod.MyFed.SVC.EUROPE-WEST1.Example.COM`, 'A', 'positive'], // upper case
    [`NoSuch.Example.COM`, 'A', 'negative'],
    [`${Z}`, 'SOA', 'positive'],
    [`${Z}`, 'NS', 'positive'],
    [`${Z}`, 'DNSKEY', 'positive'],
    [`ns1.${Z}`, 'A', 'positive'],
  ];
  for (const [name, type, kind] of cases) {
    const r = await delv(dnsPort, anchors, name, type);
    assert.ok(r.validated, `${name} ${type}: fully validated\n${r.out}`);
    assert.equal(r.negative, kind === 'negative', `${name} ${type}: ${kind}\n${r.out}`);
  }
  const wrong = anchorFile(dir, [`${ds[0]?.split(' ')[0]} 13 2 ${'00'.repeat(32)}`], 'wrong.conf');
  assert.ok(!(await delv(dnsPort, wrong, `${P}.${Z}`)).validated, 'a wrong DS does not validate (the check is real)');
});

test('every cascade answer with DO=1 fits in 1232 bytes; DO=0 answers carry no DNSSEC records', async () => {
  for (const name of [`${P}.asia-east1-a.asia-east1.${Z}`, `${P}.${Z}`, `${P}.us-west1.${Z}`, `svc.${Z}`]) {
    const signed = await dig(dnsPort, name, 'A', ['+dnssec', '+bufsize=1232', '+notcp']);
    assert.ok(!signed.flags.includes('tc'), `${name}: not truncated\n${signed.raw}`);
    const size = Number(/MSG SIZE {2}rcvd: (\d+)/.exec(signed.raw)?.[1]);
    assert.ok(size > 0 && size <= 1232, `${name}: ${size} bytes`);
    const plain = await dig(dnsPort, name, 'A');
    assert.ok(![...plain.answer, ...plain.authority].some((r) => ['RRSIG', 'NSEC3'].includes(r.type)), `${name}: DO=0 is unsigned\n${plain.raw}`);
  }
});

test('kzonecheck, ldns-verify-zone and dnssec-verify accept the AXFR', async () => {
  await verifyZoneFile(await axfrToFile(dnsPort, dir));
});

const resolve = (name: string, type = 'A') => unbound.resolve(name, type);

test('Unbound with the trust anchor says secure for each cascade name, and after a failover within a second', async () => {
  unbound = await startUnbound(dir, `${Z}.`, dnsPort, { trustAnchorDs: ds[0] as string, readyName: `${P}.${Z}` });
  const names = [`${P}.${Z}`, `${P}.us-east1.${Z}`, `${P}.us-east1-b.us-east1.${Z}`, `${P}.us-east1-c.us-east1.${Z}`, `${P}.europe-west1.${Z}`, `${P}.europe-west1-b.europe-west1.${Z}`, `${P}.asia-east1.${Z}`, `${P}.asia-east1-a.asia-east1.${Z}`];
  for (const name of names) {
    const r = await resolve(name);
    assert.equal(r.status, 'NOERROR', r.raw);
    assert.ok(r.ad, `${name}: secure (AD)\n${r.raw}\n${unbound.log()}`);
  }
  const nx = await resolve(`${P}.us-west1.${Z}`);
  assert.ok(nx.status === 'NXDOMAIN' && nx.ad, `NXDOMAIN is secure\n${nx.raw}`);

  // Failover: c1 (us-east1-b) loses its endpoints; the zone and region names fall back up the chain.
  await changeShard(dataDir, 'c1', { healthy: false, readyEndpoints: 0 });
  const t0 = Date.now();
  // The controller hears of a shard from its member; here the test touches the service so the writer looks again.
  await touchService(api, { 'test.example/failover': String(t0) });
  const name = `${P}.us-east1-b.us-east1.${Z}`;
  const secureAfter = await waitFor(
    `Unbound to validate the new answer of ${name}`,
    async () => {
      const r = await resolve(name);
      return r.ad && r.answer[0]?.startsWith('CNAME ') ? Date.now() - t0 : undefined;
    },
    5000,
    25,
  );
  assert.ok(secureAfter < 1000, `the failed-over answer validated ${secureAfter} ms after the change`);
  const r = await resolve(name);
  assert.deepEqual(r.answer.map((l) => l.split(' ')[0]), ['CNAME', 'CNAME', 'A'], r.raw);
  assert.ok(r.ad, r.raw);
});

test('a weighted set in the signed zone: DO=0 answers one shard by weight, delv (DO=1) gets the whole signed set and validates', async () => {
  // c1 healthy again (the failover above took it out), beside c3: two shards to weigh, 1:3.
  await changeShard(dataDir, 'c1', { healthy: true, readyEndpoints: 3 });
  await touchService(api, { 'federation.fedns.io/weights': 'c1=1,c3=3' });
  const global = `${P}.${Z}`;
  const all = ['198.51.100.5', '203.0.113.10'];
  // Weighted: a DO=0 answer carries one shard's address.
  await waitFor('the weighted global name (one address per DO=0 answer)', async () => (await dig(dnsPort, global, 'A')).answer.filter((r) => r.type === 'A').length === 1, 10_000, 50);
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) for (const r of (await dig(dnsPort, global, 'A')).answer) if (r.type === 'A') seen.add(r.data);
  assert.deepEqual([...seen].sort(), all, 'both shards answer, one at a time');
  // DO=1: the whole signed set, every time; delv validates it, and the region name's chain to it.
  for (let i = 0; i < 10; i++) {
    const signed = await dig(dnsPort, global, 'A', ['+dnssec']);
    assert.deepEqual(signed.answer.filter((r) => r.type === 'A').map((r) => r.data).sort(), all, signed.raw);
  }
  for (const name of [global, `${P}.us-east1-c.us-east1.${Z}`, `${P}.EUROPE-WEST1.${Z}`]) {
    const r = await delv(dnsPort, anchors, name, 'A');
    assert.ok(r.validated && !r.negative, `${name}: fully validated\n${r.out}`);
  }
  const r = await delv(dnsPort, anchors, global, 'A');
  for (const a of all) assert.match(r.out, new RegExp(`\\sA\\s+${a.replaceAll('.', '\\.')}\\b`), r.out);
});

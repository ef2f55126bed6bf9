/**
 * The in-cluster view (issue 12) with the real dig: private names answered to allowed networks
 * only (REFUSED to anyone else, as any name outside the zone), cluster IPs, the CNAME followed
 * through the public zone in one answer, NODATA / NXDOMAIN with the private SOA, the apex, TCP
 * and case; the public zone's AXFR never holds any of it; the follower keeps the view in step
 * with a store.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { ClusterAnswer } from '@fedns/model';
import { openStore } from '@fedns/store';
import { ClusterView, type DnsServer, followClusterView, parseAclEntry, parseNetwork, startDnsServer, wireKey } from '../src/index.js';
import { P, makeIndex } from './fixture.js';
import { parseDig, rdataOf } from './helpers.js';

const run = promisify(execFile);
const SUFFIX = 'clusters.fedns.internal.';
const priv = (cluster: string, svc = 'nginx', ns = 'prod') => `${svc}.${ns}.myfed.svc.${cluster}.${SUFFIX}`;

async function dig(port: number, source: string, args: string[]) {
  const { stdout } = await run('dig', ['+norec', '+nocookie', '+tries=1', '+time=2', '-b', source, '@127.0.0.1', '-p', String(port), ...args]);
  return parseDig(stdout);
}

const answers: ClusterAnswer[] = [
  { cluster: 'c1', namespace: 'prod', service: 'nginx', ttl: 5, addresses: ['10.96.0.20', 'fd00::20'] },
  { cluster: 'c2', namespace: 'prod', service: 'nginx', ttl: 5, target: `${P}.us-east1-c.us-east1.example.com.` },
  { cluster: 'c5', namespace: 'prod', service: 'nginx', ttl: 7, target: `${P}.asia-east1-a.asia-east1.example.com.` },
  { cluster: 'c1', namespace: 'prod', service: 'headless', ttl: 5 },
  { cluster: 'c9', namespace: 'prod', service: 'nginx', ttl: 5, target: 'missing.example.com.' },
];

describe('in-cluster view', () => {
  let server: DnsServer;
  let port: number;
  const view = new ClusterView({ federation: 'myfed', suffix: SUFFIX, allow: [parseNetwork('127.0.0.1/32')] });

  before(async () => {
    view.replaceAll(7, answers);
    server = await startDnsServer({ index: makeIndex(), listen: '127.0.0.1:0', clusterView: view, transfers: { allow: [parseAclEntry('127.0.0.0/8')] } });
    port = server.udpPort;
  });
  after(async () => server.close());

  it("a cluster's own shard: its cluster IPs, A and AAAA, TTL of the answer, AA", async () => {
    const a = await dig(port, '127.0.0.1', [priv('c1'), 'A']);
    assert.equal(a.status, 'NOERROR');
    assert.ok(a.flags.includes('aa'));
    assert.deepEqual(a.answer, [[priv('c1'), '5', 'IN', 'A', '10.96.0.20']]);
    const aaaa = await dig(port, '127.0.0.1', [priv('c1'), 'AAAA', '+tcp']);
    assert.deepEqual(rdataOf(aaaa.answer, 'AAAA'), ['fd00::20']);
  });

  it('elsewhere: the CNAME and the whole public chain down to the addresses, in one answer', async () => {
    const a = await dig(port, '127.0.0.1', [priv('c2'), 'A']);
    assert.equal(a.status, 'NOERROR');
    assert.deepEqual(
      a.answer.map((r) => `${r[0]} ${r[1]} ${r[3]} ${r[4]}`),
      [`${priv('c2')} 5 CNAME ${P}.us-east1-c.us-east1.example.com.`, `${P}.us-east1-c.us-east1.example.com. 30 CNAME ${P}.us-east1.example.com.`, `${P}.us-east1.example.com. 30 A 203.0.113.10`],
    );
    const far = await dig(port, '127.0.0.1', [priv('c5'), 'A']);
    assert.deepEqual(rdataOf(far.answer, 'CNAME'), [`${P}.asia-east1-a.asia-east1.example.com.`, `${P}.asia-east1.example.com.`, `${P}.example.com.`]);
    assert.deepEqual(rdataOf(far.answer, 'A').sort(), ['198.51.100.5', '203.0.113.10']);
    assert.equal(far.answer[0]?.[1], '7');
    // The chain ends NODATA for a type the end does not have: the public SOA in authority.
    const v6 = await dig(port, '127.0.0.1', [priv('c2'), 'AAAA']);
    assert.equal(v6.status, 'NOERROR');
    assert.equal(rdataOf(v6.answer, 'CNAME').length, 2);
    assert.equal(v6.authority[0]?.[0], 'example.com.');
    // A chain into nothing: NXDOMAIN at its end, with the CNAME.
    const dead = await dig(port, '127.0.0.1', [priv('c9'), 'A']);
    assert.equal(dead.status, 'NXDOMAIN');
    assert.deepEqual(rdataOf(dead.answer, 'CNAME'), ['missing.example.com.']);
    // CNAME asked: the CNAME alone.
    assert.deepEqual(rdataOf((await dig(port, '127.0.0.1', [priv('c2'), 'CNAME'])).answer, 'CNAME'), [`${P}.us-east1-c.us-east1.example.com.`]);
  });

  it('NODATA (headless without endpoints, AAAA without IPv6), NXDOMAIN, the apex, empty non-terminals: the private SOA', async () => {
    const hl = await dig(port, '127.0.0.1', [priv('c1', 'headless'), 'A']);
    assert.equal(hl.status, 'NOERROR');
    assert.equal(hl.answer.length, 0);
    assert.deepEqual(hl.authority[0]?.slice(0, 4), [`myfed.svc.c1.${SUFFIX}`, '5', 'IN', 'SOA']);
    const nx = await dig(port, '127.0.0.1', [priv('c1', 'nope'), 'A']);
    assert.equal(nx.status, 'NXDOMAIN');
    assert.equal(nx.authority[0]?.[0], `myfed.svc.c1.${SUFFIX}`);
    const apex = await dig(port, '127.0.0.1', [`myfed.svc.c1.${SUFFIX}`, 'SOA']);
    assert.equal(apex.status, 'NOERROR');
    assert.equal(apex.answer[0]?.[3], 'SOA');
    assert.equal(apex.answer[0]?.[6], '7', 'serial: the view sequence');
    const apexA = await dig(port, '127.0.0.1', [`myfed.svc.c1.${SUFFIX}`, 'A']);
    assert.equal(apexA.status, 'NOERROR');
    assert.equal(apexA.answer.length, 0);
    const ent = await dig(port, '127.0.0.1', [`prod.myfed.svc.c1.${SUFFIX}`, 'A']);
    assert.equal(ent.status, 'NOERROR');
    // Not this federation's names, or not under a cluster apex: not ours.
    assert.equal((await dig(port, '127.0.0.1', [`nginx.prod.other.svc.c1.${SUFFIX}`, 'A'])).status, 'REFUSED');
    assert.equal((await dig(port, '127.0.0.1', [SUFFIX, 'SOA'])).status, 'REFUSED');
  });

  it('case as asked, TCP', async () => {
    const r = await dig(port, '127.0.0.1', [priv('c1').toUpperCase(), 'A', '+tcp']);
    assert.equal(r.status, 'NOERROR');
    assert.equal(r.answer[0]?.[0], priv('c1').toUpperCase());
    assert.deepEqual(rdataOf(r.answer, 'A'), ['10.96.0.20']);
  });

  it('anyone else is REFUSED, as for any name outside the zone; the AXFR holds none of it', async () => {
    const other = await dig(port, '127.0.0.2', [priv('c1'), 'A']);
    assert.equal(other.status, 'REFUSED');
    assert.equal(other.answer.length, 0);
    assert.ok(!other.flags.includes('aa'));
    const { stdout } = await run('dig', ['+tries=1', '+time=2', '@127.0.0.1', '-p', String(port), 'example.com', 'AXFR']);
    assert.match(stdout, /nginx\.prod\.myfed\.svc\.example\.com\./);
    assert.ok(!stdout.includes('10.96.0.20') && !stdout.includes('fd00::20') && !stdout.includes(SUFFIX.slice(0, -1)));
  });
});

describe('following the store', () => {
  it('loads the answers, applies changes and deletions, reloads when compacted', async () => {
    const store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'fedns-view-')) });
    try {
      await store.commitClusterAnswers({ upserts: answers.slice(0, 2), deletes: [] });
      const view = new ClusterView({ federation: 'myfed', suffix: SUFFIX, allow: [] });
      const f = followClusterView(store, view, { resyncMs: 50 });
      await f.loaded;
      assert.equal(view.size, 2);
      const index = makeIndex();
      const key = (n: string) => wireKey(n.toLowerCase());
      assert.equal(view.answer(key(priv('c1')), 1, index)?.an, 1);
      await store.commitClusterAnswers({ upserts: [{ ...answers[0], addresses: ['10.96.0.99'] } as ClusterAnswer], deletes: [{ cluster: 'c2', namespace: 'prod', service: 'nginx' }] });
      const deadline = Date.now() + 3000;
      const size = () => view.size;
      while (size() !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(view.size, 1);
      assert.ok(view.answer(key(priv('c1')), 1, index)?.body.includes(Buffer.from([10, 96, 0, 99])));
      assert.equal(view.answer(key(priv('c2')), 1, index)?.rcode, 3, 'deleted: NXDOMAIN');
      f.stop();
    } finally {
      await store.close();
    }
  });
});

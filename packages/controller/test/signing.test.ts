/**
 * DNSSEC in the zone writer: the RecordsReconciler with ZoneSigning over a
 * real store signs the zone in one commit, re-signs only what a flap changes
 * (plus the SOA), and goes unsigned only after the DS is confirmed gone. The
 * stored zone is checked with dnssec-verify and ldns-verify-zone.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { soaText } from '@fedns/dnssec';
import { openStore, type Store } from '@fedns/store';
import { RecordsReconciler } from '../src/records.js';
import { ZoneSigning } from '../src/signing.js';

const federation = { name: 'myfed', zone: 'example.com.' };
const zone = {
  zone: 'example.com.',
  soa: { mname: 'ns1.example.com.', rname: 'hostmaster.example.com.', refresh: 3600, retry: 600, expire: 604800, minimum: 30, ttl: 3600 },
  nameservers: [{ name: 'ns1.example.com.', addresses: ['127.0.0.1'] }],
};

async function seeded(): Promise<Store> {
  const store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'fedns-sign-')) });
  for (const [c, region, z] of [['c1', 'us-east1', 'us-east1-b'], ['c2', 'europe-west1', 'europe-west1-b']] as const) {
    await store.createObject({ kind: 'clusters', namespace: '', name: c, uid: `u-${c}`, object: { metadata: { name: c }, status: { region, zones: [z] } } });
  }
  for (const name of ['nginx', 'api']) {
    const object = { metadata: { name, namespace: 'prod', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } };
    await store.createObject({ kind: 'services', namespace: 'prod', name, uid: `u-${name}`, object });
    for (const [i, c] of ['c1', 'c2'].entries()) {
      await store.putShard({ cluster: c, namespace: 'prod', service: name, addresses: [`192.0.2.${10 + i}`], readyEndpoints: 1, healthy: true, since: '2026-01-01T00:00:00Z', message: '' });
    }
  }
  return store;
}

async function verify(store: Store): Promise<string> {
  const snap = await store.zoneSnapshot();
  const lines = [`example.com. 3600 IN SOA ${soaText(zone.soa, snap.soaSerial)}`, 'example.com. 3600 IN NS ns1.example.com.', 'ns1.example.com. 3600 IN A 127.0.0.1'];
  for (const rs of snap.recordSets) for (const d of rs.data) lines.push(`${rs.name} ${rs.type === 'RRSIG' ? d.split(' ')[3] : rs.ttl} IN ${rs.type} ${d}`);
  const file = join(mkdtempSync(join(tmpdir(), 'fedns-sign-zone-')), 'zone');
  writeFileSync(file, `${lines.join('\n')}\n`);
  execFileSync('dnssec-verify', ['-q', '-z', '-o', 'example.com', file]);
  execFileSync('ldns-verify-zone', [file]);
  return file;
}

const signing = (store: Store, enabled: boolean, clock?: () => number) => new ZoneSigning({ store, zone, enabled, clock, rollover: { propagation: 1, dnskeyTtl: 1, maxZoneTtl: 1, parentDs: 1 } });

test('switching on signs the zone in one commit; a flap re-signs what changed and the SOA', async () => {
  const store = await seeded();
  const dnssec = signing(store, true);
  const rec = new RecordsReconciler({ store, federation, dnssec });
  rec.enqueueAll('start');
  const first = await rec.flush();
  assert.ok(first?.added.some((r) => r.type === 'DNSKEY'), 'DNSKEY in the first commit');
  assert.ok(first?.added.some((r) => r.type === 'NSEC3') && first.added.some((r) => r.type === 'RRSIG'));
  assert.deepEqual(await store.dnssecState('example.com.'), { signed: true });
  await verify(store);

  const shard = await store.getShard('c1', 'prod', 'nginx');
  assert.ok(shard);
  await store.putShard({ ...shard, healthy: false, readyEndpoints: 0 });
  rec.enqueue('prod', 'nginx', 'flap');
  const flap = await rec.flush();
  assert.ok(flap);
  const sigs = flap.added.filter((r) => r.type === 'RRSIG');
  assert.ok(sigs.some((r) => r.name === 'example.com.' && r.data.some((d) => d.startsWith('SOA '))), 'the SOA signed for the new serial');
  assert.ok(flap.added.length < 20, `a flap's commit stays small (${flap.added.length} sets)`);
  await verify(store);
  assert.equal((await rec.flush()) ?? undefined, undefined, 'nothing more to do');
  rec.stop();
  await store.close();
});

test('a restart (a new signer loaded from the store) re-signs nothing; switching off waits for the DS to be withdrawn', async () => {
  const store = await seeded();
  let now = Math.floor(Date.now() / 1000);
  const on = new RecordsReconciler({ store, federation, dnssec: signing(store, true, () => now) });
  on.enqueueAll('start');
  await on.flush();
  on.stop();

  const again = new RecordsReconciler({ store, federation, dnssec: signing(store, true, () => now) });
  again.enqueueAll('restart');
  assert.equal(await again.flush(), undefined, 'a full check of a signed zone changes nothing');
  again.stop();

  const offSigning = signing(store, false, () => now);
  const off = new RecordsReconciler({ store, federation, dnssec: offSigning });
  await off.checkSigning();
  const cds = await off.flush();
  assert.ok(cds?.added.some((r) => r.type === 'CDS' && r.data[0] === '0 0 0 00'), 'RFC 8078 CDS delete published');
  assert.ok(cds?.added.some((r) => r.type === 'CDNSKEY' && r.data[0] === '0 3 0 AA=='));
  await verify(store);
  now += 10;
  await off.checkSigning();
  assert.equal(await off.flush(), undefined, 'still signed: the DS is not confirmed gone');
  const st = (await store.dnssecState<{ withdraw: { since: number } }>('example.com.')) as { withdraw: { since: number } };
  await store.putDnssecState('example.com.', { ...st, withdraw: { ...st.withdraw, dsGone: now } });
  now += 2;
  await off.checkSigning();
  const last = await off.flush();
  assert.ok(last);
  const left = (await store.listRecordSets()).filter((r) => ['RRSIG', 'NSEC3', 'DNSKEY', 'NSEC3PARAM', 'CDS', 'CDNSKEY'].includes(r.type));
  assert.deepEqual(left, [], 'every DNSSEC record gone in one commit');
  assert.deepEqual(await store.dnssecState('example.com.'), { signed: false });
  off.stop();
  await store.close();
});

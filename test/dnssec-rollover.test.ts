/**
 * Issue 15: a CSK rollover runs to the end on a compressed clock (RFC 7583
 * intervals of a second or two, the writer checking every 200 ms) while delv
 * validates throughout — with the old DS until the parent switches, with the
 * old and the new DS while caches may hold either, with the new one after.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DnssecState } from '@fedns/dnssec';
import { anchorFile, delv, zoneDs } from './dnssec-helpers.js';
import { dig, type FednsProcess, freePort, openTestStore, runFedns, seedWorkedExample, spawnFedns, tempDir, waitFor, waitReady } from './helpers.js';

const P = 'nginx.prod.myfed.svc';
/** The parent's DS TTL plus propagation, seconds: how long after the DS change a cache may still hold the old DS. */
const PARENT_DS = 6;
const Z = 'example.com';
const dir = tempDir('fedns-dnssec-roll-');
const dataDir = join(dir, 'data');
let serve: FednsProcess;
let port = 0;

before(async () => {
  const apiPort = await freePort();
  port = await freePort();
  const config = join(dir, 'fedns.yaml');
  writeFileSync(config, `dnssecRollover:\n  propagation: 1\n  dnskeyTtl: 1\n  maxZoneTtl: 1\n  parentDs: ${PARENT_DS}\n`);
  serve = spawnFedns(['serve', '--dnssec', '--dnssec-check', '200ms', '--config', config, '--data-dir', dataDir, '--federation', 'myfed', '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${port}`, '--cluster-grace', '600s', '--log-level', 'info']);
  await waitReady(`http://127.0.0.1:${apiPort}`, serve);
  await seedWorkedExample(dataDir, `http://127.0.0.1:${apiPort}`);
  await waitFor('the signed chain', async () => (await dig(port, `${P}.asia-east1-a.asia-east1.${Z}`, 'A', ['+dnssec'])).answer.filter((r) => r.type === 'RRSIG').length === 3);
});

after(async () => {
  await serve?.stop();
});

async function state(): Promise<DnssecState> {
  const store = await openTestStore(dataDir, { readonly: true });
  try {
    return ((await store.dnssecState<DnssecState>('example.com.')) ?? { signed: false }) as DnssecState;
  } finally {
    await store.close();
  }
}

test('a CSK rollover runs to the end and validation never fails along the way', async () => {
  const [oldDs] = await zoneDs(dataDir);
  assert.ok(oldDs);
  const oldAnchor = anchorFile(dir, [oldDs], 'old.conf');
  // What validators may hold at each moment: the old DS, then either, then the new one.
  let holding: string[] = [oldAnchor];
  let checks = 0;
  const failures: string[] = [];
  let running = true;
  const names: [string, string][] = [[`${P}.${Z}`, 'A'], [`${P}.asia-east1-a.asia-east1.${Z}`, 'A'], [`${P}.us-west1.${Z}`, 'A'], [`svc.${Z}`, 'A']];
  const loop = (async () => {
    while (running) {
      for (const anchors of holding) {
        const [q, t] = names[checks % names.length] as [string, string];
        const r = await delv(port, anchors, q, t);
        checks++;
        if (!r.validated) failures.push(`${q} ${t} with ${anchors}:\n${r.out}`);
      }
    }
  })();

  try {
    await rollover(oldDs, oldAnchor, (h) => {
      holding = h;
    });
  } finally {
    running = false;
    await loop;
  }
  assert.deepEqual(failures, [], `validation failed during the rollover (${failures.length} of ${checks})`);
  assert.ok(checks > 10, `${checks} validations along the way`);
  assert.ok(!(await delv(port, oldAnchor, `${P}.${Z}`)).validated, 'the old key is gone');
});

/** DS records compared without the spaces dig puts in long digests. */
const dsKey = (d: string) => {
  const f = d.trim().split(/\s+/);
  return `${f.slice(0, 3).join(' ')} ${f.slice(3).join('').toUpperCase()}`;
};

/** Drives the rollover: start, wait for the new key, switch the "parent's" DS, confirm it, wait for the end. */
async function rollover(oldDs: string, oldAnchor: string, setHolding: (anchors: string[]) => void): Promise<void> {
  const start = await runFedns(['dnssec', 'rollover', '--data-dir', dataDir]);
  assert.equal(start.code, 0, start.stderr);
  await waitFor('the new key published', async () => (await state()).rollover?.phase === 'published', 10_000, 100);
  await waitFor('the new key active', async () => (await state()).rollover?.phase === 'active', 15_000, 100);
  const cds = await dig(port, Z, 'CDS');
  const both = await zoneDs(dataDir);
  assert.equal(both.length, 2, 'both keys in the DNSKEY RRset');
  const newDs = both.find((d) => d !== oldDs) as string;
  assert.equal(dsKey(cds.answer[0]?.data ?? ''), dsKey(newDs), 'CDS names the new key');
  const newAnchor = anchorFile(dir, [newDs], 'new.conf');
  // The parent switches its DS; caches may hold either for a while.
  setHolding([oldAnchor, newAnchor]);
  await new Promise((r) => setTimeout(r, 1000));
  const seen = await runFedns(['dnssec', 'rollover', '--ds-seen', '--data-dir', dataDir]);
  assert.equal(seen.code, 0, seen.stderr);
  // The parent's old DS leaves every cache within PARENT_DS of the change the writer recorded: validators hold the
  // new one alone from then on, and the old key is retired no earlier. Stop asking with the old DS well before
  // (a delv on a busy machine takes a while).
  const dsSeen = (await state()).rollover?.dsSeen ?? (await state()).dsSeen;
  assert.ok(dsSeen, 'the writer recorded the DS change');
  await new Promise((r) => setTimeout(r, Math.max(0, (dsSeen + PARENT_DS / 2) * 1000 - Date.now())));
  setHolding([newAnchor]);
  await waitFor('the rollover to finish', async () => (await state()).rollover === undefined && ((await state()).history?.length ?? 0) === 1, 20_000, 100);
  await waitFor('the DNSKEY RRset to hold the new key alone', async () => (await zoneDs(dataDir)).length === 1, 5000, 100);
  assert.deepEqual(await zoneDs(dataDir), [newDs]);
  assert.equal((await dig(port, Z, 'CDS')).answer.length, 0, 'CDS withdrawn');
  await new Promise((r) => setTimeout(r, 1000));
}

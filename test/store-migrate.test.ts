/**
 * Issue 11 item 2: `fedns store migrate` moves an installation to another store
 * through the store interface — objects, credentials, shards, the zone with its
 * serial and journal — and `fedns serve` on the new store carries on: the same
 * answers, the same history, IXFR from the old serial, the next serial above.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { dig, freePort, lines, openTestStore, runFedns, seedWorkedExample, spawnFedns, tempDir, waitFor, waitReady } from './helpers.js';

const P = 'nginx.prod.myfed.svc';

test('migrate a SQLite installation into another store: serve carries on from it', async () => {
  const dir = tempDir();
  const oldDir = join(dir, 'old');
  const [apiPort, dnsPort] = [await freePort(), await freePort()];
  const args = (dataDir: string, store?: string) => ['--data-dir', dataDir, ...(store ? ['--store', store] : []), '--federation', 'myfed', '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--log-level', 'warn'];
  let serve = spawnFedns(['serve', ...args(oldDir)]);
  try {
    await waitReady(`http://127.0.0.1:${apiPort}`, serve);
    await seedWorkedExample(oldDir, `http://127.0.0.1:${apiPort}`);
    await waitFor('the worked example published', async () => (await dig(dnsPort, `${P}.example.com.`)).answer.length === 2);
    const names = [`${P}.example.com.`, `${P}.us-east1-c.us-east1.example.com.`, `${P}.asia-east1-a.asia-east1.example.com.`];
    const before = await Promise.all(names.map(async (n) => lines(await dig(dnsPort, n))));
    const serialBefore = Number((await dig(dnsPort, 'example.com.', 'SOA')).answer[0]?.data.split(' ')[2]);

    // A running writer is refused: the copy must be consistent.
    const target = `sqlite:${join(dir, 'new', 'fedns.db')}`;
    const busy = await runFedns(['store', 'migrate', '--from', `sqlite:${join(oldDir, 'fedns.db')}`, '--to', target, '--data-dir', oldDir]);
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, /already written by fedns serve/);
    await serve.stop();

    const src = await openTestStore(oldDir, { readonly: true });
    const lastActor = (await src.objectHistory('services', 'prod', 'nginx', 1))[0]?.actor;
    await src.close();
    const moved = await runFedns(['store', 'migrate', '--from', `sqlite:${join(oldDir, 'fedns.db')}`, '--to', target, '--data-dir', oldDir]);
    assert.equal(moved.code, 0, moved.stderr);
    assert.match(moved.stderr, /read 1 services/);
    assert.match(moved.stderr, /read the zone: serial \d+, \d+ record sets, \d+ journal entries/);
    assert.match(moved.stdout, /migrated 1 services, 4 clusters, \d+ namespaces, 4 shards, \d+ record sets and \d+ journal entries/);
    // Into a store that holds data already: refused.
    const again = await runFedns(['store', 'migrate', '--from', `sqlite:${join(oldDir, 'fedns.db')}`, '--to', target, '--data-dir', oldDir]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /migrate into an empty store/);

    serve = spawnFedns(['serve', ...args(join(dir, 'new'), target)]);
    await waitReady(`http://127.0.0.1:${apiPort}`, serve);
    assert.deepEqual(await Promise.all(names.map(async (n) => lines(await dig(dnsPort, n)))), before, 'the same answers');
    const serialAfter = Number((await dig(dnsPort, 'example.com.', 'SOA')).answer[0]?.data.split(' ')[2]);
    assert.equal(serialAfter, serialBefore, 'the same serial: secondaries carry on by IXFR');
    const history = await runFedns(['history', 'prod/nginx', '--data-dir', join(dir, 'new'), '--store', target, '--federation', 'myfed']);
    assert.match(history.stdout, /service prod\/nginx created by system:anonymous/, 'the journal came along');
    const store = await openTestStore(join(dir, 'new'), { readonly: true });
    try {
      const svc = await store.getObject('services', 'prod', 'nginx');
      assert.ok(svc, 'the service, with its resourceVersion');
      assert.equal((await store.objectHistory('services', 'prod', 'nginx', 1))[0]?.actor, lastActor, 'who last wrote it, as the source had it');
    } finally {
      await store.close();
    }
  } finally {
    await serve.stop();
  }
});

test('a PostgreSQL store that cannot be reached: one line naming it, exit 1, for a refused and a silent server', async () => {
  const { createServer } = await import('node:net');
  const refused = await freePort();
  // A server that accepts and never answers: pg gives up after its connect timeout (5 s).
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentPort = (silent.address() as { port: number }).port;
  try {
    for (const [port, message] of [
      [refused, /^fedns: store: cannot connect: .*ECONNREFUSED/],
      [silentPort, /^fedns: store: cannot connect: .*timeout/],
    ] as const) {
      const r = await runFedns(['controller', '--store', `postgres://fedns@127.0.0.1:${port}/fedns`, '--data-dir', join(tempDir('fedns-unreachable-'), 'data'), '--federation', 'myfed']);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, message);
    }
  } finally {
    silent.close();
  }
});

/**
 * Health seen from outside (issue 14): one probe of an address against real
 * sockets, the thresholds of a prober, the leader's majority over every
 * prober's fresh verdicts, and the shard reconciler combining it with
 * readiness — with a real store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ANNOTATIONS, type ProbeSpec } from '@fedns/model';
import { openStore, type Store, type StoredProbeVerdict } from '@fedns/store';
import { Registry } from 'prom-client';
import { SILENT } from '../src/logger.js';
import { controllerMetrics } from '../src/metrics.js';
import { checkAddress } from '../src/probe-check.js';
import { judgeProbes } from '../src/probe-judge.js';
import { ProbeView } from '../src/probe-view.js';
import { Prober } from '../src/prober.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const listen = (srv: Server | ReturnType<typeof createHttpServer>) => new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)));
const close = (srv: Server | ReturnType<typeof createHttpServer>) => new Promise<void>((resolve) => srv.close(() => resolve()));
const spec = (extra: Partial<ProbeSpec> = {}): ProbeSpec => ({ protocol: 'tcp', port: 1, intervalMs: 1000, timeoutMs: 500, failureThreshold: 1, successThreshold: 1, ...extra });

describe('one probe of one address (real sockets)', () => {
  test('tcp: a listening port is ok, a closed one is refused, both say where', async () => {
    const srv = createServer((s) => s.destroy());
    const port = await listen(srv);
    const ok = await checkAddress(spec({ port }), '127.0.0.1');
    assert.equal(ok.ok, true);
    assert.equal(ok.message, `connected to 127.0.0.1:${port}`);
    await close(srv);
    const refused = await checkAddress(spec({ port }), '127.0.0.1');
    assert.deepEqual([refused.ok, refused.message], [false, `127.0.0.1:${port}: ECONNREFUSED`]);
  });

  test('http: 2xx and 3xx are ok, 5xx fails, no answer within the timeout fails', async () => {
    let code = 200;
    let hang = false;
    const srv = createHttpServer((req, res) => {
      if (hang) return; // never answers
      res.writeHead(code, { location: '/x' }).end(req.url);
    });
    const port = await listen(srv);
    const s = spec({ protocol: 'http', port, path: '/healthz', timeoutMs: 300 });
    assert.deepEqual(await checkAddress(s, '127.0.0.1').then((r) => [r.ok, r.message]), [true, `GET http://127.0.0.1:${port}/healthz: 200`]);
    code = 302;
    assert.equal((await checkAddress(s, '127.0.0.1')).ok, true);
    code = 503;
    assert.deepEqual(await checkAddress(s, '127.0.0.1').then((r) => [r.ok, r.message]), [false, `GET http://127.0.0.1:${port}/healthz: 503`]);
    hang = true;
    const t0 = Date.now();
    const timedOut = await checkAddress(s, '127.0.0.1');
    assert.equal(timedOut.ok, false);
    assert.match(timedOut.message, /no answer within 300 ms/);
    assert.ok(Date.now() - t0 < 1000);
    srv.closeAllConnections();
    await close(srv);
  });
});

const v = (prober: string, ok: boolean, extra: Partial<StoredProbeVerdict> = {}): StoredProbeVerdict => ({
  prober,
  cluster: 'c1',
  namespace: 'default',
  service: 'web',
  target: 'tcp:443',
  addresses: ['192.0.2.1'],
  ok,
  since: '2026-01-01T00:00:00Z',
  message: ok ? 'connected' : 'refused',
  proberAgeMs: 100,
  ...extra,
});

describe('the leader judges a shard failed when more than half of the fresh verdicts say so', () => {
  const judge = (vs: StoredProbeVerdict[]) => judgeProbes(vs, 'tcp:443', ['192.0.2.1']);
  test('majorities', () => {
    assert.equal(judge([]), undefined, 'no verdict: the probes say nothing');
    assert.equal(judge([v('a', false)])?.failed, true);
    assert.equal(judge([v('a', false), v('b', true)])?.failed, false, 'one of two is not more than half');
    assert.equal(judge([v('a', false), v('b', false)])?.failed, true);
    const two = judge([v('a', false), v('b', false), v('c', true)]);
    assert.deepEqual([two?.failed, two?.failing, two?.counted], [true, 2, 3]);
    assert.equal(two?.message, 'probe tcp:443 failed from 2 of 3 controller(s) (a: refused; b: refused)');
  });
  test('stale probers, another probe, other addresses do not count', () => {
    assert.equal(judge([v('a', false, { proberAgeMs: 60_000 })]), undefined);
    assert.equal(judge([v('a', false), v('b', true), v('c', true, { proberAgeMs: 60_000 })])?.failed, false);
    assert.equal(judge([v('a', false, { target: 'tcp:80' })]), undefined);
    assert.equal(judge([v('a', false, { addresses: ['192.0.2.9'] })]), undefined);
    assert.equal(judgeProbes([v('a', false, { addresses: ['192.0.2.2', '192.0.2.1'] })], 'tcp:443', ['192.0.2.1', '192.0.2.2'])?.failed, true, 'address order does not matter');
  });
});

async function storeWithProbedService(annotations: Record<string, string>, shards: { cluster: string; addresses: string[] }[]): Promise<Store> {
  const store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'fedns-probe-')) });
  for (const c of shards) await store.createObject({ kind: 'clusters', namespace: '', name: c.cluster, uid: `u-${c.cluster}`, object: { metadata: { name: c.cluster } } });
  await store.createObject({ kind: 'services', namespace: 'default', name: 'web', uid: 'u-web', object: { metadata: { name: 'web', namespace: 'default', annotations } } });
  for (const s of shards) await store.putShard({ ...s, namespace: 'default', service: 'web', readyEndpoints: 1, healthy: true, since: new Date().toISOString(), message: '' });
  return store;
}

describe('a prober', () => {
  test('applies the thresholds, records only its own verdict rows, follows shards and annotations', async () => {
    const store = await storeWithProbedService({ [ANNOTATIONS.probe]: 'tcp:443', [ANNOTATIONS.probeInterval]: '1s', [ANNOTATIONS.probeFailureThreshold]: '2', [ANNOTATIONS.probeSuccessThreshold]: '2' }, [
      { cluster: 'c1', addresses: ['192.0.2.1'] },
      { cluster: 'c2', addresses: ['192.0.2.2', '2001:db8::2'] },
    ]);
    const down = new Set<string>();
    const probed: string[] = [];
    const before = { rv: await store.revision(), zone: (await store.zoneSnapshot()).seq, shards: JSON.stringify(await store.listShards()) };
    const prober = new Prober({
      store,
      identity: 'ctrl-a',
      metrics: controllerMetrics(new Registry()),
      log: SILENT,
      heartbeatMs: 200,
      check: async (_s, address) => {
        probed.push(address);
        return { ok: !down.has(address), message: down.has(address) ? `${address}: ECONNREFUSED` : `connected to ${address}`, ms: 1 };
      },
    });
    const verdicts = async () => Object.fromEntries((await store.probeVerdicts('default', 'web')).map((x) => [x.cluster, [x.prober, x.ok, x.message]]));
    try {
      await prober.start();
      await waitUntil(async () => (await store.probeVerdicts()).length === 2);
      assert.deepEqual(await verdicts(), { c1: ['ctrl-a', true, 'connected to 192.0.2.1'], c2: ['ctrl-a', true, 'connected to 192.0.2.2'] });
      assert.deepEqual([...new Set(probed)].sort(), ['192.0.2.1', '192.0.2.2', '2001:db8::2'], 'every address of every shard');
      // One address of c2 down: failed only after two rounds in a row (failure threshold 2), ~1 s apart.
      down.add('2001:db8::2');
      const t0 = Date.now();
      await waitUntil(async () => (await verdicts()).c2?.[1] === false, 5000);
      const took = Date.now() - t0;
      assert.ok(took >= 900, `failed after ${took} ms, not before the second failing round`);
      assert.deepEqual((await verdicts()).c2, ['ctrl-a', false, '2001:db8::2: ECONNREFUSED']);
      down.clear();
      await waitUntil(async () => (await verdicts()).c2?.[1] === true, 5000);
      // Its heartbeat keeps it fresh.
      await sleep(500);
      assert.ok(((await store.probeVerdicts())[0]?.proberAgeMs ?? 9999) < 400);
      // A shard gone: its verdict goes; the probe annotation removed: every verdict goes.
      await store.deleteShard('c1', 'default', 'web');
      await waitUntil(async () => (await verdicts()).c1 === undefined, 3000);
      const svc = await store.getObject('services', 'default', 'web');
      await store.updateObject({ kind: 'services', namespace: 'default', name: 'web', uid: 'u-web', object: { metadata: { name: 'web', namespace: 'default', annotations: {} } } }, svc?.resourceVersion ?? 0);
      await prober.serviceChanged('default', 'web');
      await waitUntil(async () => (await store.probeVerdicts()).length === 0, 3000);
      // It wrote nothing else: objects, zone and shards as the test left them.
      assert.equal(await store.revision(), (before.rv ?? 0) + 1, 'only the test’s own service update');
      assert.equal((await store.zoneSnapshot()).seq, before.zone);
    } finally {
      await prober.stop();
      await store.close();
    }
  });
});

describe('the leader’s view over several probers', () => {
  test('majority of fresh verdicts; a prober gone quiet stops counting; changes are handed on', async () => {
    const store = await storeWithProbedService({ [ANNOTATIONS.probe]: 'tcp:443' }, [{ cluster: 'c1', addresses: ['192.0.2.1'] }]);
    const changed: string[][] = [];
    const view = new ProbeView({ store, metrics: controllerMetrics(new Registry()), log: SILENT, pollMs: 50, onChanged: (keys) => changed.push(keys) });
    const verdict = (ok: boolean) => ({ cluster: 'c1', namespace: 'default', service: 'web', target: 'tcp:443', addresses: ['192.0.2.1'], ok, since: new Date().toISOString(), message: ok ? 'ok' : 'refused' });
    try {
      await store.recordProbes('a', [verdict(false)], []);
      await store.recordProbes('b', [verdict(true)], []);
      await view.start();
      assert.equal(view.judge('c1', 'default', 'web', 'tcp:443', ['192.0.2.1'])?.failed, false, '1 of 2');
      assert.deepEqual(changed, [['c1/default/web']]);
      await store.recordProbes('c', [verdict(false)], []);
      await waitUntil(async () => view.judge('c1', 'default', 'web', 'tcp:443', ['192.0.2.1'])?.failed === true, 2000);
      assert.equal(changed.length, 2, 'the revision moved: read and handed on');
    } finally {
      view.stop();
      await store.close();
    }
  });
});

async function waitUntil(pred: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms`);
    await sleep(25);
  }
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkQueue } from '../src/queue.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

test('a key queued many times is reconciled once; keys run concurrently but a key never runs twice at once', async () => {
  const seen: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const perKey = new Map<string, number>();
  const q = new WorkQueue({
    name: 't',
    reconcile: async (key) => {
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      assert.equal(perKey.get(key), 1, `${key} already running`);
      running++;
      maxRunning = Math.max(maxRunning, running);
      seen.push(key);
      await tick(5);
      running--;
      perKey.set(key, (perKey.get(key) ?? 1) - 1);
    },
  });
  for (let i = 0; i < 5; i++) for (const k of ['a', 'b', 'c']) q.add(k);
  await q.whenIdle();
  assert.deepEqual(seen.sort(), ['a', 'b', 'c']);
  assert.equal(maxRunning, 3);
  // Added while running: processed once more afterwards, never concurrently.
  q.add('a');
  await tick(1);
  q.add('a');
  q.add('a');
  await q.whenIdle();
  assert.equal(seen.filter((k) => k === 'a').length, 3);
});

test('a failing key is retried with growing delays, reported, and never escapes; it recovers', async () => {
  let calls = 0;
  const errors: { attempt: number; retryInMs: number }[] = [];
  const recovered: number[] = [];
  const q = new WorkQueue({
    name: 't',
    baseDelayMs: 10,
    reconcile: () => {
      calls++;
      if (calls <= 3) throw new Error(`boom ${calls}`);
    },
    onError: (_k, _e, attempt, retryInMs) => errors.push({ attempt, retryInMs }),
    onRecovered: (_k, n) => recovered.push(n),
  });
  q.add('k');
  const deadline = Date.now() + 2000;
  while (calls < 4 && Date.now() < deadline) await tick(5);
  assert.equal(calls, 4);
  assert.deepEqual(errors, [
    { attempt: 1, retryInMs: 10 },
    { attempt: 2, retryInMs: 20 },
    { attempt: 3, retryInMs: 40 },
  ]);
  assert.deepEqual(recovered, [3]);
  q.stop();
});

test('a reconciler asks to look again later instead of keeping a timer', async () => {
  const at: number[] = [];
  const q = new WorkQueue({
    name: 't',
    reconcile: () => {
      at.push(Date.now());
      return at.length < 2 ? { requeueAfterMs: 30 } : undefined;
    },
  });
  q.add('k');
  await tick(80);
  assert.equal(at.length, 2);
  assert.ok((at[1] ?? 0) - (at[0] ?? 0) >= 25, 'waited for the requeue');
  // An earlier request for the same key wins over a later one.
  q.addAfter('x', 1000);
  q.addAfter('x', 10);
  q.stop();
});

test('keys from a sweep wait behind keys an event queued; a paused queue collects and runs nothing until resumed', async () => {
  const seen: string[] = [];
  const q = new WorkQueue({ name: 't', concurrency: 1, paused: true, reconcile: (key) => void seen.push(key) });
  for (let i = 0; i < 5; i++) q.add(`sweep-${i}`, 'low');
  q.add('event-a');
  q.add('sweep-3'); // an event for a key the sweep also queued: ahead with the others
  q.add('event-b');
  q.add('event-a', 'low'); // already queued normally: stays ahead
  await tick(20);
  assert.deepEqual(seen, [], 'paused: nothing runs');
  assert.equal(q.depth, 7);
  q.resume();
  await q.whenIdle();
  assert.deepEqual(seen, ['event-a', 'sweep-3', 'event-b', 'sweep-0', 'sweep-1', 'sweep-2', 'sweep-4']);
  q.pause();
  q.add('later');
  await tick(20);
  assert.equal(seen.length, 7);
  q.resume();
  await q.whenIdle();
  assert.equal(seen.at(-1), 'later');
});

test('whenUrgentDone: resolves once every key an event queued has run, while a sweep’s keys still wait', async () => {
  const done: string[] = [];
  const q = new WorkQueue({ name: 't', concurrency: 2, paused: true, reconcile: async (key) => {
    await tick(10);
    done.push(key);
  } });
  for (let i = 0; i < 6; i++) q.add(`sweep-${i}`, 'low');
  q.add('event-a');
  q.add('event-b');
  q.add('event-c');
  const urgent = q.whenUrgentDone();
  q.resume();
  await urgent;
  assert.deepEqual(done.slice(0, 3).sort(), ['event-a', 'event-b', 'event-c']);
  assert.ok(done.length < 9, 'the sweep is not waited for');
  await q.whenIdle();
  assert.equal(done.length, 9);
});

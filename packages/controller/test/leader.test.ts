/**
 * Leader election over a real store's leases (SQLite here; the PostgreSQL
 * engine passes the same lease conformance tests, and the chaos tests run
 * this elector against it end to end).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Fence, openStore, type Store } from '@fedns/store';
import { LeaderElector } from '../src/leader.js';

// Generous against a loaded machine: a renewal late by a second must not look like a lost lease.
const TIMING = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 100 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

function candidate(store: Store, identity: string) {
  const events: string[] = [];
  let fence: Fence | undefined;
  const elector = new LeaderElector({
    store,
    lease: 'test-lease',
    identity,
    timing: TIMING,
    onStartedLeading: async (f) => {
      fence = f;
      events.push(`lead ${f.epoch}`);
    },
    onStoppedLeading: async (reason) => {
      fence = undefined;
      events.push(`stop: ${reason}`);
    },
  });
  return { elector, events, fence: () => fence };
}

/** The store, as a process sees it that is partitioned or killed once `hang()` is called: lease calls never answer. */
function hangable(store: Store): { store: Store; hang(): void } {
  let hung = false;
  const proxy = new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      if (prop === 'acquireLease' || prop === 'releaseLease' || prop === 'readLease') return (...args: unknown[]) => (hung ? new Promise(() => {}) : v.apply(target, args));
      return v.bind(target);
    },
  });
  return { store: proxy, hang: () => (hung = true) };
}

async function withStore(fn: (s: Store) => Promise<void>): Promise<void> {
  const store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'fedns-leader-')) });
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

test('one candidate leads; when it stops, the other takes over at a higher epoch at once', () =>
  withStore(async (store) => {
    const a = candidate(store, 'a');
    const b = candidate(store, 'b');
    a.elector.start();
    await until('a leads', () => a.fence() !== undefined);
    b.elector.start();
    await sleep(200);
    assert.equal(b.fence(), undefined, 'b stands by while a renews');
    assert.equal(b.elector.status().holder, 'a');
    const first = a.fence()?.epoch ?? 0;
    const t0 = Date.now();
    await a.elector.stop();
    await until('b leads', () => b.fence() !== undefined);
    assert.ok(Date.now() - t0 < TIMING.leaseDurationMs, 'a released its lease: no wait for expiry');
    assert.ok((b.fence()?.epoch ?? 0) > first);
    assert.deepEqual(a.events, [`lead ${first}`, 'stop: shutting down']);
    await b.elector.stop();
  }));

test('a leader whose renewals hang stops acting at the renew deadline, before its lease could be taken', () =>
  withStore(async (store) => {
    const stuck = hangable(store);
    const a = candidate(stuck.store, 'a');
    a.elector.start();
    await until('a leads', () => a.fence() !== undefined);
    const epoch = a.fence()?.epoch ?? 0;
    stuck.hang();
    const t0 = Date.now();
    await until('a stops', () => a.fence() === undefined, 3000);
    const took = Date.now() - t0;
    assert.ok(took >= TIMING.renewDeadlineMs - 150 && took < TIMING.leaseDurationMs, `stopped after ${took} ms: at the renew deadline, before the lease ends`);
    assert.match(a.events.at(-1) ?? '', /not renewed for 1500 ms/);
    // The lease outlives the step-down; a rival takes it only once it expires, at a higher epoch.
    const b = candidate(store, 'b');
    b.elector.start();
    await until('b leads', () => b.fence() !== undefined);
    assert.ok(Date.now() - t0 >= TIMING.leaseDurationMs - 100, 'not before the lease expired');
    assert.equal(b.fence()?.epoch, epoch + 1);
    await b.elector.stop();
  }));

test('a candidate restarted under the same identity inherits nothing: it waits for the lease to expire and leads at a new epoch', () =>
  withStore(async (store) => {
    const killable = hangable(store);
    const first = candidate(killable.store, 'same');
    first.elector.start();
    await until('first leads', () => first.fence() !== undefined);
    const epoch = first.fence()?.epoch ?? 0;
    // kill -9: from now on it neither renews nor releases.
    killable.hang();
    const died = Date.now();
    const second = candidate(store, 'same');
    second.elector.start();
    await sleep(TIMING.leaseDurationMs / 3);
    assert.equal(second.fence(), undefined, 'the same identity without the epoch is not a renewal');
    await until('second leads', () => second.fence() !== undefined, 5000);
    assert.ok(Date.now() - died >= TIMING.leaseDurationMs - 150, 'only once the lease expired');
    assert.equal(second.fence()?.epoch, epoch + 1);
    await second.elector.stop();
  }));

test('deposed: a leader told its fence was refused stops acting at once', () =>
  withStore(async (store) => {
    const a = candidate(store, 'a');
    a.elector.start();
    await until('a leads', () => a.fence() !== undefined);
    a.elector.deposed('the store refused this epoch');
    await until('a stops', () => a.fence() === undefined, 500);
    assert.equal(a.events.at(-1), 'stop: the store refused this epoch');
    await a.elector.stop();
  }));

test('a standby tries again the moment the lease expires, not up to a retry period later', () =>
  withStore(async (store) => {
    const timing = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 1400 };
    const killable = hangable(store);
    const mk = (s: Store, identity: string) => {
      let fence: Fence | undefined;
      const elector = new LeaderElector({ store: s, lease: 'expiry', identity, timing, onStartedLeading: async (f) => void (fence = f), onStoppedLeading: async () => void (fence = undefined) });
      return { elector, fence: () => fence };
    };
    const a = mk(killable.store, 'a');
    a.elector.start();
    await until('a leads', () => a.fence() !== undefined);
    const b = mk(store, 'b');
    b.elector.start();
    await sleep(300);
    killable.hang();
    const lease = await store.readLease('expiry');
    const expiresIn = lease?.remainingMs ?? 0;
    const t0 = Date.now();
    await until('b leads', () => b.fence() !== undefined, 5000);
    const late = Date.now() - t0 - expiresIn;
    assert.ok(late < 400, `b led ${late} ms after the expiry (retry period ${timing.retryPeriodMs} ms)`);
    await b.elector.stop();
  }));

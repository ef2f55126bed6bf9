/**
 * The store conformance suite (issue 11): every behaviour of the Store
 * interface, written only against the interface, run on every engine.
 *
 *   storeConformance('postgres', () => PostgresStore.open({ url, … }), { fencing: true, leases: true, objectLogSize: 200 });
 *
 * `open` opens a store on one and the same database each time it is called (a
 * second call stands for a second process: SQLite reopens the same file). The
 * tests share that database: each uses names of its own and asserts relative to
 * what it found, and they run one after another. Behaviours an engine does not
 * have by construction (SQLite's single writer: no leases, no fences) are
 * switched off in `opts` and reported as skipped with the reason.
 */
import { describe } from 'node:test';
import { answerTests } from './conformance/answers.js';
import { controlTests } from './conformance/control.js';
import { dnssecTests } from './conformance/dnssec.js';
import { feedTests } from './conformance/feed.js';
import type { ConformanceOptions, Opener } from './conformance/helpers.js';
import { leaseTests } from './conformance/leases.js';
import { objectTests } from './conformance/objects.js';
import { trafficTests } from './conformance/traffic.js';
import { zoneTests } from './conformance/zone.js';

export type { ConformanceOptions, Opener } from './conformance/helpers.js';

export function storeConformance(engine: string, open: Opener, opts: ConformanceOptions): void {
  describe(`store conformance: ${engine}`, () => {
    describe('objects', () => objectTests(open, opts));
    describe('controller state', () => controlTests(open));
    describe('zone', () => zoneTests(open));
    describe('in-cluster answers', () => answerTests(open, opts));
    describe('leases and fences', () => leaseTests(open, opts));
    describe('change feed', () => feedTests(open, opts));
    describe('traffic policy', () => trafficTests(open));
    describe('dnssec', () => dnssecTests(open, opts));
  });
}

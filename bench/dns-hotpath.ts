/**
 * `scripts/pnpm exec tsx bench/dns-hotpath.ts`: the nameserver's per-query work
 * alone, in process, without sockets — what routing by client location costs
 * on the hot path (issue 14), where a shared machine's noise cannot reach
 * (bench:dns measures it end to end with dnsperf).
 *
 * The seed federation (SERVICES services, default 1,000) is built twice by the
 * cascade: plain, and with every service routed by client location. For each,
 * every name is asked in a loop through `respond` (the function both
 * transports call): plain queries on the plain zone, and queries carrying an
 * EDNS Client Subnet on the routed zone, with client networks configured. The
 * ratio is routed+ECS over plain in answers per CPU second, per round and as
 * the median of ROUNDS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordsReconciler } from '@fedns/controller';
import type { FederationConfig } from '@fedns/model';
import { ClientLocator, type RespondContext, respond, ZoneIndex } from '@fedns/nameserver';
import { openStore } from '@fedns/store';
import { mkQuery } from '../packages/nameserver/test/helpers.js';
import { populateSeed, seedScenario } from './seed.js';

const SERVICES = Number(process.env.SERVICES ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS_PER_RUN ?? 2);

const config: FederationConfig = {
  name: seedScenario.federation,
  zone: seedScenario.zone,
  defaultTtl: 30,
  soa: { mname: `ns1.${seedScenario.zone}`, rname: `hostmaster.${seedScenario.zone}`, refresh: 3600, retry: 600, expire: 604800, minimum: 30, ttl: 3600 },
  nameservers: [{ name: `ns1.${seedScenario.zone}`, addresses: ['127.0.0.1'] }],
};

async function zone(dir: string, annotations?: Record<string, string>): Promise<ZoneIndex> {
  const store = await openStore({ dataDir: dir });
  await populateSeed(store, SERVICES, annotations);
  const reconciler = new RecordsReconciler({ store, federation: { name: seedScenario.federation, zone: seedScenario.zone } });
  reconciler.enqueueAll('bench');
  await reconciler.flush();
  const snap = await store.zoneSnapshot();
  await store.close();
  const index = new ZoneIndex(config);
  index.replaceAll(snap.soaSerial, snap.recordSets);
  index.warm();
  return index;
}

/**
 * Answers per second of this thread's CPU time (not of the wall clock: on a shared machine the
 * wall clock counts the time other processes held the core).
 */
function qps(index: ZoneIndex, queries: Buffer[], ctx: RespondContext): number {
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  const c0 = process.cpuUsage();
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) {
      respond(index, queries[n % queries.length] as Buffer, false, 0, null, ctx);
      n++;
    }
  }
  const c = process.cpuUsage(c0);
  return n / ((c.user + c.system) / 1e6);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fedns-hotpath-'));
  try {
    const plain = await zone(join(dir, 'plain'));
    const routed = await zone(join(dir, 'routed'), { 'federation.fedns.io/routing': 'nearest' });
    const names = [...new Set([...plain.recordSets()].map((r) => r.name))].filter((n) => n.includes('.svc.'));
    const ecs = { code: 8, data: Buffer.from([0, 1, 24, 0, 198, 18, 0]) };
    const plainQ = names.map((name) => mkQuery({ name, edns: {} }));
    const ecsQ = names.map((name) => mkQuery({ name, edns: { options: [ecs] } }));
    const locator = new ClientLocator([
      { cidr: '198.18.0.0/15', region: 'asia-east1' },
      { cidr: '100.64.0.0/10', region: 'europe-west1' },
    ]);
    const globals = names.filter((n) => n.split('.').length === 7).length;
    console.log(`${SERVICES} services, ${names.length} names (${globals} global names routed in the routed zone); ${ROUNDS} rounds of ${SECONDS} s each, in process`);
    const ratios: number[] = [];
    // Warm-up (JIT, every answer compiled once), not counted.
    qps(plain, plainQ, {});
    qps(routed, ecsQ, { locator, clientIp: '127.0.0.1' });
    for (let r = 0; r < ROUNDS; r++) {
      const a = r % 2 === 0 ? qps(plain, plainQ, {}) : 0;
      const b = qps(routed, ecsQ, { locator, clientIp: '127.0.0.1' });
      const c = r % 2 === 0 ? a : qps(plain, plainQ, {});
      ratios.push(b / c);
      console.log(`  round ${r + 1}: plain ${(c / 1000).toFixed(0)}k answers per CPU second, routed + ECS ${(b / 1000).toFixed(0)}k, ratio ${(b / c).toFixed(3)}`);
    }
    const s = [...ratios].sort((x, y) => x - y);
    console.log(`median ratio routed+ECS/plain ${(s[Math.floor(s.length / 2)] as number).toFixed(3)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

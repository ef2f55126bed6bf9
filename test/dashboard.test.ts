/**
 * Issue 13: the web dashboard in a real browser — Debian's Chromium driven by
 * playwright-core — against `fedns demo` over a small simulated federation
 * (HTTPS, bearer tokens). A wrong token stays on the login screen with a
 * message; the admin logs in; nginx's cascade changes within 2 s of a shard
 * failing in a simulated member; a drain from the page (with its
 * confirmation) changes the DNS answer; a read-only user gets no drain
 * buttons. A click on a service right after typing a filter opens it; a
 * failed load is retried. Screenshots go to test-artifacts/dashboard/
 * (git-ignored).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { parse } from 'yaml';
import { dig, type FednsProcess, freePort, kubeRequest, ROOT, SHARED, spawnFedns, tempDir, waitFor, waitDemoUp } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'dashboard');
const dataDir = tempDir('fedns-dashboard-');
const kubeconfig = join(dataDir, 'kubeconfig');
let demo: FednsProcess;
let browser: Browser;
let dnsPort = 0;
let ui = '';
const tokens = { admin: '', viewer: '' };
const servers = new Map<string, string>();

const SCENARIO = `federation: ops
zone: example.com.
clusters:
  - { name: c1, region: r1, zones: [r1-a], lbPool: 198.51.100.0/28 }
  - { name: c2, region: r1, zones: [r1-c], lbPool: 198.51.100.16/28 }
  - { name: c3, region: r2, zones: [r2-a], lbPool: 198.51.100.32/28 }
`;
const P = 'nginx.default.ops.svc';
const zoneName = (z: string, r: string) => `${P}.${z}.${r}.example.com.`;
const regionName = (r: string) => `${P}.${r}.example.com.`;
const addrs = async (name: string) => (await dig(dnsPort, name)).answer.filter((r) => r.type === 'A').map((r) => r.data).sort();
const sim = (cluster: string, path: string, body: unknown) =>
  fetch(`${servers.get(cluster)}/sim/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => assert.ok(r.ok, `sim ${path}`));

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1360, height: 900 } });
  return { context, page: await context.newPage() };
}

async function login(page: Page, token: string): Promise<void> {
  await page.goto(ui);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
}

/** Waits for `selector`; when it does not come, says what the page showed instead (text and a screenshot). */
async function waitOrShow(page: Page, selector: string, timeout: number): Promise<void> {
  try {
    await page.waitForSelector(selector, { timeout });
  } catch (err) {
    await shot(page, 'failed');
    console.log(`# ${page.url()} showed instead: ${(await page.innerText('body').catch((e: Error) => `(unreadable: ${e.message})`)).slice(0, 2000)}`);
    throw err;
  }
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: bash scripts/setup.sh installs Debian's chromium`);
  assert.ok(existsSync(join(ROOT, 'apps/dashboard/dist/index.html')), 'the dashboard is not built: bash scripts/setup.sh builds it');
  mkdirSync(ARTIFACTS, { recursive: true });
  const scenario = join(dataDir, 'scenario.yaml');
  writeFileSync(scenario, SCENARIO);
  dnsPort = await freePort();
  const apiPort = await freePort();
  ui = `https://127.0.0.1:${apiPort}/ui/`;
  demo = spawnFedns(['demo', '--scenario', scenario, '--data-dir', dataDir, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`, '--stabilization', '0s', '--log-level', 'warn']);
  await waitDemoUp(demo);
  for (const line of readFileSync(join(dataDir, 'tokens.csv'), 'utf8').split('\n')) {
    if (line.includes('demo-admin')) tokens.admin = line.split(',')[0] as string;
    if (line.includes('demo-viewer')) tokens.viewer = line.split(',')[0] as string;
  }
  const kc = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { name: string; cluster: { server: string } }[] };
  for (const c of kc.clusters) servers.set(c.name, c.cluster.server);
  const svc = parse(readFileSync(join(SHARED, 'scenarios/nginx.yaml'), 'utf8'));
  assert.equal((await kubeRequest(kubeconfig, '/api/v1/namespaces/default/services', { method: 'POST', body: svc })).status, 201);
  for (const c of ['c1', 'c2', 'c3']) await sim(c, 'pods/run', { namespace: 'default', labels: { run: 'nginx' }, count: 1, ready: true });
  await waitFor('nginx healthy in every cluster', async () => (await addrs(`${P}.example.com.`)).length === 3, 20000);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

test('a wrong token stays on the login screen with a message; nothing goes into the URL', async () => {
  const { context, page } = await newPage();
  await login(page, 'not-a-token');
  await page.waitForSelector('.login .error');
  assert.match(await page.textContent('.login .error') ?? '', /not accepted/);
  await shot(page, '01-login-wrong-token');
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');
  await context.close();
});

test('the admin logs in: regions, zones and clusters with Ready, Reachable, Drained', async () => {
  const { context, page } = await newPage();
  await login(page, tokens.admin);
  await page.waitForSelector('.region[data-region="r2"] .cluster[data-cluster="c3"]');
  assert.equal(await page.locator('.cluster').count(), 3);
  assert.match(await page.textContent('.cluster[data-cluster="c1"]') ?? '', /Ready True.*Reachable True.*Drained no/s);
  assert.ok(!page.url().includes(tokens.admin), 'the token is not in the URL');
  assert.match(await page.textContent('header .who') ?? '', /demo-admin/);
  await page.waitForSelector('.summary .live.on');
  await shot(page, '02-overview');
  await context.close();
});

test("nginx's cascade: a shard failing in a member changes the tree within 2 s", async () => {
  const { context, page } = await newPage();
  await login(page, tokens.admin);
  await page.click('header nav a[href="#/services"]');
  await page.fill('input[type=search]', 'ngin');
  await page.waitForSelector('tr[data-service="default/nginx"]');
  await shot(page, '03-services');
  await page.click('tr[data-service="default/nginx"] a');
  const zone = `.node[data-name="${zoneName('r1-c', 'r1')}"]`;
  // The starting state (healthy, watching): a loaded machine may take a while to get there; the 2 s bound is on the change.
  await waitOrShow(page, `${zone}[data-answer^="A "]`, 90_000);
  await waitOrShow(page, '.service .live.on', 90_000);
  await shot(page, '04-cascade-healthy');
  const started = Date.now();
  await sim('c2', 'pods/fail', { namespace: 'default', selector: 'run=nginx' });
  await page.waitForSelector(`${zone}[data-answer^="CNAME "]`, { timeout: 2000 });
  const ms = Date.now() - started;
  assert.ok(ms <= 2000, `the tree changed after ${ms} ms`);
  console.log(`# the cascade tree showed c2's failed shard ${ms} ms after the fault`);
  assert.equal(await page.getAttribute(`${zone} .shard[data-shard="c2"]`, 'data-state'), 'unhealthy');
  assert.match(await page.textContent(zone) ?? '', /no healthy shard in zone r1-c/);
  await shot(page, '05-cascade-shard-failed');
  await sim('c2', 'pods/recover', { namespace: 'default', selector: 'run=nginx' });
  await page.waitForSelector(`${zone}[data-answer^="A "]`, { timeout: 5000 });
  await page.waitForSelector('.timeline li', { timeout: 5000 });
  assert.match(await page.textContent('.timeline') ?? '', /shard c2\/default\/nginx unhealthy/);
  await context.close();
});

test('a click on a service right after typing a filter opens the service: the filter settling does not pull the page back', async () => {
  const { context, page } = await newPage();
  await login(page, tokens.admin);
  await page.click('header nav a[href="#/services"]');
  await page.waitForSelector('tr[data-service="default/nginx"]');
  // Type, then follow the link while the 250 ms filter debounce is pending, and keep the page busy past it, so that
  // the debounce runs before the click's hashchange is handled (what a loaded machine did in CI: the page went back to
  // the list). Deterministic: without the guard the hash ends up as #/services?q=ngin every time.
  await page.evaluate(async () => {
    const input = document.querySelector('input[type=search]') as HTMLInputElement;
    input.value = 'ngin';
    input.dispatchEvent(new Event('input', { bubbles: true }));
    await new Promise((r) => setTimeout(r, 100));
    window.location.hash = '#/services/default/nginx';
    for (const end = performance.now() + 400; performance.now() < end; );
  });
  await waitOrShow(page, '.service .tree .node', 10_000);
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => window.location.hash), '#/services/default/nginx');
  await context.close();
});

test('a failed load is tried again: the tree comes once the API answers, with no watch event to wake the page', async () => {
  const { context, page } = await newPage();
  let failing = true;
  let refused = 0;
  const unavailable = { status: 503, contentType: 'application/json', body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'the store is unreachable', reason: 'ServiceUnavailable', code: 503 }) };
  // The API failing (a store outage answers 503): the watches all along, so that no event can wake the page, and the
  // cascade reads until `failing` ends. Only a retry of the failed load can bring the tree.
  await page.route(/[?&]watch=1/, (route) => route.fulfill(unavailable));
  await page.route(/\/services\/nginx\/cascade$/, (route) => {
    if (!failing) return route.continue();
    refused++;
    return route.fulfill(unavailable);
  });
  await login(page, tokens.admin);
  await page.goto(`${ui}#/services/default/nginx`);
  await waitOrShow(page, '.service .error', 10_000);
  assert.match(await page.textContent('.service .error') ?? '', /the store is unreachable/);
  failing = false;
  await waitOrShow(page, '.service .tree .node', 20_000);
  assert.equal(await page.locator('.service .error').count(), 0, 'the error goes once a load succeeds');
  assert.equal(await page.locator('.service .live.on').count(), 0, 'not live while the watches fail');
  console.log(`# ${refused} cascade read(s) refused, then a retry brought the tree`);
  await context.close();
});

test('drain a cluster from the page, with a confirmation: the DNS answer changes; undrain brings it back', async () => {
  const { context, page } = await newPage();
  await login(page, tokens.admin);
  const tile = '.cluster[data-cluster="c3"]';
  await page.waitForSelector(tile);
  const before = await addrs(zoneName('r2-a', 'r2'));
  assert.equal(before.length, 1);
  await page.click(`${tile} button[data-test="drain-cluster"]`);
  await page.waitForSelector('dialog.confirm[open]');
  assert.match(await page.textContent('dialog.confirm') ?? '', /Drain cluster c3\?/);
  await shot(page, '06-drain-confirm');
  await page.click('dialog.confirm button[data-test="confirm"]');
  await waitFor('r2-a to fall back to the region, the region to the global name', async () => (await dig(dnsPort, regionName('r2'), 'CNAME')).answer[0]?.data === `${P}.example.com.`, 5000);
  assert.deepEqual(await addrs(zoneName('r2-a', 'r2')), (await addrs(`${P}.example.com.`)).filter((a) => a !== before[0]), 'answered from the other clusters now');
  await page.waitForSelector(`${tile}.drained`, { timeout: 5000 });
  assert.match(await page.textContent(tile) ?? '', /Drained cluster/);
  await shot(page, '07-drained');
  await page.click(`${tile} button[data-test="undrain-cluster"]`);
  await page.click('dialog.confirm button[data-test="confirm"]');
  await waitFor('r2-a answering from c3 again', async () => JSON.stringify(await addrs(zoneName('r2-a', 'r2'))) === JSON.stringify(before), 5000);
  await page.waitForSelector(`${tile}:not(.drained)`, { timeout: 5000 });
  await context.close();
});

test('a read-only user sees the federation but no drain buttons', async () => {
  const { context, page } = await newPage();
  await login(page, tokens.viewer);
  await page.waitForSelector('.cluster[data-cluster="c1"]');
  assert.match(await page.textContent('header .who') ?? '', /demo-viewer \(read-only\)/);
  assert.equal(await page.locator('button[data-test^="drain"]').count(), 0);
  await page.goto(`${ui}#/services/default/nginx`);
  await page.waitForSelector('.tree .node');
  assert.equal(await page.locator('button[data-test^="drain"]').count(), 0);
  await shot(page, '08-read-only-service');
  await page.click('header .who button');
  await page.waitForSelector('.login');
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'logging out forgets the token');
  await context.close();
});

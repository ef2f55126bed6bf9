/**
 * Issue 9 item 9, secure by default: an unauthenticated API on a non-loopback address is refused
 * (one line, exit 2) unless --insecure-api; `fedns serve` on a data directory made by `fedns demo`
 * keeps the demo's TLS and tokens; a second `fedns demo` on it reuses them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { type FednsProcess, freePort, kubeRequest, ROOT, runFedns, spawnFedns, tempDir, waitFor, waitDemoUp } from './helpers.js';

const running: FednsProcess[] = [];
after(async () => {
  for (const p of running) await p.stop();
});

test('an unauthenticated API on 0.0.0.0 is refused with one line naming the fix; --insecure-api serves it', async () => {
  const dataDir = tempDir('fedns-secure-');
  const [apiPort, dnsPort] = [await freePort(), await freePort()];
  const args = ['serve', '--data-dir', dataDir, '--api-listen', `0.0.0.0:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`];
  for (const verb of ['serve', 'apiserver']) {
    const r = await runFedns([verb, ...args.slice(1)]);
    assert.equal(r.code, 2, `${verb}: ${r.stderr}`);
    assert.equal(r.stderr, 'fedns: api-listen: 0.0.0.0 is not a loopback address and the API has no authentication; give --token-auth-file (with --tls-cert-file and --tls-private-key-file) or --client-ca-file, or --insecure-api to serve it unauthenticated anyway\n');
    assert.equal(r.stdout, '');
  }
  const open = spawnFedns([...args, '--insecure-api', '--log-level', 'warn']);
  running.push(open);
  await waitFor('the insecure API', async () => {
    if (open.child.exitCode !== null) throw new Error(open.output());
    return (await fetch(`http://127.0.0.1:${apiPort}/api/v1/services`)).status === 200;
  }, 20000, 100);
  assert.match(open.output(), /--insecure-api: the federation API has no authentication/);
  await open.stop();
});

test('serve on a demo data directory keeps its TLS and tokens; demo again reuses them', async () => {
  const dataDir = tempDir('fedns-demo-secure-');
  const scenario = join(dataDir, 'scenario.yaml');
  writeFileSync(scenario, 'federation: sec\nzone: example.com.\nclusters:\n  - { name: c1, region: r1, zones: [r1-a], lbPool: 198.51.100.0/28 }\n');
  const [apiPort, dnsPort] = [await freePort(), await freePort()];
  const listen = ['--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${dnsPort}`];
  const kubeconfig = join(dataDir, 'kubeconfig');
  const startDemo = async () => {
    const demo = spawnFedns(['demo', '--scenario', scenario, '--data-dir', dataDir, ...listen, '--log-level', 'warn']);
    running.push(demo);
    await waitDemoUp(demo);
    return demo;
  };
  const tokenOf = () => (parse(readFileSync(kubeconfig, 'utf8')) as { users: { name: string; user: { token?: string } }[] }).users.find((u) => u.name === 'federation-cluster')?.user.token;

  const first = await startDemo();
  assert.match(first.output(), /API certificate and tokens recorded in .*api-security\.yaml/);
  const token = tokenOf();
  assert.ok(token);
  const tokens = readFileSync(join(dataDir, 'tokens.csv'), 'utf8');
  const cert = readFileSync(join(dataDir, 'apiserver.crt'), 'utf8');
  assert.equal((await first.stop()), 0);

  // serve on the same data directory: HTTPS with the demo's certificate, the demo's tokens required.
  const serve = spawnFedns(['serve', '--data-dir', dataDir, ...listen]);
  running.push(serve);
  await waitFor('serve over HTTPS', async () => {
    if (serve.child.exitCode !== null) throw new Error(serve.output());
    return (await kubeRequest(kubeconfig, '/readyz')).status === 200;
  }, 20000, 100);
  assert.equal((await kubeRequest(kubeconfig, '/api/v1/services', { token: null })).status, 401, 'no token: 401');
  assert.equal((await kubeRequest(kubeconfig, '/api/v1/services')).status, 200, "the demo's admin token");
  const logLine = serve.output().split('\n').find((l) => l.includes('API security settings from the data directory'));
  assert.ok(logLine, serve.output());
  assert.equal(JSON.parse(logLine).file, join(dataDir, 'api-security.yaml'));
  // Flags and environment win over the data directory's settings.
  await serve.stop();
  const other = join(dataDir, 'other-tokens.csv');
  writeFileSync(other, 'other-token,other,1,"fedns:admin"\n');
  const served = spawnFedns(['serve', '--data-dir', dataDir, ...listen], { FEDNS_TOKEN_AUTH_FILE: other });
  running.push(served);
  await waitFor('serve with its own token file', async () => {
    if (served.child.exitCode !== null) throw new Error(served.output());
    return (await kubeRequest(kubeconfig, '/readyz')).status === 200;
  }, 20000, 100);
  assert.equal((await kubeRequest(kubeconfig, '/api/v1/services')).status, 401, "the demo's token is not in the operator's file");
  assert.equal((await kubeRequest(kubeconfig, '/api/v1/services', { token: 'other-token' })).status, 200, 'still over the demo certificate');
  await served.stop();

  // demo again: the same certificate, tokens and kubeconfig token.
  const second = await startDemo();
  assert.match(second.output(), /reusing the API certificate and tokens recorded in .*api-security\.yaml/);
  // Restartable on its data dir (issue 9 item 5): the members come back on new ports and are Ready.
  assert.match(second.output(), /1\/1 member clusters joined and Ready/);
  assert.equal(readFileSync(join(dataDir, 'tokens.csv'), 'utf8'), tokens);
  assert.equal(readFileSync(join(dataDir, 'apiserver.crt'), 'utf8'), cert);
  assert.equal(tokenOf(), token);
  assert.equal((await kubeRequest(kubeconfig, '/api/v1/services')).status, 200);
  await second.stop();
});

test("the Dockerfile's default command serves the API only with the mounted tokens and TLS", async () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, '');
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(text)?.[1] ?? '[]') as string[];
  assert.equal(cmd[0], 'serve');
  const dataDir = tempDir('fedns-docker-');
  const [apiPort, dnsPort] = [await freePort(), await freePort()];
  const secrets = join(dataDir, 'etc-fedns');
  const local = (args: string[], etc: string) =>
    args.map((a) => a.replace(/^\/data$/, join(dataDir, 'data')).replace(/^0\.0\.0\.0:8080$/, `0.0.0.0:${apiPort}`).replace(/^0\.0\.0\.0:5353$/, `127.0.0.1:${dnsPort}`).replace(/^\/etc\/fedns\//, `${etc}/`));
  // Nothing mounted: one line naming the missing file, exit 2.
  const missing = await runFedns(local(cmd, secrets));
  assert.equal(missing.code, 2, missing.stderr);
  assert.equal(missing.stderr, `fedns: token-auth-file: cannot read ${secrets}/tokens.csv: ENOENT\n`);
  // The former default (no authentication on 0.0.0.0) is refused.
  const bare = cmd.slice(0, cmd.indexOf('--token-auth-file'));
  const old = await runFedns(local(bare, secrets));
  assert.equal(old.code, 2);
  assert.match(old.stderr, /^fedns: api-listen: 0\.0\.0\.0 is not a loopback address and the API has no authentication/);
  // Mounted: HTTPS, tokens required.
  mkdirSync(secrets);
  writeFileSync(join(secrets, 'tokens.csv'), 'ops-token,ops,1,"fedns:admin"\n');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(secrets, 'tls.key'), '-out', join(secrets, 'tls.crt'), '-days', '1', '-subj', '/CN=fedns', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const kc = join(dataDir, 'kubeconfig');
  writeFileSync(kc, `apiVersion: v1\nkind: Config\nclusters: [{name: f, cluster: {server: "https://127.0.0.1:${apiPort}", certificate-authority-data: ${readFileSync(join(secrets, 'tls.crt')).toString('base64')}}}]\nusers: [{name: f, user: {token: ops-token}}]\ncontexts: [{name: f, context: {cluster: f, user: f}}]\ncurrent-context: f\n`);
  const serve = spawnFedns([...local(cmd, secrets), '--log-level', 'warn']);
  running.push(serve);
  await waitFor('the container command to serve', async () => {
    if (serve.child.exitCode !== null) throw new Error(serve.output());
    return (await kubeRequest(kc, '/readyz')).status === 200;
  }, 20000, 100);
  assert.equal((await kubeRequest(kc, '/api/v1/services', { token: null })).status, 401);
  assert.equal((await kubeRequest(kc, '/api/v1/services')).status, 200);
  await serve.stop();
});

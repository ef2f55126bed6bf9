import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { singleContextKubeconfig } from '@fedns/controller';
import { checkKubeconfig } from '@fedns/model';
import { parseCommand, UsageError } from '../src/config.js';
import { joinCluster, makeRegistry } from '../src/roles.js';

test('process metrics are fedns_process_* and fedns_nodejs_*, never double-prefixed', async () => {
  const text = await makeRegistry('serve').metrics();
  assert.match(text, /^fedns_process_cpu_user_seconds_total\{role="serve"\} /m);
  assert.match(text, /^fedns_process_resident_memory_bytes\{role="serve"\} /m);
  assert.match(text, /^fedns_nodejs_eventloop_lag_seconds\{role="serve"\} /m);
  assert.doesNotMatch(text, /fedns_process_process_|fedns_process_nodejs_/);
});

const dir = mkdtempSync(join(tmpdir(), 'fedns-join-'));
const kubeconfigFile = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const KC = (server: string, extra = '') =>
  `apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: ${server}\n${extra}users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: m\n  context:\n    cluster: m\n    user: u\ncurrent-context: m\n`;

test('fedns join checks the kubeconfig as the API does: one line naming the problem', async () => {
  const cases: [string, RegExp][] = [
    [KC('ftp://203.0.113.5'), /clusters\[0\]\.cluster\.server: "ftp:\/\/203\.0\.113\.5" is not an http\(s\) URL/],
    [KC('https://203.0.113.5', '    certificate-authority-data: aGVsbG8=\n'), /clusters\[0\]\.cluster\.certificate-authority-data: is base64, but not of PEM data/],
    [KC('https://203.0.113.5').replace('current-context: m', 'current-context: prod'), /current-context "prod" names no context \(have: m\)/],
  ];
  for (const [i, [text, message]] of cases.entries()) {
    const file = kubeconfigFile(`kc${i}.yaml`, text);
    const { config } = parseCommand(['join', 'm1', '--kubeconfig', file, '--data-dir', join(dir, 'data')], {});
    await assert.rejects(joinCluster(config, 'm1'), (err: Error) => {
      assert.ok(err instanceof UsageError, String(err));
      assert.match(err.message, message);
      assert.ok(err.message.startsWith(`kubeconfig ${file}: `));
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  }
});

test('what the API stores of a valid kubeconfig loads in the controller (client-node)', () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=m'], { stdio: 'ignore' });
  const ca = readFileSync(join(dir, 'c.pem')).toString('base64');
  const r = checkKubeconfig(`${KC('https://203.0.113.5:6443/', `    certificate-authority-data: ${ca}\n`)}\n`.replace('clusters:\n', 'clusters:\n- name: unused\n  cluster: {}\n'));
  assert.ok(r.ok, JSON.stringify(r));
  // singleContextKubeconfig loads it with client-node's KubeConfig.loadFromString, as the controller does.
  const one = singleContextKubeconfig(r.kubeconfig);
  assert.equal(one.server, 'https://203.0.113.5:6443');
  assert.equal(one.context, 'm');
  const exported = JSON.parse(one.kubeconfig);
  assert.equal(exported.clusters[0].cluster['certificate-authority-data'], ca);
  assert.equal(exported.users[0].user.token, 't');
});

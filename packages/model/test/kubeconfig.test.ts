import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { checkKubeconfig } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'fedns-kc-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=member'], { stdio: 'ignore' });
const b64 = (f: string) => readFileSync(join(dir, f)).toString('base64');
const CERT = b64('c.pem');
const KEY = b64('k.pem');

/** A kubeconfig as kubectl writes one, with overrides per part. */
function kc(o: { cluster?: Record<string, unknown>; user?: Record<string, unknown>; context?: Record<string, unknown>; current?: string | null } = {}) {
  const doc: Record<string, unknown> = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'other', cluster: {} }, { name: 'm1', cluster: { server: 'https://203.0.113.5:6443', 'certificate-authority-data': CERT, ...o.cluster } }],
    users: [{ name: 'admin', user: { 'client-certificate-data': CERT, 'client-key-data': KEY, ...o.user } }],
    contexts: [{ name: 'm1', context: { cluster: 'm1', user: 'admin', ...o.context } }],
    'current-context': 'm1',
  };
  if (o.current === null) delete doc['current-context'];
  else if (o.current !== undefined) doc['current-context'] = o.current;
  return stringify(doc);
}
const problems = (text: string, opts = {}) => {
  const r = checkKubeconfig(text, opts);
  return r.ok ? [] : r.problems;
};

describe('checkKubeconfig', () => {
  it('accepts a valid kubeconfig and reduces it to the one context (JSON)', () => {
    const r = checkKubeconfig(kc());
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.server, 'https://203.0.113.5:6443');
    assert.equal(r.context, 'm1');
    const reduced = JSON.parse(r.kubeconfig);
    assert.deepEqual(reduced.clusters.map((c: { name: string }) => c.name), ['m1'], 'the unused, broken cluster entry is dropped');
    assert.equal(reduced.users[0].user['client-certificate-data'], CERT);
    assert.deepEqual(reduced.contexts, [{ name: 'm1', context: { cluster: 'm1', user: 'admin' } }]);
    assert.equal(reduced['current-context'], 'm1');
    const tokenOnly = checkKubeconfig(kc({ user: { 'client-certificate-data': undefined, 'client-key-data': undefined, token: 'abc' } }));
    assert.ok(tokenOnly.ok);
    assert.ok(checkKubeconfig(kc({ context: { user: undefined } })).ok, 'no user: anonymous');
  });

  it('names the problem: not YAML, not a kubeconfig, no usable context, undefined cluster', () => {
    assert.match(problems('clusters: [oops\n')[0] ?? '', /^not valid YAML: /);
    assert.match(problems('just a string')[0] ?? '', /^not a kubeconfig/);
    assert.match(problems('kind: Pod\n')[0] ?? '', /not a kubeconfig: kind is "Pod"/);
    assert.match(problems('clusters: 3\n')[0] ?? '', /^clusters: must be a list/);
    assert.match(problems(kc({ current: null }))[0] ?? '', /^current-context: required, naming one of the contexts \(have: m1\)/);
    assert.match(problems(kc({ current: 'prod' }))[0] ?? '', /^current-context "prod" names no context \(have: m1\)/);
    assert.match(problems(kc(), { context: 'prod' })[0] ?? '', /^context "prod" names no context/);
    assert.match(problems(kc({ context: { cluster: 'nope' } }))[0] ?? '', /^contexts\[0\]\.context\.cluster: names cluster "nope", which is not defined \(have: other, m1\)/);
    assert.match(problems(kc({ context: { user: 'ghost' } }))[0] ?? '', /^contexts\[0\]\.context\.user: names user "ghost", which is not defined/);
  });

  it('names the problem: no server, a server that is not an http(s) URL', () => {
    assert.match(problems(kc({ cluster: { server: undefined } }))[0] ?? '', /^clusters\[1\]\.cluster\.server: is required/);
    assert.match(problems(kc({ cluster: { server: 'ftp://203.0.113.5' } }))[0] ?? '', /^clusters\[1\]\.cluster\.server: "ftp:\/\/203\.0\.113\.5" is not an http\(s\) URL/);
    assert.match(problems(kc({ cluster: { server: '203.0.113.5:6443' } }))[0] ?? '', /server: "203\.0\.113\.5:6443" is not (a URL|an http\(s\) URL)/);
    assert.match(problems(kc({ cluster: { server: 6443 } }))[0] ?? '', /server: is required/);
    assert.match(problems(kc({ cluster: { 'insecure-skip-tls-verify': 'yes' } }))[0] ?? '', /insecure-skip-tls-verify: must be true or false/);
  });

  it('names the problem: certificate data that is not base64 of PEM', () => {
    assert.match(problems(kc({ cluster: { 'certificate-authority-data': 'not base64!' } }))[0] ?? '', /^clusters\[1\]\.cluster\.certificate-authority-data: is not base64/);
    assert.match(problems(kc({ cluster: { 'certificate-authority-data': btoa('hello') } }))[0] ?? '', /certificate-authority-data: is base64, but not of PEM data/);
    assert.match(problems(kc({ cluster: { 'certificate-authority-data': KEY } }))[0] ?? '', /certificate-authority-data: holds a PEM PRIVATE KEY block where a certificate belongs/);
    assert.match(problems(kc({ user: { 'client-key-data': CERT } }))[0] ?? '', /^users\[0\]\.user\.client-key-data: holds a PEM CERTIFICATE block where a private key belongs/);
    assert.match(problems(kc({ user: { 'client-certificate-data': btoa('-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n') } }))[0] ?? '', /client-certificate-data: holds a PEM CERTIFICATE block that is not DER data/);
    assert.match(problems(kc({ user: { 'client-key-data': undefined } }))[0] ?? '', /client-certificate-data and client-key-data go together/);
  });

  it('through the API, no file references or plugins (they would act on the fedns host); join may use them', () => {
    const local = kc({ cluster: { 'certificate-authority-data': undefined, 'certificate-authority': '/etc/ca.crt' }, user: { 'token-file': '/etc/shadow', exec: { command: 'sh' } } });
    const p = problems(local);
    assert.deepEqual(p.map((x) => x.split(':')[0]), ['clusters[1].cluster.certificate-authority', 'users[0].user.token-file', 'users[0].user.exec']);
    assert.match(p[0] ?? '', /not accepted through the API/);
    assert.deepEqual(problems(local, { local: true }), []);
  });
});

/**
 * Finding the connection the way kubectl does: --kubeconfig alone, else KUBECONFIG's files merged
 * (first wins), else ~/.kube/config; --context; file references relative to their kubeconfig;
 * --token; exec plugins refused by name. And the client: Status messages, Warning headers, a
 * server that does not answer.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { KubeApiError, KubeClient, KubeconfigError, loadKubeconfig } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kubeclient-'));
const write = (name: string, doc: unknown) => {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, typeof doc === 'string' ? doc : stringify(doc));
  return p;
};
const kc = (ctx: string, server: string, user: Record<string, unknown>, current: string | undefined = ctx) => ({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name: ctx, cluster: { server } }],
  users: [{ name: ctx, user }],
  contexts: [{ name: ctx, context: { cluster: ctx, user: ctx } }],
  ...(current ? { 'current-context': current } : {}),
});

describe('loadKubeconfig', () => {
  const a = write('a.yaml', kc('a', 'https://a.example:6443/', { token: 'ta' }));
  const b = write('b.yaml', { ...kc('b', 'https://b.example', { token: 'tb' }), 'current-context': 'b' });

  it('--kubeconfig: that file only, its current context', () => {
    const c = loadKubeconfig({ kubeconfig: a, env: { KUBECONFIG: b } });
    assert.deepEqual([c.context, c.server, c.token], ['a', 'https://a.example:6443', 'ta']);
  });

  it('KUBECONFIG: files merged, the first current-context wins, missing files skipped; --context picks another', () => {
    const env = { KUBECONFIG: [join(dir, 'missing.yaml'), b, a].join(':') };
    assert.equal(loadKubeconfig({ env }).context, 'b');
    const c = loadKubeconfig({ env, context: 'a' });
    assert.deepEqual([c.server, c.token], ['https://a.example:6443', 'ta']);
    assert.throws(() => loadKubeconfig({ env, context: 'zzz' }), (e: Error) => e instanceof KubeconfigError && /context "zzz" not found .*have: b, a/.test(e.message));
  });

  it('~/.kube/config without KUBECONFIG; a clear error without any', () => {
    const home = join(dir, 'home');
    write('home/.kube/config', kc('h', 'https://h.example', {}));
    assert.equal(loadKubeconfig({ env: { HOME: home } }).server, 'https://h.example');
    assert.throws(() => loadKubeconfig({ env: { HOME: join(dir, 'nohome') } }), /no kubeconfig: set KUBECONFIG/);
  });

  it('reads file references relative to their kubeconfig; --token overrides the user', () => {
    write('sub/ca.crt', 'CA');
    write('sub/token', 'file-token\n');
    const doc = kc('f', 'https://f.example', { 'token-file': 'token', 'client-certificate-data': Buffer.from('CERT').toString('base64'), 'client-key': 'ca.crt' });
    (doc.clusters[0] as { cluster: Record<string, unknown> }).cluster['certificate-authority'] = 'ca.crt';
    const f = write('sub/f.yaml', doc);
    const c = loadKubeconfig({ kubeconfig: f });
    assert.deepEqual([c.ca?.toString(), c.token, c.cert?.toString(), c.key?.toString()], ['CA', 'file-token', 'CERT', 'CA']);
    assert.equal(loadKubeconfig({ kubeconfig: f, token: 'over' }).token, 'over');
  });

  it('refuses exec plugins by name, and a context without a current-context', () => {
    const e = write('exec.yaml', kc('e', 'https://e.example', { exec: { command: 'aws' } }));
    assert.throws(() => loadKubeconfig({ kubeconfig: e }), /user "e" authenticates through an exec plugin/);
    const n = write('nocur.yaml', kc('n', 'https://n.example', {}, ''));
    assert.throws(() => loadKubeconfig({ kubeconfig: n }), /no current-context; pass --context \(have: n\)/);
  });
});

describe('KubeClient', () => {
  it('sends the token, returns JSON, turns a Status into KubeApiError and hands on warnings', async () => {
    const seen: string[] = [];
    const srv = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      if (req.url?.startsWith('/ok')) {
        res.setHeader('warning', '299 - "unknown field \\"x\\""');
        res.setHeader('content-type', 'application/json');
        return res.end('{"kind":"Thing","n":1}');
      }
      res.statusCode = 403;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', message: 'no, you may not', reason: 'Forbidden', code: 403 }));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const warnings: string[] = [];
    const client = new KubeClient({ context: 'x', server: `http://127.0.0.1:${port}`, insecureSkipTlsVerify: false, token: 'tok', source: 'test' }, { onWarning: (w) => warnings.push(w) });
    try {
      assert.deepEqual(await client.get('/ok', { query: { a: 1, b: undefined } }), { kind: 'Thing', n: 1 });
      assert.deepEqual(warnings, ['unknown field "x"']);
      await assert.rejects(client.request('PATCH', '/no', { body: {} }), (e: unknown) => e instanceof KubeApiError && e.code === 403 && e.message === 'no, you may not' && e.reason === 'Forbidden');
      assert.deepEqual(seen, ['Bearer tok', 'Bearer tok']);
    } finally {
      client.close();
      srv.close();
    }
    const down = new KubeClient({ context: 'x', server: `http://127.0.0.1:${port}`, insecureSkipTlsVerify: false, source: 'test' });
    await assert.rejects(down.get('/'), /cannot reach the API server http:\/\/127\.0\.0\.1:\d+ \(context "x"\): ECONNREFUSED/);
    down.close();
  });
});

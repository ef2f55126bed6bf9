import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isLoopback, resolveApiSecurity, writeDataDirSecurity } from '../src/api-security.js';
import { parseCommand, UsageError } from '../src/config.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'fedns-sec-'));
const cfg = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseCommand(['serve', ...argv], env).config;

test('an unauthenticated API on a non-loopback address is refused: one line naming the problem and the fix', () => {
  const dir = tmp();
  for (const listen of ['0.0.0.0:8080', '[::]:8080', '192.0.2.10:8080']) {
    assert.throws(
      () => resolveApiSecurity(cfg(['--data-dir', dir, '--api-listen', listen])),
      (err: unknown) =>
        err instanceof UsageError &&
        /^api-listen: \S+ is not a loopback address and the API has no authentication; give --token-auth-file .* or --insecure-api to serve it unauthenticated anyway$/.test(err.message) &&
        !err.message.includes('\n'),
      listen,
    );
  }
  assert.doesNotThrow(() => resolveApiSecurity(cfg(['--data-dir', dir, '--api-listen', '0.0.0.0:8080', '--insecure-api'])));
  assert.doesNotThrow(() => resolveApiSecurity(cfg(['--data-dir', dir, '--api-listen', '0.0.0.0:8080'], { FEDNS_INSECURE_API: 'true' })));
  assert.doesNotThrow(() => resolveApiSecurity(cfg(['--data-dir', dir, '--api-listen', '0.0.0.0:8080', '--token-auth-file', join(dir, 't.csv')])));
  for (const listen of ['127.0.0.1:8080', '127.1.2.3:8080', '[::1]:8080', 'localhost:8080']) assert.doesNotThrow(() => resolveApiSecurity(cfg(['--data-dir', dir, '--api-listen', listen])), listen);
  assert.throws(() => cfg([], { FEDNS_INSECURE_API: 'maybe' }), (err: unknown) => err instanceof UsageError && err.message === 'insecure-api: "maybe" is not true or false');
  assert.ok(isLoopback('127.0.0.1') && !isLoopback('0.0.0.0') && !isLoopback('::'));
});

test("a data directory's recorded settings are the defaults; flags and environment win, key by key", () => {
  const dir = tmp();
  writeDataDirSecurity(dir, { tokenAuthFile: join(dir, 'tokens.csv'), tlsCertFile: join(dir, 'apiserver.crt'), tlsPrivateKeyFile: join(dir, 'apiserver.key') });
  const fromDir = resolveApiSecurity(cfg(['--data-dir', dir, '--api-listen', '0.0.0.0:8080']));
  assert.equal(fromDir.tokenAuthFile, join(dir, 'tokens.csv'));
  assert.deepEqual(fromDir.tls, { certFile: join(dir, 'apiserver.crt'), keyFile: join(dir, 'apiserver.key') });
  assert.equal(fromDir.from, join(dir, 'api-security.yaml'));

  const envWins = resolveApiSecurity(cfg(['--data-dir', dir], { FEDNS_TOKEN_AUTH_FILE: '/etc/fedns/tokens.csv' }));
  assert.equal(envWins.tokenAuthFile, '/etc/fedns/tokens.csv');
  assert.equal(envWins.tls?.certFile, join(dir, 'apiserver.crt'), 'TLS still from the data directory');
  const flagsWin = resolveApiSecurity(cfg(['--data-dir', dir, '--tls-cert-file', '/c.pem', '--tls-private-key-file', '/k.pem', '--token-auth-file', '/t.csv']));
  assert.deepEqual([flagsWin.tokenAuthFile, flagsWin.tls?.certFile, flagsWin.from], ['/t.csv', '/c.pem', undefined]);

  writeFileSync(join(dir, 'api-security.yaml'), 'tokenFile: x\n');
  assert.throws(() => resolveApiSecurity(cfg(['--data-dir', dir])), /api-security\.yaml: unknown key "tokenFile"/);
});

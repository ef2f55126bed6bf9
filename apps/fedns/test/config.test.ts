import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCommand, UsageError } from '../src/config.js';

test('defaults match DESIGN §5', () => {
  const { verb, config } = parseCommand(['serve'], {});
  assert.equal(verb, 'serve');
  assert.equal(config.federation, 'myfederation');
  assert.equal(config.zone, 'example.com.');
  assert.deepEqual(config.apiListen, { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(config.dnsListen, { host: '127.0.0.1', port: 5353 });
  assert.equal(config.dataDir, './data');
  assert.deepEqual(config.nameservers, [{ name: 'ns1.example.com.', addresses: ['127.0.0.1'] }]);
  assert.equal(config.soa.minimum, 30);
});

test('flags beat environment, environment beats the config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedns-cfg-'));
  const file = join(dir, 'fedns.yaml');
  writeFileSync(file, 'zone: file.example.\nfederation: fromfile\ndnsListen: 127.0.0.1:1053\nnameservers:\n  - name: ns.elsewhere.net\n');
  const { config } = parseCommand(['serve', '--config', file, '--federation', 'fromflag'], { FEDNS_ZONE: 'Env.Example' });
  assert.equal(config.federation, 'fromflag');
  assert.equal(config.zone, 'env.example.');
  assert.equal(config.dnsListen.port, 1053);
  assert.deepEqual(config.nameservers, [{ name: 'ns.elsewhere.net.', addresses: [] }]);
});

test('bad input names the key and the problem', () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['serve', '--api-listen', '127.0.0.1'], {}, /^api-listen: "127.0.0.1" is not host:port/],
    [['serve', '--dns-listen', 'example.com:53'], {}, /^dns-listen: "example.com" is not an IP address/],
    [['serve', '--zone', 'bad_zone.com'], {}, /^zone: label "bad_zone"/],
    [['serve', '--federation', 'My.Fed'], {}, /^federation: /],
    [['serve', '--log-level', 'loud'], {}, /^log-level: "loud"/],
    [['serve'], { FEDNS_DEFAULT_TTL: '0' }, /^default-ttl: "0"/],
    [['serve', '--bogus'], {}, /bogus/],
    [['serve', '--config', '/nonexistent/fedns.yaml'], {}, /^config: cannot read \/nonexistent\/fedns.yaml: ENOENT/],
  ];
  for (const [argv, env, re] of cases) {
    assert.throws(() => parseCommand(argv, env), (err: unknown) => err instanceof UsageError && re.test(err.message), argv.join(' '));
  }
  const dir = mkdtempSync(join(tmpdir(), 'fedns-cfg-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'zoen: example.com.\n');
  assert.throws(() => parseCommand(['serve', '--config', file], {}), /unknown key "zoen"/);
  writeFileSync(file, 'nameservers:\n  - name: ns1.example.com.\n');
  assert.throws(() => parseCommand(['serve', '--config', file], {}), /needs glue/);
});

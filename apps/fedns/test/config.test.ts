import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCommand, UsageError } from '../src/config.js';
import { defaultDnsWorkers } from '../src/dns-config.js';

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

test('nameserver keys: transfers, TSIG, NOTIFY, RRL, workers, cookies — flags, env and YAML', () => {
  const secret = Buffer.alloc(32, 7).toString('base64');
  const d = parseCommand(['nameserver'], {}).config.dns;
  assert.deepEqual(d.xfrAllow, []);
  assert.deepEqual(d.notify, []);
  assert.deepEqual(d.rrl, { responsesPerSecond: 200, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56 }, 'RRL on by default, as NSD ships');
  assert.equal(d.workers, defaultDnsWorkers(), 'one DNS worker process per CPU by default');
  assert.deepEqual([1, 2, 3, 4, 8, 64].map((cpus) => defaultDnsWorkers(cpus)), [1, 2, 3, 4, 4, 4], 'one per CPU, at most 4');
  assert.equal(parseCommand(['serve', '--dns-workers', '0'], {}).config.dns.workers, 0, '0: DNS in the main process');
  assert.equal(d.dnstapSocket, undefined, 'dnstap off by default');
  assert.equal(parseCommand(['nameserver', '--dnstap-socket', '/run/dnstap.sock'], {}).config.dns.dnstapSocket, '/run/dnstap.sock');
  assert.equal(parseCommand(['serve'], { FEDNS_DNSTAP_SOCKET: '/run/tap.sock' }).config.dns.dnstapSocket, '/run/tap.sock');

  const f = parseCommand(
    ['nameserver', '--tsig-keys', `hmac-sha256:xfr-key:${secret}`, '--xfr-allow', '127.0.0.1/32 xfr-key, 10.0.0.0/8', '--notify', '127.0.0.1:5301 xfr-key,[::1]:5302', '--rrl-rate', 'off', '--dns-workers', '2', '--cookie-secret', 'e5e973e5a6b2a43f48e7dc849e37bfcf'],
    {},
  ).config.dns;
  assert.deepEqual(f.tsigKeys.map((k) => [k.name, k.algorithm, k.secret.length]), [['xfr-key.', 'hmac-sha256', 32]]);
  assert.deepEqual(f.xfrAllow.map((e) => [e.network.prefix, e.key]), [[32, 'xfr-key.'], [8, undefined]]);
  assert.deepEqual(f.notify, [{ host: '127.0.0.1', port: 5301, key: 'xfr-key.' }, { host: '::1', port: 5302 }]);
  assert.equal(f.rrl.responsesPerSecond, 0, 'off switch');
  assert.equal(f.workers, 2);
  assert.equal(f.cookieSecret?.toString('hex'), 'e5e973e5a6b2a43f48e7dc849e37bfcf');
  assert.equal(parseCommand(['serve'], { FEDNS_RRL_RATE: '50', FEDNS_RRL_SLIP: '0' }).config.dns.rrl.slip, 0);

  const dir = mkdtempSync(join(tmpdir(), 'fedns-cfg-'));
  const file = join(dir, 'dns.yaml');
  writeFileSync(
    file,
    `tsigKeys:\n  - name: xfr-key\n    algorithm: hmac-sha256\n    secret: ${secret}\nxfrAllow:\n  - 192.0.2.0/24 xfr-key\nnotify:\n  - 192.0.2.53:53 xfr-key\nrrlRate: 10\nrrlIpv6Prefix: 48\ndnsWorkers: 2\ndnstapSocket: /var/run/fedns/dnstap.sock\n`,
  );
  const y = parseCommand(['serve', '--config', file], {}).config.dns;
  assert.equal(y.tsigKeys[0]?.name, 'xfr-key.');
  assert.equal(y.xfrAllow[0]?.text, '192.0.2.0/24 xfr-key');
  assert.deepEqual(y.notify, [{ host: '192.0.2.53', port: 53, key: 'xfr-key.' }]);
  assert.deepEqual([y.rrl.responsesPerSecond, y.rrl.ipv6PrefixLength, y.workers], [10, 48, 2]);
  assert.equal(y.dnstapSocket, '/var/run/fedns/dnstap.sock');
});

test('bad nameserver keys: one line naming the key', () => {
  const secret = Buffer.alloc(32, 7).toString('base64');
  const cases: [string[], RegExp][] = [
    [['--xfr-allow', '300.1.2.3/8'], /^xfr-allow: "300.1.2.3\/8" is not an address or CIDR network/],
    [['--xfr-allow', '10.0.0.0/33'], /^xfr-allow: .*prefix length must be 0-32/],
    [['--xfr-allow', '10.0.0.0/8 otherkey'], /^xfr-allow: .*names key "otherkey\.", which is not in tsig-keys/],
    [['--tsig-keys', `hmac-md5:k:${secret}`], /^tsig-keys: algorithm "hmac-md5" is not supported/],
    [['--tsig-keys', 'k:not base64!'], /^tsig-keys: secret of key "k" is not base64/],
    [['--tsig-keys', 'k:c2hvcnQ='], /^tsig-keys: secret of key "k" is shorter than 16 octets/],
    [['--notify', 'ns.example.net:53'], /^notify: "ns.example.net" is not an IP address/],
    [['--notify', '127.0.0.1'], /^notify: "127.0.0.1" is not host:port/],
    [['--notify', '127.0.0.1:53 other'], /^notify: .*names key "other\."/],
    [['--rrl-rate', 'lots'], /^rrl-rate: "lots" must be a whole number/],
    [['--rrl-slip=-1'], /^rrl-slip: "-1" must be a whole number/],
    [['--rrl-ipv4-prefix', '33'], /^rrl-ipv4-prefix: "33" must be a whole number from 8 to 32/],
    [['--dns-workers', '65'], /^dns-workers: "65" must be a whole number from 0 to 64/],
    [['--dns-workers=-1'], /^dns-workers: "-1" must be a whole number from 0 to 64/],
    [['--cookie-secret', 'abcd'], /^cookie-secret: must be 32 hexadecimal digits/],
    [['--dnstap-socket', `/tmp/${'x'.repeat(120)}`], /^dnstap-socket: ".*" is longer than a unix socket path may be \(107 octets\)/],
  ];
  for (const [flags, re] of cases) {
    assert.throws(() => parseCommand(['serve', ...flags], {}), (err: unknown) => err instanceof UsageError && re.test(err.message) && !err.message.includes('\n'), flags.join(' '));
  }
});

test('region fallback (issue 14): global by default, nearest on request, anything else a usage error', () => {
  assert.equal(parseCommand(['serve'], {}).config.regionFallback, 'global');
  assert.equal(parseCommand(['serve', '--region-fallback', 'nearest'], {}).config.regionFallback, 'nearest');
  assert.equal(parseCommand(['controller'], { FEDNS_REGION_FALLBACK: 'nearest' }).config.regionFallback, 'nearest');
  assert.throws(() => parseCommand(['serve', '--region-fallback', 'closest'], {}), (err: unknown) => err instanceof UsageError && err.message === 'region-fallback: "closest" is neither global nor nearest');
});

test('client networks and the GeoIP database (issue 14): flag, environment and YAML forms; bad ones named', () => {
  const flag = parseCommand(['serve', '--client-networks', '203.0.113.0/24=asia-east1, 2001:db8::/32=europe-west1', '--geoip-database', '/var/lib/GeoLite2-City.mmdb'], {}).config.dns;
  assert.deepEqual(flag.clientNetworks, [{ cidr: '203.0.113.0/24', region: 'asia-east1' }, { cidr: '2001:db8::/32', region: 'europe-west1' }]);
  assert.equal(flag.geoipDatabase, '/var/lib/GeoLite2-City.mmdb');
  const dir = mkdtempSync(join(tmpdir(), 'fedns-cfg-'));
  const file = join(dir, 'fedns.yaml');
  writeFileSync(file, 'clientNetworks:\n  198.51.100.0/24: us-east1\n  192.0.2.0/24: { region: onprem-paris, latitude: 48.86, longitude: 2.35 }\n');
  assert.deepEqual(parseCommand(['serve', '--config', file], {}).config.dns.clientNetworks, [
    { cidr: '198.51.100.0/24', region: 'us-east1' },
    { cidr: '192.0.2.0/24', region: 'onprem-paris', location: { latitude: 48.86, longitude: 2.35 } },
  ]);
  assert.deepEqual(parseCommand(['serve'], {}).config.dns.clientNetworks, []);
  for (const [flags, re] of [
    [['--client-networks', '203.0.113.0/24'], /^client-networks\[0\]: "203\.0\.113\.0\/24" is not CIDR=REGION/],
    [['--client-networks', '203.0.113.0/33=asia-east1'], /^client-networks\[0\]: "203\.0\.113\.0\/33" is not a network \(want ADDRESS\/LENGTH/],
    [['--client-networks', '203.0.113.0/24=Asia East'], /^client-networks\[0\]: "203\.0\.113\.0\/24=Asia East" is not CIDR=REGION/],
  ] as const) {
    assert.throws(() => parseCommand(['serve', ...flags], {}), (err: unknown) => err instanceof UsageError && re.test(err.message), flags.join(' '));
  }
  writeFileSync(file, 'clientNetworks:\n  192.0.2.0/24: { region: x, latitude: 100, longitude: 0 }\n');
  assert.throws(() => parseCommand(['serve', '--config', file], {}), (err: unknown) => err instanceof UsageError && err.message === 'client-networks[192.0.2.0/24].latitude: must be a number of degrees from -90 to 90');
});

test('in-cluster answers: off by default; networks, forward targets, suffix and MCS domain parsed and checked', () => {
  const off = parseCommand(['serve'], {}).config.clusterDns;
  assert.deepEqual(off.allow, []);
  assert.deepEqual(off.forwardTo, ['127.0.0.1:5353'], 'default: the zone nameservers at the DNS port');
  assert.equal(off.suffix, 'clusters.fedns.internal.');
  const on = parseCommand(['serve', '--cluster-dns-allow', '10.0.0.0/8, fd00::/8', '--cluster-dns-forward', '192.0.2.53,[2001:db8::53]:5353', '--cluster-dns-suffix', 'Fed.Internal', '--clusterset-domain', 'clusterset.local'], {}).config.clusterDns;
  assert.deepEqual(on.allowText, ['10.0.0.0/8', 'fd00::/8']);
  assert.equal(on.allow.length, 2);
  assert.deepEqual(on.forwardTo, ['192.0.2.53:53', '[2001:db8::53]:5353']);
  assert.equal(on.suffix, 'fed.internal.');
  assert.equal(on.clustersetDomain, 'clusterset.local.');
  for (const [args, re] of [
    [['--cluster-dns-allow', '10.0.0.0/33'], /^cluster-dns-allow: /],
    [['--cluster-dns-forward', 'dns.example.net:53'], /^cluster-dns-forward: "dns.example.net:53" is not IP:PORT/],
    [['--cluster-dns-suffix', 'private.example.com'], /^cluster-dns-suffix: private\.example\.com\. must lie outside the federation zone/],
    [['--clusterset-domain', 'bad_domain'], /^clusterset-domain: /],
  ] as [string[], RegExp][]) {
    assert.throws(() => parseCommand(['serve', ...args], {}), (err: unknown) => err instanceof UsageError && re.test(err.message), args.join(' '));
  }
});

/** The Corefile parser: blocks, directives, sub-blocks, comments, quotes, snippets, imports. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CorefileError, type FileSource, parseCorefile } from '../src/dns/corefile.js';
import { parseKey } from '../src/dns/server-blocks.js';
import { customImportCorefile, kubeadmCorefile } from '../src/dns/cluster-dns.js';

const noFiles: FileSource = () => [];
const files =
  (fs: Record<string, string>): FileSource =>
  (pattern) => {
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    return Object.keys(fs)
      .filter((p) => re.test(p))
      .sort()
      .map((path) => ({ path, text: fs[path] as string }));
  };

describe('Corefile parser', () => {
  it("reads kubeadm's default Corefile", () => {
    const [b, ...rest] = parseCorefile(kubeadmCorefile('cluster.local'), '/etc/coredns/Corefile', noFiles);
    assert.equal(rest.length, 0);
    assert.deepEqual(b?.keys, ['.:53']);
    assert.deepEqual(
      b?.directives.map((d) => d.name),
      ['errors', 'health', 'ready', 'kubernetes', 'prometheus', 'forward', 'cache', 'loop', 'reload', 'loadbalance'],
    );
    const k = b?.directives.find((d) => d.name === 'kubernetes');
    assert.deepEqual(k?.args, ['cluster.local', 'in-addr.arpa', 'ip6.arpa']);
    assert.deepEqual(
      k?.block?.map((d) => [d.name, d.args]),
      [
        ['pods', ['insecure']],
        ['fallthrough', ['in-addr.arpa', 'ip6.arpa']],
        ['ttl', ['30']],
      ],
    );
    assert.deepEqual(b?.directives.find((d) => d.name === 'cache')?.block?.map((d) => d.args), [
      ['success', 'cluster.local'],
      ['denial', 'cluster.local'],
    ]);
  });

  it('expands imports relative to the Corefile, globs in order; a glob matching nothing imports nothing', () => {
    const fs = files({
      '/etc/coredns/custom/b.server': 'b.example:53 {\n  forward . 192.0.2.2\n}\n',
      '/etc/coredns/custom/a.server': 'a.example:53 {\n  forward . 192.0.2.1 # a comment\n}\n',
      '/etc/coredns/custom/x.override': 'log\n',
    });
    const blocks = parseCorefile(customImportCorefile('cluster.local'), '/etc/coredns/Corefile', fs);
    assert.deepEqual(
      blocks.map((b) => b.keys),
      [['.:53'], ['a.example:53'], ['b.example:53']],
    );
    assert.ok(blocks[0]?.directives.some((d) => d.name === 'log' && d.file === '/etc/coredns/custom/x.override'));
    assert.deepEqual(blocks[1]?.directives[0]?.args, ['.', '192.0.2.1']);
    assert.equal(parseCorefile(customImportCorefile('cluster.local'), '/etc/coredns/Corefile', noFiles).length, 1);
  });

  it('a missing plain import is an error, so is a cycle', () => {
    assert.throws(() => parseCorefile('. {\n import nope.conf\n}\n', '/etc/coredns/Corefile', noFiles), CorefileError);
    const fs = files({ '/etc/coredns/a': 'import b\n', '/etc/coredns/b': 'import a\n' });
    assert.throws(() => parseCorefile('import a\n', '/etc/coredns/Corefile', fs), /cycle/);
  });

  it('snippets, quoted tokens, several keys, the unbraced single block', () => {
    const text = '(common) {\n  errors\n  cache 30\n}\na.example b.example:53, c.example {\n  import common\n  rewrite name "A.EXAMPLE." "b.example."\n}\n';
    const [b] = parseCorefile(text, '/etc/coredns/Corefile', noFiles);
    assert.deepEqual(b?.keys, ['a.example', 'b.example:53', 'c.example']);
    assert.deepEqual(
      b?.directives.map((d) => [d.name, d.args]),
      [
        ['errors', []],
        ['cache', ['30']],
        ['rewrite', ['name', 'A.EXAMPLE.', 'b.example.']],
      ],
    );
    const [u] = parseCorefile('example.org\nwhoami\nlog\n', '/Corefile', noFiles);
    assert.deepEqual(u?.keys, ['example.org']);
    assert.deepEqual(
      u?.directives.map((d) => d.name),
      ['whoami', 'log'],
    );
  });

  it('unbalanced braces are errors', () => {
    assert.throws(() => parseCorefile('. {\n errors\n', '/Corefile', noFiles), /unmatched/);
    assert.throws(() => parseCorefile('. {\n errors\n}\n}\n', '/Corefile', noFiles), /unexpected/);
  });

  it('server block keys: zone and port', () => {
    assert.deepEqual(parseKey('.:53'), { zone: '.', port: 53 });
    assert.deepEqual(parseKey('Cluster.Local'), { zone: 'cluster.local.', port: 53 });
    assert.deepEqual(parseKey('dns://myfed.svc.cluster.local:53'), { zone: 'myfed.svc.cluster.local.', port: 53 });
    assert.deepEqual(parseKey('example.org:1053'), { zone: 'example.org.', port: 1053 });
    assert.deepEqual(parseKey('10.96.0.0/16'), { zone: '96.10.in-addr.arpa.', port: 53 });
  });
});

/** Metrics an operator alerts on: transfers counted with the RCODE they got, and the served SOA serial. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { type DnsServer, parseAclEntry, startDnsServer } from '../src/index.js';
import { makeIndex } from './fixture.js';
import { TcpClient, mkQuery, udpQuery } from './helpers.js';

const run = promisify(execFile);
const registry = new Registry();
const index = makeIndex(2024010101);
let server: DnsServer;

before(async () => {
  // Transfers only for 10.0.0.0/8: the tests (from 127.0.0.1) are refused.
  server = await startDnsServer({ index, listen: '127.0.0.1:0', registry, transfers: { allow: [parseAclEntry('10.0.0.0/8')] } });
});
after(async () => {
  await server.close();
});

const sample = async (re: RegExp) => Number(re.exec(await registry.metrics())?.[1] ?? 0);

describe('query metrics of transfers', () => {
  it('a refused AXFR counts as REFUSED (over TCP, after another query on the same connection too)', async () => {
    const c = new TcpClient(server.tcpPort);
    await c.connected();
    c.sock.write(TcpClient.frame(mkQuery({ id: 1, name: 'nope.example.com.' }))); // NXDOMAIN first: the connection's last rcode
    c.sock.write(TcpClient.frame(mkQuery({ id: 2, name: 'example.com.', qtype: 252 })));
    const replies = await c.waitFor(2);
    c.close();
    assert.equal((replies[1]?.[3] as number) & 0x0f, 5, 'REFUSED on the wire');
    const { stdout } = await run('dig', ['+nocmd', '+tries=1', '+time=3', '-p', String(server.tcpPort), '@127.0.0.1', 'example.com', 'AXFR']);
    assert.match(stdout, /Transfer failed/);
    assert.equal(await sample(/fedns_dns_queries_total\{qtype="AXFR",rcode="REFUSED",protocol="tcp"\} (\d+)/), 2);
    assert.equal(await sample(/fedns_dns_queries_total\{qtype="AXFR",rcode="(?:NOERROR|NXDOMAIN)",protocol="tcp"\} (\d+)/), 0);
    assert.equal(await sample(/fedns_dns_transfers_total\{type="AXFR",result="refused"\} (\d+)/), 2);
  });

  it('an IXFR over UDP that is refused counts as REFUSED over UDP', async () => {
    const r = await udpQuery(server.udpPort, mkQuery({ name: 'example.com.', qtype: 251 }));
    assert.ok(r);
    assert.equal((r[3] as number) & 0x0f, 5);
    assert.equal(await sample(/fedns_dns_queries_total\{qtype="IXFR",rcode="REFUSED",protocol="udp"\} (\d+)/), 1);
  });
});

describe('fedns_dns_zone_serial', () => {
  it('is the SOA serial being served, and follows it', async () => {
    assert.equal(await sample(/^fedns_dns_zone_serial\{zone="example\.com\."\} (\d+)$/m), 2024010101);
    index.applyDiff(2024010102, { upserts: [], deletes: [] });
    assert.equal(await sample(/^fedns_dns_zone_serial\{zone="example\.com\."\} (\d+)$/m), 2024010102);
  });
});

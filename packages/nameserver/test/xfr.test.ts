/** Transfers, TSIG, NOTIFY and serial arithmetic against the real dig (CONFORMANCE 23–27). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { RecordSet } from '@fedns/model';
import { DatabaseSync } from 'node:sqlite';
import { openStore, type Store } from '@fedns/store';
import { Registry } from 'prom-client';
import { type DnsServer, type Follower, Notifier, ZoneIndex, findTsig, followStore, makeKey, parseAclEntry, startDnsServer } from '../src/index.js';
import { TsigSigner, verifyRequest } from '../src/tsig.js';
import { P, config, workedExample } from './fixture.js';
import { TcpClient, mkQuery, udpQuery } from './helpers.js';

const run = promisify(execFile);
const SECRET = randomBytes(32).toString('base64');
const KEY = makeKey('xfr-key', SECRET);
const Y = `hmac-sha256:xfr-key:${SECRET}`;

async function digRaw(port: number, args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['+nocmd', '+norec', '+tries=1', '+time=3', '-p', String(port), '@127.0.0.1', ...args], { timeout: 15_000 });
  return stdout;
}
/** Record lines of dig output (no comments, no TSIG pseudo-records). */
const rrLines = (out: string) => out.split('\n').filter((l) => l.trim() && !l.startsWith(';') && !/\sTSIG\s/.test(l)).map((l) => l.trim().split(/\s+/));

const rs = (name: string, type: RecordSet['type'], data: string[]): RecordSet => ({ name, type, ttl: 30, data, level: 'global', namespace: 'prod', service: 'nginx' });

let store: Store;
let index: ZoneIndex;
let follower: Follower;
let keyed: DnsServer;
let open: DnsServer;
let closed: DnsServer;
const registry = new Registry();

before(async () => {
  store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'fedns-xfr-')) });
  await store.commitZone({ upserts: workedExample(), deletes: [] }, 'initial');
  index = new ZoneIndex(config);
  follower = followStore(store, index);
  await follower.loaded;
  const journal = (from: number) => follower.journalFromSoa(from);
  keyed = await startDnsServer({ index, listen: '127.0.0.1:0', registry, transfers: { allow: [parseAclEntry('127.0.0.0/8 xfr-key')], tsigKeys: [KEY], journal } });
  open = await startDnsServer({ index, listen: '127.0.0.1:0', registry: new Registry(), transfers: { allow: [parseAclEntry('127.0.0.1')], tsigKeys: [KEY], journal } });
  closed = await startDnsServer({ index, listen: '127.0.0.1:0', registry: new Registry(), transfers: { allow: [parseAclEntry('10.0.0.0/8')], tsigKeys: [KEY], journal } });
});
after(async () => {
  follower.stop();
  await Promise.all([keyed.close(), open.close(), closed.close()]);
  await store.close();
});

describe('AXFR (23, 26)', () => {
  it('with the key: SOA first and last, every RR of the zone, signed replies dig verifies', async () => {
    const out = await digRaw(keyed.tcpPort, ['-y', Y, 'example.com', 'AXFR']);
    assert.doesNotMatch(out, /verify failure|Transfer failed/, out);
    const rrs = rrLines(out);
    assert.equal(rrs[0]?.[3], 'SOA');
    assert.equal(rrs.at(-1)?.[3], 'SOA');
    assert.equal(rrs[0]?.[6], String(index.serial));
    assert.equal(rrs.filter((r) => r[3] === 'SOA').length, 2);
    const expected = workedExample().reduce((n, r) => n + r.data.length, 0) + 2 /* NS */ + 2 /* glue */ + 2 /* SOA */;
    assert.equal(rrs.length, expected);
    assert.ok(rrs.some((r) => r[0] === `${P}.asia-east1-a.asia-east1.example.com.` && r[3] === 'CNAME'));
    assert.match(out, /xfr-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR/);
  });

  it('without the key, or from a network not allowed: REFUSED', async () => {
    for (const port of [keyed.tcpPort, closed.tcpPort]) {
      const out = await digRaw(port, ['example.com', 'AXFR']);
      assert.match(out, /Transfer failed/, out);
    }
    const c = new TcpClient(closed.tcpPort);
    await c.connected();
    c.sock.write(TcpClient.frame(mkQuery({ name: 'example.com.', qtype: 252 })));
    const [r] = await c.waitFor(1);
    c.close();
    assert.equal((r?.[3] as number) & 0x0f, 5, 'REFUSED');
    assert.equal((r?.[2] as number) & 0x04, 0, 'AA clear');
  });

  it('an address-only ACL entry needs no key', async () => {
    const out = await digRaw(open.tcpPort, ['example.com', 'AXFR']);
    assert.doesNotMatch(out, /Transfer failed/);
    assert.equal(rrLines(out)[0]?.[3], 'SOA');
  });

  it('a bad signature or an unknown key: NOTAUTH with the TSIG error', async () => {
    const bad = await digRaw(keyed.tcpPort, ['-y', `hmac-sha256:xfr-key:${randomBytes(32).toString('base64')}`, 'example.com', 'AXFR']);
    assert.match(bad, /BADSIG/, bad);
    const unknown = await digRaw(keyed.tcpPort, ['-y', `hmac-sha256:nokey:${SECRET}`, 'example.com', 'AXFR']);
    assert.match(unknown, /BADKEY/, unknown);
    const soa = await digRaw(keyed.udpPort, ['-y', `hmac-sha256:xfr-key:${randomBytes(32).toString('base64')}`, 'example.com', 'SOA']);
    assert.match(soa, /status: NOTAUTH/, soa);
  });

  it('AXFR over UDP is refused (TCP only)', async () => {
    const r = await udpQuery(open.udpPort, mkQuery({ name: 'example.com.', qtype: 252 }));
    assert.ok(r);
    assert.equal((r[3] as number) & 0x0f, 5);
  });

  it('a signed ordinary query gets a signed answer (26)', async () => {
    const out = await digRaw(keyed.udpPort, ['-y', Y, `${P}.example.com`, 'A']);
    assert.match(out, /status: NOERROR/);
    assert.doesNotMatch(out, /verify failure/);
    assert.match(out, /TSIG PSEUDOSECTION/);
    assert.match(out, /198\.51\.100\.5/);
  });
});

describe('IXFR from the journal (24, 27)', () => {
  it('current serial: the single SOA', async () => {
    const out = await digRaw(keyed.tcpPort, ['-y', Y, 'example.com', `IXFR=${index.serial}`]);
    const rrs = rrLines(out);
    assert.equal(rrs.length, 1, out);
    assert.equal(rrs[0]?.[3], 'SOA');
  });

  it('an older serial: the differences, condensed, SOA framed (RFC 1995)', async () => {
    const s0 = index.serial;
    await store.commitZone({ upserts: [rs(`${P}.example.com.`, 'A', ['198.51.100.5'])], deletes: [rs('txt.example.com.', 'TXT', [])] }, 'flap');
    await store.commitZone({ upserts: [rs('new.example.com.', 'A', ['192.0.2.77'])], deletes: [] }, 'add');
    await follower.catchUp();
    assert.equal(index.serial, (s0 + 2) >>> 0);
    const out = await digRaw(keyed.tcpPort, ['-y', Y, 'example.com', `IXFR=${s0}`]);
    assert.doesNotMatch(out, /verify failure|failed/, out);
    const rrs = rrLines(out).map((r) => `${r[0]} ${r[3]} ${r[3] === 'SOA' ? r[6] : r.slice(4).join(' ')}`);
    assert.deepEqual(rrs, [
      `example.com. SOA ${s0 + 2}`,
      `example.com. SOA ${s0}`,
      'txt.example.com. TXT "hello world"',
      'txt.example.com. TXT "v=spf1 -all"',
      `${P}.example.com. A 203.0.113.10`,
      `example.com. SOA ${s0 + 1}`,
      `example.com. SOA ${s0 + 1}`,
      `example.com. SOA ${s0 + 2}`,
      'new.example.com. A 192.0.2.77',
      `example.com. SOA ${s0 + 2}`,
    ]);
  });

  it('an unknown serial: the whole zone; over UDP: the single SOA', async () => {
    const out = await digRaw(keyed.tcpPort, ['-y', Y, 'example.com', 'IXFR=12345']);
    const rrs = rrLines(out);
    assert.equal(rrs[0]?.[3], 'SOA');
    assert.equal(rrs[1]?.[3], 'NS', 'AXFR-style: no old SOA after the first');
    assert.ok(rrs.length > 20);
    const udp = await digRaw(keyed.udpPort, ['+notcp', '-y', Y, 'example.com', `IXFR=${(index.serial - 1) >>> 0}`]);
    assert.equal(rrLines(udp).length, 1, udp);
  });

  it('the serial wraps by RFC 1982 and IXFR follows across the wrap (27)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedns-wrap-'));
    await (await openStore({ dataDir: dir })).close();
    // The serial just below the wrap, set underneath the store (SQLite's meta row).
    const raw = new DatabaseSync(join(dir, 'fedns.db'));
    raw.prepare("UPDATE meta SET value = ? WHERE key = 'soa_serial'").run(String(2 ** 32 - 2));
    raw.close();
    const st = await openStore({ dataDir: dir });
    await st.commitZone({ upserts: [rs('a.example.com.', 'A', ['192.0.2.1'])], deletes: [] }, 'one');
    const ix = new ZoneIndex(config);
    const f = followStore(st, ix);
    await f.loaded;
    await st.commitZone({ upserts: [rs('a.example.com.', 'A', ['192.0.2.2'])], deletes: [] }, 'wrap');
    await f.catchUp();
    assert.equal(ix.serial, 0);
    const srv = await startDnsServer({ index: ix, listen: '127.0.0.1:0', registry: new Registry(), transfers: { allow: [parseAclEntry('127.0.0.1')], journal: (s) => f.journalFromSoa(s) } });
    try {
      const out = await digRaw(srv.tcpPort, ['example.com', `IXFR=${2 ** 32 - 1}`]);
      const rrs = rrLines(out).map((r) => `${r[3]} ${r[3] === 'SOA' ? r[6] : r[4]}`);
      assert.deepEqual(rrs, ['SOA 0', `SOA ${2 ** 32 - 1}`, 'A 192.0.2.1', 'SOA 0', 'A 192.0.2.2', 'SOA 0']);
      const cur = await digRaw(srv.tcpPort, ['example.com', 'IXFR=0']);
      assert.equal(rrLines(cur).length, 1, '0 is current after the wrap');
    } finally {
      f.stop();
      await srv.close();
      await st.close();
    }
  });

  it('transfers are counted in fedns_dns_transfers_total', async () => {
    const text = await registry.metrics();
    assert.match(text, /fedns_dns_transfers_total\{type="AXFR",result="full"\} [1-9]/);
    assert.match(text, /fedns_dns_transfers_total\{type="IXFR",result="incremental"\} [1-9]/);
    assert.match(text, /fedns_dns_transfers_total\{type="AXFR",result="refused"\} [1-9]/);
    assert.match(text, /fedns_dns_transfers_total\{type="AXFR",result="notauth"\} [1-9]/);
  });
});

describe('NOTIFY (25, 26)', () => {
  it('sent on a serial change, signed, retried until acknowledged', async () => {
    const sec = dgram.createSocket('udp4');
    await new Promise<void>((r) => sec.bind(0, '127.0.0.1', () => r()));
    const port = sec.address().port;
    const got: Buffer[] = [];
    sec.on('message', (m, rinfo) => {
      got.push(m);
      // Ignore the first two tries, acknowledge the third (signed, as NSD does).
      if (got.length === 3) {
        const t = findTsig(m);
        if (!t || t === 'formerr') return;
        const reply = Buffer.from(m.subarray(0, 12));
        reply[2] = (m[2] as number) | 0x80;
        reply.writeUInt16BE(0, 4);
        reply.writeUInt16BE(0, 6);
        reply.writeUInt16BE(0, 10);
        sec.send(new TsigSigner(KEY, t.mac).sign(reply), rinfo.port, rinfo.address);
      }
    });
    const events: string[] = [];
    const n = new Notifier({ index, targets: [{ host: '127.0.0.1', port, key: KEY.name }], keys: [KEY], source: '127.0.0.1', retryMs: 50, onEvent: (e) => events.push(e) });
    try {
      n.notify(index.serial);
      const deadline = Date.now() + 3000;
      while (n.outstanding().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(n.outstanding().length, 0, 'acknowledged');
      assert.equal(got.length, 3);
      assert.deepEqual(events, ['sent', 'retry', 'retry', 'acked']);
      const m = got[0] as Buffer;
      assert.equal(((m[2] as number) >> 3) & 0x0f, 4, 'opcode NOTIFY');
      assert.equal((m[2] as number) & 0x04, 0x04, 'AA');
      const t = findTsig(m);
      assert.ok(t && t !== 'formerr', 'signed');
      assert.equal(verifyRequest(m, t, [KEY]).ok, true, 'the secondary can verify it');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(got.length, 3, 'no retries after the acknowledgement');
    } finally {
      n.close();
      sec.close();
    }
  });
});

/**
 * The simulated cluster DNS with the real dig: cluster.local Services, the kube-dns Service's
 * listen annotation, and the CoreDNS semantics a forwarding server block relies on — the
 * longest zone chooses the block, `rewrite name suffix … answer auto`, `forward` passing the
 * upstream's answer through without chasing a CNAME, `cache` — plus reloads, imports of
 * coredns-custom and refused Corefiles. The upstream is a small scripted DNS server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import packet from 'dns-packet';
import { DNS_LISTEN_ANNOTATION, type SimCluster, startSimCluster } from '../src/index.js';
import { http, waitFor } from './helpers.js';

const run = promisify(execFile);

async function dig(addr: string, ...args: string[]): Promise<string> {
  const [host, port] = addr.split(':') as [string, string];
  const { stdout } = await run('dig', [`@${host}`, '-p', port, '+tries=1', '+time=3', ...args]);
  return stdout;
}
const status = (out: string) => /status: (\w+)/.exec(out)?.[1];
const answers = (out: string) =>
  out
    .split('\n')
    .filter((l) => l && !l.startsWith(';'))
    .map((l) => l.split(/\s+/));

/** A scripted authoritative upstream on UDP and TCP: answers from `zone`, counts what it was asked. */
type Scripted = Partial<packet.Packet> & { rcode?: string };

async function upstream(zone: (name: string, type: string) => Scripted) {
  const asked: string[] = [];
  const answer = (msg: Buffer): Buffer => {
    const q = packet.decode(msg);
    const qq = q.questions?.[0];
    asked.push(`${qq?.name}/${qq?.type}`);
    const a = zone(qq?.name ?? '', qq?.type ?? '');
    const rcode = a.rcode === 'NXDOMAIN' ? 3 : 0;
    return packet.encode({ id: q.id, type: 'response', questions: q.questions, ...a, flags: packet.AUTHORITATIVE_ANSWER | rcode });
  };
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const port = udp.address().port;
  udp.on('message', (m, rinfo) => udp.send(answer(m), rinfo.port, rinfo.address));
  const tcp = createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const out = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        const framed = Buffer.alloc(out.length + 2);
        framed.writeUInt16BE(out.length, 0);
        out.copy(framed, 2);
        s.end(framed);
      }
    });
  });
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
  return { port, asked, close: () => new Promise<void>((r) => udp.close(() => tcp.close(() => r()))) };
}

const SUFFIX = 'fed.svc.c1.example.internal.';

describe('kube-sim cluster DNS', () => {
  let sim: SimCluster;
  let up: Awaited<ReturnType<typeof upstream>>;
  let corefile: string;

  const setCorefile = async (text: string) => {
    const cm = (await http('GET', `${sim.url}/api/v1/namespaces/kube-system/configmaps/coredns`)).json;
    const r = await http('PUT', `${sim.url}/api/v1/namespaces/kube-system/configmaps/coredns`, { ...cm, data: { Corefile: text } });
    assert.equal(r.status, 200, r.text);
  };

  before(async () => {
    up = await upstream((name, type) => {
      const n = name.toLowerCase();
      if (n === `web.default.${SUFFIX}`.slice(0, -1))
        return type === 'A'
          ? { answers: [{ name, type: 'A', ttl: 5, data: '10.96.7.7' }] }
          : { authorities: [{ name: SUFFIX.slice(0, -1), type: 'SOA', ttl: 5, data: { mname: `ns.${SUFFIX}`, rname: 'hostmaster.example.com', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 5 } }] };
      if (n === `far.default.${SUFFIX}`.slice(0, -1))
        return {
          answers: [
            { name, type: 'CNAME', ttl: 5, data: 'far.default.fed.svc.zone-b.region-1.example.com' },
            { name: 'far.default.fed.svc.zone-b.region-1.example.com', type: 'CNAME', ttl: 30, data: 'far.default.fed.svc.region-1.example.com' },
            { name: 'far.default.fed.svc.region-1.example.com', type: 'A', ttl: 30, data: '203.0.113.9' },
          ],
        };
      if (n === `lonely.default.${SUFFIX}`.slice(0, -1)) return { answers: [{ name, type: 'CNAME', ttl: 5, data: 'elsewhere.example.net' }] };
      return { rcode: 'NXDOMAIN', authorities: [{ name: SUFFIX.slice(0, -1), type: 'SOA', ttl: 5, data: { mname: `ns.${SUFFIX}`, rname: 'hostmaster.example.com', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 5 } }] } as Scripted;
    });
    sim = await startSimCluster({ name: 'c1', region: 'region-1', zones: ['zone-a'], kubeletDelayMs: 20, dns: { reloadDelayMs: 20 } });
    corefile = (await http('GET', `${sim.url}/api/v1/namespaces/kube-system/configmaps/coredns`)).json.data.Corefile;
    sim.runPods({ name: 'web', labels: { run: 'web' }, count: 2 });
    for (const body of [
      { metadata: { name: 'web' }, spec: { selector: { run: 'web' }, ports: [{ port: 80 }] } },
      { metadata: { name: 'hl' }, spec: { clusterIP: 'None', selector: { run: 'web' }, ports: [{ port: 80 }] } },
    ])
      assert.equal((await http('POST', `${sim.url}/api/v1/namespaces/default/services`, { apiVersion: 'v1', kind: 'Service', ...body })).status, 201);
  });
  after(async () => {
    await sim?.close();
    await up?.close();
  });

  it('publishes its address on Service kube-system/kube-dns and answers cluster.local Services (UDP, TCP, any case)', async () => {
    const kdns = (await http('GET', `${sim.url}/api/v1/namespaces/kube-system/services/kube-dns`)).json;
    assert.equal(kdns.metadata.annotations[DNS_LISTEN_ANNOTATION], sim.dnsAddress);
    assert.equal(kdns.spec.clusterIP, '10.96.0.10');
    const web = (await http('GET', `${sim.url}/api/v1/namespaces/default/services/web`)).json;
    const a = answers(await dig(sim.dnsAddress, 'web.default.svc.cluster.local', 'A', '+noall', '+answer'));
    assert.deepEqual(a, [['web.default.svc.cluster.local.', '30', 'IN', 'A', web.spec.clusterIP]]);
    const upper = await dig(sim.dnsAddress, '+tcp', 'WEB.Default.SVC.cluster.LOCAL', 'A');
    assert.match(upper, /^WEB\.Default\.SVC\.cluster\.LOCAL\.\s+30\s+IN\s+A\s+10\.96\./m);
    const hl = await waitFor('headless endpoints', async () => {
      const got = answers(await dig(sim.dnsAddress, 'hl.default.svc.cluster.local', '+noall', '+answer')).map((r) => r[4]);
      return got.length === 2 && got;
    });
    assert.ok(hl.every((ip) => ip?.startsWith('10.244.')));
    const nx = await dig(sim.dnsAddress, 'nope.default.svc.cluster.local');
    assert.equal(status(nx), 'NXDOMAIN');
    assert.match(nx, /cluster\.local\.\s+30\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\./);
    assert.equal(status(await dig(sim.dnsAddress, 'web.default.svc.cluster.local', 'AAAA')), 'NOERROR');
    // The kubeadm Corefile forwards everything else to /etc/resolv.conf: nothing behind it in the simulation.
    assert.equal(status(await dig(sim.dnsAddress, 'example.org')), 'SERVFAIL');
    assert.equal((await http('GET', `${sim.url}/sim/dns`)).json.address, sim.dnsAddress);
  });

  it('a forwarding server block: the longest zone, rewrite suffix with answer auto, forward without chasing, cache', async () => {
    await setCorefile(
      `${corefile}fed.svc.cluster.local:53 {
    rewrite name suffix fed.svc.cluster.local. ${SUFFIX} answer auto
    forward . 127.0.0.1:${up.port}
    cache 30 fed.svc.cluster.local. ${SUFFIX}
}
`,
    );
    await waitFor('reload', async () => (await http('GET', `${sim.url}/sim/dns`)).json.config.zones.length === 2);
    up.asked.length = 0;
    // An upper-case question: the rewritten query is lower-case, the answer comes back with the question as asked.
    const out = await dig(sim.dnsAddress, 'WEB.default.FED.svc.cluster.local', 'A');
    assert.equal(status(out), 'NOERROR');
    assert.match(out, /;WEB\.default\.FED\.svc\.cluster\.local\.\s+IN\s+A/);
    const owner = answers(out.split(';; ANSWER SECTION:')[1]?.split(';;')[0] ?? '').map((r) => [r[0]?.toLowerCase(), ...r.slice(1)]);
    assert.deepEqual(owner, [['web.default.fed.svc.cluster.local.', '5', 'IN', 'A', '10.96.7.7']]);
    assert.deepEqual(up.asked, [`${`web.default.${SUFFIX}`.slice(0, -1)}/A`]);
    // Cached: the second question does not reach the upstream; TTLs count down from 5.
    const again = answers(await dig(sim.dnsAddress, 'web.default.fed.svc.cluster.local', 'A', '+noall', '+answer'));
    assert.equal(up.asked.length, 1);
    assert.ok(Number(again[0]?.[1]) <= 5);
    // NODATA: the SOA's owner is mapped back too.
    const nodata = await dig(sim.dnsAddress, 'web.default.fed.svc.cluster.local', 'AAAA');
    assert.equal(status(nodata), 'NOERROR');
    assert.match(nodata, /^fed\.svc\.cluster\.local\.\s+\d+\s+IN\s+SOA\s+ns\.fed\.svc\.cluster\.local\. hostmaster\.example\.com\./m);
    // A chain is passed through as the upstream made it: names under the suffix mapped back, the rest untouched.
    const far = answers((await dig(sim.dnsAddress, '+tcp', 'far.default.fed.svc.cluster.local', 'A')).split(';; ANSWER SECTION:')[1]?.split(';;')[0] ?? '');
    assert.deepEqual(
      far.map((r) => [r[0], r[3], r[4]]),
      [
        ['far.default.fed.svc.cluster.local.', 'CNAME', 'far.default.fed.svc.zone-b.region-1.example.com.'],
        ['far.default.fed.svc.zone-b.region-1.example.com.', 'CNAME', 'far.default.fed.svc.region-1.example.com.'],
        ['far.default.fed.svc.region-1.example.com.', 'A', '203.0.113.9'],
      ],
    );
    // forward never chases a CNAME: an upstream answer that stops at a CNAME stays that way.
    const lonely = answers((await dig(sim.dnsAddress, 'lonely.default.fed.svc.cluster.local', 'A')).split(';; ANSWER SECTION:')[1]?.split(';;')[0] ?? '');
    assert.deepEqual(
      lonely.map((r) => [r[3], r[4]]),
      [['CNAME', 'elsewhere.example.net.']],
    );
    const nx = await dig(sim.dnsAddress, 'gone.default.fed.svc.cluster.local');
    assert.equal(status(nx), 'NXDOMAIN');
    // Names outside the block's zone still go to the kubernetes plugin of the default block.
    assert.equal(answers(await dig(sim.dnsAddress, 'web.default.svc.cluster.local', '+noall', '+answer')).length, 1);
  });

  it('the cache keeps an answer for its TTL, then asks again', async () => {
    up.asked.length = 0;
    await dig(sim.dnsAddress, 'far.default.fed.svc.cluster.local', 'A');
    await dig(sim.dnsAddress, 'far.default.fed.svc.cluster.local', 'A');
    assert.equal(up.asked.length, 0, 'still cached from the test before');
    await new Promise((r) => setTimeout(r, 5200));
    await dig(sim.dnsAddress, 'far.default.fed.svc.cluster.local', 'A');
    assert.equal(up.asked.length, 1);
  });

  it('keeps the running configuration when a changed Corefile does not load', async () => {
    const before = (await http('GET', `${sim.url}/sim/dns`)).json.config.sha256;
    await setCorefile(`${corefile}broken.example:53 {\n    hosts /etc/hosts\n}\n`);
    const st = await waitFor('refusal', async () => {
      const s = (await http('GET', `${sim.url}/sim/dns`)).json;
      return s.lastError && s;
    });
    assert.match(st.lastError, /hosts/);
    assert.equal(st.config.sha256, before);
    assert.equal(status(await dig(sim.dnsAddress, 'web.default.fed.svc.cluster.local', 'A')), 'NOERROR');
    await setCorefile(`${corefile}.:53 {\n    whoami\n}\n`);
    await waitFor('duplicate zone refused', async () => /already defined/.test((await http('GET', `${sim.url}/sim/dns`)).json.lastError ?? ''));
    await setCorefile(corefile);
    await waitFor('back to one block', async () => (await http('GET', `${sim.url}/sim/dns`)).json.config.zones.length === 1);
    // No block for the name any more: the default block's kubernetes plugin owns cluster.local, and has no such Service.
    assert.equal(status(await dig(sim.dnsAddress, 'web.default.fed.svc.cluster.local', 'A')), 'NXDOMAIN');
  });
});

describe('kube-sim cluster DNS: the cache zones and CoreDNS plugin order', () => {
  let up: Awaited<ReturnType<typeof upstream>>;
  before(async () => {
    up = await upstream((name) => ({ answers: [{ name, type: 'A', ttl: 5, data: '192.0.2.9' }] }));
  });
  after(async () => up?.close());

  const block = (port: number) => `fed.svc.cluster.local:53 {
    rewrite name suffix fed.svc.cluster.local. ${SUFFIX} answer auto
    forward . 127.0.0.1:${port}
    cache 30
}
`;
  for (const [order, cached] of [['current', false], ['before-1.14.7', true]] as const) {
    it(`with \`cache 30\` (the block's zone only), ${order} order ${cached ? 'caches' : 'does not cache the rewritten name'}`, async () => {
      const sim = await startSimCluster({ name: 'c3', dns: { reloadDelayMs: 10, pluginOrder: order } });
      try {
        const cm = (await http('GET', `${sim.url}/api/v1/namespaces/kube-system/configmaps/coredns`)).json;
        await http('PUT', `${sim.url}/api/v1/namespaces/kube-system/configmaps/coredns`, { ...cm, data: { Corefile: cm.data.Corefile + block(up.port) } });
        await waitFor('reload', async () => (await http('GET', `${sim.url}/sim/dns`)).json.config.zones.length === 2);
        up.asked.length = 0;
        for (let i = 0; i < 3; i++) assert.equal(status(await dig(sim.dnsAddress, 'x.default.fed.svc.cluster.local')), 'NOERROR');
        assert.equal(up.asked.length, cached ? 1 : 3);
      } finally {
        await sim.close();
      }
    });
  }
});

describe('kube-sim cluster DNS with coredns-custom imports', () => {
  let sim: SimCluster;
  let up: Awaited<ReturnType<typeof upstream>>;
  before(async () => {
    up = await upstream((name) => ({ answers: [{ name, type: 'A', ttl: 5, data: '192.0.2.77' }] }));
    sim = await startSimCluster({ name: 'c2', dns: { corefile: 'custom-import', clusterDomain: 'corp.local', reloadDelayMs: 20 } });
  });
  after(async () => {
    await sim?.close();
    await up?.close();
  });

  it('serves a server block put into coredns-custom as <name>.server', async () => {
    const cm = (await http('GET', `${sim.url}/api/v1/namespaces/kube-system/configmaps/coredns-custom`)).json;
    assert.equal(cm.data, undefined);
    const r = await http('PUT', `${sim.url}/api/v1/namespaces/kube-system/configmaps/coredns-custom`, {
      ...cm,
      data: { 'x.server': `x.example:53 {\n    forward . 127.0.0.1:${up.port}\n}\n`, 'ignored.txt': 'not imported' },
    });
    assert.equal(r.status, 200, r.text);
    await waitFor('reload', async () => (await http('GET', `${sim.url}/sim/dns`)).json.config?.zones.length === 2);
    assert.deepEqual(answers(await dig(sim.dnsAddress, 'a.x.example', '+noall', '+answer')).map((x) => x[4]), ['192.0.2.77']);
    assert.equal(status(await dig(sim.dnsAddress, 'kubernetes.default.svc.corp.local')), 'NOERROR');
  });
});

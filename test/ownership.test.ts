/**
 * Issue 9 item 1, end to end: two fedns installations (two `fedns serve`, each
 * its own data dir and federation name) joined to the same two `fedns
 * sim-cluster` members, with the same Service name in both. Before ownership,
 * they deleted and re-created each other's member Service in a tight loop
 * (each time a new cloud load balancer). Now the first owns it, the second
 * leaves it alone and says so in its Service's status and metrics.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dig, type FednsProcess, freePort, runFedns, spawnFedns, tempDir, waitFor, waitReady, openTestStore } from './helpers.js';

const procs: FednsProcess[] = [];
const members: { name: string; url: string; kubeconfig: string }[] = [];
const fedA = { name: 'feda', dataDir: tempDir(), api: '', dns: 0 };
const fedB = { name: 'fedb', dataDir: tempDir(), api: '', dns: 0 };

after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
});

async function startMember(name: string, region: string, pool: string): Promise<void> {
  const kubeconfig = join(tempDir(), 'kubeconfig');
  const p = spawnFedns(['sim-cluster', '--name', name, '--region', region, '--zones', `${region}-a`, '--lb-pool', pool, '--listen', '127.0.0.1:0', '--kubeconfig', kubeconfig]);
  procs.push(p);
  const url = await waitFor(`sim ${name}`, async () => /listening on (http:\/\/\S+)/.exec(p.output())?.[1], 20_000);
  members.push({ name, url, kubeconfig });
}

async function startFederation(f: typeof fedA): Promise<void> {
  for (const m of members) {
    const j = await runFedns(['join', m.name, '--kubeconfig', m.kubeconfig, '--data-dir', f.dataDir, '--federation', f.name]);
    assert.equal(j.code, 0, j.stderr);
  }
  const apiPort = await freePort();
  f.dns = await freePort();
  f.api = `http://127.0.0.1:${apiPort}`;
  const p = spawnFedns(['serve', '--data-dir', f.dataDir, '--federation', f.name, '--api-listen', `127.0.0.1:${apiPort}`, '--dns-listen', `127.0.0.1:${f.dns}`, '--log-level', 'warn']);
  procs.push(p);
  await waitReady(f.api, p);
}

const web = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } };

async function createWeb(api: string): Promise<void> {
  const res = await fetch(`${api}/api/v1/namespaces/default/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(web) });
  assert.equal(res.status, 201, await res.text());
}

/** Counts watch events on default/web in a member for `ms`. */
async function watchWeb(url: string, ms: number): Promise<{ ADDED: number; MODIFIED: number; DELETED: number }> {
  const counts = { ADDED: 0, MODIFIED: 0, DELETED: 0 };
  const list = (await (await fetch(`${url}/api/v1/namespaces/default/services`)).json()) as { metadata: { resourceVersion: string } };
  const ctl = new AbortController();
  const res = await fetch(`${url}/api/v1/namespaces/default/services?watch=true&fieldSelector=metadata.name%3Dweb&resourceVersion=${list.metadata.resourceVersion}`, { signal: ctl.signal });
  const timer = setTimeout(() => ctl.abort(), ms);
  let buf = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += Buffer.from(chunk).toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const ev = JSON.parse(buf.slice(0, nl)) as { type: keyof typeof counts };
        if (ev.type in counts) counts[ev.type]++;
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
  }
  return counts;
}

before(async () => {
  await startMember('m1', 'us-east1', '198.51.100.0/28');
  await startMember('m2', 'europe-west1', '198.51.100.16/28');
  await startFederation(fedA);
  await startFederation(fedB);
});

test('two federations on the same members: the first owns the Service, the second leaves it alone and reports the conflict', async () => {
  await createWeb(fedA.api);
  for (const m of members) {
    await waitFor(`web in ${m.name}, owned by ${fedA.name}`, async () => {
      const svc = (await (await fetch(`${m.url}/api/v1/namespaces/default/services/web`)).json()) as { metadata?: { labels?: Record<string, string> }; status?: { loadBalancer?: { ingress?: unknown[] } } };
      return svc.metadata?.labels?.['federation.fedns.io/federation'] === fedA.name && (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0;
    });
  }
  const before = await Promise.all(members.map(async (m) => (await (await fetch(`${m.url}/api/v1/namespaces/default/services/web`)).json()) as { metadata: { uid: string; annotations: Record<string, string> } }));
  const storeA = await openTestStore(fedA.dataDir, { readonly: true });
  const idA = storeA.installationId;
  await storeA.close();
  assert.ok(idA);
  for (const b of before) assert.equal(b.metadata.annotations['federation.fedns.io/owner-id'], idA);

  // The same name through the second federation; watch both members for 10 s.
  const watching = members.map((m) => watchWeb(m.url, 10_000));
  await createWeb(fedB.api);
  const events = await Promise.all(watching);
  for (const [i, e] of events.entries()) assert.equal(e.DELETED, 0, `no deletion of ${fedA.name}'s Service in ${members[i]?.name}: ${JSON.stringify(e)}`);
  for (const [i, m] of members.entries()) {
    const now = (await (await fetch(`${m.url}/api/v1/namespaces/default/services/web`)).json()) as { metadata: { uid: string; annotations: Record<string, string> } };
    assert.equal(now.metadata.uid, before[i]?.metadata.uid, 'the same object, never re-created');
    assert.equal(now.metadata.annotations['federation.fedns.io/owner-id'], idA, 'still owned by the first federation');
  }

  // The second federation says so: a condition naming each cluster and the owner, a metric per cluster.
  const status = await waitFor('the conflict on fedb’s Service status', async () => {
    const svc = (await (await fetch(`${fedB.api}/api/v1/namespaces/default/services/web`)).json()) as { status?: { conditions?: { type: string; status: string; message: string }[] } };
    const c = svc.status?.conditions?.find((x) => x.type === 'MemberConflict');
    return c && c.message.includes('m1') && c.message.includes('m2') ? c : undefined;
  });
  assert.equal(status.status, 'True');
  assert.match(status.message, new RegExp(`owned by ${fedA.name}/${idA}`));
  const metrics = await (await fetch(`${fedB.api}/metrics`)).text();
  assert.match(metrics, /fedns_member_conflicts\{[^}]*cluster="m1"[^}]*\} 1/);
  assert.match(metrics, /fedns_member_conflicts\{[^}]*cluster="m2"[^}]*\} 1/);

  // The first federation publishes its shards' addresses; the second never publishes another federation's.
  const lbA = await dig(fedA.dns, 'web.default.feda.svc.example.com.');
  assert.equal(lbA.status, 'NOERROR');
  const lbB = await dig(fedB.dns, 'web.default.fedb.svc.example.com.');
  assert.equal(lbB.answer.filter((r) => r.type === 'A').length, 0, lbB.raw);

  // Deleting the second federation's Service leaves the first's member copies alone too.
  const watchingDelete = members.map((m) => watchWeb(m.url, 3000));
  const del = await fetch(`${fedB.api}/api/v1/namespaces/default/services/web`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  for (const e of await Promise.all(watchingDelete)) assert.equal(e.DELETED, 0);
});

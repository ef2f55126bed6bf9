/**
 * Issue 11 item 4: API servers are many and stateless. Two `fedns apiserver`
 * processes over one store: a write through either is read through the other,
 * and a watch resumed on B from a resourceVersion A gave delivers every later
 * event once, in order (both follow the store's object log).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FednsProcess, freePort, spawnFedns, tempDir, waitReady } from './helpers.js';

const dataDir = tempDir();
const procs: FednsProcess[] = [];
const bases: string[] = [];

before(async () => {
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const p = spawnFedns(['apiserver', '--data-dir', dataDir, '--api-listen', `127.0.0.1:${port}`, '--log-level', 'warn']);
    procs.push(p);
    bases.push(`http://127.0.0.1:${port}`);
    await waitReady(`http://127.0.0.1:${port}`, p);
  }
});

after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
});

const post = async (base: string, name: string) => {
  const r = await fetch(`${base}/api/v1/namespaces/default/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name }, spec: { ports: [{ port: 80 }] } }) });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  return JSON.parse(text) as { metadata: { resourceVersion: string } };
};

/** Reads a watch until `count` events have come (or the time is up). */
async function watchEvents(url: string, count: number, ms = 5000): Promise<{ type: string; object: { metadata: { name: string; resourceVersion: string } } }[]> {
  const events: { type: string; object: { metadata: { name: string; resourceVersion: string } } }[] = [];
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), ms);
  try {
    const res = await fetch(url, { signal: ctl.signal });
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += Buffer.from(chunk).toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        events.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
      if (events.length >= count) break;
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
  return events;
}

test('a write through one API server is read through the other', async () => {

  const created = await post(bases[0] as string, 'seen-everywhere');
  const got = await fetch(`${bases[1]}/api/v1/namespaces/default/services/seen-everywhere`);
  assert.equal(got.status, 200);
  assert.equal(((await got.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion, created.metadata.resourceVersion);
});

test('a watch from a resourceVersion A handed out resumes on B: every later event once, in order', async () => {
  const from = (await post(bases[0] as string, 'w-0')).metadata.resourceVersion;
  // Writes through both servers after that resourceVersion.
  const names: string[] = [];
  for (let i = 1; i <= 10; i++) {
    names.push(`w-${i}`);
    await post(bases[i % 2] as string, `w-${i}`);
  }
  const events = await watchEvents(`${bases[1]}/api/v1/namespaces/default/services?watch=1&resourceVersion=${from}`, names.length);
  assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), names.map((n) => `ADDED ${n}`), 'each once, in commit order');
  const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
  assert.deepEqual(rvs, [...rvs].sort((a, b) => a - b));
  assert.ok(rvs.every((rv) => rv > Number(from)));
});

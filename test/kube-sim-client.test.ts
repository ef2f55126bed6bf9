/**
 * kube-sim through @kubernetes/client-node (the library the controller uses): list+watch informers,
 * reconnection after dropped watches, 410 Gone, fault injection.
 * client-node is a dependency of packages/controller, so it is imported from there.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { MemberCluster } from '@fedns/controller';
import { buildKubeconfig, type SimCluster, startSimCluster } from '@fedns/kube-sim';
import { ROOT } from './helpers.js';

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// biome-ignore lint/suspicious/noExplicitAny: client-node is loaded dynamically from packages/controller
const k8s: any = await import(pathToFileURL(join(ROOT, 'packages/controller/node_modules/@kubernetes/client-node/dist/index.js')).href);

let sim: SimCluster;
// biome-ignore lint/suspicious/noExplicitAny: see above
let kc: any, core: any, discovery: any;

const nginx = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'nginx', labels: { run: 'nginx' } },
  spec: { type: 'LoadBalancer', selector: { run: 'nginx' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }] },
};

before(async () => {
  sim = await startSimCluster({ name: 'gce-us-east1b', region: 'us-east1', zones: ['us-east1-b'], lbPool: '198.51.100.160/28', kubeletDelayMs: 50, lbDelayMs: 20 });
  kc = new k8s.KubeConfig();
  kc.loadFromString(buildKubeconfig([{ name: sim.name, server: sim.url, token: 'kube-sim-token' }]));
  core = kc.makeApiClient(k8s.CoreV1Api);
  discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
});

after(async () => {
  await sim.close();
});

describe('kube-sim with @kubernetes/client-node', () => {
  it('typed clients: list nodes with topology labels; 404 and 409 as ApiException codes', async () => {
    const nodes = await core.listNode();
    assert.equal(nodes.items.length, 3);
    assert.equal(nodes.items[0].metadata.labels['topology.kubernetes.io/zone'], 'us-east1-b');
    await assert.rejects(core.readNamespacedService({ name: 'nope', namespace: 'default' }), (e: { code?: number }) => e.code === 404);
    await core.createNamespace({ body: { metadata: { name: 'dup' } } });
    await assert.rejects(core.createNamespace({ body: { metadata: { name: 'dup' } } }), (e: { code?: number }) => e.code === 409);
  });

  it('informers on services and endpointslices see ADDED / MODIFIED / DELETED, and reconnect after dropped watches', async () => {
    const svcEvents: string[] = [];
    const sliceEvents: { type: string; ready: number }[] = [];
    let connects = 0;
    const svcInf = k8s.makeInformer(kc, '/api/v1/services', () => core.listServiceForAllNamespaces());
    // biome-ignore lint/suspicious/noExplicitAny: client-node objects
    const rec = (type: string) => (o: any) => svcEvents.push(`${type}:${o.metadata.name}:${o.status?.loadBalancer?.ingress?.[0]?.ip ?? ''}`);
    svcInf.on('add', rec('add'));
    svcInf.on('update', rec('update'));
    svcInf.on('delete', rec('delete'));
    svcInf.on('connect', () => connects++);
    const sliceInf = k8s.makeInformer(kc, '/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces());
    // biome-ignore lint/suspicious/noExplicitAny: client-node objects
    const srec = (type: string) => (o: any) => sliceEvents.push({ type, ready: (o.endpoints ?? []).filter((e: any) => e.conditions?.ready).length });
    sliceInf.on('add', srec('add'));
    sliceInf.on('update', srec('update'));
    await svcInf.start();
    await sliceInf.start();
    try {
      assert.ok(svcEvents.includes('add:kubernetes:'), 'initial list delivered as add');
      await core.createNamespacedService({ namespace: 'default', body: nginx });
      await waitFor('service added', () => svcEvents.some((e) => e.startsWith('add:nginx')));
      await waitFor('LB ingress update', () => svcEvents.some((e) => /^update:nginx:198\.51\.100\./.test(e)));
      assert.equal(svcInf.get('nginx', 'default').status.loadBalancer.ingress[0].ip.startsWith('198.51.100.'), true);

      sim.runPods({ name: 'nginx', labels: { run: 'nginx' }, count: 2 });
      await waitFor('slice with 2 ready endpoints', () => sliceEvents.some((e) => e.ready === 2));

      // Drop every watch: the informers re-watch from their last resourceVersion.
      const before = connects;
      assert.ok(sim.faults.dropWatches() >= 2);
      await waitFor('informer reconnected', () => connects > before && sim.api.watchCount >= 2);
      sim.faults.failPods({ namespace: 'default', selector: 'run=nginx' });
      await waitFor('slice readiness 0 after reconnect', () => sliceEvents.at(-1)?.ready === 0);
      sim.faults.recoverPods({ namespace: 'default', selector: 'run=nginx' });
      await waitFor('slice readiness back to 2', () => sliceEvents.at(-1)?.ready === 2);

      // Compact history + drop: the re-watch gets 410, the informer relists and carries on.
      sim.faults.compact();
      sim.stores.services.mutate('default', 'nginx', (d) => {
      d.metadata.labels = { ...d.metadata.labels, during: 'gap' };
    });
      sim.faults.dropWatches();
      await waitFor('relisted object seen', () => svcInf.get('nginx', 'default')?.metadata?.labels?.during === 'gap');
      await core.deleteNamespacedService({ name: 'nginx', namespace: 'default' });
      await waitFor('service deleted', () => svcEvents.some((e) => e.startsWith('delete:nginx')));
    } finally {
      await svcInf.stop();
      await sliceInf.stop();
    }
  });

  it('a watch from a compacted resourceVersion gets a 410 ERROR event', async () => {
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' } } });
    sim.faults.compact();
    const events: { type: string; code?: number }[] = [];
    const done = new Promise<unknown>((resolve) => {
      void new k8s.Watch(kc).watch(
        '/api/v1/namespaces/default/configmaps',
        { resourceVersion: '1' },
        // biome-ignore lint/suspicious/noExplicitAny: watch payload
        (type: string, obj: any) => events.push({ type, code: obj?.code }),
        (err: unknown) => resolve(err),
      );
    });
    await done;
    assert.deepEqual(events, [{ type: 'ERROR', code: 410 }]);
  });

  it('unreachable makes requests and watches fail; clearing the fault recovers', async () => {
    const inf = k8s.makeInformer(kc, '/api/v1/namespaces', () => core.listNamespace());
    const errors: unknown[] = [];
    inf.on('error', (e: unknown) => errors.push(e));
    await inf.start();
    try {
      sim.faults.unreachable(true);
      await assert.rejects(core.listNamespace());
      await waitFor('informer error', () => errors.length > 0);
      sim.faults.clear();
      const ns = await core.listNamespace();
      assert.ok(ns.items.length >= 4);
      await inf.start();
      await core.createNamespace({ body: { metadata: { name: 'after-recovery' } } });
      await waitFor('informer sees new namespace', () => inf.get('after-recovery'));
    } finally {
      await inf.stop();
      sim.faults.clear();
    }
  });

  it("fedns's MemberCluster restarts its informers after an outage and sees what changed during it", async () => {
    // Every change of the connection state it reports, with the state it reports then.
    const transitions: boolean[] = [];
    const member: MemberCluster = new MemberCluster({
      name: sim.name,
      kubeconfig: buildKubeconfig([{ name: sim.name, server: sim.url, token: 'kube-sim-token' }]),
      onEvent: (_cluster, ev) => {
        if (ev.kind === 'connection') transitions.push(member.connected);
      },
      maxBackoffMs: 400,
    });
    await member.start();
    try {
      await waitFor('informers synced', () => member.connected && member.nodes.list().length === 3);
      sim.faults.unreachable(true);
      await waitFor('informers broken', () => !member.connected);
      const brokenAt = transitions.length;
      // Changed while fedns cannot see the member; a few restarts fail meanwhile.
      sim.stores.services.mutate('default', 'kubernetes', (d) => {
        d.metadata.labels = { ...d.metadata.labels, changed: 'during-outage' };
      });
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(member.connected, false);
      // Restarts failed meanwhile: none of them may have looked connected, even for a moment.
      assert.deepEqual(transitions.slice(brokenAt), [], 'no connection change reported while the member is unreachable');
      sim.faults.clear();
      await waitFor('informers synced again', () => member.connected);
      await waitFor('the change made during the outage', () => member.getService('default', 'kubernetes')?.metadata?.labels?.changed === 'during-outage');
      // And they watch again: a change after recovery arrives too.
      sim.stores.services.mutate('default', 'kubernetes', (d) => {
        d.metadata.labels = { ...d.metadata.labels, changed: 'after-recovery' };
      });
      await waitFor('the change made after recovery', () => member.getService('default', 'kubernetes')?.metadata?.labels?.changed === 'after-recovery');
    } finally {
      await member.stop();
      sim.faults.clear();
    }
  });

  it('latency is applied to API calls', async () => {
    sim.faults.latency(120);
    try {
      const t0 = Date.now();
      await core.listNamespace();
      assert.ok(Date.now() - t0 >= 110);
    } finally {
      sim.faults.clear();
    }
  });
});

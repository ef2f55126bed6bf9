/**
 * Member DNS configuration: the pure Corefile edits, and the CoreDNS reconciler against a fake
 * member whose ConfigMaps keep resourceVersions the way an API server does (a stale write is 409).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore, type Store } from '@fedns/store';
import type { ClusterConnections } from '../src/connections.js';
import { annotationKey, CoreDnsReconciler, type CoreDnsMember, type InClusterDnsState } from '../src/coredns.js';
import { corefileOutline, customKey, findMarked, importsCustomKey, renderServerBlocks, withMarkedBlock, withoutMarkedBlock } from '../src/corefile.js';
import { SILENT } from '../src/logger.js';
import { FEDERATION_LABEL, OWNER_ANNOTATION } from '../src/ownership.js';

const KUBEADM = `.:53 {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    reload
}
`;
const AKS = `.:53 {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa
    forward . /etc/resolv.conf
    cache 30
    reload
    import custom/*.override
}
import custom/*.server
`;

const spec = { federation: 'myfed', clusterDomain: 'cluster.local.', cluster: 'c1', suffix: 'clusters.fedns.internal.', forwardTo: ['127.0.0.1:5353'] };

describe('Corefile edits', () => {
  it('renders the block with stock plugins: rewrite suffix + answer auto, forward, cache over both zones', () => {
    assert.equal(
      renderServerBlocks(spec),
      `myfed.svc.cluster.local:53 {
    rewrite name suffix myfed.svc.cluster.local. myfed.svc.c1.clusters.fedns.internal. answer auto
    forward . 127.0.0.1:5353
    cache 30 myfed.svc.cluster.local. myfed.svc.c1.clusters.fedns.internal.
}
`,
    );
    const mcs = renderServerBlocks({ ...spec, clustersetDomain: 'clusterset.local.' });
    assert.match(mcs, /^svc\.clusterset\.local:53 \{\n {4}rewrite name suffix svc\.clusterset\.local\. myfed\.svc\.c1\.clusters\.fedns\.internal\. answer auto$/m);
  });

  it('adding and removing the marked block gives the text back byte for byte', () => {
    for (const original of [KUBEADM, KUBEADM.trimEnd(), `${KUBEADM}\n\n`, '', AKS]) {
      const withBlock = withMarkedBlock(original, 'myfed', 'id-1', renderServerBlocks(spec));
      assert.ok(withBlock.startsWith(original));
      const found = findMarked(withBlock, 'myfed');
      assert.ok(found && found !== 'damaged');
      assert.equal(found.owner, 'id-1');
      assert.equal(withoutMarkedBlock(withBlock, 'myfed'), original);
      // Replacing the block (a new forward address) leaves everything around it alone.
      const changed = withMarkedBlock(withBlock, 'myfed', 'id-1', renderServerBlocks({ ...spec, forwardTo: ['192.0.2.53:53'] }));
      assert.equal(withoutMarkedBlock(changed, 'myfed'), original);
    }
    // Text someone added after the block survives its removal (the blank line fedns put before the block goes).
    const after = `${withMarkedBlock(KUBEADM, 'myfed', 'id-1', 'x\n')}example.org:53 {\n    whoami\n}\n`;
    assert.equal(withoutMarkedBlock(after, 'myfed'), `${KUBEADM}example.org:53 {\n    whoami\n}\n`);
    // Another federation's block is another pair of markers.
    const two = withMarkedBlock(withMarkedBlock(KUBEADM, 'myfed', 'id-1', 'a\n'), 'myfed2', 'id-2', 'b\n');
    assert.equal(withoutMarkedBlock(withoutMarkedBlock(two, 'myfed2'), 'myfed'), KUBEADM);
  });

  it('damaged markers are reported, never edited', () => {
    const broken = withMarkedBlock(KUBEADM, 'myfed', 'id-1', 'x\n').replace(/# END fedns federation=myfed\n/, '');
    assert.equal(findMarked(broken, 'myfed'), 'damaged');
    assert.throws(() => withoutMarkedBlock(broken, 'myfed'), /damaged/);
  });

  it('outlines the top-level zones and imports; knows whether coredns-custom keys are imported', () => {
    assert.deepEqual(corefileOutline(KUBEADM), { zones: ['.'], imports: [] });
    assert.deepEqual(corefileOutline(`${AKS}a.example b.example:53 {\n}\nc.example:1053 {\n}\n`), { zones: ['.', 'a.example.', 'b.example.'], imports: ['custom/*.server'] });
    assert.equal(importsCustomKey(AKS, customKey('myfed')), true);
    assert.equal(importsCustomKey(AKS.replace('custom/*.server', '/etc/coredns/custom/*.server'), 'fedns-myfed.server'), true);
    assert.equal(importsCustomKey(KUBEADM, 'fedns-myfed.server'), false);
    // An import inside the default block imports *.override, not server blocks.
    assert.equal(importsCustomKey(AKS.replace('import custom/*.server\n', ''), 'fedns-myfed.server'), false);
  });
});

interface Cm {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** A member with ConfigMaps that behave like the API server's: resourceVersion checked on replace, 404s, 409s. */
function fakeMember(configMaps: Cm[], namespaces: string[] = []) {
  let rv = 100;
  const cms = new Map<string, Cm>(configMaps.map((c) => [c.metadata.name, { ...structuredClone(c), metadata: { ...c.metadata, resourceVersion: String(rv++), uid: `uid-${c.metadata.name}` } }]));
  const calls: string[] = [];
  /** Runs before a replace is checked: a concurrent writer can get in here. */
  let beforeReplace: ((name: string) => void) | undefined;
  const err = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });
  const member: CoreDnsMember & { calls: string[]; cms: Map<string, Cm>; edit(name: string, fn: (c: Cm) => void): void; set beforeReplace(f: ((name: string) => void) | undefined) } = {
    name: 'c1',
    calls,
    cms,
    edit(name, fn) {
      const c = cms.get(name) as Cm;
      fn(c);
      c.metadata.resourceVersion = String(rv++);
    },
    set beforeReplace(f: ((name: string) => void) | undefined) {
      beforeReplace = f;
    },
    core: {
      readNamespacedConfigMap: (async ({ name }: { name: string }) => {
        const c = cms.get(name);
        if (!c) throw err(404);
        return structuredClone(c);
      }) as never,
      replaceNamespacedConfigMap: (async ({ name, body }: { name: string; body: Cm }) => {
        calls.push(`replace ${name}`);
        beforeReplace?.(name);
        const cur = cms.get(name);
        if (!cur) throw err(404);
        if (body.metadata.resourceVersion !== cur.metadata.resourceVersion) throw err(409);
        const next = structuredClone(body);
        next.metadata.resourceVersion = String(rv++);
        cms.set(name, next);
        return next;
      }) as never,
      createNamespacedConfigMap: (async ({ body }: { body: Cm }) => {
        calls.push(`create ${body.metadata.name}`);
        if (cms.has(body.metadata.name)) throw err(409);
        cms.set(body.metadata.name, { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(rv++), uid: `uid-${body.metadata.name}` } });
        return body;
      }) as never,
      deleteNamespacedConfigMap: (async ({ name }: { name: string }) => {
        calls.push(`delete ${name}`);
        if (!cms.delete(name)) throw err(404);
        return {};
      }) as never,
      readNamespace: (async ({ name }: { name: string }) => {
        if (!namespaces.includes(name)) throw err(404);
        return { metadata: { name } };
      }) as never,
    },
  };
  return member;
}

const me = { federation: 'myfed', installationId: 'id-me' };
const settings = { forwardTo: ['127.0.0.1:5353'], suffix: 'clusters.fedns.internal.' };

async function setup(member: ReturnType<typeof fakeMember>, opts: { settings?: typeof settings | undefined; clusterDomain?: string } = { settings }) {
  const store: Store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'fedns-coredns-')) });
  await store.createObject({ kind: 'clusters', namespace: '', name: 'c1', uid: 'u1', object: { metadata: { name: 'c1' }, spec: opts.clusterDomain ? { clusterDomain: opts.clusterDomain } : {} } });
  const conn = { name: 'c1', member, reachable: true };
  const connections = { get: (n: string) => (n === 'c1' ? conn : undefined), observable: () => true } as unknown as ClusterConnections;
  const changed: string[] = [];
  let conflicts = 0;
  const rec = new CoreDnsReconciler({
    store,
    connections,
    owner: me,
    ...(opts.settings ? { settings: opts.settings } : {}),
    log: SILENT,
    onStateChanged: (c) => changed.push(c),
    onConflict: () => conflicts++,
  });
  /** Reconciles until it asks for no immediate retry, as the work queue would. */
  const converge = async () => {
    for (let i = 0; i < 5; i++) if ((await rec.reconcile('c1'))?.requeueAfterMs !== 0) return;
    throw new Error('did not converge');
  };
  return { store, rec, changed, converge, conflicts: () => conflicts };
}

const corefileOf = (m: ReturnType<typeof fakeMember>) => m.cms.get('coredns')?.data?.Corefile ?? '';
const coredns = (corefile: string, extra: Partial<Cm['metadata']> = {}): Cm => ({ metadata: { name: 'coredns', namespace: 'kube-system', ...extra }, data: { Corefile: corefile } });

describe('CoreDNS reconciler', () => {
  it('writes a marked block into kube-system/coredns (kubeadm: no imports), with the ownership annotation; the condition says so', async () => {
    const m = fakeMember([coredns(KUBEADM)]);
    const { rec, converge } = await setup(m);
    await converge();
    const text = corefileOf(m);
    assert.ok(text.startsWith(KUBEADM));
    const found = findMarked(text, 'myfed');
    assert.ok(found && found !== 'damaged' && found.owner === 'id-me');
    assert.match(found.body, /rewrite name suffix myfed\.svc\.cluster\.local\. myfed\.svc\.c1\.clusters\.fedns\.internal\. answer auto/);
    assert.equal(m.cms.get('coredns')?.metadata.annotations?.[annotationKey('myfed')], 'id-me');
    assert.equal(rec.state('c1')?.status, 'True');
    assert.equal(rec.state('c1')?.reason, 'Configured');
    // Level-triggered: nothing to do the second time.
    const writes = m.calls.length;
    await converge();
    assert.equal(m.calls.length, writes);
  });

  it('restores a hand edit of the block, and keeps edits outside it', async () => {
    const m = fakeMember([coredns(KUBEADM)]);
    const { converge } = await setup(m);
    await converge();
    const good = corefileOf(m);
    m.edit('coredns', (c) => {
      c.data = { Corefile: (c.data?.Corefile ?? '').replace('forward . 127.0.0.1:5353', 'forward . 10.9.9.9').replace('    errors\n', '    errors\n    log\n') };
    });
    await converge();
    assert.equal(corefileOf(m), good.replace('    errors\n', '    errors\n    log\n'));
  });

  it('a concurrent edit between read and write (409) is retried on a fresh read, losing neither change', async () => {
    const m = fakeMember([coredns(KUBEADM)]);
    const { converge, conflicts } = await setup(m);
    let raced = false;
    m.beforeReplace = (name) => {
      if (raced || name !== 'coredns') return;
      raced = true;
      m.edit('coredns', (c) => {
        c.metadata.labels = { edited: 'concurrently' };
      });
    };
    await converge();
    assert.equal(conflicts(), 1);
    assert.deepEqual(m.cms.get('coredns')?.metadata.labels, { edited: 'concurrently' });
    assert.ok(findMarked(corefileOf(m), 'myfed'));
  });

  it('unjoin takes the block out through the detached client: the ConfigMap is byte for byte as before', async () => {
    const original = coredns(KUBEADM, { labels: { 'k8s-app': 'kube-dns' } });
    const m = fakeMember([original]);
    const { store, rec, converge } = await setup(m);
    const before = structuredClone(m.cms.get('coredns') as Cm);
    await converge();
    assert.notEqual(corefileOf(m), KUBEADM);
    await store.deleteObject('clusters', '', 'c1');
    rec.detach('c1', m);
    await rec.reconcile('c1');
    const afterCm = m.cms.get('coredns') as Cm;
    assert.equal(afterCm.data?.Corefile, KUBEADM);
    assert.deepEqual({ ...afterCm.metadata, resourceVersion: undefined }, { ...before.metadata, resourceVersion: undefined });
    assert.equal(rec.state('c1'), undefined);
  });

  it('where the Corefile imports coredns-custom *.server: the key there (creating the ConfigMap, marked as ours), deleted again on removal', async () => {
    const m = fakeMember([coredns(AKS)]);
    const { store, rec, converge } = await setup(m);
    await converge();
    assert.equal(corefileOf(m), AKS);
    const custom = m.cms.get('coredns-custom') as Cm;
    assert.equal(custom.metadata.labels?.[FEDERATION_LABEL], 'myfed');
    assert.equal(custom.metadata.annotations?.[OWNER_ANNOTATION], 'id-me');
    assert.ok(findMarked(custom.data?.[customKey('myfed')] ?? '', 'myfed'));
    assert.match(rec.state('c1')?.message ?? '', /coredns-custom key fedns-myfed\.server/);
    await store.deleteObject('clusters', '', 'c1');
    rec.detach('c1', m);
    await rec.reconcile('c1');
    assert.equal(m.cms.has('coredns-custom'), false);
  });

  it("a coredns-custom that already exists keeps its other keys and its metadata", async () => {
    const existing: Cm = { metadata: { name: 'coredns-custom', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } }, data: { 'corp.server': 'corp.example:53 {\n    forward . 10.0.0.1\n}\n' } };
    const m = fakeMember([coredns(AKS), existing]);
    const { store, rec, converge } = await setup(m);
    await converge();
    assert.deepEqual(Object.keys(m.cms.get('coredns-custom')?.data ?? {}).sort(), ['corp.server', 'fedns-myfed.server']);
    await store.deleteObject('clusters', '', 'c1');
    rec.detach('c1', m);
    await rec.reconcile('c1');
    const after = m.cms.get('coredns-custom') as Cm;
    assert.deepEqual(after.data, existing.data);
    assert.deepEqual(after.metadata.labels, existing.metadata.labels);
    assert.equal(after.metadata.annotations, undefined);
  });

  it('moves the block when the Corefile starts importing coredns-custom', async () => {
    const m = fakeMember([coredns(KUBEADM)]);
    const { converge } = await setup(m);
    await converge();
    m.edit('coredns', (c) => {
      c.data = { Corefile: withoutMarkedBlock(c.data?.Corefile ?? '', 'myfed').replace(KUBEADM, AKS) + (findMarked(c.data?.Corefile ?? '', 'myfed') ? `\n${(c.data?.Corefile ?? '').slice(KUBEADM.length + 1)}` : '') };
    });
    await converge();
    assert.equal(corefileOf(m), AKS);
    assert.ok(m.cms.get('coredns-custom')?.data?.[customKey('myfed')]);
  });

  it('refuses a member with a namespace named like the federation, another block for the zone, or another installation’s block', async () => {
    const cases: [ReturnType<typeof fakeMember>, string][] = [
      [fakeMember([coredns(KUBEADM)], ['myfed']), 'NamespaceConflict'],
      [fakeMember([coredns(`${KUBEADM}myfed.svc.cluster.local:53 {\n    whoami\n}\n`)]), 'ZoneTaken'],
      [fakeMember([coredns(withMarkedBlock(KUBEADM, 'myfed', 'someone-else', 'x.example:53 {\n}\n'))]), 'OwnedByAnotherInstallation'],
      [fakeMember([coredns(`${KUBEADM}# BEGIN fedns federation=myfed owner-id=id-me\n`)]), 'MarkersDamaged'],
    ];
    for (const [m, reason] of cases) {
      const before = corefileOf(m);
      const { rec, converge } = await setup(m);
      await converge();
      const s = rec.state('c1') as InClusterDnsState;
      assert.equal(s.status, 'False', reason);
      assert.equal(s.reason, reason);
      assert.equal(corefileOf(m), before, reason);
    }
  });

  it('a namespace created later takes the block out again; off (no settings) takes it out too', async () => {
    const namespaces: string[] = [];
    const m = fakeMember([coredns(KUBEADM)], namespaces);
    const { converge, rec } = await setup(m);
    await converge();
    namespaces.push('myfed');
    await converge();
    assert.equal(corefileOf(m), KUBEADM);
    assert.equal(rec.state('c1')?.reason, 'NamespaceConflict');
    const m2 = fakeMember([coredns(withMarkedBlock(KUBEADM, 'myfed', 'id-me', 'x\n'))]);
    const off = await setup(m2, { settings: undefined });
    await off.converge();
    assert.equal(corefileOf(m2), KUBEADM);
    assert.equal(off.rec.state('c1')?.reason, 'Disabled');
  });

  it('the cluster domain comes from the Cluster spec', async () => {
    const m = fakeMember([coredns(KUBEADM.replace('cluster.local', 'corp.internal'))]);
    const { converge } = await setup(m, { settings, clusterDomain: 'corp.internal' });
    await converge();
    assert.match(corefileOf(m), /^myfed\.svc\.corp\.internal:53 \{$/m);
  });
});

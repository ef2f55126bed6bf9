/**
 * The Kubernetes manifests under deploy/, rendered with the real `kubectl kustomize` (no cluster
 * needed) and checked: kinds, replicas, probes, images, ports (DNS 53 → 5353 over UDP and TCP),
 * securityContext, disruption budgets and spreading, no secret as a value (only Secret files and
 * secretKeyRef), and every fedns container's command line and environment parsed by fedns's own
 * flag parser with its mounted config file — so a flag, path or key the code does not know fails here.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './helpers.js';
import { argProblems, literalEnvProblems, parseContainerCommand, ROLES, type Role, storeUrlProblems } from './deploy-helpers.js';

const execFileP = promisify(execFile);

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects, checked field by field
type Obj = Record<string, any>;

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Volume {
  name: string;
  secret?: { secretName: string; items?: { key: string; path: string }[]; defaultMode?: number };
  configMap?: { name: string; items?: { key: string; path: string }[] };
  emptyDir?: object;
  persistentVolumeClaim?: object;
}

async function render(dir: string): Promise<Obj[]> {
  const { stdout } = await execFileP('kubectl', ['kustomize', join(ROOT, dir)], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
}

const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `${kind} ${name}`);
  return o;
};

const DEPLOYMENT: Record<Role, string> = { controller: 'fedns-controller', apiserver: 'fedns-apiserver', nameserver: 'fedns-nameserver' };

/** A file a container sees at `path`: which volume (and Secret or ConfigMap key) provides it. */
function fileSource(pod: Obj, container: Obj, path: string, objs: Obj[]): { volume: Volume; key: string; content?: string } | undefined {
  for (const m of container.volumeMounts ?? []) {
    const mountPath = String(m.mountPath).replace(/\/$/, '');
    if (!path.startsWith(`${mountPath}/`)) continue;
    const rel = path.slice(mountPath.length + 1);
    const volume = (pod.spec.volumes as Volume[]).find((v) => v.name === m.name);
    if (!volume) return undefined;
    const items = volume.secret?.items ?? volume.configMap?.items;
    const key = items ? items.find((i) => i.path === rel)?.key : rel;
    if (key === undefined) return undefined;
    const content = volume.configMap ? find(objs, 'ConfigMap', volume.configMap.name).data?.[key] : undefined;
    return { volume, key, content };
  }
  return undefined;
}

/** The container's environment as the process sees it (Secret values excepted), and its mounted config file. */
function containerEnv(pod: Obj, container: Obj, objs: Obj[]): { env: Record<string, string>; files: Record<string, string> } {
  const env: Record<string, string> = {};
  for (const e of (container.env ?? []) as EnvVar[]) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.configMapKeyRef) {
      const cm = find(objs, 'ConfigMap', e.valueFrom.configMapKeyRef.name);
      const v = cm.data?.[e.valueFrom.configMapKeyRef.key];
      assert.ok(typeof v === 'string', `${e.name}: ConfigMap ${cm.metadata.name} has key ${e.valueFrom.configMapKeyRef.key}`);
      env[e.name] = v;
    } else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = `${pod.metadata?.name ?? 'fedns'}-7d9f8c6b5-x2x4q`;
  }
  const files: Record<string, string> = {};
  const configPath = env.FEDNS_CONFIG;
  if (configPath) {
    const src = fileSource(pod, container, configPath, objs);
    assert.ok(src?.content !== undefined, `${configPath} is a mounted ConfigMap key`);
    files[configPath] = src.content;
  }
  return { env, files };
}

/** The Secret (name and key) a mounted file comes from, or undefined when it is not a Secret. */
function secretFile(pod: Obj, container: Obj, path: string | undefined, objs: Obj[]): { secret: string; key: string } | undefined {
  if (!path) return undefined;
  const src = fileSource(pod, container, path, objs);
  return src?.volume.secret ? { secret: src.volume.secret.secretName, key: src.key } : undefined;
}

const port = (container: Obj, ref: string | number): Obj | undefined => (container.ports as Obj[]).find((p) => p.name === ref || p.containerPort === ref);

/** Checks common to every rendering; returns the parsed command of each role for more checks. */
function checkFedns(objs: Obj[], what: string) {
  // Every namespaced object lives in the fedns namespace, and nothing here is a Secret.
  for (const o of objs) {
    if (o.kind === 'Namespace') continue;
    assert.equal(o.metadata?.namespace, 'fedns', `${what}: ${o.kind} ${o.metadata?.name} in namespace fedns`);
  }
  assert.deepEqual(
    objs.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name),
    [],
    `${what}: secrets are referenced, never rendered from this repository`,
  );
  const sa = find(objs, 'ServiceAccount', 'fedns');
  assert.equal(sa.automountServiceAccountToken, false, 'fedns does not call the host cluster API');

  const parsed = {} as Record<Role, { cmd: ReturnType<typeof parseContainerCommand>; pod: Obj; container: Obj; deployment: Obj }>;
  for (const role of ROLES) {
    const d = find(objs, 'Deployment', DEPLOYMENT[role]);
    const pod = d.spec.template;
    const label = `${what}: ${role}`;
    // Selector ↔ pod labels.
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) assert.equal(pod.metadata.labels[k], v, `${label}: selector ${k}`);
    assert.equal(pod.metadata.labels['app.kubernetes.io/component'], role);
    assert.equal(pod.spec.serviceAccountName, 'fedns', label);
    assert.equal(pod.spec.automountServiceAccountToken, false, label);
    const sc = pod.spec.securityContext;
    assert.equal(sc.runAsNonRoot, true, `${label}: runAsNonRoot`);
    assert.ok(Number.isInteger(sc.runAsUser) && sc.runAsUser > 0, `${label}: a non-root uid`);
    assert.equal(sc.seccompProfile?.type, 'RuntimeDefault', label);
    assert.equal(pod.spec.hostNetwork, undefined, `${label}: no host network`);
    assert.equal(pod.spec.containers.length, 1, label);
    const c = pod.spec.containers[0];
    assert.match(c.image, /^fedns:\d+\.\d+\.\d+$/, `${label}: the fedns image at a fixed version, never latest`);
    assert.equal(c.command, undefined, `${label}: the image's entrypoint (fedns)`);
    assert.equal(c.args[0], role, `${label}: fedns ${role}`);
    const csc = c.securityContext;
    assert.equal(csc.allowPrivilegeEscalation, false, label);
    assert.equal(csc.readOnlyRootFilesystem, true, label);
    assert.equal(csc.privileged ?? false, false, label);
    assert.deepEqual(csc.capabilities?.drop, ['ALL'], `${label}: every capability dropped`);
    assert.equal(csc.capabilities?.add, undefined, `${label}: none added`);
    for (const r of ['cpu', 'memory']) {
      assert.ok(c.resources?.requests?.[r], `${label}: requests.${r}`);
      assert.ok(c.resources?.limits?.[r], `${label}: limits.${r}`);
    }
    // With a read-only root file system, tsx's cache needs a writable /tmp.
    const tmp = (c.volumeMounts as Obj[]).find((m) => m.mountPath === '/tmp');
    assert.ok(tmp && !tmp.readOnly && (pod.spec.volumes as Volume[]).find((v) => v.name === tmp.name)?.emptyDir, `${label}: /tmp is a writable emptyDir`);
    for (const m of c.volumeMounts as Obj[]) {
      const v = (pod.spec.volumes as Volume[]).find((x) => x.name === m.name);
      if (v?.secret || v?.configMap) assert.equal(m.readOnly, true, `${label}: ${m.mountPath} mounted read-only`);
    }

    // No secret as a value: env values, args.
    for (const e of (c.env ?? []) as EnvVar[]) {
      if (e.valueFrom?.secretKeyRef) continue;
      if (e.valueFrom?.configMapKeyRef) {
        assert.doesNotMatch(e.name, /PASSWORD|SECRET|TOKEN|TSIG|COOKIE/, `${label}: ${e.name} from a ConfigMap`);
      }
    }
    const { env, files } = containerEnv(pod, c, objs);
    assert.deepEqual(literalEnvProblems(env), [], label);
    assert.deepEqual(argProblems(c.args), [], label);
    assert.equal(env.PGPASSWORD, undefined, `${label}: the password is a file (--store-password-file)`);

    // The command line and environment parse as fedns would parse them, with the mounted config file.
    const cmd = parseContainerCommand(c.args, env, files);
    assert.equal(cmd.verb, role, label);
    assert.deepEqual(storeUrlProblems(cmd.config.store), [], `${label}: the store URL`);
    assert.equal(cmd.config.apiListen.host, '0.0.0.0', `${label}: the HTTP listener is reachable for probes`);
    const pw = secretFile(pod, c, cmd.config.storePasswordFile, objs);
    assert.ok(pw, `${label}: --store-password-file ${cmd.config.storePasswordFile} is a mounted Secret key`);
    const key = secretFile(pod, c, env.FEDNS_SECRET_KEY_FILE, objs);
    if (role === 'nameserver') {
      assert.equal(env.FEDNS_SECRET_KEY_FILE, undefined, `${label}: a nameserver never reads credentials`);
      assert.ok(!(pod.spec.volumes as Volume[]).some((v) => v.secret?.secretName === 'fedns-secret-key'), `${label}: no credentials key mounted`);
    } else {
      assert.deepEqual(key, { secret: 'fedns-secret-key', key: 'secret.key' }, `${label}: --secret-key-file is the shared key`);
    }
    assert.ok(cmd.config.id?.startsWith('fedns'), `${label}: --id from the pod name`);

    // Probes: /readyz and /livez on the role's HTTP listener (HTTPS for the API server).
    const listener = port(c, cmd.config.apiListen.port);
    assert.ok(listener, `${label}: a container port for --api-listen ${cmd.config.apiListen.port}`);
    const scheme = role === 'apiserver' ? 'HTTPS' : undefined;
    for (const [probe, path] of [
      ['readinessProbe', '/readyz'],
      ['livenessProbe', '/livez'],
    ] as const) {
      const get = c[probe]?.httpGet;
      assert.ok(get, `${label}: ${probe}`);
      assert.equal(get.path, path, `${label}: ${probe}`);
      assert.equal(port(c, get.port), listener, `${label}: ${probe} on the --api-listen port`);
      assert.equal(get.scheme, scheme, `${label}: ${probe} scheme`);
    }
    parsed[role] = { cmd, pod, container: c, deployment: d };
  }

  // The API server: tokens and TLS from Secrets; its Service on 443.
  const api = parsed.apiserver;
  assert.equal(api.cmd.config.insecureApi, false);
  assert.deepEqual(secretFile(api.pod, api.container, api.cmd.config.tokenAuthFile, objs), { secret: 'fedns-api-tokens', key: 'tokens.csv' });
  assert.deepEqual(secretFile(api.pod, api.container, api.cmd.config.tls?.certFile, objs), { secret: 'fedns-api-tls', key: 'tls.crt' });
  assert.deepEqual(secretFile(api.pod, api.container, api.cmd.config.tls?.keyFile, objs), { secret: 'fedns-api-tls', key: 'tls.key' });
  const apiSvc = find(objs, 'Service', 'fedns-api');
  assert.deepEqual(apiSvc.spec.selector, api.deployment.spec.selector.matchLabels);
  assert.equal(port(api.container, apiSvc.spec.ports[0].targetPort)?.containerPort, api.cmd.config.apiListen.port);
  assert.equal(apiSvc.spec.ports[0].port, 443);

  // The nameserver: 5353 in the container over UDP and TCP, 53 at the Services; optional DNS secrets by reference only.
  const ns = parsed.nameserver;
  assert.equal(ns.cmd.config.dnsListen.port, 5353, 'no port below 1024 in the container: no NET_BIND_SERVICE needed');
  for (const proto of ['UDP', 'TCP']) {
    const p = (ns.container.ports as Obj[]).find((x) => x.containerPort === ns.cmd.config.dnsListen.port && (x.protocol ?? 'TCP') === proto);
    assert.ok(p, `nameserver container port 5353/${proto}`);
    for (const svcName of ['fedns-dns', 'fedns-nameserver']) {
      const svc = find(objs, 'Service', svcName);
      assert.deepEqual(svc.spec.selector, ns.deployment.spec.selector.matchLabels, svcName);
      const sp = (svc.spec.ports as Obj[]).find((x) => x.protocol === proto && x.port === 53);
      assert.ok(sp, `${svcName}: 53/${proto}`);
      assert.equal(port(ns.container, sp.targetPort), p, `${svcName}: 53/${proto} → 5353/${proto}`);
    }
  }
  const dnsSvc = find(objs, 'Service', 'fedns-dns');
  if (dnsSvc.spec.type === 'LoadBalancer' || dnsSvc.spec.type === 'NodePort') {
    assert.equal(dnsSvc.spec.externalTrafficPolicy, 'Local', "the client's address reaches RRL and the transfer ACL");
  }
  assert.ok(!(dnsSvc.spec.ports as Obj[]).some((p) => p.name === 'ops'), 'the ops endpoint is never published');
  for (const e of (ns.container.env ?? []) as EnvVar[]) {
    if (/TSIG|COOKIE/.test(e.name)) assert.equal(e.valueFrom?.secretKeyRef?.optional, true, `${e.name} from an optional Secret`);
  }
  // The controller's /readyz tells leader from standby; its Service is cluster-internal.
  assert.equal(find(objs, 'Service', 'fedns-controller').spec.type, 'ClusterIP');

  // Same store, same federation settings, for every role.
  const stores = new Set(ROLES.map((r) => parsed[r].cmd.config.store));
  assert.equal(stores.size, 1, `one store for every role: ${[...stores].join(', ')}`);
  const zone = (r: Role) => JSON.stringify([parsed[r].cmd.config.federation, parsed[r].cmd.config.zone, parsed[r].cmd.config.nameservers, parsed[r].cmd.config.soa]);
  assert.equal(new Set(ROLES.map(zone)).size, 1, 'one federation configuration');
  return parsed;
}

test('deploy/base: the HA shape, probes, security, secrets by reference, every command line parses', async () => {
  const objs = await render('deploy/base');
  const parsed = checkFedns(objs, 'base');
  assert.equal(parsed.controller.deployment.spec.replicas, 2, 'two controllers: a leader and a standby');
  assert.ok(parsed.apiserver.deployment.spec.replicas >= 2, 'API servers: 2+');
  assert.ok(parsed.nameserver.deployment.spec.replicas >= 2, 'nameservers: 2+');
  assert.equal(find(objs, 'Service', 'fedns-dns').spec.type, 'LoadBalancer');
  const kinds = new Set(objs.map((o) => o.kind));
  for (const k of ['Namespace', 'ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget']) assert.ok(kinds.has(k), k);

  for (const role of ROLES) {
    const { deployment, pod } = parsed[role];
    // A disruption budget that leaves one running, matching the pods.
    const pdb = objs.find((o) => o.kind === 'PodDisruptionBudget' && JSON.stringify(o.spec.selector.matchLabels) === JSON.stringify(deployment.spec.selector.matchLabels));
    assert.ok(pdb, `${role}: a PodDisruptionBudget`);
    const allowed = pdb.spec.maxUnavailable ?? deployment.spec.replicas - pdb.spec.minAvailable;
    assert.ok(allowed >= 1 && allowed < deployment.spec.replicas, `${role}: the budget lets a node drain and keeps one running`);
    // Spread over nodes and zones.
    const anti = pod.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm;
    assert.equal(anti?.topologyKey, 'kubernetes.io/hostname', `${role}: anti-affinity over nodes`);
    assert.deepEqual(anti?.labelSelector?.matchLabels, deployment.spec.selector.matchLabels);
    const spread = pod.spec.topologySpreadConstraints?.[0];
    assert.equal(spread?.topologyKey, 'topology.kubernetes.io/zone', `${role}: spread over zones`);
    assert.deepEqual(spread?.labelSelector?.matchLabels, deployment.spec.selector.matchLabels);
    assert.ok(parsed[role].container.startupProbe, `${role}: a startup probe covers tsx's first compile`);
  }
  // Rolling updates never take an API server or nameserver below its count.
  for (const role of ['apiserver', 'nameserver'] as const) assert.equal(parsed[role].deployment.spec.strategy.rollingUpdate.maxUnavailable, 0, role);
  // The base's PostgreSQL: a host named fedns-postgres, the password from the fedns-postgres Secret.
  assert.equal(new URL(parsed.controller.cmd.config.store ?? '').hostname, 'fedns-postgres');
  for (const role of ROLES) {
    assert.deepEqual(secretFile(parsed[role].pod, parsed[role].container, parsed[role].cmd.config.storePasswordFile, objs), { secret: 'fedns-postgres', key: 'password' }, role);
  }
});

test('deploy/overlays/trial: one of each role and a PostgreSQL 15 of its own', async () => {
  const objs = await render('deploy/overlays/trial');
  const parsed = checkFedns(objs, 'trial');
  for (const role of ROLES) assert.equal(parsed[role].deployment.spec.replicas, 1, role);
  assert.deepEqual(
    objs.filter((o) => o.kind === 'PodDisruptionBudget'),
    [],
    'no disruption budget that would block a drain with one replica',
  );
  assert.equal(find(objs, 'Service', 'fedns-dns').spec.type, 'NodePort');
  const store = new URL(parsed.controller.cmd.config.store ?? '');
  const pgSvc = find(objs, 'Service', store.hostname);
  assert.equal(pgSvc.spec.ports[0].port, Number(store.port || 5432));
  const sts = find(objs, 'StatefulSet', 'fedns-postgres');
  assert.deepEqual(pgSvc.spec.selector, sts.spec.selector.matchLabels);
  const pod = sts.spec.template;
  const pg = pod.spec.containers[0];
  assert.match(pg.image, /^postgres:15(\.|$|-)/);
  const env = Object.fromEntries((pg.env as EnvVar[]).map((e) => [e.name, e.value]));
  assert.equal(env.POSTGRES_PASSWORD, undefined);
  assert.deepEqual(literalEnvProblems(Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))), []);
  assert.equal(env.POSTGRES_USER, decodeURIComponent(store.username));
  assert.equal(env.POSTGRES_DB, store.pathname.slice(1));
  assert.deepEqual(secretFile(pod, pg, env.POSTGRES_PASSWORD_FILE, objs), { secret: 'fedns-postgres', key: 'password' }, 'the password fedns reads');
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  assert.equal(pg.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(pg.securityContext.capabilities.drop, ['ALL']);
  for (const dir of ['/var/run/postgresql', '/tmp', '/var/lib/postgresql/data']) {
    assert.ok((pg.volumeMounts as Obj[]).some((m) => m.mountPath === dir && !m.readOnly), `postgres can write ${dir}`);
  }
  assert.ok(sts.spec.volumeClaimTemplates?.length === 1, 'its data on a volume');
});

test('deploy/overlays/cloudnativepg: a 3-instance CloudNativePG cluster with synchronous ANY 1, its Secrets as files', async () => {
  const objs = await render('deploy/overlays/cloudnativepg');
  const parsed = checkFedns(objs, 'cloudnativepg');
  assert.equal(parsed.controller.deployment.spec.replicas, 2);
  const cluster = find(objs, 'Cluster', 'fedns-pg');
  assert.equal(cluster.apiVersion, 'postgresql.cnpg.io/v1');
  assert.equal(cluster.spec.instances, 3);
  assert.deepEqual(cluster.spec.postgresql.synchronous, { method: 'any', number: 1 });
  assert.match(cluster.spec.imageName, /^ghcr\.io\/cloudnative-pg\/postgresql:15(\.|$|-)/, 'PostgreSQL 15; the operator reads the major from the tag');
  assert.equal(cluster.spec.affinity?.enablePodAntiAffinity, true);
  // fedns connects to the operator's read-write Service, as the owner the operator bootstraps, over verified TLS.
  const store = new URL(parsed.controller.cmd.config.store ?? '');
  assert.equal(store.hostname, `${cluster.metadata.name}-rw`);
  assert.equal(decodeURIComponent(store.username), cluster.spec.bootstrap.initdb.owner);
  assert.equal(store.pathname.slice(1), cluster.spec.bootstrap.initdb.database);
  assert.equal(store.searchParams.get('sslmode'), 'verify-full');
  for (const role of ROLES) {
    const { pod, container, cmd } = parsed[role];
    assert.deepEqual(secretFile(pod, container, cmd.config.storePasswordFile, objs), { secret: `${cluster.metadata.name}-app`, key: 'password' }, `${role}: the operator's app Secret`);
    assert.deepEqual(secretFile(pod, container, store.searchParams.get('sslrootcert') ?? undefined, objs), { secret: `${cluster.metadata.name}-ca`, key: 'ca.crt' }, `${role}: the operator's CA`);
  }
  assert.ok(!objs.some((o) => o.kind === 'Deployment' && JSON.stringify(o).includes('"fedns-postgres"')), 'the base Secret is replaced everywhere');
});

/** meta.k8s.io Table responses (what `kubectl get` prints) and the built-in column sets. */
import type { KubeObject } from './types.js';
import { ageOf } from './util.js';

export interface TableColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

/** How one kind renders as a Table: its columns and a row function. */
export interface TableDef {
  columns: TableColumnDefinition[];
  cells(obj: KubeObject, now: number): unknown[];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

const col = (name: string, type: TableColumnDefinition['type'] = 'string', priority = 0, format = '', description = ''): TableColumnDefinition => ({
  name,
  type,
  format,
  description: description || name,
  priority,
});

const nameCol = col('Name', 'string', 0, 'name', 'Name must be unique within a namespace.');
const ageCol = col('Age', 'string', 0, '', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

/** PartialObjectMetadata for a row's `object` when includeObject=Metadata (the default). */
export function partialObjectMetadata(obj: KubeObject, apiVersion = 'meta.k8s.io/v1'): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: obj.metadata };
}

export function buildTable(
  def: TableDef,
  objs: KubeObject[],
  opts: { includeObject?: IncludeObject; resourceVersion?: string; continue?: string; apiVersion?: string; omitHeaders?: boolean } = {},
): Table {
  const now = Date.now();
  const include = opts.includeObject ?? 'Metadata';
  const apiVersion = opts.apiVersion ?? 'meta.k8s.io/v1';
  const table: Table = {
    kind: 'Table',
    apiVersion,
    metadata: { ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}), ...(opts.continue ? { continue: opts.continue } : {}) },
    columnDefinitions: opts.omitHeaders ? [] : def.columns,
    rows: objs.map((o) => {
      const row: TableRow = { cells: def.cells(o, now) };
      if (include === 'Object') row.object = o;
      else if (include === 'Metadata') row.object = partialObjectMetadata(o, apiVersion);
      return row;
    }),
  };
  return table;
}

/** NAME, AGE: the fallback for kinds without their own columns. */
export const genericTable: TableDef = {
  columns: [nameCol, ageCol],
  cells: (o, now) => [o.metadata.name, ageOf(o.metadata.creationTimestamp, now)],
};

const joinOr = (xs: string[], none: string) => (xs.length ? xs.join(',') : none);

function servicePorts(svc: KubeObject): string {
  const ports = (svc.spec?.ports ?? []) as { port: number; nodePort?: number; protocol?: string }[];
  if (!ports.length) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

function serviceExternalIP(svc: KubeObject): string {
  const type = svc.spec?.type ?? 'ClusterIP';
  const externalIPs = (svc.spec?.externalIPs ?? []) as string[];
  switch (type) {
    case 'ExternalName':
      return svc.spec?.externalName ?? '<none>';
    case 'LoadBalancer': {
      const ingress = ((svc.status?.loadBalancer?.ingress ?? []) as { ip?: string; hostname?: string }[])
        .map((i) => i.ip || i.hostname || '')
        .filter(Boolean);
      const all = [...ingress, ...externalIPs];
      return all.length ? all.join(',') : '<pending>';
    }
    default:
      return joinOr(externalIPs, '<none>');
  }
}

const selectorString = (sel: Record<string, string> | undefined) =>
  sel && Object.keys(sel).length ? Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',') : '<none>';

export const serviceTable: TableDef = {
  columns: [
    nameCol,
    col('Type', 'string', 0, '', 'The type of the service.'),
    col('Cluster-IP', 'string', 0, '', 'The IP address of the service.'),
    col('External-IP', 'string', 0, '', 'The external IP address of the service.'),
    col('Port(s)', 'string', 0, '', 'The port(s) of the service.'),
    ageCol,
    col('Selector', 'string', 1, '', 'The label selector of the service.'),
  ],
  cells: (o, now) => [
    o.metadata.name,
    o.spec?.type ?? 'ClusterIP',
    o.spec?.clusterIP || '<none>',
    serviceExternalIP(o),
    servicePorts(o),
    ageOf(o.metadata.creationTimestamp, now),
    selectorString(o.spec?.selector),
  ],
};

interface ContainerStatusLike {
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string }; terminated?: { reason?: string; exitCode?: number } };
}

function podStatusReason(pod: KubeObject): string {
  let reason: string = pod.status?.reason || pod.status?.phase || 'Pending';
  const statuses = (pod.status?.containerStatuses ?? []) as ContainerStatusLike[];
  for (const cs of statuses) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state?.terminated?.reason) reason = cs.state.terminated.reason;
  }
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return reason;
}

export const podTable: TableDef = {
  columns: [
    nameCol,
    col('Ready', 'string', 0, '', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'string', 0, '', 'The aggregate status of the containers in this pod.'),
    col('Restarts', 'string', 0, '', 'The number of times the containers in this pod have been restarted.'),
    ageCol,
    col('IP', 'string', 1, '', 'IP address allocated to the pod.'),
    col('Node', 'string', 1, '', 'Name of the node the pod is assigned to.'),
    col('Nominated Node', 'string', 1, '', 'Name of the node the pod is nominated to.'),
    col('Readiness Gates', 'string', 1, '', 'Readiness gates.'),
  ],
  cells: (o, now) => {
    const containers = (o.spec?.containers ?? []) as unknown[];
    const statuses = (o.status?.containerStatuses ?? []) as ContainerStatusLike[];
    const ready = statuses.filter((s) => s.ready).length;
    const restarts = statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0);
    return [
      o.metadata.name,
      `${ready}/${containers.length}`,
      podStatusReason(o),
      String(restarts),
      ageOf(o.metadata.creationTimestamp, now),
      o.status?.podIP || '<none>',
      o.spec?.nodeName || '<none>',
      o.status?.nominatedNodeName || '<none>',
      '<none>',
    ];
  },
};

function nodeRoles(node: KubeObject): string {
  const roles: string[] = [];
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.push(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.push(v);
  }
  return joinOr(roles.sort(), '<none>');
}

function nodeStatus(node: KubeObject): string {
  const conds = (node.status?.conditions ?? []) as { type: string; status: string }[];
  const ready = conds.find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

const nodeAddress = (node: KubeObject, type: string) =>
  ((node.status?.addresses ?? []) as { type: string; address: string }[]).find((a) => a.type === type)?.address ?? '<none>';

export const nodeTable: TableDef = {
  columns: [
    nameCol,
    col('Status', 'string', 0, '', 'The status of the node'),
    col('Roles', 'string', 0, '', 'The roles of the node'),
    ageCol,
    col('Version', 'string', 0, '', 'Kubelet Version reported by the node.'),
    col('Internal-IP', 'string', 1, '', 'List of internal IPs.'),
    col('External-IP', 'string', 1, '', 'List of external IPs.'),
    col('OS-Image', 'string', 1, '', 'OS Image reported by the node.'),
    col('Kernel-Version', 'string', 1, '', 'Kernel Version reported by the node.'),
    col('Container-Runtime', 'string', 1, '', 'Container Runtime Version reported by the node.'),
  ],
  cells: (o, now) => [
    o.metadata.name,
    nodeStatus(o),
    nodeRoles(o),
    ageOf(o.metadata.creationTimestamp, now),
    o.status?.nodeInfo?.kubeletVersion ?? '',
    nodeAddress(o, 'InternalIP'),
    nodeAddress(o, 'ExternalIP'),
    o.status?.nodeInfo?.osImage ?? '<unknown>',
    o.status?.nodeInfo?.kernelVersion ?? '<unknown>',
    o.status?.nodeInfo?.containerRuntimeVersion ?? '<unknown>',
  ],
};

export const namespaceTable: TableDef = {
  columns: [nameCol, col('Status', 'string', 0, '', 'The status of the namespace'), ageCol],
  cells: (o, now) => [o.metadata.name, o.status?.phase ?? 'Active', ageOf(o.metadata.creationTimestamp, now)],
};

function formatEndpointsList(addrs: string[], max = 3): string {
  if (!addrs.length) return '<none>';
  const shown = addrs.slice(0, max).join(',');
  return addrs.length > max ? `${shown} + ${addrs.length - max} more...` : shown;
}

export const endpointSliceTable: TableDef = {
  columns: [
    nameCol,
    col('AddressType', 'string', 0, '', 'The IP protocol for this slice'),
    col('Ports', 'string', 0, '', 'The ports for this slice'),
    col('Endpoints', 'string', 0, '', 'The endpoints for this slice'),
    ageCol,
  ],
  cells: (o, now) => {
    const ports = ((o.ports ?? []) as { port?: number }[]).map((p) => (p.port === undefined ? '<unset>' : String(p.port)));
    const addrs = ((o.endpoints ?? []) as { addresses?: string[] }[]).flatMap((e) => e.addresses ?? []);
    return [o.metadata.name, o.addressType ?? 'IPv4', joinOr(ports, '<unset>'), formatEndpointsList(addrs), ageOf(o.metadata.creationTimestamp, now)];
  },
};

export const endpointsTable: TableDef = {
  columns: [nameCol, col('Endpoints', 'string', 0, '', 'Endpoints of the service'), ageCol],
  cells: (o, now) => {
    const addrs: string[] = [];
    for (const s of (o.subsets ?? []) as { addresses?: { ip: string }[]; ports?: { port: number }[] }[]) {
      const ports = s.ports?.length ? s.ports : [undefined];
      for (const a of s.addresses ?? []) for (const p of ports) addrs.push(p ? `${a.ip}:${p.port}` : a.ip);
    }
    return [o.metadata.name, formatEndpointsList(addrs), ageOf(o.metadata.creationTimestamp, now)];
  },
};

export const configMapTable: TableDef = {
  columns: [nameCol, col('Data', 'integer', 0, '', 'Number of data entries'), ageCol],
  cells: (o, now) => [
    o.metadata.name,
    Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length,
    ageOf(o.metadata.creationTimestamp, now),
  ],
};

export const secretTable: TableDef = {
  columns: [nameCol, col('Type', 'string', 0, '', 'The type of the secret'), col('Data', 'integer', 0, '', 'Number of data entries'), ageCol],
  cells: (o, now) => [o.metadata.name, o.type ?? 'Opaque', Object.keys(o.data ?? {}).length, ageOf(o.metadata.creationTimestamp, now)],
};

export const serviceAccountTable: TableDef = {
  columns: [nameCol, col('Secrets', 'integer', 0, '', 'Number of secrets'), ageCol],
  cells: (o, now) => [o.metadata.name, (o.secrets ?? []).length, ageOf(o.metadata.creationTimestamp, now)],
};

export const eventTable: TableDef = {
  columns: [
    col('Last Seen', 'string', 0, '', 'Time since the event was last seen'),
    col('Type', 'string', 0, '', 'Event type'),
    col('Reason', 'string', 0, '', 'Reason'),
    col('Object', 'string', 0, '', 'Involved object'),
    col('Message', 'string', 0, '', 'Message'),
  ],
  cells: (o, now) => [
    ageOf(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp, now),
    o.type ?? 'Normal',
    o.reason ?? '',
    `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`,
    o.message ?? '',
  ],
};

/** Built-in column sets by "group/Kind" (core group: "/Kind"). */
export const builtinTables: Record<string, TableDef> = {
  '/Service': serviceTable,
  '/Pod': podTable,
  '/Node': nodeTable,
  '/Namespace': namespaceTable,
  '/ConfigMap': configMapTable,
  '/Secret': secretTable,
  '/ServiceAccount': serviceAccountTable,
  '/Endpoints': endpointsTable,
  '/Event': eventTable,
  'discovery.k8s.io/EndpointSlice': endpointSliceTable,
};

export function tableDefFor(group: string, kind: string): TableDef {
  return builtinTables[`${group}/${kind}`] ?? genericTable;
}

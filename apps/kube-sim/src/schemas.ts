/**
 * The OpenAPI schemas kube-sim serves: partial (unknown fields are kept, not validated), but with
 * the list semantics upstream declares for every list of these kinds (k8s.io/api 1.32 types:
 * +listType/+listMapKey and patchStrategy/patchMergeKey), which strategic merge patch and
 * server-side apply read through kubewire. A list not declared here is replaced by patches.
 */
import { atomicList, type JsonSchema, kindSchema, mapList, setList } from '@fedns/kubewire';

const str = { type: 'string' };
const obj = (properties: Record<string, JsonSchema> = {}): JsonSchema => ({ type: 'object', properties, 'x-kubernetes-preserve-unknown-fields': true });
const kind = (description: string, properties: Record<string, JsonSchema>): JsonSchema => ({
  ...kindSchema(description, properties),
  'x-kubernetes-preserve-unknown-fields': true,
});
const byType = () => mapList(obj({ type: str }), ['type']);
const byName = (properties: Record<string, JsonSchema> = {}) => mapList(obj({ name: str, ...properties }), ['name']);
const tcp = { type: 'string', default: 'TCP' };

const container = obj({
  command: atomicList(str),
  args: atomicList(str),
  ports: mapList(obj({ containerPort: { type: 'integer' }, protocol: tcp }), ['containerPort', 'protocol']),
  envFrom: atomicList(obj()),
  env: byName(),
  resizePolicy: atomicList(obj()),
  volumeMounts: mapList(obj({ mountPath: str }), ['mountPath']),
  volumeDevices: mapList(obj({ devicePath: str }), ['devicePath']),
});

export const namespaceSchema = kind('Namespace provides a scope for Names.', {
  spec: obj({ finalizers: atomicList(str) }),
  status: obj({ conditions: byType() }),
});

export const nodeSchema = kind('Node is a worker node in Kubernetes.', {
  spec: obj({ podCIDRs: setList(str, true), taints: atomicList(obj()) }),
  status: obj({
    conditions: byType(),
    addresses: byType(),
    images: atomicList(obj()),
    volumesInUse: atomicList(str),
    volumesAttached: atomicList(obj()),
    runtimeHandlers: atomicList(obj()),
  }),
});

export const serviceSchema = kind('Service is a named abstraction of software service consisting of local port(s) and a selector.', {
  spec: obj({
    ports: mapList(obj({ port: { type: 'integer' }, protocol: tcp }), ['port', 'protocol']),
    clusterIPs: atomicList(str),
    externalIPs: atomicList(str),
    loadBalancerSourceRanges: atomicList(str),
    ipFamilies: atomicList(str),
  }),
  status: obj({ loadBalancer: obj({ ingress: atomicList(obj({ ports: atomicList(obj()) })) }), conditions: byType() }),
});

export const podSchema = kind('Pod is a collection of containers that can run on a host.', {
  spec: obj({
    volumes: mapList(obj({ name: str }), ['name'], { strategy: 'merge,retainKeys' }),
    initContainers: mapList(container, ['name']),
    containers: mapList(container, ['name']),
    ephemeralContainers: mapList(container, ['name']),
    imagePullSecrets: byName(),
    tolerations: atomicList(obj()),
    hostAliases: mapList(obj({ ip: str }), ['ip']),
    readinessGates: atomicList(obj()),
    topologySpreadConstraints: mapList(obj({ topologyKey: str, whenUnsatisfiable: str }), ['topologyKey', 'whenUnsatisfiable']),
    schedulingGates: byName(),
    resourceClaims: mapList(obj({ name: str }), ['name'], { strategy: 'merge,retainKeys' }),
  }),
  status: obj({
    conditions: byType(),
    // atomic under server-side apply, merged by ip under strategic merge patch (as upstream)
    hostIPs: { ...atomicList(obj({ ip: str })), 'x-kubernetes-patch-merge-key': 'ip', 'x-kubernetes-patch-strategy': 'merge' },
    podIPs: mapList(obj({ ip: str }), ['ip']),
    initContainerStatuses: atomicList(obj()),
    containerStatuses: atomicList(obj()),
    ephemeralContainerStatuses: atomicList(obj()),
    resourceClaimStatuses: mapList(obj({ name: str }), ['name'], { strategy: 'merge,retainKeys' }),
  }),
});

export const endpointSliceSchema = kind('EndpointSlice represents a subset of the endpoints that implement a service.', {
  endpoints: atomicList(obj({ addresses: setList(str), hints: obj({ forZones: atomicList(obj()) }) })),
  ports: atomicList(obj()),
});

export const endpointsSchema = kind('Endpoints is a collection of endpoints that implement the actual service.', {
  subsets: atomicList(obj({ addresses: atomicList(obj()), notReadyAddresses: atomicList(obj()), ports: atomicList(obj()) })),
});

export const configMapSchema = kind('ConfigMap holds configuration data for pods to consume.', {});
export const secretSchema = kind('Secret holds secret data of a certain type.', {});
export const eventSchema = kind('Event is a report of an event somewhere in the cluster.', {});

export const serviceAccountSchema = kind('ServiceAccount binds together a name, a principal and a set of secrets.', {
  secrets: byName(),
  imagePullSecrets: atomicList(obj()),
});

/**
 * Protobuf descriptors of the kinds kubectl's typed generators send (`kubectl create
 * namespace|configmap|secret|service|serviceaccount`): every field of k8s.io/api core/v1 and
 * apimachinery meta/v1 generated.proto as of Kubernetes 1.32, so that nothing kubectl sends is
 * unknown. `optional: true` marks Go pointer fields (see protobuf.ts on zero values).
 */
import type { ProtoField, ProtoMessage } from './protobuf.js';

const s = (name: string, optional = false): ProtoField => ({ name, type: 'string', optional });
const rs = (name: string): ProtoField => ({ name, type: 'string', repeated: true });
const b = (name: string, optional = false): ProtoField => ({ name, type: 'bool', optional });
const i32 = (name: string, optional = false): ProtoField => ({ name, type: 'int32', optional });
const i64 = (name: string, optional = false): ProtoField => ({ name, type: 'int64', optional });
const time = (name: string, optional = false): ProtoField => ({ name, type: 'time', optional });
const msg = (name: string, message: ProtoMessage, opts: { repeated?: boolean; optional?: boolean } = {}): ProtoField => ({ name, type: 'message', message, ...opts });
const smap = (name: string): ProtoField => ({ name, type: 'map', mapValue: 'string' });
const bmap = (name: string): ProtoField => ({ name, type: 'map', mapValue: 'bytes' });

export const ownerReferenceProto: ProtoMessage = {
  1: s('kind'),
  3: s('name'),
  4: s('uid'),
  5: s('apiVersion'),
  6: b('controller', true),
  7: b('blockOwnerDeletion', true),
};

const managedFieldsEntryProto: ProtoMessage = {
  1: s('manager'),
  2: s('operation'),
  3: s('apiVersion'),
  4: time('time', true),
  6: s('fieldsType'),
  7: { name: 'fieldsV1', type: 'fieldsV1', optional: true },
  8: s('subresource'),
};

export const objectMetaProto: ProtoMessage = {
  1: s('name'),
  2: s('generateName'),
  3: s('namespace'),
  4: s('selfLink'),
  5: s('uid'),
  6: s('resourceVersion'),
  7: i64('generation'),
  8: time('creationTimestamp'),
  9: time('deletionTimestamp', true),
  10: i64('deletionGracePeriodSeconds', true),
  11: smap('labels'),
  12: smap('annotations'),
  13: msg('ownerReferences', ownerReferenceProto, { repeated: true }),
  14: rs('finalizers'),
  17: msg('managedFields', managedFieldsEntryProto, { repeated: true }),
};

/** meta/v1 Condition (Service status). */
const conditionProto: ProtoMessage = { 1: s('type'), 2: s('status'), 3: i64('observedGeneration'), 4: time('lastTransitionTime'), 5: s('reason'), 6: s('message') };

const servicePortProto: ProtoMessage = {
  1: s('name'),
  2: s('protocol'),
  3: i32('port'),
  4: { name: 'targetPort', type: 'intOrString' },
  5: i32('nodePort'),
  6: s('appProtocol', true),
};

const serviceSpecProto: ProtoMessage = {
  1: msg('ports', servicePortProto, { repeated: true }),
  2: smap('selector'),
  3: s('clusterIP'),
  4: s('type'),
  5: rs('externalIPs'),
  7: s('sessionAffinity'),
  8: s('loadBalancerIP'),
  9: rs('loadBalancerSourceRanges'),
  10: s('externalName'),
  11: s('externalTrafficPolicy'),
  12: i32('healthCheckNodePort'),
  13: b('publishNotReadyAddresses'),
  14: msg('sessionAffinityConfig', { 1: msg('clientIP', { 1: i32('timeoutSeconds', true) }, { optional: true }) }, { optional: true }),
  17: s('ipFamilyPolicy', true),
  18: rs('clusterIPs'),
  19: rs('ipFamilies'),
  20: b('allocateLoadBalancerNodePorts', true),
  21: s('loadBalancerClass', true),
  22: s('internalTrafficPolicy', true),
  23: s('trafficDistribution', true),
};

const serviceStatusProto: ProtoMessage = {
  1: msg('loadBalancer', {
    1: msg('ingress', { 1: s('ip'), 2: s('hostname'), 3: s('ipMode', true), 4: msg('ports', { 1: i32('port'), 2: s('protocol'), 3: s('error', true) }, { repeated: true }) }, { repeated: true }),
  }),
  2: msg('conditions', conditionProto, { repeated: true }),
};

const namespaceStatusProto: ProtoMessage = {
  1: s('phase'),
  2: msg('conditions', { 1: s('type'), 2: s('status'), 4: time('lastTransitionTime'), 5: s('reason'), 6: s('message') }, { repeated: true }),
};

const objectReferenceProto: ProtoMessage = { 1: s('kind'), 2: s('namespace'), 3: s('name'), 4: s('uid'), 5: s('apiVersion'), 6: s('resourceVersion'), 7: s('fieldPath') };

const kinds = new Map<string, ProtoMessage>([
  ['v1/Namespace', { 1: msg('metadata', objectMetaProto), 2: msg('spec', { 1: rs('finalizers') }), 3: msg('status', namespaceStatusProto) }],
  ['v1/ConfigMap', { 1: msg('metadata', objectMetaProto), 2: smap('data'), 3: bmap('binaryData'), 4: b('immutable', true) }],
  ['v1/Secret', { 1: msg('metadata', objectMetaProto), 2: bmap('data'), 3: s('type'), 4: smap('stringData'), 5: b('immutable', true) }],
  ['v1/Service', { 1: msg('metadata', objectMetaProto), 2: msg('spec', serviceSpecProto), 3: msg('status', serviceStatusProto) }],
  [
    'v1/ServiceAccount',
    {
      1: msg('metadata', objectMetaProto),
      2: msg('secrets', objectReferenceProto, { repeated: true }),
      3: msg('imagePullSecrets', { 1: s('name') }, { repeated: true }),
      4: b('automountServiceAccountToken', true),
    },
  ],
]);

/** The descriptor of a kind (`apiVersion` like `v1` or `discovery.k8s.io/v1`), if registered. */
export function protobufKind(apiVersion: string, kind: string): ProtoMessage | undefined {
  return kinds.get(`${apiVersion}/${kind}`);
}

/**
 * Teaches the decoder another kind. Declare every field of the kind's generated.proto: a field
 * number missing from the descriptor makes a request carrying it a 415. Status is decoded too.
 */
export function registerProtobufKind(apiVersion: string, kind: string, desc: ProtoMessage): void {
  kinds.set(`${apiVersion}/${kind}`, desc);
}

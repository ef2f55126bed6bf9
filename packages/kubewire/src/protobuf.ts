/**
 * Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).
 *
 * kubectl's typed generators (`kubectl create namespace|configmap|secret|service ...`) send
 * protobuf, not JSON. This decodes the `k8s\0` + runtime.Unknown envelope and the object inside
 * it, for the kinds registered here (field numbers from k8s.io/api and k8s.io/apimachinery
 * generated.proto), into the JSON form. More kinds can be added with registerProtobufKind().
 */
import { errors } from './status.js';
import type { KubeObject } from './types.js';

export type ProtoScalar = 'string' | 'bytes' | 'bool' | 'int32' | 'int64' | 'time' | 'intOrString';

export interface ProtoField {
  name: string;
  type: ProtoScalar | 'message' | 'map';
  repeated?: boolean;
  message?: ProtoMessage;
  /** for maps: value type (keys are strings) */
  mapValue?: 'string' | 'bytes';
}

export type ProtoMessage = Record<number, ProtoField>;

const PREFIX = [0x6b, 0x38, 0x73, 0x00];

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('varint too long');
    }
  }
  bytes(): Uint8Array {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

const utf8 = new TextDecoder();

function toSigned(v: bigint, bits: 32 | 64): number {
  return Number(BigInt.asIntN(bits, v));
}

/** Decodes one message per its descriptor into a JSON object. */
export function decodeMessage(buf: Uint8Array, desc: ProtoMessage): Record<string, unknown> {
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (!r.done) {
    const tag = r.varint();
    const num = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    const f = desc[num];
    if (!f) {
      r.skip(wire);
      continue;
    }
    let value: unknown;
    if (f.type === 'map') {
      const entry = r.bytes();
      const er = new Reader(entry);
      let key = '';
      let val: unknown = f.mapValue === 'bytes' ? '' : '';
      while (!er.done) {
        const t = er.varint();
        const n = Number(t >> 3n);
        const w = Number(t & 7n);
        if (w !== 2) {
          er.skip(w);
          continue;
        }
        const b = er.bytes();
        if (n === 1) key = utf8.decode(b);
        else if (n === 2) val = f.mapValue === 'bytes' ? Buffer.from(b).toString('base64') : utf8.decode(b);
      }
      const m = (out[f.name] as Record<string, unknown> | undefined) ?? {};
      m[key] = val;
      out[f.name] = m;
      continue;
    }
    switch (f.type) {
      case 'string':
        value = utf8.decode(r.bytes());
        break;
      case 'bytes':
        value = Buffer.from(r.bytes()).toString('base64');
        break;
      case 'bool':
        value = r.varint() !== 0n;
        break;
      case 'int32':
        value = toSigned(r.varint(), 32);
        break;
      case 'int64':
        value = toSigned(r.varint(), 64);
        break;
      case 'time': {
        const t = decodeMessage(r.bytes(), { 1: { name: 'seconds', type: 'int64' }, 2: { name: 'nanos', type: 'int32' } });
        value = t.seconds ? new Date(Number(t.seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
        break;
      }
      case 'intOrString': {
        const v = decodeMessage(r.bytes(), { 1: { name: 'type', type: 'int64' }, 2: { name: 'intVal', type: 'int32' }, 3: { name: 'strVal', type: 'string' } });
        value = Number(v.type ?? 0) === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);
        break;
      }
      case 'message':
        value = decodeMessage(r.bytes(), f.message ?? {});
        break;
    }
    if (f.repeated) {
      const arr = (out[f.name] as unknown[] | undefined) ?? [];
      arr.push(value);
      out[f.name] = arr;
    } else out[f.name] = value;
  }
  return out;
}

const s = (name: string): ProtoField => ({ name, type: 'string' });
const rs = (name: string): ProtoField => ({ name, type: 'string', repeated: true });
const msg = (name: string, message: ProtoMessage, repeated = false): ProtoField => ({ name, type: 'message', message, repeated });
const smap = (name: string): ProtoField => ({ name, type: 'map', mapValue: 'string' });

export const ownerReferenceProto: ProtoMessage = {
  1: s('kind'),
  3: s('name'),
  4: s('uid'),
  5: s('apiVersion'),
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};

export const objectMetaProto: ProtoMessage = {
  1: s('name'),
  2: s('generateName'),
  3: s('namespace'),
  5: s('uid'),
  6: s('resourceVersion'),
  7: { name: 'generation', type: 'int64' },
  8: { name: 'creationTimestamp', type: 'time' },
  9: { name: 'deletionTimestamp', type: 'time' },
  10: { name: 'deletionGracePeriodSeconds', type: 'int64' },
  11: smap('labels'),
  12: smap('annotations'),
  13: msg('ownerReferences', ownerReferenceProto, true),
  14: rs('finalizers'),
};

const servicePortProto: ProtoMessage = {
  1: s('name'),
  2: s('protocol'),
  3: { name: 'port', type: 'int32' },
  4: { name: 'targetPort', type: 'intOrString' },
  5: { name: 'nodePort', type: 'int32' },
  6: s('appProtocol'),
};

const serviceSpecProto: ProtoMessage = {
  1: msg('ports', servicePortProto, true),
  2: smap('selector'),
  3: s('clusterIP'),
  4: s('type'),
  5: rs('externalIPs'),
  7: s('sessionAffinity'),
  8: s('loadBalancerIP'),
  9: rs('loadBalancerSourceRanges'),
  10: s('externalName'),
  11: s('externalTrafficPolicy'),
  12: { name: 'healthCheckNodePort', type: 'int32' },
  13: { name: 'publishNotReadyAddresses', type: 'bool' },
  14: msg('sessionAffinityConfig', { 1: msg('clientIP', { 1: { name: 'timeoutSeconds', type: 'int32' } }) }),
  17: s('ipFamilyPolicy'),
  18: rs('clusterIPs'),
  19: rs('ipFamilies'),
  20: { name: 'allocateLoadBalancerNodePorts', type: 'bool' },
  21: s('loadBalancerClass'),
  22: s('internalTrafficPolicy'),
  23: s('trafficDistribution'),
};

const kinds = new Map<string, ProtoMessage>([
  ['v1/Namespace', { 1: msg('metadata', objectMetaProto), 2: msg('spec', { 1: rs('finalizers') }) }],
  [
    'v1/ConfigMap',
    { 1: msg('metadata', objectMetaProto), 2: smap('data'), 3: { name: 'binaryData', type: 'map', mapValue: 'bytes' }, 4: { name: 'immutable', type: 'bool' } },
  ],
  [
    'v1/Secret',
    {
      1: msg('metadata', objectMetaProto),
      2: { name: 'data', type: 'map', mapValue: 'bytes' },
      3: s('type'),
      4: smap('stringData'),
      5: { name: 'immutable', type: 'bool' },
    },
  ],
  ['v1/Service', { 1: msg('metadata', objectMetaProto), 2: msg('spec', serviceSpecProto) }],
  [
    'v1/ServiceAccount',
    {
      1: msg('metadata', objectMetaProto),
      2: msg('secrets', { 1: s('kind'), 2: s('namespace'), 3: s('name'), 4: s('uid'), 5: s('apiVersion'), 6: s('resourceVersion'), 7: s('fieldPath') }, true),
      3: msg('imagePullSecrets', { 1: s('name') }, true),
      4: { name: 'automountServiceAccountToken', type: 'bool' },
    },
  ],
]);

/**
 * Go's protobuf encoding writes non-pointer fields even when zero, where the JSON encoding
 * (omitempty) leaves them out. Drop empty strings, zero numbers, empty maps and lists so the
 * decoded object looks like the JSON a client would have sent. Booleans are kept.
 */
export function pruneZeroValues(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneZeroValues);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = pruneZeroValues(x);
      if (p === undefined || p === '' || p === 0) continue;
      if (Array.isArray(p) && p.length === 0) continue;
      if (p && typeof p === 'object' && !Array.isArray(p) && Object.keys(p).length === 0 && k !== 'data') continue;
      out[k] = p;
    }
    return out;
  }
  return v;
}

/** Teaches the decoder another kind (`apiVersion` like `v1` or `discovery.k8s.io/v1`). Status is not decoded. */
export function registerProtobufKind(apiVersion: string, kind: string, desc: ProtoMessage): void {
  kinds.set(`${apiVersion}/${kind}`, desc);
}

/** Decodes a `application/vnd.kubernetes.protobuf` body; 415 for unknown kinds or malformed input. */
export function decodeProtobufObject(body: Uint8Array): KubeObject {
  if (body.length < 4 || PREFIX.some((b, i) => body[i] !== b)) throw errors.unsupportedMediaType('application/vnd.kubernetes.protobuf (missing k8s magic prefix)');
  let unknown: Record<string, unknown>;
  try {
    unknown = decodeMessage(body.subarray(4), {
      1: msg('typeMeta', { 1: s('apiVersion'), 2: s('kind') }),
      2: { name: 'raw', type: 'bytes' },
      3: s('contentEncoding'),
      4: s('contentType'),
    });
  } catch (err) {
    throw errors.badRequest(`unable to decode protobuf body: ${(err as Error).message}`);
  }
  const tm = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const desc = kinds.get(`${tm.apiVersion}/${tm.kind}`);
  if (!desc) throw errors.unsupportedMediaType(`application/vnd.kubernetes.protobuf for ${tm.apiVersion}/${tm.kind} (send JSON)`);
  const raw = Buffer.from(String(unknown.raw ?? ''), 'base64');
  let obj: Record<string, unknown>;
  try {
    obj = pruneZeroValues(decodeMessage(raw, desc)) as Record<string, unknown>;
  } catch (err) {
    throw errors.badRequest(`unable to decode protobuf ${tm.kind}: ${(err as Error).message}`);
  }
  return { apiVersion: tm.apiVersion, kind: tm.kind, ...obj, metadata: (obj.metadata as KubeObject['metadata']) ?? {} };
}

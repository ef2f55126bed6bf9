/**
 * Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).
 *
 * kubectl's typed generators (`kubectl create namespace|configmap|secret|service ...`) send
 * protobuf, not JSON. This decodes the `k8s\0` + runtime.Unknown envelope and the object inside
 * it, for the kinds of protobuf-kinds.ts (field numbers from k8s.io/api and k8s.io/apimachinery
 * generated.proto), into the JSON form a client would have sent.
 *
 * Nothing is dropped silently: a field number missing from the tables is a 415 naming it (the
 * client can send JSON instead), a known field with the wrong wire type a 400. Zero values follow
 * Go: a non-pointer field is always on the wire and its zero value means "unset" (omitted, as
 * `omitempty` would), a pointer field (`optional: true`) is on the wire only when set, so its zero
 * value is kept. Map values are kept as they are, empty ones included; an entry without its value
 * field (proto3 style) has the empty value.
 */
import { errors, statusError } from './status.js';
import type { KubeObject } from './types.js';
import { protobufKind } from './protobuf-kinds.js';

export type ProtoScalar = 'string' | 'bytes' | 'bool' | 'int32' | 'int64' | 'time' | 'intOrString' | 'fieldsV1';

export interface ProtoField {
  name: string;
  type: ProtoScalar | 'message' | 'map';
  repeated?: boolean;
  message?: ProtoMessage;
  /** for maps: value type (keys are strings) */
  mapValue?: 'string' | 'bytes';
  /** A Go pointer: on the wire only when set, so its zero value (`false`, `0`, `""`, `{}`) is kept. */
  optional?: boolean;
}

export type ProtoMessage = Record<number, ProtoField>;

const PREFIX = [0x6b, 0x38, 0x73, 0x00];
const WIRE_NAMES: Record<number, string> = { 0: 'varint', 1: '64-bit', 2: 'length-delimited', 3: 'start group', 4: 'end group', 5: '32-bit' };
const wireName = (w: number) => `wire type ${w}, ${WIRE_NAMES[w] ?? 'invalid'}`;

/** A decoding failure: `unsupported` (a field the tables lack) becomes a 415, anything else a 400. */
class ProtoError extends Error {
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
  }
}

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
      if (this.pos >= this.buf.length) throw new ProtoError('truncated varint');
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 70n) throw new ProtoError('varint too long');
    }
  }
  bytes(): Uint8Array {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length) throw new ProtoError('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  /** Tag of the next field: its number and wire type. */
  tag(): { num: number; wire: number } {
    const t = this.varint();
    return { num: Number(t >> 3n), wire: Number(t & 7n) };
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const text = (b: Uint8Array, where: string) => {
  try {
    return utf8.decode(b);
  } catch {
    throw new ProtoError(`${where}: invalid UTF-8`);
  }
};

const TIME: ProtoMessage = { 1: { name: 'seconds', type: 'int64' }, 2: { name: 'nanos', type: 'int32' } };
const INT_OR_STRING: ProtoMessage = { 1: { name: 'type', type: 'int64' }, 2: { name: 'intVal', type: 'int32' }, 3: { name: 'strVal', type: 'string' } };
const FIELDS_V1: ProtoMessage = { 1: { name: 'raw', type: 'bytes' } };

const wireOf = (f: ProtoField) => (f.type === 'bool' || f.type === 'int32' || f.type === 'int64' ? 0 : 2);

function isZero(v: unknown): boolean {
  if (v === undefined || v === '' || v === 0 || v === false) return true;
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

function scalar(r: Reader, f: ProtoField, where: string): unknown {
  switch (f.type) {
    case 'string':
      return text(r.bytes(), where);
    case 'bytes':
      return Buffer.from(r.bytes()).toString('base64');
    case 'bool':
      return r.varint() !== 0n;
    case 'int32':
      return Number(BigInt.asIntN(32, r.varint()));
    case 'int64':
      return Number(BigInt.asIntN(64, r.varint()));
    case 'time': {
      const t = decodeMessage(r.bytes(), TIME, where);
      if (!t.seconds && !t.nanos) return undefined;
      return new Date(Number(t.seconds ?? 0) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    case 'intOrString': {
      const v = decodeMessage(r.bytes(), INT_OR_STRING, where);
      return Number(v.type ?? 0) === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);
    }
    case 'fieldsV1': {
      const raw = Buffer.from(String(decodeMessage(r.bytes(), FIELDS_V1, where).raw ?? ''), 'base64').toString('utf8');
      try {
        return raw ? JSON.parse(raw) : {};
      } catch {
        throw new ProtoError(`${where}: FieldsV1 is not JSON`);
      }
    }
    default:
      return decodeMessage(r.bytes(), f.message ?? {}, where);
  }
}

/** One map entry: key 1 and value 2, both length-delimited; a missing one is the empty value. */
function mapEntry(buf: Uint8Array, f: ProtoField, where: string): [string, string] {
  const r = new Reader(buf);
  let key = '';
  let val = '';
  while (!r.done) {
    const { num, wire } = r.tag();
    if (num !== 1 && num !== 2) throw new ProtoError(`field ${num} (${wireName(wire)}) of a map entry of ${where}`, true);
    if (wire !== 2) throw new ProtoError(`${where}: map entry field ${num} has ${wireName(wire)}, expected length-delimited`);
    const b = r.bytes();
    if (num === 1) key = text(b, where);
    else val = f.mapValue === 'bytes' ? Buffer.from(b).toString('base64') : text(b, `${where}.${key}`);
  }
  return [key, val];
}

/**
 * Decodes one message per its descriptor into a JSON object. `where` is the dotted path of the
 * message (for errors). Throws on fields the descriptor lacks and on wire-type mismatches.
 */
export function decodeMessage(buf: Uint8Array, desc: ProtoMessage, where = ''): Record<string, unknown> {
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (!r.done) {
    const { num, wire } = r.tag();
    const f = desc[num];
    if (!f) throw new ProtoError(`field ${num} (${wireName(wire)}) at ${where || '.'}`, true);
    const path = `${where}.${f.name}`;
    if (wire !== wireOf(f)) throw new ProtoError(`${path} (field ${num}) has ${wireName(wire)}, expected ${wireName(wireOf(f))}`);
    if (f.type === 'map') {
      const [k, v] = mapEntry(r.bytes(), f, path);
      const m = (out[f.name] as Record<string, string> | undefined) ?? {};
      m[k] = v;
      out[f.name] = m;
      continue;
    }
    const value = scalar(r, f, path);
    if (f.repeated) {
      const arr = (out[f.name] as unknown[] | undefined) ?? [];
      arr.push(value ?? {});
      out[f.name] = arr;
    } else if (f.optional ? value !== undefined : !isZero(value)) out[f.name] = value;
    else delete out[f.name];
  }
  return out;
}

/** Decodes a `application/vnd.kubernetes.protobuf` body; 415 for unknown kinds or fields, 400 for malformed input. */
export function decodeProtobufObject(body: Uint8Array): KubeObject {
  if (body.length < 4 || PREFIX.some((b, i) => body[i] !== b)) throw errors.unsupportedMediaType('application/vnd.kubernetes.protobuf (missing k8s magic prefix)');
  let kindLabel = 'runtime.Unknown';
  try {
    const unknown = decodeMessage(body.subarray(4), {
      1: { name: 'typeMeta', type: 'message', message: { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } } },
      2: { name: 'raw', type: 'bytes' },
      3: { name: 'contentEncoding', type: 'string' },
      4: { name: 'contentType', type: 'string' },
    });
    const tm = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
    const desc = protobufKind(`${tm.apiVersion}`, `${tm.kind}`);
    if (!desc) throw errors.unsupportedMediaType(`application/vnd.kubernetes.protobuf for ${tm.apiVersion}/${tm.kind} (send JSON)`);
    if (unknown.contentEncoding) throw errors.unsupportedMediaType(`application/vnd.kubernetes.protobuf with contentEncoding ${String(unknown.contentEncoding)}`);
    kindLabel = `${tm.apiVersion} ${tm.kind}`;
    const obj = decodeMessage(Buffer.from(String(unknown.raw ?? ''), 'base64'), desc);
    return { apiVersion: tm.apiVersion, kind: tm.kind, ...obj, metadata: (obj.metadata as KubeObject['metadata']) ?? {} };
  } catch (err) {
    if (!(err instanceof ProtoError)) throw err;
    if (err.unsupported)
      throw statusError(415, 'UnsupportedMediaType', `application/vnd.kubernetes.protobuf: ${err.message} of ${kindLabel} is not supported by this server; send the object as application/json`);
    throw errors.badRequest(`unable to decode protobuf ${kindLabel}: ${err.message}`);
  }
}

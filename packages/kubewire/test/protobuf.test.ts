/** Protobuf request bodies: hand-encoded bytes and bodies captured from kubectl 1.32. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeProtobufObject, StatusError } from '../src/index.js';

// A minimal protobuf encoder: enough to build the bodies a Go client sends.
const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
};
const bytes = (field: number, b: number[] | Uint8Array): number[] => [...varint((field << 3) | 2), ...varint(b.length), ...b];
const str = (field: number, s: string): number[] => bytes(field, [...Buffer.from(s, 'utf8')]);
const msg = (field: number, ...parts: number[][]): number[] => bytes(field, parts.flat());
const int = (field: number, n: number): number[] => [...varint(field << 3), ...varint(n)];
/** A map entry as Go (gogo) writes it: key and value, even an empty one. */
const entry = (field: number, k: string, v: string): number[] => msg(field, str(1, k), str(2, v));
/** A map entry as proto3 encoders may write it: the default (empty) value left out. */
const entryNoValue = (field: number, k: string): number[] => msg(field, str(1, k));

function envelope(apiVersion: string, kind: string, ...raw: number[][]): Buffer {
  return Buffer.from([0x6b, 0x38, 0x73, 0x00, ...msg(1, str(1, apiVersion), str(2, kind)), ...bytes(2, raw.flat()), ...str(3, ''), ...str(4, '')]);
}

function rejects(body: Buffer, code: number, pattern: RegExp): void {
  assert.throws(
    () => decodeProtobufObject(body),
    (e: unknown) => e instanceof StatusError && e.code === code && pattern.test(e.status.message ?? ''),
  );
}

describe('protobuf request bodies', () => {
  it('keeps empty strings inside maps (labels, ConfigMap data, Secret data), with or without the value field', () => {
    const cm = decodeProtobufObject(
      envelope(
        'v1',
        'ConfigMap',
        msg(1, str(1, 'x'), str(3, 'prod'), entry(11, 'tier', ''), entryNoValue(11, 'app'), entry(12, 'note', '')),
        entry(2, 'k', ''),
        entryNoValue(2, 'j'),
        entry(2, 'a', 'b'),
      ),
    );
    assert.deepEqual(cm.metadata.labels, { tier: '', app: '' });
    assert.deepEqual(cm.metadata.annotations, { note: '' });
    assert.deepEqual(cm.data, { k: '', j: '', a: 'b' });
    const secret = decodeProtobufObject(envelope('v1', 'Secret', msg(1, str(1, 's')), entry(2, 'pw', ''), entryNoValue(2, 'x'), str(3, 'Opaque')));
    assert.deepEqual(secret.data, { pw: '', x: '' });
    assert.equal(secret.type, 'Opaque');
  });

  it('the ConfigMap kubectl 1.32 sends for --from-literal=a=b --from-literal=k= keeps k', () => {
    // Captured from `kubectl create configmap x -n prod --from-literal=k= --from-literal=a=b`.
    const body = Buffer.from(
      '6b3873000a0f0a0276311209436f6e6669674d617012260a150a017812001a0470726f6422002a0032003800420012060a016112016212050a016b12001a002200',
      'hex',
    );
    const cm = decodeProtobufObject(body);
    assert.deepEqual(cm, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'prod' }, data: { a: 'b', k: '' } });
  });

  it('decodes every field of the Service kubectl 1.32 sends (selfLink, status.loadBalancer...) and omits Go zero values', () => {
    // Captured from `kubectl create service clusterip web -n prod --tcp=80:8080`.
    const body = Buffer.from(
      '6b3873000a0d0a027631120753657276696365126d0a230a0377656212001a0470726f6422002a003200380042005a0a0a03617070120377656212420a1b0a0738302d38303830120354435018502207080010903f1a002800120a0a0361707012037765621a002209436c757374657249503a00420052005a00600068001a020a001a002200',
      'hex',
    );
    const svc = decodeProtobufObject(body);
    assert.deepEqual(svc, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'prod', labels: { app: 'web' } },
      spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: 'web' }, type: 'ClusterIP' },
    });
  });

  it('keeps the zero value of pointer fields (immutable: false, automountServiceAccountToken: false)', () => {
    const cm = decodeProtobufObject(envelope('v1', 'ConfigMap', msg(1, str(1, 'x')), int(4, 0)));
    assert.equal(cm.immutable, false);
    const sa = decodeProtobufObject(envelope('v1', 'ServiceAccount', msg(1, str(1, 'sa')), int(4, 0)));
    assert.equal(sa.automountServiceAccountToken, false);
  });

  it('a field the decoder does not know is a 415 naming its number, wire type and place — never dropped', () => {
    rejects(envelope('v1', 'Service', msg(1, str(1, 'web')), msg(2, int(99, 7))), 415, /field 99 \(wire type 0, varint\) at \.spec of v1 Service is not supported.*application\/json/);
    rejects(envelope('v1', 'ConfigMap', msg(1, str(1, 'x'), str(30, 'y'))), 415, /field 30 \(wire type 2, length-delimited\) at \.metadata of v1 ConfigMap/);
    rejects(envelope('v1', 'Namespace', msg(1, str(1, 'n')), int(7, 1)), 415, /field 7 \(wire type 0, varint\) at \. of v1 Namespace/);
  });

  it('a known field with the wrong wire type, or truncated input, is a 400', () => {
    rejects(envelope('v1', 'ConfigMap', msg(1, int(1, 5))), 400, /metadata\.name.*wire type 0/);
    rejects(Buffer.concat([envelope('v1', 'ConfigMap', msg(1, str(1, 'x'))).subarray(0, 20)]), 400, /truncated/);
  });

  it('decodes managedFields, ownerReferences and timestamps of ObjectMeta', () => {
    const meta = msg(
      1,
      str(1, 'x'),
      str(4, '/api/v1/namespaces/default/configmaps/x'),
      msg(8, int(1, 1700000000)),
      msg(13, str(1, 'Service'), str(3, 'web'), str(4, 'u-1'), str(5, 'v1'), int(6, 1)),
      msg(17, str(1, 'kubectl'), str(2, 'Update'), str(3, 'v1'), msg(4, int(1, 1700000000)), str(6, 'FieldsV1'), msg(7, str(1, '{"f:data":{}}'))),
    );
    const cm = decodeProtobufObject(envelope('v1', 'ConfigMap', meta));
    assert.equal(cm.metadata.selfLink, '/api/v1/namespaces/default/configmaps/x');
    assert.equal(cm.metadata.creationTimestamp, '2023-11-14T22:13:20Z');
    assert.deepEqual(cm.metadata.ownerReferences, [{ kind: 'Service', name: 'web', uid: 'u-1', apiVersion: 'v1', controller: true }]);
    assert.deepEqual(cm.metadata.managedFields, [
      { manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: '2023-11-14T22:13:20Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } },
    ]);
  });

  it('kinds without a decoder and bodies without the k8s prefix are 415', () => {
    rejects(envelope('apps/v1', 'Deployment', msg(1, str(1, 'd'))), 415, /apps\/v1\/Deployment/);
    rejects(Buffer.from('{}'), 415, /magic prefix/);
  });
});

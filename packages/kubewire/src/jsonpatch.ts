/**
 * JSON Patch (RFC 6902) over JSON Pointer (RFC 6901), answered the way kube-apiserver answers:
 * a body that is not a list of operations is a 400 BadRequest; an operation that does not apply is
 * a 422 Invalid whose message starts with kube-apiserver's own ("the server rejected our request
 * due to an error in our request") and goes on to name the operation and the path. Array indexes
 * are `0` or `[1-9][0-9]*` (no `01`, `1e0`, `` or `-1`); `-` is the end of an array for add (and
 * the targets of move and copy) only. The patch applies to a copy: all operations or none.
 */
import { type StatusError, statusError } from './status.js';
import { clone, deepEqual, isPlainObject } from './util.js';

/** kube-apiserver refuses longer patches (maxJSONPatchOperations). */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

const REJECTED = 'the server rejected our request due to an error in our request';
const failed = (detail: string): StatusError => statusError(422, 'Invalid', `${REJECTED}: ${detail}`);
const MISSING = Symbol('missing');
const INDEX = /^(0|[1-9][0-9]*)$/;

type Json = unknown;
type Op = Record<string, unknown>;

function parsePointer(op: string, member: 'path' | 'from', ptr: unknown): string[] {
  if (ptr === undefined) throw failed(`${op} operation does not apply: missing ${member} field`);
  if (typeof ptr !== 'string') throw failed(`${op} operation does not apply: ${member} must be a string, not ${JSON.stringify(ptr)}`);
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw failed(`${op} operation does not apply: ${member} ${JSON.stringify(ptr)} is not a JSON pointer (it must start with "/")`);
  return ptr
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~([^01]|$)/.test(t)) throw failed(`${op} operation does not apply: ${member} ${JSON.stringify(ptr)} has an invalid escape ("~" must be followed by 0 or 1)`);
      return t.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** The index a token designates in `arr`: an existing item, or also the end (`-`, length) when `end`. */
function indexOf(token: string, arr: Json[], end: boolean): number | undefined {
  if (token === '-') return end ? arr.length : undefined;
  if (!INDEX.test(token)) return undefined;
  const i = Number(token);
  return i < arr.length || (end && i === arr.length) ? i : undefined;
}

function get(doc: Json, tokens: string[]): Json | typeof MISSING {
  let cur: Json = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      const i = indexOf(t, cur, false);
      if (i === undefined) return MISSING;
      cur = cur[i];
    } else if (isPlainObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else return MISSING;
  }
  return cur;
}

/** The document after the edit at `tokens`: `insert` (add), `set` (replace) or `delete` (remove). */
function edit(doc: Json, tokens: string[], mode: 'insert' | 'set' | 'delete', value: Json, missing: () => StatusError): Json {
  if (!tokens.length) {
    if (mode === 'delete') throw missing();
    return value;
  }
  const parent = get(doc, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) {
    const i = indexOf(last, parent, mode === 'insert');
    if (i === undefined) throw missing();
    if (mode === 'insert') parent.splice(i, 0, value);
    else if (mode === 'set') parent[i] = value;
    else parent.splice(i, 1);
  } else if (isPlainObject(parent)) {
    if (mode !== 'insert' && !Object.hasOwn(parent, last)) throw missing();
    if (mode === 'delete') delete parent[last];
    else parent[last] = value;
  } else throw missing();
  return doc;
}

function required(op: Op, name: string): Json {
  if (!Object.hasOwn(op, 'value')) throw failed(`${name} operation does not apply: missing value field`);
  return clone(op.value);
}

function applyOne(doc: Json, op: Op): Json {
  const name = op.op;
  if (typeof name !== 'string') throw failed(`an operation without "op": ${JSON.stringify(op)}`);
  const path = typeof op.path === 'string' ? JSON.stringify(op.path) : String(op.path);
  const missingPath = (what = 'path') => () => failed(`${name} operation does not apply: doc is missing ${what}: ${path}: missing value`);
  switch (name) {
    case 'add':
      return edit(doc, parsePointer(name, 'path', op.path), 'insert', required(op, name), missingPath());
    case 'remove':
      return edit(doc, parsePointer(name, 'path', op.path), 'delete', undefined, missingPath());
    case 'replace':
      return edit(doc, parsePointer(name, 'path', op.path), 'set', required(op, name), missingPath());
    case 'test': {
      const tokens = parsePointer(name, 'path', op.path);
      const want = required(op, name);
      const have = get(doc, tokens);
      if (have === MISSING) throw missingPath()();
      if (!deepEqual(have, want)) throw failed(`testing value ${op.path} failed: test failed`);
      return doc;
    }
    case 'move':
    case 'copy': {
      const from = parsePointer(name, 'from', op.from);
      const to = parsePointer(name, 'path', op.path);
      const value = get(doc, from);
      if (value === MISSING) throw failed(`${name} operation does not apply: doc is missing from path: ${JSON.stringify(op.from)}: missing value`);
      if (name === 'copy') return edit(doc, to, 'insert', clone(value), missingPath('destination path'));
      if (from.length === to.length && from.every((t, i) => t === to[i])) return doc;
      if (from.length < to.length && from.every((t, i) => t === to[i]))
        throw failed(`move operation does not apply: ${JSON.stringify(op.from)} cannot be moved into its own child ${path}`);
      const without = edit(doc, from, 'delete', undefined, missingPath('from path'));
      return edit(without, to, 'insert', value, missingPath('destination path'));
    }
    default:
      throw failed(`unknown operation ${JSON.stringify(name)} (add, remove, replace, move, copy, test)`);
  }
}

/** Applies an RFC 6902 patch (the parsed body) to a copy of `doc`; throws a Kubernetes StatusError. */
export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw statusError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch (a JSON patch is an array of operations)');
  if (ops.length > MAX_JSON_PATCH_OPERATIONS)
    throw statusError(413, 'RequestEntityTooLarge', `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`);
  const bad = ops.findIndex((o) => !isPlainObject(o));
  if (bad >= 0) throw statusError(400, 'BadRequest', `json patch: operation ${bad} is not an object: ${JSON.stringify(ops[bad])}`);
  let out = clone(doc);
  for (const op of ops as Op[]) out = applyOne(out, op);
  return out;
}

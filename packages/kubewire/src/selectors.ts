/** Label and field selectors, parsed from their query-string form and matched against objects. */
import { errors } from './status.js';
import { getPath } from './util.js';

export type LabelOp = 'exists' | 'notexists' | 'eq' | 'neq' | 'in' | 'notin' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export type LabelSelector = LabelRequirement[];

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p.length > 0);
}

/**
 * Parses `a=b,c!=d,e,!f,g in (x,y),h notin (z)` (the labelSelector query parameter).
 * Throws a 400 StatusError on syntax errors.
 */
export function parseLabelSelector(input: string | undefined): LabelSelector {
  if (!input) return [];
  const reqs: LabelRequirement[] = [];
  for (const part of splitTop(input)) {
    const setM = part.match(/^([^\s!=<>(),]+)\s+(in|notin)\s*\(([^)]*)\)$/);
    const cmpM = setM ? null : part.match(/^([^\s!=<>(),]+)\s*(==|=|!=|>|<)\s*([^\s!=<>(),]*)$/);
    const notM = setM || cmpM ? null : part.match(/^!\s*([^\s!=<>(),]+)$/);
    const exM = setM || cmpM || notM ? null : part.match(/^([^\s!=<>(),]+)$/);
    if (setM) {
      const values = (setM[3] ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v.length > 0);
      reqs.push({ key: setM[1] as string, op: setM[2] as 'in' | 'notin', values });
    } else if (cmpM) {
      const op = cmpM[2] === '!=' ? 'neq' : cmpM[2] === '>' ? 'gt' : cmpM[2] === '<' ? 'lt' : 'eq';
      reqs.push({ key: cmpM[1] as string, op, values: [cmpM[3] ?? ''] });
    } else if (notM) {
      reqs.push({ key: notM[1] as string, op: 'notexists', values: [] });
    } else if (exM) {
      reqs.push({ key: exM[1] as string, op: 'exists', values: [] });
    } else {
      throw errors.badRequest(`unable to parse requirement: found '${part}', invalid label selector "${input}"`);
    }
  }
  return reqs;
}

/** A selector from a plain map (Service.spec.selector), every pair an equality. */
export function selectorFromMap(map: Record<string, string> | undefined): LabelSelector {
  if (!map) return [];
  return Object.entries(map).map(([key, value]) => ({ key, op: 'eq' as const, values: [value] }));
}

/** A selector from a metav1.LabelSelector (matchLabels + matchExpressions). */
export function selectorFromLabelSelector(sel: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): LabelSelector {
  const reqs = selectorFromMap(sel.matchLabels);
  for (const e of sel.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') reqs.push({ key: e.key, op, values: e.values ?? [] });
    else if (op === 'exists') reqs.push({ key: e.key, op: 'exists', values: [] });
    else if (op === 'doesnotexist') reqs.push({ key: e.key, op: 'notexists', values: [] });
  }
  return reqs;
}

export function matchLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  for (const r of selector) {
    const has = labels !== undefined && Object.hasOwn(labels, r.key);
    const v = has ? (labels as Record<string, string>)[r.key] : undefined;
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case 'notexists':
        if (has) return false;
        break;
      case 'eq':
      case 'in':
        if (!has || !r.values.includes(v as string)) return false;
        break;
      case 'neq':
      case 'notin':
        if (has && r.values.includes(v as string)) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has) return false;
        const n = Number(v);
        const lim = Number(r.values[0]);
        if (Number.isNaN(n) || Number.isNaN(lim)) return false;
        if (r.op === 'gt' ? !(n > lim) : !(n < lim)) return false;
        break;
      }
    }
  }
  return true;
}

export function formatLabelSelector(selector: LabelSelector): string {
  return selector
    .map((r) => {
      switch (r.op) {
        case 'exists':
          return r.key;
        case 'notexists':
          return `!${r.key}`;
        case 'eq':
          return `${r.key}=${r.values[0] ?? ''}`;
        case 'neq':
          return `${r.key}!=${r.values[0] ?? ''}`;
        case 'gt':
          return `${r.key}>${r.values[0] ?? ''}`;
        case 'lt':
          return `${r.key}<${r.values[0] ?? ''}`;
        default:
          return `${r.key} ${r.op} (${r.values.join(',')})`;
      }
    })
    .join(',');
}

export interface FieldRequirement {
  field: string;
  op: 'eq' | 'neq';
  value: string;
}

export type FieldSelector = FieldRequirement[];

/**
 * Parses `metadata.name=x,spec.nodeName!=y` (the fieldSelector query parameter).
 * Any dotted path is accepted; a missing field compares as the empty string.
 */
export function parseFieldSelector(input: string | undefined): FieldSelector {
  if (!input) return [];
  const out: FieldRequirement[] = [];
  for (const part of input.split(',').map((p) => p.trim())) {
    if (!part) continue;
    const m = part.match(/^([A-Za-z0-9_.\-/]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw errors.badRequest(`invalid field selector: '${part}': field selector must be of the form key=value or key!=value`);
    out.push({ field: m[1] as string, op: m[2] === '!=' ? 'neq' : 'eq', value: (m[3] ?? '').replace(/\\(.)/g, '$1') });
  }
  return out;
}

export function matchFields(selector: FieldSelector, obj: unknown): boolean {
  for (const r of selector) {
    const raw = getPath(obj, r.field);
    const v = raw === undefined || raw === null ? '' : String(raw);
    if (r.op === 'eq' ? v !== r.value : v === r.value) return false;
  }
  return true;
}

/**
 * Fields every kind may be selected by (apimachinery's DefaultMetaV1FieldSelectorConversion, as a
 * CustomResourceDefinition's objects are).
 */
export const DEFAULT_SELECTABLE_FIELDS: readonly string[] = ['metadata.name', 'metadata.namespace'];

/** The extra selectable fields kube-apiserver registers for built-in kinds (pkg/apis/core/v1/conversion.go). */
const BUILTIN_SELECTABLE_FIELDS: Record<string, readonly string[]> = {
  '/Pod': [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.podIPs',
    'status.nominatedNodeName',
  ],
  '/Node': ['spec.unschedulable'],
  '/Namespace': ['status.phase'],
  '/Secret': ['type'],
  '/Service': ['spec.clusterIP', 'spec.type'],
  '/ReplicationController': ['status.replicas'],
  '/Event': [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
};

/** The fields a kind's list and watch accept in a fieldSelector: the defaults plus the built-in kind's own. */
export function selectableFieldsFor(group: string, kind: string): string[] {
  return [...DEFAULT_SELECTABLE_FIELDS, ...(BUILTIN_SELECTABLE_FIELDS[`${group}/${kind}`] ?? [])];
}

/** Throws kube-apiserver's 400 for a fieldSelector naming a field outside `supported`. */
export function checkFieldSelector(input: string | undefined, supported: readonly string[]): void {
  for (const r of parseFieldSelector(input)) {
    if (!supported.includes(r.field)) throw errors.badRequest(`field label not supported: ${r.field}`);
  }
}

/** DNS name rules (RFC 1035 2.3.4, RFC 1123): labels <= 63 octets, names <= 253. */

export const MAX_LABEL = 63;
export const MAX_NAME = 253;

const LABEL_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Lower-cases and makes absolute: `Example.COM` → `example.com.` */
export function absoluteName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** Why a single label is not a valid hostname label, or undefined if it is. */
export function labelProblem(label: string): string | undefined {
  if (label.length === 0) return 'must not be empty';
  if (label.length > MAX_LABEL) return `is ${label.length} octets, longer than ${MAX_LABEL}`;
  if (!LABEL_RE.test(label)) {
    return 'must consist of lower-case alphanumerics or "-", and start and end with an alphanumeric';
  }
  return undefined;
}

/** Why an absolute name is invalid, or undefined. Length counted without the final dot. */
export function nameProblem(name: string): string | undefined {
  const abs = absoluteName(name);
  const text = abs.slice(0, -1);
  if (text.length > MAX_NAME) return `name "${abs}" is ${text.length} octets, longer than ${MAX_NAME}`;
  for (const label of text.split('.')) {
    const p = labelProblem(label);
    if (p) return `label "${label}" of "${abs}" ${p}`;
  }
  return undefined;
}

/** True when `name` equals `zone` or lies below it (both absolute). */
export function isInZone(name: string, zone: string): boolean {
  const n = absoluteName(name);
  const z = absoluteName(zone);
  return n === z || n.endsWith(`.${z}`) || z === '.';
}

/** `<service>.<namespace>.<federation>.svc` — the prefix P of DESIGN §4. */
export function servicePrefix(service: string, namespace: string, federation: string): string {
  return `${service}.${namespace}.${federation}.svc`.toLowerCase();
}

/** The three levels of names of a service (DESIGN §4). */
export function globalName(prefix: string, zone: string): string {
  return absoluteName(`${prefix}.${absoluteName(zone)}`);
}
export function regionName(prefix: string, region: string, zone: string): string {
  return absoluteName(`${prefix}.${region}.${absoluteName(zone)}`);
}
export function zoneName(prefix: string, topoZone: string, region: string, zone: string): string {
  return absoluteName(`${prefix}.${topoZone}.${region}.${absoluteName(zone)}`);
}

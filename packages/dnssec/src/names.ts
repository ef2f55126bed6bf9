/**
 * Names in canonical form (RFC 4034 6.1, 6.2): absolute, lower case,
 * uncompressed wire form; label counts; canonical order of names.
 */

/** Absolute lower-case presentation form (`a.b.` ; `.` for the root). */
export function absName(name: string): string {
  const l = name.toLowerCase();
  return l.endsWith('.') ? l : `${l}.`;
}

/** Labels of a name, without the root. */
export function labels(name: string): string[] {
  const a = absName(name);
  return a === '.' ? [] : a.slice(0, -1).split('.');
}

/** Canonical (lower-case, uncompressed) wire form of a name. */
export function nameWire(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const l of labels(name)) {
    const b = Buffer.from(l, 'latin1');
    if (b.length === 0 || b.length > 63) throw new Error(`bad label in ${name}`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new Error(`name too long: ${name}`);
  return out;
}

/** The RRSIG Labels field: labels of the owner, not counting the root or a leading `*`. */
export function labelCount(name: string): number {
  const ls = labels(name);
  return ls[0] === '*' ? ls.length - 1 : ls.length;
}

/**
 * Canonical DNS name order (RFC 4034 6.1): compare label by label from the
 * root, each label as lower-case octets; a name sorts before its descendants.
 */
export function compareNames(a: string, b: string): number {
  const la = labels(a);
  const lb = labels(b);
  for (let i = 1; i <= Math.min(la.length, lb.length); i++) {
    const c = Buffer.compare(Buffer.from(la[la.length - i] as string, 'latin1'), Buffer.from(lb[lb.length - i] as string, 'latin1'));
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}

/** The parent of a name (one label less); undefined for the root. */
export function parentName(name: string): string | undefined {
  const a = absName(name);
  if (a === '.') return undefined;
  const dot = a.indexOf('.');
  return dot === a.length - 1 ? '.' : a.slice(dot + 1);
}

/** True when `name` is `zone` or below it. */
export function inZone(name: string, zone: string): boolean {
  const n = absName(name);
  const z = absName(zone);
  return z === '.' || n === z || n.endsWith(`.${z}`);
}

/**
 * Who owns an object in a member cluster (issue 9). Every object fedns writes
 * into a member carries its federation's name (a label, selectable) and its
 * installation id (an annotation, generated at the installation's first start,
 * like ExternalDNS's owner id). fedns changes or deletes only what carries its
 * own id; an object with another id belongs to another federation and is left
 * alone; an object with neither mark is unowned and may be adopted.
 */

/** The label fedns has always put on what it manages (kept for selectors and older copies). */
export const MANAGED_LABEL = 'federation.fedns.io/managed';
/** The owning federation's name. */
export const FEDERATION_LABEL = 'federation.fedns.io/federation';
/** The owning installation's id. */
export const OWNER_ANNOTATION = 'federation.fedns.io/owner-id';

export interface Owner {
  federation: string;
  installationId: string;
}

export type Ownership = { kind: 'ours' } | { kind: 'unowned' } | { kind: 'foreign'; owner: string };

interface Marked {
  metadata?: { labels?: Record<string, string> | null; annotations?: Record<string, string> | null };
}

/**
 * Ours when the object carries our installation id; foreign when it carries
 * another id, or (written before ids existed) another federation's name;
 * unowned otherwise — including copies marked only `managed: "true"` by a
 * fedns that predates owner ids, which the first installation to reconcile
 * them adopts.
 */
export function ownershipOf(obj: Marked | undefined, me: Owner): Ownership {
  const id = obj?.metadata?.annotations?.[OWNER_ANNOTATION];
  const federation = obj?.metadata?.labels?.[FEDERATION_LABEL];
  if (id === me.installationId) return { kind: 'ours' };
  if (id) return { kind: 'foreign', owner: `${federation ?? 'unknown'}/${id}` };
  if (federation && federation !== me.federation) return { kind: 'foreign', owner: `${federation}/unknown` };
  return { kind: 'unowned' };
}

/** The marks fedns puts on every object it writes into a member cluster. */
export function ownerMarks(me: Owner): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { [MANAGED_LABEL]: 'true', [FEDERATION_LABEL]: me.federation },
    annotations: { [OWNER_ANNOTATION]: me.installationId },
  };
}

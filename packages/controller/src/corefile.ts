/**
 * Pure edits of a member's CoreDNS configuration (issue 12 item 2). fedns keeps one server block
 * per federation — `<federation>.svc.<cluster-domain>` (and with a clusterset domain also
 * `svc.<clusterset-domain>`) — made of stock plugins only: `rewrite name suffix … answer auto`
 * carries the asking cluster's identity into the query name, `forward` sends it to fedns's
 * nameservers, `cache` keeps answers for their TTL. The block lives between marker lines that
 * name the federation and the owning installation; nothing outside the markers is ever edited,
 * and removing the block gives back the text exactly as it was before it was added.
 */

export interface BlockSpec {
  federation: string;
  /** The member's cluster domain, absolute (`cluster.local.`). */
  clusterDomain: string;
  /** The member cluster's name in the federation (a DNS label). */
  cluster: string;
  /** fedns's private suffix for in-cluster names, absolute (`clusters.fedns.internal.`). */
  suffix: string;
  /** Where fedns's nameservers answer, `IP:PORT` (IPv6 as `[IP]:PORT`). */
  forwardTo: string[];
  /** Also answer the MCS form `<svc>.<ns>.svc.<clusterset-domain>` (absolute), if set. */
  clustersetDomain?: string;
}

const abs = (n: string) => (n.endsWith('.') ? n.toLowerCase() : `${n.toLowerCase()}.`);

/** The private zone fedns answers one cluster's view of the federation under: `<fed>.svc.<cluster>.<suffix>`. */
export function privateZone(federation: string, cluster: string, suffix: string): string {
  return `${federation}.svc.${cluster}.${abs(suffix)}`.toLowerCase();
}

/** The zones a member's block serves: the federation's names and, optionally, the MCS names. */
export function servedZones(spec: Pick<BlockSpec, 'federation' | 'clusterDomain' | 'clustersetDomain'>): string[] {
  const zones = [`${spec.federation}.svc.${abs(spec.clusterDomain)}`.toLowerCase()];
  if (spec.clustersetDomain) zones.push(`svc.${abs(spec.clustersetDomain)}`);
  return zones;
}

/**
 * The server block text (no markers). Each served zone is rewritten, by suffix, to the cluster's
 * private zone — the zone's apex too, as the suffix has no leading dot and nothing outside the
 * zone reaches the block — and `answer auto` maps every name under the private zone back. The
 * cache lists both zones: since CoreDNS 1.14.7 it runs after rewrite and sees the private name.
 */
export function renderServerBlocks(spec: BlockSpec): string {
  const priv = privateZone(spec.federation, spec.cluster, spec.suffix);
  return servedZones(spec)
    .map(
      (zone) => `${zone.slice(0, -1)}:53 {
    rewrite name suffix ${zone} ${priv} answer auto
    forward . ${spec.forwardTo.join(' ')}
    cache 30 ${zone} ${priv}
}
`,
    )
    .join('');
}

export const markerBegin = (federation: string, owner: string) => `# BEGIN fedns federation=${federation} owner-id=${owner} (managed by fedns: edits between these lines are reverted)`;
export const markerEnd = (federation: string) => `# END fedns federation=${federation}`;

/** The block with its markers, ending with a newline. */
export function wrapMarked(federation: string, owner: string, body: string): string {
  return `${markerBegin(federation, owner)}\n${body}${body.endsWith('\n') ? '' : '\n'}${markerEnd(federation)}\n`;
}

export interface MarkedBlock {
  /** Offset of the BEGIN line, and just past the END line's newline (or the text's end). */
  start: number;
  end: number;
  owner: string;
  /** The lines between the markers. */
  body: string;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The federation's marked block in a text; 'damaged' when a BEGIN has no END after it (or there are two). */
export function findMarked(text: string, federation: string): MarkedBlock | 'damaged' | undefined {
  const begin = new RegExp(`^# BEGIN fedns federation=${esc(federation)} owner-id=(\\S+).*$`, 'gm');
  const found = [...text.matchAll(begin)];
  if (found.length === 0) return text.includes(markerEnd(federation)) ? 'damaged' : undefined;
  if (found.length > 1) return 'damaged';
  const m = found[0] as RegExpMatchArray;
  const start = m.index as number;
  const afterBegin = start + m[0].length + 1;
  const endRe = new RegExp(`^${esc(markerEnd(federation))}[ \\t]*$`, 'm');
  const rest = text.slice(afterBegin);
  const e = endRe.exec(rest);
  if (!e) return 'damaged';
  const endLine = afterBegin + e.index;
  let end = endLine + e[0].length;
  if (text[end] === '\n') end++;
  return { start, end, owner: m[1] as string, body: text.slice(afterBegin, endLine) };
}

/** Puts the marked block in: replaces the one there, or appends it after a blank line. */
export function withMarkedBlock(text: string, federation: string, owner: string, body: string): string {
  const wrapped = wrapMarked(federation, owner, body);
  const found = findMarked(text, federation);
  if (found === 'damaged') throw new Error(`the fedns markers of federation ${federation} are damaged`);
  if (found) return text.slice(0, found.start) + wrapped + text.slice(found.end);
  return `${text}\n${wrapped}`;
}

/**
 * Takes the marked block out. The newline before the BEGIN line was added with the block when the
 * block is the last thing in the text (or stands after a blank line), so it goes too: removing
 * what withMarkedBlock added restores the text byte for byte.
 */
export function withoutMarkedBlock(text: string, federation: string): string {
  const found = findMarked(text, federation);
  if (found === 'damaged') throw new Error(`the fedns markers of federation ${federation} are damaged`);
  if (!found) return text;
  let start = found.start;
  const atEnd = found.end >= text.length;
  if (start > 0 && text[start - 1] === '\n' && (atEnd || text[start - 2] === '\n')) start--;
  return text.slice(0, start) + text.slice(found.end);
}

/** Top-level tokens of a Corefile, with their line (comments and quotes respected). */
function topLevel(text: string): { tokens: { text: string; line: number; depth: number }[] } {
  const tokens: { text: string; line: number; depth: number }[] = [];
  let depth = 0;
  let line = 1;
  for (let i = 0; i < text.length; ) {
    const ch = text[i] as string;
    if (ch === '\n') {
      line++;
      i++;
    } else if (/\s/.test(ch)) i++;
    else if (ch === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (ch === '"' || ch === '`') {
      const q = ch;
      let s = '';
      i++;
      while (i < text.length && text[i] !== q) {
        if (text[i] === '\n') line++;
        s += text[i++];
      }
      i++;
      tokens.push({ text: s, line, depth });
    } else {
      let s = '';
      while (i < text.length && !/\s/.test(text[i] as string)) s += text[i++];
      if (s === '{') depth++;
      else if (s === '}') depth = Math.max(0, depth - 1);
      else tokens.push({ text: s, line, depth });
    }
  }
  return { tokens };
}

/** Zones (absolute, lower-case) of the top-level server blocks on port 53, and the top-level import patterns. */
export function corefileOutline(text: string): { zones: string[]; imports: string[] } {
  const { tokens } = topLevel(text);
  const zones: string[] = [];
  const imports: string[] = [];
  const top = tokens.filter((t) => t.depth === 0);
  for (let i = 0; i < top.length; i++) {
    const t = top[i] as { text: string; line: number };
    if (t.text === 'import') {
      const next = top[i + 1];
      if (next && next.line === t.line) imports.push(next.text);
      while (i + 1 < top.length && (top[i + 1] as { line: number }).line === t.line) i++;
      continue;
    }
    if (/^\(.+\)$/.test(t.text)) continue; // a snippet's name
    for (const k of t.text.split(',').filter(Boolean)) {
      const key = k.replace(/^dns:\/\//i, '');
      const m = /^(.*?)(?::(\d+))?$/.exec(key);
      const port = m?.[2] ? Number(m[2]) : 53;
      if (port === 53 && m?.[1] !== undefined) zones.push(abs(m[1] || '.'));
    }
  }
  return { zones, imports };
}

/** The coredns-custom key fedns uses for a federation's block. */
export const customKey = (federation: string) => `fedns-${federation}.server`;

/** Where `coredns-custom` is mounted by the distributions that import it (AKS, k3s). */
const CUSTOM_DIRS = ['custom', './custom', '/etc/coredns/custom'];

/** Whether a top-level import of the Corefile reads `<key>` from the coredns-custom ConfigMap. */
export function importsCustomKey(corefile: string, key: string): boolean {
  return corefileOutline(corefile).imports.some((p) => {
    const i = p.lastIndexOf('/');
    if (i < 0 || !CUSTOM_DIRS.includes(p.slice(0, i))) return false;
    const glob = p.slice(i + 1);
    const re = new RegExp(`^${glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.')}$`);
    return re.test(key);
  });
}

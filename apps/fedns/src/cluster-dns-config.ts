/**
 * The in-cluster answers' keys of the configuration (issue 12): who may ask for them, where the
 * members' CoreDNS forwards, the private suffix and the optional MCS domain. In-cluster answers
 * are on when `cluster-dns-allow` names at least one network (the member clusters' egress
 * ranges): then the nameserver answers the private names to those networks only, and the
 * controller keeps the server block in every member's CoreDNS; off, it takes its blocks out.
 */
import { isIP } from 'node:net';
import { absoluteName, isInZone, nameProblem } from '@fedns/model';
import { parseNetwork } from '@fedns/nameserver';

type Network = ReturnType<typeof parseNetwork>;

export class ClusterDnsConfigError extends Error {}

export const CLUSTER_DNS_OPTIONS = {
  'cluster-dns-allow': { type: 'string' },
  'cluster-dns-forward': { type: 'string' },
  'cluster-dns-suffix': { type: 'string' },
  'clusterset-domain': { type: 'string' },
} as const;

export type ClusterDnsKey = keyof typeof CLUSTER_DNS_OPTIONS;

export interface ClusterDnsConfig {
  /** Networks the private answers go to; empty: in-cluster answers off. */
  allow: Network[];
  /** The same, as written (for the DNS workers and logs). */
  allowText: string[];
  /** What members forward to, `IP:PORT`; default: the zone's nameserver addresses at the DNS port. */
  forwardTo: string[];
  /** The private suffix of the per-cluster names, absolute (default clusters.fedns.internal.). */
  suffix: string;
  /** The MCS domain (clusterset.local.), absolute, when the MCS names are answered too. */
  clustersetDomain?: string;
}

export const DEFAULT_CLUSTER_DNS_SUFFIX = 'clusters.fedns.internal.';

const fail = (key: string, msg: string): never => {
  throw new ClusterDnsConfigError(`${key}: ${msg}`);
};

function list(key: string, raw: unknown): string[] {
  if (raw === undefined || raw === null || raw === '') return [];
  if (typeof raw === 'string') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(raw)) return raw.map((v, i) => (typeof v === 'string' ? v.trim() : fail(`${key}[${i}]`, 'must be a string')));
  return fail(key, 'must be a list (or a comma-separated string)');
}

/** `IP:PORT`, `[IPv6]:PORT`, or a bare IP (port 53). */
function forwardTarget(text: string): string {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  const host = m?.[1] ?? (isIP(text) === 6 ? text : '');
  const port = m?.[2] ? Number(m[2]) : 53;
  if (isIP(host) === 0) fail('cluster-dns-forward', `"${text}" is not IP:PORT (members forward to addresses, not names)`);
  if (port < 1 || port > 65535) fail('cluster-dns-forward', `"${text}": port out of range`);
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function domain(key: string, raw: string, zone: string): string {
  const abs = absoluteName(raw);
  const p = abs === '.' ? 'the root is not allowed' : nameProblem(abs);
  if (p) fail(key, p);
  if (isInZone(abs, zone) || isInZone(zone, abs)) fail(key, `${abs} must lie outside the federation zone ${zone} (its names are private)`);
  return abs;
}

/**
 * Parses the keys; `defaultForward` is the zone's nameserver addresses at the DNS listener's port
 * (what a member reaches fedns at when nothing else is said).
 */
export function parseClusterDnsConfig(get: (k: ClusterDnsKey) => unknown, zone: string, defaultForward: string[]): ClusterDnsConfig {
  const allowText = list('cluster-dns-allow', get('cluster-dns-allow'));
  const allow = allowText.map((t) => {
    try {
      return parseNetwork(t);
    } catch (err) {
      return fail('cluster-dns-allow', (err as Error).message);
    }
  });
  const forwardRaw = list('cluster-dns-forward', get('cluster-dns-forward'));
  const forwardTo = (forwardRaw.length ? forwardRaw : defaultForward).map(forwardTarget);
  const suffixRaw = get('cluster-dns-suffix');
  const suffix = domain('cluster-dns-suffix', suffixRaw === undefined || suffixRaw === null ? DEFAULT_CLUSTER_DNS_SUFFIX : String(suffixRaw), zone);
  const config: ClusterDnsConfig = { allow, allowText, forwardTo, suffix };
  const cs = get('clusterset-domain');
  if (cs !== undefined && cs !== null && String(cs) !== '') config.clustersetDomain = domain('clusterset-domain', String(cs), zone);
  if (allow.length && forwardTo.length === 0) fail('cluster-dns-forward', 'in-cluster answers need an address the members forward to');
  return config;
}

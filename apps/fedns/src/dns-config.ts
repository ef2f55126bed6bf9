/**
 * The nameserver's keys of the configuration: zone transfers (ACL, TSIG keys,
 * NOTIFY targets), response rate limiting, DNS cookies, worker processes and dnstap.
 * Flags are kebab-case strings (lists comma-separated); YAML keys are
 * camelCase and may also be lists; FEDNS_* variables as the flags.
 */
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { locationProblem } from '@fedns/model';
import { type AclEntry, ClientLocator, type ClientNetwork, ClientNetworkError, type NotifyTarget, type RrlOptions, type TsigKey, makeKey, parseAclEntry, parseTsigKey } from '@fedns/nameserver';

/** Thrown as the config's UsageError by the caller (config.ts owns that class). */
export class DnsConfigError extends Error {}

export const DNS_OPTIONS = {
  'xfr-allow': { type: 'string' },
  'tsig-keys': { type: 'string' },
  notify: { type: 'string' },
  'rrl-rate': { type: 'string' },
  'rrl-slip': { type: 'string' },
  'rrl-ipv4-prefix': { type: 'string' },
  'rrl-ipv6-prefix': { type: 'string' },
  'dns-workers': { type: 'string' },
  'cookie-secret': { type: 'string' },
  'client-networks': { type: 'string' },
  'geoip-database': { type: 'string' },
  'dnstap-socket': { type: 'string' },
} as const;

export type DnsKey = keyof typeof DNS_OPTIONS;

export interface DnsConfig {
  /** Who may AXFR/IXFR: `NETWORK [KEYNAME]` entries. Empty: nobody. */
  xfrAllow: AclEntry[];
  tsigKeys: TsigKey[];
  /** Secondaries to NOTIFY on every serial change. */
  notify: NotifyTarget[];
  /** RRL; responsesPerSecond 0 = off. */
  rrl: Required<Pick<RrlOptions, 'responsesPerSecond' | 'slip' | 'ipv4PrefixLength' | 'ipv6PrefixLength'>>;
  /** DNS worker processes, each with its own SO_REUSEPORT socket on the DNS port; 0 = answer in the main process. */
  workers: number;
  /** 16-octet server cookie secret shared by an anycast set; random when unset. */
  cookieSecret?: Buffer;
  /** Client networks → region, for answers routed by client location (issue 14). */
  clientNetworks: ClientNetwork[];
  /** A MaxMind-format database (GeoIP2/GeoLite2 City, …) for clients no network names. */
  geoipDatabase?: string;
  /** dnstap: the Frame Streams collector's unix socket; unset: off. */
  dnstapSocket?: string;
}

/** The default worker count is one per CPU, as Knot's udp-workers, but at most this many (each holds a copy of the zone). */
export const MAX_DEFAULT_DNS_WORKERS = 4;

/** Default --dns-workers: one worker process per available CPU, 1 to MAX_DEFAULT_DNS_WORKERS. */
export function defaultDnsWorkers(cpus = availableParallelism()): number {
  return Math.max(1, Math.min(cpus, MAX_DEFAULT_DNS_WORKERS));
}

/** Defaults: RRL on as NSD ships it (200 responses/s per bucket, slip 2), Knot's prefixes (/24, /56). */
export const RRL_DEFAULTS = { responsesPerSecond: 200, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56 };

const fail = (key: string, msg: string): never => {
  throw new DnsConfigError(`${key}: ${msg}`);
};

/** A flag/env string (comma-separated) or a YAML list → list of strings. */
function list(key: string, raw: unknown): string[] {
  if (raw === undefined || raw === null || raw === '') return [];
  if (typeof raw === 'string') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(raw)) return raw.map((v, i) => (typeof v === 'string' ? v : fail(`${key}[${i}]`, 'must be a string')));
  return fail(key, 'must be a list (or a comma-separated string)');
}

function int(key: string, raw: unknown, min: number, max: number, dflt: number): number {
  if (raw === undefined || raw === null) return dflt;
  const s = String(raw).trim();
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) fail(key, `"${s}" must be a whole number from ${min} to ${max}`);
  return Number(s);
}

function tsigKeys(raw: unknown): TsigKey[] {
  const key = 'tsig-keys';
  const entries: unknown[] = typeof raw === 'string' ? list(key, raw) : Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : fail(key, 'must be a list');
  const keys = entries.map((e, i) => {
    try {
      if (typeof e === 'string') return parseTsigKey(e);
      if (e && typeof e === 'object') {
        const o = e as { name?: unknown; algorithm?: unknown; secret?: unknown };
        if (typeof o.name !== 'string') return fail(`${key}[${i}].name`, 'required');
        if (o.algorithm !== undefined && String(o.algorithm).toLowerCase() !== 'hmac-sha256') return fail(`${key}[${i}].algorithm`, `"${String(o.algorithm)}" is not supported (only hmac-sha256)`);
        if (typeof o.secret !== 'string') return fail(`${key}[${i}].secret`, 'required (base64)');
        return makeKey(o.name, o.secret);
      }
      return fail(`${key}[${i}]`, 'must be [hmac-sha256:]name:secret or {name, algorithm, secret}');
    } catch (err) {
      if (err instanceof DnsConfigError) throw err;
      return fail(key, (err as Error).message);
    }
  });
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.name)) fail(key, `key "${k.name}" is defined twice`);
    seen.add(k.name);
  }
  return keys;
}

function hostPort(key: string, text: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d+)$/.exec(text);
  if (!m) return fail(key, `"${text}" is not host:port`);
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  const port = Number(m[2]);
  if (isIP(host) === 0) fail(key, `"${host}" is not an IP address`);
  if (port < 1 || port > 65535) fail(key, `port ${port} is out of range 1-65535`);
  return { host, port };
}

/** Parses the DNS keys; `get(k)` returns the flag or environment string, else the YAML value. */
export function parseDnsConfig(get: (k: DnsKey) => unknown): DnsConfig {
  const keys = tsigKeys(get('tsig-keys'));
  const known = (k: string) => keys.some((x) => x.name === k);
  const xfrAllow = list('xfr-allow', get('xfr-allow')).map((text) => {
    let e: AclEntry;
    try {
      e = parseAclEntry(text);
    } catch (err) {
      return fail('xfr-allow', (err as Error).message);
    }
    if (e.key && !known(e.key)) fail('xfr-allow', `"${text}" names key "${e.key}", which is not in tsig-keys`);
    return e;
  });
  const notify = list('notify', get('notify')).map((text) => {
    const [addr = '', keyName, ...rest] = text.trim().split(/\s+/);
    if (rest.length) fail('notify', `"${text}" is not HOST:PORT [KEYNAME]`);
    const t: NotifyTarget = hostPort('notify', addr);
    if (keyName) {
      const abs = keyName.toLowerCase().endsWith('.') ? keyName.toLowerCase() : `${keyName.toLowerCase()}.`;
      if (!known(abs)) fail('notify', `"${text}" names key "${abs}", which is not in tsig-keys`);
      t.key = abs;
    }
    return t;
  });
  const rateRaw = get('rrl-rate');
  const rate = rateRaw !== undefined && ['off', 'false', 'no'].includes(String(rateRaw).trim().toLowerCase()) ? 0 : int('rrl-rate', rateRaw, 0, 1_000_000, RRL_DEFAULTS.responsesPerSecond);
  const rrl = {
    responsesPerSecond: rate,
    slip: int('rrl-slip', get('rrl-slip'), 0, 100, RRL_DEFAULTS.slip),
    ipv4PrefixLength: int('rrl-ipv4-prefix', get('rrl-ipv4-prefix'), 8, 32, RRL_DEFAULTS.ipv4PrefixLength),
    ipv6PrefixLength: int('rrl-ipv6-prefix', get('rrl-ipv6-prefix'), 16, 128, RRL_DEFAULTS.ipv6PrefixLength),
  };
  const workers = int('dns-workers', get('dns-workers'), 0, 64, defaultDnsWorkers());
  const config: DnsConfig = { xfrAllow, tsigKeys: keys, notify, rrl, workers, clientNetworks: clientNetworks(get('client-networks')) };
  const geoip = get('geoip-database');
  if (geoip !== undefined && geoip !== null && String(geoip) !== '') config.geoipDatabase = String(geoip);
  const secret = get('cookie-secret');
  if (secret !== undefined && secret !== null) {
    const s = String(secret).trim();
    if (!/^[0-9a-fA-F]{32}$/.test(s)) fail('cookie-secret', 'must be 32 hexadecimal digits (16 octets)');
    config.cookieSecret = Buffer.from(s, 'hex');
  }
  const tap = get('dnstap-socket');
  if (tap !== undefined && tap !== null && String(tap) !== '') {
    const path = String(tap);
    // sun_path holds 108 octets with the terminating NUL.
    if (Buffer.byteLength(path) > 107) fail('dnstap-socket', `"${path}" is longer than a unix socket path may be (107 octets)`);
    config.dnstapSocket = path;
  }
  return config;
}

/**
 * `clientNetworks` (issue 14): where clients are, by network. A flag or
 * environment string `CIDR=REGION,…`; in YAML a mapping `CIDR: REGION` (or
 * `CIDR: {region, latitude, longitude}` for a region the built-in table does
 * not know), or a list of `{cidr, region, latitude?, longitude?}`.
 */
export function clientNetworks(raw: unknown): ClientNetwork[] {
  const key = 'client-networks';
  if (raw === undefined || raw === null || raw === '') return [];
  const out: ClientNetwork[] = [];
  const add = (at: string, cidr: unknown, v: unknown) => {
    if (typeof cidr !== 'string' || cidr === '') fail(`${at}`, 'needs a network (cidr)');
    let region: unknown = v;
    let location: { latitude: number; longitude: number } | undefined;
    if (typeof v === 'object' && v !== null) {
      const o = v as { region?: unknown; latitude?: unknown; longitude?: unknown };
      region = o.region;
      if (o.latitude !== undefined || o.longitude !== undefined) {
        const p = locationProblem({ latitude: o.latitude, longitude: o.longitude });
        if (p) fail(`${at}.${p.field || 'location'}`, p.message);
        location = { latitude: o.latitude as number, longitude: o.longitude as number };
      }
    }
    if (typeof region !== 'string' || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(region)) fail(`${at}`, `region must be a region name (e.g. asia-east1), got ${JSON.stringify(region)}`);
    out.push({ cidr: cidr as string, region: region as string, ...(location ? { location } : {}) });
  };
  if (typeof raw === 'string') {
    raw.split(',').map((s) => s.trim()).filter(Boolean).forEach((entry, i) => {
      const m = /^([^=\s]+)\s*=\s*(\S+)$/.exec(entry);
      if (!m) fail(`${key}[${i}]`, `"${entry}" is not CIDR=REGION (e.g. 203.0.113.0/24=asia-east1)`);
      add(`${key}[${i}]`, m?.[1], m?.[2]);
    });
  } else if (Array.isArray(raw)) {
    raw.forEach((e, i) => {
      if (typeof e !== 'object' || e === null) fail(`${key}[${i}]`, 'must be {cidr, region, latitude?, longitude?}');
      add(`${key}[${i}]`, (e as { cidr?: unknown }).cidr, e);
    });
  } else if (typeof raw === 'object') {
    for (const [cidr, v] of Object.entries(raw)) add(`${key}[${cidr}]`, cidr, v);
  } else fail(key, 'must be a mapping CIDR: REGION, a list, or CIDR=REGION,…');
  // The networks as the nameserver will read them: a bad CIDR is named here, not at the first query.
  try {
    new ClientLocator(out);
  } catch (err) {
    if (err instanceof ClientNetworkError) throw new DnsConfigError(err.message.replace(/^clientNetworks/, key));
    throw err;
  }
  return out;
}

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { FederationConfig, NameserverConfig, RegionFallback } from '@fedns/model';
import { absoluteName, isInZone, labelProblem, nameProblem } from '@fedns/model';
import { parse as parseYaml } from 'yaml';
import { CLUSTER_DNS_OPTIONS, type ClusterDnsConfig, ClusterDnsConfigError, parseClusterDnsConfig } from './cluster-dns-config.js';
import { DNS_OPTIONS, type DnsConfig, DnsConfigError, parseDnsConfig } from './dns-config.js';

/** A problem with flags, environment or config file: printed as one line, exit code 2. */
export class UsageError extends Error {}

export interface Listen {
  host: string;
  port: number;
}

export interface Config {
  federation: string;
  zone: string;
  apiListen: Listen;
  dnsListen: Listen;
  dataDir: string;
  /** `sqlite:PATH` or `postgres://…`; undefined: `sqlite:<dataDir>/fedns.db`. */
  store?: string;
  /** A file holding the PostgreSQL password (else PGPASSWORD; never in the URL). */
  storePasswordFile?: string;
  /** The key that seals member credentials at rest (SQLite: beside the file by default; shared by every process). */
  secretKeyFile?: string;
  /** `store migrate`: the store to copy from and the one to copy into. */
  from?: string;
  to?: string;
  logLevel: string;
  defaultTtl: number;
  /** How long an unreachable member cluster's shards keep their last state (ms). */
  clusterGraceMs: number;
  /** How long a recovered shard must stay healthy before it is published again (ms). */
  stabilizationMs: number;
  /** How long a new service waits for every placed cluster to report before it fails open (ms). */
  firstReportTimeoutMs: number;
  /** Where a region without healthy shards aliases to (issue 14): the global name, or the nearest region with one. */
  regionFallback: RegionFallback;
  /** This process's name in leader election and served-serial records (default host-pid). */
  id?: string;
  /** Leader election (PostgreSQL): lease duration, renew deadline, retry period (ms; client-go's defaults). */
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  nameservers: NameserverConfig[];
  soa: FederationConfig['soa'];
  /** Nameserver: transfers, TSIG, NOTIFY, RRL, cookies, workers, dnstap (dns-config.ts). */
  dns: DnsConfig;
  /** In-cluster answers: who may ask, where members forward, the private suffix, MCS (cluster-dns-config.ts). */
  clusterDns: ClusterDnsConfig;
  /** Kubeconfig for `join`, and other verb-specific values. */
  kubeconfig?: string;
  context?: string;
  /** Where `demo` reads its federation (default: the seed scenario in shared/). */
  scenario?: string;
  /** Federation API bearer tokens (CSV `token,user,uid,"groups"`); set → every API request must authenticate. */
  tokenAuthFile?: string;
  /** Federation API over HTTPS; clientCaFile also accepts client certificates (CN = user, O = groups). */
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
  /** Serve the API without authentication on a non-loopback address (refused otherwise). */
  insecureApi: boolean;
  /** DNSSEC (issue 15): sign the zone on commit; switched off, the zone goes unsigned once the DS is withdrawn. */
  dnssec: boolean;
  /** How often the zone writer looks for signature refreshes and rollover steps (ms). */
  dnssecCheckMs: number;
  /** RFC 7583 rollover timings in seconds (config file `dnssecRollover`; small values compress the clock in tests). */
  dnssecRollover?: { propagation?: number; dnskeyTtl?: number; maxZoneTtl?: number; parentDs?: number };
  /** `dnssec ds --withdrawn` / `dnssec rollover --ds-seen`. */
  withdrawn?: boolean;
  dsSeen?: boolean;
}

/** Flag names and types; YAML keys and FEDNS_* variables are derived from them. */
const OPTIONS = {
  federation: { type: 'string' },
  zone: { type: 'string' },
  'api-listen': { type: 'string' },
  'dns-listen': { type: 'string' },
  'data-dir': { type: 'string' },
  store: { type: 'string' },
  'store-password-file': { type: 'string' },
  'secret-key-file': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  'default-ttl': { type: 'string' },
  'cluster-grace': { type: 'string' },
  stabilization: { type: 'string' },
  'first-report-timeout': { type: 'string' },
  'region-fallback': { type: 'string' },
  id: { type: 'string' },
  'lease-duration': { type: 'string' },
  'renew-deadline': { type: 'string' },
  'retry-period': { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  scenario: { type: 'string' },
  'token-auth-file': { type: 'string' },
  'tls-cert-file': { type: 'string' },
  'tls-private-key-file': { type: 'string' },
  'client-ca-file': { type: 'string' },
  'insecure-api': { type: 'boolean' },
  dnssec: { type: 'boolean' },
  'dnssec-check': { type: 'string' },
  withdrawn: { type: 'boolean' },
  'ds-seen': { type: 'boolean' },
  ...DNS_OPTIONS,
  ...CLUSTER_DNS_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const;

type Key = keyof typeof OPTIONS;
const camel = (k: string) => k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
const envName = (k: string) => `FEDNS_${k.toUpperCase().replace(/-/g, '_')}`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function parseListen(key: string, value: string): Listen {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value);
  if (!m) throw new UsageError(`${key}: "${value}" is not host:port (e.g. 127.0.0.1:5353)`);
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`${key}: port ${port} is out of range 0-65535`);
  if (host !== 'localhost' && isIP(host) === 0) throw new UsageError(`${key}: "${host}" is not an IP address`);
  return { host, port };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** `500ms`, `3s`, `2m` (a bare number is seconds) → milliseconds. */
export function parseDuration(key: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new UsageError(`${key}: "${value}" is not a duration (e.g. 500ms, 3s, 2m)`);
  return Math.round(Number(m[1]) * (DURATION_UNITS[m[2] ?? 's'] ?? 1000));
}

export interface ParsedCommand {
  verb: string;
  positionals: string[];
  config: Config;
  help: boolean;
}

/** argv (without node and script) + environment → verb and validated config. Pure apart from reading --config. */
export function parseCommand(argv: string[], env: NodeJS.ProcessEnv): ParsedCommand {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? String(err));
  }
  const [verb = 'help', ...positionals] = parsed.positionals;
  const flags = parsed.values as Partial<Record<Key, string | boolean>>;

  const configFile = (flags.config as string | undefined) ?? env[envName('config')];
  const file = configFile ? readConfigFile(configFile) : {};

  const pick = (k: Key): string | undefined => {
    const fromFlag = flags[k];
    if (typeof fromFlag === 'string') return fromFlag;
    const fromEnv = env[envName(k)];
    if (fromEnv !== undefined) return fromEnv;
    const fromFile = file[camel(k)];
    if (fromFile === undefined || fromFile === null) return undefined;
    if (typeof fromFile === 'object') throw new UsageError(`config ${camel(k)}: must be a scalar`);
    return String(fromFile);
  };

  const federation = pick('federation') ?? 'myfederation';
  const fedProblem = labelProblem(federation);
  if (fedProblem) throw new UsageError(`federation: "${federation}" ${fedProblem}`);
  const zoneRaw = pick('zone') ?? 'example.com.';
  const zone = absoluteName(zoneRaw);
  const zp = zone === '.' ? 'the root zone is not allowed' : nameProblem(zone);
  if (zp) throw new UsageError(`zone: ${zp}`);
  const logLevel = pick('log-level') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  const ttlRaw = pick('default-ttl') ?? '30';
  if (!/^\d+$/.test(ttlRaw) || Number(ttlRaw) < 1 || Number(ttlRaw) > 86400) throw new UsageError(`default-ttl: "${ttlRaw}" must be seconds from 1 to 86400`);

  const dnsListen = parseListen('dns-listen', pick('dns-listen') ?? '127.0.0.1:5353');
  const nameservers = parseNameservers(file.nameservers, zone, dnsListen.host);
  const soa = parseSoa(file.soa, zone, nameservers);

  const config: Config = {
    federation,
    zone,
    apiListen: parseListen('api-listen', pick('api-listen') ?? '127.0.0.1:8080'),
    dnsListen,
    dataDir: pick('data-dir') ?? './data',
    logLevel,
    defaultTtl: Number(ttlRaw),
    clusterGraceMs: parseDuration('cluster-grace', pick('cluster-grace') ?? '40s'),
    stabilizationMs: parseDuration('stabilization', pick('stabilization') ?? '3s'),
    firstReportTimeoutMs: parseDuration('first-report-timeout', pick('first-report-timeout') ?? '10s'),
    regionFallback: parseRegionFallback(pick('region-fallback') ?? 'global'),
    leaseDurationMs: parseDuration('lease-duration', pick('lease-duration') ?? '15s'),
    renewDeadlineMs: parseDuration('renew-deadline', pick('renew-deadline') ?? '10s'),
    retryPeriodMs: parseDuration('retry-period', pick('retry-period') ?? '2s'),
    nameservers,
    soa,
    insecureApi: parseBool('insecure-api', flags['insecure-api'] === true ? 'true' : (env[envName('insecure-api')] ?? file[camel('insecure-api')])),
    dnssec: parseBool('dnssec', flags.dnssec === true ? 'true' : (env[envName('dnssec')] ?? file.dnssec)),
    dnssecCheckMs: parseDuration('dnssec-check', pick('dnssec-check') ?? '60s'),
    withdrawn: flags.withdrawn === true,
    dsSeen: flags['ds-seen'] === true,
    dns: parseDns((k) => {
      const fromFlag = flags[k];
      if (typeof fromFlag === 'string') return fromFlag;
      return env[envName(k)] ?? file[camel(k)];
    }),
    clusterDns: parseClusterDns(
      (k) => {
        const fromFlag = flags[k];
        if (typeof fromFlag === 'string') return fromFlag;
        return env[envName(k)] ?? file[camel(k)];
      },
      zone,
      nameservers.flatMap((ns) => ns.addresses).map((a) => (a.includes(':') ? `[${a}]:${dnsListen.port}` : `${a}:${dnsListen.port}`)),
    ),
  };
  if (file.dnssecRollover !== undefined) config.dnssecRollover = parseRolloverTiming(file.dnssecRollover);
  const store = pick('store');
  if (store !== undefined) config.store = parseStoreUrl(store);
  const storePasswordFile = pick('store-password-file');
  if (storePasswordFile !== undefined) config.storePasswordFile = storePasswordFile;
  const secretKeyFile = pick('secret-key-file');
  if (secretKeyFile !== undefined) config.secretKeyFile = secretKeyFile;
  const from = pick('from');
  if (from !== undefined) config.from = from;
  const to = pick('to');
  if (to !== undefined) config.to = to;
  const id = pick('id');
  if (id !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(id)) throw new UsageError(`id: "${id}" must be 1-63 letters, digits, dots, dashes or underscores`);
    config.id = id;
  }
  if (!(config.renewDeadlineMs < config.leaseDurationMs)) throw new UsageError('renew-deadline: must be shorter than lease-duration (a leader stops acting before its lease can expire)');
  if (!(config.retryPeriodMs < config.renewDeadlineMs)) throw new UsageError('retry-period: must be shorter than renew-deadline');
  const kubeconfig = pick('kubeconfig');
  if (kubeconfig) config.kubeconfig = kubeconfig;
  const context = pick('context');
  if (context) config.context = context;
  const scenario = pick('scenario');
  if (scenario) config.scenario = scenario;
  const tokenAuthFile = pick('token-auth-file');
  if (tokenAuthFile) config.tokenAuthFile = tokenAuthFile;
  const [certFile, keyFile, clientCaFile] = [pick('tls-cert-file'), pick('tls-private-key-file'), pick('client-ca-file')];
  if (certFile && !keyFile) throw new UsageError('tls-cert-file: needs tls-private-key-file as well');
  if (keyFile && !certFile) throw new UsageError('tls-private-key-file: needs tls-cert-file as well');
  if (clientCaFile && !certFile) throw new UsageError('client-ca-file: client certificates need TLS (tls-cert-file and tls-private-key-file)');
  if (certFile && keyFile) config.tls = { certFile, keyFile, ...(clientCaFile ? { clientCaFile } : {}) };
  return { verb, positionals, config, help: Boolean(flags.help) };
}

function parseRegionFallback(value: string): RegionFallback {
  if (value !== 'global' && value !== 'nearest') throw new UsageError(`region-fallback: "${value}" is neither global nor nearest`);
  return value;
}

function parseBool(key: string, raw: unknown): boolean {
  if (raw === undefined || raw === null || raw === false || raw === 'false' || raw === '0' || raw === '') return false;
  if (raw === true || raw === 'true' || raw === '1') return true;
  throw new UsageError(`${key}: "${String(raw)}" is not true or false`);
}

/** `--store`: the engine by URL scheme; a password in a postgres URL is refused (it would show in ps and logs). */
export function parseStoreUrl(value: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    if (value.length <= 'sqlite:'.length) throw new UsageError('store: sqlite: needs a file path, e.g. sqlite:/var/lib/fedns/fedns.db');
    return value;
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new UsageError(`store: "${value}" is not a valid postgres:// URL`);
    }
    if (url.password) throw new UsageError('store: put the PostgreSQL password in PGPASSWORD or --store-password-file, not in the URL');
    return value;
  }
  throw new UsageError(`store: "${value}" is neither sqlite:PATH nor postgres://HOST/DB`);
}

/** The store URL a role opens. */
export function storeUrlOf(c: Pick<Config, 'store' | 'dataDir'>): string {
  return c.store ?? `sqlite:${join(c.dataDir, 'fedns.db')}`;
}

function parseDns(get: Parameters<typeof parseDnsConfig>[0]): DnsConfig {
  try {
    return parseDnsConfig(get);
  } catch (err) {
    if (err instanceof DnsConfigError) throw new UsageError(err.message);
    throw err;
  }
}

function parseClusterDns(get: Parameters<typeof parseClusterDnsConfig>[0], zone: string, defaultForward: string[]): ClusterDnsConfig {
  try {
    return parseClusterDnsConfig(get, zone, defaultForward);
  } catch (err) {
    if (err instanceof ClusterDnsConfigError) throw new UsageError(err.message);
    throw err;
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`config: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UsageError(`config: ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`config: ${path} must be a YAML mapping`);
  const known = new Set([...Object.keys(OPTIONS).map(camel), 'nameservers', 'soa', 'dnssecRollover']);
  for (const k of Object.keys(doc)) {
    if (!known.has(k) || k === 'config' || k === 'help') throw new UsageError(`config: unknown key "${k}" in ${path}`);
  }
  return doc as Record<string, unknown>;
}

/** `dnssecRollover: {propagation, dnskeyTtl, maxZoneTtl, parentDs}` in seconds. */
function parseRolloverTiming(raw: unknown): NonNullable<Config['dnssecRollover']> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError('config dnssecRollover: must be a mapping');
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!['propagation', 'dnskeyTtl', 'maxZoneTtl', 'parentDs'].includes(k)) throw new UsageError(`config dnssecRollover: unknown key "${k}"`);
    if (typeof v !== 'number' || !(v >= 0)) throw new UsageError(`config dnssecRollover.${k}: must be a number of seconds`);
    out[k] = v;
  }
  return out;
}

function parseNameservers(raw: unknown, zone: string, defaultGlue: string): NameserverConfig[] {
  if (raw === undefined) {
    // One in-zone nameserver glued to the DNS listener's address: right for the demo and tests.
    const glue = defaultGlue === '0.0.0.0' || defaultGlue === '::' || defaultGlue === 'localhost' ? '127.0.0.1' : defaultGlue;
    return [{ name: `ns1.${zone}`, addresses: [glue] }];
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new UsageError('config nameservers: must be a non-empty list of {name, addresses}');
  return raw.map((ns, i) => {
    const n = ns as { name?: unknown; addresses?: unknown };
    if (typeof n.name !== 'string') throw new UsageError(`config nameservers[${i}].name: required`);
    const name = absoluteName(n.name);
    const p = nameProblem(name);
    if (p) throw new UsageError(`config nameservers[${i}].name: ${p}`);
    const addresses = n.addresses === undefined ? [] : n.addresses;
    if (!Array.isArray(addresses) || addresses.some((a) => typeof a !== 'string' || isIP(a) === 0)) {
      throw new UsageError(`config nameservers[${i}].addresses: must be a list of IP addresses`);
    }
    if (isInZone(name, zone) && addresses.length === 0) throw new UsageError(`config nameservers[${i}].addresses: ${name} is inside ${zone} and needs glue addresses`);
    return { name, addresses: addresses as string[] };
  });
}

function parseSoa(raw: unknown, zone: string, ns: NameserverConfig[]): FederationConfig['soa'] {
  const defaults = { mname: ns[0]?.name ?? `ns1.${zone}`, rname: `hostmaster.${zone}`, refresh: 3600, retry: 600, expire: 604800, minimum: 30, ttl: 3600 };
  if (raw === undefined) return defaults;
  if (typeof raw !== 'object' || raw === null) throw new UsageError('config soa: must be a mapping');
  const soa = { ...defaults };
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'mname' || k === 'rname') {
      if (typeof v !== 'string' || nameProblem(absoluteName(v))) throw new UsageError(`config soa.${k}: must be a domain name`);
      soa[k] = absoluteName(v);
    } else if (k in defaults) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) throw new UsageError(`config soa.${k}: must be a whole number of seconds`);
      (soa as Record<string, number | string>)[k] = v;
    } else throw new UsageError(`config soa: unknown key "${k}"`);
  }
  return soa;
}

export function federationConfig(c: Config): FederationConfig {
  return { name: c.federation, zone: c.zone, defaultTtl: c.defaultTtl, soa: c.soa, nameservers: c.nameservers };
}

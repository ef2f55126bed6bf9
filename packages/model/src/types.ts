/** Domain types shared by every fedns package. Plain data, no behaviour. */

/** The federation: its name and the DNS zone it is authoritative for. */
export interface FederationConfig {
  /** e.g. `myfederation` — a single DNS label. */
  name: string;
  /** Absolute, lower-case, e.g. `example.com.` */
  zone: string;
  /** Default TTL of every published record set, seconds (DESIGN §4 rule 6: 30). */
  defaultTtl: number;
  soa: SoaConfig;
  /** Apex NS names (absolute) with optional glue for in-zone ones. */
  nameservers: NameserverConfig[];
}

export interface SoaConfig {
  /** MNAME, absolute. */
  mname: string;
  /** RNAME in domain form (hostmaster.example.com.), absolute. */
  rname: string;
  refresh: number;
  retry: number;
  expire: number;
  /** SOA MINIMUM: negative-caching TTL (RFC 2308). */
  minimum: number;
  /** TTL of the SOA and NS records themselves. */
  ttl: number;
}

export interface NameserverConfig {
  name: string;
  addresses: string[];
}

export type FailMode = 'open' | 'closed';

/** Where a region with no healthy shard aliases to (issue 14): the global name, or the nearest region that has one. */
export type RegionFallback = 'global' | 'nearest';

/** How the global name answers (issue 14): every healthy shard, or the client's nearest region's. */
export type Routing = 'all' | 'nearest';

/** A point on the earth, degrees (WGS 84). */
export interface GeoPoint {
  latitude: number;
  longitude: number;
}

/**
 * A health probe of each shard's load-balancer addresses from outside
 * (issue 14): a TCP connect, or an HTTP(S) GET answered 2xx/3xx.
 */
export interface ProbeSpec {
  protocol: 'tcp' | 'http' | 'https';
  port: number;
  /** HTTP(S) only, starting with `/`. */
  path?: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures before a prober calls the shard failed. */
  failureThreshold: number;
  /** Consecutive successes before a prober calls a failed shard healthy again. */
  successThreshold: number;
}

/** What the cascade needs to know about one federated service. */
export interface ServicePolicy {
  namespace: string;
  name: string;
  /** TTL of this service's record sets, seconds. */
  ttl: number;
  failMode: FailMode;
  /** Minimum ready endpoints for a shard to count as healthy. */
  minReadyEndpoints: number;
  /** Cluster names the service is placed in; undefined = every cluster. */
  clusters?: string[];
  /** TTL of the in-cluster answers, seconds (default DEFAULT_CLUSTER_TTL, 5). */
  clusterTtl?: number;
  /** A headless Service (clusterIP None): in-cluster answers are its local ready endpoints, else NODATA. */
  headless?: boolean;
  /**
   * Set by the controller while a new service waits for every placed cluster
   * to report once: it does not fail open yet, so the global name never
   * answers a transient subset of shards (issue 9).
   */
  failOpenPending?: boolean;
  /**
   * Relative weights by cluster name (federation.fedns.io/weights); a cluster
   * not named weighs 1, weight 0 takes its shard out. Set: every address
   * answer of the service is one shard's, chosen in proportion to weight.
   */
  weights?: Record<string, number>;
  /** How the global name answers (federation.fedns.io/routing; default all). */
  routing?: Routing;
  /** Probes of each shard from every controller (federation.fedns.io/probe*). */
  probe?: ProbeSpec;
}

/** A member cluster as the cascade sees it. */
export interface ClusterTopology {
  name: string;
  region: string;
  zones: string[];
  /** A drained cluster's shards are never published as healthy. */
  drained?: boolean;
  /** Zones of this cluster that are drained. */
  drainedZones?: string[];
  /** Where the cluster is (spec.location); else its region's place in the built-in table. */
  location?: GeoPoint;
}

/**
 * One member cluster's copy of a federated service. `healthy` is the effective
 * health after the controller applied grace periods and stabilisation windows
 * (time-based rules live in the controller; the cascade is timeless).
 */
export interface Shard {
  cluster: string;
  namespace: string;
  service: string;
  /** Load-balancer addresses (IPv4 and/or IPv6 literals), already flattened. */
  addresses: string[];
  readyEndpoints: number;
  healthy: boolean;
  /** What the shard offers its own cluster's pods (in-cluster answers); never published. */
  local?: LocalShard;
}

/**
 * A shard as its own cluster sees it (issue 12): the member Service's cluster IPs and its local
 * health, which needs no load balancer — the cluster Ready, at least `minReadyEndpoints` ready
 * endpoints, not drained — with the same time rules as the public health. Private data: it is
 * never part of the public zone.
 */
export interface LocalShard {
  /** `spec.clusterIPs` of the member Service ([] for a headless Service). */
  clusterIPs: string[];
  /** A headless Service (clusterIP None): its pods' ready endpoint addresses answer instead. */
  headless: boolean;
  /** Ready endpoint addresses (kept for headless Services; [] otherwise). */
  endpoints: string[];
  /** Effective local health (stabilised like `healthy`). */
  healthy: boolean;
  /** When `healthy` last changed (ISO 8601), why, and the stabilisation state. */
  since: string;
  message: string;
  everHealthy?: boolean;
  recoveringSince?: string;
}

/** Which in-cluster answer: one member cluster's view of one federated service. */
export interface ClusterAnswerKey {
  cluster: string;
  namespace: string;
  service: string;
}

/**
 * One member cluster's answer for `<service>.<namespace>.<federation>.svc.<cluster-domain>`
 * (issue 12), private to that cluster: the local shard's addresses, else a CNAME to the public
 * name nearest to the cluster, whose chain the answer carries to its end; neither is NODATA.
 */
export interface ClusterAnswer extends ClusterAnswerKey {
  ttl: number;
  /** A/AAAA literals, sorted: the local cluster IPs, or a headless Service's local ready endpoints. */
  addresses?: string[];
  /** An absolute public name (zone, region or global level) the name is a CNAME to. */
  target?: string;
}

/** Types the cascade publishes. */
export type DataType = 'A' | 'AAAA' | 'CNAME' | 'TXT';
/**
 * Types the zone writer's signer adds when DNSSEC is on (issue 15): their data is
 * presentation-format RDATA, one string per record; owned by the zone (namespace
 * and service ''), never by a service. One RRSIG record set per owner name holds
 * the signatures of every RRset there.
 */
export type DnssecType = 'RRSIG' | 'NSEC3' | 'NSEC3PARAM' | 'DNSKEY' | 'CDS' | 'CDNSKEY';
export type RecordType = DataType | DnssecType;
export const DNSSEC_TYPES: readonly DnssecType[] = ['RRSIG', 'NSEC3', 'NSEC3PARAM', 'DNSKEY', 'CDS', 'CDNSKEY'];
const DNSSEC_SET: ReadonlySet<string> = new Set(DNSSEC_TYPES);
/** True for the record sets the signer owns (the cascade never computes them). */
export function isDnssecType(type: string): type is DnssecType {
  return DNSSEC_SET.has(type);
}
export type RecordLevel = 'global' | 'region' | 'zone';

/** One published RRset. Names are absolute and lower-case. */
export interface RecordSet {
  name: string;
  type: RecordType;
  ttl: number;
  /** A/AAAA: sorted address literals; CNAME: one absolute target; TXT: strings; DNSSEC types: presentation RDATA. */
  data: string[];
  level: RecordLevel;
  /** Owning federated service. */
  namespace: string;
  service: string;
  /** Region / zone of the level (absent for global). */
  region?: string;
  zone?: string;
  /**
   * Traffic policy (issue 14): the shards behind an A/AAAA set, for the fedns
   * nameserver's per-query choice. `data` stays the union of every variant —
   * what secondaries, transfers and the API see.
   */
  policy?: RecordPolicy;
}

/** One shard's share of an A/AAAA record set. */
export interface RecordVariant {
  cluster: string;
  /** The shard's region ('' when unknown). */
  region: string;
  /** The region's location (routing by client location). */
  location?: GeoPoint;
  /** Relative weight (1 unless the service sets weights; never 0: weight 0 is not published). */
  weight: number;
  /** This shard's addresses of the set's type, sorted. */
  data: string[];
}

export interface RecordPolicy {
  /**
   * `nearest` (the global name of a service routed by client location): a
   * client gets the variants of the nearest region that has any, or every
   * variant when its location is unknown.
   */
  routing?: 'nearest';
  /** One variant per answer, chosen in proportion to its weight (among the routed ones). */
  weighted?: boolean;
  variants: RecordVariant[];
}

/** A change of in-cluster answers: new or changed answers, and keys of answers gone. */
export interface ClusterAnswerDiff {
  upserts: ClusterAnswer[];
  deletes: ClusterAnswerKey[];
}

export interface RecordSetDiff {
  /** New or changed RRsets (full new content). */
  upserts: RecordSet[];
  /** RRsets that no longer exist (old content). */
  deletes: RecordSet[];
}

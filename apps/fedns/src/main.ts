#!/usr/bin/env node
import { StoreConfigError } from '@fedns/store';
import { type Config, parseCommand, UsageError } from './config.js';
import { join } from 'node:path';
import { runKubeSim } from '@fedns/kube-sim';
import { startDemo } from './demo.js';
import { defaultDnsWorkers, MAX_DEFAULT_DNS_WORKERS } from './dns-config.js';
import { dnssecCommand } from './dnssec-cli.js';
import { explain, history } from './inspect.js';
import { migrateStore } from './store-migrate.js';
import { type Closer, joinCluster, makeLogger, type Running, startApiserver, startController, startNameserver, startServe, storeUnreachable, unjoinCluster } from './roles.js';

const HELP = `fedns — federated, health-aware global DNS for Kubernetes

usage: fedns <verb> [flags]

verbs:
  serve                      API, controller and nameserver (DNS in worker processes: --dns-workers)
  apiserver | controller | nameserver
                             one role each, over the same --data-dir
  demo                       serve plus the seed's 13 simulated member clusters
  join NAME --kubeconfig F [--context C]
  unjoin NAME
  explain NAME               how a DNS name resolves now, and why
  history SERVICE            record changes of a service (NAMESPACE/NAME), with causes
  store migrate --from URL --to URL
                             move an installation to another store (e.g. SQLite to PostgreSQL)
  dnssec ds [--withdrawn]    the DNSKEY and DS for the parent; confirm the DS is gone (going unsigned)
  dnssec rollover [--ds-seen] start a CSK rollover; confirm the parent serves the new DS
  dnssec status              signing state, rollover phase
  sim-cluster [kube-sim flags] run one simulated member cluster (fedns sim-cluster --help)

flags (also FEDNS_<FLAG> in the environment, or keys of a --config YAML file):
  --federation NAME          default myfederation
  --zone ZONE                default example.com.
  --api-listen HOST:PORT     default 127.0.0.1:8080
  --dns-listen HOST:PORT     default 127.0.0.1:5353 (UDP and TCP)
  --data-dir DIR             default ./data
  --store URL                sqlite:PATH (default <data-dir>/fedns.db) or postgres://USER@HOST:PORT/DB
  --store-password-file F    the PostgreSQL password (or PGPASSWORD); never in the URL
  --secret-key-file F        the key sealing member credentials at rest (default <data-dir>/secret.key)
  --id NAME                  this process in leader election and served-serial records (default host-pid)
  --lease-duration D         leader election on PostgreSQL: lease (default 15s) ...
  --renew-deadline D         ... a leader that cannot renew stops acting after this (default 10s) ...
  --retry-period D           ... and candidates retry this often (default 2s)
  --config FILE              YAML with the same keys (camelCase), plus nameservers and soa
  --log-level LEVEL          default info
  --default-ttl SECONDS      default 30
  --cluster-grace DURATION   an unreachable member's shards keep their state this long (default 40s)
  --stabilization DURATION   a recovered shard waits this long before it is published (default 3s)
  --first-report-timeout D   a new service fails open only once every placed cluster reported, or after this (default 10s)
  --region-fallback MODE     global (default: a region without healthy shards aliases to the global name)
                             or nearest (to the nearest region that has one, by distance)
  --xfr-allow "NET [KEY],…"  who may AXFR/IXFR (address ranges, optionally with a TSIG key)
  --tsig-keys [hmac-sha256:]NAME:BASE64,…
  --notify "IP:PORT [KEY],…" secondaries to NOTIFY on every serial change
  --rrl-rate N|off           response rate limit per client network (default 200/s)
  --rrl-slip N               every Nth limited response goes out truncated (default 2)
  --dns-workers N            DNS worker processes, each binding the DNS port itself (SO_REUSEPORT:
                             the kernel spreads queries over them); default one per CPU, at most
                             ${MAX_DEFAULT_DNS_WORKERS} (${defaultDnsWorkers()} here); 0 answers in the main process
  --cookie-secret HEX32      DNS cookie secret (default: random per start)
  --client-networks CIDR=REGION,…
                             where clients are, for services routed by client location (federation.fedns.io/routing:
                             nearest): EDNS Client Subnet, else the source address (YAML clientNetworks: also
                             CIDR: {region, latitude, longitude})
  --geoip-database FILE      a MaxMind-format database (GeoIP2/GeoLite2 City …) for clients no network names
  --cluster-dns-allow CIDR,… in-cluster answers (pods find the nearest healthy shard): the member
                             clusters' networks they are answered to; off when empty (default)
  --cluster-dns-forward IP:PORT,…
                             where members' CoreDNS forwards <federation>.svc.<cluster-domain>
                             (default: the zone's nameserver addresses at the DNS port)
  --cluster-dns-suffix NAME  the private names' suffix (default clusters.fedns.internal.)
  --clusterset-domain NAME   also answer <svc>.<ns>.svc.NAME (the MCS form, e.g. clusterset.local)
  --dnstap-socket PATH       dnstap query log: a message per query and per response to the Frame
                             Streams collector on this unix socket (each DNS worker connects;
                             reconnects; a slow collector costs dropped frames, never answers)
  --token-auth-file FILE     API bearer tokens, CSV token,user,uid,"groups" (fedns:admin, fedns:readonly)
  --tls-cert-file FILE       serve the API over HTTPS with this certificate ...
  --tls-private-key-file F   ... and key
  --client-ca-file FILE      accept client certificates signed by this CA (CN = user, O = groups)
  --insecure-api             serve the API without authentication on a non-loopback address
                             (refused otherwise: exit 2)
  --dnssec                   sign the zone (ECDSA P-256, NSEC3); off on a signed zone: CDS delete,
                             unsigned once the DS is withdrawn (see packages/dnssec/README.md)
  --dnssec-check DURATION    how often the zone writer refreshes signatures and steps rollovers (default 60s)

API security: serve and apiserver use <data-dir>/api-security.yaml (written by demo: its
certificate and tokens.csv) for any of the settings above not given by flags, FEDNS_* or --config;
a second demo on the same data dir reuses them.
`;

type Verb = (c: Config, run: Running, args: string[]) => Promise<void>;

const LONG_RUNNING: Record<string, Verb> = {
  serve: async (c, run) => {
    await startServe(c, run);
  },
  apiserver: (c, run) => startApiserver(c, run),
  controller: (c, run) => startController(c, run),
  nameserver: (c, run) => startNameserver(c, run),
  demo: (c, run) => startDemo(c, run),
};

const ONE_SHOT: Record<string, (c: Config, args: string[]) => Promise<string> | string> = {
  join: (c, args) => joinCluster(c, args[0]),
  unjoin: (c, args) => unjoinCluster(c, args[0]),
  explain: (c, args) => explain(c, args[0]),
  store: (c, args) => migrateStore(c, args, (line) => process.stderr.write(`fedns store migrate: ${line}\n`)),
  history: (c, args) => history(c, args[0]),
  dnssec: (c, args) => dnssecCommand(c, args),
};

async function closeAll(closers: Closer[]): Promise<void> {
  for (const close of closers.splice(0).reverse()) {
    try {
      await close();
    } catch {
      // Best effort: the rest must still close.
    }
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // sim-cluster has flags of its own (kube-sim's); hand them over untouched.
  if (argv[0] === 'sim-cluster') return runKubeSim(argv.slice(1), 'fedns sim-cluster');
  const cmd = parseCommand(argv, process.env);
  if (cmd.help || cmd.verb === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const oneShot = ONE_SHOT[cmd.verb];
  if (oneShot) {
    process.stdout.write(`${await oneShot(cmd.config, cmd.positionals)}\n`);
    return;
  }
  const verb = LONG_RUNNING[cmd.verb];
  if (!verb) throw new UsageError(`unknown verb "${cmd.verb}" (try: fedns help)`);
  const run: Running = { logger: makeLogger(cmd.config, cmd.verb === 'demo' ? join(cmd.config.dataDir, 'fedns.log') : undefined), closers: [] };
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    run.logger.info({ signal }, 'stopping');
    void closeAll(run.closers).then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    await verb(cmd.config, run, cmd.positionals);
  } catch (err) {
    await closeAll(run.closers);
    throw err;
  }
}

/** A PostgreSQL store that cannot be reached or refuses this login, said in one line (retrying may help: exit 1). */
function storeFailure(e: NodeJS.ErrnoException): string | undefined {
  const unreachable = storeUnreachable(e);
  if (unreachable) return `store: cannot connect: ${unreachable}`;
  const code = String(e.code ?? '');
  // SQLSTATE classes 28 (authorization), 3D (no such database).
  if (/^(28|3D)/.test(code)) return `store: PostgreSQL refused: ${e.message} (SQLSTATE ${code})`;
  return undefined;
}

main().catch((err: unknown) => {
  if (err instanceof UsageError || err instanceof StoreConfigError) {
    process.stderr.write(`fedns: ${err.message}\n`);
    process.exit(2);
  }
  const e = err as NodeJS.ErrnoException;
  const store = storeFailure(e);
  if (store) {
    process.stderr.write(`fedns: ${store}\n`);
    process.exit(1);
  }
  if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
    process.stderr.write(`fedns: cannot listen: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`fedns: ${e.stack ?? e.message}\n`);
  process.exit(1);
});

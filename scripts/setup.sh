#!/usr/bin/env bash
# Installs everything fedns, its demo and its tests need on a fresh Debian machine:
# the DNS tools the tests drive (dig, kdig, delv, dnsperf, NSD, Knot, Unbound, the DNSSEC
# checkers dnssec-verify/dnssec-signzone, kzonecheck, ldns-verify-zone/ldns-signzone, and the dnstap
# collector and reader fstrm_capture and dnstap-ldns), openssl (the demo's and
# the TLS tests' certificates), PostgreSQL 15 (the PostgreSQL store's tests start throwaway servers
# from its binaries, as the postgres user), Chromium (the dashboard's browser test) and promtool (the
# alerting rules' check), iproute2 (the chaos tests' network namespaces), Node.js (the LTS release
# in .node-version, into .node/) and the pnpm workspace, then builds the web dashboard
# (apps/dashboard/dist). Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=0
for tool in dig kdig delv dnssec-verify kzonecheck ldns-verify-zone dnsperf nsd knotd unbound fstrm_capture dnstap-ldns openssl chromium promtool ip npm; do
  command -v "$tool" >/dev/null 2>&1 || missing=1
done
# Debian 12's postgresql is PostgreSQL 15 (initdb, pg_ctl, postgres, pg_basebackup, pg_dump under
# /usr/lib/postgresql/15/bin); the tests never use the system cluster it may create and start.
pg_missing=0
[ -x /usr/lib/postgresql/15/bin/initdb ] || { missing=1; pg_missing=1; }
if [ "$missing" = 1 ]; then
  packages="bind9-dnsutils bind9-utils knot-dnsutils knot-dnssecutils ldnsutils dnsperf nsd knot unbound fstrm-bin dnstap-ldns openssl chromium prometheus iproute2"
  # npm only fetches the Node.js package below; a machine without any Node.js gets Debian's.
  command -v npm >/dev/null 2>&1 || packages="$packages npm"
  [ -x /usr/lib/postgresql/15/bin/initdb ] || packages="$packages postgresql"
  echo "setup: installing Debian packages ($packages)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq $packages >/dev/null
  if [ "$pg_missing" = 1 ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    # The package starts a default cluster on port 5432; nothing here uses it.
    pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
  fi
  [ -x /usr/lib/postgresql/15/bin/initdb ] || { echo "setup: PostgreSQL 15 is missing after installing postgresql" >&2; exit 1; }
fi
command -v kubectl >/dev/null 2>&1 || echo "setup: warning: kubectl is not on PATH; the kubectl end-to-end tests need it" >&2

# Node.js from the npm registry's node-linux-<arch> package (the official release binaries;
# the Node.js download site itself is not reachable from every network), unpacked into .node/.
want="v$(tr -d '[:space:]' < .node-version)"
if [ "$(.node/bin/node --version 2>/dev/null)" != "$want" ]; then
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "setup: no Node.js package for $(uname -m)" >&2; exit 1 ;;
  esac
  echo "setup: installing Node.js $want (npm package node-linux-$arch) into .node/…"
  tmp="$(mktemp -d "$PWD/.node-tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$arch@${want#v}" >/dev/null)
  mkdir "$tmp/node"
  tar -xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$tmp/node" --strip-components=1
  [ "$("$tmp/node/bin/node" --version)" = "$want" ]
  rm -rf .node
  mv "$tmp/node" .node
fi
echo "setup: Node.js $(.node/bin/node --version) in .node/"

echo "setup: installing the pnpm workspace…"
bash scripts/pnpm install --frozen-lockfile --reporter=append-only 2>&1 | grep -v 'Unknown user config' | tail -n 5

# The dashboard's static files (git-ignored build output; the API server serves them under /ui/).
echo "setup: building the web dashboard…"
bash scripts/pnpm --filter @fedns/dashboard run --silent build

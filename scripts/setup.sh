#!/usr/bin/env bash
# Installs everything fedns, its demo and its tests need on a fresh Debian machine:
# the DNS tools the tests drive (dig, kdig, dnsperf, NSD, Knot, Unbound), openssl (the demo's and
# the TLS tests' certificates) and the pnpm workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=0
for tool in dig kdig dnsperf nsd knotd unbound openssl; do
  command -v "$tool" >/dev/null 2>&1 || missing=1
done
if [ "$missing" = 1 ]; then
  echo "setup: installing Debian packages (bind9-dnsutils knot-dnsutils dnsperf nsd knot unbound openssl)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq bind9-dnsutils knot-dnsutils dnsperf nsd knot unbound openssl >/dev/null
fi
command -v kubectl >/dev/null 2>&1 || echo "setup: warning: kubectl is not on PATH; the kubectl end-to-end tests need it" >&2

echo "setup: installing the pnpm workspace (better-sqlite3 builds from source, about a minute the first time)…"
# corepack's signature check fails on this registry; npx fetches pnpm 10 directly.
npx -y pnpm@10 install --frozen-lockfile --reporter=append-only 2>&1 | grep -v 'Unknown user config' | tail -n 5

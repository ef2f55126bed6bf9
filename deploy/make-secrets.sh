#!/usr/bin/env bash
# Generates the secrets a highly available fedns needs, as files in DIR (default
# deploy/compose/secrets, git- and docker-ignored), keeping any file that is already there:
#
#   pg-password   the PostgreSQL password of the user fedns (read through --store-password-file)
#   secret.key    the key for member-cluster credentials at rest: 32 random bytes, base64. The
#                 SAME file for every controller and API server (--secret-key-file); lose it and
#                 the stored member credentials cannot be read, so keep a copy somewhere safe
#   tokens.csv    API bearer tokens (token,user,uid,"groups"): an admin and a read-only viewer
#   tls.crt/.key  a self-signed certificate for the federation API (localhost, 127.0.0.1, the
#                 compose API servers, the fedns-api Service in namespace fedns)
#   kubeconfig    context fedns-ha: https://127.0.0.1:6443 (the compose profile's first API
#                 server) with that certificate and the admin token
#
# With --kubernetes NAMESPACE it then prints the Kubernetes Secrets deploy/ refers to, made from
# those files (pipe to `kubectl apply -f -`): fedns-postgres, fedns-secret-key, fedns-api-tokens,
# fedns-api-tls. It needs openssl, and kubectl for --kubernetes.
#
# Files are mode 0644 inside a 0700 directory: the directory keeps other users of this machine
# out, and the containers (fedns runs as uid 1000, PostgreSQL as uid 999) can read the files that
# docker compose bind-mounts as secrets (compose cannot change a file secret's owner or mode).
set -euo pipefail

namespace=""
if [ "${1:-}" = "--kubernetes" ]; then
  namespace="${2:?usage: make-secrets.sh [--kubernetes NAMESPACE] [DIR]}"
  shift 2
fi
dir="${1:-$(cd "$(dirname "$0")" && pwd)/compose/secrets}"
mkdir -p "$dir"
chmod 0700 "$dir"
umask 022

made=()
new() { # new FILE: true when FILE is missing (and will be written)
  if [ -e "$dir/$1" ]; then return 1; fi
  made+=("$1")
}
random_hex() { openssl rand -hex "$1"; }

# No newline after the password: a reader that does not trim it would send it as part of the password.
if new pg-password; then printf %s "$(random_hex 24)" > "$dir/pg-password"; fi
if new secret.key; then openssl rand -base64 32 > "$dir/secret.key"; fi
if new tokens.csv; then
  {
    echo '# fedns API tokens: token,user,uid,"groups"'
    echo "$(random_hex 24),admin,admin,\"fedns:admin\""
    echo "$(random_hex 24),viewer,viewer,\"fedns:readonly\""
  } > "$dir/tokens.csv"
fi
if [ ! -e "$dir/tls.crt" ] || [ ! -e "$dir/tls.key" ]; then
  made+=(tls.crt tls.key)
  sans="DNS:localhost,IP:127.0.0.1,DNS:apiserver-1,DNS:apiserver-2"
  for n in fedns-api "fedns-api.${namespace:-fedns}" "fedns-api.${namespace:-fedns}.svc" "fedns-api.${namespace:-fedns}.svc.cluster.local"; do
    sans="$sans,DNS:$n"
  done
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
    -keyout "$dir/tls.key" -out "$dir/tls.crt" -subj /CN=fedns-api -addext "subjectAltName=$sans" 2> /dev/null
  rm -f "$dir/kubeconfig"
fi
if new kubeconfig; then
  admin="$(grep -v '^#' "$dir/tokens.csv" | awk -F, '$2 == "admin" { print $1; exit }')"
  cat > "$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
current-context: fedns-ha
clusters:
  - name: fedns-ha
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority-data: $(base64 -w0 < "$dir/tls.crt")
users:
  - name: fedns-admin
    user:
      token: ${admin:?tokens.csv has no admin line}
contexts:
  - name: fedns-ha
    context: { cluster: fedns-ha, user: fedns-admin }
EOF
fi
chmod 0644 "$dir"/pg-password "$dir"/secret.key "$dir"/tokens.csv "$dir"/tls.crt "$dir"/tls.key "$dir"/kubeconfig
if [ "${#made[@]}" -gt 0 ]; then echo "make-secrets: wrote ${made[*]} in $dir" >&2; else echo "make-secrets: $dir already holds every file" >&2; fi

if [ -n "$namespace" ]; then
  k() { kubectl create secret "$@" --namespace "$namespace" --dry-run=client -o yaml; echo '---'; }
  k generic fedns-postgres --from-file=password="$dir/pg-password"
  k generic fedns-secret-key --from-file=secret.key="$dir/secret.key"
  k generic fedns-api-tokens --from-file=tokens.csv="$dir/tokens.csv"
  k tls fedns-api-tls --cert="$dir/tls.crt" --key="$dir/tls.key"
fi

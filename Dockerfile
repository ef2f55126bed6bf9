# fedns from source on Node.js 26 LTS (it runs through tsx: no build step, and no native
# module to compile: the store uses node:sqlite, which ships with the runtime).
FROM node:26-bookworm
# dig for debugging from inside the container; curl for the healthchecks of docker-compose.yml
# (already in this base image, named so that it stays).
RUN apt-get update && apt-get install -y --no-install-recommends bind9-dnsutils curl && rm -rf /var/lib/apt/lists/*
WORKDIR /fedns
COPY . .
# corepack's signature check fails on some registries; npx fetches pnpm 10 directly.
RUN npx -y pnpm@10 install --frozen-lockfile
# The web dashboard's static files, served by the API server under /ui/ (apps/dashboard/dist).
RUN npx -y pnpm@10 --filter @fedns/dashboard run build
# The `fedns` command: node with tsx's loader named by its absolute path, so that it works from
# any working directory (docker exec -w, a Kubernetes workingDir) and relative paths in its
# arguments stay relative to the caller's directory. exec: node is PID 1 and gets SIGTERM.
RUN printf '%s\n' '#!/bin/sh' 'exec node --import file:///fedns/node_modules/tsx/dist/loader.mjs /fedns/apps/fedns/src/main.ts "$@"' > /usr/local/bin/fedns \
 && chmod 0755 /usr/local/bin/fedns \
 && fedns help > /dev/null && rm -rf /tmp/tsx-* \
 && mkdir -p /data /etc/fedns && chown 1000:1000 /data
# Not root: the base image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it.
# Nothing under /fedns is written at run time; tsx keeps its cache in /tmp (so a read-only root
# file system needs a writable /tmp, as deploy/ and the compose ha profile mount). A named volume
# on /data starts out owned by this user; a volume created by an older image (which ran as root)
# needs `chown -R 1000:1000` once.
USER 1000:1000
EXPOSE 8080 5353/udp 5353/tcp
ENTRYPOINT ["fedns"]
# The roles are the commands: `serve` (below), `controller`, `apiserver`, `nameserver`, and the
# one-shot verbs (`join`, `explain`, `history`, `help`).
# The API listens on all interfaces, so it must authenticate: mount a directory at /etc/fedns with
# tokens.csv (token,user,uid,"groups"), tls.crt and tls.key, e.g.
#   docker run -v "$PWD/fedns-secrets:/etc/fedns:ro" -v fedns-data:/data -p 8080:8080 -p 5353:5353/udp fedns
# Without them fedns exits with one line naming the missing file. To serve the API unauthenticated
# anyway (a closed lab network only), override the command and add --insecure-api.
CMD ["serve", "--data-dir", "/data", "--api-listen", "0.0.0.0:8080", "--dns-listen", "0.0.0.0:5353", \
     "--token-auth-file", "/etc/fedns/tokens.csv", "--tls-cert-file", "/etc/fedns/tls.crt", "--tls-private-key-file", "/etc/fedns/tls.key"]

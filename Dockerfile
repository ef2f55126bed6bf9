# fedns from source on Node.js 26 LTS (it runs through tsx: no build step, and no native
# module to compile: the store uses node:sqlite, which ships with the runtime).
FROM node:26-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends bind9-dnsutils && rm -rf /var/lib/apt/lists/*
WORKDIR /fedns
COPY . .
# corepack's signature check fails on some registries; npx fetches pnpm 10 directly.
RUN npx -y pnpm@10 install --frozen-lockfile
EXPOSE 8080 5353/udp 5353/tcp
ENTRYPOINT ["node", "--import", "tsx", "apps/fedns/src/main.ts"]
# The API listens on all interfaces, so it must authenticate: mount a directory at /etc/fedns with
# tokens.csv (token,user,uid,"groups"), tls.crt and tls.key, e.g.
#   docker run -v "$PWD/fedns-secrets:/etc/fedns:ro" -v fedns-data:/data -p 8080:8080 -p 5353:5353/udp fedns
# Without them fedns exits with one line naming the missing file. To serve the API unauthenticated
# anyway (a closed lab network only), override the command and add --insecure-api.
CMD ["serve", "--data-dir", "/data", "--api-listen", "0.0.0.0:8080", "--dns-listen", "0.0.0.0:5353", \
     "--token-auth-file", "/etc/fedns/tokens.csv", "--tls-cert-file", "/etc/fedns/tls.crt", "--tls-private-key-file", "/etc/fedns/tls.key"]

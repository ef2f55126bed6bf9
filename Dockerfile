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
CMD ["serve", "--data-dir", "/data", "--api-listen", "0.0.0.0:8080", "--dns-listen", "0.0.0.0:5353"]

/** NSD as a secondary of fedns, for the benchmarks: everything on loopback, in a temp dir, no chroot, no RRL. */
export function nsdSecondaryConf(o: { dir: string; port: number; serverCount: number; zone: string; primaryPort: number; transfer: 'AXFR' | 'IXFR' }): string {
  // `request-xfr: AXFR …` forces full transfers; without the prefix NSD asks IXFR first.
  const request = o.transfer === 'AXFR' ? 'AXFR ' : '';
  return `server:
  ip-address: 127.0.0.1@${o.port}
  server-count: ${o.serverCount}
  reuseport: yes
  username: ""
  chroot: ""
  zonesdir: "${o.dir}"
  database: ""
  zonelistfile: "${o.dir}/zone.list"
  pidfile: "${o.dir}/nsd.pid"
  xfrdfile: "${o.dir}/xfrd.state"
  xfrdir: "${o.dir}"
  logfile: "${o.dir}/nsd.log"
  verbosity: 0
  hide-version: yes
  do-ip6: no
  rrl-ratelimit: 0
  # NSD batches reloads after transfers, 1 s apart by default; measure the transfer path, not that pause.
  xfrd-reload-timeout: 0
  receive-buffer-size: 4194304
  send-buffer-size: 4194304
remote-control:
  control-enable: no
zone:
  name: ${o.zone.replace(/\.$/, '')}
  zonefile: nsd-zone.db
  request-xfr: ${request}127.0.0.1@${o.primaryPort} NOKEY
  allow-notify: 127.0.0.1 NOKEY
`;
}

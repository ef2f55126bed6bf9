/** Shared test fixture: the DESIGN §4 worked example in zone example.com. */
import type { FederationConfig, RecordSet } from '@fedns/model';
import { ZoneIndex } from '../src/index.js';

export const P = 'nginx.prod.myfed.svc';

export const config: FederationConfig = {
  name: 'myfed',
  zone: 'example.com.',
  defaultTtl: 30,
  soa: {
    mname: 'ns1.example.com.',
    rname: 'hostmaster.example.com.',
    refresh: 3600,
    retry: 600,
    expire: 604800,
    minimum: 30,
    ttl: 300,
  },
  nameservers: [
    { name: 'ns1.example.com.', addresses: ['192.0.2.53', '2001:db8::53'] },
    { name: 'ns2.example.net.', addresses: [] },
  ],
};

function rs(name: string, type: RecordSet['type'], data: string[], level: RecordSet['level'] = 'global', ttl = 30): RecordSet {
  return { name, type, ttl, data, level, namespace: 'prod', service: 'nginx' };
}

export function workedExample(): RecordSet[] {
  return [
    rs(`${P}.example.com.`, 'A', ['198.51.100.5', '203.0.113.10']),
    rs(`${P}.us-east1.example.com.`, 'A', ['203.0.113.10'], 'region'),
    rs(`${P}.us-east1-b.us-east1.example.com.`, 'A', ['203.0.113.10'], 'zone'),
    rs(`${P}.us-east1-c.us-east1.example.com.`, 'CNAME', [`${P}.us-east1.example.com.`], 'zone'),
    rs(`${P}.europe-west1.example.com.`, 'A', ['198.51.100.5'], 'region'),
    rs(`${P}.europe-west1-b.europe-west1.example.com.`, 'A', ['198.51.100.5'], 'zone'),
    rs(`${P}.asia-east1.example.com.`, 'CNAME', [`${P}.example.com.`], 'region'),
    rs(`${P}.asia-east1-a.asia-east1.example.com.`, 'CNAME', [`${P}.asia-east1.example.com.`], 'zone'),
    // Extras for the conformance tests.
    rs(`${P}.example.com.`, 'AAAA', ['2001:db8::10']),
    rs(`txt.example.com.`, 'TXT', ['hello world', 'v=spf1 -all']),
    rs(`big.example.com.`, 'A', Array.from({ length: 100 }, (_, i) => `10.0.${i >> 8}.${i & 255}`)),
    rs(`mid.example.com.`, 'A', Array.from({ length: 40 }, (_, i) => `10.1.0.${i + 1}`)),
    rs(`out.example.com.`, 'CNAME', ['www.example.org.']),
    rs(`dangling.example.com.`, 'CNAME', [`missing.example.com.`]),
    rs(`toent.example.com.`, 'CNAME', [`svc.example.com.`]),
    rs(`loop1.example.com.`, 'CNAME', [`loop2.example.com.`]),
    rs(`loop2.example.com.`, 'CNAME', [`loop1.example.com.`]),
    rs(`nginx.default.myfederation.svc.example.com.`, 'A', ['192.0.2.80']),
  ];
}

export function makeIndex(serial = 2024010101): ZoneIndex {
  const index = new ZoneIndex(config);
  index.replaceAll(serial, workedExample());
  return index;
}

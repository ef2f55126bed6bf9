/** @fedns/nameserver — authoritative DNS for the federation zone: zone index, wire answers, UDP/TCP. */
export { ZoneIndex, type Answer, type SoaTail } from './zone-index.js';
export { answerQuery, respond, type QueryInfo } from './answer.js';
export { startDnsServer, parseListen, type DnsServer, type DnsServerOptions } from './server.js';
export { DnsMetrics } from './metrics.js';
export { EDNS_UDP_SIZE, RCODE, TYPE, wireKey } from './wire.js';
export { followStore, entryToDiff, type FollowOptions } from './follow.js';

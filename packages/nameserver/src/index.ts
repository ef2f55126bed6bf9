/** @fedns/nameserver — authoritative DNS for the federation zone: zone index, wire answers, UDP/TCP. */
export { ZoneIndex, type Answer, type SoaTail } from './zone-index.js';
export { answerQuery, respond, SLOW_PATH, type QueryInfo, type RespondContext } from './answer.js';
export { startDnsServer, probePort, parseListen, UDP_BUFFER_BYTES, type DnsServer, type DnsServerOptions } from './server.js';
export { DnsMetrics, addSnapshot, type MetricsSnapshot } from './metrics.js';
export { EDNS_UDP_SIZE, RCODE, TYPE, wireKey } from './wire.js';
export { followStore, followSerial, entryToDiff, type FollowOptions, type Follower } from './follow.js';
export { ServerCookies, siphash24, type CookieOptions } from './cookies.js';
export { type TsigKey, parseTsigKey, makeKey, signRequest, verifyReply, findTsig } from './tsig.js';
export { type AclEntry, type Network, parseAclEntry, parseNetwork, inNetwork, aclAllows } from './acl.js';
export { ClusterView, type ClusterViewOptions } from './cluster-view.js';
export { followClusterView, type AnswersFollower, type FollowAnswersOptions } from './follow-answers.js';
export { RateLimiter, type RrlOptions } from './rrl.js';
export { handleSlow, type TransferOptions, type SlowOutcome } from './slow.js';
export { axfrMessages, ixfrMessages } from './xfr.js';
export { Notifier, notifyMessage, type NotifyTarget, type NotifyOptions } from './notify.js';
export { ClientLocator, ClientNetworkError, addressBytes, type ClientNetwork, type ClientPoint, type Located } from './client-location.js';
export { parseClientSubnet, ECS_OPTION, type ClientSubnet } from './client-subnet.js';
export { buildChoice, pick, policyProblem, type Choice } from './variants.js';

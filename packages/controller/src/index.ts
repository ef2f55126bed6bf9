export { RecordsReconciler, type RecordsReconcilerOptions } from './records.js';
export { FederationController, type FederationControllerOptions } from './federation.js';
export { MemberCluster, MANAGED_LABEL, countReadyEndpoints, ingressOf } from './member.js';
export * from './health.js';
export { desiredMemberService, memberDrift, type FederatedService } from './propagate.js';
export { HostnameFlattener } from './flatten.js';
export { singleContextKubeconfig, checkReachable, recordJoin, recordUnjoin, JoinError } from './join.js';

/** @fedns/kube-sim — simulated Kubernetes member clusters that real kubectl and client-node talk to unchanged. */
export {
  INTERLEAVED_WRITE_ANNOTATION,
  type FaultState,
  type PodTarget,
  type RunPodsOptions,
  type SimCluster,
  type SimClusterOptions,
  type SimDnsOptions,
  type SimFaults,
  type SimStores,
  startSimCluster,
} from './cluster.js';
export {
  buildKubeconfig,
  type KubeconfigEntry,
  loadScenario,
  parseScenario,
  type Scenario,
  type ScenarioCluster,
  type SimFederation,
  type SimFederationOptions,
  startSimFederation,
  writeKubeconfig,
} from './federation.js';
export { LB_INGRESS_ANNOTATION, type LbIngressMode, MANAGED_BY, MANAGED_BY_LABEL, SERVICE_NAME_LABEL } from './controllers.js';
export { IpPool, parseCidr } from './ipam.js';
export { runKubeSim } from './main.js';
export { ClusterDns, type ClusterDnsStatus, type CorefileFlavor, customImportCorefile, DNS_LISTEN_ANNOTATION, kubeadmCorefile } from './dns/cluster-dns.js';

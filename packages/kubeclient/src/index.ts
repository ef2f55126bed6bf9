/** @fedns/kubeclient — a small Kubernetes API client over a kubeconfig (kubectl's rules for finding it), for the kubectl plugin and tools. */
export { loadKubeconfig, KubeconfigError, type ClusterConnection, type KubeconfigSelection } from './kubeconfig.js';
export { KubeClient, KubeApiError, type RequestOptions } from './client.js';

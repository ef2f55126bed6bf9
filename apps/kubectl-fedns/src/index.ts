/** @fedns/kubectl-fedns — the kubectl plugin (bin/kubectl-fedns runs src/main.ts). */
export { run, USAGE } from './main.js';
export { parseArgs, UsageError } from './args.js';
export { formatStatus } from './commands/status.js';
export { formatHistory } from './commands/history.js';
export { formatCascade } from './commands/explain.js';
export { memberKubeconfig } from './commands/join.js';
export { table } from './output.js';
export { formatPolicyHistory, rollbackPatch } from './commands/policy.js';

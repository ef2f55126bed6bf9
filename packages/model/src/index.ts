export * from './types.js';
export * from './names.js';
export * from './ip.js';
export * from './serial.js';
export * from './policy.js';
export * from './kubeconfig.js';
export * from './regions.js';
export * from './traffic.js';

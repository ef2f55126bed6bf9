export { RecordsReconciler, type RecordsReconcilerOptions } from './records.js';

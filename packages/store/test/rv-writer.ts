/**
 * A second writer process for the store tests: opens the store in `argv[2]`,
 * says "ready", then creates `argv[3]` objects as fast as it can.
 */
import { join } from 'node:path';
import { SqliteStore } from '../src/index.js';

const [dir, count] = process.argv.slice(2);
const store = SqliteStore.open({ path: join(dir ?? '', 'fedns.db') });
process.stdout.write('ready\n');
for (let i = 0; i < Number(count); i++) await store.createObject({ kind: 'namespaces', namespace: '', name: `child-${i}`, uid: `c${i}`, object: {} });
await store.close();

/**
 * A second writer process for the store tests: opens the store in `argv[2]`,
 * says "ready", then takes `argv[3]` resourceVersions as fast as it can.
 */
import { Store } from '../src/index.js';

const [dir, count] = process.argv.slice(2);
const store = Store.open({ dataDir: dir ?? '' });
process.stdout.write('ready\n');
for (let i = 0; i < Number(count); i++) store.nextResourceVersion();
store.close();

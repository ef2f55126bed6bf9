// Node 20's test runner takes no globs: find the test files, then hand them to `node --test`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [kind] = process.argv.slice(2);
const dirs =
  kind === 'e2e'
    ? ['test']
    : ['packages', 'apps'].flatMap((top) => readdirSync(top).map((p) => join(top, p, 'test')));
const files = dirs
  .filter((d) => existsSync(d))
  .flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.test.ts')).map((f) => join(d, f)))
  .sort();
if (files.length === 0) {
  console.error(`run-tests: no ${kind} test files found`);
  process.exit(1);
}
const concurrency = kind === 'e2e' ? '1' : '2';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);

#!/usr/bin/env node
// Runs every benchmark under bench/ (files named *.bench.ts), one after another, or those matching the filters.
// Each prints a table and writes bench/results/<name>.json. Usage: npm run bench [-- <filter>...]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = readdirSync(`${root}bench`)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no benchmark matched', filters);
  process.exit(1);
}
let failed = 0;
for (const f of files) {
  console.log(`\n## ${f}\n`);
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', `bench/${f}`], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      NODE_ENV: 'production',
      EDGELOOP_THREAD_IMPORT: new URL('source-loader.mjs', import.meta.url).href,
    },
  });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);

#!/usr/bin/env node
// The fuzz soak: the collector's spec-driven fuzz slice (packages/collector/test/fuzz.test.ts) with many more cases.
// Usage: npm run fuzz [-- <cases per store>]  (default 10000 per store, on SQLite and PostgreSQL; FUZZ_SEED sets the seed)
import { spawnSync } from 'node:child_process';

const runs = process.argv[2] ?? process.env.FUZZ_RUNS ?? '10000';
if (!/^[1-9][0-9]*$/.test(runs)) {
  console.error(`cases per store must be a positive integer, got "${runs}"`);
  process.exit(2);
}
const started = Date.now();
const r = spawnSync(
  process.execPath,
  [new URL('test.mjs', import.meta.url).pathname, 'packages/collector/test/fuzz.test.ts'],
  { stdio: 'inherit', env: { ...process.env, FUZZ_RUNS: runs, FUZZ_VERBOSE: process.env.FUZZ_VERBOSE ?? '1' } },
);
console.log(`fuzz soak: ${runs} cases per store, ${((Date.now() - started) / 1000).toFixed(1)} s, exit ${r.status}`);
process.exit(r.status ?? 1);

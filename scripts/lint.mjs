#!/usr/bin/env node
// `npm run lint`: the type check (tsc -b, then the tests and benchmarks against the built types), publint on
// every published package (exports map, files, types), and attw (Are the types wrong?) on the packed protocol and
// collector: ESM-only packages, so CommonJS and node10 resolution are out of scope (`--profile esm-only`); then
// ESLint (eslint.config.js: ESLint's and typescript-eslint's recommended rules) and prettier's check of the formatting.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const packages = ['packages/protocol', 'packages/collector', 'packages/runtime', 'packages/trainer'];
let failed = 0;
const run = (cmd, args) => {
  const shown = args.length > 12 ? [...args.slice(0, 3), `… (${args.length - 3} more)`] : args;
  console.log(`$ ${cmd} ${shown.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
};
run('npx', ['tsc', '-b']);
run('npx', ['tsc', '-p', 'tsconfig.tests.json']);
// The admin page (a browser bundle, outside the collector's `tsc -b` project).
run('npx', ['tsc', '-p', 'packages/collector/src/admin/tsconfig.json']);
for (const p of packages) run('npx', ['publint', '--strict', p]);
for (const p of ['packages/protocol', 'packages/collector'])
  run('npx', ['attw', '--pack', p, '--profile', 'esm-only', '--format', 'table-flipped']);
// ESLint and prettier see the files git tracks (and untracked ones it does not ignore): never build output, test
// builds or a developer's scratch folders.
const files = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: root,
  encoding: 'utf8',
})
  .stdout.split('\n')
  .filter((f) => f && existsSync(join(root, f)));
run('npx', ['eslint', '--no-warn-ignored', ...files.filter((f) => /\.(ts|mts|js|mjs|cjs)$/.test(f))]);
run('npx', ['prettier', '--check', '--ignore-unknown', ...files]);
process.exit(failed ? 1 : 0);

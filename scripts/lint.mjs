#!/usr/bin/env node
// `npm run lint`: the type check (tsc -b, then the tests and benchmarks against the built types) and publint on
// every published package (exports map, files, types).
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const packages = ['packages/protocol', 'packages/collector', 'packages/runtime', 'packages/trainer'];
let failed = 0;
const run = (cmd, args) => {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
};
run('npx', ['tsc', '-b']);
run('npx', ['tsc', '-p', 'tsconfig.tests.json']);
for (const p of packages) run('npx', ['publint', '--strict', p]);
process.exit(failed ? 1 : 0);

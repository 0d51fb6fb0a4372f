#!/usr/bin/env node
// Runs the CLI. In a checkout (TypeScript source present and tsx installed) it runs src/ through tsx with the
// `source` export condition, so a stale or missing dist/ never matters; an installed package runs dist/.
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../src/cli/run.ts', import.meta.url));

function tsxLoader() {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return undefined;
  }
}

const loader = existsSync(source) ? tsxLoader() : undefined;
if (loader) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', loader, source, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 143)));
} else {
  const { run } = await import('../dist/cli/run.js');
  await run();
}

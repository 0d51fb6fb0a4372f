#!/usr/bin/env node
// Runs the CLI in this process, so a signal sent to this pid reaches the server itself (no child process). An
// installed package runs dist/. A checkout runs src/ through the repository's TypeScript loader
// (scripts/source-loader.mjs), registered here and named to the writer thread by EDGELOOP_THREAD_IMPORT, so a
// stale or missing dist/ never matters.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/cli.ts', import.meta.url);
const built = new URL('../dist/cli.js', import.meta.url);
const loader = new URL('../../../scripts/source-loader.mjs', import.meta.url);

let entry = built;
if (existsSync(fileURLToPath(source)) && existsSync(fileURLToPath(loader))) {
  process.env.EDGELOOP_THREAD_IMPORT ||= loader.href;
  await import(loader.href);
  entry = source;
}
const { main } = await import(entry.href);
process.exit(await main(process.argv.slice(2)));
